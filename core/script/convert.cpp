// Lua to JSON: how the tables scripts send become the JSON events clients
// get. Owns nothing: every cJSON tree returned belongs to the caller.
#include "script/convert.h"

#include <lua.hpp>

#include "script/api.h"

#define MAX_DEPTH 16

static cJSON *to_json(lua_State *l, int idx, int depth) {
    idx = lua_absindex(l, idx);
    switch (lua_type(l, idx)) {
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(l, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(l, idx)) return cJSON_CreateNumber((double)lua_tointeger(l, idx));
        return cJSON_CreateNumber(lua_tonumber(l, idx));
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(l, idx));
    case LUA_TTABLE: {
        if (depth > MAX_DEPTH) return cJSON_CreateNull();
        bool array = lua_rawlen(l, idx) > 0;
        if (!array && lua_getmetatable(l, idx)) { // ... mt
            lua_getfield(l, -1, "__jsonarray");    // ... mt marker
            array = lua_toboolean(l, -1);
            lua_pop(l, 2);
        }
        if (array) {
            cJSON *a = cJSON_CreateArray();
            lua_Integer n = (lua_Integer)lua_rawlen(l, idx);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(l, idx, i);
                cJSON_AddItemToArray(a, to_json(l, -1, depth + 1));
                lua_pop(l, 1);
            }
            return a;
        }
        cJSON *o = cJSON_CreateObject();
        lua_pushnil(l);
        while (lua_next(l, idx)) { // ... key value
            // lua_tostring on a number key would change the key under lua_next
            if (lua_type(l, -2) == LUA_TSTRING) cJSON_AddItemToObject(o, lua_tostring(l, -2), to_json(l, -1, depth + 1));
            lua_pop(l, 1); // ... key
        }
        return o;
    }
    default: return cJSON_CreateNull();
    }
}

cJSON *convert_to_json(lua_State *l, int idx) { return to_json(l, idx, 0); }

cJSON *convert_check_event(lua_State *l, int idx) {
    luaL_checktype(l, idx, LUA_TTABLE);
    lua_getfield(l, idx, "type");
    if (lua_type(l, -1) != LUA_TSTRING) luaL_error(l, "an event needs a string field 'type'");
    lua_pop(l, 1);
    return to_json(l, idx, 0);
}

// pl.array(t): marks t so that it is sent as a JSON array even when empty
// (an empty table is otherwise an object). Returns t, or a new table.
static int l_array(lua_State *l) {
    if (lua_isnoneornil(l, 1)) {
        lua_settop(l, 0);
        lua_newtable(l);
    }
    luaL_checktype(l, 1, LUA_TTABLE);
    lua_settop(l, 1);
    lua_newtable(l); // t mt
    lua_pushboolean(l, 1);
    lua_setfield(l, -2, "__jsonarray");
    lua_setmetatable(l, 1); // t
    return 1;
}

void api_convert_register(lua_State *l) {
    lua_pushcfunction(l, l_array);
    lua_setfield(l, -2, "array");
}
