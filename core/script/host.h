// The script layer as the rest of the core sees it: start, reload and stop
// the Lua scripts, give each session its table, and call the scripts' hooks
// (pl.hooks.*) when something happens. Everything a user sees is decided by
// the scripts (lua/README.md); the core only says what happened.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct Buf;
struct Session;

// Loads the scripts (and watches them for changes, and SIGHUP).
int script_init(uv_loop_t *loop, char *err, size_t errlen);
// Loads every script afresh; on any failure the running scripts stay.
int script_reload(const char *why);
// Stops the file watcher, SIGHUP handler and script timers (before the loop drains).
void script_stop_watching(void);
void script_close(void);

// The registry reference of a new session's table (Session.script_ref), or
// -1 before script_init; script_session_free lets it go.
int script_session_new(Session *s);
void script_session_free(Session *s);
// A session is going while one of its hooks may wait for storage
// (script/hooks.cpp): that hook, and what is queued behind it, go on with
// its table.
void script_session_gone(Session *s);

// Calls hooks[name](session[, arg]) in the running scripts. A missing hook
// is not an error; a failing one is logged and its user told. A telnet
// session's connect hook waits for its terminal to tell what it is
// (script/arrival.cpp); script_hook_now never waits.
void script_hook(const char *name, Session *s, const char *arg);
void script_hook_now(const char *name, Session *s, const char *arg);
// A line of input: hooks.input(session, line).
void script_input(Session *s, const char *line, size_t len);
// A hook with no session (shutdown).
void script_hook_global(const char *name);
// Text from hooks[name](n), for notices the core raises (a count of missed
// lines); out stays empty when there is no such hook or it fails.
void script_render_count(const char *name, uint32_t n, char *out, size_t outlen);
// Text from hooks[name](arg), with no session (what a banned address is
// told); out stays empty when there is no such hook, it fails or returns no string.
void script_hook_text(const char *name, const char *arg, char *out, size_t outlen);
// Emits event name to the running scripts' listeners (pl.on), with one text
// argument: what another process of the board asked for (pl.emit_board).
void script_emit(const char *name, const char *arg);
// pl.emit(name, s, args...) in the running scripts, for a local session s:
// what a script on another process asked for (pl.emit_to). args_json is a
// JSON array of strings, numbers and booleans.
void script_emit_to(const char *name, Session *s, const char *args_json);
// The scripts' rules for a new account's handle (hooks.register): 1 yes,
// 0 no (their words in why), -1 they could not decide (model/up.h).
void script_vet_register(Session *s, const char *handle, void (*done)(int verdict, const char *why, void *ud), void *ud);
// Appends the per-file script fault counters and the Lua state's memory
// (Prometheus text) to b.
void script_fault_metrics(Buf *b);
