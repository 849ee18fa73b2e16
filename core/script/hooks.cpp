// The hooks the core calls (pl.hooks.*, lua/README.md): a session's events
// (input, connect, auth, ...), the ones that answer with text (missed,
// banned) or a verdict (register), and what follows a failure: the user is
// told, and put somewhere sane (pl.hooks.recover). Keeps no state; the
// Lua state and the running generation are host.cpp's.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/log.h"
#include "base/stats.h"
#include "model/event.h"
#include "model/session.h"
#include "script/api.h"
#include "script/arrival.h"
#include "script/host.h"
#include "script/sandbox.h"
#include "script/task.h"

bool host_push_hook(lua_State *L, const char *name) {
    host_push_pl(L); // pl|nil
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_getfield(L, -1, "hooks"); // pl hooks
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_getfield(L, -1, name); // hooks fn
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    return true;
}


struct HookCall {
    const char *name;
    Session *s;
    const char *arg; // NULL: none
    size_t arglen;
    char *out; // hook_text: the text it returns
    size_t outlen;
    bool told; // the user got an error event
};

static int call_hook(lua_State *l) {
    HookCall *c = (HookCall *)lua_touserdata(l, 1);
    if (!host_push_hook(l, c->name)) return 0; // ud fn
    int nargs = 0;
    if (c->s) {
        api_push_session(l, c->s);
        nargs++;
    }
    if (c->arg) {
        lua_pushlstring(l, c->arg, c->arglen);
        nargs++;
    }
    if (sandbox_pcall(l, nargs, 0, false) == LUA_OK) return 0; // ud message
    const char *msg = lua_tostring(l, -1);
    char what[80];
    snprintf(what, sizeof what, "in hook '%s'", c->name);
    Session *s = c->s;
    if (host_storage_error(msg)) {
        // the storage failed, not the script: counted as a storage error
        // (store.cpp), and the user hears to try again later
        log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL, "%s: storage unavailable", what);
        if (s && !s->ending) session_send(s, event_error("unavailable", "storage is unavailable; try again later"), 0);
    } else {
        Fault f = {what, msg, NULL, s, 0};
        host_fault(l, 0, &f); // logged before the user hears of it
        if (s && !s->ending)
            session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
    }
    c->told = true;
    return 0;
}

// Hooks after whose failure the session is over anyway: nothing to recover.
static bool ends_session(const char *name) {
    return !strcmp(name, "session_end") || !strcmp(name, "account_action") || !strcmp(name, "idle_timeout") ||
           !strcmp(name, "recover");
}

static void hook(const char *name, Session *s, const char *arg, size_t arglen);

// ---------------------------------------------------------------- hooks that wait
//
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
    Queued *head, *tail;
};

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
    if (status != LUA_OK && s && !s->ending && !ends_session(name) && !queue_behind(w, "recover", name, strlen(name), 0, true))
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

static void hook_task(const char *name, Session *s, const char *arg, size_t arglen) {
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

// ---------------------------------------------------------------- hooks

static void hook(const char *name, Session *s, const char *arg, size_t arglen) {
    if (task_ready()) return hook_task(name, s, arg, arglen);

    HookCall c = {name, s, arg, arglen, NULL, 0, false};
    char what[80];
    snprintf(what, sizeof what, "in hook '%s'", name);
    // out of memory before the hook could run, or while telling of its fault
    if (host_protected(call_hook, &c, what) != 0) {
        g_stats.script_errors++;
        if (!c.told && s && !s->ending)
            session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
        c.told = true;
    }
    // A hook that failed may have left its user nowhere: half logged in, at
    // a prompt nobody answers, in a service that is gone. The scripts put
    // them somewhere sane (pl.hooks.recover: the menu, or a fresh prompt),
    // in a call of its own with a budget of its own: the failure may have
    // been that the last call's time ran out.
    if (c.told && s && !s->ending && !ends_session(name)) hook("recover", s, name, strlen(name));
}

void script_hook_now(const char *name, Session *s, const char *arg) { hook(name, s, arg, arg ? strlen(arg) : 0); }

void script_hook(const char *name, Session *s, const char *arg) {
    if (s && !strcmp(name, "connect") && arrival_wait(s)) return; // once the terminal has told what it is
    script_hook_now(name, s, arg);
}

void script_input(Session *s, const char *line, size_t len) {
    arrival_now(s);
    if (!s->ending) hook("input", s, line, len);
}
void script_hook_global(const char *name) { hook(name, NULL, NULL, 0); }

// hooks.register(s, handle): whether s may make an account with handle,
// by the scripts' own rules. Their answer: true (yes), a string (no, in
// these words), false (they could not decide). A hook that fails could not
// decide either: no account is made on a rule that did not run.
struct Vet {
    Session *s;
    const char *handle;
    char *why;
    size_t whylen;
    int verdict;
};

static int call_vet(lua_State *l) {
    Vet *v = (Vet *)lua_touserdata(l, 1);
    if (!host_push_hook(l, "register")) {
        v->verdict = 1;
        return 0;
    }
    api_push_session(l, v->s);
    lua_pushstring(l, v->handle);
    if (sandbox_pcall(l, 2, 1, false) != LUA_OK) {
        Fault f = {"in hook 'register'", lua_tostring(l, -1), NULL, v->s, 0};
        if (!host_storage_error(f.msg)) host_fault(l, 0, &f);
        return 0;
    }
    if (lua_type(l, -1) == LUA_TSTRING) {
        snprintf(v->why, v->whylen, "%s", lua_tostring(l, -1));
        v->verdict = 0;
    } else v->verdict = lua_isboolean(l, -1) && !lua_toboolean(l, -1) ? -1 : 1;
    return 0;
}

// On PostgreSQL the hook runs as a task (its pl.db calls wait), and the
// verdict comes when it ends, as up.h allows.
struct VetTask {
    SessionRef s;
    const char *handle; // until started
    void (*done)(int verdict, const char *why, void *ud);
    void *ud;
    bool *started;
    const char *msg; // a failure's, while it is told
};

static int vet_told(lua_State *l) {
    VetTask *v = (VetTask *)lua_touserdata(l, 1);
    Fault f = {"in hook 'register'", v->msg, NULL, session_deref(v->s), 0};
    if (!host_storage_error(v->msg)) host_fault(l, 0, &f);
    return 0;
}

static void vet_ended(lua_State *co, int status, void *ud) {
    VetTask *v = (VetTask *)ud;
    int verdict = -1;
    char why[256] = "";
    if (status == LUA_OK) {
        int first = 1; // the hook's first result (none: yes)
        if (lua_gettop(co) < first) verdict = 1;
        else if (lua_type(co, first) == LUA_TSTRING) {
            snprintf(why, sizeof why, "%s", lua_tostring(co, first));
            verdict = 0;
        } else verdict = lua_isboolean(co, first) && !lua_toboolean(co, first) ? -1 : 1;
    } else {
        lua_State *L = host_state();
        v->msg = lua_type(co, -1) == LUA_TSTRING ? lua_tostring(co, -1) : "(error object is not a string)";
        lua_pushcfunction(L, vet_told);
        lua_pushlightuserdata(L, v);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            lua_pop(L, 1);
            g_stats.script_errors++;
        }
    }
    void (*done)(int, const char *, void *) = v->done;
    void *dud = v->ud;
    free(v);
    done(verdict, why, dud);
}

static int start_vet(lua_State *l) {
    VetTask *v = (VetTask *)lua_touserdata(l, 1);
    Session *s = session_deref(v->s);
    if (!s || !host_push_hook(l, "register")) return 0; // ud fn
    api_push_session(l, s);
    lua_pushstring(l, v->handle);
    task_start(l, 2, vet_ended, NULL, v, v->started);
    return 0;
}

// The listeners answer before this returns on SQLite (pl.db answers
// scripts at once), and done is called here.
void script_vet_register(Session *s, const char *handle, void (*done)(int verdict, const char *why, void *ud), void *ud) {
    if (task_ready()) {
        VetTask *v = (VetTask *)calloc(1, sizeof *v);
        if (!v) return done(-1, "", ud);
        bool started = false;
        *v = VetTask{session_ref(s), handle, done, ud, &started, NULL};
        int rc = host_protected(start_vet, v, "in hook 'register'");
        if (started) return; // v is the task's
        free(v);
        return done(rc == 0 ? 1 : -1, "", ud); // no such hook: yes; no memory: undecided
    }
    char why[256] = "";
    Vet v = {s, handle, why, sizeof why, -1};
    if (host_protected(call_vet, &v, "in hook 'register'") != 0) v.verdict = -1;
    done(v.verdict, why, ud);
}

// hooks[name](arg, or the number in arglen when arg is NULL) -> the text it returns, into out.
static int call_hook_text(lua_State *l) {
    HookCall *c = (HookCall *)lua_touserdata(l, 1);
    if (!host_push_hook(l, c->name)) return 0; // ud fn
    if (c->arg) lua_pushstring(l, c->arg);
    else lua_pushinteger(l, (lua_Integer)c->arglen);
    int rc = sandbox_pcall(l, 1, 1, false); // ud text|message
    if (rc == LUA_OK && lua_type(l, -1) == LUA_TSTRING) snprintf(c->out, c->outlen, "%s", lua_tostring(l, -1));
    else if (rc != LUA_OK) {
        char what[80];
        snprintf(what, sizeof what, "in hook '%s'", c->name);
        Fault f = {what, lua_tostring(l, -1), NULL, NULL, 0};
        host_fault(l, 0, &f);
    }
    return 0;
}

void script_render_count(const char *name, uint32_t n, char *out, size_t outlen) {
    out[0] = 0;
    HookCall c = {name, NULL, NULL, n, out, outlen, false};
    if (host_protected(call_hook_text, &c, "in a hook for text") != 0) g_stats.script_errors++;
}

void script_hook_text(const char *name, const char *arg, char *out, size_t outlen) {
    out[0] = 0;
    HookCall c = {name, NULL, arg, 0, out, outlen, false};
    if (host_protected(call_hook_text, &c, "in a hook for text") != 0) g_stats.script_errors++;
}

