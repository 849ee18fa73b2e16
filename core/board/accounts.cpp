#include "board/accounts.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "board/store.h"
#include "board/policy.h"
#include "base/text.h"

static sqlite3 *g_db;

enum {
    ST_FIND, ST_TAKEN, ST_CREATE, ST_TOUCH, ST_REHASH, ST_SYSOP, ST_LOCK, ST_LEVEL, ST_EACH,
    ST_REVOKE, ST_VOID, ST_ACTION_ADD, ST_ACTIONS, ST_ACTIONS_MAX, ST_COUNT
};
static sqlite3_stmt *g_st[ST_COUNT];

static const char *const SQL[ST_COUNT] = {
    "SELECT id, handle, hash, sysop, created, last_login, locked, level FROM accounts WHERE handle_key = ?",
    "SELECT 1 FROM accounts WHERE handle_key = ?1 OR skeleton = ?2 LIMIT 1",
    "INSERT INTO accounts(handle, handle_key, skeleton, hash, sysop) VALUES (?, ?, ?, ?, ?)",
    "UPDATE accounts SET last_login = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?",
    "UPDATE accounts SET hash = ? WHERE id = ?",
    "UPDATE accounts SET sysop = ? WHERE handle_key = ?",
    "UPDATE accounts SET locked = ? WHERE handle_key = ?",
    "UPDATE accounts SET level = ? WHERE handle_key = ?",
    "SELECT id, handle, hash, sysop, created, last_login, locked, level FROM accounts ORDER BY handle_key",
    // a later revocation never moves the line back
    "INSERT INTO token_revocations(handle_key, before_ms) VALUES (?, ?) "
    "ON CONFLICT(handle_key) DO UPDATE SET before_ms = max(before_ms, excluded.before_ms)",
    "SELECT before_ms FROM token_revocations WHERE handle_key = ?",
    "INSERT INTO account_actions(handle_key, action, at_ms) VALUES (?, ?, ?)",
    "SELECT id, handle_key, action FROM account_actions WHERE id > ? ORDER BY id",
    "SELECT coalesce(max(id), 0) FROM account_actions",
};

static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS accounts("
    " id INTEGER PRIMARY KEY,"
    " handle TEXT NOT NULL,"
    " handle_key TEXT NOT NULL UNIQUE," // lowercase: handles are unique case-insensitively
    " hash TEXT NOT NULL,"
    " sysop INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " last_login TEXT,"
    " skeleton TEXT," // policy_skeleton: look-alikes are one handle (unique index below)
    " locked INTEGER NOT NULL DEFAULT 0,"
    " level INTEGER NOT NULL DEFAULT 0);" // access level 0-255: the scripts' to give and check
    "CREATE TABLE IF NOT EXISTS token_revocations("
    " handle_key TEXT PRIMARY KEY,"
    " before_ms INTEGER NOT NULL);" // tokens issued before this are void
    "CREATE TABLE IF NOT EXISTS account_actions("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " handle_key TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL);";

// The data directory itself is the server's alone (0700) when it makes it;
// one that exists keeps the mode its owner chose.
static int mkdirs(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0700) && errno != EEXIST) return -1;
    return 0;
}

// The database holds password hashes and mail. The process umask (main.cpp)
// keeps new files private; files an older version made readable to others
// are made private here. SQLite gives a new -wal and -shm the database's mode.
static void make_private(const char *data_dir) {
    static const char *names[] = {"partyline.db", "partyline.db-wal", "partyline.db-shm", "partyline.db-journal",
                                  "jwt.key"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[600];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", data_dir, names[i]);
        if (lstat(path, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 077)) continue;
        if (chmod(path, st.st_mode & 0700)) log_warn("data_dir", "cannot make %s private: %s", path, strerror(errno));
        else log_info("data_dir", "made %s private to the server's user (it was %03o)", path, (unsigned)(st.st_mode & 0777));
    }
}

static void key_of(const char *handle, char out[HANDLE_MAX + 1]) {
    size_t i = 0;
    for (; handle[i] && i < HANDLE_MAX; i++) {
        char c = handle[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out[i] = 0;
}

static bool has_column(const char *sql) {
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(g_db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return ok;
}

// Databases from before look-alike folding and locks get the two columns,
// and every account its skeleton, in place. Where two old accounts are
// look-alikes of each other the older keeps the skeleton and the newer none:
// both go on logging in, and new look-alikes of either are refused.
static int migrate(char *err, size_t errlen) {
    if (sqlite3_exec(g_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto fail;
    if (!has_column("SELECT locked FROM accounts LIMIT 0") &&
        sqlite3_exec(g_db, "ALTER TABLE accounts ADD COLUMN locked INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL))
        goto fail_tx;
    if (!has_column("SELECT level FROM accounts LIMIT 0") &&
        sqlite3_exec(g_db, "ALTER TABLE accounts ADD COLUMN level INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL))
        goto fail_tx;
    if (!has_column("SELECT skeleton FROM accounts LIMIT 0")) {
        sqlite3_stmt *rows = NULL, *set = NULL;
        bool ok = sqlite3_exec(g_db, "ALTER TABLE accounts ADD COLUMN skeleton TEXT", NULL, NULL, NULL) == SQLITE_OK &&
                  sqlite3_prepare_v2(g_db, "SELECT id, handle FROM accounts ORDER BY id", -1, &rows, NULL) == SQLITE_OK &&
                  sqlite3_prepare_v2(g_db,
                                     "UPDATE accounts SET skeleton = ?1 WHERE id = ?2 AND NOT EXISTS "
                                     "(SELECT 1 FROM accounts WHERE skeleton = ?1)",
                                     -1, &set, NULL) == SQLITE_OK;
        int n = 0;
        while (ok && sqlite3_step(rows) == SQLITE_ROW) {
            char skel[HANDLE_MAX + 1];
            const char *handle = (const char *)sqlite3_column_text(rows, 1);
            policy_skeleton(handle ? handle : "", skel, sizeof skel);
            sqlite3_bind_text(set, 1, skel, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(set, 2, sqlite3_column_int64(rows, 0));
            ok = sqlite3_step(set) == SQLITE_DONE;
            if (ok && sqlite3_changes(g_db) == 0)
                log_warn("accounts", "account '%s' looks like an older one's handle; both keep working", handle);
            sqlite3_reset(set);
            n++;
        }
        sqlite3_finalize(rows);
        sqlite3_finalize(set);
        if (!ok) goto fail_tx;
        log_info("accounts", "accounts upgraded in place: look-alike skeletons for %d accounts", n);
    }
    if (sqlite3_exec(g_db, "CREATE UNIQUE INDEX IF NOT EXISTS accounts_skeleton ON accounts(skeleton)", NULL, NULL,
                     NULL) != SQLITE_OK)
        goto fail_tx;
    if (sqlite3_exec(g_db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return 0;
fail_tx:
    snprintf(err, errlen, "upgrading the accounts table: %s", sqlite3_errmsg(g_db));
    sqlite3_exec(g_db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
fail:
    snprintf(err, errlen, "upgrading the accounts table: %s", sqlite3_errmsg(g_db));
    return -1;
}

int accounts_open(const char *data_dir, char *err, size_t errlen) {
    if (mkdirs(data_dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        return -1;
    }
    make_private(data_dir);
    char path[600];
    snprintf(path, sizeof path, "%s/partyline.db", data_dir);
    if (sqlite3_open(path, &g_db) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(g_db));
        return -1;
    }
    sqlite3_busy_timeout(g_db, DB_BUSY_MS);
    char *msg = NULL;
    if (sqlite3_exec(g_db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg);
        sqlite3_free(msg);
        return -1;
    }
    if (migrate(err, errlen)) return -1;
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v2(g_db, SQL[i], -1, &g_st[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(g_db));
            return -1;
        }
    // the queue for a running server needs no more than a day's history
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM account_actions WHERE at_ms < %lld",
             (long long)text_now_ms() - 86400LL * 1000);
    sqlite3_exec(g_db, sql, NULL, NULL, NULL);
    return 0;
}

void accounts_close(void) {
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(g_st[i]);
        g_st[i] = NULL;
    }
    if (g_db) sqlite3_close(g_db);
    g_db = NULL;
}

static void read_account(sqlite3_stmt *st, Account *out) {
    out->id = sqlite3_column_int64(st, 0);
    snprintf(out->handle, sizeof out->handle, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(out->hash, sizeof out->hash, "%s", (const char *)sqlite3_column_text(st, 2));
    out->sysop = sqlite3_column_int(st, 3) != 0;
    const unsigned char *created = sqlite3_column_text(st, 4), *last = sqlite3_column_text(st, 5);
    snprintf(out->created, sizeof out->created, "%s", created ? (const char *)created : "");
    snprintf(out->last_login, sizeof out->last_login, "%s", last ? (const char *)last : "");
    out->locked = sqlite3_column_int(st, 6) != 0;
    int level = sqlite3_column_int(st, 7);
    out->level = (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level);
}

int account_find(const char *handle, Account *out) {
    sqlite3_stmt *st = g_st[ST_FIND];
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) {
        store_note_failure(rc, sqlite3_errmsg(g_db));
        sqlite3_reset(st);
        return -1;
    }
    read_account(st, out);
    sqlite3_reset(st);
    return 1;
}

int account_taken(const char *handle) {
    sqlite3_stmt *st = g_st[ST_TAKEN];
    char key[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    key_of(handle, key);
    policy_skeleton(handle, skel, sizeof skel);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, skel, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    store_note_failure(rc, sqlite3_errmsg(g_db));
    return -1;
}

// Runs an UPDATE or INSERT already bound: its SQLite result code, logged when
// it is an error (a taken handle is the caller's to judge).
static int step_once(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT) store_note_failure(rc, sqlite3_errmsg(g_db));
    else store_note_ok();
    sqlite3_reset(st);
    return rc;
}

int account_create(const char *handle, const char *hash, bool sysop, int64_t *id) {
    sqlite3_stmt *st = g_st[ST_CREATE];
    char key[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    key_of(handle, key);
    policy_skeleton(handle, skel, sizeof skel);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, handle, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, skel, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, sysop ? 1 : 0);
    int rc = step_once(st);
    if (rc == SQLITE_CONSTRAINT) return 1;
    if (rc != SQLITE_DONE) return -1;
    *id = sqlite3_last_insert_rowid(g_db);
    return 0;
}

void account_touch(int64_t id) {
    sqlite3_stmt *st = g_st[ST_TOUCH];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    step_once(st);
}

int account_set_hash(int64_t id, const char *hash) {
    sqlite3_stmt *st = g_st[ST_REHASH];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    return step_once(st) == SQLITE_DONE ? 0 : -1;
}

static int set_flag(sqlite3_stmt *st, const char *handle, bool on) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, on ? 1 : 0);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    if (step_once(st) != SQLITE_DONE) return -1;
    return sqlite3_changes(g_db) > 0 ? 1 : 0;
}

int account_set_sysop(const char *handle, bool on) { return set_flag(g_st[ST_SYSOP], handle, on); }
int account_set_locked(const char *handle, bool on) { return set_flag(g_st[ST_LOCK], handle, on); }

int account_set_level(const char *handle, uint8_t level) {
    sqlite3_stmt *st = g_st[ST_LEVEL];
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, level);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    if (step_once(st) != SQLITE_DONE) return -1;
    return sqlite3_changes(g_db) > 0 ? 1 : 0;
}

int account_each(void (*fn)(const Account *a, void *ud), void *ud) {
    sqlite3_stmt *st = g_st[ST_EACH];
    sqlite3_reset(st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        Account a;
        read_account(st, &a);
        fn(&a, ud);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 0;
    store_note_failure(rc, sqlite3_errmsg(g_db));
    return -1;
}

int tokens_revoke(const char *handle, int64_t at_ms) {
    sqlite3_stmt *st = g_st[ST_REVOKE];
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, at_ms);
    return step_once(st) == SQLITE_DONE ? 0 : -1;
}

int64_t tokens_void_before(const char *handle) {
    sqlite3_stmt *st = g_st[ST_VOID];
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int64_t at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (at < 0) log_error("db_error", "accounts: %s", sqlite3_errmsg(g_db));
    return at;
}

int account_action_add(const char *handle, const char *action) {
    sqlite3_stmt *st = g_st[ST_ACTION_ADD];
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)text_now_ms());
    return step_once(st) == SQLITE_DONE ? 0 : -1;
}

int account_actions_since(int64_t *last_id, void (*fn)(const char *handle, const char *action)) {
    if (*last_id < 0) {
        sqlite3_stmt *st = g_st[ST_ACTIONS_MAX];
        sqlite3_reset(st);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) *last_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : -1;
    }
    sqlite3_stmt *st = g_st[ST_ACTIONS];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, *last_id);
    int rc;
    // the rows are copied out first: fn may end sessions, run scripts, and
    // those may use this database connection
    struct Row {
        char handle[HANDLE_MAX + 1];
        char action[16];
    } rows[32];
    int n = 0;
    while (n < 32 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *last_id = sqlite3_column_int64(st, 0);
        snprintf(rows[n].handle, sizeof rows[n].handle, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(rows[n].action, sizeof rows[n].action, "%s", (const char *)sqlite3_column_text(st, 2));
        n++;
    }
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) fn(rows[i].handle, rows[i].action);
    return 0;
}
