// Accounts in SQLite (the embedded store under data_dir). The server and the
// `partyline user` tool open the same file (WAL: both at once is fine).
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

int accounts_open(const char *data_dir, char *err, size_t errlen);
void accounts_close(void);
// 1 found, 0 not found, -1 database error. Handles match case-insensitively.
int account_find(const char *handle, Account *out);
// Whether an account has this handle or a look-alike of it (policy_skeleton):
// 1 yes, 0 no, -1 database error.
int account_taken(const char *handle);
// 0 created (id set), 1 handle (or a look-alike) taken, -1 database error.
int account_create(const char *handle, const char *hash, bool sysop, int64_t *id);
void account_touch(int64_t id);
// 0 done, -1 database error.
int account_set_hash(int64_t id, const char *hash);
// These four: 1 done, 0 no such account, -1 database error.
int account_set_sysop(const char *handle, bool on);
int account_set_locked(const char *handle, bool on);
int account_set_level(const char *handle, uint8_t level);
// Calls fn for every account, in handle order; 0, or -1 on a database error.
int account_each(void (*fn)(const Account *a, void *ud), void *ud);

// Token revocation: tokens for handle (account or not: bots too) issued
// before at_ms are void from now on. 0 done, -1 database error.
int tokens_revoke(const char *handle, int64_t at_ms);
// The latest revocation for handle in ms (0 = none), or -1 on a database
// error (the caller refuses the token then).
int64_t tokens_void_before(const char *handle);

// Things `partyline user` did that a running server acts on (ending the
// live sessions of a locked account, say): a queue in the database, since
// the tool is another process. action: "lock", "reset". 0 or -1.
int account_action_add(const char *handle, const char *action);
// Calls fn for each action queued after *last_id and moves *last_id past it.
// *last_id = -1 first skips everything queued so far (a server starting).
int account_actions_since(int64_t *last_id, void (*fn)(const char *handle, const char *action));
