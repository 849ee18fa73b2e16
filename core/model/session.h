// Sessions and nodes (PROTOCOL.md section 2).
//
// A session holds a ring of its last events (seqs first_seq ..
// first_seq+count-1). Every attached connection has a cursor into it, so one
// ring is at once each connection's output queue and the replay buffer for
// `resume`.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "model/msg.h"

struct Conn;
struct Room;

#define HANDLE_MAX 20

struct Session {
    uint32_t sid;        // unique for the process lifetime (node numbers are reused)
    uint32_t node;
    char id[23];         // the opaque session id clients resume with
    char handle[HANDLE_MAX + 1]; // empty until logged in
    int64_t account_id;
    bool sysop;
    bool ending;         // on its way out: no input, no resume, not listed
    bool auth_busy;      // a password check is running on a hashing thread
    uint8_t login_failures;
    Room *room;
    uint32_t room_slot;
    Msg **ring;
    uint32_t ring_cap;   // power of two, grows up to queue_max
    uint32_t count;
    uint64_t first_seq;
    Conn *conns;
    uint32_t nconns;
    uv_timer_t *grace;   // only while detached
    uint64_t last_input_ms;
    uint64_t created_ms;
    bool idle_warned;
    char addr[48];       // of the connection that made it (who may resume: requests.cpp)
    uint32_t input_conn; // the connection the line being handled came from (0: none)
    int script_ref;
    Buf typeahead;       // lines typed while a password check runs, replayed after it
    char (*ignores)[HANDLE_MAX + 1]; // handles whose room lines and typing this user does not get
    uint16_t nignore;
};

extern uint32_t g_session_count;

Session *session_new(void);
// Appends m (taking a reference of its own) and wakes the connections.
void session_push(Session *s, Msg *m);
// Encodes ev and pushes it; target = a connection id, or 0 for all.
void session_send(Session *s, cJSON *ev, uint32_t target);
// Sends `auth`; target = one connection id, or 0 for all.
void session_send_auth(Session *s, uint32_t target);
Msg *session_event_at(Session *s, uint64_t seq);
static inline uint64_t session_next_seq(const Session *s) { return s->first_seq + s->count; }
// Attaches c; it will be sent every held event from from_seq on.
void session_attach(Session *s, Conn *c, uint64_t from_seq);
// Detaches c; the last one starts the grace period.
void session_detach(Session *s, Conn *c);
// Marks the user logged in, sends `auth` and runs the scripts' auth hook.
// The session gets a new id, and only login_conn (the connection that logged
// in; 0 = not known) stays attached: see session.cpp.
void session_logged_in(Session *s, int64_t account_id, const char *handle, bool sysop, uint32_t login_conn);
// Ends the session on the next loop turn (after the current event is done).
void session_end_soon(Session *s);
// Ends it now: scripts' end hook, room leave, connections close.
void session_end(Session *s);
// A line of input from connection conn (any transport); cleaned here before
// scripts see it.
void session_input(Session *s, uint32_t conn, const char *line, size_t len);
// Runs the lines typed ahead while auth_busy was set.
void session_replay_typeahead(Session *s);

// The ignore list (case-insensitive handles; at most 256).
bool session_ignores(const Session *s, const char *handle);
bool session_ignore(Session *s, const char *handle, bool on);
// Whether an event from sender should reach s (false when s ignores them).
static inline bool session_hears(const Session *s, const Session *sender) {
    return !s->nignore || !sender || !session_ignores(s, sender->handle);
}

Session *session_by_node(uint32_t node);
Session *session_by_id(const char *id);
// The live session with this sid, or NULL: for work that finishes later.
Session *session_by_sid(uint32_t node, uint32_t sid);
uint32_t session_max_node(void);

void sessions_init(uv_loop_t *loop);
// Shutdown, in this order: close every connection after its queue is
// written, close our timers, and once the loop has drained, free everything.
void sessions_close_all(void);
void sessions_stop_timers(void);
void sessions_free_all(void);
