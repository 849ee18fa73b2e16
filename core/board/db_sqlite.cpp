// The SQLite store: partyline.db in data_dir, the no-setup default. Two
// connections to the one file (WAL: the server, `partyline user` and other
// processes of one machine share it): the core's, and the scripts', which
// an authorizer keeps to tables named s_* and a progress handler stops past
// its call's time. Each answers before db_run returns; the loop never waits
// on a lock longer than DB_BUSY_MS (a lock held elsewhere is DB_UNAVAILABLE).
// Owns both connections and their caches of prepared statements.
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/dirs.h"
#include "base/log.h"
#include "base/text.h"
#include "board/db_impl.h"
#include "board/migrate.h"

// The loop never waits on a database lock for longer than this: a lock held
// by another process (a backup, the sqlite3 shell) turns into an error the
// caller handles, not a stall for everyone.
#define DB_BUSY_MS 5
#define CACHE 64

struct Cached {
    char *sql; // by its text: a script's SQL may come at an address another used before
    sqlite3_stmt *st;
    uint64_t used;
};

struct Lite {
    sqlite3 *db;
    Cached cache[CACHE];
    uint64_t clock;
};

static Lite g_lite[DB_LANES];
static uint64_t g_deadline_ms; // the running statement's (0: none), for progress()

// ---------------------------------------------------------------- opening

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

static bool script_table(const char *name) {
    if (!name) return true; // actions with no table (functions, transactions)
    if (!strncmp(name, "s_", 2)) return true;
    // SQLite's own bookkeeping, written when a script creates its tables
    return !strcmp(name, "sqlite_master") || !strcmp(name, "sqlite_schema") || !strcmp(name, "sqlite_temp_master") ||
           !strcmp(name, "sqlite_sequence");
}

static int authorize(void *, int action, const char *a, const char *b, const char *, const char *) {
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_READ:
    case SQLITE_UPDATE:
    case SQLITE_INSERT:
    case SQLITE_DELETE:
    case SQLITE_CREATE_TABLE:
    case SQLITE_DROP_TABLE:
    case SQLITE_ANALYZE:
        return script_table(a) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_ALTER_TABLE: // a is the database's name, b the table's
    case SQLITE_CREATE_INDEX:
    case SQLITE_DROP_INDEX:
        return script_table(b) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_REINDEX: // names an index; scripts' indexes are s_* too
        return script_table(a) ? SQLITE_OK : SQLITE_DENY;
    default: // PRAGMA, ATTACH, triggers, views, virtual tables, ...
        return SQLITE_DENY;
    }
}

static int progress(void *) { return g_deadline_ms && text_now_ms() > g_deadline_ms; }

static int open_one(const char *path, sqlite3 **db, char *err, size_t errlen) {
    if (sqlite3_open(path, db) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
        return -1;
    }
    sqlite3_busy_timeout(*db, DB_BUSY_MS);
    return 0;
}

// ---------------------------------------------------------------- statements

static void clear_cache(Lite *k) {
    for (int i = 0; i < CACHE; i++) {
        sqlite3_finalize(k->cache[i].st);
        free(k->cache[i].sql);
        k->cache[i] = Cached{};
    }
}

// A prepared statement for sql, reset and unbound, from the connection's
// cache (which owns it). *why is set when the SQL is at fault in a way
// SQLite does not report (more than one statement).
static int prepare(Lite *k, const char *sql, sqlite3_stmt **out, const char **why) {
    *why = NULL;
    int lru = 0;
    for (int i = 0; i < CACHE; i++) {
        Cached *c = &k->cache[i];
        if (c->st && !strcmp(c->sql, sql)) {
            sqlite3_reset(c->st);
            sqlite3_clear_bindings(c->st);
            c->used = ++k->clock;
            *out = c->st;
            return SQLITE_OK;
        }
        if (c->used < k->cache[lru].used) lru = i;
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(k->db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK) return rc;
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';')) tail++;
    if (!st || (tail && *tail)) {
        sqlite3_finalize(st);
        *why = st ? "one statement per call" : "no statement";
        return SQLITE_MISUSE;
    }
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return SQLITE_NOMEM;
    }
    Cached *c = &k->cache[lru];
    sqlite3_finalize(c->st);
    free(c->sql);
    *c = Cached{copy, st, ++k->clock};
    *out = st;
    return SQLITE_OK;
}

static int bind(sqlite3_stmt *st, const DbValue *v, int n, const char **why) {
    if (n > sqlite3_bind_parameter_count(st)) {
        *why = "more values than parameters";
        return SQLITE_RANGE;
    }
    for (int i = 0; i < n; i++) {
        int rc = v[i].type == DBV_INT     ? sqlite3_bind_int64(st, i + 1, v[i].i)
                 : v[i].type == DBV_FLOAT ? sqlite3_bind_double(st, i + 1, v[i].d)
                 : v[i].type == DBV_TEXT  ? sqlite3_bind_text(st, i + 1, v[i].s ? v[i].s : "", (int)v[i].len, SQLITE_TRANSIENT)
                                          : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

// Whether an SQLite result means the storage itself failed (a lock held
// elsewhere, a full disk, an I/O error) rather than the statement.
static bool unavailable(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

static DbStatus status_of(int rc) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE) return DB_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return DB_CONSTRAINT;
    if ((rc & 0xff) == SQLITE_INTERRUPT) return DB_STOPPED;
    return unavailable(rc) ? DB_UNAVAILABLE : DB_BAD;
}

static DbRowsBuilder *rows_begin(sqlite3_stmt *st) {
    int cols = sqlite3_column_count(st);
    if (cols <= 0) return NULL;
    const char *names[cols];
    for (int c = 0; c < cols; c++) names[c] = sqlite3_column_name(st, c);
    return db_rows_begin((uint32_t)cols, names);
}

static bool rows_add(DbRowsBuilder *b, sqlite3_stmt *st) {
    int cols = sqlite3_column_count(st);
    DbValue row[cols];
    for (int c = 0; c < cols; c++) switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: row[c] = db_int(sqlite3_column_int64(st, c)); break;
        case SQLITE_FLOAT: row[c] = DbValue{DBV_FLOAT, 0, sqlite3_column_double(st, c), NULL, 0}; break;
        case SQLITE_NULL: row[c] = db_null(); break;
        default:
            row[c] = DbValue{DBV_TEXT, 0, 0, (const char *)sqlite3_column_text(st, c), (uint32_t)sqlite3_column_bytes(st, c)};
        }
    return db_rows_add(b, row);
}

// Runs one statement on k, its rows into *rows when asked. The SQLite
// result, with its message in msg.
static int step_all(Lite *k, const DbCall *c, DbRows **rows, char *msg, size_t msglen, bool *wrote) {
    sqlite3_stmt *st = NULL;
    const char *why = NULL;
    int rc = prepare(k, c->sql, &st, &why);
    if (rc == SQLITE_OK) rc = bind(st, c->v, c->n, &why);
    if (rc != SQLITE_OK) {
        snprintf(msg, msglen, "%s", why ? why : sqlite3_errmsg(k->db));
        if (st) sqlite3_reset(st);
        return rc;
    }
    *wrote = !sqlite3_stmt_readonly(st);
    DbRowsBuilder *b = rows ? rows_begin(st) : NULL;
    uint32_t kept = 0;
    bool oom = false;
    g_deadline_ms = c->run_ms ? text_now_ms() + c->run_ms : 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!b || oom || (c->max_rows && kept >= c->max_rows)) continue;
        if (rows_add(b, st)) kept++;
        else oom = true;
    }
    g_deadline_ms = 0;
    if (rc != SQLITE_DONE) snprintf(msg, msglen, "%s", sqlite3_errmsg(k->db));
    sqlite3_reset(st);
    if (oom && rc == SQLITE_DONE) {
        snprintf(msg, msglen, "out of memory");
        rc = SQLITE_NOMEM;
    }
    if (b && rc == SQLITE_DONE) *rows = db_rows_finish(b);
    else db_rows_abandon(b);
    return rc;
}

static void run(const DbCall *c, DbDone done, void *ud) {
    Lite *k = &g_lite[c->lane == DB_SCRIPTS || c->lane == DB_SCRIPTS_LATER ? DB_SCRIPTS : DB_CORE];
    char msg[512] = "";
    DbReply r = {DB_OK, NULL, 0, -1, false, NULL};
    int rc = step_all(k, c, &r.rows, msg, sizeof msg, &r.wrote);
    r.status = status_of(rc);
    if (r.status != DB_OK) r.error = msg;
    r.changes = sqlite3_changes(k->db);
    r.last_id = sqlite3_last_insert_rowid(k->db);
    db_answer(c->lane, &r, done, ud);
}

// One transaction: a lock held elsewhere costs the loop at most DB_BUSY_MS;
// a statement that fails rolls the whole batch back and is named.
static void run_batch(DbLane lane, const DbCall *calls, int n, DbBatchDone done, void *ud) {
    Lite *k = &g_lite[lane == DB_SCRIPTS || lane == DB_SCRIPTS_LATER ? DB_SCRIPTS : DB_CORE];
    char msg[512] = "";
    DbReply r = {DB_OK, NULL, 0, -1, true, NULL};
    int failed = -1;
    int rc = sqlite3_exec(k->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(k->db));
    for (int i = 0; rc == SQLITE_OK && i < n; i++) {
        bool wrote;
        rc = step_all(k, &calls[i], NULL, msg, sizeof msg, &wrote);
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
        else if (!unavailable(rc)) failed = i;
    }
    if (rc == SQLITE_OK && (rc = sqlite3_exec(k->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(k->db));
    if (rc != SQLITE_OK) sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
    r.status = status_of(rc);
    if (r.status != DB_OK) r.error = msg;
    db_answer_batch(lane, &r, failed, done, ud);
}

static void close_all(void) {
    for (int i = 0; i < DB_LANES; i++) {
        clear_cache(&g_lite[i]);
        if (g_lite[i].db) sqlite3_close(g_lite[i].db);
        g_lite[i].db = NULL;
    }
}

int db_sqlite_open(const char *data_dir, DbStore *st, char *err, size_t errlen) {
    if (dir_make(data_dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        return -1;
    }
    make_private(data_dir);
    char path[600];
    snprintf(path, sizeof path, "%s/partyline.db", data_dir);
    if (open_one(path, &g_lite[DB_CORE].db, err, errlen) || migrate_sqlite(g_lite[DB_CORE].db, err, errlen) ||
        open_one(path, &g_lite[DB_SCRIPTS].db, err, errlen)) {
        close_all();
        return -1;
    }
    sqlite3 *s = g_lite[DB_SCRIPTS].db;
    sqlite3_exec(s, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    sqlite3_set_authorizer(s, authorize, NULL);
    sqlite3_progress_handler(s, 1000, progress, NULL);
    sqlite3_limit(s, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_limit(s, SQLITE_LIMIT_SQL_LENGTH, 64 * 1024);
    st->run = run;
    st->run_batch = run_batch;
    st->close = close_all;
    return 0;
}
