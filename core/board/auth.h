// Logging in and registering: checks on the loop, hashing on the hashing
// threads (hashpool.h).
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

struct Session;

enum AuthKind { AUTH_LOGIN, AUTH_REGISTER, AUTH_CHANGE };

// reply_conn: the connection whose request this answers with `error`; 0 when
// the scripts asked (prompts), which hear the result through hooks instead.
void auth_start(Session *s, uint32_t reply_conn, AuthKind kind, const char *handle, const char *password);
bool auth_handle_valid(const char *handle);
// Changes a logged-in user's password: checks the old one, hashes the new one
// off the loop; the scripts hear the result as hooks.password_changed(s,
// "ok" | "bad_login" | "weak_password" | "busy" | "no_account"). On "ok" the
// handle's tokens are revoked, its other sessions logged off, and s's
// connections sent a fresh token.
void auth_change_password(Session *s, const char *old_pw, const char *new_pw);
// Logs s in as the handle a verified token named (its account, if any,
// gives the display case and sysop flag); login_conn brought the token.
void auth_token_login(Session *s, const char *handle, uint32_t login_conn);
// Why a token that verified (jwt_verify) is still refused, or NULL: "account
// locked", "token revoked" (issued before a password change, ban, lock or
// kick: tokens_revoke; iat_ms -1 = no iat), "server error".
const char *auth_token_problem(const char *handle, int64_t iat_ms);
// Acts on what `partyline user` did meanwhile (ends the sessions of an
// account it locked or reset). Once a second; the first call only notes
// where the queue stands.
void auth_poll(void);
// The `auth` event for s; with_token adds a fresh token when tokens are enabled.
cJSON *auth_event(const Session *s, bool with_token);
// Starts the hashing threads; -1 when they cannot start.
int auth_init(uv_loop_t *loop);
