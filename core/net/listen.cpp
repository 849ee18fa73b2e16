// The listening sockets: where we listen (`bind`: one address, several, or
// every address), accepting in bounded batches, and pausing accept at the
// open-file limit instead of retrying it in a loop (lws 4.1's own listener
// spins there, and binds a dual-stack socket whatever `iface` says). What
// is accepted goes to net/net.cpp, which holds each connection to its rules.
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "net/net.h"

#define MAX_LISTENERS 40 // MAX_ADDRS on each of the five kinds of port
#define MAX_ADDRS 8
#define PAUSE_MS 500
#define FD_REPORT_MS 10000

struct Listener {
    uv_poll_t poll;
    int fd;
    NetKind kind;
    bool dual; // the empty bind's IPv6 wildcard, which takes IPv4 too
    struct sockaddr_storage sa;
};

static Listener *g_listeners[MAX_LISTENERS];
static int g_nlisteners;
static uv_timer_t g_resume;
static bool g_paused;
static int g_fd_limit, g_fd_reserve;
// At the open-file limit: reported at once, then at most every FD_REPORT_MS.
static uint32_t g_fd_hits;     // pauses since the last report
static uint64_t g_fd_report_ms;
static bool g_fd_short;        // short of descriptors, recovery not yet reported

static void on_accept(uv_poll_t *p, int status, int events);

static void resume(uv_timer_t *) {
    g_paused = false;
    for (int i = 0; i < g_nlisteners; i++) uv_poll_start(&g_listeners[i]->poll, UV_READABLE, on_accept);
}

// Out of descriptors (or at the reserve kept for the database, scripts and
// files): stop accepting for a moment, as nginx does, instead of retrying
// accept() in a loop. Waiting clients stay in the kernel's queue.
static void fd_short(int err) {
    g_stats.accept_pauses++;
    g_fd_hits++;
    uint64_t now = text_now_ms();
    // at most two lines in any FD_REPORT_MS: a recovery (adopt) and this
    if (!g_fd_short || now - g_fd_report_ms >= FD_REPORT_MS) {
        log_warn("fd_limit", "out of file descriptors (%d at most%s): accepting paused %d ms at a time; %u pauses since the last report",
                 g_fd_limit, err ? "" : ", less a reserve for files", PAUSE_MS, g_fd_hits);
        g_fd_report_ms = now;
        g_fd_hits = 0;
    }
    g_fd_short = true;
    if (g_paused) return;
    g_paused = true;
    for (int i = 0; i < g_nlisteners; i++) uv_poll_stop(&g_listeners[i]->poll);
    uv_timer_start(&g_resume, resume, PAUSE_MS, 0);
}

static bool g_started;
static uv_loop_t *g_loop;

static void on_accept(uv_poll_t *p, int status, int) {
    Listener *l = (Listener *)p->data;
    if (status < 0) return;
    // a bounded batch per wakeup, so one busy port cannot starve the loop
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) return fd_short(errno);
            log_warn("accept", "accept failed: %s", strerror(errno));
            return fd_short(errno);
        }
        // accept returns the lowest free descriptor: this high means at most
        // the reserve is left for everything else the server opens
        if (fd >= g_fd_limit - g_fd_reserve) {
            close(fd);
            return fd_short(0);
        }
        if (g_fd_short && text_now_ms() - g_fd_report_ms >= FD_REPORT_MS) {
            log_info("fd_limit", "accepting connections again (%u pauses since the last report)", g_fd_hits);
            g_fd_report_ms = text_now_ms();
            g_fd_short = false;
            g_fd_hits = 0;
        }
        net_accepted(fd, (struct sockaddr *)&sa, l->kind);
    }
}

// One bind address as written in the configuration: "*" (or nothing) for
// every address, an IPv4 or IPv6 address (IPv6 may be in brackets), or a
// host name, which stands for each address it resolves to.
static int resolve(const char *item, struct sockaddr_storage *out, int max, int *n, char *err, size_t errlen) {
    char host[256];
    size_t len = strlen(item);
    if (len >= sizeof host) {
        snprintf(err, errlen, "bind: '%.40s...' is too long", item);
        return -1;
    }
    if (item[0] == '[' && len > 2 && item[len - 1] == ']') {
        memcpy(host, item + 1, len - 2);
        host[len - 2] = 0;
    } else {
        memcpy(host, item, len + 1);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, "0", &hints, &res);
    if (rc) {
        snprintf(err, errlen, "bind: '%s' is not an address or a known host name (%s)", item, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        bool dup = false;
        for (int i = 0; i < *n && !dup; i++) dup = !memcmp(&out[i], ai->ai_addr, ai->ai_addrlen);
        if (dup) continue;
        if (*n == max) {
            freeaddrinfo(res);
            snprintf(err, errlen, "bind: more than %d addresses", max);
            return -1;
        }
        memset(&out[*n], 0, sizeof out[*n]);
        memcpy(&out[(*n)++], ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    return 0;
}

static void describe(const struct sockaddr_storage *sa, bool dual, char *out, size_t outlen) {
    char a[64];
    addr_text((const struct sockaddr *)sa, a, sizeof a);
    int port = ntohs(sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                                              : ((const struct sockaddr_in6 *)sa)->sin6_port);
    if (dual) snprintf(out, outlen, "*:%d", port);
    else if (sa->ss_family == AF_INET6) snprintf(out, outlen, "[%s]:%d", a, port);
    else snprintf(out, outlen, "%s:%d", a, port);
}

// dual: the wildcard of an empty bind, which takes IPv4 too.
static int open_listener(const struct sockaddr_storage *sa, int port, NetKind kind, bool dual, char *err, size_t errlen) {
    struct sockaddr_storage a = *sa;
    socklen_t alen;
    if (a.ss_family == AF_INET) {
        ((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
        alen = sizeof(struct sockaddr_in);
    } else {
        ((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
        alen = sizeof(struct sockaddr_in6);
    }
    char where[96];
    describe(&a, dual, where, sizeof where);
    int fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(errno));
        return -1;
    }
    int one = 1, v6only = dual ? 0 : 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // exactly the address asked for: an IPv6 socket takes no IPv4 unless it is the empty bind's
    if (a.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (bind(fd, (struct sockaddr *)&a, alen) < 0 || listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    Listener *l = (Listener *)calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fd = fd;
    l->kind = kind;
    l->dual = dual;
    socklen_t sl = sizeof l->sa;
    getsockname(fd, (struct sockaddr *)&l->sa, &sl); // the real port when port was 0
    uv_poll_init(g_loop, &l->poll, fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_accept);
    g_listeners[g_nlisteners++] = l;
    return 0;
}

int net_listen_start(uv_loop_t *loop, char *err, size_t errlen) {
    g_loop = loop;
    struct rlimit rl;
    g_fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(1 << 30) ? (int)rl.rlim_cur : 1 << 30;
    // what the database, the scripts, the static files and the hashing
    // threads may still open when connections have taken the rest
    g_fd_reserve = g_fd_limit / 8;
    if (g_fd_reserve < 16) g_fd_reserve = 16;
    if (g_fd_reserve > 256) g_fd_reserve = 256;

    struct sockaddr_storage addrs[MAX_ADDRS];
    int n = 0;
    bool wildcard = false;
    const char *p = g_cfg.bind;
    while (*p == ',' || *p == ' ' || *p == '\t') p++;
    if (!*p || !strcmp(p, "*")) {
        wildcard = true;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addrs[0];
        memset(&addrs[0], 0, sizeof addrs[0]);
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        n = 1;
    }
    while (!wildcard && *p) {
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        char item[300];
        snprintf(item, sizeof item, "%.*s", (int)(e - p), p);
        if (resolve(item, addrs, MAX_ADDRS, &n, err, errlen)) return -1;
        p = e;
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
    }
    // the web port, telnet, and (0 = off) telnet over TLS, the redirect and SSH
    const struct {
        NetKind kind;
        int port;
        bool on;
    } ports[] = {{NET_WEB, g_cfg.ws_port, true},
                 {NET_TELNET, g_cfg.telnet_port, true},
                 {NET_TELNET_TLS, g_cfg.telnet_tls_port, g_cfg.telnet_tls_port != 0},
                 {NET_REDIRECT, g_cfg.http_redirect_port, g_cfg.http_redirect_port != 0},
                 {NET_SSH, g_cfg.ssh_port, g_cfg.ssh_port != 0}};
    for (const auto &pt : ports) {
        if (!pt.on) continue;
        for (int i = 0; i < n; i++) {
            if (open_listener(&addrs[i], pt.port, pt.kind, wildcard, err, errlen) == 0) continue;
            if (!wildcard || addrs[i].ss_family != AF_INET6) return -1;
            // no IPv6 on this machine: every IPv4 address instead
            struct sockaddr_in *a4 = (struct sockaddr_in *)&addrs[i];
            memset(&addrs[i], 0, sizeof addrs[i]);
            a4->sin_family = AF_INET;
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            if (open_listener(&addrs[i], pt.port, pt.kind, false, err, errlen)) return -1;
        }
    }
    uv_timer_init(loop, &g_resume);
    g_started = true;
    return g_fd_reserve;
}

void net_describe(NetKind kind, char *out, size_t outlen) {
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < g_nlisteners; i++) {
        if (g_listeners[i]->kind != kind) continue;
        char one[96];
        describe(&g_listeners[i]->sa, g_listeners[i]->dual, one, sizeof one);
        int w = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", one);
        if (w < 0 || (size_t)w >= outlen - o) return;
        o += (size_t)w;
    }
}

static void listener_closed(uv_handle_t *h) {
    Listener *l = (Listener *)h->data;
    close(l->fd);
    free(l);
}

void net_listen_stop(void) {
    for (int i = 0; i < g_nlisteners; i++) uv_close((uv_handle_t *)&g_listeners[i]->poll, listener_closed);
    g_nlisteners = 0;
    if (!g_started) return;
    g_started = false;
    uv_timer_stop(&g_resume);
    uv_close((uv_handle_t *)&g_resume, NULL);
}
