// Rooms for scripts: pl.join, pl.leave, pl.room_name, pl.members, pl.rooms,
// and sending one event to many: pl.publish (a room) and pl.broadcast
// (everyone logged in). The rooms themselves are model/room.cpp's; nothing
// here keeps state.
#include <string.h>

#include <lua.hpp>

#include "model/event.h"
#include "model/route.h"
#include "model/msg.h"
#include "model/room.h"
#include "model/session.h"
#include "script/api.h"
#include "script/convert.h"

// pl.publish(room, event[, sender]): one event to every member, encoded
// once; members ignoring sender are skipped. Returns the room's size.
static int l_publish(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    luaL_checktype(l, 2, LUA_TTABLE);
    // a chat event's id goes into the scripts' table as well, so that what
    // keeps the line (history) keeps the id the room was sent
    if (lua_getfield(l, 2, "type") == LUA_TSTRING && !strcmp(lua_tostring(l, -1), "chat") &&
        lua_getfield(l, 2, "id") == LUA_TNIL) { // ... type nil
        char id[EVENT_ID_MAX];
        event_new_id(id);
        lua_pushstring(l, id);
        lua_setfield(l, 2, "id");
    }
    lua_settop(l, 3);
    cJSON *ev = convert_check_event(l, 2);
    const Session *sender = lua_isnoneornil(l, 3) ? NULL : api_to_session(l, 3);
    Room *r = room_find(name);
    if (!r) {
        cJSON_Delete(ev);
        lua_pushinteger(l, 0);
        return 1;
    }
    Msg *m = event_encode(ev);
    if (m) {
        route_room(r, m, sender);
        msg_unref(m);
    }
    lua_pushinteger(l, r->count);
    return 1;
}

// pl.skip_repeats(s, ids): s was just shown these room lines (their chat
// ids) from history; the same lines arriving live a moment later are not
// shown again (on a board of many processes, a line can reach the history
// before its publish reaches this process).
static int l_skip_repeats(lua_State *l) {
    Session *s = api_check_session(l, 1);
    luaL_checktype(l, 2, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(l, 2);
    if (!s || s->proc || n <= 0) return 0;
    if (n > 64) n = 64;
    const char *ids[64];
    uint32_t k = 0;
    lua_Integer first = (lua_Integer)lua_rawlen(l, 2) - n + 1;
    for (lua_Integer i = first; i < first + n; i++) {
        lua_rawgeti(l, 2, i); // s ids id (kept on the stack while ids points into it)
        if (lua_type(l, -1) == LUA_TSTRING) ids[k++] = lua_tostring(l, -1);
    }
    session_skip_repeats(s, ids, k);
    return 0;
}

// pl.broadcast(event[, "here"]): one event to everyone logged in on the
// board, encoded once; with "here" only to this process's own users (what a
// process that stops tells its users, while the board goes on elsewhere).
static int l_broadcast(lua_State *l) {
    static const char *const SCOPES[] = {"board", "here", NULL};
    bool here = luaL_checkoption(l, 2, "board", SCOPES) == 1; // (before the event is made: it raises)
    cJSON *ev = convert_check_event(l, 1);
    Msg *m = event_encode(ev);
    uint32_t n = 0;
    if (m) {
        n = here ? route_all_here(m) : route_all(m);
        msg_unref(m);
    }
    lua_pushinteger(l, n);
    return 1;
}

static int l_join(lua_State *l) {
    Session *s = api_check_session(l, 1);
    const char *name = luaL_checkstring(l, 2);
    Room *r = s ? room_join(s, name) : NULL;
    if (!r) {
        lua_pushnil(l);
        lua_pushstring(l, s ? "bad_room" : "ended");
        return 2;
    }
    lua_pushstring(l, r->name);
    return 1;
}

static int l_leave(lua_State *l) {
    Session *s = api_check_session(l, 1);
    if (s) room_leave(s);
    return 0;
}

static int l_room_name(lua_State *l) {
    char out[ROOM_NAME_MAX + 1];
    if (room_name_normalize(luaL_checkstring(l, 1), out)) lua_pushstring(l, out);
    else lua_pushnil(l);
    return 1;
}

static int l_members(lua_State *l) {
    Room *r = room_find(luaL_checkstring(l, 1));
    lua_createtable(l, r ? (int)r->count : 0, 0);
    if (r)
        for (uint32_t i = 0; i < r->count; i++) {
            api_push_session(l, r->members[i]);
            lua_rawseti(l, -2, i + 1);
        }
    return 1;
}

static int l_rooms(lua_State *l) {
    lua_createtable(l, (int)room_total(), 0);
    int i = 1;
    for (Room *r = room_first(); r; r = r->next) {
        lua_createtable(l, 0, 2); // list room
        lua_pushstring(l, r->name);
        lua_setfield(l, -2, "name");
        lua_pushinteger(l, r->count);
        lua_setfield(l, -2, "count");
        lua_rawseti(l, -2, i++); // list
    }
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"skip_repeats", l_skip_repeats},
    {"publish", l_publish},
    {"broadcast", l_broadcast},
    {"join", l_join},
    {"leave", l_leave},
    {"room_name", l_room_name},
    {"members", l_members},
    {"rooms", l_rooms},
    {NULL, NULL},
};

void api_room_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
