// Accounts, token revocations and the operator's queue of actions, in the
// core's lane of the store (board/db.h). The server and the `partyline user`
// tool use the same store at once.
//
// Every call answers through its callback: before it returns on SQLite,
// later on PostgreSQL. A caller that holds a session across it keeps a
// SessionRef, never a pointer.
#pragma once
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "model/session.h"

struct Account {
    int64_t id;
    char handle[HANDLE_MAX + 1]; // as registered (display case)
    char hash[crypto_pwhash_STRBYTES];
    bool sysop;
    bool locked;         // `partyline user lock`: no login by password or token
    uint8_t level;       // access level 0-255 (Synchronet's and ENiGMA's groups): the scripts give and check it
    char created[24];    // ISO 8601, UTC
    char last_login[24]; // empty when never
};

// After db_open: what the accounts keep tidy at start.
void accounts_open(void);
// on: the calls that follow answer before they return, on either store
// (the scripts' API, which returns to its script: on PostgreSQL it waits at
// most the calling script's budget). Turned off again after them.
void accounts_at_once(bool on);

// found: 1 (a is the account), 0 none, -1 storage error. Handles match
// case-insensitively.
typedef void (*AccountFound)(int found, const Account *a, void *ud);
void account_find(const char *handle, AccountFound cb, void *ud);
// rc as each call says; cb may be NULL where the answer does not matter.
typedef void (*AccountDone)(int rc, void *ud);
// Whether an account has this handle or a look-alike of it (policy_skeleton):
// 1 yes, 0 no, -1 storage error.
void account_taken(const char *handle, AccountDone cb, void *ud);
// rc: 0 made (id set), 1 the handle (or a look-alike) is taken, -1 storage error.
typedef void (*AccountMade)(int rc, int64_t id, void *ud);
void account_create(const char *handle, const char *hash, bool sysop, AccountMade cb, void *ud);
// last_login = now; nobody waits for it.
void account_touch(int64_t id);
// 0 done, -1 storage error.
void account_set_hash(int64_t id, const char *hash, AccountDone cb, void *ud);
// 1 done, 0 no such account, -1 storage error.
enum AccountField { ACCOUNT_SYSOP, ACCOUNT_LOCKED, ACCOUNT_LEVEL };
void account_set(const char *handle, AccountField field, int value, AccountDone cb, void *ud);
// row for every account, in handle order; then done(0), or done(-1) on a
// storage error.
void account_each(void (*row)(const Account *a, void *ud), AccountDone done, void *ud);

// Token revocation: tokens for handle (account or not: bots too) issued
// before at_ms are void from now on. 0 done, -1 storage error.
void tokens_revoke(const char *handle, int64_t at_ms, AccountDone cb, void *ud);
// What a verified token for handle is checked against, in one statement:
// found 1 with its account's lock, 0 without an account, -1 storage error
// (the token is refused then); void_before the latest revocation in ms (0 none).
typedef void (*TokenState)(int found, bool locked, int64_t void_before, void *ud);
void tokens_state(const char *handle, TokenState cb, void *ud);

// Things `partyline user` did that a running server acts on (ending the
// live sessions of a locked account, say): a queue in the store, since the
// tool is another process. action: "lock", "reset". 0 or -1.
void account_action_add(const char *handle, const char *action, AccountDone cb, void *ud);
// Calls fn for each action queued after *last_id and moves *last_id past it;
// *last_id = -1 first skips everything queued so far (a server starting).
// One look at a time: a call while one is under way does nothing.
void account_actions_since(int64_t *last_id, void (*fn)(const char *handle, const char *action));
