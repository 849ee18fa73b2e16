// Accounts in SQLite (the embedded store under data_dir).
#pragma once
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct Account {
    int64_t id;
    char handle[HANDLE_MAX + 1]; // as registered (display case)
    char hash[crypto_pwhash_STRBYTES];
    bool sysop;
    char created[24];    // ISO 8601, UTC
    char last_login[24]; // empty when never
};

int accounts_open(const char *data_dir, char *err, size_t errlen);
void accounts_close(void);
// 1 found, 0 not found, -1 database error. Handles match case-insensitively.
int account_find(const char *handle, Account *out);
// 0 created (id set), 1 handle taken, -1 database error.
int account_create(const char *handle, const char *hash, int64_t *id);
void account_touch(int64_t id);
// 0 done, -1 database error.
int account_set_hash(int64_t id, const char *hash);
// 1 done, 0 no such account, -1 database error.
int account_set_sysop(const char *handle, bool on);
