// Reloading the scripts when they change: a watcher on the scripts folder
// and its subfolders, with a debounce, and SIGHUP.
#pragma once
#include <uv.h>

// Watches dir (and its subfolders, four levels deep) and calls on_change
// once a burst of changes has settled, with why ("a script file changed",
// "SIGHUP"). Returns 0, or -1 when dir cannot be watched.
int watch_start(uv_loop_t *loop, const char *dir, int (*on_change)(const char *why));
// Catches up with the folders: watches the ones that came, drops the ones
// that went. A folder that is still there keeps its watcher throughout, so
// a change made at any time, during a reload too, is never missed.
void watch_refresh(void);
// Stops watching and closes the handles (before the loop drains).
void watch_stop(void);
