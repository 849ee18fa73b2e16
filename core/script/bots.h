// Bots: board-side users scripts make with pl.bot (script/bots.cpp). Their
// connections are ports of the script layer (PORT_BOT): what the model asks
// of a port (model/up.h) comes here for them.
#pragma once
#include <uv.h>

struct Port;

void bots_init(uv_loop_t *loop);
// Frees every bot's port (shutdown: their sessions go with the others).
void bots_stop(void);
// A load of the scripts begins, or ended (switched or not): bots the new
// scripts no longer make end; a failed load ends only what it made.
void bots_begin_generation(void);
void bots_end_generation(bool switched);
// g_up.deliver and g_up.close for a bot's port.
void bots_deliver(Port *p);
void bots_close(Port *p);
