// The Lua host: loads the scripts, reloads them live, calls their hooks.
#pragma once
#include <stddef.h>
#include <uv.h>

struct Session;

int lua_host_init(uv_loop_t *loop, char *err, size_t errlen);
// Loads every script afresh; on any failure the running scripts stay.
int lua_host_reload(const char *why);
void lua_host_close(void);
// Stops the file watcher and SIGHUP handler (before the loop drains).
void lua_host_stop_watching(void);

int lua_host_session_new(Session *s);
void lua_host_session_free(Session *s);

// Calls hooks[name](session[, arg]) in the running scripts. A missing hook
// is not an error; a failing one is logged and its user told.
void lua_hook(const char *name, Session *s, const char *arg);
void lua_hook_input(Session *s, const char *line, size_t len);
// A hook with no session (shutdown).
void lua_hook_global(const char *name);
// Text from hooks[name](n), for notices the core raises (a count of missed
// lines); out stays empty when there is no such hook or it fails.
void lua_render_count(const char *name, uint32_t n, char *out, size_t outlen);
// Text from hooks[name](arg), with no session (what a banned address is
// told); out stays empty when there is no such hook, it fails or returns no string.
void lua_hook_text(const char *name, const char *arg, char *out, size_t outlen);
// Appends the per-file script fault counters (Prometheus text) to b.
struct Buf;
void lua_host_fault_metrics(Buf *b);
