// A connection: one WebSocket or telnet socket attached to a session.
#pragma once
#include <stdint.h>
#include <uv.h>

struct lws;
struct Session;
struct Telnet;
struct Msg;

enum ConnType { CONN_WS = 1, CONN_TELNET = 2 };

struct Conn {
    struct lws *wsi;
    Session *session;
    Conn *next;       // in the session's list
    uint32_t id;
    uint8_t type;
    bool live;        // reached ESTABLISHED/ADOPT: lws also closes ones it rejected
    bool want_write;  // a WRITEABLE callback is already requested
    bool closing;     // close once the queue is written
    bool typing;      // opted in to typing events
    bool hello_due;   // `hello` is written before anything else in the stream
    bool resumed;     // ...and says the stream continues an older session
    bool flushing;    // inside conn_flush: no direct write may cut in
    bool batched;     // telnet: waiting in the end-of-iteration batch (conn.cpp)
    uint16_t close_code; // WebSocket close code once closing (0 = 1000)
    const char *close_reason; // its reason (a static string), or NULL for the code's usual one
    uint64_t cursor;  // next seq of the session to write
    float rate_tokens; // input rate limit (limits.cpp)
    uint64_t rate_ms;
    uint32_t rate_strikes;
    bool paced;       // input waits for the rate limit (pace.cpp)
    bool lingering;   // closed on our side: reading and discarding until the client closes
    char *inq;        // the input that waits: records from inq_head to inq_len
    uint32_t inq_len, inq_cap, inq_head;
    uint32_t inq_cost; // bytes charged against flood_bytes
    uint32_t missed;  // chatter skipped as a slow reader, not yet reported
    char *rx;         // WebSocket message being reassembled from fragments
    uint32_t rx_len, rx_cap;
    Telnet *tn;       // telnet state, for telnet connections
    Msg *auth_token;  // `auth` with its token, written in place of the stream's at auth_seq
    uint64_t auth_seq;
    char addr[48];
};

extern uint32_t g_conn_count;

uint32_t conn_next_id(void);
// Asks lws for one WRITEABLE callback; cheap to call repeatedly.
void conn_wake(Conn *c);
// c has something new to write. A WebSocket is written at once when nothing
// waits before it; telnet at the end of this loop iteration; anything else on
// the next WRITEABLE callback.
void conn_deliver(Conn *c);
// The end-of-iteration batch: started with the loop, stopped at shutdown.
void conn_batch_init(uv_loop_t *loop);
void conn_batch_stop(void);
// c is closing: take it out of the batch.
void conn_batch_forget(Conn *c);
// Writes what the session holds for c; returns -1 when c must close now.
int conn_flush(Conn *c);
// Close after the queue is written.
void conn_close_soon(Conn *c);
// Our side is done (close frame or last bytes written): read on and discard
// until the client closes, or 2 s pass. Returns 0 (keep the connection).
int conn_linger(Conn *c);
// Close now without flushing (slow reader that stopped reading).
void conn_kill(Conn *c);
// Close after the queue is written, with this WebSocket close code.
void conn_close_with(Conn *c, uint16_t code);
// The same with a reason of its own (a static string; short, protocol words).
void conn_close_why(Conn *c, uint16_t code, const char *reason);

#define CLOSE_TOO_SLOW 4008      // a reader that fell queue_max events behind
#define CLOSE_SESSION_MOVED 4009 // attached before the session logged in on another connection

// The soft tier for slow readers: whether c should skip event m at seq, with
// next the session's next seq. Typing goes first (half the soft bound), then
// room chatter older than the bound; skipped chatter is counted in c->missed.
bool conn_skip_slow(Conn *c, const Msg *m, uint64_t seq, uint64_t next);
// The `missed` event telling c how much it skipped (resets the count).
Msg *conn_missed_event(Conn *c);
