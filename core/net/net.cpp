// Every accepted connection, held to its rules from accept to lws's destroy
// callback: connections per address, the lifetime of connections that are
// not sessions, and what is read before lws has the socket: a trusted
// proxy's PROXY preamble, whether the HTTPS port got TLS or plain HTTP, and
// the first request head. The listening sockets are net/listen.cpp's, the
// lingering close net/linger.cpp's, forwarding headers net/forwarded.cpp's.
#include "net/net.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "board/limits.h"
#include "net/netconn.h"
#include "net/proxy.h"
#include "net/tls.h"
#include "net/keepalive.h"

// ------------------------------------------------------------ connections

static uv_loop_t *g_loop;
static bool g_started;          // listening; timers and check handles set up
static NetVhosts g_vh;
static NetConn *g_plain;        // connections that are not sessions, oldest first
static NetConn *g_plain_tail;
static NetConn *g_sessions;     // the rest (only walked to free them at exit)
static NetConn *g_adopting;     // the connection being handed to lws right now
static bool g_adopting_gone;    // ...and lws already destroyed it (adoption failed)
static uv_timer_t g_sweep;
static AddrRange g_metrics[32];
static int g_metrics_n;

NetConn *netconn_of(struct lws *wsi) {
    struct lws *nwsi = lws_get_network_wsi(wsi); // an h2 stream's record is its connection's
    return (NetConn *)lws_get_opaque_user_data(nwsi ? nwsi : wsi);
}

void netconn_count_as(NetConn *c, const char *a) {
    if (c->counted && !strcmp(c->addr, a)) return;
    if (c->counted) limits_addr_close(c->addr);
    if (a != c->addr) snprintf(c->addr, sizeof c->addr, "%s", a);
    AddrVerdict v = limits_addr_open(c->addr);
    c->counted = v != ADDR_DROP;
    c->over = v != ADDR_OK;
}

static void unlink_conn(NetConn *c) {
    if (c->prev) c->prev->next = c->next;
    else if (g_plain == c) g_plain = c->next;
    else if (g_sessions == c) g_sessions = c->next;
    if (c->next) c->next->prev = c->prev;
    else if (g_plain_tail == c) g_plain_tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_release(NetConn *c) {
    unlink_conn(c);
    if (c->counted) limits_addr_close(c->addr);
    free(c);
}

void net_wsi_destroyed(struct lws *wsi) {
    NetConn *c = (NetConn *)lws_get_opaque_user_data(wsi);
    if (!c) return;
    lws_set_opaque_user_data(wsi, NULL);
    if (c == g_adopting) g_adopting_gone = true;
    conn_release(c);
}

bool net_admit_session(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    if (!c) return true; // not one of ours (cannot happen): let the protocol carry on
    c->wsi = wsi;
    if (c->over) return false;
    if (!c->session) {
        unlink_conn(c);
        c->session = true;
        c->next = g_sessions;
        if (g_sessions) g_sessions->prev = c;
        g_sessions = c;
    }
    return true;
}

void net_peer(struct lws *wsi, char *out, size_t outlen) {
    NetConn *c = netconn_of(wsi);
    if (c) snprintf(out, outlen, "%s", c->addr);
    else lws_get_peer_simple(wsi, out, outlen);
}

bool net_secure(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    return c && c->secure;
}

bool net_tls(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    return c && c->tls;
}

bool net_over_limit(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    return c && c->over;
}

bool net_metrics_allowed(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    return c && addr_in_ranges(g_metrics, g_metrics_n, c->addr);
}

// Connections that never became a session (HTTP, and anything lws turned
// them into) live http_conn_max_s at most, however busy; one refused for
// its address gets a few seconds to read why.
#define OVER_LIFETIME_MS 5000

#define HEAD_TIMEOUT_MS 10000 // as lws allows for a head it reads itself
#define ORPHAN_MS 3000        // far longer than the iteration lws's close takes
// A telnet client may wait for the server to speak first, so a trusted
// proxy's connection that has sent nothing this long (the sweep's second
// at most later) is taken for a direct one from that host: a proxy sends
// its preamble as it connects.
#define PROXY_WAIT_MS 1000

static void peek_drop(NetConn *c);
static void peek_stop(NetConn *c);
static void start_telnet(NetConn *c);

static void sweep(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (NetConn *c = g_plain, *next; c; c = next) {
        next = c->next;
        if (c->peek && c->want_proxy && !c->peeked && c->kind != NET_WEB && c->kind != NET_REDIRECT &&
            now - c->opened_ms >= PROXY_WAIT_MS) {
            c->want_proxy = false;
            peek_stop(c);
            start_telnet(c);
            continue;
        }
        if (c->peek && now - c->opened_ms >= HEAD_TIMEOUT_MS) {
            peek_drop(c);
            continue;
        }
        if (c->orphan && now - c->opened_ms >= ORPHAN_MS) {
            conn_release(c);
            continue;
        }
        uint64_t life = c->over ? OVER_LIFETIME_MS : (uint64_t)g_cfg.http_conn_max_s * 1000;
        if (c->flushing && !c->doomed && c->wsi && now - c->opened_ms < life)
            // lws allows 5 s to send what it holds before a close: a slow
            // reader of a big file gets until the connection's end of life
            lws_set_timeout(c->wsi, PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE, 5);
        if (c->doomed || !c->wsi || now - c->opened_ms < life) continue;
        c->doomed = true;
        // at once: lws would replace a timeout with its own at the next request
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_SYNC);
    }
}

static void hand_to_lws(NetConn *c) {
    bool telnet = c->kind == NET_TELNET || c->kind == NET_TELNET_TLS;
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    if (c->kind == NET_SSH) {
        // libssh reads and writes the socket itself: lws only polls it, as
        // a raw file descriptor (net/ssh_conn.cpp)
        info.vh = g_vh.ssh;
        info.type = LWS_ADOPT_RAW_FILE_DESC;
        info.fd.filefd = c->fd;
        info.vh_prot_name = "ssh";
        info.opaque = c;
        g_adopting = c;
        g_adopting_gone = false;
        struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info);
        g_adopting = NULL;
        if (!wsi) {
            // a raw descriptor whose adoption failed (out of memory) is ours
            // to close, unless lws destroyed what it had made of it
            if (!g_adopting_gone) {
                close(c->fd);
                conn_release(c);
            }
            return;
        }
        c->wsi = wsi;
        return;
    }
    info.vh = c->kind == NET_TELNET ? g_vh.telnet : c->kind == NET_TELNET_TLS ? g_vh.telnet_tls
              : c->kind == NET_REDIRECT || c->to_redirect ? g_vh.redirect : g_vh.web;
    int type = LWS_ADOPT_SOCKET | (telnet ? 0 : LWS_ADOPT_HTTP) | (c->tls ? LWS_ADOPT_ALLOW_SSL : 0);
    info.type = (lws_adoption_type)type;
    info.fd.sockfd = c->fd;
    info.vh_prot_name = telnet ? "telnet" : NULL;
    info.opaque = c;
    g_adopting = c;
    g_adopting_gone = false;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info); // closes fd itself on failure
    g_adopting = NULL;
    if (!wsi) {
        // A refusal in the adoption callback closes the new wsi, and on
        // libuv its LWS_CALLBACK_WSI_DESTROY comes an iteration later; a
        // failure before the wsi existed never calls it. The record waits
        // for the first, and the sweep frees it after the second.
        if (!g_adopting_gone) {
            c->orphan = true;
            c->opened_ms = text_now_ms();
        }
        return;
    }
    if (!c->wsi) c->wsi = wsi;
}

// A last line before lws ever has the socket (a protocol reason, not prose).
static void refuse_now(NetConn *c, const char *event, const char *why, size_t len, const char *logline) {
    log_event(LOG_WARN, event, 0, c->addr, "%s", logline);
    int fd = c->fd;
    conn_release(c);
    if (send(fd, why, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) close(fd);
    else net_linger(fd, true);
}

// A telnet or SSH connection whose client is known (the PROXY preamble
// read, or none to read): counted, and refused here when its address is
// over the limit (inside TLS, and in SSH's own words, the refusal waits
// for the handshake: net_admit_session).
static void start_telnet(NetConn *c) {
    if (!c->counted) netconn_count_as(c, c->addr);
    if (!c->counted) return peek_drop(c); // far past the limit: not a word
    c->tls = c->kind == NET_TELNET_TLS;
    c->secure = c->tls || c->proxy_tls || c->kind == NET_SSH;
    if (c->kind == NET_TELNET && c->over) {
        static const char why[] = "too many connections from your address\r\n";
        return refuse_now(c, "telnet_refused", why, sizeof why - 1, "refused: too many connections from that address");
    }
    hand_to_lws(c);
}

// ---- what is read before lws has the socket

static void peek_closed(uv_handle_t *h) { free(h); }

static void peek_stop(NetConn *c) {
    if (!c->peek) return;
    uv_close((uv_handle_t *)c->peek, peek_closed); // unregisters the fd at once: lws may poll it next
    c->peek = NULL;
}

static void peek_drop(NetConn *c) {
    peek_stop(c);
    close(c->fd);
    conn_release(c);
}

// Wake again only when more than n bytes wait (the data stays unread).
static void wait_more(NetConn *c, int n) {
    int lowat = n + 1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
    c->peeked = (uint32_t)n;
}

// The first bytes from a trusted proxy: its PROXY preamble, taken off the
// stream, names the client. Returns the bytes left in buf after it, or -1
// when c is gone (a broken preamble) or must wait for more.
static int read_preamble(NetConn *c, uint8_t *buf, int n) {
    ProxyInfo pi;
    ProxyVerdict v = proxy_preamble(buf, (size_t)n, &pi);
    if (v == PROXY_MORE) {
        wait_more(c, n);
        return -1;
    }
    if (v == PROXY_BAD) {
        log_event(LOG_WARN, "proxy_refused", 0, c->addr, "a broken PROXY protocol preamble from trusted proxy %s: closed", c->origin);
        peek_drop(c);
        return -1;
    }
    c->want_proxy = false;
    if (v == PROXY_NONE) return n; // a connection of the trusted host's own, e.g. the sysop's telnet
    if (recv(c->fd, buf, pi.len, 0) != (ssize_t)pi.len) { // it was all there: peeked
        peek_drop(c);
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    c->peeked = 0;
    n -= (int)pi.len;
    memmove(buf, buf + pi.len, (size_t)n);
    c->proxy_tls = pi.tls;
    if (!pi.addr[0]) return n; // the proxy's own connection (a health check)
    snprintf(c->origin, sizeof c->origin, "%s", pi.addr);
    snprintf(c->addr, sizeof c->addr, "%s", pi.addr);
    // a proxy behind a proxy may still name the client in a header
    c->trusted = forwarded_trusted(c->origin);
    if (!c->trusted) netconn_count_as(c, c->addr);
    if (!c->trusted && !c->counted) {
        peek_drop(c);
        return -1;
    }
    return n;
}

static void on_peek(uv_poll_t *p, int status, int) {
    NetConn *c = (NetConn *)p->data;
    if (status < 0) return peek_drop(c); // the socket failed (libuv stopped the poll)
    uint8_t buf[HTTP_HEAD_MAX + 1 > PROXY_V2_MAX ? HTTP_HEAD_MAX + 1 : PROXY_V2_MAX];
    ssize_t got = recv(c->fd, buf, HTTP_HEAD_MAX + 1, MSG_PEEK);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    // gone, or woken without more data: the client closed mid-head
    if (got <= 0 || (uint32_t)got == c->peeked) return peek_drop(c);
    int n = (int)got;
    if (c->want_proxy && (n = read_preamble(c, buf, n)) < 0) return;
    if (c->kind == NET_TELNET || c->kind == NET_TELNET_TLS || c->kind == NET_SSH) {
        peek_stop(c);
        return start_telnet(c);
    }
    if (n == 0) return; // only a preamble so far
    if (c->sniff_tls) {
        c->sniff_tls = false;
        if (buf[0] == 0x16) { // a TLS handshake record: lws reads the head inside it (net/server.cpp)
            peek_stop(c);
            c->tls = c->secure = true;
            return hand_to_lws(c);
        }
        c->to_redirect = true; // plain HTTP on the HTTPS port: told where to go
    }
    bool complete = false;
    int verdict = net_http_head_check((const char *)buf, (size_t)n, &complete);
    if (verdict) {
        peek_stop(c);
        char line[80];
        snprintf(line, sizeof line, "%s (%d)", verdict == 414 ? "request target too long" : "request headers too large", verdict);
        static const char r414[] = "HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                   "content-length: 24\r\nconnection: close\r\n\r\nrequest target too long\n";
        static const char r431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                   "content-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\n"
                                   "connection: close\r\n\r\nrequest header fields too large\n";
        if (verdict == 414) refuse_now(c, "http_refused", r414, sizeof r414 - 1, line);
        else refuse_now(c, "http_refused", r431, sizeof r431 - 1, line);
        return;
    }
    if (!complete) return wait_more(c, n);
    int one = 1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    peek_stop(c);
    hand_to_lws(c);
}

int net_http_head_check(const char *buf, size_t n, bool *complete) {
    *complete = false;
    const char *end = buf + n;
    const char *nl = (const char *)memchr(buf, '\n', n);
    const char *line_end = nl ? nl : end;
    const char *sp = (const char *)memchr(buf, ' ', (size_t)(line_end - buf));
    if (sp) {
        const char *t = sp + 1;
        const char *te = (const char *)memchr(t, ' ', (size_t)(line_end - t));
        if (!te) te = line_end;
        if (te - t >= HTTP_URI_MAX) return 414;
        const char *q = (const char *)memchr(t, '?', (size_t)(te - t));
        int args = q ? 1 : 0;
        for (const char *x = q; x && x < te; x++) args += *x == '&';
        if (args > HTTP_ARGS_MAX) return 414;
    }
    if (!nl) return n > HTTP_HEAD_MAX ? 414 : 0; // a request line without end
    int lines = 0;
    for (const char *l = nl + 1; l < end;) {
        const char *e = (const char *)memchr(l, '\n', (size_t)(end - l));
        if (!e) break;
        if (e == l || (e == l + 1 && *l == '\r')) { // the blank line: the head is whole
            *complete = true;
            return (size_t)(e + 1 - buf) > HTTP_HEAD_MAX ? 431 : 0;
        }
        if (++lines > HTTP_HEADERS_MAX) return 431;
        l = e + 1;
    }
    return n > HTTP_HEAD_MAX ? 431 : 0;
}


void net_accepted(int fd, const struct sockaddr *sa, NetKind kind) {
    int one = 1; // interactive lines, not bulk: no Nagle delay (as lws's listener does)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // telnet has no pings of its own, and SSH's wait for its shell: the
    // kernel watches the peer too (a WebSocket has ours, and an HTTP
    // connection its lifetime)
    if (kind == NET_TELNET || kind == NET_TELNET_TLS || kind == NET_SSH) keepalive_socket(fd);
    NetConn *c = (NetConn *)calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    addr_text(sa, c->origin, sizeof c->origin);
    memcpy(c->addr, c->origin, sizeof c->addr);
    c->kind = kind;
    c->fd = fd;
    c->opened_ms = text_now_ms();
    // a trusted proxy is not a client: its connections count under the
    // client it names, once it has named one
    c->trusted = forwarded_trusted(c->origin);
    if (!c->trusted) {
        netconn_count_as(c, c->addr);
        if (!c->counted) { // far past the limit: no polite answer, it would only cost more
            close(fd);
            free(c);
            return;
        }
    }
    c->prev = g_plain_tail;
    if (g_plain_tail) g_plain_tail->next = c;
    else g_plain = c;
    g_plain_tail = c;
    c->want_proxy = c->trusted;
    c->sniff_tls = kind == NET_WEB && tls_on();
    bool telnet = kind == NET_TELNET || kind == NET_TELNET_TLS || kind == NET_SSH;
    if (telnet && !c->want_proxy) return start_telnet(c);
    c->peek = (uv_poll_t *)malloc(sizeof *c->peek);
    if (!c->peek) {
        close(fd);
        conn_release(c);
        return;
    }
    uv_poll_init(g_loop, c->peek, fd);
    c->peek->data = c;
    uv_poll_start(c->peek, UV_READABLE, on_peek);
}

int net_listen(uv_loop_t *loop, const NetVhosts *vh, char *err, size_t errlen) {
    g_loop = loop;
    g_vh = *vh;
    char why[200];
    if (!addr_parse_ranges(g_cfg.metrics_allow, g_metrics, 32, &g_metrics_n, why, sizeof why)) {
        snprintf(err, errlen, "metrics_allow: %s", why);
        return -1;
    }
    if (!forwarded_init(err, errlen)) return -1;
    int reserve = net_listen_start(loop, err, errlen);
    if (reserve < 0) return -1;
    net_linger_init(loop, reserve / 2);
    uv_timer_init(loop, &g_sweep);
    uv_timer_start(&g_sweep, sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&g_sweep);
    g_started = true;
    return 0;
}

void net_stop(void) {
    net_listen_stop();
    for (NetConn *c = g_plain, *next; c; c = next) {
        next = c->next;
        if (c->peek) peek_drop(c); // lws never had these
    }
    net_linger_stop();
    if (!g_started) return;
    g_started = false;
    uv_timer_stop(&g_sweep);
    uv_close((uv_handle_t *)&g_sweep, NULL);
}

void net_free(void) {
    // lws destroyed every connection it had; what is left was never its
    while (g_plain) conn_release(g_plain);
    while (g_sessions) conn_release(g_sessions);
}
