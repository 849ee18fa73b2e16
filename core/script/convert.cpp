// Lua to JSON: how the tables scripts send become the JSON events clients
// get. Owns nothing: every cJSON tree returned belongs to the caller.
#include "script/convert.h"

#include <lua.hpp>

#include "script/api.h"
#include "script/sandbox.h"

#define MAX_DEPTH 16
// Values one conversion turns into JSON at most: it runs in C, where the
// time budget cannot stop it, and a tree half built cannot be left to an
// error. Past it the conversion stops and the call raises.
#define MAX_NODES 200000
static long g_nodes_left;

static cJSON *to_json(lua_State *l, int idx, int depth) {
    idx = lua_absindex(l, idx);
    if (--g_nodes_left < 0) return cJSON_CreateNull();
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
            lua_pushliteral(l, "__jsonarray");
            lua_rawget(l, -2);                     // ... mt marker
            array = lua_toboolean(l, -1);
            lua_pop(l, 2);
        }
        if (array) {
            cJSON *a = cJSON_CreateArray();
            lua_Integer n = (lua_Integer)lua_rawlen(l, idx);
            for (lua_Integer i = 1; i <= n && g_nodes_left >= 0; i++) {
                lua_rawgeti(l, idx, i);
                cJSON_AddItemToArray(a, to_json(l, -1, depth + 1));
                lua_pop(l, 1);
            }
            return a;
        }
        cJSON *o = cJSON_CreateObject();
        int top = lua_gettop(l);
        lua_pushnil(l);
        while (g_nodes_left >= 0 && lua_next(l, idx)) { // ... key value
            // lua_tostring on a number key would change the key under lua_next
            if (lua_type(l, -2) == LUA_TSTRING) cJSON_AddItemToObject(o, lua_tostring(l, -2), to_json(l, -1, depth + 1));
            lua_pop(l, 1); // ... key
        }
        lua_settop(l, top); // the walk may have stopped with a key on the stack
        return o;
    }
    default: return cJSON_CreateNull();
    }
}

// The whole conversion, or an error when it held too many values.
static cJSON *convert(lua_State *l, int idx) {
    g_nodes_left = MAX_NODES;
    luaL_checkstack(l, MAX_DEPTH * 3, "nested too deep");
    cJSON *j = to_json(l, idx, 0);
    if (g_nodes_left < 0) {
        cJSON_Delete(j);
        luaL_error(l, "too big for JSON: more than %d values", MAX_NODES);
    }
    return j;
}

cJSON *convert_to_json(lua_State *l, int idx) { return convert(l, idx); }

cJSON *convert_check_event(lua_State *l, int idx) {
    luaL_checktype(l, idx, LUA_TTABLE);
    lua_getfield(l, idx, "type");
    if (lua_type(l, -1) != LUA_TSTRING) luaL_error(l, "an event needs a string field 'type'");
    lua_pop(l, 1);
    return convert(l, idx);
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

// Pushes the array marker pl.array sets, on the table on top of the stack.
static void mark_array(lua_State *l) {
    lua_createtable(l, 0, 1);
    lua_pushboolean(l, 1);
    lua_setfield(l, -2, "__jsonarray");
    lua_setmetatable(l, -2);
}

static void from_json(lua_State *l, const cJSON *j, int depth) {
    if (depth > MAX_DEPTH * 4) luaL_error(l, "JSON nested too deep");
    luaL_checkstack(l, 4, "JSON nested too deep");
    if (cJSON_IsBool(j)) lua_pushboolean(l, cJSON_IsTrue(j));
    else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        // whole numbers come back as integers, as they went out
        if (d == (double)(lua_Integer)d && d > -9007199254740992.0 && d < 9007199254740992.0) lua_pushinteger(l, (lua_Integer)d);
        else lua_pushnumber(l, d);
    } else if (cJSON_IsString(j)) lua_pushstring(l, j->valuestring);
    else if (cJSON_IsArray(j)) {
        lua_createtable(l, cJSON_GetArraySize(j), 0);
        int i = 0;
        for (const cJSON *e = j->child; e; e = e->next) {
            from_json(l, e, depth + 1);
            lua_rawseti(l, -2, ++i);
        }
        mark_array(l); // an empty one stays an array when it goes out again
    } else if (cJSON_IsObject(j)) {
        lua_createtable(l, 0, cJSON_GetArraySize(j));
        for (const cJSON *e = j->child; e; e = e->next) {
            from_json(l, e, depth + 1);
            lua_setfield(l, -2, e->string);
        }
    } else lua_pushnil(l); // null
}

void convert_push_json(lua_State *l, const cJSON *j) { from_json(l, j, 0); }

static int free_box(lua_State *l);

void convert_push_owned(lua_State *l, cJSON *j) {
    // a userdata holds the tree while it is turned into tables: an error
    // (memory, depth) frees it with the userdata
    cJSON **box = (cJSON **)lua_newuserdatauv(l, sizeof *box, 0);
    *box = j;
    lua_createtable(l, 0, 1);
    lua_pushcfunction(l, free_box);
    lua_setfield(l, -2, "__gc");
    lua_setmetatable(l, -2); // ... box
    from_json(l, j, 0);      // ... box value
    cJSON_Delete(j);
    *box = NULL;
    lua_remove(l, -2); // ... value
}

// pl.json.encode(value): the value as JSON text (as events are encoded).
static int l_encode(lua_State *l) {
    luaL_checkany(l, 1);
    sandbox_charge(l, lua_type(l, 1) == LUA_TSTRING ? lua_rawlen(l, 1) : 0);
    cJSON *j = convert(l, 1);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return luaL_error(l, "out of memory");
    lua_pushstring(l, text);
    cJSON_free(text);
    return 1;
}

static int free_box(lua_State *l) {
    cJSON **b = (cJSON **)lua_touserdata(l, 1);
    cJSON_Delete(*b);
    *b = NULL;
    return 0;
}

// pl.json.decode(text): the value, or nil and why (not JSON).
static int l_decode(lua_State *l) {
    size_t n;
    const char *text = luaL_checklstring(l, 1, &n);
    sandbox_charge(l, n * 4);
    cJSON *j = cJSON_ParseWithLength(text, n);
    if (!j) {
        lua_pushnil(l);
        lua_pushliteral(l, "not JSON");
        return 2;
    }
    convert_push_owned(l, j);
    return 1;
}

void api_convert_register(lua_State *l) {
    lua_pushcfunction(l, l_array);
    lua_setfield(l, -2, "array");
    lua_createtable(l, 0, 2); // gen core json
    lua_pushcfunction(l, l_encode);
    lua_setfield(l, -2, "encode");
    lua_pushcfunction(l, l_decode);
    lua_setfield(l, -2, "decode");
    host_protect(l, "pl.json");
    lua_setfield(l, -2, "json");
}
