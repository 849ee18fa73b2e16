// Logging in and registering: checks on the loop, hashing on the hashing
// threads (board/hashpool.h).
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

struct Session;

enum AuthKind { AUTH_LOGIN, AUTH_REGISTER, AUTH_CHANGE, AUTH_CHECK };

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
// A password check for a client that has no session yet (SSH's password
// authentication, before the board sees the connection): the same hash on
// the hashing threads, the same lockouts and slow-down (board/limits.h),
// log lines and counters as a login at the prompts, from addr. done runs on
// the loop, once: code NULL and the handle as registered when the password
// is right, else "bad_login", "throttled", "locked", "busy" or
// "unavailable" (handle NULL; also when the server stops before the check
// ran). Never after auth_check_cancel. The check is the caller's to cancel
// until done runs.
typedef void (*AuthCheckFn)(void *arg, const char *code, const char *handle);
struct AuthWork;
AuthWork *auth_check(const char *handle, const char *password, const char *addr, AuthCheckFn done, void *arg);
void auth_check_cancel(AuthWork *w);
// The protocol's words for an auth error code (the `error` event's message).
const char *auth_message(const char *code);
// Starts the hashing threads; -1 when they cannot start.
int auth_init(uv_loop_t *loop);
