// Dynamic HTTP routes: /healthz and /metrics (PROTOCOL.md section 7).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/config.h"
#include "net/conn.h"
#include "base/histogram.h"
#include "cluster/cluster.h"
#include "base/log.h"
#include "script/host.h"
#include "net/net.h"
#include "net/netconn.h"
#include "model/room.h"
#include "model/session.h"
#include "base/stats.h"
#include "board/store.h"
#include "net/telnet_ws.h"
#include "net/transport.h"


static void metric(Buf *b, const char *name, const char *type, const char *help, unsigned long long v) {
    char line[512];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
    buf_add(b, line, (size_t)n, 1 << 20);
}

// A counter with one line per transport.
static void by_transport(Buf *b, const char *name, const char *help, unsigned long long web,
                         unsigned long long telnet, unsigned long long telnet_ws, unsigned long long ssh) {
    char line[768];
    int n = snprintf(line, sizeof line,
                     "# HELP %s %s\n# TYPE %s counter\n%s{transport=\"websocket\"} %llu\n%s{transport=\"telnet\"} %llu\n"
                     "%s{transport=\"telnet-ws\"} %llu\n%s{transport=\"ssh\"} %llu\n",
                     name, help, name, name, web, name, telnet, name, telnet_ws, name, ssh);
    buf_add(b, line, (size_t)n, 1 << 20);
}

// Every counter in g_stats, with its name and help line.
static const struct {
    const char *name, *help;
    const uint64_t *value;
} g_counters[] = {
    {"partyline_messages_in_total", "Messages received from clients.", &g_stats.messages_in},
    {"partyline_messages_out_total", "Events written to clients.", &g_stats.messages_out},
    {"partyline_script_reloads_total", "Successful script reloads.", &g_stats.script_reloads},
    {"partyline_script_errors_total", "Failed reloads and errors raised by scripts.", &g_stats.script_errors},
    {"partyline_script_db_waits_total", "pl.db calls that waited for PostgreSQL without holding the loop.",
     &g_stats.script_db_waits},
    {"partyline_slow_disconnects_total", "Connections dropped for falling queue_max behind.", &g_stats.slow_disconnects},
    {"partyline_slow_skipped_total", "Events skipped for slow readers (slow_policy=skip).", &g_stats.slow_skipped},
    {"partyline_slow_typing_dropped_total", "Typing events skipped for slow readers (soft tier).",
     &g_stats.slow_typing_dropped},
    {"partyline_slow_chatter_dropped_total", "Room chatter skipped for slow readers (soft tier).",
     &g_stats.slow_chatter_dropped},
    {"partyline_rate_limited_total", "Messages that waited for the input rate limit (or were dropped, for what cannot wait).",
     &g_stats.rate_limited},
    {"partyline_flood_disconnects_total", "Connections closed for flooding.", &g_stats.flood_disconnects},
    {"partyline_addr_refused_total", "Connections refused: too many from one address.", &g_stats.addr_refused},
    {"partyline_accept_pauses_total", "Times accepting paused at the open-file limit.", &g_stats.accept_pauses},
    {"partyline_login_failures_total", "Failed or refused logins.", &g_stats.login_failures},
    {"partyline_login_timeouts_total", "Sessions closed for not logging in in time.", &g_stats.login_timeouts},
    {"partyline_idle_timeouts_total", "Users logged off for idling.", &g_stats.idle_timeouts},
};

static void metrics_text(Buf *b) {
    metric(b, "partyline_connections", "gauge", "Open WebSocket, telnet and SSH connections.", g_conn_count);
    metric(b, "partyline_sessions", "gauge", "Sessions, attached or detached.", g_session_count);
    metric(b, "partyline_rooms", "gauge", "Rooms with at least one member.", room_total());
    for (size_t i = 0; i < sizeof g_counters / sizeof g_counters[0]; i++)
        metric(b, g_counters[i].name, "counter", g_counters[i].help, *g_counters[i].value);
    by_transport(b, "partyline_keepalive_probes_total", "Keepalive probes sent to connections silent for ping_s.",
                 g_stats.keepalive_probes_web, g_stats.keepalive_probes_telnet, g_stats.keepalive_probes_telnet_ws,
                 g_stats.keepalive_probes_ssh);
    by_transport(b, "partyline_keepalive_drops_total",
                 "Connections dropped for not answering a keepalive probe (clients that vanished).",
                 g_stats.keepalive_drops_web, g_stats.keepalive_drops_telnet, g_stats.keepalive_drops_telnet_ws,
                 g_stats.keepalive_drops_ssh);
    script_fault_metrics(b);
    store_metrics(b);
    cluster_metrics(b);
    hist_text(&g_event_hist, b);
    hist_text(&g_fanout_hist, b);
}

// ------------------------------------------------------------ answers

// One whole answer, written inside the callback that got the request, and
// the transaction closed at once: lws 4.1 goes on parsing a pipelined
// request as soon as the callback returns, so an answer left for a later
// WRITEABLE callback was overrun by the next request (two answers of five,
// then a hang). An answer that does not go out in one write (lws writes a
// packet, TX_PACKET_MAX, at a time; the kernel may take less) ends an
// HTTP/1 connection: lws keeps the rest, sends it as the socket drains, then
// closes (it says so, connection: close, when the size alone makes that
// sure). Nothing else works with lws 4.1: on a flow-controlled connection it
// services no POLLOUT (the rest was never sent, the loop spun until a
// timeout), and a request read while the rest waits stops it being sent.
// net/net.cpp's sweep gives a slow reader up to http_conn_max_s for it.
// Returns what the callback should return.
static int answer(struct lws *wsi, unsigned status, const char *type, const char *body, size_t len, bool head,
                  const char *allow) {
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    bool h1 = lws_get_network_wsi(wsi) == wsi; // HTTP/2 has no pipeline and no connection header
    bool body_follows = !head && len;
    bool in_parts = h1 && body_follows && len > TX_PACKET_MAX - 1024; // the head shares the first packet
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                     end) ||
        (allow && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (const unsigned char *)allow,
                                               (int)strlen(allow), &p, end)) ||
        (in_parts && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p,
                                                  end)) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    // with no body the headers end the stream (HTTP/2; ignored on HTTP/1)
    int mode = LWS_WRITE_HTTP_HEADERS | (body_follows ? 0 : LWS_WRITE_H2_STREAM_END);
    if (lws_write(wsi, start, (size_t)(p - start), (enum lws_write_protocol)mode) < 0) return -1;
    if (body_follows) {
        Buf out = {};
        if (!buf_reserve(&out, LWS_PRE + len, LWS_PRE + len)) return -1;
        memcpy(out.p + LWS_PRE, body, len);
        int n = lws_write(wsi, (unsigned char *)out.p + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        buf_free(&out);
        if (n < 0) return -1;
    }
    if (h1 && lws_partial_buffered(wsi)) {
        NetConn *c = netconn_of(wsi);
        if (c) c->flushing = true;
        return -1; // lws sends the rest, then closes
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int answer_text(struct lws *wsi, unsigned status, const char *text, const char *allow) {
    return answer(wsi, status, "text/plain; charset=utf-8", text, strlen(text), false, allow);
}

// Whether lws cut the request target at HTTP_URI_MAX (it keeps that much
// of the path and of each query argument, and skips the rest).
static bool target_too_long(struct lws *wsi) {
    static const enum lws_token_indexes methods[] = {WSI_TOKEN_GET_URI,   WSI_TOKEN_POST_URI,  WSI_TOKEN_OPTIONS_URI,
                                                     WSI_TOKEN_PUT_URI,   WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI,
                                                     WSI_TOKEN_HEAD_URI};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i]) >= HTTP_URI_MAX) return true;
    for (int i = 0; i < 256; i++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0) break;
        if (n >= HTTP_URI_MAX) return true;
    }
    return false;
}

int http_filter(struct lws *wsi) {
    net_request(wsi); // first: every rule below is about the client, not its proxy
    if (target_too_long(wsi)) {
        char addr[48];
        net_peer(wsi, addr, sizeof addr);
        log_event(LOG_WARN, "http_refused", 0, addr, "request target too long (414)");
        return net_refuse_http(wsi, "414 URI Too Long", "request target too long\n");
    }
    if (net_over_limit(wsi)) {
        char addr[48];
        net_peer(wsi, addr, sizeof addr);
        log_event(LOG_WARN, "http_refused", 0, addr, "refused: too many connections from that address (503)");
        return net_refuse_http(wsi, "503 Service Unavailable", "too many connections from your address\n");
    }
    return 0;
}

int http_confirm_upgrade(struct lws *wsi, const char *upgrade) {
    net_request(wsi); // an upgrade has no FILTER_HTTP_CONNECTION of its own
    if (target_too_long(wsi)) return http_filter(wsi);
    if (strcasecmp(upgrade, "websocket")) return 0; // h2c: the same routes over HTTP/2
    char uri[16], proto[256] = "";
    bool got = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0;
    if (got && g_cfg.telnet_ws && !strcmp(uri, "/telnet")) return tws_confirm_upgrade(wsi); // the bridge (net/telnet_ws.cpp)
    if (!got || strcmp(uri, "/ws")) {
        // lws would upgrade on any path; only /ws (and /telnet) are ours
        return net_refuse_http(wsi, "404 Not Found", "no WebSocket here: the endpoint is /ws\n");
    }
    // the bridge's framings are protocols of this vhost too, for /telnet only
    if (tws_named_bridge(wsi)) return net_refuse_http(wsi, "400 Bad Request", "no such WebSocket protocol\n");
    // the HTTP routes' protocol is named on the vhost for its mounts; a
    // WebSocket bound to it would have no session, no limits and no end
    lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL);
    char *save = NULL;
    for (char *t = strtok_r(proto, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (!strcmp(t, g_http_protocol.name)) return net_refuse_http(wsi, "400 Bad Request", "no such WebSocket protocol\n");
    return 0;
}

int http_refuse_raw(struct lws *wsi) {
    // CONNECT turns the connection into a raw socket in lws; we tunnel nothing
    return net_refuse_http(wsi, "405 Method Not Allowed\r\nallow: GET, HEAD", "method not allowed\n");
}

// ------------------------------------------------------------ static files

// The web client, from www_dir. lws's file mount is not used (net/server.cpp):
// files are read whole and answered like the other routes. Every file
// opened must lie below www_dir's real path, symbolic links or not.
#define FILE_MAX (16 << 20)

static int g_www_fd = -1;
static char g_www_real[PATH_MAX];

static const struct {
    const char *ext, *type;
} g_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".wav", "audio/wav"},
    {".mp3", "audio/mpeg"},
    {".ogg", "audio/ogg"},
    {".wasm", "application/wasm"},
};

static const char *type_of(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof g_types / sizeof g_types[0]; i++)
            if (!strcasecmp(dot, g_types[i].ext)) return g_types[i].type;
    return "application/octet-stream";
}

// Where fd really is, against www_dir's real path.
static bool inside_www(int fd, const char *rel) {
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n > 0) {
        real[n] = 0;
    } else { // no /proc: resolve the name instead
        char full[PATH_MAX * 2];
        snprintf(full, sizeof full, "%s/%s", g_www_real, rel);
        if (!realpath(full, real)) return false;
    }
    size_t wl = strlen(g_www_real);
    return wl && !strncmp(real, g_www_real, wl) && (real[wl] == '/' || real[wl] == 0 || wl == 1);
}

// The file for a request path, read whole into body; 0, or the HTTP status
// to answer instead.
static int read_www(const char *uri, int ulen, Buf *body, const char **type) {
    char rel[HTTP_URI_MAX + 16];
    if (ulen < 1 || uri[0] != '/' || ulen >= HTTP_URI_MAX) return HTTP_STATUS_NOT_FOUND;
    snprintf(rel, sizeof rel, "%.*s%s", ulen - 1, uri + 1, uri[ulen - 1] == '/' ? "index.html" : "");
    // no hidden files (.git, .htpasswd, editor droppings); lws already folded "..", "." and "//"
    if (rel[0] == '.' || strstr(rel, "/.")) return HTTP_STATUS_NOT_FOUND;
    int fd = -1;
    struct stat st;
    for (int i = 0; i < 2; i++) {
        fd = g_www_fd < 0 ? -1 : openat(g_www_fd, rel[0] ? rel : ".", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st)) break;
        if (!S_ISDIR(st.st_mode) || i) break;
        close(fd); // a directory: its index.html
        fd = -1;
        size_t rl = strlen(rel);
        snprintf(rel + rl, sizeof rel - rl, "%sindex.html", rl && rel[rl - 1] != '/' ? "/" : "");
    }
    if (fd < 0) return HTTP_STATUS_NOT_FOUND;
    int status = 0;
    if (!S_ISREG(st.st_mode)) {
        status = HTTP_STATUS_NOT_FOUND;
    } else if (!inside_www(fd, rel)) {
        log_event(LOG_WARN, "http_refused", 0, NULL, "not serving %s: it leads outside www_dir", rel);
        status = HTTP_STATUS_NOT_FOUND;
    } else if (st.st_size > FILE_MAX || !buf_reserve(body, (size_t)st.st_size + 1, FILE_MAX + 1)) {
        log_event(LOG_WARN, "http_error", 0, NULL, "not serving %s: over %d bytes", rel, FILE_MAX);
        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
    } else {
        while (body->len < (size_t)st.st_size) {
            ssize_t n = read(fd, body->p + body->len, (size_t)st.st_size - body->len);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break; // shrank while read: what there was
            body->len += (size_t)n;
        }
        *type = type_of(rel);
    }
    close(fd);
    return status;
}

// ------------------------------------------------------------ /healthz, /metrics

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; // never a WebSocket (http_confirm_upgrade answers first)
    case LWS_CALLBACK_HTTP: {
        char *uri = NULL;
        int ulen = 0;
        if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0 || !uri) return -1;
        bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
        bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
        if (!get && !head) return answer_text(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
        Buf body = {};
        const char *type = "text/plain; charset=utf-8";
        unsigned status = HTTP_STATUS_OK;
        if (ulen == 8 && !memcmp(uri, "/healthz", 8)) {
            buf_adds(&body, "ok\n", 16);
        } else if (ulen == 8 && !memcmp(uri, "/metrics", 8)) {
            if (net_metrics_allowed(wsi)) {
                metrics_text(&body);
                type = "text/plain; version=0.0.4; charset=utf-8";
            } else {
                status = HTTP_STATUS_FORBIDDEN;
                buf_adds(&body, "forbidden\n", 16);
            }
        } else {
            int err = read_www(uri, ulen, &body, &type);
            if (err) {
                status = (unsigned)err;
                type = "text/plain; charset=utf-8";
                body.len = 0;
                buf_adds(&body, err == HTTP_STATUS_NOT_FOUND ? "not found\n" : "cannot serve that file\n", 64);
            }
        }
        int rc = answer(wsi, status, type, body.p, body.len, head, NULL);
        buf_free(&body);
        return rc;
    }
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return 0; // a body sent with a request these routes refused: dropped
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

void http_init(struct lws_context *) {
    if (g_www_fd >= 0) return;
    if (!realpath(g_cfg.www_dir, g_www_real)) g_www_real[0] = 0;
    g_www_fd = g_www_real[0] ? open(g_www_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (g_www_fd < 0) log_warn("http", "www_dir %s cannot be opened: %s; no web client is served", g_cfg.www_dir, strerror(errno));
}

// tx_packet_size: left at 0, lws would cut the /metrics answer at its rx
// buffer size and keep the rest for later, and a pipelined request parsed
// meanwhile would find the transaction still open (net/transport.h)
const struct lws_protocols g_http_protocol = {"partyline-http", cb_http, 0, 0, 0, NULL, TX_PACKET_MAX};
