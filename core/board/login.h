// Completing a login, whatever proved it (a password: board/auth.cpp; a
// token: net/ws.cpp), and what follows an account's changes: tokens, the
// `auth` event, logging off an account's other sessions.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

struct Session;

// Marks s logged in, sends `auth` and runs the scripts' auth hook. The
// session gets a new resume id, and only login_port (the port that logged
// in; 0 = not known) stays attached: see board/login.cpp.
void login_complete(Session *s, int64_t account_id, const char *handle, bool sysop, uint32_t login_port);
// Logs s in as the handle a verified token named (its account, if any,
// gives the display case and sysop flag); login_port brought the token.
// What the user types meanwhile waits (typeahead) for the account.
// iat_ms: when the token was issued (-1 none); where the handshake could not
// check it (login_token_checked_at_once), it is checked here, and a refused
// token closes its port (1008, with the reason).
// via says for the log what vouched for the handle: "token", or "ssh" (a
// password SSH checked before the session started, so no token to check).
void login_by_token(Session *s, const char *handle, int64_t iat_ms, uint32_t login_port, const char *via);
// Whether the store answers a token's check at once (SQLite), so that the
// handshake refuses a bad token before any session starts.
bool login_token_checked_at_once(void);
// A token whose signature let port resume s before the store could check
// it (PostgreSQL): checked now, and refused (revoked, locked) the port is
// closed with 1008 and the reason.
void login_vet_later(Session *s, uint32_t port, const char *handle, int64_t iat_ms);
// Why a token that verified (jwt_verify) is still refused, told to done:
// NULL, or "account locked", "token revoked" (issued before a password
// change, ban, lock or kick: tokens_revoke; iat_ms -1 = no iat), "handle
// reserved" (a bot is on under it), "server error" (the store cannot say).
// At once on SQLite, later on PostgreSQL (board/db.h); why is a static string.
void login_token_check(const char *handle, int64_t iat_ms, void (*done)(const char *why, void *ud), void *ud);
// The same answer at once, where a caller cannot wait (a WebSocket's
// handshake, a resume): a store that answers later cannot say, and the token
// is refused ("server error").
const char *login_token_problem(const char *handle, int64_t iat_ms);
// Sends `auth` to s: port = one port's id, or 0 for all. The stream holds it
// without a token; each web port attached now gets its own copy with one.
void login_send_auth(Session *s, uint32_t port);
// The `auth` event for s; with_token adds a fresh token when tokens are enabled.
cJSON *login_auth_event(const Session *s, bool with_token);
// Logs off every live session of an account's handle but except, the
// scripts saying why first (hooks.account_action: "locked",
// "password_reset", "password_changed").
void login_end_sessions_of(const char *handle, const char *why, const Session *except);
// Acts on what `partyline user` did meanwhile (ends the sessions of an
// account it locked or reset). Once a second; the first call only notes
// where the queue stands.
void login_poll(void);
