// A connection: one WebSocket or telnet socket attached to a session.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "model/port.h"
#include "net/keepalive.h"

struct lws;
struct Session;
struct Telnet;
struct Msg;
struct SshLink;

// A connection: lws's per-connection user data for the WebSocket and telnet
// protocols. The Port (what the model sees: its session, cursor, id, kind,
// address) comes first, so a Port* of ours is a Conn* (conn_of).
struct Conn {
    Port port;
    struct lws *wsi;
    bool live;        // reached ESTABLISHED/ADOPT: lws also closes ones it rejected
    bool want_write;  // a WRITEABLE callback is already requested
    bool hello_due;   // `hello` is written before anything else in the stream
    bool resumed;     // ...and says the stream continues an older session
    bool flushing;    // inside conn_flush: no direct write may cut in
    bool batched;     // telnet: waiting in the end-of-iteration batch (net/conn.cpp)
    bool paced;       // input waits for the rate limit (net/pace.cpp)
    bool lingering;   // closed on our side: reading and discarding until the client closes
    bool tls_wait;    // telnet over TLS: the session starts once the handshake is done
    bool rx_seen;     // telnet: input has come (the first is checked for a stray PROXY preamble)
    int64_t token_iat_ms; // the handshake's token was issued then (-1 none): login_by_token checks it
    uint16_t close_code; // WebSocket close code once closing (0 = 1000)
    const char *close_reason; // its reason (a static string), or NULL for the code's usual one
    float rate_tokens; // the input rate's token bucket (net/pace.cpp)
    uint64_t rate_ms;
    uint32_t rate_strikes;
    char *inq;        // the input that waits: records from inq_head to inq_len
    uint32_t inq_len, inq_cap, inq_head;
    uint32_t inq_cost; // bytes charged against flood_bytes
    char *rx;         // WebSocket message being reassembled from fragments
    uint32_t rx_len, rx_cap;
    Telnet *tn;       // the terminal engine, for telnet, bridge and SSH connections
    SshLink *ssh;     // SSH's own state (net/ssh_conn.cpp)
    // How a terminal's rendered bytes leave (telnet_flush): n bytes at p,
    // which has LWS_PRE bytes of room before it; -1 closes. Raw on the telnet
    // port (set by telnet_open), WebSocket frames on the bridge
    // (net/telnet_ws.cpp), SSH's channel (net/ssh_requests.cpp).
    int (*write)(Conn *c, unsigned char *p, size_t n);
    uint8_t framing;  // the bridge's framing (TwsFraming, net/telnet_ws.h); 0 elsewhere
    const char *connect_arg; // the scripts' connect hook's argument ("register": SSH's `new`), or NULL
    KeepLink ka;      // keepalive: since when silent, probed (net/keepalive.cpp)
    struct ConnStart *start; // while its session is being started (a node claimed): see conn_start_session
};

static_assert(offsetof(Conn, port) == 0, "a Port* of a connection is its Conn*");
static inline Conn *conn_of(Port *p) { return (Conn *)p; }

extern uint32_t g_conn_count;

// The accept sequence both transports share, in two steps. conn_screen
// clears c and looks at the client's address: banned, or over
// max_conns_per_addr, gives the refusal in protocol words for the transport
// to say and close; NULL lets it go on (the web checks its token next).
// conn_open then makes c a live connection of that kind with a port id.
const char *conn_screen(Conn *c, struct lws *wsi);
void conn_open(Conn *c, struct lws *wsi, PortKind kind);
// Starts a new connection's session: a node (on a board of many processes
// claimed in Redis first, so the session starts a moment later; meanwhile
// input waits), `hello` due, and the scripts' connect hook; or, when a
// verified token named token_handle, logged in at once. no_session: the
// client asked to resume a session nobody has, and is told so. moved: a
// session another process holds that this client comes back to (its
// replica): its node is taken over and the scripts put the user back where
// they were; last_seq is what the client saw of it. -1 when out of memory.
int conn_start_session(Conn *c, const char *token_handle, bool no_session, Session *moved, uint64_t last_seq);
// Whether c's session is still being started.
static inline bool conn_starting(const Conn *c) { return c->start != NULL; }
// Either transport's connection is closing (lws's close callback): it leaves
// its session, which starts the grace period when it was the last.
void conn_closed(Conn *c);
// A WebSocket message arriving in fragments is joined in c->rx:
// conn_rx_append adds one (-1 when out of memory), conn_rx_release gives
// the buffer back once the message is handled (most connections never send
// one this big again, and an idle one should hold nothing).
int conn_rx_append(Conn *c, const char *in, size_t len);
void conn_rx_release(Conn *c);
// Keepalive's probe of a silent connection, in its transport's way (a
// WebSocket ping, a telnet NOP), and whether it was answered by the deadline
// in a way that does not show as input (telnet: the client's TCP
// acknowledged it; a pong is input).
void conn_probe(Conn *c);
bool conn_probe_answered(Conn *c);
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

// The `missed` event telling c how much room chatter it skipped as a slow
// reader (resets the count; the wording is the scripts').
Msg *conn_missed_event(Conn *c);

// What the model asks of a port (model/up.h), installed by main.cpp.
void conn_port_deliver(Port *p);
void conn_port_close(Port *p, uint16_t code, const char *reason);
void conn_port_drop(Port *p);
