// Tasks (script/task.h): a thread per waiting call, anchored in the
// registry while it lives, and the answer it waits for. Owns the Task
// records; the threads are Lua's, collected once unanchored.
#include "script/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/stats.h"
#include "board/store.h"
#include "script/sandbox.h"

struct Task {
    lua_State *co;
    int ref;        // the thread in the registry
    TaskEnd end;
    TaskTurn turn;
    void *ud;
    bool asking;    // inside store_run: an answer now is read without a resume
    bool waiting;   // yielded for an answer
    bool answered;
    TaskAnswer a;
};

static Task *g_current; // the task whose thread runs now
static uint32_t g_waiting;

bool task_ready(void) { return !db_lane_at_once(DB_SCRIPTS_LATER) && !sandbox_running(); }
uint32_t task_waiting(void) { return g_waiting; }

static void finish(Task *t, int status) {
    t->end(t->co, status, t->ud);
    lua_State *co = t->co;
    lua_settop(co, 0);
    luaL_unref(co, LUA_REGISTRYINDEX, t->ref); // the thread goes with the next collection
    db_rows_free(t->a.rows);
    free(t);
}

// Runs t's thread until it ends or waits (nargs: what it is resumed with).
static void step(Task *t, int nargs) {
    Task *outer = g_current;
    g_current = t;
    int nres = 0;
    if (t->turn) t->turn(t->ud, true);
    int rc = sandbox_resume(t->co, nargs, &nres);
    if (t->turn) t->turn(t->ud, false);
    g_current = outer;
    if (rc == LUA_YIELD) {
        if (t->waiting) return; // pl.db's: its answer resumes it
        // a script's own coroutine.yield outside any coroutine of its own
        lua_settop(t->co, 0);
        lua_pushstring(t->co, "attempt to yield from outside a coroutine");
        rc = LUA_ERRRUN;
    }
    finish(t, rc); // on LUA_OK its results are on co's stack for end

}

void task_start(lua_State *l, int nargs, TaskEnd end, TaskTurn turn, void *ud, bool *started) {
    lua_State *co = lua_newthread(l); // ... fn args co
    int ref = luaL_ref(l, LUA_REGISTRYINDEX); // ... fn args
    Task *t = (Task *)calloc(1, sizeof *t);
    if (!t) {
        luaL_unref(l, LUA_REGISTRYINDEX, ref);
        luaL_error(l, "not enough memory");
    }
    t->ref = ref;
    lua_xmove(l, co, nargs + 1);
    t->co = co;
    t->end = end;
    t->turn = turn;
    t->ud = ud;
    *started = true;
    step(t, nargs);
}

static void answered(DbReply *r, void *ud) {
    Task *t = (Task *)ud;
    t->answered = true;
    t->a.status = r->status;
    t->a.error[0] = 0;
    if (r->status != DB_OK) snprintf(t->a.error, sizeof t->a.error, "%s", r->error ? r->error : "failed");
    t->a.changes = r->changes;
    t->a.last_id = r->last_id;
    db_rows_free(t->a.rows);
    t->a.rows = db_take_rows(r);
    if (t->asking) return; // read by task_db itself
    t->waiting = false;
    g_waiting--;
    step(t, 0);
}

int task_db(lua_State *l, const DbCall *c, lua_KFunction k) {
    Task *t = g_current;
    if (!t || t->co != l || !lua_isyieldable(l) || db_lane_at_once(DB_SCRIPTS_LATER)) return -1;
    DbCall later = *c;
    later.lane = DB_SCRIPTS_LATER;
    t->answered = false;
    t->asking = true;
    store_run(&later, answered, t);
    t->asking = false;
    if (t->answered) return k(l, LUA_OK, 0); // refused at once: no wait
    t->waiting = true;
    g_waiting++;
    g_stats.script_db_waits++;
    return lua_yieldk(l, 0, 0, k);
}

Task *task_await(lua_State *l) {
    Task *t = g_current;
    if (!t || t->co != l || !lua_isyieldable(l) || db_lane_at_once(DB_SCRIPTS_LATER)) return NULL;
    t->answered = false;
    t->asking = true;
    return t;
}

void task_wake(Task *t) {
    t->answered = true;
    if (t->asking) return; // read by task_pause itself
    t->waiting = false;
    g_waiting--;
    step(t, 0);
}

int task_pause(lua_State *l, Task *t, lua_KFunction k, lua_KContext ctx) {
    t->asking = false;
    if (t->answered) return k(l, LUA_OK, ctx);
    t->waiting = true;
    g_waiting++;
    g_stats.script_db_waits++;
    return lua_yieldk(l, 0, ctx, k);
}

TaskAnswer *task_answer(lua_State *) {
    TaskAnswer *a = &g_current->a;
    return a;
}
