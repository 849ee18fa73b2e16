// Events: ordered listeners instead of single-slot hooks. pl.on(event, fn)
// adds a listener to the generation being loaded (in load order, so in the
// path order of the files); pl.emit(event, ...) calls each one under a time
// budget of its own, so one that fails or runs away is logged and counted
// against its own file and the others still run.
//
// Listeners belong to their generation (the table "listeners" in it, by
// event name): a reload starts with none, and a failed one leaves the
// running generation's as they were. Nothing here is global but the guard
// against telling faults of fault listeners.
#include "script/events.h"

#include <stdio.h>
#include <string.h>

#include <lua.hpp>

#include "base/log.h"
#include "base/stats.h"
#include "model/session.h"
#include "script/api.h"
#include "script/convert.h"
#include "model/up.h"
#include "script/sandbox.h"
#include "script/host.h"
#include "script/task.h"

static int g_in_fault; // fault listeners running: their own faults are not told again

// Tells of a listener's failure (its message on top, popped): counted
// against it and its file, unless the storage failed, which is nobody's.
static void listener_failed(lua_State *l, int gen, const char *name, int list, lua_Integer i, Session *s) {
    const char *msg = lua_tostring(l, -1);
    char what[120];
    snprintf(what, sizeof what, "in a listener of '%.60s'", name);
    if (host_storage_error(msg)) {
        log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL, "%s: storage unavailable", what);
    } else {
        lua_rawgeti(l, list, i); // ... message fn
        Fault f = {what, msg, NULL, s, lua_gettop(l)};
        host_fault(l, gen, &f);
        lua_pop(l, 1); // ... message
    }
    lua_pop(l, 1);
}

// Calls the listeners of name in the generation at index gen with the nargs
// values from index first; returns how many failed. A listener out of
// service (faults.cpp: it failed too often) is passed over. For callers in
// C: a listener here cannot wait in a task (pl.emit's can: emit_step).
static int emit(lua_State *l, int gen, const char *name, int first, int nargs) {
    int failed = 0;
    int base = lua_gettop(l);
    if (lua_getfield(l, gen, "listeners") != LUA_TTABLE || lua_getfield(l, -1, name) != LUA_TTABLE) {
        lua_settop(l, base);
        return 0;
    }
    int list = lua_gettop(l); // ... listeners list
    // listeners added while these run wait for the next emit
    lua_Integer n = (lua_Integer)lua_rawlen(l, list);
    Session *s = nargs > 0 ? api_to_session(l, first) : NULL;
    for (lua_Integer i = 1; i <= n; i++) {
        sandbox_check_budget(l); // the emitting call's own time still counts
        lua_rawgeti(l, list, i); // ... fn
        if (host_disabled(l, gen, -1)) {
            lua_pop(l, 1);
            continue;
        }
        for (int a = 0; a < nargs; a++) lua_pushvalue(l, first + a); // ... fn args
        if (sandbox_pcall(l, nargs, 0, true) == LUA_OK) continue;
        failed++; // ... message
        listener_failed(l, gen, name, list, i, s);
    }
    lua_settop(l, base);
    return failed;
}

// pl.emit's loop, written to be resumed: a listener may wait in a task
// (pl.db on PostgreSQL), and then this continues when it ends. The stack
// holds name, the nargs (ctx) values, then the list, its length, the
// index and the count of failures. status: how the last listener ended
// (LUA_YIELD: cleanly, after waiting), or -1 before the first.
enum { EMIT_FIRST = -1 };
static int emit_step(lua_State *l, int status, lua_KContext ctx) {
    int nargs = (int)ctx, list = 2 + nargs, ni = list + 1, ii = list + 2, fi = list + 3;
    int gen = lua_upvalueindex(1);
    const char *name = lua_tostring(l, 1);
    Session *s = nargs > 0 ? api_to_session(l, 2) : NULL;
    if (status != EMIT_FIRST && sandbox_pcallk_end(l, fi + 1, status) != LUA_OK) {
        lua_pushinteger(l, lua_tointeger(l, fi) + 1);
        lua_replace(l, fi);
        listener_failed(l, gen, name, list, lua_tointeger(l, ii), s);
    }
    lua_settop(l, fi);
    for (;;) {
        lua_Integer i = lua_tointeger(l, ii) + 1;
        if (i > lua_tointeger(l, ni)) break;
        lua_pushinteger(l, i);
        lua_replace(l, ii);
        sandbox_check_budget(l); // the emitting call's own time still counts
        lua_rawgeti(l, list, i); // ... fn
        if (host_disabled(l, gen, -1)) {
            lua_pop(l, 1);
            continue;
        }
        for (int a = 0; a < nargs; a++) lua_pushvalue(l, 2 + a); // ... fn args
        if (sandbox_pcallk(l, nargs, 0, true, ctx, emit_step) == LUA_OK) continue;
        lua_pushinteger(l, lua_tointeger(l, fi) + 1); // ... message failed
        lua_replace(l, fi);
        listener_failed(l, gen, name, list, i, s);
    }
    lua_pushvalue(l, fi);
    return 1;
}

// Starts emit_step over the stack name, values...
static int emit_resumable(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    int nargs = lua_gettop(l) - 1;
    lua_checkstack(l, nargs + 8);
    if (lua_getfield(l, lua_upvalueindex(1), "listeners") != LUA_TTABLE || lua_getfield(l, -1, name) != LUA_TTABLE) {
        lua_pushinteger(l, 0);
        return 1;
    }
    lua_remove(l, -2); // name values... list
    // listeners added while these run wait for the next emit
    lua_pushinteger(l, (lua_Integer)lua_rawlen(l, -1));
    lua_pushinteger(l, 0);
    lua_pushinteger(l, 0); // name values... list n i failed
    return emit_step(l, EMIT_FIRST, nargs);
}

void events_fault(lua_State *l, int gen, const char *file, int line, const char *message, Session *s, int info) {
    if (g_in_fault) return;
    int base = lua_gettop(l);
    int g = lua_absindex(l, gen);
    info = lua_absindex(l, info);
    lua_pushstring(l, file);
    line > 0 ? lua_pushinteger(l, line) : lua_pushnil(l);
    lua_pushstring(l, message);
    s ? api_push_session(l, s) : lua_pushnil(l);
    lua_pushvalue(l, info); // ... file line message s info
    g_in_fault++;
    emit(l, g, "fault", base + 1, 5);
    g_in_fault--;
    lua_settop(l, base);
}

// ---------------------------------------------------------------- events the core emits
//
// On PostgreSQL they run as tasks (script/task.h): pl.emit itself is the
// task's function, so its listeners may wait for the store like a hook's.

static void emit_task_ended(lua_State *co, int status, void *) {
    if (status == LUA_OK) return; // the listeners' own failures are told by pl.emit
    g_stats.script_errors++;
    log_error("script_error", "in an event the core emitted: %s",
              lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : "(error object is not a string)");
}

// Pushes the running generation's pl.emit; false when there is none.
static bool push_emit(lua_State *l) {
    host_push_pl(l); // pl|nil
    if (!lua_istable(l, -1)) {
        lua_pop(l, 1);
        return false;
    }
    lua_getfield(l, -1, "emit");
    lua_remove(l, -2);
    if (lua_isfunction(l, -1)) return true;
    lua_pop(l, 1);
    return false;
}

struct EmitText {
    const char *name, *arg;
    bool *started; // NULL: at once (SQLite), not as a task
};

static int emit_text(lua_State *l) {
    EmitText *e = (EmitText *)lua_touserdata(l, 1);
    if (e->started) {
        if (!push_emit(l)) return 0; // ud emit
        lua_pushstring(l, e->name);
        lua_pushstring(l, e->arg ? e->arg : "");
        task_start(l, 2, emit_task_ended, NULL, NULL, e->started);
        return 0;
    }
    host_push_generation(l); // ud gen
    if (!lua_istable(l, -1)) return 0;
    int g = lua_gettop(l);
    lua_pushstring(l, e->arg ? e->arg : ""); // ud gen arg
    emit(l, g, e->name, g + 1, 1);
    return 0;
}

void script_emit(const char *name, const char *arg) {
    bool started = false;
    EmitText e = {name, arg, task_ready() ? &started : NULL};
    host_protected(emit_text, &e, "in a board event");
}

struct EmitTo {
    const char *name;
    Session *s;
    cJSON *args;
    bool *started; // NULL: at once (SQLite), not as a task
};

static int emit_to(lua_State *l) {
    EmitTo *e = (EmitTo *)lua_touserdata(l, 1);
    int g = 0;
    if (e->started) {
        if (!push_emit(l)) return 0; // ud emit
        lua_pushstring(l, e->name);
    } else {
        host_push_generation(l); // ud gen
        if (!lua_istable(l, -1)) return 0;
        g = lua_gettop(l);
    }
    api_push_session(l, e->s); // ud gen|emit [name] s
    int n = 1;
    const cJSON *a;
    cJSON_ArrayForEach(a, e->args) { // ud gen s args...
        if (cJSON_IsString(a)) lua_pushstring(l, a->valuestring);
        else if (cJSON_IsNumber(a) && a->valuedouble == (double)(lua_Integer)a->valuedouble)
            lua_pushinteger(l, (lua_Integer)a->valuedouble); // a node stays 3, not 3.0
        else if (cJSON_IsNumber(a)) lua_pushnumber(l, a->valuedouble);
        else if (cJSON_IsBool(a)) lua_pushboolean(l, cJSON_IsTrue(a));
        else lua_pushnil(l);
        n++;
    }
    if (e->started) task_start(l, n + 1, emit_task_ended, NULL, NULL, e->started);
    else emit(l, g, e->name, g + 1, n);
    return 0;
}

void script_emit_to(const char *name, Session *s, const char *args_json) {
    bool started = false;
    EmitTo e = {name, s, cJSON_Parse(args_json), task_ready() ? &started : NULL};
    host_protected(emit_to, &e, "in an event from another process");
    cJSON_Delete(e.args);
}

// pl.emit_to(s, event, ...): pl.emit(event, s, ...) where s lives: here at
// once, or on s's own process of the board (strings, numbers and booleans
// travel; other values arrive as nil). For what must happen beside the
// user's own session (their ignore list, their /r). Returns how many
// listeners failed here (0 when it went elsewhere).
static int l_emit_to(lua_State *l) {
    Session *s = api_check_session(l, 1);
    const char *name = luaL_checkstring(l, 2);
    if (!s) return lua_pushinteger(l, 0), 1;
    if (!s->proc) { // pl.emit(name, s, ...): s and name change places
        lua_pushvalue(l, 1);
        lua_pushvalue(l, 2);
        lua_replace(l, 1);
        lua_replace(l, 2); // name s args...
        return emit_resumable(l);
    }
    if (g_up.remote_emit) {
        cJSON *args = cJSON_CreateArray();
        for (int i = 3; i <= lua_gettop(l); i++) cJSON_AddItemToArray(args, convert_to_json(l, i));
        char *json = cJSON_PrintUnformatted(args);
        cJSON_Delete(args);
        if (json) g_up.remote_emit(s, name, json);
        cJSON_free(json);
    }
    lua_pushinteger(l, 0);
    return 1;
}

// pl.on(event, fn): fn(...) runs whenever event is emitted, after the
// listeners registered before it.
static int l_on(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    luaL_argcheck(l, name[0], 1, "an event needs a name");
    luaL_checktype(l, 2, LUA_TFUNCTION);
    lua_settop(l, 2);
    lua_getfield(l, lua_upvalueindex(1), "listeners"); // name fn listeners
    if (lua_getfield(l, 3, name) != LUA_TTABLE) {      // name fn listeners list|nil
        lua_pop(l, 1);
        lua_newtable(l);
        lua_pushvalue(l, -1);
        lua_setfield(l, 3, name); // name fn listeners list
    }
    lua_pushvalue(l, 2);
    lua_rawseti(l, 4, (lua_Integer)lua_rawlen(l, 4) + 1);
    return 0;
}

// pl.emit(event, ...): calls the listeners of event with the values given;
// returns how many failed (each failure is logged and counted).
static int l_emit(lua_State *l) { return emit_resumable(l); }

// pl.call(fn, ...): fn(...) under a time budget of its own, as a listener
// runs: true and its results, or false and the error (with a traceback).
// What it spends is not the caller's, so the caller can still act on a
// failure (tell the user, report it) when fn ran out of time.
static int call_ended(lua_State *l, int rc) {
    if (rc == LUA_OK) return lua_gettop(l);
    lua_pushboolean(l, 0); // true message false
    lua_replace(l, 1);     // false message
    return 2;
}

// after fn waited in a task (its function was at 2)
static int call_k(lua_State *l, int status, lua_KContext) { return call_ended(l, sandbox_pcallk_end(l, 2, status)); }

static int l_call(lua_State *l) {
    luaL_checktype(l, 1, LUA_TFUNCTION);
    int base = lua_gettop(l);
    lua_pushboolean(l, 1);
    lua_insert(l, 1); // true fn args...
    return call_ended(l, sandbox_pcallk(l, base - 1, LUA_MULTRET, true, 0, call_k));
}

static const luaL_Reg FUNCS[] = {
    {"on", l_on},
    {"emit", l_emit},
    {"emit_to", l_emit_to},
    {"call", l_call},
    {NULL, NULL},
};

void api_events_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
