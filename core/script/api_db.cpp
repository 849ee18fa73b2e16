// The pl.db binding: SQL from scripts on the scripts' own connection
// (store.cpp), one statement per call with values bound as parameters, rows
// back as Lua tables, and the errors scripts can tell apart (the storage's
// "pl.db: unavailable: ..." from the statement's own). Keeps no state: the
// connection, the statement cache and the kept writes are store.cpp's.
#include <string.h>

#include <lua.hpp>

#include "script/api.h"
#include "board/store.h"

#define MAX_ROWS 10000 // a query returns at most this many

// Raises the error for rc. Storage failures read "pl.db: unavailable: ...",
// which the scripts (pl.db.unavailable) and the Lua host tell apart from a
// script's own mistakes: the user hears "try again later", and no script is
// blamed for it.
static int raise_rc(lua_State *L, int rc) {
    const char *msg = sqlite3_errmsg(store_db());
    if (store_rc_unavailable(rc)) {
        store_note_failure(rc, msg);
        return luaL_error(L, "pl.db: unavailable: %s", msg);
    }
    return luaL_error(L, "pl.db: %s", msg);
}

static sqlite3_stmt *prepare(lua_State *L, const char *sql) {
    sqlite3_stmt *st = NULL;
    const char *why;
    int rc = store_prepare(sql, &st, &why);
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
        if (rc != SQLITE_OK) luaL_error(L, "pl.db: %s", sqlite3_errmsg(store_db()));
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
    lua_pushinteger(L, sqlite3_changes(store_db()));
    lua_pushinteger(L, sqlite3_last_insert_rowid(store_db()));
    return 2;
}

// pl.db.query(sql, ...) -> { {col = value, ...}, ... } (at most MAX_ROWS rows)
static int l_query(lua_State *L) {
    sqlite3_stmt *st = bind_all(L);
    lua_newtable(L); // sql values... rows
    int rc, row = 0, cols = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && row < MAX_ROWS) {
        lua_createtable(L, 0, cols); // sql values... rows row
        for (int c = 0; c < cols; c++) {
            push_column(L, st, c);
            lua_setfield(L, -2, sqlite3_column_name(st, c));
        }
        lua_rawseti(L, -2, ++row); // sql values... rows
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return raise_rc(L, rc);
    return 1;
}

// pl.db.defer(sql, ...) -> true when written now, false when kept for later.
// Errors in the statement itself are raised as with exec.
static int l_defer(lua_State *L) {
    const char *sql = luaL_checkstring(L, 1);
    int rc = 0; // 0: not tried, behind writes already waiting (they stay in order)
    const char *why = NULL;
    sqlite3_stmt *st = NULL;
    if (!store_deferring()) {
        rc = store_prepare(sql, &st, &why);
        if (why) return luaL_error(L, "pl.db: %s", why);
    }
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
    if (rc && !store_rc_unavailable(rc)) return raise_rc(L, rc);
    int n = lua_gettop(L) - 1;
    // a userdata, so an error raised below frees it: sql values... v
    StoreValue *v = n ? (StoreValue *)lua_newuserdatauv(L, (size_t)n * sizeof *v, 0) : NULL;
    for (int i = 0; i < n; i++) {
        int idx = i + 2;
        v[i] = StoreValue{SQLITE_NULL, 0, 0, NULL, 0};
        switch (lua_type(L, idx)) {
        case LUA_TNIL: break;
        case LUA_TBOOLEAN: v[i].type = SQLITE_INTEGER; v[i].i = lua_toboolean(L, idx); break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) {
                v[i].type = SQLITE_INTEGER;
                v[i].i = lua_tointeger(L, idx);
            } else {
                v[i].type = SQLITE_FLOAT;
                v[i].d = lua_tonumber(L, idx);
            }
            break;
        case LUA_TSTRING: {
            size_t len;
            v[i].type = SQLITE_TEXT;
            v[i].s = lua_tolstring(L, idx, &len);
            v[i].len = (int)len;
            break;
        }
        default: return luaL_error(L, "pl.db: value %d is a %s", i + 1, luaL_typename(L, idx));
        }
    }
    if (!store_defer(sql, v, n, rc)) return luaL_error(L, "pl.db: out of memory");
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


static const luaL_Reg FUNCS[] = {
    {"exec", l_exec},
    {"query", l_query},
    {"defer", l_defer},
    {"unavailable", l_unavailable},
    {NULL, NULL},
};

void api_db_register(lua_State *l) {
    lua_createtable(l, 0, 4); // gen core db
    luaL_setfuncs(l, FUNCS, 0);
    host_protect(l, "pl.db"); // gen core guard
    lua_setfield(l, -2, "db"); // gen core
}
