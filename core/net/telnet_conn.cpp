// Telnet connections: lws raw sockets driving the telnet engine (net/telnet.h),
// and the telnet session every transport that carries one shares.
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "board/addrban.h"
#include "base/config.h"
#include "base/cp437.h"
#include "net/conn.h"
#include "model/event.h"
#include "base/histogram.h"
#include "board/limits.h"
#include "base/log.h"
#include "net/keepalive.h"
#include "net/pace.h"
#include "net/proxy.h"
#include "script/host.h"
#include "net/net.h"
#include "model/session.h"
#include "model/up.h"
#include "base/stats.h"
#include "net/telnet.h"
#include "base/text.h"
#include "net/tls.h"
#include "net/transport.h"

// One rendering buffer for every telnet write, with LWS_PRE headroom, and
// one for its text in CP437.
static Buf g_out, g_437;

// What the terminal told (telnet_terminal) as the engine uses it: the
// character set its input is decoded from.
static void learned(Conn *c) {
    telnet_terminal(c->tn, g_cfg.telnet_color, &c->port.term);
    c->tn->cp437 = port_charset(&c->port) == PORT_CP437;
}

// The mode a line put the terminal in, at once: the scripts answered it
// already (unless it waits for the rate), and what follows it in the same
// read is typed in that mode: "c" in a menu of single keys, then a line of
// chat. The input_mode events still pass through the stream in order
// (telnet_render), and those looked at here change nothing there.
static void follow_mode(Conn *c, Session *s) {
    Telnet *t = c->tn;
    uint64_t next = session_next_seq(s);
    uint64_t seq = c->port.cursor > t->mode_seq ? c->port.cursor : t->mode_seq;
    int keys = -1;
    for (; seq < next; seq++) {
        Msg *m = session_event_at(s, seq);
        if (!m || (m->target && m->target != c->port.id)) continue;
        if (m->flags & MSG_KEYS) keys = 1;
        else if (m->flags & MSG_LINES) keys = 0;
    }
    t->mode_seq = next;
    if (keys >= 0) telnet_set_keys(t, keys == 1);
}

static void on_line(void *ud, const char *line, size_t len) {
    Conn *c = (Conn *)ud;
    learned(c); // the size may have come with the line
    Session *s = c->port.session;
    uint64_t before = s ? session_next_seq(s) : 0;
    pace_input(c, PACE_LINE, line, len);
    if (!s || s != c->port.session) return;
    telnet_caused(c->tn, before, session_next_seq(s));
    follow_mode(c, s);
}

// The rendered text from g_out's byte `from` on, in CP437: a character it
// lacks as iconv transliterates it, and its 0xFF (a no-break space) doubled,
// since telnet reads 0xFF as IAC.
static void encode_cp437(size_t from) {
    g_437.len = 0;
    if (!cp437_encode(g_out.p + from, g_out.len - from, &g_437, TN_OUT_MAX * 2)) return; // keeps UTF-8
    g_out.len = from;
    for (size_t i = 0; i < g_437.len;) {
        const char *ff = (const char *)memchr(g_437.p + i, 0xFF, g_437.len - i);
        size_t n = ff ? (size_t)(ff - (g_437.p + i)) + 1 : g_437.len - i;
        buf_add(&g_out, g_437.p + i, n, TN_OUT_MAX * 2 + LWS_PRE);
        if (ff) buf_add(&g_out, "\xff", 1, TN_OUT_MAX * 2 + LWS_PRE);
        i += n;
    }
}

static void render_missed(Conn *c, Telnet *t, bool color) {
    Msg *m = conn_missed_event(c);
    if (!m) return;
    uint32_t tl;
    const char *tx = msg_text(m, &tl);
    telnet_render(t, &g_out, tx, tl, m->flags, color);
    msg_unref(m);
}

int telnet_flush(Conn *c) {
    // our end is closed (a FIN, or the bridge's close frame, went out):
    // nothing more may follow, however the flush was reached
    if (c->lingering) return 0;
    Telnet *t = c->tn;
    Session *s = c->port.session;
    bool color = telnet_color(t, g_cfg.telnet_color);
    t->cp437 = port_charset(&c->port) == PORT_CP437; // the user may have chosen since (pl.charset)
    g_out.len = 0;
    buf_reserve(&g_out, LWS_PRE, TN_OUT_MAX);
    g_out.len = LWS_PRE;
    // negotiation replies and echo come first, in the order they arose
    buf_add(&g_out, t->out.p, t->out.len, TN_OUT_MAX + LWS_PRE);
    t->out.len = 0;
    size_t text_from = g_out.len;
    if (s && c->port.cursor < session_next_seq(s)) {
        telnet_render_begin(t, &g_out, color);
        Msg *m;
        uint64_t seq;
        // a batch is bounded so one slow terminal cannot grow the buffer without end
        while (g_out.len < 64 * 1024 && (m = port_next(&c->port, &seq))) {
            if (c->port.missed) render_missed(c, t, color);
            uint32_t tl;
            const char *tx = msg_text(m, &tl);
            // an input_mode a line caused was applied as the line came (follow_mode)
            uint32_t flags = seq < t->mode_seq ? m->flags & ~(uint32_t)(MSG_KEYS | MSG_LINES) : m->flags;
            telnet_render_at(t, &g_out, seq, tx, tl, flags, color);
            g_stats.messages_out++;
            hist_observe(&g_fanout_hist, (double)(uv_hrtime() - m->born_ns) / 1e9);
        }
        if (c->port.missed) render_missed(c, t, color);
        telnet_render_end(t, &g_out, color);
    }
    if (t->cp437 && g_out.len > text_from) encode_cp437(text_from);
    size_t n = g_out.len - LWS_PRE;
    if (n && c->write(c, (unsigned char *)g_out.p + LWS_PRE, n) < 0) return -1;
    if (s && c->port.cursor < session_next_seq(s)) conn_wake(c);
    else if (c->port.closing && lws_partial_buffered(c->wsi)) conn_wake(c); // the rest goes before the end
    // the last bytes are out: the telnet port ends with a FIN, the bridge with a close frame
    else if (c->port.closing) return c->port.kind == PORT_TELNET_WS ? ws_close_conn(c) : conn_linger(c);
    return 0;
}

// The telnet port's way out: the bytes as they are.
static int write_raw(Conn *c, unsigned char *p, size_t n) { return lws_write(c->wsi, p, n, LWS_WRITE_RAW) < 0 ? -1 : 0; }

// Keepalive's probe: a NOP, which the client ignores but its TCP must
// acknowledge (net/keepalive.cpp asks the kernel whether it did). Unlike the
// kernel's keepalive probes it is data, so a proxy in between (a TLS
// tunnel) passes it on and finds out for itself when the terminal is gone.
void telnet_probe(Conn *c) {
    if (!c->tn) return;
    telnet_nop(c->tn);
    conn_deliver(c);
}

// A refused caller reads why, then is closed: a ban in the scripts' words
// (hooks.banned; there is no session to send an event to), anything else in
// the protocol's.
size_t telnet_refusal(const char *addr, const char *why, unsigned char *out) {
    char text[480] = "";
    if (!strcmp(why, "banned")) script_hook_text("banned", addr, text, sizeof text);
    size_t n = 0;
    for (const char *p = text[0] ? text : why; *p && n + 4 <= TELNET_REFUSAL_MAX; p++) { // a line ends in CR LF
        if (*p == '\n') out[n++] = '\r';
        out[n++] = (unsigned char)*p;
    }
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

static int refuse(struct lws *wsi, const char *addr, const char *why) {
    unsigned char buf[LWS_PRE + TELNET_REFUSAL_MAX];
    lws_write(wsi, buf + LWS_PRE, telnet_refusal(addr, why, buf + LWS_PRE), LWS_WRITE_RAW);
    return -1;
}

int telnet_open(Conn *c, struct lws *wsi, PortKind kind, int (*write)(Conn *c, unsigned char *p, size_t n)) {
    conn_open(c, wsi, kind);
    c->write = write;
    c->tn = (Telnet *)malloc(sizeof(Telnet));
    if (!c->tn || telnet_init(c->tn, (uint32_t)g_cfg.max_line) < 0) return -1;
    learned(c);
    if (conn_start_session(c, NULL, false, NULL, 0)) return -1;
    return 0;
}

void telnet_learned(Conn *c) {
    uint16_t cols = c->port.term.cols, rows = c->port.term.rows;
    learned(c);
    // The window changed size (NAWS, SSH's window-change) under a logged-in
    // user: what the scripts lay out on the screen (a split chat) is drawn
    // again. Text already wraps at the new width by itself.
    Session *s = c->port.session;
    if (s && s->handle[0] && !s->ending && (cols != c->port.term.cols || rows != c->port.term.rows))
        up_hook("resize", s, NULL);
}

void telnet_input(Conn *c, const uint8_t *in, size_t len) {
    telnet_feed(c->tn, in, len, on_line, c);
    if (!c->tn) return;
    telnet_learned(c); // what negotiation told of it
    if (c->tn->out.len) conn_deliver(c); // echo and negotiation replies
}

void telnet_closed(Conn *c) {
    if (c->tn) {
        telnet_free(c->tn);
        free(c->tn);
        c->tn = NULL;
    }
    conn_closed(c);
}

// A new telnet connection becomes a session, or is refused.
static int adopt(Conn *c, struct lws *wsi) {
    const char *why = conn_screen(c, wsi);
    if (why) {
        log_event(LOG_WARN, "telnet_refused", 0, c->port.addr, "refused: %s", why);
        return refuse(wsi, c->port.addr, why);
    }
    return telnet_open(c, wsi, PORT_TELNET, write_raw);
}

// A PROXY preamble from a proxy that is not in trusted_proxies: logged so
// the sysop can add it, and taken off the input instead of being read as a
// handle. The address stays the proxy's: nobody names their own.
static size_t stray_preamble(Conn *c, const uint8_t *in, size_t len) {
    ProxyInfo pi;
    if (proxy_preamble(in, len, &pi) != PROXY_OK) return 0;
    log_event(LOG_INFO, "proxy_ignored", c->port.session ? c->port.session->node : 0, c->port.addr,
              "a PROXY protocol preamble from %s, which is not in trusted_proxies: ignored", c->port.addr);
    return pi.len;
}

static int cb_telnet(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    Conn *c = (Conn *)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT:
        // inside TLS nothing can be written before the handshake, and lws
        // tells the raw role nothing when it is done: the SSL_INFO callback does
        if (net_tls(wsi)) {
            c->tls_wait = true;
            return 0;
        }
        return adopt(c, wsi);
    case LWS_CALLBACK_SSL_INFO: {
        const struct lws_ssl_info *si = (const struct lws_ssl_info *)in;
        if (c->tls_wait && (si->where & SSL_CB_HANDSHAKE_DONE)) lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return tls_setup_ctx((SSL_CTX *)user); // user is the vhost's SSL_CTX here
    case LWS_CALLBACK_RAW_RX:
        if (c->tls_wait) return 0; // (lws reads nothing of the stream before the handshake ends)
        if (c->lingering) return 0; // closed on our side: read on until the client closes
        if (!c->live) return -1;
        keepalive_heard(c);
        if (!c->rx_seen) {
            c->rx_seen = true;
            size_t skip = stray_preamble(c, (const uint8_t *)in, len);
            in = (uint8_t *)in + skip;
            len -= skip;
        }
        telnet_input(c, (const uint8_t *)in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (c->tls_wait) {
            c->tls_wait = false;
            // lws leaves its handshake deadline on a raw connection, which
            // would close the session at once; our own timeouts take over
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
            return adopt(c, wsi);
        }
        if (c->lingering) return 0;
        if (!c->live) return -1;
        return conn_flush(c);
    case LWS_CALLBACK_RAW_CLOSE:
        telnet_closed(c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        net_wsi_destroyed(wsi);
        return 0;
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_HTTP:
        // lws moved an HTTP request here because its Host header named this
        // vhost ("Host: telnet"): nothing here answers HTTP
        return -1;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols g_telnet_protocol = {"telnet", cb_telnet, sizeof(Conn), 0, 0, NULL, TX_PACKET_MAX};
