#include "net/conn.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "base/config.h"
#include "model/event.h"
#include "script/host.h"
#include "net/pace.h"
#include "model/session.h"
#include "base/stats.h"
#include "net/transport.h"

uint32_t g_conn_count;
static uint32_t g_conn_ids;

uint32_t conn_next_id(void) {
    if (++g_conn_ids == 0) g_conn_ids = 1; // 0 means "every connection"
    return g_conn_ids;
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
    int rc = c->type == CONN_TELNET ? telnet_flush(c) : ws_flush(c);
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
    const Session *s = c->session;
    return c->type == CONN_WS && c->wsi && s && !c->want_write && !c->flushing && !c->closing && !c->hello_due &&
           !c->missed && !g_server_stopping && c->cursor + 1 == session_next_seq(s) && !lws_partial_buffered(c->wsi);
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
    if (c->type == CONN_TELNET) {
        if (g_batch_on && c->wsi && !c->want_write && !c->flushing && !c->closing && !g_server_stopping) batch_add(c);
        else conn_wake(c);
    } else if (!can_write_now(c)) {
        conn_wake(c);
    } else if (conn_flush(c) < 0) {
        conn_kill(c);
    }
}

void conn_close_soon(Conn *c) {
    if (c->closing || !c->wsi) return;
    c->closing = true;
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

static uint64_t soft_bound(void) {
    return g_cfg.queue_soft ? (uint64_t)g_cfg.queue_soft : (uint64_t)g_cfg.queue_max / 2;
}

bool conn_skip_slow(Conn *c, const Msg *m, uint64_t seq, uint64_t next) {
    if (!(m->flags & (MSG_TYPING | MSG_CHATTER))) return false;
    uint64_t behind = next - seq, soft = soft_bound();
    if ((m->flags & MSG_TYPING) && behind > soft / 2) {
        g_stats.slow_typing_dropped++;
        return true;
    }
    if ((m->flags & MSG_CHATTER) && behind > soft) {
        g_stats.slow_chatter_dropped++;
        c->missed++;
        return true;
    }
    return false;
}

Msg *conn_missed_event(Conn *c) {
    char text[512] = "";
    script_render_count("missed", c->missed, text, sizeof text);
    cJSON *ev = event_new("missed");
    cJSON_AddNumberToObject(ev, "count", c->missed);
    if (text[0]) cJSON_AddStringToObject(ev, "text", text);
    c->missed = 0;
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
    if (c->type == CONN_TELNET) shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
    c->lingering = true;
    pace_forget(c);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LINGER_S);
    return 0;
}

void conn_kill(Conn *c) {
    if (!c->wsi) return;
    c->closing = true;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
}
