#include "conn.h"

#include <libwebsockets.h>

#include "config.h"
#include "event.h"
#include "lua_host.h"
#include "session.h"
#include "stats.h"
#include "transport.h"

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
// lws_partial_buffered() reports. Telnet keeps the callback: its batches
// render several events into one write.
static bool can_write_now(const Conn *c) {
    const Session *s = c->session;
    return c->type == CONN_WS && c->wsi && s && !c->want_write && !c->flushing && !c->closing && !c->hello_due &&
           !c->missed && !g_server_stopping && c->cursor + 1 == session_next_seq(s) && !lws_partial_buffered(c->wsi);
}

void conn_deliver(Conn *c) {
    if (!can_write_now(c)) conn_wake(c);
    else if (conn_flush(c) < 0) conn_kill(c);
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
    lua_render_count("missed", c->missed, text, sizeof text);
    cJSON *ev = event_new("missed");
    cJSON_AddNumberToObject(ev, "count", c->missed);
    if (text[0]) cJSON_AddStringToObject(ev, "text", text);
    c->missed = 0;
    return event_encode(ev);
}

void conn_kill(Conn *c) {
    if (!c->wsi) return;
    c->closing = true;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
}
