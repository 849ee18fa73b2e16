// Hooks that wait (script/hooks_wait.h): the per-session queue behind a
// hook waiting for PostgreSQL, and the tasks hooks run as. Owns the
// HookWait of each session that has one (Session.hook_wait) and its queue.
#include "script/hooks_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/log.h"
#include "base/stats.h"
#include "model/event.h"
#include "model/session.h"
#include "script/api.h"
#include "script/host.h"
#include "script/task.h"

// On PostgreSQL a hook runs as a task (script/task.h): its pl.db calls
// wait without holding the loop. A session's hooks still run one at a
// time, in order: while one waits, the next (a line typed meanwhile, its
// session's end) is queued behind it. A session that ends while its hook
// waits is gone for that hook (its calls on s do nothing, as for any ended
// session); what is queued still runs, with the session's table.

struct Queued {
    Queued *next;
    const char *name; // the core's names are literals
    char *arg;        // NULL: none
    size_t arglen;
    uint32_t port;    // the port an input line came from
};

struct HookWait {
    Session *s;    // NULL once the session is gone
    int sref;      // then its table, for what runs after
    bool running;  // one of its hooks runs or waits
    bool starting; // run_task is starting one: it ends there, and its caller drains
    uint32_t port; // the running one's input port (Session.input_port while it runs)
    bool draining;
    uint32_t queued;
    Queued *head, *tail;
};

// Lines one user may have waiting behind a hook (the input rate limit keeps
// it far lower; with it off, this keeps a flood from growing without end).
#define QUEUED_MAX 256

struct TaskHook {
    const char *name;
    HookWait *w; // NULL: a board hook (no session)
    const char *arg;
    size_t arglen;
    bool *started; // run_task's: the task has it now (until then, run_task does)
};

static void push_session_of(lua_State *l, HookWait *w) {
    if (w->s) api_push_session(l, w->s);
    else lua_rawgeti(l, LUA_REGISTRYINDEX, w->sref);
}

struct Failure {
    TaskHook *t;
    const char *msg;
};

// Tells of a failed hook, as call_hook does.
static int tell_failure(lua_State *l) {
    Failure *fl = (Failure *)lua_touserdata(l, 1);
    TaskHook *t = fl->t;
    const char *msg = fl->msg;
    char what[80];
    snprintf(what, sizeof what, "in hook '%s'", t->name);
    Session *s = t->w ? t->w->s : NULL;
    if (host_storage_error(msg)) {
        log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL, "%s: storage unavailable", what);
        if (s && !s->ending) session_send(s, event_error("unavailable", "storage is unavailable; try again later"), 0);
    } else {
        Fault f = {what, msg, NULL, s, 0};
        host_fault(l, 0, &f);
        if (s && !s->ending)
            session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
    }
    return 0;
}

static void drain(HookWait *w);
static bool queue_behind(HookWait *w, const char *name, const char *arg, size_t arglen, uint32_t port, bool front);

static void task_ended(lua_State *co, int status, void *ud) {
    TaskHook *t = (TaskHook *)ud;
    if (status != LUA_OK) {
        // told from the main thread (the task's is dead), its message still
        // on the task's stack; out of memory even for that, the user hears
        // of it all the same
        lua_State *L = host_state();
        Failure fl = {t, lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : "(error object is not a string)"};
        lua_pushcfunction(L, tell_failure);
        lua_pushlightuserdata(L, &fl);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            lua_pop(L, 1);
            g_stats.script_errors++;
            Session *s = t->w ? t->w->s : NULL;
            if (s && !s->ending)
                session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
        }
    }
    HookWait *w = t->w;
    const char *name = t->name;
    free(t);
    if (!w) return; // a board hook: nobody to put anywhere
    w->running = false;
    Session *s = w->s;
    // the user is put somewhere sane first, before what waits behind
    if (status != LUA_OK && s && !s->ending && !hooks_ends_session(name) && !queue_behind(w, "recover", name, strlen(name), 0, true))
        g_stats.script_errors++;
    if (!w->starting) drain(w);
}

// Each part of a hook that waited runs with the port its line came from,
// as the whole of it did before hooks could wait (auth.cpp reads it).
static void task_turn(void *ud, bool begin) {
    TaskHook *t = (TaskHook *)ud;
    if (t->w && t->w->s) t->w->s->input_port = begin ? t->w->port : 0;
}

static int start_task(lua_State *l) {
    TaskHook *t = (TaskHook *)lua_touserdata(l, 1);
    if (!host_push_hook(l, t->name)) return 0; // ud fn
    int nargs = 0;
    if (t->w) {
        push_session_of(l, t->w);
        nargs++;
    }
    if (t->arg) {
        lua_pushlstring(l, t->arg, t->arglen);
        nargs++;
    }
    task_start(l, nargs, task_ended, task_turn, t, t->started);
    return 0;
}

// Runs hook name as a task; w->running while it runs or waits.
static void run_task(HookWait *w, const char *name, const char *arg, size_t arglen, uint32_t port) {
    TaskHook *t = (TaskHook *)calloc(1, sizeof *t);
    if (!t) {
        g_stats.script_errors++;
        return;
    }
    bool started = false;
    *t = TaskHook{name, w, arg, arglen, &started};
    if (w) {
        w->running = w->starting = true;
        w->port = port;
    }
    char what[80];
    snprintf(what, sizeof what, "in hook '%s'", name);
    int rc = host_protected(start_task, t, what);
    if (w) w->starting = false;
    if (started) return; // t is the task's (and may be gone already)
    // no such hook, or no memory to start it
    if (rc != 0) {
        g_stats.script_errors++;
        Session *s = w ? w->s : NULL;
        if (s && !s->ending) session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
    }
    if (w) w->running = false;
    free(t);
}

static void drain(HookWait *w) {
    if (w->draining) return;
    w->draining = true;
    while (!w->running && w->head) {
        Queued *q = w->head;
        w->head = q->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        // a line typed while a password check runs waits for its answer as
        // any typeahead does (model/session.cpp); what the check's answer
        // starts comes first
        if (!strcmp(q->name, "input") && w->s && w->s->auth_busy) session_input(w->s, q->port, q->arg, q->arglen);
        else run_task(w, q->name, q->arg, q->arglen, q->port);
        free(q->arg);
        free(q);
    }
    w->draining = false;
    if (w->running || w->head) return;
    if (w->s) w->s->hook_wait = NULL;
    else luaL_unref(host_state(), LUA_REGISTRYINDEX, w->sref);
    free(w);
}

void script_session_gone(Session *s) {
    HookWait *w = s->hook_wait;
    if (!w) return;
    s->hook_wait = NULL;
    lua_State *L = host_state();
    api_push_session(L, s);
    w->sref = luaL_ref(L, LUA_REGISTRYINDEX);
    w->s = NULL;
}

// Queues hook name behind s's waiting one (front: next); false when out of memory.
static bool queue_behind(HookWait *w, const char *name, const char *arg, size_t arglen, uint32_t port, bool front) {
    if (w->queued >= QUEUED_MAX && !strcmp(name, "input")) {
        if (w->s && !w->s->ending)
            session_send(w->s, event_error("busy", "still busy with what you typed before; that line was dropped"), 0);
        return true;
    }
    Queued *q = (Queued *)calloc(1, sizeof *q);
    if (!q) return false;
    q->name = name;
    q->arglen = arglen;
    q->port = port;
    if (arg && !(q->arg = (char *)malloc(arglen + 1))) {
        free(q);
        return false;
    }
    if (arg) {
        memcpy(q->arg, arg, arglen);
        q->arg[arglen] = 0;
    }
    w->queued++;
    if (front) {
        q->next = w->head;
        w->head = q;
        if (!w->tail) w->tail = q;
    } else {
        if (w->tail) w->tail->next = q;
        else w->head = q;
        w->tail = q;
    }
    return true;
}

void hooks_wait_run(const char *name, Session *s, const char *arg, size_t arglen) {
    if (!s) return run_task(NULL, name, arg, arglen, 0);
    if (s->hook_wait) {
        if (!queue_behind(s->hook_wait, name, arg, arglen, s->input_port, false)) g_stats.script_errors++;
        return;
    }
    HookWait *w = (HookWait *)calloc(1, sizeof *w);
    if (!w) {
        g_stats.script_errors++;
        return;
    }
    w->s = s;
    w->sref = LUA_NOREF;
    s->hook_wait = w;
    run_task(w, name, arg, arglen, s->input_port);
    drain(w); // done already: nothing waited
}

