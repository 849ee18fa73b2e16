// The scripts' database as a whole: the connection (with the authorizer that
// keeps scripts to their s_* tables, and the progress handler that stops a
// statement past its call's deadline), a cache of prepared statements, the
// health of storage for both connections (up or down, errors, for /metrics
// and the log), and the writes kept in memory while storage is away, retried
// in order every second. Owns the connection, the cache and the queue; the
// Lua binding is api_db.cpp.
#include "board/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/text.h"

static sqlite3 *g_db;
static const unsigned long long *g_deadline; // the running script call's deadline (sandbox.cpp)

#define CACHE 32
static struct {
    char *sql;
    sqlite3_stmt *stmt;
} g_cache[CACHE];
static int g_next_slot;

struct Deferred;
static Deferred *g_dq_head;
static void deferred_pop(void);

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

static int progress(void *) { return g_deadline && *g_deadline && text_now_ms() > *g_deadline; }

int store_open(const char *data_dir, char *err, size_t errlen) {
    char path[600];
    snprintf(path, sizeof path, "%s/partyline.db", data_dir);
    if (sqlite3_open(path, &g_db) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(g_db));
        return -1;
    }
    sqlite3_busy_timeout(g_db, DB_BUSY_MS);
    sqlite3_exec(g_db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    sqlite3_set_authorizer(g_db, authorize, NULL);
    sqlite3_progress_handler(g_db, 1000, progress, NULL);
    sqlite3_limit(g_db, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_limit(g_db, SQLITE_LIMIT_SQL_LENGTH, 64 * 1024);
    return 0;
}

void store_close(void) {
    while (g_dq_head) deferred_pop();
    for (int i = 0; i < CACHE; i++) {
        sqlite3_finalize(g_cache[i].stmt);
        free(g_cache[i].sql);
        g_cache[i].sql = NULL;
        g_cache[i].stmt = NULL;
    }
    if (g_db) sqlite3_close(g_db);
    g_db = NULL;
}

void store_set_deadline(const unsigned long long *deadline_ms) { g_deadline = deadline_ms; }

sqlite3 *store_db(void) { return g_db; }

// ---------------------------------------------------------------- health

static bool g_up = true;         // the last statement reached the storage
static uint64_t g_down_since;    // ms
static uint64_t g_errors;        // statements that failed on storage
static uint64_t g_dropped;       // deferred writes given up (queue over its bound)
static bool g_dropped_logged;    // once per outage

bool store_rc_unavailable(int rc) {
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

void store_note_failure(int rc, const char *what) {
    if (!store_rc_unavailable(rc)) {
        log_error("db_error", "%s", what);
        return;
    }
    g_errors++;
    if (!g_up) return;
    g_up = false;
    g_down_since = text_now_ms();
    log_warn("storage_down", "storage unavailable (%s); chat goes on, writes are kept and retried", what);
}

static uint32_t g_dq_count;

void store_note_ok(void) {
    if (g_up) return;
    g_up = true;
    g_dropped_logged = false;
    log_info("storage_up", "storage is back after %llu s%s", (unsigned long long)((text_now_ms() - g_down_since) / 1000),
             g_dq_count ? "; writing what was kept" : "");
}

int store_prepare(const char *sql, sqlite3_stmt **out, const char **why) {
    *why = NULL;
    for (int i = 0; i < CACHE; i++)
        if (g_cache[i].sql && !strcmp(g_cache[i].sql, sql)) {
            sqlite3_reset(g_cache[i].stmt);
            sqlite3_clear_bindings(g_cache[i].stmt);
            *out = g_cache[i].stmt;
            return SQLITE_OK;
        }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(g_db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK) return rc;
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';')) tail++;
    if (!st || (tail && *tail)) {
        sqlite3_finalize(st);
        *why = "one statement per call";
        return SQLITE_MISUSE;
    }
    int slot = g_next_slot++ % CACHE; // round robin is enough for a handful of scripts' queries
    sqlite3_finalize(g_cache[slot].stmt);
    free(g_cache[slot].sql);
    g_cache[slot].sql = strdup(sql);
    g_cache[slot].stmt = st;
    *out = st;
    return SQLITE_OK;
}

// ---------------------------------------------------------------- deferred writes

// pl.db.defer keeps a write that storage could not take (a lock held
// elsewhere, a full disk) and writes it when storage is back, in order: live
// chat never waits for history. Bounded: past DEFER_MAX_BYTES the oldest go,
// counted and logged.
#define DEFER_MAX_BYTES (4u << 20)
#define DEFER_RETRY_MS 1000
#define DEFER_BATCH 256 // statements per retry, in one transaction

// A kept write owns copies of its SQL and values.
struct Deferred {
    Deferred *next;
    char *sql;
    StoreValue *v; // text values point at copies this write owns
    int n;
    size_t bytes;
};

static Deferred *g_dq_tail;
static size_t g_dq_bytes;
static uv_timer_t g_retry;
static bool g_retry_on;

static void deferred_free(Deferred *d) {
    for (int i = 0; i < d->n; i++) free((char *)d->v[i].s);
    free(d->v);
    free(d->sql);
    free(d);
}

static void deferred_pop(void) {
    Deferred *d = g_dq_head;
    g_dq_head = d->next;
    if (!g_dq_head) g_dq_tail = NULL;
    g_dq_bytes -= d->bytes;
    g_dq_count--;
    deferred_free(d);
}

static void retry(uv_timer_t *);

bool store_deferring(void) { return g_dq_head != NULL; }

bool store_defer(const char *sql, const StoreValue *vals, int n, int rc) {
    if (rc) store_note_failure(rc, sqlite3_errmsg(g_db));
    else g_errors++; // not tried: behind writes already waiting
    Deferred *d = (Deferred *)calloc(1, sizeof *d);
    if (!d) return false;
    d->sql = strdup(sql);
    d->v = n ? (StoreValue *)calloc((size_t)n, sizeof *d->v) : NULL;
    d->n = n;
    if (!d->sql || (n && !d->v)) {
        d->n = 0;
        deferred_free(d);
        return false;
    }
    d->bytes = sizeof *d + strlen(sql) + 1 + (size_t)n * sizeof *d->v;
    for (int i = 0; i < n; i++) {
        d->v[i] = vals[i];
        d->v[i].s = NULL;
        if (vals[i].type != SQLITE_TEXT) continue;
        char *copy = (char *)malloc(vals[i].len ? (size_t)vals[i].len : 1);
        if (copy && vals[i].len) memcpy(copy, vals[i].s, (size_t)vals[i].len);
        d->v[i].s = copy;
        if (!copy) d->v[i].len = 0; // kept as '' rather than read from nowhere
        d->bytes += (size_t)vals[i].len;
    }
    while (g_dq_head && g_dq_bytes + d->bytes > DEFER_MAX_BYTES) {
        deferred_pop();
        g_dropped++;
        if (!g_dropped_logged) {
            g_dropped_logged = true;
            log_warn("storage_dropped", "over %u KiB of writes wait for storage: the oldest are given up", DEFER_MAX_BYTES >> 10);
        }
    }
    if (g_dq_tail) g_dq_tail->next = d;
    else g_dq_head = d;
    g_dq_tail = d;
    g_dq_bytes += d->bytes;
    g_dq_count++;
    if (g_retry_on && !uv_is_active((uv_handle_t *)&g_retry)) uv_timer_start(&g_retry, retry, DEFER_RETRY_MS, DEFER_RETRY_MS);
    return true;
}

static int bind_deferred(sqlite3_stmt *st, const Deferred *d) {
    if (d->n > sqlite3_bind_parameter_count(st)) return SQLITE_RANGE;
    for (int i = 0; i < d->n; i++) {
        const StoreValue *v = &d->v[i];
        int rc = v->type == SQLITE_INTEGER ? sqlite3_bind_int64(st, i + 1, v->i)
                 : v->type == SQLITE_FLOAT ? sqlite3_bind_double(st, i + 1, v->d)
                 : v->type == SQLITE_TEXT  ? sqlite3_bind_text(st, i + 1, v->s ? v->s : "", v->len, SQLITE_STATIC)
                                           : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

// Writes what waits, a batch per call in one transaction (cheap on a disk
// that is back); a storage failure rolls the batch back and keeps it all.
// With a lock held elsewhere each try costs the loop at most DB_BUSY_MS.
static void retry(uv_timer_t *) {
    if (!g_dq_head) {
        uv_timer_stop(&g_retry);
        return;
    }
    int rc = sqlite3_exec(g_db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        store_note_failure(rc, sqlite3_errmsg(g_db));
        return;
    }
    int n = 0;
    bool failed = false;
    for (Deferred *d = g_dq_head; d && n < DEFER_BATCH; d = d->next, n++) {
        sqlite3_stmt *st = NULL;
        const char *why;
        rc = store_prepare(d->sql, &st, &why);
        if (rc == SQLITE_OK) rc = bind_deferred(st, d);
        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
            sqlite3_reset(st);
        }
        if (rc == SQLITE_OK || rc == SQLITE_DONE) continue;
        if (store_rc_unavailable(rc)) {
            failed = true;
            break;
        }
        // the statement's own fault: waiting will not mend it
        log_error("db_error", "a kept write failed and is dropped: %s (%.80s)", why ? why : sqlite3_errmsg(g_db), d->sql);
    }
    if (!failed && (rc = sqlite3_exec(g_db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) failed = true;
    if (failed) {
        store_note_failure(rc, sqlite3_errmsg(g_db));
        sqlite3_exec(g_db, "ROLLBACK", NULL, NULL, NULL);
        return;
    }
    while (n--) deferred_pop();
    store_note_ok();
    if (!g_dq_head) {
        log_info("storage_up", "every kept write is stored");
        uv_timer_stop(&g_retry);
    }
}

void store_start(uv_loop_t *loop) {
    uv_timer_init(loop, &g_retry);
    g_retry_on = true;
    if (g_dq_head) uv_timer_start(&g_retry, retry, DEFER_RETRY_MS, DEFER_RETRY_MS);
}

void store_stop(void) {
    if (!g_retry_on) return;
    g_retry_on = false;
    uv_timer_stop(&g_retry);
    uv_close((uv_handle_t *)&g_retry, NULL);
    // a last try; what storage still refuses is lost, and said so
    for (uint32_t before = g_dq_count + 1; g_dq_head && g_dq_count < before;) {
        before = g_dq_count;
        retry(&g_retry);
    }
    if (g_dq_count) log_warn("storage_dropped", "stopping with %u writes storage never took", g_dq_count);
}

void store_metrics(Buf *b) {
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "# HELP partyline_storage_up Whether the database took the last statement.\n"
                     "# TYPE partyline_storage_up gauge\npartyline_storage_up %d\n"
                     "# HELP partyline_storage_errors_total Statements that failed on storage (locked, full, I/O).\n"
                     "# TYPE partyline_storage_errors_total counter\npartyline_storage_errors_total %llu\n"
                     "# HELP partyline_storage_deferred Writes kept in memory until storage is back.\n"
                     "# TYPE partyline_storage_deferred gauge\npartyline_storage_deferred %u\n"
                     "# HELP partyline_storage_dropped_total Kept writes given up (over the memory bound).\n"
                     "# TYPE partyline_storage_dropped_total counter\npartyline_storage_dropped_total %llu\n",
                     g_up ? 1 : 0, (unsigned long long)g_errors, g_dq_count, (unsigned long long)g_dropped);
    buf_add(b, text, (size_t)n, 1 << 20);
}
