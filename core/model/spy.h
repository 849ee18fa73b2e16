// Sysops watching another node: every event a watched session is sent is
// copied, read-only, to the watchers as a `spy` event (PROTOCOL.md).
#pragma once
#include <stdint.h>

struct Session;
struct Msg;

#define SPY_MAX 64 // links at once: spying is rare, a fixed table is scanned

extern uint32_t g_spy_count; // links in use: session_push pays nothing when 0

// watcher sees target's events from now on, their text led by prefix (the
// scripts' wording). A watcher watches one node at a time. False when full.
bool spy_start(Session *watcher, Session *target, const char *prefix);
void spy_stop(Session *watcher);
// The node watcher is watching, or 0.
uint32_t spy_target(const Session *watcher);
// The sessions watching target, into out (at most max); returns how many.
uint32_t spy_watchers(const Session *target, Session **out, uint32_t max);
// Drops every link s is part of (it is ending).
void spy_forget(const Session *s);
// Copies m, just pushed to target, to its watchers.
void spy_copy(Session *target, Msg *m);
