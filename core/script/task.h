// Tasks: a script call that can wait for the store without holding the
// loop. On PostgreSQL, a hook runs in a thread of its own (a coroutine);
// pl.db there sends its statement over the scripts' pool and yields, and
// the answer resumes the thread. The loop serves everyone else meanwhile.
// On SQLite the store answers at once and no hook waits, so nothing here
// is used. Where a thread cannot yield (a listener of a C caller, a
// script's own coroutine, a call made while another runs) pl.db waits for
// its answer as before, bounded by the call's budget.
#pragma once
#include <lua.hpp>

#include "board/db.h"

struct Task;

// What the store answered a task's pl.db call (the rows the reader's).
struct TaskAnswer {
    DbStatus status;
    char error[400];
    int64_t changes, last_id;
    DbRows *rows;
};

// How a task ended: LUA_OK with the function's results on co's stack (all
// of it), or an error status with its message (and traceback) on top of
// co's stack. co is the task's thread; ud is task_start's.
typedef void (*TaskEnd)(lua_State *co, int status, void *ud);
// Called before (begin) and after each turn the task's thread runs: what
// the core keeps for a call while it runs (the port a line came from) is
// set again for each part of it. May be NULL.
typedef void (*TaskTurn)(void *ud, bool begin);

// Whether a call may run as a task now: the scripts' store answers later
// and no script call runs.
bool task_ready(void);
// Runs the function under its nargs arguments on top of l's stack (moved
// off it) in a task; end is called once when it ends, before this returns
// when nothing waited. *started is set once the task is made (until then a
// memory error may be raised, and end is never called).
void task_start(lua_State *l, int nargs, TaskEnd end, TaskTurn turn, void *ud, bool *started);
// pl.db's part, for l running in a task that can wait: runs c on the
// scripts' later lane and yields until the answer; then k(l, ...) runs
// and reads it with task_answer. When it cannot wait, returns -1 and does
// nothing (the caller runs c at once).
int task_db(lua_State *l, const DbCall *c, lua_KFunction k);
TaskAnswer *task_answer(lua_State *l);

// The same for a C function of the scripts that waits for a callback of
// the core's (an account looked up on PostgreSQL). task_await returns the
// running task when l can wait now (else NULL: the caller does it at
// once), marked as asking; the caller starts its work, whose callback
// calls task_wake; then task_pause returns k's answer at once when the
// callback came already, or yields until it does. ctx goes to k (a
// pointer to what the callback filled in, the caller's to free in k).
Task *task_await(lua_State *l);
int task_pause(lua_State *l, Task *t, lua_KFunction k, lua_KContext ctx);
void task_wake(Task *t);
// Tasks waiting for the store now, for /metrics and the tests' logs.
uint32_t task_waiting(void);
