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
#include "script/hooks_wait.h"
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
bool hooks_ends_session(const char *name) {
    return !strcmp(name, "session_end") || !strcmp(name, "account_action") || !strcmp(name, "idle_timeout") ||
           !strcmp(name, "recover");
}

// ---------------------------------------------------------------- hooks

static void hook(const char *name, Session *s, const char *arg, size_t arglen) {
    if (task_ready()) return hooks_wait_run(name, s, arg, arglen);

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
    if (c.told && s && !s->ending && !hooks_ends_session(name)) hook("recover", s, name, strlen(name));
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

