// string.find, string.match, string.gmatch and string.gsub as Lua 5.4
// defines them, with the time budget held while they match: a pattern that
// backtracks without end over a user's line is stopped at the call's
// deadline like a loop in a script (sandbox.h). Lua's own matcher runs in C
// for as long as it takes, where the budget's count hook never runs.
#pragma once

struct lua_State;

// Sets the four functions in the table on top of the stack (the string
// library, before the sandbox copies it).
void strmatch_install(lua_State *l);
