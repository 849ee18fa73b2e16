// The sandbox: the Lua state with its memory cap, the time budget of every
// call into the scripts, and the standard library scripts may use.
//
// Owns the lua_State (host.cpp asks for it and closes it) and the deadline
// of the call running now, which pl.db (api_db.cpp) also reads to stop a long SQL
// statement.
#include "script/sandbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "script/strmatch.h"

// ---------------------------------------------------------------- memory

// Every allocation of the Lua state goes through here, so a script that
// allocates without end gets a Lua memory error instead of the server's
// memory. A C function runs to its end before the budget can stop it, and
// how long that takes depends on the size of what it is given: a string is
// at most STRING_MAX (s:upper() on one takes a few ms) and any other block
// (a table's part, a buffer being built) at most BLOCK_MAX.
static size_t g_bytes;
#define STRING_MAX ((size_t)4 << 20)
#define BLOCK_MAX ((size_t)32 << 20)
// Allocations this big look at the clock: a loop of C calls on big strings
// (s:upper(), s .. s) is stopped soon after its deadline, though the count
// hook would see only a few of its instructions.
#define BIG_BLOCK ((size_t)64 << 10)

static bool overdue_alloc(size_t growth);

static void *script_alloc(void *, void *ptr, size_t osize, size_t nsize) {
    if (nsize == 0) {
        if (ptr) g_bytes -= osize;
        free(ptr);
        return NULL;
    }
    size_t old = ptr ? osize : 0;
    if (nsize > old) {
        // a new object's osize is its type (Lua's allocator contract)
        size_t most = !ptr && osize == LUA_TSTRING ? STRING_MAX : BLOCK_MAX;
        if (nsize > most || g_bytes + (nsize - old) > (size_t)g_cfg.script_memory_mb << 20) return NULL;
        if (nsize - old >= BIG_BLOCK && overdue_alloc(nsize - old)) return NULL;
    }
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
static unsigned long long g_deadline_ms; // 0 = no script running; also stops SQL (api_db.cpp)
static bool g_expired;                   // the deadline has passed: stop at every call
// Calls with a budget of their own (an event's listeners) do not spend their
// caller's, but everything one outermost call sets off ends by this ceiling,
// so a script that emits events in a loop cannot hold the loop for long.
static unsigned long long g_ceiling_ms;
#define CEILING 10 // times script_budget_ms

#define HOOK_COUNT 10000

static lua_State *g_main;
static lua_State *g_task; // the task's thread sandbox_resume runs (script/task.cpp), or NULL

static void budget_hook(lua_State *l, lua_Debug *ar);

static char g_stop_msg[320]; // the first stop's message: the code that ran too long is blamed, not a pcall around it

// Raises the budget error; the first time, with the position of the first
// script file's function from level up ("file:line: "): the host's own Lua
// (table.sort's comparison) is not the code that ran too long.
static void stop(lua_State *l, int level) {
    if (!g_expired) {
        g_expired = true;
        // this thread, and the main one (a coroutine that ran out hands its
        // error to a caller that may catch it)
        lua_sethook(l, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_COUNT / 10);
        if (g_main && l != g_main) lua_sethook(g_main, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_COUNT / 10);
        if (g_task && l != g_task) lua_sethook(g_task, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_COUNT / 10);
        char where[200] = "";
        lua_Debug ar;
        for (int lv = level; lua_getstack(l, lv, &ar); lv++)
            if (lua_getinfo(l, "Sl", &ar) && ar.source[0] == '@' && ar.currentline > 0) {
                snprintf(where, sizeof where, "%s:%d: ", ar.source + 1, ar.currentline);
                break;
            }
        snprintf(g_stop_msg, sizeof g_stop_msg, "%sscript ran longer than %d ms and was stopped", where,
                 g_cfg.script_budget_ms);
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
    if (g_task && l != g_task) lua_sethook(g_task, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
}

void sandbox_check_budget(lua_State *l) {
    if (g_expired || (g_deadline_ms && text_now_ms() > g_deadline_ms)) stop(l, 1);
}

// Work done in C functions since the budget was last looked at (bytes they
// were given to go through); the clock is read every CHARGE_STEP of it.
static size_t g_charged;
#define CHARGE_STEP ((size_t)64 << 10)

void sandbox_charge(lua_State *l, size_t units) {
    g_charged = units > SIZE_MAX - g_charged ? SIZE_MAX : g_charged + units;
    if (g_charged < CHARGE_STEP) return;
    g_charged = 0;
    sandbox_check_budget(l);
}

// A big allocation while a call runs: past the deadline, the main thread
// is stopped at its next instruction (the hook names the line); and if the
// allocations go on well past it (in a coroutine, or in C), they fail.
#define ALLOC_GRACE_MS 20

static bool overdue_alloc(size_t) {
    if (!g_deadline_ms) return false;
    unsigned long long now = text_now_ms();
    if (now <= g_deadline_ms) return false;
    lua_State *running = g_task ? g_task : g_main;
    if (running) lua_sethook(running, budget_hook, LUA_MASKCOUNT | LUA_MASKCALL, 1);
    return now > g_deadline_ms + ALLOC_GRACE_MS;
}

int sandbox_traceback(lua_State *l) {
    const char *msg = lua_tostring(l, 1);
    if (msg && strstr(msg, "\nstack traceback:")) return 1; // a nested call already added one
    luaL_traceback(l, l, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

// A call's budget state from before it. Where the call can yield (in a
// task: a coroutine) it is kept in its message handler's upvalues rather
// than in C locals, because Lua ends a call there that failed or waited in
// its caller's continuation (lua_pcallk), not where it started. Elsewhere
// (every call on SQLite, and any outside a task) the handler is the plain
// function and nothing is allocated.
struct Saved {
    unsigned long long deadline, started;
    bool expired, outer, own;
    lua_Integer epoch;
};
enum { UP_DEADLINE = 1, UP_STARTED, UP_EXPIRED, UP_OUTER, UP_OWN, UP_EPOCH, UP_N = UP_EPOCH };
static lua_Integer g_epoch; // sandbox_resume calls: a call that waited has seen one

// A call that failed for memory past its deadline: an allocation refused
// for time (overdue_alloc), not for memory; its message (on top of l) says so.
static void time_not_memory(lua_State *l, int rc) {
    if (rc != LUA_ERRMEM || text_now_ms() <= g_deadline_ms) return;
    lua_pop(l, 1);
    if (!g_stop_msg[0] || !g_expired)
        snprintf(g_stop_msg, sizeof g_stop_msg, "script ran longer than %d ms and was stopped", g_cfg.script_budget_ms);
    g_expired = true;
    lua_pushstring(l, g_stop_msg);
}

// What follows a call: its handler (at fn) goes, and the caller's budget
// comes back as sv says.
static int pcall_end(lua_State *l, int fn, int rc, const Saved *sv) {
    if (rc == LUA_YIELD) rc = LUA_OK; // it waited, then ended cleanly
    time_not_memory(l, rc);
    lua_remove(l, fn); // ... results | message
    if (sv->outer) {
        g_deadline_ms = g_ceiling_ms = 0;
        g_expired = false;
        reset_hook(l);
    } else if (sv->epoch != g_epoch) {
        // the task ran again under a budget of its own (sandbox_resume):
        // what was saved before the wait is moot; the caller goes on under it
        g_expired = g_deadline_ms && text_now_ms() > g_deadline_ms;
    } else if (sv->own) {
        // the time the call took is not the caller's: its deadline moves on by
        // as much, up to the ceiling
        g_deadline_ms = sv->deadline + (text_now_ms() - sv->started);
        if (g_deadline_ms > g_ceiling_ms) g_deadline_ms = g_ceiling_ms;
        g_expired = sv->expired;
    }
    return rc;
}

int sandbox_pcallk(lua_State *l, int nargs, int nresults, bool own_budget, lua_KContext ctx, lua_KFunction k) {
    unsigned long long now = text_now_ms();
    Saved sv = {g_deadline_ms, now, g_expired, g_deadline_ms == 0, own_budget, g_epoch};
    int fn = lua_gettop(l) - nargs;
    bool resumable = k && lua_isyieldable(l);
    if (resumable) {
        lua_pushinteger(l, (lua_Integer)sv.deadline);
        lua_pushinteger(l, (lua_Integer)sv.started);
        lua_pushboolean(l, sv.expired);
        lua_pushboolean(l, sv.outer);
        lua_pushboolean(l, sv.own);
        lua_pushinteger(l, sv.epoch);
        lua_pushcclosure(l, sandbox_traceback, UP_N); // the budget hook knows it by its function
    } else {
        lua_pushcfunction(l, sandbox_traceback);
    }
    lua_insert(l, fn); // ... handler fn args
    if (sv.outer) {
        g_ceiling_ms = now + (uint64_t)g_cfg.script_budget_ms * CEILING;
        g_deadline_ms = now + (uint64_t)g_cfg.script_budget_ms;
        g_expired = false;
    } else if (own_budget) {
        g_deadline_ms = now + (uint64_t)g_cfg.script_budget_ms;
        if (g_deadline_ms > g_ceiling_ms) g_deadline_ms = g_ceiling_ms;
        g_expired = false;
    }
    // resumable: a call that fails or waits ends in k instead of here
    int rc = lua_pcallk(l, nargs, nresults, fn, ctx, resumable ? k : NULL);
    return pcall_end(l, fn, rc, &sv);
}

int sandbox_pcall(lua_State *l, int nargs, int nresults, bool own_budget) {
    return sandbox_pcallk(l, nargs, nresults, own_budget, 0, NULL);
}

int sandbox_pcallk_end(lua_State *l, int fn, int rc) {
    for (int i = 1; i <= UP_N; i++) lua_getupvalue(l, fn, i);
    Saved sv = {(unsigned long long)lua_tointeger(l, -6), (unsigned long long)lua_tointeger(l, -5),
                (bool)lua_toboolean(l, -4), (bool)lua_toboolean(l, -3), (bool)lua_toboolean(l, -2), lua_tointeger(l, -1)};
    lua_pop(l, UP_N);
    return pcall_end(l, fn, rc, &sv);
}

bool sandbox_running(void) { return g_deadline_ms != 0; }

// The traceback of a failed task's thread (the light userdata), its message on top there.
static int traceback_of(lua_State *l) {
    lua_State *co = (lua_State *)lua_touserdata(l, 1);
    const char *msg = lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : NULL;
    luaL_traceback(l, co, msg ? msg : "(error object is not a string)", 0);
    return 1;
}

int sandbox_resume(lua_State *co, int nargs, int *nres) {
    unsigned long long now = text_now_ms();
    g_epoch++;
    g_ceiling_ms = now + (uint64_t)g_cfg.script_budget_ms * CEILING;
    g_deadline_ms = now + (uint64_t)g_cfg.script_budget_ms;
    g_expired = false;
    lua_sethook(co, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
    lua_State *outer_task = g_task;
    g_task = co;
    int rc = lua_resume(co, g_main, nargs, nres);
    g_task = outer_task;
    time_not_memory(co, rc);
    if (rc != LUA_OK && rc != LUA_YIELD) { // the stack is still there to trace
        const char *msg = lua_tostring(co, -1);
        // built on the main thread under a pcall: out of memory, the
        // message stays as it is (nothing here may raise outside one)
        if (!msg || !strstr(msg, "\nstack traceback:")) {
            lua_pushcfunction(g_main, traceback_of);
            lua_pushlightuserdata(g_main, co);
            if (lua_pcall(g_main, 1, 1, 0) == LUA_OK) {
                lua_pop(co, 1);
                lua_xmove(g_main, co, 1);
            } else {
                lua_pop(g_main, 1);
            }
        }
    }
    g_deadline_ms = g_ceiling_ms = 0;
    g_expired = false;
    reset_hook(co);
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

// The C functions of the string, utf8 and table libraries run to their end
// whatever the budget says, so each is wrapped: before it runs, the work it
// is given (the bytes of its string arguments, the length of its table
// arguments, what string.rep will write) is charged (sandbox_charge), and
// a call past its deadline is stopped there. The wrapper calls the function
// itself in its own frame, so errors name it as before ("bad argument #1
// to 'rep'"). table.sort of a long table without a comparison function
// gets a Lua one, under the count hook like any script.
enum { COST_ARGS, COST_REP, COST_SORT };
#define SORT_IN_C_MAX 1024
static int g_less_ref = LUA_NOREF;

static int charged(lua_State *l) {
    size_t cost = 0;
    int n = lua_gettop(l), kind = (int)lua_tointeger(l, lua_upvalueindex(2));
    for (int i = 1; i <= n; i++)
        if (lua_type(l, i) == LUA_TSTRING || lua_type(l, i) == LUA_TTABLE) cost += lua_rawlen(l, i);
    if (kind == COST_REP && lua_isinteger(l, 2) && lua_tointeger(l, 2) > 0) {
        size_t len = lua_type(l, 1) == LUA_TSTRING ? lua_rawlen(l, 1) : 0;
        size_t sep = lua_type(l, 3) == LUA_TSTRING ? lua_rawlen(l, 3) : 0;
        lua_Integer times = lua_tointeger(l, 2);
        // what it would write, saturated (rep itself refuses what cannot fit)
        cost = (size_t)times > SIZE_MAX / (len + sep + 1) ? SIZE_MAX : (size_t)times * (len + sep + 1);
    } else if (kind == COST_SORT && lua_type(l, 1) == LUA_TTABLE && lua_isnoneornil(l, 2) &&
               lua_rawlen(l, 1) > SORT_IN_C_MAX) {
        lua_settop(l, 1);
        lua_rawgeti(l, LUA_REGISTRYINDEX, g_less_ref);
    }
    sandbox_charge(l, cost);
    lua_CFunction f = lua_tocfunction(l, lua_upvalueindex(1));
    return f(l);
}

// Wraps every C function in the table on top of the stack (the real
// library: the string metatable's methods are its functions too).
static void wrap_library(lua_State *L, const char *lib) {
    lua_getglobal(L, lib); // lib
    lua_pushnil(L);
    while (lua_next(L, -2)) { // lib key value
        lua_CFunction f = lua_tocfunction(L, -1);
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (f && strcmp(k, "len") != 0) { // # of a string costs nothing
            lua_pushcfunction(L, f);
            lua_pushinteger(L, !strcmp(lib, "string") && !strcmp(k, "rep")   ? COST_REP
                               : !strcmp(lib, "table") && !strcmp(k, "sort") ? COST_SORT
                                                                             : COST_ARGS);
            lua_pushcclosure(L, charged, 2); // lib key value wrapper
            lua_pushvalue(L, -3);
            lua_insert(L, -2);  // lib key value key wrapper
            lua_rawset(L, -5);  // lib key value
        }
        lua_pop(L, 1); // lib key
    }
    lua_pop(L, 1);
}

static void budget_libraries(lua_State *L) {
    lua_getglobal(L, "string");
    strmatch_install(L); // matching that looks at the budget as it goes
    lua_pop(L, 1);
    static const char *libs[] = {"string", "utf8", "table"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) wrap_library(L, libs[i]);
    // the comparison table.sort uses by default, as Lua code
    if (luaL_loadstring(L, "return function(a, b) return a < b end") == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK)
        g_less_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
}

// The library scripts see: no io, os.execute, load, require, debug or
// package; `print` goes to the log. Libraries are copies, so one script
// cannot change string.format for the rest.
static void build_library(lua_State *L) {
    budget_libraries(L);
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
    build_library(L);
    return L;
}

void sandbox_close(lua_State *L) {
    g_safe_ref = g_less_ref = LUA_NOREF;
    g_main = NULL;
    lua_close(L);
}

unsigned long long sandbox_deadline_ms(void) { return g_deadline_ms; }

void sandbox_credit(unsigned long long ms) {
    if (!g_deadline_ms) return;
    g_deadline_ms += ms;
    g_ceiling_ms += ms;
}
