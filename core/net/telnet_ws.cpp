// Telnet over WebSocket: the telnet session of net/telnet_conn.cpp, framed
// (net/telnet_ws.h). Everything but the framing is the telnet session's:
// negotiation, line editing, rendering, limits and timeouts; only how bytes
// travel differs, and how the connection is probed (a WebSocket ping, as on
// /ws) and ended (a close frame).
#include "net/telnet_ws.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/origin.h"
#include "model/session.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/telnet.h"
#include "net/transport.h"

#define B64_IGNORE " \t\r\n"

// The protocol lws binds an upgrade to: the first the client names that the
// vhost has (lws's own rule, server-ws.c), or NULL when it names none we
// have (none at all: the vhost's first, the JSON protocol).
static const struct lws_protocols *named_protocol(struct lws *wsi) {
    char list[256];
    if (lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL) <= 0) return NULL;
    char *save = NULL;
    for (char *t = strtok_r(list, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        const struct lws_protocols *p = lws_vhost_name_to_protocol(lws_get_vhost(wsi), t);
        if (p) return p;
    }
    return NULL;
}

static bool is_path(struct lws *wsi, const char *path) {
    char uri[16];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && !strcmp(uri, path);
}

TwsEndpoint tws_endpoint(struct lws *wsi) {
    const struct lws_protocols *p = lws_get_protocol(wsi);
    if (!p || p->callback != ws_callback) return TWS_NONE;
    if (is_path(wsi, "/ws")) return p->id ? TWS_NONE : TWS_JSON;
    if (!g_cfg.telnet_ws || !is_path(wsi, "/telnet")) return TWS_NONE;
    if (p->id) return (TwsEndpoint)p->id;
    // bound to the JSON protocol: right when the client named none
    return lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) ? TWS_NONE : TWS_RAW;
}

int tws_confirm_upgrade(struct lws *wsi) {
    char addr[48], origin[512] = "", host[256] = "";
    net_peer(wsi, addr, sizeof addr);
    // A browser names the page that opens the connection; a page of another
    // site may not put the board's terminal (and its user's login) inside
    // itself unless the sysop lists it. Anything but a browser names none.
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN)) {
        if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
            lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HTTP_COLON_AUTHORITY);
        if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0 ||
            !origin_allowed(g_cfg.telnet_ws_origins, origin, host)) {
            log_event(LOG_WARN, "http_refused", 0, addr, "/telnet from a page of %s, which telnet_ws_origins does not allow (403)",
                      origin[0] ? origin : "(an origin too long)");
            return net_refuse_http(wsi, "403 Forbidden", "origin not allowed\n");
        }
    }
    const struct lws_protocols *p = named_protocol(wsi);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) && (!p || !p->id || p->callback != ws_callback)) {
        log_event(LOG_WARN, "http_refused", 0, addr, "/telnet with no subprotocol of the bridge's (400)");
        return net_refuse_http(wsi, "400 Bad Request", "no such WebSocket protocol: binary, plain, telnet, base64 or none\n");
    }
    return 0;
}

bool tws_named_bridge(struct lws *wsi) {
    const struct lws_protocols *p = named_protocol(wsi);
    return p && p->callback == ws_callback && p->id;
}

// ---------------------------------------------------------------- frames

// Base64 text frames are made here, with LWS_PRE bytes of room in front.
static Buf g_b64;

static int write_frames(Conn *c, unsigned char *p, size_t n) {
    if (c->framing != TWS_BASE64) return lws_write(c->wsi, p, n, LWS_WRITE_BINARY) < 0 ? -1 : 0;
    size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    g_b64.len = 0;
    if (!buf_reserve(&g_b64, LWS_PRE + need, LWS_PRE + need)) return -1;
    unsigned char *out = (unsigned char *)g_b64.p + LWS_PRE;
    sodium_bin2base64((char *)out, need, p, n, sodium_base64_VARIANT_ORIGINAL);
    return lws_write(c->wsi, out, need - 1, LWS_WRITE_TEXT) < 0 ? -1 : 0; // without its terminating NUL
}

// A refused caller reads why in its terminal, as on the telnet port (a ban
// in the scripts' words), then gets a close frame (1008) with the reason.
static int refuse(Conn *c, struct lws *wsi, const char *why) {
    unsigned char buf[LWS_PRE + TELNET_REFUSAL_MAX];
    size_t n = telnet_refusal(c->port.addr, why, buf + LWS_PRE);
    c->wsi = wsi;
    write_frames(c, buf + LWS_PRE, n);
    c->wsi = NULL;
    return ws_close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, why);
}

int tws_established(Conn *c, struct lws *wsi) {
    TwsEndpoint framing = tws_endpoint(wsi);
    const char *why = conn_screen(c, wsi);
    c->framing = (uint8_t)framing; // after the screen, which clears c
    if (why) {
        log_event(LOG_WARN, "telnet_ws_refused", 0, c->port.addr, "refused: %s", why);
        return refuse(c, wsi, why);
    }
    return telnet_open(c, wsi, PORT_TELNET_WS, write_frames);
}

// The stream is unusable: a close frame saying why, then the lingering close.
static int fail(Conn *c, struct lws *wsi, uint16_t code, const char *why, const char *log) {
    log_event(LOG_WARN, "kick", c->port.session ? c->port.session->node : 0, c->port.addr, "connection %u: %s, closing (%u)",
              c->port.id, log, code);
    ws_close_with(wsi, code, why);
    c->port.closing = true;
    return conn_linger(c); // the rest of that message may still be coming
}

// One whole base64 message: its bytes are the input.
static int base64_input(Conn *c, struct lws *wsi, const char *in, size_t len) {
    while (len && (in[len - 1] == '=' || strchr(B64_IGNORE, in[len - 1]))) len--; // padding or not, as clients send it
    unsigned char *bin = (unsigned char *)malloc(len / 4 * 3 + 3);
    if (!bin) return -1;
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(bin, len / 4 * 3 + 3, in, len, B64_IGNORE, &n, &end, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) ||
        end != in + len) {
        free(bin);
        return fail(c, wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "bad base64", "a text frame that is not base64 (base64 framing)");
    }
    telnet_input(c, bin, n);
    free(bin);
    return 0;
}

int tws_receive(Conn *c, struct lws *wsi, const char *in, size_t len) {
    // bytes are bytes, however they are framed: telnet is a stream
    if (c->framing != TWS_BASE64 || lws_frame_is_binary(wsi)) {
        telnet_input(c, (const uint8_t *)in, len);
        return 0;
    }
    // base64 is decoded a whole message at a time: a fragment may end
    // inside a group of four characters
    if (c->rx_len + len > (size_t)g_cfg.max_frame) {
        char what[80];
        snprintf(what, sizeof what, "message over %d bytes", g_cfg.max_frame);
        return fail(c, wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large", what);
    }
    bool whole = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (whole && c->rx_len == 0) return base64_input(c, wsi, in, len);
    if (conn_rx_append(c, in, len) < 0) return -1;
    if (!whole) return 0;
    int rc = base64_input(c, wsi, c->rx, c->rx_len);
    conn_rx_release(c);
    return rc;
}

int tws_flush(Conn *c) {
    if (c->ka.ping_due && ws_ping(c) < 0) return -1;
    return telnet_flush(c);
}

// A 512-byte rx buffer: a terminal sends keys and lines, and a paste
// arrives in pieces, which the telnet stream takes as they come.
#define TWS_PROTOCOL(name, framing) {name, ws_callback, sizeof(Conn), 512, framing, NULL, TX_PACKET_MAX}
const struct lws_protocols g_tws_protocols[4] = {
    TWS_PROTOCOL("binary", TWS_RAW),
    TWS_PROTOCOL("plain", TWS_RAW),
    TWS_PROTOCOL("telnet", TWS_RAW), // VTX's default
    TWS_PROTOCOL("base64", TWS_BASE64),
};
