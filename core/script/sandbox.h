// The sandbox every script runs in: the one Lua state, whose memory is
// capped (script_memory_mb), whose calls are stopped when they outlive
// their time budget (script_budget_ms), and the standard library scripts
// may use. Owns the state; host.cpp opens and closes it.
#pragma once
#include <stddef.h>

#include <lua.hpp>

// A new state with the cap, the budget hook and the safe library, or NULL.
lua_State *sandbox_open(void);
void sandbox_close(lua_State *L);
// Bytes the Lua state holds now, for /metrics.
size_t sandbox_memory_bytes(void);

// Pushes the library scripts see (built once; files' environments read
// through to it).
void sandbox_push_library(lua_State *l);

// Calls the function under its nargs arguments on top of the stack in
// protected mode, with a traceback added to errors. The outermost of nested
// calls sets the deadline; own_budget gives this call a fresh one of its own
// (an event's listeners: one slow listener does not eat the next one's
// time), and the caller's deadline moves on by the time it took. Leaves nresults
// results, or the error message, where the function was. Whatever one
// outermost call sets off, own budgets included, ends within ten budgets.
int sandbox_pcall(lua_State *l, int nargs, int nresults, bool own_budget);
// The same from a C function that can be resumed: when the call yields
// (pl.db waiting in a task, script/task.cpp) k runs when it ends, and ends
// with sandbox_pcallk_end(l, fn, status), fn being the index the called
// function was at (the message handler is there), to have LUA_OK or the
// error's status with the results or message above fn - 1.
int sandbox_pcallk(lua_State *l, int nargs, int nresults, bool own_budget, lua_KContext ctx, lua_KFunction k);
int sandbox_pcallk_end(lua_State *l, int fn, int status);
// Whether a script call runs now (a task is only started outside one).
bool sandbox_running(void);
// Starts or resumes a task's thread (script/task.cpp) as an outermost call,
// with a budget of its own; an error's message gets its traceback. As
// lua_resume.
int sandbox_resume(lua_State *co, int nargs, int *nres);
// Raises the budget error in l when the running call has outlived its
// deadline (for C functions that call scripts in a loop).
void sandbox_check_budget(lua_State *l);
// When the running call's budget ends (ms since the epoch; 0: no call runs).
// pl.db stops a statement there.
unsigned long long sandbox_deadline_ms(void);
// Gives the running call ms more (its deadline and the ceiling): time spent
// waiting for the store while the server starts, when nobody is served yet.
void sandbox_credit(unsigned long long ms);
// A message handler that adds a stack traceback (also pl.traceback).
int sandbox_traceback(lua_State *l);
// Charges work a C function is about to do for a script (bytes to go
// through); every so often the budget is checked as sandbox_check_budget does.
void sandbox_charge(lua_State *l, size_t units);
