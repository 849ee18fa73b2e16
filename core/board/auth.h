// Logging in and registering: checks on the loop, hashing on the hashing
// threads (board/hashpool.h).
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
// The protocol's words for an auth error code (the `error` event's message).
const char *auth_message(const char *code);
// Starts the hashing threads; -1 when they cannot start.
int auth_init(uv_loop_t *loop);
