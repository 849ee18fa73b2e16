// Sessions and nodes (PROTOCOL.md section 2).
//
// A session holds a ring of its last events, seqs first_seq up to
// first_seq + ring_len - 1. Every attached port has a cursor into it, so one
// ring is at once each connection's output queue and the replay buffer for
// `resume`. The session owns one reference to every Msg in its ring.
//
// Ids, one word each: `node` is the number users see (reused once a session
// ends); `serial` is unique for the process's life (with the node it makes a
// SessionRef); `resume_id` is the opaque secret a client resumes with (the
// protocol's `session`); a port has an `id`; an account has an `account_id`.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "model/msg.h"
#include "model/port.h"

struct Room;

#define HANDLE_MAX 20
#define RESUME_ID_LEN 22

struct Session {
    uint32_t serial;     // unique for the process's life (node numbers are reused); a
                         // remote session keeps the serial its own process gave it
    uint16_t proc;       // 0: lives here. Else the process it lives on (cluster/): a replica
                         // for /who and addressing, with no ports and no ring; what is
                         // pushed to it goes to that process (g_up.remote_push)
    uint32_t node;
    char resume_id[RESUME_ID_LEN + 1];
    char handle[HANDLE_MAX + 1]; // empty until logged in
    int64_t account_id;
    bool sysop;
    uint8_t level;       // the account's access level (0 without an account); the scripts check it
    bool bot;            // a board-side user made by the scripts (script/bots.cpp): no account, no timeouts
    bool ending;         // on its way out: no input, no resume, not listed
    bool auth_busy;      // a password check is running on a hashing thread
    uint8_t login_failures;
    Room *room;
    uint32_t room_slot;
    Msg **ring;
    uint32_t ring_cap;   // a power of two, grown up to queue_max
    uint32_t ring_len;   // events held
    uint64_t first_seq;
    Port *ports;
    uint32_t nports;
    uv_timer_t *grace;   // board/lifecycle: only while detached
    uint64_t last_input_ms;
    uint64_t created_ms;
    bool idle_warned;
    PortKind remote_kind; // a remote session's transport (a local one's is its ports')
    bool shown_due;      // cluster: what /who shows of it waits to be told to the other processes
    uint64_t shown_input_ms; // cluster: last_input_ms as last told (idle is told coarsely)
    char activity[32];   // what the user is doing, as the scripts word it ("In Chat")
    char service[24];    // the scripts' service the user is in ("chat")
    bool moved;          // it took over a session of another process (its client came
    char moved_service[24]; // back here): where the user was there, for the scripts
    char moved_room[25];
    char addr[48];       // of the connection that made it (who may resume: net/requests.cpp)
    uint32_t input_port; // the port the line being handled came from (0: none)
    int script_ref;      // the scripts' table for this session (script/), or -1
    struct HookWait *hook_wait; // script/hooks.cpp: its hook waiting for storage, and those queued behind
    Buf typeahead;       // lines typed while a password check runs, replayed after it
    char (*ignores)[HANDLE_MAX + 1]; // handles whose room lines and typing this user does not get
    uint16_t nignore;
    uint16_t nrepeat;    // room lines just shown from history (session_skip_repeats)
    char (*repeats)[32];
    uint64_t repeats_until_ms;
    // model/roster: what the pages were last told of it
    bool roster_due;     // changed in this window
    bool roster_told;    // some page has it on its list (its end is news)
    uint32_t roster_hash; // of what they were told
    uint64_t roster_input_ms; // last_input_ms as told
};

// A weak reference to a session, for work that finishes later (a password
// check, a deferred end, a spy link): it finds the session only while that
// same session is alive, never a later one on the same node.
struct SessionRef {
    uint32_t node, serial;
};

extern uint32_t g_session_count;

// A new session on the lowest free node, or NULL when out of memory.
Session *session_new(void);
// A new session on this node (one the cluster claimed for it, or a remote
// session's), or NULL when the node is taken or out of memory.
Session *session_new_at(uint32_t node);
// A remote session's replica on its node, with the serial its process gave
// it; NULL when the node is taken here.
Session *session_new_remote(uint32_t node, uint16_t proc, uint32_t serial);
// The lowest node free here (and, on a board of many processes, not known to
// be taken elsewhere).
uint32_t session_free_node(void);
// Sessions that live in other processes, among all those in the node table.
extern uint32_t g_remote_count;
static inline SessionRef session_ref(const Session *s) { return SessionRef{s->node, s->serial}; }
// The live (not ending) session r refers to, or NULL.
Session *session_deref(SessionRef r);
Session *session_by_node(uint32_t node);
Session *session_by_resume_id(const char *id);
uint32_t session_max_node(void);

// Appends m (taking a reference of its own) and wakes the ports that want it;
// for a remote session, hands it to the process it lives on.
void session_push(Session *s, Msg *m);
// Encodes ev (taking it) and pushes it; port = one port's id, or 0 for all.
void session_send(Session *s, cJSON *ev, uint32_t port);
// The event at seq, or NULL when it is no longer (or not yet) held.
Msg *session_event_at(Session *s, uint64_t seq);
static inline uint64_t session_next_seq(const Session *s) { return s->first_seq + s->ring_len; }

// Attaches p; it will be sent every held event from from_seq on.
void session_attach(Session *s, Port *p, uint64_t from_seq);
// Detaches p (and releases its own copy of an event); the last one out
// starts the grace period or, when its client cannot come back, the end
// (g_up.detached), or frees an ending session.
void session_detach(Session *s, Port *p);
// Ends s now: the scripts' session_end hook, then it leaves its room and
// node, g_up.ended, and its ports close after their queues are written.
// Safe to call twice.
void session_end(Session *s);
// Ends a remote session's replica without the scripts' hook: its own process
// ended it (and said what there was to say), or moved it.
void session_end_quiet(Session *s);
// What /who shows of a local session changed (its room, login, activity):
// the cluster tells the other processes.
void session_shown(Session *s);
// A line of input from port (any transport); cut to max_line and cleaned of
// controls here before the scripts see it. While a password check runs the
// line waits (typeahead) and is replayed afterwards.
void session_input(Session *s, uint32_t port, const char *line, size_t len);
// Runs the lines typed ahead while auth_busy was set.
void session_replay_typeahead(Session *s);
// Keeps only the typeahead of one port (a login: board/auth.cpp).
void session_keep_typeahead_of(Session *s, uint32_t port);

// The ids of room lines s was just shown from a room's history: the same
// lines arriving live a moment later (from another process, which wrote the
// history before its publish reached us) are not shown twice. Kept for a
// few seconds; replaces what was there.
void session_skip_repeats(Session *s, const char *const *ids, uint32_t n);

// The ignore list (case-insensitive handles; at most 256).
bool session_ignores(const Session *s, const char *handle);
bool session_ignore(Session *s, const char *handle, bool on);
// Whether an event from sender should reach s (false when s ignores them).
static inline bool session_hears(const Session *s, const Session *sender) {
    return !s->nignore || !sender || !session_ignores(s, sender->handle);
}

// Shutdown: every port closes after its queue is written; once the loop has
// drained, every session is freed (the scripts' tables went with the state).
void sessions_close_all(void);
void sessions_free_all(void);
