#include "script/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lua.hpp>

#include "base/log.h"
#include "base/text.h"

static sqlite3 *g_db;
static const unsigned long long *g_deadline; // the Lua host's call deadline

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
    case SQLITE_ALTER_TABLE:
    case SQLITE_ANALYZE:
        return script_table(a) ? SQLITE_OK : SQLITE_DENY;
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

// A prepared statement for sql, from the cache when it was seen before.
// Returns the SQLite result; *why is set when the SQL itself is at fault in
// a way SQLite does not report (more than one statement).
static int prepare_rc(const char *sql, sqlite3_stmt **out, const char **why) {
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

// Raises the error for rc. Storage failures read "pl.db: unavailable: ...",
// which the scripts (pl.db.unavailable) and the Lua host tell apart from a
// script's own mistakes: the user hears "try again later", and no script is
// blamed for it.
static int raise_rc(lua_State *L, int rc) {
    const char *msg = sqlite3_errmsg(g_db);
    if (store_rc_unavailable(rc)) {
        store_note_failure(rc, msg);
        return luaL_error(L, "pl.db: unavailable: %s", msg);
    }
    return luaL_error(L, "pl.db: %s", msg);
}

static sqlite3_stmt *prepare(lua_State *L, const char *sql) {
    sqlite3_stmt *st = NULL;
    const char *why;
    int rc = prepare_rc(sql, &st, &why);
    if (why) luaL_error(L, "pl.db: %s", why);
    if (rc != SQLITE_OK) raise_rc(L, rc);
    return st;
}

static void bind_values(lua_State *L, sqlite3_stmt *st) {
    int n = lua_gettop(L);
    if (n - 1 > sqlite3_bind_parameter_count(st)) luaL_error(L, "pl.db: more values than parameters");
    for (int i = 2; i <= n; i++) {
        int rc;
        switch (lua_type(L, i)) {
        case LUA_TNIL: rc = sqlite3_bind_null(st, i - 1); break;
        case LUA_TBOOLEAN: rc = sqlite3_bind_int(st, i - 1, lua_toboolean(L, i)); break;
        case LUA_TNUMBER:
            rc = lua_isinteger(L, i) ? sqlite3_bind_int64(st, i - 1, lua_tointeger(L, i))
                                     : sqlite3_bind_double(st, i - 1, lua_tonumber(L, i));
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, i, &len);
            rc = sqlite3_bind_text(st, i - 1, s, (int)len, SQLITE_TRANSIENT);
            break;
        }
        default: luaL_error(L, "pl.db: value %d is a %s", i - 1, luaL_typename(L, i)); return;
        }
        if (rc != SQLITE_OK) luaL_error(L, "pl.db: %s", sqlite3_errmsg(g_db));
    }
}

static sqlite3_stmt *bind_all(lua_State *L) {
    sqlite3_stmt *st = prepare(L, luaL_checkstring(L, 1));
    bind_values(L, st);
    return st;
}

static void push_column(lua_State *L, sqlite3_stmt *st, int col) {
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(st, col)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(st, col)); break;
    case SQLITE_NULL: lua_pushnil(L); break;
    default: lua_pushlstring(L, (const char *)sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
    }
}

// pl.db.exec(sql, ...) -> changes, last_insert_rowid
static int l_exec(lua_State *L) {
    sqlite3_stmt *st = bind_all(L);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return raise_rc(L, rc);
    if (!sqlite3_stmt_readonly(st)) store_note_ok(); // reads work with a write lock held elsewhere
    lua_pushinteger(L, sqlite3_changes(g_db));
    lua_pushinteger(L, sqlite3_last_insert_rowid(g_db));
    return 2;
}

// pl.db.query(sql, ...) -> { {col = value, ...}, ... } (at most 10000 rows)
static int l_query(lua_State *L) {
    sqlite3_stmt *st = bind_all(L);
    lua_newtable(L);
    int rc, row = 0, cols = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && row < 10000) {
        lua_createtable(L, 0, cols);
        for (int c = 0; c < cols; c++) {
            push_column(L, st, c);
            lua_setfield(L, -2, sqlite3_column_name(st, c));
        }
        lua_rawseti(L, -2, ++row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return raise_rc(L, rc);
    return 1;
}

// ---------------------------------------------------------------- deferred writes

// pl.db.defer keeps a write that storage could not take (a lock held
// elsewhere, a full disk) and writes it when storage is back, in order: live
// chat never waits for history. Bounded: past DEFER_MAX_BYTES the oldest go,
// counted and logged.
#define DEFER_MAX_BYTES (4u << 20)
#define DEFER_RETRY_MS 1000
#define DEFER_BATCH 256 // statements per retry, in one transaction

struct DVal {
    int type; // SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT
    sqlite3_int64 i;
    double d;
    char *s;
    int len;
};

struct Deferred {
    Deferred *next;
    char *sql;
    DVal *v;
    int n;
    size_t bytes;
};

static Deferred *g_dq_tail;
static size_t g_dq_bytes;
static uv_timer_t g_retry;
static bool g_retry_on;

static void deferred_free(Deferred *d) {
    for (int i = 0; i < d->n; i++) free(d->v[i].s);
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

// Copies sql and the values at 2.. of the Lua stack to the end of the queue.
static void defer_push(lua_State *L, const char *sql) {
    int n = lua_gettop(L) - 1;
    Deferred *d = (Deferred *)calloc(1, sizeof *d);
    if (!d) return (void)luaL_error(L, "pl.db: out of memory");
    d->sql = strdup(sql);
    d->v = n ? (DVal *)calloc((size_t)n, sizeof *d->v) : NULL;
    d->n = n;
    d->bytes = sizeof *d + strlen(sql) + 1 + (size_t)n * sizeof *d->v;
    for (int i = 0; i < n; i++) {
        DVal *v = &d->v[i];
        switch (lua_type(L, i + 2)) {
        case LUA_TNIL: v->type = SQLITE_NULL; break;
        case LUA_TBOOLEAN: v->type = SQLITE_INTEGER; v->i = lua_toboolean(L, i + 2); break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, i + 2)) {
                v->type = SQLITE_INTEGER;
                v->i = lua_tointeger(L, i + 2);
            } else {
                v->type = SQLITE_FLOAT;
                v->d = lua_tonumber(L, i + 2);
            }
            break;
        default: { // strings (other types were refused by bind_values already)
            size_t len;
            const char *str = lua_tolstring(L, i + 2, &len);
            v->type = SQLITE_TEXT;
            v->s = (char *)malloc(len ? len : 1);
            if (v->s) memcpy(v->s, str, len);
            v->len = (int)len;
            d->bytes += len;
        }
        }
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
}

static int bind_deferred(sqlite3_stmt *st, const Deferred *d) {
    if (d->n > sqlite3_bind_parameter_count(st)) return SQLITE_RANGE;
    for (int i = 0; i < d->n; i++) {
        const DVal *v = &d->v[i];
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
        rc = prepare_rc(d->sql, &st, &why);
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

// pl.db.defer(sql, ...) -> true when written now, false when kept for later.
// Errors in the statement itself are raised as with exec.
static int l_defer(lua_State *L) {
    const char *sql = luaL_checkstring(L, 1);
    int rc = SQLITE_BUSY; // behind writes already waiting: they stay in order
    const char *why = NULL;
    sqlite3_stmt *st = NULL;
    if (!g_dq_head) rc = prepare_rc(sql, &st, &why);
    if (why) return luaL_error(L, "pl.db: %s", why);
    if (st) {
        bind_values(L, st);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            store_note_ok();
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    if (!store_rc_unavailable(rc)) return raise_rc(L, rc);
    if (!g_dq_head) store_note_failure(rc, sqlite3_errmsg(g_db));
    else g_errors++;
    for (int i = 2; i <= lua_gettop(L); i++) {
        int t = lua_type(L, i);
        if (t != LUA_TNIL && t != LUA_TBOOLEAN && t != LUA_TNUMBER && t != LUA_TSTRING)
            return luaL_error(L, "pl.db: value %d is a %s", i - 1, luaL_typename(L, i));
    }
    defer_push(L, sql);
    lua_pushboolean(L, 0);
    return 1;
}

// pl.db.unavailable(err) -> whether an error raised by pl.db was the
// storage's (try again later) rather than the statement's.
static int l_unavailable(lua_State *L) {
    const char *e = lua_tostring(L, 1);
    lua_pushboolean(L, e && strstr(e, "pl.db: unavailable") != NULL);
    return 1;
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

void store_register(lua_State *L) {
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_exec);
    lua_setfield(L, -2, "exec");
    lua_pushcfunction(L, l_query);
    lua_setfield(L, -2, "query");
    lua_pushcfunction(L, l_defer);
    lua_setfield(L, -2, "defer");
    lua_pushcfunction(L, l_unavailable);
    lua_setfield(L, -2, "unavailable");
    lua_setfield(L, -2, "db");
}
