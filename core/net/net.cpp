// Every accepted connection, held to its rules from accept to lws's destroy
// callback: connections per address, the lifetime of connections that are
// not sessions, the first request head checked before lws reads it, and
// refusals the client gets to read (a lingering close). The listening
// sockets themselves are net/listen.cpp's.
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "board/limits.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "net/keepalive.h"

// ------------------------------------------------------------ connections

// What we know of every accepted socket, from accept to LWS_CALLBACK_WSI_DESTROY.
struct NetConn {
    NetConn *prev, *next; // in g_plain, or g_sessions once a session
    struct lws *wsi;
    uv_poll_t *peek;      // web: waiting for the first request head (on_peek)
    int fd;
    uint32_t peeked;      // bytes of it seen so far
    uint64_t opened_ms;
    bool telnet;
    bool over;     // its address was at max_conns_per_addr: refused politely
    bool session;  // a WebSocket or telnet session (own timeouts)
    bool doomed;   // its lifetime ran out; lws is closing it
    bool orphan;   // adoption failed: lws may still destroy the wsi it made (async)
    char addr[48];
};

static uv_loop_t *g_loop;
static bool g_started;          // listening; timers and check handles set up
static struct lws_vhost *g_web_vh, *g_telnet_vh;
static NetConn *g_plain;        // connections that are not sessions, oldest first
static NetConn *g_plain_tail;
static NetConn *g_sessions;     // the rest (only walked to free them at exit)
static NetConn *g_adopting;     // the connection being handed to lws right now
static bool g_adopting_gone;    // ...and lws already destroyed it (adoption failed)
static uv_timer_t g_sweep;
static AddrRange g_metrics[32];
static int g_metrics_n;

static NetConn *conn_of(struct lws *wsi) {
    struct lws *nwsi = lws_get_network_wsi(wsi); // an h2 stream's record is its connection's
    return (NetConn *)lws_get_opaque_user_data(nwsi ? nwsi : wsi);
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
    limits_addr_close(c->addr);
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
    NetConn *c = conn_of(wsi);
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
    NetConn *c = conn_of(wsi);
    if (c) snprintf(out, outlen, "%s", c->addr);
    else lws_get_peer_simple(wsi, out, outlen);
}

bool net_over_limit(struct lws *wsi) {
    NetConn *c = conn_of(wsi);
    return c && c->over;
}

bool net_metrics_allowed(struct lws *wsi) {
    NetConn *c = conn_of(wsi);
    return c && addr_in_ranges(g_metrics, g_metrics_n, c->addr);
}

// Connections that never became a session (HTTP, and anything lws turned
// them into) live http_conn_max_s at most, however busy; one refused for
// its address gets a few seconds to read why.
#define OVER_LIFETIME_MS 5000

#define HEAD_TIMEOUT_MS 10000 // as lws allows for a head it reads itself
#define ORPHAN_MS 3000        // far longer than the iteration lws's close takes

static void peek_drop(NetConn *c);

static void sweep(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (NetConn *c = g_plain, *next; c; c = next) {
        next = c->next;
        if (c->peek && now - c->opened_ms >= HEAD_TIMEOUT_MS) {
            peek_drop(c);
            continue;
        }
        if (c->orphan && now - c->opened_ms >= ORPHAN_MS) {
            conn_release(c);
            continue;
        }
        uint64_t life = c->over ? OVER_LIFETIME_MS : (uint64_t)g_cfg.http_conn_max_s * 1000;
        if (c->doomed || !c->wsi || now - c->opened_ms < life) continue;
        c->doomed = true;
        // at once: lws would replace a timeout with its own at the next request
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_SYNC);
    }
}

// ------------------------------------------------------------ lingering close

// A refused client may still be sending (the rest of a huge header); closing
// a socket with unread input sends a reset, and a reset makes the client's
// kernel throw away our answer. So the answer goes out, then our side is
// shut, then what still arrives is read and dropped until the client closes
// or LINGER_MS pass. The socket is a dup of lws's, which lws closes as usual.
#define LINGER_MS 2000
#define LINGER_BYTES (1 << 20)

struct Linger {
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    int handles; // closed handles still to come back
    size_t drained;
};

static int g_linger_max;
static Linger *g_lingers[64];

static void linger_closed(uv_handle_t *h) {
    Linger *l = (Linger *)h->data;
    if (--l->handles) return;
    close(l->fd);
    free(l);
}

static void linger_end(Linger *l) {
    if (uv_is_closing((uv_handle_t *)&l->poll)) return;
    for (int i = 0; i < 64; i++)
        if (g_lingers[i] == l) g_lingers[i] = NULL;
    uv_close((uv_handle_t *)&l->poll, linger_closed);
    uv_close((uv_handle_t *)&l->timer, linger_closed);
}

static void linger_read(uv_poll_t *p, int status, int) {
    Linger *l = (Linger *)p->data;
    char buf[16384];
    for (;;) {
        ssize_t n = status < 0 ? 0 : recv(l->fd, buf, sizeof buf, 0);
        if (n > 0) {
            l->drained += (size_t)n;
            if (l->drained < LINGER_BYTES) continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        return linger_end(l); // closed, failed, or sending without end
    }
}

static void linger_timeout(uv_timer_t *t) { linger_end((Linger *)t->data); }

static int linger_slot(void) {
    for (int i = 0; i < g_linger_max; i++)
        if (!g_lingers[i]) return i;
    return -1;
}

// Takes d (a socket whose answer is written) and closes it once drained.
static void linger(int d) {
    int slot = linger_slot();
    Linger *l = slot < 0 ? NULL : (Linger *)calloc(1, sizeof *l);
    if (!l) { // too many at once: closed now, and a reset may cost the answer
        close(d);
        return;
    }
    shutdown(d, SHUT_WR);
    l->fd = d;
    l->handles = 2;
    uv_poll_init(g_loop, &l->poll, d);
    uv_timer_init(g_loop, &l->timer);
    l->poll.data = l->timer.data = l;
    uv_poll_start(&l->poll, UV_READABLE, linger_read);
    uv_timer_start(&l->timer, linger_timeout, LINGER_MS, 0);
    g_lingers[slot] = l;
}

void net_refuse(struct lws *wsi, const char *msg, size_t len) {
    int fd = lws_get_socket_fd(lws_get_network_wsi(wsi));
    if (fd < 0) return;
    // after a partly written answer our bytes would land inside it
    if (!lws_partial_buffered(wsi) && send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) return;
    // lws closes its descriptor; the socket lives on in the copy until drained
    int d = linger_slot() < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) linger(d);
}

static void hand_to_lws(NetConn *c, int fd) {
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = c->telnet ? g_telnet_vh : g_web_vh;
    info.type = c->telnet ? LWS_ADOPT_SOCKET : (lws_adoption_type)(LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP);
    info.fd.sockfd = fd;
    info.vh_prot_name = c->telnet ? "telnet" : NULL;
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

// ---- the first request head, before lws reads it

static void peek_closed(uv_handle_t *h) { free(h); }

static void peek_stop(NetConn *c) {
    uv_close((uv_handle_t *)c->peek, peek_closed); // unregisters the fd at once: lws may poll it next
    c->peek = NULL;
}

static void peek_drop(NetConn *c) {
    peek_stop(c);
    close(c->fd);
    conn_release(c);
}

static void on_peek(uv_poll_t *p, int status, int) {
    NetConn *c = (NetConn *)p->data;
    if (status < 0) return peek_drop(c); // the socket failed (libuv stopped the poll)
    char buf[HTTP_HEAD_MAX + 1];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    // gone, or woken without more data: the client closed mid-head
    if (n <= 0 || (uint32_t)n == c->peeked) return peek_drop(c);
    bool complete = false;
    int verdict = net_http_head_check(buf, (size_t)n, &complete);
    if (verdict) {
        log_event(LOG_WARN, "http_refused", 0, c->addr, "%s (%d)",
                  verdict == 414 ? "request target too long" : "request headers too large", verdict);
        static const char r414[] = "HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                   "content-length: 24\r\nconnection: close\r\n\r\nrequest target too long\n";
        static const char r431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                   "content-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\n"
                                   "connection: close\r\n\r\nrequest header fields too large\n";
        const char *r = verdict == 414 ? r414 : r431;
        size_t rl = verdict == 414 ? sizeof r414 - 1 : sizeof r431 - 1;
        peek_stop(c);
        int fd = c->fd;
        conn_release(c);
        if (send(fd, r, rl, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) close(fd);
        else linger(fd);
        return;
    }
    int lowat = complete ? 1 : (int)n + 1;
    // wake again only when more has come (the data stays unread)
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
    if (!complete) {
        c->peeked = (uint32_t)n;
        return;
    }
    peek_stop(c);
    hand_to_lws(c, c->fd);
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

void net_accepted(int fd, const struct sockaddr *sa, bool telnet) {
    int one = 1; // interactive lines, not bulk: no Nagle delay (as lws's listener does)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // telnet has no pings of its own: the kernel watches the peer too (a
    // WebSocket has ours, and an HTTP connection its lifetime)
    if (telnet) keepalive_socket(fd);
    NetConn *c = (NetConn *)calloc(1, sizeof *c);
    uv_poll_t *peek = telnet ? NULL : (uv_poll_t *)malloc(sizeof *peek);
    if (!c || (!telnet && !peek)) {
        free(c);
        free(peek);
        close(fd);
        return;
    }
    addr_text(sa, c->addr, sizeof c->addr);
    AddrVerdict r = limits_addr_open(c->addr);
    if (r == ADDR_DROP) { // far past the limit: no polite answer, it would only cost more
        close(fd);
        free(c);
        free(peek);
        return;
    }
    c->over = r == ADDR_REFUSE;
    c->telnet = telnet;
    c->fd = fd;
    c->opened_ms = text_now_ms();
    c->prev = g_plain_tail;
    if (g_plain_tail) g_plain_tail->next = c;
    else g_plain = c;
    g_plain_tail = c;
    if (telnet && c->over) {
        // said here, before lws or a session exists for it (a protocol reason, not prose)
        static const char why[] = "too many connections from your address\r\n";
        log_event(LOG_WARN, "telnet_refused", 0, c->addr, "refused: too many connections from that address");
        conn_release(c);
        if (send(fd, why, sizeof why - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) close(fd);
        else linger(fd);
        return;
    }
    if (telnet) return hand_to_lws(c, fd);
    c->peek = peek;
    uv_poll_init(g_loop, peek, fd);
    peek->data = c;
    uv_poll_start(peek, UV_READABLE, on_peek);
}

int net_listen(uv_loop_t *loop, struct lws_vhost *web, struct lws_vhost *telnet, char *err, size_t errlen) {
    g_loop = loop;
    g_web_vh = web;
    g_telnet_vh = telnet;
    char why[200];
    if (!addr_parse_ranges(g_cfg.metrics_allow, g_metrics, 32, &g_metrics_n, why, sizeof why)) {
        snprintf(err, errlen, "metrics_allow: %s", why);
        return -1;
    }
    int reserve = net_listen_start(loop, err, errlen);
    if (reserve < 0) return -1;
    g_linger_max = reserve / 2 < 64 ? reserve / 2 : 64;
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
    for (int i = 0; i < 64; i++)
        if (g_lingers[i]) linger_end(g_lingers[i]);
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
