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
#include "model/session.h"
#include "script/api.h"
#include "script/sandbox.h"

static int g_in_fault; // fault listeners running: their own faults are not told again

// Calls the listeners of name in the generation at index gen with the nargs
// values from index first; returns how many failed. A listener out of
// service (faults.cpp: it failed too often) is passed over.
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
    char what[120];
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
        const char *msg = lua_tostring(l, -1);
        snprintf(what, sizeof what, "in a listener of '%.60s'", name);
        if (host_storage_error(msg)) {
            log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL, "%s: storage unavailable", what);
        } else {
            lua_rawgeti(l, list, i); // ... message fn
            Fault f = {what, msg, NULL, s, lua_gettop(l)};
            host_fault(l, gen, &f);
            lua_pop(l, 1); // ... message
        }
        lua_pop(l, 1); // ... listeners list
    }
    lua_settop(l, base);
    return failed;
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
static int l_emit(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    lua_pushinteger(l, emit(l, lua_upvalueindex(1), name, 2, lua_gettop(l) - 1));
    return 1;
}

// pl.call(fn, ...): fn(...) under a time budget of its own, as a listener
// runs: true and its results, or false and the error (with a traceback).
// What it spends is not the caller's, so the caller can still act on a
// failure (tell the user, report it) when fn ran out of time.
static int l_call(lua_State *l) {
    luaL_checktype(l, 1, LUA_TFUNCTION);
    int base = lua_gettop(l);
    lua_pushboolean(l, 1);
    lua_insert(l, 1); // true fn args...
    if (sandbox_pcall(l, base - 1, LUA_MULTRET, true) == LUA_OK) return lua_gettop(l);
    lua_pushboolean(l, 0); // true message false
    lua_replace(l, 1);     // false message
    return 2;
}

static const luaL_Reg FUNCS[] = {
    {"on", l_on},
    {"emit", l_emit},
    {"call", l_call},
    {NULL, NULL},
};

void api_events_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
