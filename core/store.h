// Storage for scripts: SQL over the same SQLite file as the accounts, on a
// connection of its own that may only touch tables named s_* (an SQLite
// authorizer enforces it), one statement per call, values as parameters.
#pragma once
#include <stddef.h>

struct lua_State;

int store_open(const char *data_dir, char *err, size_t errlen);
void store_close(void);
// Registers pl.db.exec and pl.db.query in the table at the top of the stack.
void store_register(lua_State *L);
// Milliseconds since the epoch after which a running statement is stopped
// (0 = none); the Lua host sets it with each call's budget.
void store_set_deadline(const unsigned long long *deadline_ms);
