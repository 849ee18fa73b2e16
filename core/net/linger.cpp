// The lingering close: a refused client may still be sending (the rest of
// a huge header); closing a socket with unread input sends a reset, and a
// reset makes the client's kernel throw away our answer. So the answer goes
// out, then our side is shut, then what still arrives is read and dropped
// until the client closes or LINGER_MS pass. The socket is a dup of lws's
// (which lws closes as usual), or one lws never had.
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

#define LINGER_MS 2000
#define LINGER_BYTES (1 << 20)
#define LINGER_SLOTS 64

struct Linger {
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    int handles; // closed handles still to come back
    size_t drained;
};

static uv_loop_t *g_loop;
static int g_linger_max;
static Linger *g_lingers[LINGER_SLOTS];

void net_linger_init(uv_loop_t *loop, int max) {
    g_loop = loop;
    g_linger_max = max < LINGER_SLOTS ? max : LINGER_SLOTS;
}

static void linger_closed(uv_handle_t *h) {
    Linger *l = (Linger *)h->data;
    if (--l->handles) return;
    close(l->fd);
    free(l);
}

static void linger_end(Linger *l) {
    if (uv_is_closing((uv_handle_t *)&l->poll)) return;
    for (int i = 0; i < LINGER_SLOTS; i++)
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

void net_linger(int d, bool shut) {
    int slot = g_loop ? linger_slot() : -1;
    Linger *l = slot < 0 ? NULL : (Linger *)calloc(1, sizeof *l);
    if (!l) { // too many at once: closed now, and a reset may cost the answer
        close(d);
        return;
    }
    if (shut) shutdown(d, SHUT_WR);
    l->fd = d;
    l->handles = 2;
    uv_poll_init(g_loop, &l->poll, d);
    uv_timer_init(g_loop, &l->timer);
    l->poll.data = l->timer.data = l;
    uv_poll_start(&l->poll, UV_READABLE, linger_read);
    uv_timer_start(&l->timer, linger_timeout, LINGER_MS, 0);
    g_lingers[slot] = l;
}

int net_refuse_http(struct lws *wsi, const char *status, const char *text) {
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %zu\r\n"
                     "connection: close\r\n\r\n%s",
                     status, strlen(text), text);
    net_refuse(wsi, msg, (size_t)n);
    return -1;
}

void net_refuse(struct lws *wsi, const char *msg, size_t len) {
    int fd = lws_get_socket_fd(lws_get_network_wsi(wsi));
    if (fd < 0) return;
    // after a partly written answer our bytes would land inside it
    if (lws_partial_buffered(wsi)) return;
    bool tls = net_tls(wsi);
    if (tls) {
        // inside the TLS stream: through lws; its close then sends close_notify
        // on this socket, before our copy of it lets the FIN go
        unsigned char *buf = (unsigned char *)malloc(LWS_PRE + len);
        if (!buf) return;
        memcpy(buf + LWS_PRE, msg, len);
        int n = lws_write(lws_get_network_wsi(wsi), buf + LWS_PRE, len, LWS_WRITE_RAW);
        free(buf);
        if (n < 0 || lws_partial_buffered(wsi)) return;
    } else if (send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        return;
    }
    // lws closes its descriptor; the socket lives on in the copy until drained
    int d = linger_slot() < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) net_linger(d, !tls);
}

void net_linger_stop(void) {
    for (int i = 0; i < LINGER_SLOTS; i++)
        if (g_lingers[i]) linger_end(g_lingers[i]);
}
