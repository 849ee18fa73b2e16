// Keepalive for every transport: a client that vanishes without closing
// its socket (a phone off the network, a laptop asleep, a router that drops
// the connection) is found and dropped within a bound the sysop sets,
// `ping_s`. A connection the client has sent nothing on for ping_s is
// probed in its transport's way (conn_probe: a WebSocket ping, a telnet
// NOP); one that has not answered ping_s later is dropped, and goes the way
// of any dropped connection (a web session waits out its grace period, a
// telnet one ends). So a vanished client is gone at most 2 x ping_s after
// the last sign of life; a healthy one, however idle, answers every probe.
//
// Two lists of connections, each in the order of its times, make every step
// O(1): a sign of life moves a connection to the end of the quiet list, a
// probe moves it from the head of that list to the end of the probed one,
// and a tick takes what is due from the heads. (lws 4.1's own ping policy,
// the vhost's retry_and_idle_policy, keeps its timers in one sorted list
// and inserts in O(n): at 10,000 idle WebSockets and ping_s = 10 it took
// 70% of a core, all of it in lws_dll2_add_sorted.)
//
// A transport over TCP without pings of its own (telnet; SSH would be
// another) also gets the kernel's keepalive and a user timeout for the same
// bound (keepalive_socket): a backstop that needs nothing from the loop.
#pragma once
#include <stdint.h>
#include <uv.h>

struct Conn;

// Where a connection stands (embedded in Conn as `ka`).
struct KeepLink {
    Conn *prev, *next;
    uint64_t ms;       // quiet: the last sign of life; probed: when the probe went
    uint8_t list;      // KA_NONE, KA_QUIET or KA_PROBED (net/keepalive.cpp)
    bool ping_out;     // WebSocket: our ping waits for its pong
    bool ping_due;     // WebSocket: a ping to write before anything else
};

// Starts the tick (nothing when ping_s is 0); keepalive_stop at shutdown.
void keepalive_init(uv_loop_t *loop);
void keepalive_stop(void);
// A connection opened: quiet from now on.
void keepalive_add(Conn *c);
// A sign of life from the client: anything it sent (what we send it proves
// nothing: a vanished client is sent chat all the same).
void keepalive_heard(Conn *c);
// The connection is closing on our side, or closed: no more probes.
void keepalive_remove(Conn *c);
// A WebSocket pong: true when it answers our ping (it costs the client
// nothing); false for one nobody asked for (pace_pong charges it).
bool keepalive_pong(Conn *c);
// The kernel's keepalive and user timeout on a TCP socket, from ping_s.
void keepalive_socket(int fd);
// Whether the client's TCP has acknowledged everything we sent, or anything
// in the last ping_s: the answer to a probe that has no reply of its own
// (telnet's NOP). False when the socket cannot tell.
bool keepalive_tcp_answered(int fd);
