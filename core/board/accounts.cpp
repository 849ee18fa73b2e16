// Accounts on either store: each call one statement in the core's lane
// (board/db.h), in the store's own SQL, answered through the caller's
// callback. Keeps nothing but the statements' texts.
#include "board/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"
#include "board/db.h"
#include "board/policy.h"

enum {
    Q_FIND, Q_TAKEN, Q_CREATE, Q_TOUCH, Q_REHASH, Q_SYSOP, Q_LOCK, Q_LEVEL, Q_EACH,
    Q_REVOKE, Q_TOKEN, Q_ACTION_ADD, Q_ACTIONS, Q_ACTIONS_MAX, Q_TIDY, Q_COUNT
};

#define ACCOUNT_COLS "id, handle, hash, sysop, created, last_login, locked, level"

static const char *const LITE[Q_COUNT] = {
    "SELECT " ACCOUNT_COLS " FROM accounts WHERE handle_key = ?1",
    "SELECT 1 FROM accounts WHERE handle_key = ?1 OR skeleton = ?2 LIMIT 1",
    "INSERT INTO accounts(handle, handle_key, skeleton, hash, sysop) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    "UPDATE accounts SET last_login = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
    "UPDATE accounts SET hash = ?1 WHERE id = ?2",
    "UPDATE accounts SET sysop = ?1 WHERE handle_key = ?2",
    "UPDATE accounts SET locked = ?1 WHERE handle_key = ?2",
    "UPDATE accounts SET level = ?1 WHERE handle_key = ?2",
    "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY handle_key",
    // a later revocation never moves the line back
    "INSERT INTO token_revocations(handle_key, before_ms) VALUES (?1, ?2) "
    "ON CONFLICT(handle_key) DO UPDATE SET before_ms = max(before_ms, excluded.before_ms)",
    "SELECT (SELECT locked FROM accounts WHERE handle_key = ?1) AS locked, "
    "(SELECT before_ms FROM token_revocations WHERE handle_key = ?1) AS before_ms",
    "INSERT INTO account_actions(handle_key, action, at_ms) VALUES (?1, ?2, ?3)",
    "SELECT id, handle_key, action FROM account_actions WHERE id > ?1 ORDER BY id LIMIT 32",
    "SELECT coalesce(max(id), 0) FROM account_actions",
    "DELETE FROM account_actions WHERE at_ms < ?1",
};

#define PG_NOW "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *const PG[Q_COUNT] = {
    "SELECT " ACCOUNT_COLS " FROM accounts WHERE handle_key = $1",
    "SELECT 1 FROM accounts WHERE handle_key = $1 OR skeleton = $2 LIMIT 1",
    "INSERT INTO accounts(handle, handle_key, skeleton, hash, sysop) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    "UPDATE accounts SET last_login = " PG_NOW " WHERE id = $1",
    "UPDATE accounts SET hash = $1 WHERE id = $2",
    "UPDATE accounts SET sysop = $1 WHERE handle_key = $2",
    "UPDATE accounts SET locked = $1 WHERE handle_key = $2",
    "UPDATE accounts SET level = $1 WHERE handle_key = $2",
    "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY handle_key",
    "INSERT INTO token_revocations(handle_key, before_ms) VALUES ($1, $2) "
    "ON CONFLICT(handle_key) DO UPDATE SET before_ms = greatest(token_revocations.before_ms, excluded.before_ms)",
    "SELECT (SELECT locked FROM accounts WHERE handle_key = $1) AS locked, "
    "(SELECT before_ms FROM token_revocations WHERE handle_key = $1) AS before_ms",
    "INSERT INTO account_actions(handle_key, action, at_ms) VALUES ($1, $2, $3)",
    "SELECT id, handle_key, action FROM account_actions WHERE id > $1 ORDER BY id LIMIT 32",
    "SELECT coalesce(max(id), 0) FROM account_actions",
    "DELETE FROM account_actions WHERE at_ms < $1",
};

static void key_of(const char *handle, char out[HANDLE_MAX + 1]) {
    size_t i = 0;
    for (; handle[i] && i < HANDLE_MAX; i++) {
        char c = handle[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out[i] = 0;
}

static bool g_at_once; // accounts_at_once

void accounts_at_once(bool on) { g_at_once = on; }

static void run(int q, const DbValue *v, int n, DbDone done, void *ud) {
    DbLane lane = g_at_once ? DB_CORE_NOW : DB_CORE;
    DbCall c = {lane, (db_lane_kind(lane) == DB_POSTGRES ? PG : LITE)[q], v, n, 0, 0};
    db_run(&c, done, ud);
}

// What waits for a statement's answer: the caller's callback and its data.
struct Wait {
    void *cb;
    void *ud;
    void (*row)(const Account *a, void *ud); // account_each
    int64_t *last_id;                         // account_actions_since
    void (*action)(const char *handle, const char *action);
};

static Wait *wait_new(void *cb, void *ud) {
    Wait *w = (Wait *)calloc(1, sizeof *w);
    if (w) {
        w->cb = cb;
        w->ud = ud;
    }
    return w;
}

static void text_of(const DbRows *r, uint32_t row, uint32_t col, char *out, size_t outlen) {
    DbValue v = db_cell(r, row, col);
    snprintf(out, outlen, "%.*s", v.type == DBV_TEXT ? (int)v.len : 0, v.type == DBV_TEXT ? v.s : "");
}

static void read_account(const DbRows *r, uint32_t row, Account *a) {
    memset(a, 0, sizeof *a);
    a->id = db_cell(r, row, 0).i;
    text_of(r, row, 1, a->handle, sizeof a->handle);
    text_of(r, row, 2, a->hash, sizeof a->hash);
    a->sysop = db_cell(r, row, 3).i != 0;
    text_of(r, row, 4, a->created, sizeof a->created);
    text_of(r, row, 5, a->last_login, sizeof a->last_login);
    a->locked = db_cell(r, row, 6).i != 0;
    int64_t level = db_cell(r, row, 7).i;
    a->level = (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level);
}

// ---------------------------------------------------------------- lookups

static void found(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    AccountFound cb = (AccountFound)w->cb;
    void *cud = w->ud;
    free(w);
    if (r->status != DB_OK) return cb(-1, NULL, cud);
    if (!db_rows_n(r->rows)) return cb(0, NULL, cud);
    Account a;
    read_account(r->rows, 0, &a);
    cb(1, &a, cud);
    sodium_memzero(a.hash, sizeof a.hash);
}

void account_find(const char *handle, AccountFound cb, void *ud) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    DbValue v[] = {db_text(key)};
    Wait *w = wait_new((void *)cb, ud);
    if (!w) return cb(-1, NULL, ud);
    run(Q_FIND, v, 1, found, w);
}

static void answered(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    AccountDone cb = (AccountDone)w->cb;
    void *cud = w->ud;
    free(w);
    if (cb) cb(r->status == DB_OK ? 0 : -1, cud);
}

// 1 when the statement found a row or changed one, 0 when not, -1 on error
static void counted(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    AccountDone cb = (AccountDone)w->cb;
    void *cud = w->ud;
    free(w);
    int rc = r->status != DB_OK ? -1 : r->rows ? db_rows_n(r->rows) > 0 : r->changes > 0;
    if (cb) cb(rc, cud);
}

static void start(int q, const DbValue *v, int n, DbDone how, AccountDone cb, void *ud) {
    Wait *w = wait_new((void *)cb, ud);
    if (!w) {
        if (cb) cb(-1, ud);
        return;
    }
    run(q, v, n, how, w);
}

void account_taken(const char *handle, AccountDone cb, void *ud) {
    char key[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    key_of(handle, key);
    policy_skeleton(handle, skel, sizeof skel);
    DbValue v[] = {db_text(key), db_text(skel)};
    start(Q_TAKEN, v, 2, counted, cb, ud);
}

static void made(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    AccountMade cb = (AccountMade)w->cb;
    void *cud = w->ud;
    free(w);
    if (r->status == DB_CONSTRAINT) return cb(1, 0, cud);
    if (r->status != DB_OK || !db_rows_n(r->rows)) return cb(-1, 0, cud);
    cb(0, db_cell(r->rows, 0, 0).i, cud);
}

void account_create(const char *handle, const char *hash, bool sysop, AccountMade cb, void *ud) {
    char key[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    key_of(handle, key);
    policy_skeleton(handle, skel, sizeof skel);
    DbValue v[] = {db_text(handle), db_text(key), db_text(skel), db_text(hash), db_int(sysop ? 1 : 0)};
    Wait *w = wait_new((void *)cb, ud);
    if (!w) return cb(-1, 0, ud);
    run(Q_CREATE, v, 5, made, w);
}

void account_touch(int64_t id) {
    DbValue v[] = {db_int(id)};
    start(Q_TOUCH, v, 1, answered, NULL, NULL);
}

void account_set_hash(int64_t id, const char *hash, AccountDone cb, void *ud) {
    DbValue v[] = {db_text(hash), db_int(id)};
    start(Q_REHASH, v, 2, answered, cb, ud);
}

void account_set(const char *handle, AccountField field, int value, AccountDone cb, void *ud) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    DbValue v[] = {db_int(value), db_text(key)};
    start(field == ACCOUNT_SYSOP ? Q_SYSOP : field == ACCOUNT_LOCKED ? Q_LOCK : Q_LEVEL, v, 2, counted, cb, ud);
}

static void each(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    AccountDone cb = (AccountDone)w->cb;
    if (r->status == DB_OK)
        for (uint32_t i = 0; i < db_rows_n(r->rows); i++) {
            Account a;
            read_account(r->rows, i, &a);
            w->row(&a, w->ud);
        }
    void *cud = w->ud;
    free(w);
    if (cb) cb(r->status == DB_OK ? 0 : -1, cud);
}

void account_each(void (*row)(const Account *a, void *ud), AccountDone done, void *ud) {
    Wait *w = wait_new((void *)done, ud);
    if (!w) {
        if (done) done(-1, ud);
        return;
    }
    w->row = row;
    run(Q_EACH, NULL, 0, each, w);
}

// ---------------------------------------------------------------- tokens

void tokens_revoke(const char *handle, int64_t at_ms, AccountDone cb, void *ud) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    DbValue v[] = {db_text(key), db_int(at_ms)};
    start(Q_REVOKE, v, 2, answered, cb, ud);
}

static void token_state(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    TokenState cb = (TokenState)w->cb;
    void *cud = w->ud;
    free(w);
    if (r->status != DB_OK || !db_rows_n(r->rows)) return cb(-1, false, 0, cud);
    DbValue locked = db_cell(r->rows, 0, 0), before = db_cell(r->rows, 0, 1);
    cb(locked.type == DBV_NULL ? 0 : 1, locked.i != 0, before.type == DBV_INT ? before.i : 0, cud);
}

void tokens_state(const char *handle, TokenState cb, void *ud) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    DbValue v[] = {db_text(key)};
    Wait *w = wait_new((void *)cb, ud);
    if (!w) return cb(-1, false, 0, ud);
    run(Q_TOKEN, v, 1, token_state, w);
}

// ---------------------------------------------------------------- the operator's actions

void account_action_add(const char *handle, const char *action, AccountDone cb, void *ud) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    DbValue v[] = {db_text(key), db_text(action), db_int((int64_t)text_now_ms())};
    start(Q_ACTION_ADD, v, 3, answered, cb, ud);
}

static bool g_looking; // an account_actions_since is under way

static void actions(DbReply *r, void *ud) {
    Wait *w = (Wait *)ud;
    g_looking = false;
    if (r->status == DB_OK && *w->last_id < 0) {
        *w->last_id = db_rows_n(r->rows) ? db_cell(r->rows, 0, 0).i : 0;
    } else if (r->status == DB_OK) {
        // the rows are copied out first: fn may end sessions and run scripts
        struct Row {
            char handle[HANDLE_MAX + 1];
            char action[16];
        } rows[32];
        uint32_t n = 0;
        for (; n < db_rows_n(r->rows) && n < 32; n++) {
            *w->last_id = db_cell(r->rows, n, 0).i;
            text_of(r->rows, n, 1, rows[n].handle, sizeof rows[n].handle);
            text_of(r->rows, n, 2, rows[n].action, sizeof rows[n].action);
        }
        void (*fn)(const char *, const char *) = w->action;
        free(w);
        for (uint32_t i = 0; i < n; i++) fn(rows[i].handle, rows[i].action);
        return;
    }
    free(w);
}

void account_actions_since(int64_t *last_id, void (*fn)(const char *handle, const char *action)) {
    if (g_looking) return;
    Wait *w = wait_new(NULL, NULL);
    if (!w) return;
    w->last_id = last_id;
    w->action = fn;
    g_looking = true;
    DbValue v[] = {db_int(*last_id)};
    if (*last_id < 0) run(Q_ACTIONS_MAX, NULL, 0, actions, w);
    else run(Q_ACTIONS, v, 1, actions, w);
}

void accounts_open(void) {
    // the queue for a running server needs no more than a day's history
    DbValue v[] = {db_int((int64_t)text_now_ms() - 86400LL * 1000)};
    start(Q_TIDY, v, 1, answered, NULL, NULL);
}
