// The pl.db binding: SQL from scripts on the store's scripts' lane
// (board/db.h: confined to their own tables), one statement per call with
// values bound as parameters, rows back as Lua tables, and the errors
// scripts can tell apart (the storage's "pl.db: unavailable: ..." from the
// statement's own). Keeps no state: the connections, the statement cache and
// the kept writes are board/'s.
#include <stdio.h>
#include <string.h>

#include <lua.hpp>

#include "base/text.h"
#include "board/store.h"
#include "script/api.h"
#include "script/sandbox.h"
#include "script/task.h"

#define MAX_ROWS 10000 // a query returns at most this many
#define MAX_VALUES 64  // parameters of one statement

// The call's values, read from the Lua stack (they point into Lua's strings,
// which stay on the stack for the call).
static int read_values(lua_State *L, DbValue *v) {
    int n = lua_gettop(L) - 1;
    if (n > MAX_VALUES) luaL_error(L, "pl.db: more than %d values", MAX_VALUES);
    for (int i = 0; i < n; i++) {
        int idx = i + 2;
        v[i] = db_null();
        switch (lua_type(L, idx)) {
        case LUA_TNIL: break;
        case LUA_TBOOLEAN: v[i] = db_int(lua_toboolean(L, idx)); break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) v[i] = db_int(lua_tointeger(L, idx));
            else v[i] = DbValue{DBV_FLOAT, 0, lua_tonumber(L, idx), NULL, 0};
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, idx, &len);
            v[i] = DbValue{DBV_TEXT, 0, 0, s, (uint32_t)len};
            break;
        }
        default: luaL_error(L, "pl.db: value %d is a %s", i + 1, luaL_typename(L, idx));
        }
    }
    return n;
}

// What is left of the running call's budget: the statement is stopped there.
static uint32_t budget_ms(void) {
    unsigned long long end = sandbox_deadline_ms(), now = text_now_ms();
    if (!end) return 0;
    return end > now ? (uint32_t)(end - now) : 1;
}

struct Answer {
    TaskAnswer r;
    bool answered;
};

static void answered(DbReply *r, void *ud) {
    Answer *a = (Answer *)ud;
    a->answered = true;
    a->r.status = r->status;
    if (r->status != DB_OK) snprintf(a->r.error, sizeof a->r.error, "%s", r->error ? r->error : "failed");
    a->r.changes = r->changes;
    a->r.last_id = r->last_id;
    a->r.rows = db_take_rows(r);
}

// Runs the call's statement; in a task that can wait (PostgreSQL: script/
// task.h) it yields, and k reads the answer when it comes (1 is returned
// here never: task_db returns as k does). Otherwise it waits for the
// answer: SQLite's comes at once, PostgreSQL's within the call's budget.
static int run(lua_State *L, uint32_t max_rows, Answer *a, lua_KFunction k, int *ret) {
    DbValue v[MAX_VALUES];
    DbCall c = {DB_SCRIPTS, luaL_checkstring(L, 1), v, 0, budget_ms(), max_rows};
    c.n = read_values(L, v);
    if (!db_starting() && (*ret = task_db(L, &c, k)) >= 0) return 1;
    memset(a, 0, sizeof *a);
    unsigned long long t0 = text_now_ms();
    store_run(&c, answered, a);
    if (db_starting()) sandbox_credit(text_now_ms() - t0); // waiting at start is not the script's time
    if (!a->answered) luaL_error(L, "pl.db: unavailable: no answer");
    return 0;
}

// Raises the error of a failed answer. Storage failures read "pl.db:
// unavailable: ...", which the scripts (pl.db.unavailable) and the Lua host
// tell apart from a script's own mistakes: the user hears "try again later",
// and no script is blamed for it.
static int raise(lua_State *L, TaskAnswer *a) {
    db_rows_free(a->rows);
    a->rows = NULL;
    char msg[sizeof a->error];
    memcpy(msg, a->error, sizeof msg);
    if (a->status == DB_UNAVAILABLE) return luaL_error(L, "pl.db: unavailable: %s", msg);
    if (a->status == DB_STOPPED) return luaL_error(L, "pl.db: interrupted (the call's time ran out)");
    return luaL_error(L, "pl.db: %s", msg);
}

static int exec_answer(lua_State *L, TaskAnswer *a) {
    if (a->status != DB_OK) return raise(L, a);
    db_rows_free(a->rows);
    a->rows = NULL;
    lua_pushinteger(L, a->changes);
    lua_pushinteger(L, a->last_id);
    return 2;
}

static int exec_k(lua_State *L, int, lua_KContext) { return exec_answer(L, task_answer(L)); }

// pl.db.exec(sql, ...) -> changes, last_insert_rowid
static int l_exec(lua_State *L) {
    Answer a;
    int ret;
    if (run(L, 1, &a, exec_k, &ret)) return ret;
    return exec_answer(L, &a.r);
}

static void push_cell(lua_State *L, DbValue v) {
    switch (v.type) {
    case DBV_INT: lua_pushinteger(L, v.i); break;
    case DBV_FLOAT: lua_pushnumber(L, v.d); break;
    case DBV_TEXT: lua_pushlstring(L, v.s, v.len); break;
    default: lua_pushnil(L);
    }
}

// Rows as Lua tables, built under lua_pcall: running out of memory midway
// must not leak the rows (l_query frees them either way).
static int push_rows(lua_State *L) {
    DbRows *rows = (DbRows *)lua_touserdata(L, 1);
    uint32_t n = db_rows_n(rows), cols = db_cols_n(rows);
    lua_createtable(L, (int)n, 0);
    for (uint32_t r = 0; r < n; r++) {
        lua_createtable(L, 0, (int)cols);
        for (uint32_t c = 0; c < cols; c++) {
            push_cell(L, db_cell(rows, r, c));
            lua_setfield(L, -2, db_col_name(rows, c));
        }
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    return 1;
}

static int query_answer(lua_State *L, TaskAnswer *a) {
    if (a->status != DB_OK) return raise(L, a);
    DbRows *rows = a->rows;
    a->rows = NULL;
    lua_pushcfunction(L, push_rows);
    lua_pushlightuserdata(L, rows);
    int rc = lua_pcall(L, 1, 1, 0);
    db_rows_free(rows);
    if (rc != LUA_OK) return lua_error(L);
    return 1;
}

static int query_k(lua_State *L, int, lua_KContext) { return query_answer(L, task_answer(L)); }

// pl.db.query(sql, ...) -> { {col = value, ...}, ... } (at most MAX_ROWS rows)
static int l_query(lua_State *L) {
    Answer a;
    int ret;
    if (run(L, MAX_ROWS, &a, query_k, &ret)) return ret;
    return query_answer(L, &a.r);
}

// pl.db.defer(sql, ...) -> true when written now, false when kept for later.
// Errors in the statement itself are raised as with exec.
static int l_defer(lua_State *L) {
    DbValue v[MAX_VALUES];
    DbCall c = {DB_SCRIPTS, luaL_checkstring(L, 1), v, 0, budget_ms(), 0};
    c.n = read_values(L, v);
    char err[400] = "";
    int rc = store_defer(&c, err, sizeof err);
    if (rc == -1) return luaL_error(L, "pl.db: %s", err);
    if (rc == -2) return luaL_error(L, "pl.db: out of memory");
    lua_pushboolean(L, rc == 1);
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
