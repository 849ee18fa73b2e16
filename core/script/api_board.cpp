// The board as a whole for scripts: pl.config, pl.log, pl.now, pl.reload,
// pl.loading_file, pl.traceback, sysops watching a node (pl.spy,
// pl.watchers), and the tables pl.server (name, version) and pl.api (the
// version of this API). Keeps no state.
#include <lua.hpp>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "base/version.h"
#include "board/lifecycle.h"
#include "model/session.h"
#include "model/up.h"
#include "model/spy.h"
#include "script/api.h"
#include "script/host.h"
#include "script/sandbox.h"

// The version of the pl.* API (lua/README.md, "Stability"): the major
// number changes when a stable name goes away or changes meaning, the minor
// one when names are added.
#define API_MAJOR 2
#define API_MINOR 0

static int l_config(lua_State *l) {
    char v[1100];
    if (config_get(&g_cfg, luaL_checkstring(l, 1), v, sizeof v)) lua_pushstring(l, v);
    else lua_pushnil(l);
    return 1;
}

// pl.log(text [, event [, s]]): a log line with the scripts' own event name
// (default "script_log"), about session s when given.
static int l_log(lua_State *l) {
    const char *text = luaL_checkstring(l, 1);
    const char *event = luaL_optstring(l, 2, "script_log");
    Session *s = lua_isnoneornil(l, 3) ? NULL : api_to_session(l, 3);
    log_event(LOG_INFO, event, s ? s->node : 0, s ? s->addr : NULL, "%s", text);
    return 0;
}

static int l_now(lua_State *l) {
    lua_pushinteger(l, (lua_Integer)text_now_ms());
    return 1;
}

static int l_reload(lua_State *l) {
    bool ok = script_reload("requested by a script") == 0;
    if (ok && g_up.reload_asked) g_up.reload_asked("requested by a script on another process");
    lua_pushboolean(l, ok);
    return 1;
}

// pl.cluster(): where this process stands on a board of many: {state =
// "off" (one process on its own), "whole" (it reaches the others) or
// "alone" (Redis is away: it serves its own users alone for now)}.
static int l_cluster(lua_State *l) {
    ClusterState st = lifecycle_cluster();
    lua_createtable(l, 0, 1);
    lua_pushstring(l, st == CLUSTER_OFF ? "off" : st == CLUSTER_WHOLE ? "whole" : "alone");
    lua_setfield(l, -2, "state");
    return 1;
}

// pl.emit_board(event[, text]): pl.emit(event, text) here and on every
// other process of the board (a ban list that changed, say). Returns
// whether it reached the others (true on a board of one process).
static int l_emit_board(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    const char *text = luaL_optstring(l, 2, "");
    bool sent = true;
    if (g_up.board_emit) {
        g_up.board_emit(name, text);
        sent = lifecycle_cluster() == CLUSTER_WHOLE;
    }
    script_emit(name, text);
    lua_pushboolean(l, sent);
    return 1;
}

// pl.loading_file(): the file being loaded (its path under the scripts
// folder), or nil once loading is over: for registries that refuse a name
// another file already took.
static int l_loading_file(lua_State *l) {
    lua_getfield(l, lua_upvalueindex(1), "loading");
    return 1;
}

// pl.spy(watcher, target [, prefix]): watcher gets a read-only copy of every
// event target is sent, as `spy` events whose text starts with prefix.
// pl.spy(watcher, nil) stops. Returns whether it is watching as asked.
static int l_spy(lua_State *l) {
    Session *w = api_check_session(l, 1);
    if (!w) {
        lua_pushboolean(l, 0);
        return 1;
    }
    if (lua_isnoneornil(l, 2)) {
        Session *was = session_by_node(spy_target(w));
        if (was && was->proc && g_up.remote_spy) g_up.remote_spy(w, NULL, NULL);
        spy_stop(w);
        lua_pushboolean(l, 1);
        return 1;
    }
    Session *t = api_check_session(l, 2);
    const char *prefix = luaL_optstring(l, 3, "");
    bool ok = t && t != w && spy_start(w, t, prefix);
    // another process's user: that process copies what it is sent
    if (ok && t->proc && g_up.remote_spy) g_up.remote_spy(w, t, prefix);
    lua_pushboolean(l, ok);
    return 1;
}

// pl.watchers(s): the sessions watching s with pl.spy.
static int l_watchers(lua_State *l) {
    Session *t = api_check_session(l, 1);
    Session *w[SPY_MAX];
    uint32_t n = t ? spy_watchers(t, w, SPY_MAX) : 0;
    lua_createtable(l, (int)n, 0);
    for (uint32_t i = 0; i < n; i++) {
        api_push_session(l, w[i]);
        lua_rawseti(l, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"config", l_config},
    {"log", l_log},
    {"now", l_now},
    {"reload", l_reload},
    {"cluster", l_cluster},
    {"emit_board", l_emit_board},
    {"loading_file", l_loading_file},
    {"traceback", sandbox_traceback},
    {"spy", l_spy},
    {"watchers", l_watchers},
    {NULL, NULL},
};

void api_board_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
    lua_createtable(l, 0, 2); // gen core server
    lua_pushstring(l, g_cfg.name);
    lua_setfield(l, -2, "name");
    lua_pushstring(l, PARTYLINE_VERSION);
    lua_setfield(l, -2, "version");
    lua_setfield(l, -2, "server"); // gen core
    lua_createtable(l, 0, 2);      // gen core api
    lua_pushinteger(l, API_MAJOR);
    lua_setfield(l, -2, "major");
    lua_pushinteger(l, API_MINOR);
    lua_setfield(l, -2, "minor");
    lua_setfield(l, -2, "api"); // gen core
}
