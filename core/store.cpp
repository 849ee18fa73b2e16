#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lua.hpp>

#include "text.h"

static sqlite3 *g_db;
static const unsigned long long *g_deadline; // the Lua host's call deadline

#define CACHE 32
static struct {
    char *sql;
    sqlite3_stmt *stmt;
} g_cache[CACHE];
static int g_next_slot;

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
    sqlite3_busy_timeout(g_db, 1000);
    sqlite3_exec(g_db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    sqlite3_set_authorizer(g_db, authorize, NULL);
    sqlite3_progress_handler(g_db, 1000, progress, NULL);
    sqlite3_limit(g_db, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_limit(g_db, SQLITE_LIMIT_SQL_LENGTH, 64 * 1024);
    return 0;
}

void store_close(void) {
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

// A prepared statement for sql, from the cache when it was seen before.
static sqlite3_stmt *prepare(lua_State *L, const char *sql) {
    for (int i = 0; i < CACHE; i++)
        if (g_cache[i].sql && !strcmp(g_cache[i].sql, sql)) {
            sqlite3_reset(g_cache[i].stmt);
            sqlite3_clear_bindings(g_cache[i].stmt);
            return g_cache[i].stmt;
        }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(g_db, sql, -1, &st, &tail) != SQLITE_OK) {
        luaL_error(L, "pl.db: %s", sqlite3_errmsg(g_db));
        return NULL;
    }
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';')) tail++;
    if (!st || (tail && *tail)) {
        sqlite3_finalize(st);
        luaL_error(L, "pl.db: one statement per call");
        return NULL;
    }
    int slot = g_next_slot++ % CACHE; // round robin is enough for a handful of scripts' queries
    sqlite3_finalize(g_cache[slot].stmt);
    free(g_cache[slot].sql);
    g_cache[slot].sql = strdup(sql);
    g_cache[slot].stmt = st;
    return st;
}

static sqlite3_stmt *bind_all(lua_State *L) {
    sqlite3_stmt *st = prepare(L, luaL_checkstring(L, 1));
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
        default: return (sqlite3_stmt *)(luaL_error(L, "pl.db: value %d is a %s", i - 1, luaL_typename(L, i)), NULL);
        }
        if (rc != SQLITE_OK) luaL_error(L, "pl.db: %s", sqlite3_errmsg(g_db));
    }
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
    if (rc != SQLITE_DONE) return luaL_error(L, "pl.db: %s", sqlite3_errmsg(g_db));
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
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return luaL_error(L, "pl.db: %s", sqlite3_errmsg(g_db));
    return 1;
}

void store_register(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_exec);
    lua_setfield(L, -2, "exec");
    lua_pushcfunction(L, l_query);
    lua_setfield(L, -2, "query");
    lua_setfield(L, -2, "db");
}
