#include "accounts.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static sqlite3 *g_db;
static sqlite3_stmt *g_find, *g_create, *g_touch, *g_rehash, *g_sysop;

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
    " last_login TEXT);";

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
    sqlite3_busy_timeout(g_db, 2000);
    char *msg = NULL;
    if (sqlite3_exec(g_db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg);
        sqlite3_free(msg);
        return -1;
    }
    if (sqlite3_prepare_v2(g_db, "SELECT id, handle, hash, sysop, created, last_login FROM accounts WHERE handle_key = ?", -1, &g_find,
                           NULL) ||
        sqlite3_prepare_v2(g_db, "INSERT INTO accounts(handle, handle_key, hash) VALUES (?, ?, ?)", -1, &g_create,
                           NULL) ||
        sqlite3_prepare_v2(g_db,
                           "UPDATE accounts SET last_login = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?",
                           -1, &g_touch, NULL) ||
        sqlite3_prepare_v2(g_db, "UPDATE accounts SET hash = ? WHERE id = ?", -1, &g_rehash, NULL) ||
        sqlite3_prepare_v2(g_db, "UPDATE accounts SET sysop = ? WHERE handle_key = ?", -1, &g_sysop, NULL)) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(g_db));
        return -1;
    }
    return 0;
}

void accounts_close(void) {
    sqlite3_finalize(g_find);
    sqlite3_finalize(g_create);
    sqlite3_finalize(g_touch);
    sqlite3_finalize(g_rehash);
    sqlite3_finalize(g_sysop);
    g_find = g_create = g_touch = g_rehash = g_sysop = NULL;
    if (g_db) sqlite3_close(g_db);
    g_db = NULL;
}

int account_find(const char *handle, Account *out) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(g_find);
    sqlite3_bind_text(g_find, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(g_find);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) {
        log_error("db_error", "accounts: %s", sqlite3_errmsg(g_db));
        return -1;
    }
    out->id = sqlite3_column_int64(g_find, 0);
    snprintf(out->handle, sizeof out->handle, "%s", (const char *)sqlite3_column_text(g_find, 1));
    snprintf(out->hash, sizeof out->hash, "%s", (const char *)sqlite3_column_text(g_find, 2));
    out->sysop = sqlite3_column_int(g_find, 3) != 0;
    const unsigned char *created = sqlite3_column_text(g_find, 4), *last = sqlite3_column_text(g_find, 5);
    snprintf(out->created, sizeof out->created, "%s", created ? (const char *)created : "");
    snprintf(out->last_login, sizeof out->last_login, "%s", last ? (const char *)last : "");
    sqlite3_reset(g_find);
    return 1;
}

// Runs an UPDATE or INSERT already bound: its SQLite result code, logged when
// it is an error (a taken handle is the caller's to judge).
static int step_once(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT) log_error("db_error", "accounts: %s", sqlite3_errmsg(g_db));
    return rc;
}

int account_create(const char *handle, const char *hash, int64_t *id) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(g_create);
    sqlite3_bind_text(g_create, 1, handle, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(g_create, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(g_create, 3, hash, -1, SQLITE_TRANSIENT);
    int rc = step_once(g_create);
    if (rc == SQLITE_CONSTRAINT) return 1;
    if (rc != SQLITE_DONE) return -1;
    *id = sqlite3_last_insert_rowid(g_db);
    return 0;
}

void account_touch(int64_t id) {
    sqlite3_reset(g_touch);
    sqlite3_bind_int64(g_touch, 1, id);
    step_once(g_touch);
}

int account_set_hash(int64_t id, const char *hash) {
    sqlite3_reset(g_rehash);
    sqlite3_bind_text(g_rehash, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(g_rehash, 2, id);
    return step_once(g_rehash) == SQLITE_DONE ? 0 : -1;
}

int account_set_sysop(const char *handle, bool on) {
    char key[HANDLE_MAX + 1];
    key_of(handle, key);
    sqlite3_reset(g_sysop);
    sqlite3_bind_int(g_sysop, 1, on ? 1 : 0);
    sqlite3_bind_text(g_sysop, 2, key, -1, SQLITE_TRANSIENT);
    if (step_once(g_sysop) != SQLITE_DONE) return -1;
    return sqlite3_changes(g_db) > 0 ? 1 : 0;
}
