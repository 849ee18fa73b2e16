// The bus: one Redis pub/sub channel that every process of the board
// publishes to and reads. A message is one line of header, then its body:
//
//   R <proc> <bseq> <flags> <room> <sender>\n<event body>   a room's event
//   A <proc> <bseq> <flags>\n<event body>                  one for everyone
//   S <proc> <bseq> <flags> <node> <serial>\n<event body>  one for a session
//   C <proc> <bseq>\n<json>                               control (presence, ...)
//   H <proc> <bseq>\n<json>                               a heartbeat
//
// The event body is the Msg's JSON as it was encoded once where it was
// published (model/msg.h): a receiver wraps it in a Msg of its own and
// delivers it like any event, never encoding it again. bseq counts each
// publisher's messages, so a receiver notices what it missed (a subscriber
// Redis dropped, messages lost while it reconnected) instead of losing it
// silently. Heartbeats make the live processes known to each other; one
// silent past cluster_dead_ms is gone.
#pragma once
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct Buf;
struct Msg;

#define BUS_PROCS 256 // processes known at once (a dead one's place is reused)
#define BUS_PROC_ID 16

struct BusProc {
    char id[BUS_PROC_ID + 1]; // "" for a free place
    uint64_t heard_ms;        // the last message from it
    uint64_t bseq;            // its last message's number
    bool alive;
};

// What the cluster does with each message (cluster.cpp). proc is the
// publisher's place in the process table (1 ..); bodies are not NUL-ended.
struct BusHandlers {
    void (*room)(uint16_t proc, uint32_t flags, const char *room, const char *sender, const char *body, size_t len);
    void (*all)(uint16_t proc, uint32_t flags, const char *body, size_t len);
    void (*session)(uint16_t proc, uint32_t flags, uint32_t node, uint32_t serial, const char *body, size_t len);
    void (*control)(uint16_t proc, cJSON *msg); // msg is the handler's to read, not to keep
    void (*proc_up)(uint16_t proc);             // heard for the first time (or again after being gone)
    void (*proc_gone)(uint16_t proc);           // silent past cluster_dead_ms
    void (*gap)(uint16_t proc, uint64_t missed); // messages from proc that never arrived
    void (*state)(bool up);                     // the bus is usable (Redis up, subscribed) or not
};

// Starts the Redis link (g_cfg.redis) and the heartbeat; -1 with a reason
// in err for a configuration that cannot work.
int bus_start(uv_loop_t *loop, const BusHandlers *h, char *err, size_t errlen);
void bus_stop(void);
bool bus_up(void);
// This process's id, and the table of the others.
const char *bus_self(void);
BusProc *bus_proc(uint16_t proc);
uint32_t bus_alive_count(void); // other processes heard from lately

// Publishing: false when the bus is down (the caller has delivered locally
// and carries on; the other processes are out of reach).
bool bus_room(uint32_t flags, const char *room, const char *sender, const Msg *m);
bool bus_all(uint32_t flags, const Msg *m);
bool bus_session(uint32_t flags, uint32_t node, uint32_t serial, const Msg *m);
bool bus_control(const cJSON *msg);

// A Redis key of this board's: the configured prefix, then name.
void bus_key(char *out, size_t outlen, const char *name);

void bus_metrics(Buf *b);
