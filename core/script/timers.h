// Script timers: pl.after, pl.every, pl.cancel, and the generations they
// belong to.
#pragma once
#include <uv.h>

void timers_init(uv_loop_t *loop);
// A load of the scripts begins: timers started from now on are the new
// generation's.
void timers_begin_generation(void);
// The load is over: when it switched, the previous generations' timers stop;
// when it failed, the timers it started stop and the running ones go on.
void timers_end_generation(bool switched);
// Stops every timer (shutdown).
void timers_stop_all(void);
