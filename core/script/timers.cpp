// Timers scripts start with pl.after(ms, fn) and pl.every(ms, fn), and stop
// with pl.cancel(id). Each run is a call into the scripts with the usual
// time budget; a failure is a fault like any other (logged, counted, told to
// the `fault` listeners).
//
// Timers belong to the generation of scripts that made them: a successful
// reload cancels the old generation's (the new scripts start their own as
// they load), a failed one cancels only what the failed load started. Owns
// the timers and their callbacks' registry references.
#include "script/timers.h"

#include <stdlib.h>

#include <lua.hpp>

#include "base/stats.h"
#include "script/api.h"
#include "script/sandbox.h"
#include "script/task.h"

#define MAX_TIMERS 1024

struct ScriptTimer {
    uv_timer_t h;
    int fn_ref;
    uint32_t id, gen;
    bool repeat;
    bool waiting; // its last run waits for storage in a task: the next is skipped
    ScriptTimer *next;
};

static uv_loop_t *g_loop;
static ScriptTimer *g_timers;
static uint32_t g_ntimers, g_timer_ids;
static uint32_t g_gen;     // generation being loaded, or running
static uint32_t g_running; // the running one while another loads

static void timer_closed(uv_handle_t *h) { free(h->data); }

static void timer_cancel(ScriptTimer *t) {
    for (ScriptTimer **p = &g_timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    g_ntimers--;
    uv_timer_stop(&t->h);
    lua_State *L = host_state();
    if (L) luaL_unref(L, LUA_REGISTRYINDEX, t->fn_ref);
    uv_close((uv_handle_t *)&t->h, timer_closed);
}

// Cancels the timers of one generation (keep = false) or of all others (keep = true).
static void cancel_gen(uint32_t gen, bool keep) {
    for (ScriptTimer *t = g_timers, *next; t; t = next) {
        next = t->next;
        if ((t->gen == gen) != keep) timer_cancel(t);
    }
}

void timers_init(uv_loop_t *loop) { g_loop = loop; }

void timers_begin_generation(void) {
    g_running = g_gen;
    g_gen++;
}

void timers_end_generation(bool switched) {
    if (switched) {
        cancel_gen(g_gen, true);
    } else {
        cancel_gen(g_gen, false);
        g_gen = g_running;
    }
}

void timers_stop_all(void) {
    while (g_timers) timer_cancel(g_timers);
}

// A timer that fails FAULT_LIMIT times within a minute (faults.cpp) is
// stopped for good, and the `fault` listeners hear it was (init.lua tells
// the sysops); one that fails now and then keeps running.
static int call_timer_protected(lua_State *l) {
    ScriptTimer *t = (ScriptTimer *)lua_touserdata(l, 1);
    uint32_t id = t->id;
    lua_rawgeti(l, LUA_REGISTRYINDEX, t->fn_ref); // ud fn
    lua_pushvalue(l, -1);                         // ud fn fn
    if (!t->repeat) timer_cancel(t); // one-shot: gone before it runs, so it may start another
    if (sandbox_pcall(l, 0, 0, false) != LUA_OK) { // ud fn message
        const char *msg = lua_tostring(l, -1);
        Fault f = {"in a timer", msg, NULL, NULL, 2};
        if (!host_storage_error(msg) && host_fault(l, 0, &f))
            for (ScriptTimer *p = g_timers; p; p = p->next) // it may have cancelled itself meanwhile
                if (p->id == id) {
                    timer_cancel(p);
                    break;
                }
    }
    return 0;
}

static ScriptTimer *timer_by_id(uint32_t id) {
    for (ScriptTimer *p = g_timers; p; p = p->next)
        if (p->id == id) return p;
    return NULL;
}

// ---------------------------------------------------------------- as tasks
//
// On PostgreSQL a run is a task (script/task.h): its pl.db calls wait
// without holding the loop. A repeating timer whose last run still waits
// skips its turn rather than pile runs up behind a slow database.

struct TimerRun {
    uint32_t id;
    int fn_ref; // the function, for the fault (the timer may be gone by then)
    bool *started;
    const char *msg;
};

static int timer_failed(lua_State *l) {
    TimerRun *r = (TimerRun *)lua_touserdata(l, 1);
    lua_rawgeti(l, LUA_REGISTRYINDEX, r->fn_ref); // ud fn
    Fault f = {"in a timer", r->msg, NULL, NULL, 2};
    if (!host_storage_error(r->msg) && host_fault(l, 0, &f)) {
        ScriptTimer *t = timer_by_id(r->id);
        if (t) timer_cancel(t);
    }
    return 0;
}

static void timer_task_ended(lua_State *co, int status, void *ud) {
    TimerRun *r = (TimerRun *)ud;
    ScriptTimer *t = timer_by_id(r->id);
    if (t) t->waiting = false;
    lua_State *L = host_state();
    if (status != LUA_OK) {
        r->msg = lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : "(error object is not a string)";
        lua_pushcfunction(L, timer_failed);
        lua_pushlightuserdata(L, r);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            lua_pop(L, 1);
            g_stats.script_errors++;
        }
    }
    luaL_unref(L, LUA_REGISTRYINDEX, r->fn_ref);
    free(r);
}

static int start_timer_task(lua_State *l) {
    TimerRun *r = (TimerRun *)lua_touserdata(l, 1);
    ScriptTimer *t = timer_by_id(r->id);
    lua_rawgeti(l, LUA_REGISTRYINDEX, t->fn_ref); // ud fn
    lua_pushvalue(l, -1);
    r->fn_ref = luaL_ref(l, LUA_REGISTRYINDEX); // ud fn
    if (!t->repeat) timer_cancel(t); // one-shot: gone before it runs, so it may start another
    else t->waiting = true;
    task_start(l, 0, timer_task_ended, NULL, r, r->started);
    return 0;
}

static void call_timer(uv_timer_t *h) {
    ScriptTimer *t = (ScriptTimer *)h->data;
    if (!task_ready()) {
        if (host_protected(call_timer_protected, t, "in a timer") != 0) g_stats.script_errors++;
        return;
    }
    if (t->waiting) return;
    bool started = false;
    TimerRun *r = (TimerRun *)calloc(1, sizeof *r);
    if (!r) {
        g_stats.script_errors++;
        return;
    }
    uint32_t id = t->id;
    *r = TimerRun{id, LUA_NOREF, &started, NULL};
    if (host_protected(start_timer_task, r, "in a timer") != 0) g_stats.script_errors++;
    if (started) return; // r is the task's
    // out of memory before it could start
    if ((t = timer_by_id(id))) t->waiting = false;
    if (r->fn_ref != LUA_NOREF) luaL_unref(host_state(), LUA_REGISTRYINDEX, r->fn_ref);
    free(r);
}

static int start_timer(lua_State *l, bool repeat) {
    lua_Integer ms = luaL_checkinteger(l, 1);
    luaL_checktype(l, 2, LUA_TFUNCTION);
    if (ms < (repeat ? 100 : 0) || ms > 7LL * 86400 * 1000)
        return luaL_error(l, "timer interval out of range (%s)", repeat ? "100 ms to 7 days" : "0 to 7 days");
    if (g_ntimers >= MAX_TIMERS) return luaL_error(l, "too many timers (%d)", MAX_TIMERS);
    ScriptTimer *t = (ScriptTimer *)calloc(1, sizeof *t);
    if (!t) return luaL_error(l, "out of memory");
    lua_pushvalue(l, 2);
    t->fn_ref = luaL_ref(l, LUA_REGISTRYINDEX);
    t->id = ++g_timer_ids;
    t->gen = g_gen;
    t->repeat = repeat;
    t->h.data = t;
    uv_timer_init(g_loop, &t->h);
    uv_timer_start(&t->h, call_timer, (uint64_t)ms, repeat ? (uint64_t)ms : 0);
    t->next = g_timers;
    g_timers = t;
    g_ntimers++;
    lua_pushinteger(l, t->id);
    return 1;
}

static int l_after(lua_State *l) { return start_timer(l, false); }
static int l_every(lua_State *l) { return start_timer(l, true); }

static int l_cancel(lua_State *l) {
    lua_Integer id = luaL_checkinteger(l, 1);
    for (ScriptTimer *t = g_timers; t; t = t->next)
        if (t->id == id) {
            timer_cancel(t);
            lua_pushboolean(l, 1);
            return 1;
        }
    lua_pushboolean(l, 0);
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"after", l_after},
    {"every", l_every},
    {"cancel", l_cancel},
    {NULL, NULL},
};

void api_timers_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
