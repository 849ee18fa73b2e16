// The sandbox: the Lua state with its memory cap, the time budget of every
// call into the scripts, and the standard library scripts may use.
//
// Owns the lua_State (host.cpp asks for it and closes it) and the deadline
// of the call running now, which store.cpp also reads to stop a long SQL
// statement.
#include "script/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "board/store.h"

// ---------------------------------------------------------------- memory

// Every allocation of the Lua state goes through here, so a script that
// allocates without end gets a Lua memory error instead of the server's
// memory.
static size_t g_bytes;

static void *script_alloc(void *, void *ptr, size_t osize, size_t nsize) {
    if (nsize == 0) {
        if (ptr) g_bytes -= osize;
        free(ptr);
        return NULL;
    }
    size_t old = ptr ? osize : 0;
    if (nsize > old && g_bytes + (nsize - old) > (size_t)g_cfg.script_memory_mb << 20) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) g_bytes = g_bytes - old + nsize;
    return p;
}

size_t sandbox_memory_bytes(void) { return g_bytes; }

// ---------------------------------------------------------------- time

// A count hook looks at the clock every few thousand instructions while a
// call runs, and stops a call that outlives its budget. Once the deadline
// has passed the call stays stopped: a script that catches the error with
// pcall and goes on is stopped again, and from then on every function call
// raises it before the function runs, which is outside any pcall the call
// could make, so the error reaches the host whatever the script catches.
static unsigned long long g_deadline_ms; // 0 = no script running; also stops SQL (store.cpp)
static bool g_expired;                   // the deadline has passed: stop at every call
// Calls with a budget of their own (an event's listeners) do not spend their
// caller's, but everything one outermost call sets off ends by this ceiling,
// so a script that emits events in a loop cannot hold the loop for long.
static unsigned long long g_ceiling_ms;
#define CEILING 10 // times script_budget_ms

#define HOOK_COUNT 10000

static lua_State *g_main;

static void budget_hook(lua_State *l, lua_Debug *ar);

static char g_stop_msg[320]; // the first stop's message: the code that ran too long is blamed, not a pcall around it

// Raises the budget error; the first time, with level's position ("file:line: ").
static void stop(lua_State *l, int level) {
    if (!g_expired) {
        g_expired = true;
        // this thread, and the main one (a coroutine that ran out hands its
        // error to a caller that may catch it)
        lua_sethook(l, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_COUNT / 10);
        if (g_main && l != g_main) lua_sethook(g_main, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_COUNT / 10);
        luaL_where(l, level); // ... "file:line: "
        snprintf(g_stop_msg, sizeof g_stop_msg, "%sscript ran longer than %d ms and was stopped", lua_tostring(l, -1),
                 g_cfg.script_budget_ms);
        lua_pop(l, 1);
    }
    lua_pushstring(l, g_stop_msg);
    lua_error(l);
}

static void budget_hook(lua_State *l, lua_Debug *ar) {
    if (!g_deadline_ms) return;
    if (ar->event == LUA_HOOKCALL || ar->event == LUA_HOOKTAILCALL) {
        if (!g_expired) return;
        // the message handler is called for the error itself: let it add the traceback
        lua_getinfo(l, "f", ar); // ... called-function
        bool handler = lua_tocfunction(l, -1) == sandbox_traceback;
        lua_pop(l, 1);
        if (!handler) stop(l, 1);
        return;
    }
    if (g_expired || text_now_ms() > g_deadline_ms) stop(l, 0); // the line that was running, not the hook
}

// Back to the cheap hook once the outermost call is over (a coroutine that
// ran out of time keeps its own hook until it runs again, where the call
// hook returns at once).
static void reset_hook(lua_State *l) {
    lua_sethook(l, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
    if (g_main && l != g_main) lua_sethook(g_main, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
}

void sandbox_check_budget(lua_State *l) {
    if (g_expired || (g_deadline_ms && text_now_ms() > g_deadline_ms)) stop(l, 1);
}

int sandbox_traceback(lua_State *l) {
    const char *msg = lua_tostring(l, 1);
    if (msg && strstr(msg, "\nstack traceback:")) return 1; // a nested call already added one
    luaL_traceback(l, l, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

int sandbox_pcall(lua_State *l, int nargs, int nresults, bool own_budget) {
    unsigned long long saved = g_deadline_ms, now = text_now_ms();
    bool saved_expired = g_expired;
    bool outer = saved == 0;
    if (outer) {
        g_ceiling_ms = now + (uint64_t)g_cfg.script_budget_ms * CEILING;
        g_deadline_ms = now + (uint64_t)g_cfg.script_budget_ms;
        g_expired = false;
    } else if (own_budget) {
        g_deadline_ms = now + (uint64_t)g_cfg.script_budget_ms;
        if (g_deadline_ms > g_ceiling_ms) g_deadline_ms = g_ceiling_ms;
        g_expired = false;
    }
    int fn = lua_gettop(l) - nargs;
    lua_pushcfunction(l, sandbox_traceback);
    lua_insert(l, fn); // ... handler fn args
    int rc = lua_pcall(l, nargs, nresults, fn);
    lua_remove(l, fn); // ... results | message
    if (outer) {
        g_deadline_ms = g_ceiling_ms = 0;
        g_expired = false;
        reset_hook(l);
    } else if (own_budget) {
        // the time the call took is not the caller's: its deadline moves on by
        // as much, up to the ceiling
        g_deadline_ms = saved + (text_now_ms() - now);
        if (g_deadline_ms > g_ceiling_ms) g_deadline_ms = g_ceiling_ms;
        g_expired = saved_expired;
    }
    return rc;
}

// ---------------------------------------------------------------- library

static int g_safe_ref = LUA_NOREF;

static int l_print(lua_State *l) {
    luaL_Buffer b;
    luaL_buffinit(l, &b);
    int n = lua_gettop(l);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_addstring(&b, luaL_tolstring(l, i, NULL));
        lua_pop(l, 1);
    }
    luaL_pushresult(&b);
    log_info("script_log", "%s", lua_tostring(l, -1));
    return 0;
}

// The library scripts see: no io, os.execute, load, require, debug or
// package; `print` goes to the log. Libraries are copies, so one script
// cannot change string.format for the rest.
static void build_library(lua_State *L) {
    static const char *globals[] = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
                                    "tostring", "type", "xpcall", "rawequal", "rawget", "rawset", "rawlen",
                                    "setmetatable", "getmetatable", "_VERSION", NULL};
    static const char *libs[] = {"string", "table", "math", "utf8", "coroutine", NULL};
    lua_newtable(L);
    int safe = lua_gettop(L);
    for (int i = 0; globals[i]; i++) {
        lua_getglobal(L, globals[i]);
        lua_setfield(L, safe, globals[i]);
    }
    for (int i = 0; libs[i]; i++) {
        lua_newtable(L);         // safe copy
        lua_getglobal(L, libs[i]); // safe copy lib
        lua_pushnil(L);
        while (lua_next(L, -2)) { // safe copy lib key value
            lua_pushvalue(L, -2);
            lua_insert(L, -2);     // safe copy lib key key value
            lua_settable(L, -5);   // safe copy lib key
        }
        lua_pop(L, 1);           // safe copy
        lua_setfield(L, safe, libs[i]);
    }
    lua_getfield(L, safe, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_newtable(L); // safe os
    static const char *os_ok[] = {"time", "clock", "date", "difftime", NULL};
    lua_getglobal(L, "os"); // safe os real-os
    for (int i = 0; os_ok[i]; i++) {
        lua_getfield(L, -1, os_ok[i]);
        lua_setfield(L, -3, os_ok[i]);
    }
    lua_pop(L, 1);
    lua_setfield(L, safe, "os");
    lua_pushcfunction(L, l_print);
    lua_setfield(L, safe, "print");
    g_safe_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    // strings' metatable would hand out the real string library
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1); // "" string-metatable
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

void sandbox_push_library(lua_State *l) { lua_rawgeti(l, LUA_REGISTRYINDEX, g_safe_ref); }

// ---------------------------------------------------------------- the state

lua_State *sandbox_open(void) {
    lua_State *L = lua_newstate(script_alloc, NULL);
    if (!L) return NULL;
    luaL_openlibs(L);
    g_main = L;
    reset_hook(L);
    store_set_deadline(&g_deadline_ms);
    build_library(L);
    return L;
}

void sandbox_close(lua_State *L) {
    store_set_deadline(NULL);
    g_safe_ref = LUA_NOREF;
    g_main = NULL;
    lua_close(L);
}
