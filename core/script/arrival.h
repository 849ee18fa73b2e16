// The connect hook waits for the caller's terminal to say what it is
// (script/arrival.cpp).
#pragma once
#include <uv.h>

struct Session;

void arrival_init(uv_loop_t *loop);
void arrival_stop(void);
// Whether s's connect hook is held until its terminal tells (or a short
// wait ends): false when it has told already, and the hook runs now.
bool arrival_wait(Session *s);
// s has sent a line: its connect hook, if held, runs now, before the line.
void arrival_now(Session *s);
