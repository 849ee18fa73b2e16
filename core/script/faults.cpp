// Script faults: each one logged, counted for /metrics against the file to
// blame, told to the `fault` listeners, and held against the function that
// failed. A function (a listener, a timer's, a command's run, a message
// hook: whatever the caller names) that fails FAULT_LIMIT times within
// FAULT_WINDOW_MS is put out of service: listeners are skipped, timers
// stopped, and the framework disables commands, services and message hooks
// when pl.fault says so. Blame stays with the function: nothing else is
// switched off for it.
//
// The per-function counts live in the generation (a weak table by
// function), so a reload starts everyone afresh; the per-file counters for
// /metrics are the process's.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/buf.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "model/session.h"
#include "script/api.h"
#include "script/events.h"
#include "script/host.h"
#include "script/sandbox.h"
#include "script/task.h"

#define FAULT_LIMIT 3
#define FAULT_WINDOW_MS 60000

// ---------------------------------------------------------------- per file, for /metrics

#define FAULT_FILES 64
static struct {
    char file[64];
    uint64_t count;
} g_faults[FAULT_FILES];

static void count_fault(const char *file) {
    for (int i = 0; i < FAULT_FILES; i++) {
        if (!g_faults[i].file[0]) {
            // a label value: no quote, backslash or line break may break the exposition
            snprintf(g_faults[i].file, sizeof g_faults[i].file, "%.63s", file);
            for (char *p = g_faults[i].file; *p; p++)
                if (*p == '"' || *p == '\\' || *p == '\n') *p = '_';
        }
        if (!strncmp(g_faults[i].file, file, sizeof g_faults[i].file - 1)) {
            g_faults[i].count++;
            return;
        }
    }
}

void script_fault_metrics(Buf *b) {
    buf_adds(b, "# HELP partyline_script_faults_total Errors raised by scripts, by file.\n", 1 << 20);
    buf_adds(b, "# TYPE partyline_script_faults_total counter\n", 1 << 20);
    for (int i = 0; i < FAULT_FILES && g_faults[i].file[0]; i++) {
        char line[160];
        int n = snprintf(line, sizeof line, "partyline_script_faults_total{file=\"%s\"} %llu\n", g_faults[i].file,
                         (unsigned long long)g_faults[i].count);
        buf_add(b, line, (size_t)n, 1 << 20);
    }
    char line[512];
    int n = snprintf(line, sizeof line,
                     "# HELP partyline_script_memory_bytes Memory held by the Lua state.\n"
                     "# TYPE partyline_script_memory_bytes gauge\npartyline_script_memory_bytes %zu\n"
                     "# HELP partyline_script_tasks_waiting Hooks and timers waiting for PostgreSQL (script/task.cpp).\n"
                     "# TYPE partyline_script_tasks_waiting gauge\npartyline_script_tasks_waiting %u\n",
                     sandbox_memory_bytes(), task_waiting());
    buf_add(b, line, (size_t)n, 1 << 20);
}

bool host_storage_error(const char *msg) { return msg && strstr(msg, "pl.db: unavailable"); }

// The file and line an error message starts with ("commands/x.lua:3: ...",
// the chunk name is the path under the scripts folder); false when it does
// not start with a script's position.
static bool error_position(const char *msg, char *file, size_t filelen, int *line) {
    const char *colon = msg ? strstr(msg, ".lua:") : NULL;
    if (!colon || memchr(msg, '\n', (size_t)(colon - msg))) return false;
    size_t n = (size_t)(colon - msg) + 4;
    char *end;
    long ln = strtol(colon + 5, &end, 10);
    if (end == colon + 5 || *end != ':' || n >= filelen) return false;
    memcpy(file, msg, n);
    file[n] = 0;
    *line = (int)ln;
    return true;
}

// ---------------------------------------------------------------- per function

// Pushes gen[name], a table made on first use (weak keys: functions).
static void push_gen_table(lua_State *l, int gen, const char *name) {
    if (lua_getfield(l, gen, name) == LUA_TTABLE) return;
    lua_pop(l, 1);
    lua_newtable(l);
    lua_createtable(l, 0, 1);
    lua_pushliteral(l, "k");
    lua_setfield(l, -2, "__mode");
    lua_setmetatable(l, -2);
    lua_pushvalue(l, -1);
    lua_setfield(l, gen, name);
}

bool host_disabled(lua_State *l, int gen, int fn) {
    fn = lua_absindex(l, fn);
    push_gen_table(l, gen, "disabled"); // ... disabled
    lua_pushvalue(l, fn);
    bool off = lua_rawget(l, -2) != LUA_TNIL;
    lua_pop(l, 2);
    return off;
}

// Counts a fault of fn; returns how many it had within the window, and
// whether this one put it out (it is marked in gen.disabled).
static int trip(lua_State *l, int gen, int fn, bool *tripped) {
    *tripped = false;
    uint64_t now = text_now_ms();
    push_gen_table(l, gen, "faults"); // ... faults
    lua_pushvalue(l, fn);
    if (lua_rawget(l, -2) != LUA_TTABLE) { // ... faults times|nil
        lua_pop(l, 1);
        lua_newtable(l);
        lua_pushvalue(l, fn);
        lua_pushvalue(l, -2);
        lua_rawset(l, -4); // ... faults times
    }
    // the times still within the window, and this one
    int kept = 0, n = (int)lua_rawlen(l, -1);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(l, -1, i);
        lua_Integer t = lua_tointeger(l, -1);
        lua_pop(l, 1);
        if (now - (uint64_t)t < FAULT_WINDOW_MS) {
            lua_pushinteger(l, t);
            lua_rawseti(l, -2, ++kept);
        }
    }
    for (int i = kept + 1; i <= n; i++) {
        lua_pushnil(l);
        lua_rawseti(l, -2, i);
    }
    lua_pushinteger(l, (lua_Integer)now);
    lua_rawseti(l, -2, ++kept);
    lua_pop(l, 2);
    if (kept >= FAULT_LIMIT && !host_disabled(l, gen, fn)) {
        *tripped = true;
        push_gen_table(l, gen, "disabled");
        lua_pushvalue(l, fn);
        lua_pushboolean(l, 1);
        lua_rawset(l, -3);
        lua_pop(l, 1);
    }
    return kept;
}

// ---------------------------------------------------------------- a fault

bool host_fault(lua_State *l, int gen, const Fault *f) {
    const char *msg = f->msg ? f->msg : "(error object is not a string)";
    int base = lua_gettop(l);
    if (gen == 0) host_push_generation(l); // ... gen|nil
    else lua_pushvalue(l, gen);
    int g = lua_gettop(l);
    int fn = f->fn ? lua_absindex(l, f->fn) : 0;
    g_stats.script_errors++;
    char at[256], file[256], func[300] = "";
    int line = 0;
    bool placed = error_position(msg, at, sizeof at, &line);
    if (fn) { // the failing function's own file and where it was defined
        lua_Debug ar;
        lua_pushvalue(l, fn);
        lua_getinfo(l, ">S", &ar);
        if (ar.source[0] == '@') {
            snprintf(file, sizeof file, "%s", ar.source + 1);
            snprintf(func, sizeof func, "%s:%d", ar.source + 1, ar.linedefined);
        } else snprintf(file, sizeof file, "%s", f->file ? f->file : placed ? at : "(unknown)");
    } else snprintf(file, sizeof file, "%s", f->file ? f->file : placed ? at : "(unknown)");
    if (!placed || strcmp(at, file)) line = 0; // raised elsewhere than the blamed file
    count_fault(file);
    bool tripped = false;
    int count = fn && lua_istable(l, g) ? trip(l, g, fn, &tripped) : 0;
    log_event(LOG_ERROR, "script_error", f->s ? f->s->node : 0, f->s ? f->s->addr : NULL, "%s: %s%s", f->what, msg,
              tripped ? " (failed too often: out of service until its file is reloaded)" : "");
    if (lua_istable(l, g)) {
        // the fault listeners get the message without the traceback, and
        // what failed in words: "listener of 'login'", not "in a listener of"
        const char *tb = strstr(msg, "\nstack traceback:");
        char message[1024];
        snprintf(message, sizeof message, "%.*s", tb ? (int)(tb - msg) : (int)strlen(msg), msg);
        const char *label = f->what;
        if (!strncmp(label, "in a ", 5)) label += 5;
        else if (!strncmp(label, "in ", 3)) label += 3;
        lua_createtable(l, 0, 4); // ... gen info
        lua_pushstring(l, label);
        lua_setfield(l, -2, "what");
        if (func[0]) {
            lua_pushstring(l, func);
            lua_setfield(l, -2, "func");
        }
        lua_pushinteger(l, count);
        lua_setfield(l, -2, "count");
        lua_pushboolean(l, tripped);
        lua_setfield(l, -2, "disabled");
        events_fault(l, g, file, line, message, f->s, lua_gettop(l));
    }
    lua_settop(l, base);
    return tripped;
}

// pl.fault(err[, fn[, s[, what]]]): a fault a script caught itself (the
// framework's commands, services and message hooks) is reported as the core
// reports its own: logged, counted against fn's file, held against fn, told
// to the `fault` listeners. Returns true when this fault put fn out of
// service (then the caller stops using it). A storage error is nobody's
// fault: logged, and false.
static int l_fault(lua_State *l) {
    const char *msg = luaL_tolstring(l, 1, NULL); // ... msg
    if (!lua_isnoneornil(l, 2)) luaL_checktype(l, 2, LUA_TFUNCTION);
    Session *s = lua_isnoneornil(l, 3) ? NULL : api_to_session(l, 3);
    char what[120];
    snprintf(what, sizeof what, "in %.100s", luaL_optstring(l, 4, "a script"));
    if (host_storage_error(msg)) {
        log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL, "%s: storage unavailable", what);
        lua_pushboolean(l, 0);
        return 1;
    }
    Fault f = {what, msg, NULL, s, lua_isfunction(l, 2) ? 2 : 0};
    lua_pushboolean(l, host_fault(l, lua_upvalueindex(1), &f));
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"fault", l_fault},
    {NULL, NULL},
};

void api_faults_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
