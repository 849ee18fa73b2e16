// Counters for /metrics.
#pragma once
#include <stdint.h>

struct Stats {
    uint64_t messages_in;   // client messages: WebSocket frames and telnet lines
    uint64_t messages_out;  // events written to connections
    uint64_t script_reloads;
    uint64_t script_errors; // failed reloads and errors raised by hooks
    uint64_t script_db_waits; // pl.db calls that waited in a task (script/task.cpp: PostgreSQL)
    uint64_t slow_disconnects;
    uint64_t slow_skipped;  // events a slow reader missed under slow_policy=skip
    uint64_t slow_typing_dropped;  // soft tier: typing events a slow reader skipped
    uint64_t slow_chatter_dropped; // soft tier: room chatter a slow reader skipped
    uint64_t rate_limited;  // messages dropped by the rate limit
    uint64_t flood_disconnects;
    uint64_t addr_refused;  // connections refused: too many from one address
    uint64_t accept_pauses; // accepting paused at the open-file limit (net/net.cpp)
    uint64_t login_failures;
    uint64_t login_timeouts;
    uint64_t idle_timeouts;
    // keepalive (net/keepalive.cpp): probes of silent connections, and the
    // connections dropped for not answering, per transport
    uint64_t keepalive_probes_web, keepalive_probes_telnet, keepalive_probes_telnet_ws, keepalive_probes_ssh;
    uint64_t keepalive_drops_web, keepalive_drops_telnet, keepalive_drops_telnet_ws, keepalive_drops_ssh;
};

extern Stats g_stats;
