// The WebSocket protocol: one JSON object per text frame (PROTOCOL.md 3-5).
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "board/addrban.h"
#include "board/auth.h"
#include "board/login.h"
#include "cluster/cluster.h"
#include "base/config.h"
#include "net/conn.h"
#include "model/event.h"
#include "base/histogram.h"
#include "board/jwt.h"
#include "board/limits.h"
#include "base/log.h"
#include "net/keepalive.h"
#include "net/pace.h"
#include "script/host.h"
#include "net/net.h"
#include "net/requests.h"
#include "model/session.h"
#include "model/up.h"
#include "base/stats.h"
#include "base/text.h"
#include "net/telnet_ws.h"
#include "net/tls.h"
#include "net/transport.h"
#include "base/version.h"

// Every WebSocket write goes through one buffer: `{"seq":N,` + shared body.
static unsigned char *g_scratch;
static size_t g_scratch_cap;

static unsigned char *scratch(size_t need) {
    if (need > g_scratch_cap) {
        size_t cap = g_scratch_cap ? g_scratch_cap : 4096;
        while (cap < need) cap *= 2;
        unsigned char *p = (unsigned char *)realloc(g_scratch, cap);
        if (!p) return NULL;
        g_scratch = p;
        g_scratch_cap = cap;
    }
    return g_scratch;
}


// `hello` belongs to the connection, not the session's stream: its seq is the
// last event before the stream this connection gets (0 for a new session,
// last_seq after a resume), so it always comes first and never needs replay.
static int write_hello(Conn *c) {
    Session *s = c->port.session;
    cJSON *ev = event_new("hello");
    cJSON_AddStringToObject(ev, "session", s->resume_id);
    cJSON_AddNumberToObject(ev, "node", s->node);
    cJSON *server = cJSON_AddObjectToObject(ev, "server");
    cJSON_AddStringToObject(server, "name", g_cfg.name);
    cJSON_AddStringToObject(server, "version", PARTYLINE_VERSION);
    cJSON_AddNumberToObject(ev, "protocol", PARTYLINE_PROTOCOL);
    if (c->resumed) cJSON_AddBoolToObject(ev, "resumed", 1);
    Msg *m = event_encode(ev);
    if (!m) return -1;
    c->hello_due = false;
    unsigned char *p = scratch(LWS_PRE + 32 + m->json_len);
    int rc = -1;
    if (p) {
        int n = snprintf((char *)p + LWS_PRE, 32, "{\"seq\":%llu,", (unsigned long long)(c->port.cursor - 1));
        memcpy(p + LWS_PRE + n, msg_json(m), m->json_len);
        rc = lws_write(c->wsi, p + LWS_PRE, (size_t)n + m->json_len, LWS_WRITE_TEXT) < 0 ? -1 : 0;
        g_stats.messages_out++;
    }
    msg_unref(m);
    return rc;
}


// Sends a close frame and tells lws to drop the connection. lws 4.1 forgets
// the frame that lws_close_reason() prepares when a callback returns -1
// (upstream issues #1159, #3192), so it is written here directly.
int ws_close_with(struct lws *wsi, uint16_t code, const char *why) {
    unsigned char buf[LWS_PRE + 125];
    size_t n = why ? strlen(why) : 0;
    if (n > 120) n = 120;
    buf[LWS_PRE] = (unsigned char)(code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    if (n) memcpy(buf + LWS_PRE + 2, why, n);
    // 4 is lws's private LWS_WRITE_CLOSE; the public enum keeps the slot free for it
    lws_write(wsi, buf + LWS_PRE, n + 2, (enum lws_write_protocol)4);
    return -1;
}

static int write_event(Conn *c, const Msg *m, uint64_t seq) {
    unsigned char *p = scratch(LWS_PRE + 32 + m->json_len);
    if (!p) return -1;
    int n = snprintf((char *)p + LWS_PRE, 32, "{\"seq\":%llu,", (unsigned long long)seq);
    memcpy(p + LWS_PRE + n, msg_json(m), m->json_len);
    if (lws_write(c->wsi, p + LWS_PRE, (size_t)n + m->json_len, LWS_WRITE_TEXT) < 0) return -1;
    g_stats.messages_out++;
    return 0;
}

// The `missed` notice takes the seq of the last event it stands for.
static int write_missed(Conn *c, uint64_t seq) {
    Msg *m = conn_missed_event(c);
    int rc = m ? write_event(c, m, seq) : 0;
    msg_unref(m);
    return rc;
}

// Keepalive's ping (net/keepalive.h). Not empty: lws 4.1 gives no
// RECEIVE_PONG callback for an empty pong, and the pong echoes the ping.
int ws_ping(Conn *c) {
    unsigned char buf[LWS_PRE + 2];
    c->ka.ping_due = false;
    memcpy(buf + LWS_PRE, "pl", 2);
    return lws_write(c->wsi, buf + LWS_PRE, 2, LWS_WRITE_PING) < 0 ? -1 : 0;
}

// A ping is a frame of its own and may go between any two of ours: now,
// unless lws still holds part of an earlier write (then it would have to
// queue behind it) or a flush is under way; then first thing in the next
// WRITEABLE callback.
void ws_probe(Conn *c) {
    c->ka.ping_out = true;
    if (c->flushing || lws_partial_buffered(c->wsi)) {
        c->ka.ping_due = true;
        conn_wake(c);
    } else if (ws_ping(c) < 0) {
        conn_kill(c);
    }
}

// Bytes written in one WRITEABLE callback before asking whether the socket
// is choked: lws_send_pipe_choked() is a poll() system call, and asking before
// every event cost more than the write itself (perf: one poll per delivery).
// The callback means the socket took writes a moment ago; a write the kernel
// did not take whole shows in lws_partial_buffered(), which costs nothing.
#define WS_BATCH_BYTES 16384

int ws_flush(Conn *c) {
    Session *s = c->port.session;
    if (c->ka.ping_due && ws_ping(c) < 0) return -1;
    if (s && c->hello_due && write_hello(c) < 0) return -1;
    size_t batch = 0;
    // a reader dropped for falling behind is written nothing more
    bool dropped = c->port.closing && c->close_code == CLOSE_TOO_SLOW;
    while (s && !dropped) {
        // lws_partial_buffered() is a flag: the kernel did not take the last
        // write whole, and lws must send the rest before anything else
        if (c->port.cursor < session_next_seq(s) &&
            (lws_partial_buffered(c->wsi) || (batch >= WS_BATCH_BYTES && lws_send_pipe_choked(c->wsi)))) {
            conn_wake(c);
            return 0;
        }
        if (batch >= WS_BATCH_BYTES) batch = 0;
        uint64_t seq;
        Msg *m = port_next(&c->port, &seq);
        if (!m) break;
        if (c->port.missed && write_missed(c, seq - 1) < 0) return -1;
        if (write_event(c, m, seq) < 0) return -1;
        batch += m->json_len + 24;
        hist_observe(&g_fanout_hist, (double)(uv_hrtime() - m->born_ns) / 1e9);
    }
    if (c->port.missed && write_missed(c, c->port.cursor - 1) < 0) return -1;
    if (c->port.closing) return ws_close_conn(c);
    return 0;
}

int ws_close_conn(Conn *c) {
    ws_close_with(c->wsi, c->close_code ? c->close_code : (uint16_t)LWS_CLOSE_STATUS_NORMAL,
                  c->close_reason                                   ? c->close_reason
                  : c->close_code == LWS_CLOSE_STATUS_POLICY_VIOLATION ? "flooding"
                  : c->close_code == CLOSE_TOO_SLOW                 ? "too slow: fell too far behind"
                                                                    : NULL);
    return conn_linger(c);
}

// The value of ?name=value into out; false when absent.
static bool query_arg(struct lws *wsi, const char *name, char *out, size_t outlen) {
    char arg[JWT_MAX + 16];
    size_t nl = strlen(name);
    for (int i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        if (strncmp(arg, name, nl) || arg[nl] != '=') continue;
        snprintf(out, outlen, "%s", arg + nl + 1);
        return true;
    }
    return false;
}

static bool query_flag(struct lws *wsi, const char *name) {
    char v[16];
    if (!query_arg(wsi, name, v, sizeof v)) return false;
    return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes");
}

// The token from ?token= or `Authorization: Bearer`; false when there is none.
static bool request_token(struct lws *wsi, char *out, size_t outlen) {
    if (query_arg(wsi, "token", out, outlen)) return true;
    char hdr[JWT_MAX + 16];
    if (lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0) return false;
    size_t n = strlen(hdr);
    if (n < 7 || strncasecmp(hdr, "Bearer ", 7) || n - 7 >= outlen) return false;
    memcpy(out, hdr + 7, n - 7 + 1);
    return true;
}

// ?resume=ID&last_seq=N: attach straight to a session, without a new one
// (extension; the `resume` message does the same after connecting). A token
// on the same request may vouch for the session's user (requests_resume).
// A session another process holds is taken over (conn_start_session).
static int start_from_query(Conn *c, struct lws *wsi, const char *token_handle) {
    char id[64], seq[24] = "0";
    if (!query_arg(wsi, "resume", id, sizeof id)) return conn_start_session(c, token_handle, false, NULL, 0);
    query_arg(wsi, "last_seq", seq, sizeof seq);
    uint64_t last = strtoull(seq, NULL, 10);
    Session *s = session_by_resume_id(id);
    if (s && requests_resume(c, s, last, token_handle)) return 0;
    Session *moved = s ? NULL : cluster_resumable(id, token_handle, c->port.addr);
    return conn_start_session(c, token_handle, !moved, moved, last);
}

static int ws_receive(Conn *c, struct lws *wsi, const char *in, size_t len) {
    if (c->rx_len + len > (size_t)g_cfg.max_frame) {
        log_event(LOG_WARN, "kick", c->port.session ? c->port.session->node : 0, c->port.addr, "connection %u: message over %d bytes, closing (1009)", c->port.id, g_cfg.max_frame);
        ws_close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
        c->port.closing = true;
        return conn_linger(c); // the rest of that message is still coming
    }
    bool whole = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    PaceKind kind = lws_frame_is_binary(wsi) ? PACE_BINARY : PACE_JSON;
    if (whole && c->rx_len == 0) { // the common case: no copy
        pace_input(c, kind, in, len);
        return 0;
    }
    if (conn_rx_append(c, in, len) < 0) return -1;
    if (!whole) return 0;
    pace_input(c, kind, c->rx, c->rx_len);
    conn_rx_release(c);
    return 0;
}

// lws 4.1 answers a peer's close frame by sending its payload back (code and
// reason) unchecked. A reason that is not UTF-8 must not go back out: RFC
// 6455 (8.1) has the endpoint fail such a connection with 1007. A payload of
// one byte has no whole code: a protocol error (1002). Anything else lws
// echoes as usual (it turns a code that may not be sent into 1002).
static int ws_peer_close(struct lws *wsi, const char *in, size_t len) {
    if (len == 1) return ws_close_with(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad close frame");
    if (len > 2 && text_utf8_valid(in + 2, len - 2) < len - 2)
        return ws_close_with(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "close reason is not UTF-8");
    return 0;
}

// Every protocol of the web vhost but the HTTP routes' has this callback: the
// JSON protocol on /ws, and the bridge's framings on /telnet (a client that
// names no subprotocol is bound to the JSON one wherever it asked).
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    Conn *c = (Conn *)user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        // lws would upgrade on any path with any of our protocols
        return tws_endpoint(wsi) == TWS_NONE ? 1 : 0;
    case LWS_CALLBACK_ESTABLISHED: {
        if (tws_endpoint(wsi) != TWS_JSON) return tws_established(c, wsi);
        // a banned address, a bad token, or none where one is required, is a
        // policy violation (1008), before any session exists
        char tok[JWT_MAX + 1], handle[HANDLE_MAX + 1] = "";
        const char *why = conn_screen(c, wsi);
        if (why) {
        } else if (request_token(wsi, tok, sizeof tok)) {
            int64_t now = (int64_t)(text_now_ms() / 1000), iat_ms;
            if (jwt_verify(tok, strlen(tok), g_cfg.jwt_secret, now, handle, sizeof handle, &iat_ms, &why) == 0) {
                c->token_iat_ms = iat_ms;
                if (!auth_handle_valid(handle)) why = "bad sub";
                else if (login_token_checked_at_once()) why = login_token_problem(handle, iat_ms);
                // else: the store answers later, and login_by_token checks it
            }
        } else if (g_cfg.require_token) {
            why = "a token is required";
        }
        if (why) {
            log_event(LOG_WARN, "ws_refused", 0, c->port.addr, "refused: %s", why);
            return ws_close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, why);
        }
        conn_open(c, wsi, PORT_WEB);
        c->port.typing = query_flag(wsi, "typing");
        c->port.presence = query_flag(wsi, "presence");
        return start_from_query(c, wsi, handle[0] ? handle : NULL);
    }
    case LWS_CALLBACK_RECEIVE:
        keepalive_heard(c);
        if (c->lingering) return 0; // our close frame is out: read on until the client's comes
        if (!c->live || (!c->port.session && !conn_starting(c))) return -1;
        if (c->port.closing) return 0;   // closing after its queue: input is no longer handled
        if (c->tn) return tws_receive(c, wsi, (const char *)in, len);
        return ws_receive(c, wsi, (const char *)in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        // our close frame went first (ws_close_with, then the lingering
        // close), and lws does not know it: this is the client's answer,
        // which ends the connection. Echoed, it would be a second close
        // (RFC 6455 5.5.1), on which browsers fail the connection (1006).
        if (c && c->lingering) return -1;
        return ws_peer_close(wsi, (const char *)in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        // the answer to our ping is free; one nobody asked for costs a
        // message of the rate (lws answers the client's pings itself, with
        // no callback: see PROTOCOL.md)
        keepalive_heard(c);
        if (!keepalive_pong(c) && c->live && c->port.session) pace_pong(c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (c->lingering) return 0;
        if (!c->live) return -1;
        return conn_flush(c);
    case LWS_CALLBACK_CLOSED:
        telnet_closed(c); // a bridge's telnet state goes too; also fires for upgrades the filter refused
        return 0;
    // this is protocols[0] of the web vhost: its HTTP connections come here too
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        return http_filter(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return http_confirm_upgrade(wsi, (const char *)in);
    case LWS_CALLBACK_RAW_ADOPT:
        return http_refuse_raw(wsi);
    case LWS_CALLBACK_WSI_DESTROY:
        net_wsi_destroyed(wsi);
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return tls_setup_ctx((SSL_CTX *)user); // user is the web vhost's SSL_CTX here
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

// A 128-byte rx buffer instead of the default 4096 saves ~3.9 KB per idle
// connection (every connection holds one for its life). Most requests fit;
// longer ones arrive in fragments, which ws_receive joins in a buffer of
// their own (a malloc and a copy, against the Lua call that follows).
const struct lws_protocols g_ws_protocol = {"partyline", ws_callback, sizeof(Conn), 128, 0, NULL, TX_PACKET_MAX};
