// Sessions as scripts see them: the session tables, their read-only fields
// from the core (s.node, s.handle, ...), their methods (the running
// generation's pl.Session), and pl.send, pl.logoff, pl.find, pl.sessions,
// pl.sessions_of, pl.session_at, pl.ignore, pl.ignoring.
//
// Session tables are owned here, not by any generation: what scripts keep in
// them (the service a user is in, who to /r) survives every reload. Each
// Session holds a registry reference to its table (script_ref); a weak map
// leads from the table back to the Session while it lives.
#include <string.h>
#include <strings.h>

#include <lua.hpp>

#include "base/text.h"
#include "board/lifecycle.h"
#include "model/session.h"
#include "model/spy.h"
#include "model/room.h"
#include "script/api.h"
#include "script/convert.h"
#include "script/host.h"

static int g_owner_ref = LUA_NOREF;   // weak map: session table -> Session*
static int g_meta_ref = LUA_NOREF;    // metatable of session tables
static int g_leaving_ref = LUA_NOREF; // weak set: session tables pl.logoff was called for

Session *api_to_session(lua_State *l, int idx) {
    if (!lua_istable(l, idx)) return NULL;
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_owner_ref); // ... owners
    lua_pushvalue(l, idx);
    lua_rawget(l, -2); // ... owners session|nil
    Session *s = (Session *)lua_touserdata(l, -1);
    lua_pop(l, 2);
    return s && !s->ending ? s : NULL;
}

Session *api_check_session(lua_State *l, int idx) {
    luaL_checktype(l, idx, LUA_TTABLE);
    return api_to_session(l, idx);
}

void api_push_session(lua_State *l, Session *s) { lua_rawgeti(l, LUA_REGISTRYINDEX, s->script_ref); }

Session *api_next_of_handle(const char *h, uint32_t *node) {
    while (*h && *node < session_max_node()) {
        Session *s = session_by_node(++*node);
        if (s && !s->ending && s->handle[0] && !strcasecmp(s->handle, h)) return s;
    }
    return NULL;
}

// ---------------------------------------------------------------- the tables

static const char *g_props[] = {"node", "handle", "sysop", "room", "id", "idle", "transport", "connected", "ended",
                                "leaving", "address", "spying", "activity", "service", "remote", "moved", "secure",
                                "checking", "terminal", "bot", "level", NULL};

// Properties the scripts set, kept by the core (so that every process of a
// board shows them: /who's activity, and where a user lands after moving
// process).
static bool settable(const char *k) { return !strcmp(k, "activity") || !strcmp(k, "service"); }

static const char *kind_name(PortKind k) {
    return k == PORT_TELNET ? "telnet" : k == PORT_TELNET_WS ? "telnet-ws" : k == PORT_SSH ? "ssh" : k == PORT_BOT ? "bot" : "websocket";
}

static bool is_prop(const char *k) {
    for (int i = 0; g_props[i]; i++)
        if (!strcmp(g_props[i], k)) return true;
    return false;
}

static bool is_leaving(lua_State *l, int idx) {
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_leaving_ref); // ... leaving
    lua_pushvalue(l, idx);
    lua_rawget(l, -2); // ... leaving true|nil
    bool on = lua_toboolean(l, -1);
    lua_pop(l, 2);
    return on;
}

// s.terminal: what the user's terminal shows, from the connection the line
// being handled came on, else the latest one attached; nil while detached.
static void push_terminal(lua_State *l, const Session *s) {
    const Port *p = s->ports;
    for (const Port *q = s->ports; q; q = q->next)
        if (q->id == s->input_port) p = q;
    if (!p || p->kind == PORT_BOT) { // a bot has no terminal
        lua_pushnil(l);
        return;
    }
    lua_createtable(l, 0, 6);
    lua_pushstring(l, p->term.type[0] ? p->term.type : "unknown");
    lua_setfield(l, -2, "type");
    if (p->term.cols) {
        lua_pushinteger(l, p->term.cols);
        lua_setfield(l, -2, "cols");
    }
    if (p->term.rows) {
        lua_pushinteger(l, p->term.rows);
        lua_setfield(l, -2, "rows");
    }
    lua_pushinteger(l, p->term.colors);
    lua_setfield(l, -2, "colors");
    lua_pushstring(l, port_charset_name(port_charset(p))); // the user's choice (pl.charset), else the terminal's
    lua_setfield(l, -2, "charset");
    // a terminal: the telnet port's and the bridge's are both telnet (s.transport tells them apart)
    lua_pushstring(l, p->kind == PORT_TELNET_WS ? "telnet" : kind_name(p->kind));
    lua_setfield(l, -2, "transport");
}

// s.node, s.handle, ... come from the core; anything else is a method of the
// running generation's pl.Session, so reloaded methods apply at once.
static int session_index(lua_State *l) {
    const char *k = lua_tostring(l, 2);
    if (k && is_prop(k)) {
        Session *s = api_to_session(l, 1);
        if (!strcmp(k, "ended")) lua_pushboolean(l, s == NULL);
        else if (!strcmp(k, "leaving")) lua_pushboolean(l, s == NULL || is_leaving(l, 1));
        else if (!s) lua_pushnil(l);
        else if (!strcmp(k, "node")) lua_pushinteger(l, s->node);
        else if (!strcmp(k, "handle")) s->handle[0] ? (void)lua_pushstring(l, s->handle) : lua_pushnil(l);
        else if (!strcmp(k, "sysop")) lua_pushboolean(l, s->sysop);
        else if (!strcmp(k, "room")) s->room ? (void)lua_pushstring(l, s->room->name) : lua_pushnil(l);
        else if (!strcmp(k, "id")) s->proc ? lua_pushnil(l) : (void)lua_pushstring(l, s->resume_id);
        else if (!strcmp(k, "activity")) s->activity[0] ? (void)lua_pushstring(l, s->activity) : lua_pushnil(l);
        else if (!strcmp(k, "service")) s->service[0] ? (void)lua_pushstring(l, s->service) : lua_pushnil(l);
        else if (!strcmp(k, "remote")) lua_pushboolean(l, s->proc != 0);
        else if (!strcmp(k, "moved")) {
            // where the user was on the process this session was taken over from
            if (!s->moved) lua_pushnil(l);
            else {
                lua_createtable(l, 0, 2);
                if (s->moved_service[0]) lua_pushstring(l, s->moved_service), lua_setfield(l, -2, "service");
                if (s->moved_room[0]) lua_pushstring(l, s->moved_room), lua_setfield(l, -2, "room");
            }
        }
        else if (!strcmp(k, "address")) lua_pushstring(l, s->addr); // scripts show it to sysops only
        else if (!strcmp(k, "idle")) lua_pushinteger(l, (lua_Integer)((text_now_ms() - s->last_input_ms) / 1000));
        else if (!strcmp(k, "connected")) lua_pushboolean(l, s->proc || s->nports > 0);
        else if (!strcmp(k, "checking")) lua_pushboolean(l, s->auth_busy); // a password check is under way
        else if (!strcmp(k, "terminal")) push_terminal(l, s);
        else if (!strcmp(k, "bot")) lua_pushboolean(l, s->bot);
        else if (!strcmp(k, "level")) lua_pushinteger(l, s->level);
        else if (!strcmp(k, "spying")) {
            uint32_t n = spy_target(s);
            n ? lua_pushinteger(l, n) : lua_pushnil(l);
        }
        else if (!strcmp(k, "secure")) lua_pushboolean(l, s->ports && s->ports->secure);
        else if (!strcmp(k, "transport")) {
            if (s->proc) lua_pushstring(l, kind_name(s->remote_kind));
            else if (!s->ports) lua_pushnil(l);
            else lua_pushstring(l, kind_name(s->ports->kind));
        }
        return 1;
    }
    host_push_pl(l); // s k pl
    if (lua_isnil(l, -1)) return 1;
    lua_getfield(l, -1, "Session"); // s k pl Session
    if (!lua_istable(l, -1)) return 1;
    lua_pushvalue(l, 2);
    lua_gettable(l, -2); // s k pl Session method
    return 1;
}

static int session_newindex(lua_State *l) {
    const char *k = lua_tostring(l, 2);
    if (k && settable(k)) {
        Session *s = api_to_session(l, 1);
        const char *v = lua_isnil(l, 3) ? "" : luaL_checkstring(l, 3);
        if (!s || s->proc) return 0; // another process's session is its own process's to change
        char *field = !strcmp(k, "activity") ? s->activity : s->service;
        size_t cap = !strcmp(k, "activity") ? sizeof s->activity : sizeof s->service;
        if (strncmp(field, v, cap - 1)) {
            size_t n = text_utf8_cut(v, strlen(v), cap - 1);
            memcpy(field, v, n);
            field[n] = 0;
            session_shown(s);
        }
        return 0;
    }
    if (k && is_prop(k)) return luaL_error(l, "session field '%s' is read-only", k);
    lua_rawset(l, 1);
    return 0;
}

static int weak_table(lua_State *L) {
    lua_newtable(L);
    lua_createtable(L, 0, 1); // t mt
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2); // t
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void api_session_init(lua_State *L) {
    // weak keys: an ended session's table may linger in scripts
    g_owner_ref = weak_table(L);
    g_leaving_ref = weak_table(L);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, session_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, session_newindex);
    lua_setfield(L, -2, "__newindex");
    g_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int new_table(lua_State *l) { // ud
    Session *s = (Session *)lua_touserdata(l, 1);
    lua_newtable(l); // ud t
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_meta_ref);
    lua_setmetatable(l, -2);
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_owner_ref); // ud t owners
    lua_pushvalue(l, -2);
    lua_pushlightuserdata(l, s);
    lua_rawset(l, -3); // ud t owners
    lua_pop(l, 1);     // ud t
    s->script_ref = luaL_ref(l, LUA_REGISTRYINDEX); // ud
    return 0;
}

int script_session_new(Session *s) {
    s->script_ref = -1;
    // no table (out of script memory): the session is there, and the
    // scripts' hooks for it fail with an error the user sees
    host_protected(new_table, s, "a session's table");
    return s->script_ref;
}

void script_session_free(Session *s) {
    lua_State *L = host_state();
    if (s->script_ref < 0 || !L) return;
    script_session_gone(s); // a hook of its waiting for storage goes on without it
    lua_rawgeti(L, LUA_REGISTRYINDEX, g_owner_ref); // owners
    api_push_session(L, s);
    lua_pushnil(L);
    lua_rawset(L, -3); // owners
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, s->script_ref);
    s->script_ref = -1;
}

// ---------------------------------------------------------------- pl.*

static int l_send(lua_State *l) {
    Session *s = api_check_session(l, 1);
    cJSON *ev = convert_check_event(l, 2);
    if (!s) {
        cJSON_Delete(ev);
        lua_pushboolean(l, 0);
        return 1;
    }
    session_send(s, ev, 0);
    lua_pushboolean(l, 1);
    return 1;
}

// pl.logoff(s): ends the session once the event being handled is done;
// s.leaving says so from now on.
static int l_logoff(lua_State *l) {
    Session *s = api_check_session(l, 1);
    if (!s) return 0;
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_leaving_ref); // s ... leaving
    lua_pushvalue(l, 1);
    lua_pushboolean(l, 1);
    lua_rawset(l, -3); // s ... leaving
    lua_pop(l, 1);
    lifecycle_end_soon(s);
    return 0;
}

static int l_sessions(lua_State *l) {
    lua_newtable(l);
    int i = 1;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending) continue;
        api_push_session(l, s);
        lua_rawseti(l, -2, i++);
    }
    return 1;
}

// pl.session_at(node): the live session on a node, or nil.
static int l_session_at(lua_State *l) {
    lua_Integer node = luaL_checkinteger(l, 1);
    Session *s = node > 0 && node <= (lua_Integer)UINT32_MAX ? session_by_node((uint32_t)node) : NULL;
    if (s && !s->ending) api_push_session(l, s);
    else lua_pushnil(l);
    return 1;
}

// pl.sessions_of(handle): every live session of a handle (a user may be on
// several nodes), without building the list of everyone first: scripts call
// it on every private message and mail.
static int l_sessions_of(lua_State *l) {
    const char *h = luaL_optstring(l, 1, "");
    lua_newtable(l);
    int i = 1;
    uint32_t node = 0;
    for (Session *s; (s = api_next_of_handle(h, &node));) {
        api_push_session(l, s);
        lua_rawseti(l, -2, i++);
    }
    return 1;
}

static int l_find(lua_State *l) {
    uint32_t node = 0;
    Session *s = api_next_of_handle(luaL_checkstring(l, 1), &node);
    if (s) api_push_session(l, s);
    else lua_pushnil(l);
    return 1;
}

// pl.ignore(s, handle, on): adds (on ~= false) or removes a handle from s's
// ignore list; returns whether it is now on the list as asked.
static int l_ignore(lua_State *l) {
    Session *s = api_check_session(l, 1);
    const char *h = luaL_checkstring(l, 2);
    bool on = lua_isnoneornil(l, 3) || lua_toboolean(l, 3);
    lua_pushboolean(l, s && session_ignore(s, h, on));
    return 1;
}

static int l_ignoring(lua_State *l) {
    Session *s = api_check_session(l, 1);
    lua_pushboolean(l, s && session_ignores(s, luaL_checkstring(l, 2)));
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"send", l_send},
    {"logoff", l_logoff},
    {"sessions", l_sessions},
    {"session_at", l_session_at},
    {"sessions_of", l_sessions_of},
    {"find", l_find},
    {"ignore", l_ignore},
    {"ignoring", l_ignoring},
    {NULL, NULL},
};

void api_session_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
