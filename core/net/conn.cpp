#include "net/conn.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/config.h"
#include "base/text.h"
#include "board/addrban.h"
#include "board/login.h"
#include "cluster/cluster.h"
#include "model/room.h"
#include "base/log.h"
#include "net/net.h"
#include "model/event.h"
#include "board/lifecycle.h"
#include "script/host.h"
#include "net/keepalive.h"
#include "net/pace.h"
#include "net/ssh.h"
#include "model/session.h"
#include "model/up.h"
#include "base/stats.h"
#include "net/telnet_ws.h"
#include "net/transport.h"

uint32_t g_conn_count;


const char *conn_screen(Conn *c, struct lws *wsi) {
    memset(c, 0, sizeof *c);
    net_peer(wsi, c->port.addr, sizeof c->port.addr);
    c->port.secure = net_secure(wsi);
    // the address first, whatever credentials come after it
    if (addrban_match(c->port.addr, text_now_ms())) return "banned";
    if (!net_admit_session(wsi)) return "too many connections from your address";
    return NULL;
}

void conn_open(Conn *c, struct lws *wsi, PortKind kind) {
    c->wsi = wsi;
    c->port.kind = kind;
    c->port.id = port_next_id();
    // the web page shows 256 colours and scrolls (telnet: net/telnet.cpp, telnet_terminal)
    if (kind == PORT_WEB) c->port.term = PortTerminal{"web", 0, 0, 256, "utf-8", true, 0};
    c->live = true;
    g_conn_count++;
    keepalive_add(c);
}

// What a session being started waits with (conn_start_session).
struct ConnStart {
    char handle[HANDLE_MAX + 1]; // a verified token's, or ""
    bool no_session;
    // moving: the session another process held
    uint16_t from_proc;
    uint32_t from_node, from_serial;
    uint64_t last_seq;
    char service[sizeof ((Session *)0)->service];
    char room[ROOM_NAME_MAX + 1];
};

// A log event's name by transport: ws_connect, telnet_disconnect, ...
static const char *kind_event(PortKind k, const char *what, char *buf, size_t n) {
    const char *t = k == PORT_WEB ? "ws" : k == PORT_TELNET ? "telnet" : k == PORT_TELNET_WS ? "telnet_ws" : "ssh";
    snprintf(buf, n, "%s_%s", t, what);
    return buf;
}

static void started(uint32_t node, void *arg) {
    Conn *c = (Conn *)arg;
    ConnStart *st = c->start;
    c->start = NULL;
    Session *s = session_new_at(node);
    if (!s) s = session_new(); // the node went meanwhile: the next free one here
    if (!s) {
        free(st);
        return conn_kill(c);
    }
    memcpy(s->addr, c->port.addr, sizeof s->addr);
    s->script_ref = script_session_new(s);
    c->hello_due = true; // before attaching: nothing may be written ahead of it
    session_attach(s, &c->port, 1);
    char ev[32];
    log_event(LOG_INFO, kind_event(c->port.kind, "connect", ev, sizeof ev), s->node, c->port.addr,
              "connection %u", c->port.id);
    if (st->from_node) {
        // where the user was on the other process, for the scripts to put them back
        snprintf(s->moved_service, sizeof s->moved_service, "%s", st->service);
        snprintf(s->moved_room, sizeof s->moved_room, "%s", st->room);
        s->moved = true;
    }
    // a token skips the login prompts: straight to the scripts' auth hook
    if (st->handle[0]) login_by_token(s, st->handle, c->token_iat_ms, c->port.id, c->port.kind == PORT_SSH ? "ssh" : "token");
    else script_hook("connect", s, c->connect_arg);
    if (st->no_session && s->nports)
        session_send(s, event_error("no_session", "no such session, or it has ended"), c->port.id);
    if (st->from_node && node == st->from_node)
        cluster_taken(st->from_proc, st->from_node, st->from_serial, s->serial, st->last_seq);
    session_shown(s);
    free(st);
    pace_resume(c); // input that came meanwhile
}

static void took(uint32_t node, void *arg) {
    Conn *c = (Conn *)arg;
    if (node) {
        Session *r = session_by_node(node);
        if (r && r->proc) session_end_quiet(r); // the replica of what is now ours
        return started(node, c);
    }
    cluster_claim_node(started, c); // someone else's by now: a node as usual
}

int conn_start_session(Conn *c, const char *token_handle, bool no_session, Session *moved, uint64_t last_seq) {
    ConnStart *st = (ConnStart *)calloc(1, sizeof *st);
    if (!st) return -1;
    if (token_handle) snprintf(st->handle, sizeof st->handle, "%s", token_handle);
    st->no_session = no_session;
    c->start = st;
    if (!moved) {
        cluster_claim_node(started, c); // may call started() before it returns
        return 0;
    }
    st->from_proc = moved->proc;
    st->from_node = moved->node;
    st->from_serial = moved->serial;
    st->last_seq = last_seq;
    snprintf(st->service, sizeof st->service, "%s", moved->service);
    if (moved->room) snprintf(st->room, sizeof st->room, "%s", moved->room->name);
    log_event(LOG_INFO, "resume_moved", moved->node, c->port.addr, "connection %u takes over %s's session from another process",
              c->port.id, moved->handle[0] ? moved->handle : "(no login)");
    cluster_take_node(moved, took, c);
    return 0;
}

void conn_closed(Conn *c) {
    if (c->start) { // gone before its session started: the claim is given back when it comes
        cluster_claim_cancel(c);
        free(c->start);
        c->start = NULL;
    }
    if (!c->live) return;
    c->live = false;
    char ev[32];
    log_event(LOG_INFO, kind_event(c->port.kind, "disconnect", ev, sizeof ev),
              c->port.session ? c->port.session->node : 0, c->port.addr, "connection %u closed", c->port.id);
    pace_forget(c);
    keepalive_remove(c);
    if (c->port.session) session_detach(c->port.session, &c->port);
    conn_batch_forget(c);
    c->wsi = NULL;
    free(c->rx);
    c->rx = NULL;
    g_conn_count--;
}

int conn_rx_append(Conn *c, const char *in, size_t len) {
    if (c->rx_len + len > c->rx_cap) {
        uint32_t cap = c->rx_cap ? c->rx_cap : 1024;
        while (cap < c->rx_len + len) cap *= 2;
        char *p = (char *)realloc(c->rx, cap);
        if (!p) return -1;
        c->rx = p;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += (uint32_t)len;
    return 0;
}

void conn_rx_release(Conn *c) {
    c->rx_len = 0;
    free(c->rx);
    c->rx = NULL;
    c->rx_cap = 0;
}

void conn_probe(Conn *c) {
    if (c->port.kind == PORT_TELNET) telnet_probe(c);
    else if (c->port.kind == PORT_SSH) sshd_probe(c);
    else ws_probe(c);
}

bool conn_probe_answered(Conn *c) {
    // a WebSocket's pong and the SSH client's answer are input, which took it off the probed list
    return c->port.kind == PORT_TELNET && c->wsi && keepalive_tcp_answered(lws_get_socket_fd(c->wsi));
}

void conn_wake(Conn *c) {
    // each lws_callback_on_writable costs epoll calls even when one is pending
    if (c->want_write || !c->wsi) return;
    c->want_write = true;
    lws_callback_on_writable(c->wsi);
}

int conn_flush(Conn *c) {
    c->want_write = false;
    c->flushing = true;
    int rc = c->port.kind == PORT_WEB ? ws_flush(c) : c->port.kind == PORT_TELNET_WS ? tws_flush(c) : telnet_flush(c); // SSH is a terminal too
    c->flushing = false;
    return rc;
}

// A WebSocket whose stream is written up to this one event takes it now:
// waiting for WRITEABLE costs two epoll_ctl calls (arm and disarm POLLOUT) per
// delivery, and writing at once halved the server's CPU per delivery in a big
// room (make bench). lws writes outside WRITEABLE the same way: a short send
// is kept in its own buffer and finished on POLLOUT, which
// lws_partial_buffered() reports. Telnet goes through the end-of-iteration
// batch below instead, which renders several events into one write.
static bool can_write_now(const Conn *c) {
    const Session *s = c->port.session;
    return c->port.kind == PORT_WEB && c->wsi && s && !c->want_write && !c->flushing && !c->port.closing && !c->hello_due &&
           !c->port.missed && lifecycle_state() != BOARD_STOPPED && c->port.cursor + 1 == session_next_seq(s) && !lws_partial_buffered(c->wsi);
}

// Telnet output waits for the end of the loop iteration (a uv_check handle,
// after the I/O callbacks), and is then written in one go: what arrived in
// the iteration is rendered into one write, as WRITEABLE would, without the
// two epoll_ctl calls of asking for WRITEABLE. The idle handle runs only
// while the batch holds something, so that the loop does not block in poll
// before the check when a timer made the output.
static Conn **g_batch;
static uint32_t g_batch_len, g_batch_cap;
static uv_check_t g_batch_check;
static uv_idle_t g_batch_idle;
static bool g_batch_on;

static void batch_noop(uv_idle_t *) {}

static void batch_flush(uv_check_t *) {
    uv_idle_stop(&g_batch_idle);
    // a flush may add more (a script answering): they are taken in this pass
    for (uint32_t i = 0; i < g_batch_len; i++) {
        Conn *c = g_batch[i];
        if (!c) continue;
        c->batched = false;
        if (c->want_write || !c->wsi) continue;
        if (lws_partial_buffered(c->wsi)) conn_wake(c);
        else if (conn_flush(c) < 0) conn_kill(c);
    }
    g_batch_len = 0;
}

static void batch_add(Conn *c) {
    if (c->batched) return;
    if (g_batch_len == g_batch_cap) {
        uint32_t cap = g_batch_cap ? g_batch_cap * 2 : 64;
        Conn **b = (Conn **)realloc(g_batch, cap * sizeof *b);
        if (!b) return conn_wake(c);
        g_batch = b;
        g_batch_cap = cap;
    }
    g_batch[g_batch_len++] = c;
    c->batched = true;
    if (g_batch_len == 1) uv_idle_start(&g_batch_idle, batch_noop);
}

void conn_batch_forget(Conn *c) {
    if (!c->batched) return;
    c->batched = false;
    for (uint32_t i = 0; i < g_batch_len; i++)
        if (g_batch[i] == c) g_batch[i] = NULL;
}

void conn_batch_init(uv_loop_t *loop) {
    uv_check_init(loop, &g_batch_check);
    uv_check_start(&g_batch_check, batch_flush);
    uv_unref((uv_handle_t *)&g_batch_check);
    uv_idle_init(loop, &g_batch_idle);
    g_batch_on = true;
}

void conn_batch_stop(void) {
    if (!g_batch_on) return;
    g_batch_on = false;
    uv_check_stop(&g_batch_check);
    uv_idle_stop(&g_batch_idle);
    uv_close((uv_handle_t *)&g_batch_check, NULL);
    uv_close((uv_handle_t *)&g_batch_idle, NULL);
    for (uint32_t i = 0; i < g_batch_len; i++)
        if (g_batch[i]) g_batch[i]->batched = false;
    free(g_batch);
    g_batch = NULL;
    g_batch_len = g_batch_cap = 0;
}

void conn_deliver(Conn *c) {
    if (c->port.kind == PORT_SSH) {
        conn_wake(c); // libssh is driven from its connection's own callbacks only (net/ssh_conn.cpp)
    } else if (c->port.kind != PORT_WEB) { // a terminal's output is rendered in batches
        if (g_batch_on && c->wsi && !c->want_write && !c->flushing && !c->port.closing && lifecycle_state() != BOARD_STOPPED) batch_add(c);
        else conn_wake(c);
    } else if (!can_write_now(c)) {
        conn_wake(c);
    } else if (conn_flush(c) < 0) {
        conn_kill(c);
    }
}

void conn_close_soon(Conn *c) {
    if (c->port.closing || !c->wsi) return;
    c->port.closing = true;
    // a reader that never drains its queue is closed anyway
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, 5);
    conn_wake(c);
}

void conn_close_with(Conn *c, uint16_t code) {
    c->close_code = code;
    conn_close_soon(c);
}

void conn_close_why(Conn *c, uint16_t code, const char *reason) {
    c->close_reason = reason;
    conn_close_with(c, code);
}

Msg *conn_missed_event(Conn *c) {
    char text[512] = "";
    script_render_count("missed", c->port.missed, text, sizeof text);
    cJSON *ev = event_new("missed");
    cJSON_AddNumberToObject(ev, "count", c->port.missed);
    if (text[0]) cJSON_AddStringToObject(ev, "text", text);
    c->port.missed = 0;
    return event_encode(ev);
}

// Closing a socket with the client's input unread makes the kernel answer
// with a reset, and a reset destroys what the client had not read yet: the
// close frame, the reason, the last lines (a flooding client saw only 1006).
// So our side ends first (the close frame; for telnet a FIN), and the socket
// is read and the input thrown away until the client closes too (a
// WebSocket client answers the close frame, which makes lws close) or the
// deadline passes.
#define LINGER_S 2

int conn_linger(Conn *c) {
    if (!c->wsi) return -1;
    if (c->port.kind == PORT_TELNET) shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
    if (c->port.kind == PORT_SSH) sshd_linger(c); // the channel closes once what is rendered is written
    c->lingering = true;
    pace_forget(c);
    keepalive_remove(c);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LINGER_S);
    return 0;
}

void conn_kill(Conn *c) {
    if (!c->wsi) return;
    c->port.closing = true;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
}

// ---------------------------------------------------------------- g_up

void conn_port_deliver(Port *p) { conn_deliver(conn_of(p)); }

void conn_port_close(Port *p, uint16_t code, const char *reason) {
    Conn *c = conn_of(p);
    if (reason) conn_close_why(c, code, reason);
    else if (code) conn_close_with(c, code);
    else conn_close_soon(c);
}

void conn_port_drop(Port *p) {
    Conn *c = conn_of(p);
    // a close frame if it still reads at all; gone in 2 s either way
    conn_close_with(c, CLOSE_TOO_SLOW);
    if (c->wsi) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, 2);
}
