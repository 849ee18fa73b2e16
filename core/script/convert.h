// Lua values to JSON (cJSON) for the events scripts send. The caller owns
// the cJSON tree it gets.
#pragma once
#include <cjson/cJSON.h>

struct lua_State;

// The value at idx as JSON. A table with a positive length is an array
// (elements 1..#t), one marked by pl.array is an array even when empty, any
// other table is an object of its string keys. Functions, userdata and
// tables nested deeper than 16 become null.
cJSON *convert_to_json(lua_State *l, int idx);
// The event table at idx as JSON; raises unless it has a string `type`.
cJSON *convert_check_event(lua_State *l, int idx);
// Pushes the JSON value as Lua: objects as tables, arrays as tables marked
// as pl.array marks them, null as nil. Raises when nested too deep.
void convert_push_json(lua_State *l, const cJSON *j);
// The same, taking j: it is freed whatever happens.
void convert_push_owned(lua_State *l, cJSON *j);
