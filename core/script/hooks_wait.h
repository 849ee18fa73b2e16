// Hooks as tasks (script/task.h), on a store that answers later
// (PostgreSQL): a hook's pl.db calls wait without holding the loop, and a
// session's hooks still run one at a time, in order.
#pragma once
#include <stddef.h>

struct Session;

// Runs hook name for s (NULL: a board hook) with arg as a task, or queues
// it behind s's hook that waits.
void hooks_wait_run(const char *name, struct Session *s, const char *arg, size_t arglen);
// Hooks after whose failure the session is over anyway: nothing to recover
// (script/hooks.cpp).
bool hooks_ends_session(const char *name);
