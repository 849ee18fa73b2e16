// The Lua host: loads the scripts into generations and switches to a new
// one only when every file loaded. The hooks it calls are hooks.cpp's, the
// faults it counts faults.cpp's.
//
// Each load of the scripts is a "generation": a table (api.h) with the `pl`
// the scripts fill with hooks, commands and services, and the listeners of
// its events. A reload builds a whole new generation and switches to it
// only when every file has loaded, so a broken file leaves the running
// generation untouched. The host owns the running generation (a registry
// reference); the Lua state is the sandbox's
// (sandbox.cpp), the session tables api_session.cpp's.
#include "script/host.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lua.hpp>

#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "model/event.h"
#include "model/session.h"
#include "script/api.h"
#include "script/arrival.h"
#include "script/bots.h"
#include "script/convert.h"
#include "script/events.h"
#include "script/sandbox.h"
#include "script/timers.h"
#include "script/watch.h"

static lua_State *L;
static int g_gen_ref = LUA_NOREF; // the running generation

lua_State *host_state(void) { return L; }

void host_push_generation(lua_State *l) { lua_rawgeti(l, LUA_REGISTRYINDEX, g_gen_ref); }

void host_push_pl(lua_State *l) {
    if (lua_rawgeti(l, LUA_REGISTRYINDEX, g_gen_ref) != LUA_TTABLE) return; // nil
    lua_getfield(l, -1, "pl"); // gen pl
    lua_remove(l, -2);         // pl
}

// ---------------------------------------------------------------- the core's names

// __newindex of a guard: upvalues are the protected table and its name.
static int guard_newindex(lua_State *l) { // guard key value
    lua_pushvalue(l, 2);
    if (lua_rawget(l, lua_upvalueindex(1)) != LUA_TNIL) { // guard key value core-value
        const char *k = lua_type(l, 2) == LUA_TSTRING ? lua_tostring(l, 2) : "?";
        return luaL_error(l, "%s.%s belongs to the core and cannot be replaced", lua_tostring(l, lua_upvalueindex(2)), k);
    }
    lua_settop(l, 3);
    lua_rawset(l, 1); // guard
    return 0;
}

void host_protect(lua_State *l, const char *prefix) {
    lua_newtable(l);          // ... t guard
    lua_createtable(l, 0, 3); // ... t guard mt
    lua_pushvalue(l, -3);
    lua_setfield(l, -2, "__index"); // reads fall through to t
    lua_pushvalue(l, -3);
    lua_pushstring(l, prefix);
    lua_pushcclosure(l, guard_newindex, 2);
    lua_setfield(l, -2, "__newindex");
    lua_pushboolean(l, 0);
    lua_setfield(l, -2, "__metatable"); // and no script takes the guard away
    lua_setmetatable(l, -2);            // ... t guard
    lua_remove(l, -2);                  // ... guard
}

// ---------------------------------------------------------------- calls

int host_protected(lua_CFunction fn, void *ud, const char *what) {
    if (!L) return -1;
    int base = lua_gettop(L);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    int rc = lua_pcall(L, 1, 0, 0); // | message
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        log_error("script_error", "%s: %s", what, msg ? msg : "(error object is not a string)");
    }
    lua_settop(L, base);
    return rc == LUA_OK ? 0 : -1;
}

// ---------------------------------------------------------------- loading

#define MAX_SCRIPTS 512
#define MAX_DEPTH 4

struct FileList {
    char *paths[MAX_SCRIPTS];
    int n;
};

static int path_cmp(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    // init.lua at the top comes first: it defines what the others use
    bool xi = !strcmp(x, "init.lua"), yi = !strcmp(y, "init.lua");
    if (xi != yi) return xi ? -1 : 1;
    return strcmp(x, y);
}

static void scan(FileList *fl, const char *root, const char *rel, int depth) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && fl->n < MAX_SCRIPTS) {
        if (e->d_name[0] == '.') continue;
        char sub[1024], full[2100];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st)) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH) scan(fl, root, sub, depth + 1);
        } else {
            size_t n = strlen(e->d_name);
            if (n > 4 && !strcmp(e->d_name + n - 4, ".lua")) fl->paths[fl->n++] = strdup(sub);
        }
    }
    closedir(d);
}

// Pushes a new generation: { pl = guard of the core's table, listeners = {} }.
static void push_generation(void) {
    lua_createtable(L, 0, 3); // gen
    lua_newtable(L);
    lua_setfield(L, -2, "listeners");
    lua_createtable(L, 0, 64); // gen core
    lua_newtable(L);
    lua_setfield(L, -2, "Session");
    lua_newtable(L);
    lua_setfield(L, -2, "hooks");
    api_session_register(L);
    api_room_register(L);
    api_account_register(L);
    api_board_register(L);
    api_events_register(L);
    api_timers_register(L);
    api_convert_register(L);
    api_faults_register(L);
    api_text_register(L);
    api_bots_register(L);
    api_time_register(L);
    api_db_register(L);
    api_term_register(L);
    host_protect(L, "pl");   // gen pl
    lua_setfield(L, -2, "pl"); // gen
}

// Loads and runs one file in an environment of its own that sees the
// generation's pl and the safe library. Returns false with the error in err.
static bool load_file(int gen, const char *path, char *err, size_t errlen) {
    char full[1100];
    snprintf(full, sizeof full, "%s/%s", g_cfg.scripts_dir, path);
    // the chunk name is the path relative to the scripts folder, as errors show it
    char name[600];
    snprintf(name, sizeof name, "@%s", path);
    FILE *f = fopen(full, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    Buf src = {};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&src, chunk, got, 16 << 20);
    fclose(f);
    int st = luaL_loadbufferx(L, src.p ? src.p : "", src.len, name, "t"); // ... chunk|message
    buf_free(&src);
    if (st == LUA_OK) {
        lua_createtable(L, 0, 1); // ... chunk env
        lua_getfield(L, gen, "pl");
        lua_setfield(L, -2, "pl");
        lua_createtable(L, 0, 1); // ... chunk env mt
        sandbox_push_library(L);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);   // ... chunk env
        lua_setupvalue(L, -2, 1);  // ... chunk (_ENV of a main chunk is its first upvalue)
        lua_pushstring(L, path);
        lua_setfield(L, gen, "loading"); // pl.loading_file()
        st = sandbox_pcall(L, 0, 0, false); // ... | message
        lua_pushnil(L);
        lua_setfield(L, gen, "loading");
    }
    if (st == LUA_OK) return true;
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return false;
}

struct Load {
    FileList fl;
    char *err;
    size_t errlen;
    bool ok;
};

// Builds the new generation and loads every file into it; when all loaded,
// it becomes the running one.
static int load_all(lua_State *l) {
    Load *ld = (Load *)lua_touserdata(l, 1);
    push_generation(); // ud gen
    int gen = lua_gettop(l);
    ld->ok = ld->fl.n > 0;
    if (!ld->ok) snprintf(ld->err, ld->errlen, "no .lua files in %s", g_cfg.scripts_dir);
    for (int i = 0; i < ld->fl.n && ld->ok; i++) ld->ok = load_file(gen, ld->fl.paths[i], ld->err, ld->errlen);
    if (!ld->ok) return 0;
    lua_pushvalue(l, gen);
    int ref = luaL_ref(l, LUA_REGISTRYINDEX); // ud gen
    if (g_gen_ref != LUA_NOREF) luaL_unref(l, LUA_REGISTRYINDEX, g_gen_ref);
    g_gen_ref = ref;
    return 0;
}

static int load_generation(char *err, size_t errlen) {
    timers_begin_generation(); // timers the files start while loading belong to the new generation
    bots_begin_generation();   // and so do the bots they make
    Load ld;
    ld.fl.n = 0;
    ld.err = err;
    ld.errlen = errlen;
    ld.ok = false;
    scan(&ld.fl, g_cfg.scripts_dir, "", 0);
    qsort(ld.fl.paths, (size_t)ld.fl.n, sizeof ld.fl.paths[0], path_cmp);
    if (host_protected(load_all, &ld, "loading the scripts") != 0) {
        snprintf(err, errlen, "not enough memory for the scripts");
        ld.ok = false;
    }
    for (int i = 0; i < ld.fl.n; i++) free(ld.fl.paths[i]);
    timers_end_generation(ld.ok);
    bots_end_generation(ld.ok);
    if (ld.ok) log_info("script_load", "scripts loaded: %d files from %s", ld.fl.n, g_cfg.scripts_dir);
    return ld.ok ? 0 : -1;
}

static int call_script_error(lua_State *l) {
    if (!host_push_hook(l, "script_error")) return 0; // ud fn
    lua_pushstring(l, (const char *)lua_touserdata(l, 1));
    if (sandbox_pcall(l, 1, 0, false) != LUA_OK) {
        Fault f = {"in hook 'script_error'", lua_tostring(l, -1), NULL, NULL, 0};
        host_fault(l, 0, &f);
    }
    return 0;
}

static void report_failure(const char *msg) {
    g_stats.script_errors++;
    log_error("script_reload_failed", "script reload failed, the previous scripts stay: %s", msg);
    // the running generation tells the sysops who are online
    if (g_gen_ref != LUA_NOREF) host_protected(call_script_error, (void *)msg, "in hook 'script_error'");
}

// ---------------------------------------------------------------- lifecycle

static int on_change(const char *why) { return script_reload(why); }

// A load, and the hook that tells how it went, is under way: a script asking
// for another then (pl.reload while loading, on the reload event, or in
// script_error) would set off loads within loads.
static bool g_reloading;

int script_reload(const char *why) {
    if (g_reloading) {
        log_warn("script_reload", "a reload was asked for during a reload (%s): ignored", why);
        return -1;
    }
    g_reloading = true;
    char err[2048];
    int rc = load_generation(err, sizeof err);
    // folders may have come or gone (one holding the broken file, too). Watch
    // them before anyone hears the outcome: a file saved right after that must
    // be seen (issue 10: it was missed while the watchers were re-armed)
    watch_refresh();
    if (rc != 0) {
        report_failure(err);
        g_reloading = false;
        return -1;
    }
    g_stats.script_reloads++;
    log_info("script_reload", "scripts reloaded (%s)", why);
    script_hook_global("reloaded");
    g_reloading = false;
    return 0;
}

int script_init(uv_loop_t *loop, char *err, size_t errlen) {
    L = sandbox_open();
    if (!L) {
        snprintf(err, errlen, "cannot create the Lua state");
        return -1;
    }
    api_session_init(L);
    timers_init(loop);
    bots_init(loop);
    arrival_init(loop);
    g_reloading = true;
    int rc = load_generation(err, errlen);
    g_reloading = false;
    if (rc != 0) return -1;
    if (watch_start(loop, g_cfg.scripts_dir, on_change) != 0)
        log_warn("script_watch", "%s cannot be watched: reload with SIGHUP or /reload", g_cfg.scripts_dir);
    return 0;
}

void script_stop_watching(void) {
    watch_stop();
    timers_stop_all();
    bots_stop();
    arrival_stop();
}

void script_close(void) {
    api_term_close();
    if (L) sandbox_close(L);
    L = NULL;
    g_gen_ref = LUA_NOREF;
}
