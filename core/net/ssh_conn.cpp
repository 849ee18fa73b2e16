// SSH connections (net/ssh.h). lws holds the socket as a raw file
// descriptor: it polls it and calls back; libssh, given a copy of the
// descriptor, reads and writes it itself, non-blocking. Everything libssh
// does for a connection happens in that connection's own callbacks (pump
// below): never from a timer or another connection's work, where its
// answers could run the scripts in the middle of something else.
//
// The way in: key exchange; then a password for a handle, checked on the
// hashing threads (board/auth.h, the reply to the client waits for it), or
// the user `new`, let in to the registration prompts without one; then one
// session channel with a pty (its TERM and size are the terminal's) and a
// shell, which is when the board sees the connection: a session logged in
// as the handle, or at the prompts. After that it is a terminal like a
// telnet one: the telnet engine without telnet's protocol.
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "board/auth.h"
#include "board/lifecycle.h"
#include "model/session.h"
#include "net/conn.h"
#include "net/keepalive.h"
#include "net/net.h"
#include "net/pace.h"
#include "net/ssh.h"
#include "net/ssh_link.h"
#include "net/telnet.h"
#include "script/host.h"

// Messages taken from libssh in one callback; the rest wait for the next,
// so that one client's burst cannot hold the loop.
#define MSG_BUDGET 64
// How long a connection may take to get from accept to its shell when
// login_timeout_s says never: a half-done handshake holds memory.
#define HANDSHAKE_S 120

// ---------------------------------------------------------------- POLLOUT

// lws clears POLLOUT on a raw file descriptor after its WRITEABLE callback
// returns, so a request made inside that callback is lost. Those are made
// here instead, after the I/O callbacks of the loop's iteration (a check
// handle), before the next poll.
static Conn **g_rearm;
static uint32_t g_rearm_len, g_rearm_cap;
static uv_check_t g_rearm_check;
static bool g_rearm_on;

static void rearm_run(uv_check_t *) {
    for (uint32_t i = 0; i < g_rearm_len; i++)
        if (g_rearm[i] && g_rearm[i]->wsi) lws_callback_on_writable(g_rearm[i]->wsi);
    g_rearm_len = 0;
    uv_check_stop(&g_rearm_check);
}

void sshd_conns_init(uv_loop_t *loop) {
    uv_check_init(loop, &g_rearm_check);
    g_rearm_on = true;
}

void sshd_stop(void) {
    if (!g_rearm_on) return;
    g_rearm_on = false;
    uv_close((uv_handle_t *)&g_rearm_check, NULL);
    free(g_rearm);
    g_rearm = NULL;
    g_rearm_len = g_rearm_cap = 0;
}

void sshd_want_pollout(Conn *c) {
    if (!c->ssh->in_writeable) {
        lws_callback_on_writable(c->wsi);
        return;
    }
    for (uint32_t i = 0; i < g_rearm_len; i++)
        if (g_rearm[i] == c) return;
    if (g_rearm_len == g_rearm_cap) {
        uint32_t cap = g_rearm_cap ? g_rearm_cap * 2 : 32;
        Conn **r = (Conn **)realloc(g_rearm, cap * sizeof *r);
        if (!r) return; // it waits for its next input
        g_rearm = r;
        g_rearm_cap = cap;
    }
    if (!g_rearm_on) return; // shutting down
    g_rearm[g_rearm_len++] = c;
    uv_check_start(&g_rearm_check, rearm_run);
}

static void rearm_forget(Conn *c) {
    for (uint32_t i = 0; i < g_rearm_len; i++)
        if (g_rearm[i] == c) g_rearm[i] = NULL;
}

// ---------------------------------------------------------------- output

// A batch of rendered output is at most this (net/telnet_conn.cpp)
#define PEND_MAX (TN_OUT_MAX + 1024)

// What fits in the client's window goes to the channel now. Never more:
// libssh would wait for the window to open, reading input in the middle
// of a write.
static int send_some(SshLink *l, const unsigned char *p, size_t n, size_t *sent) {
    *sent = 0;
    uint32_t win = ssh_channel_window_size(l->chan);
    size_t k = n < win ? n : win;
    if (!k) return 0;
    int w = ssh_channel_write(l->chan, p, (uint32_t)k);
    if (w < 0) return -1;
    *sent = (size_t)w;
    return 0;
}

// Conn.write for SSH: a batch that does not fit waits in pend for the client's
// window to open (its WINDOW_ADJUST is input, read in a later callback);
// no new batch is rendered until it has gone.
int sshd_write(Conn *c, unsigned char *p, size_t n) {
    SshLink *l = c->ssh;
    if (!l || !l->chan || l->closed) return 0;
    size_t sent = 0;
    if (!l->pend.len && send_some(l, p, n, &sent) < 0) return -1;
    if (sent < n && !buf_add(&l->pend, p + sent, n - sent, PEND_MAX)) return -1;
    return 0;
}

static int drain_pend(SshLink *l) {
    if (!l->pend.len) return 0;
    size_t sent;
    if (send_some(l, (const unsigned char *)l->pend.p, l->pend.len, &sent) < 0) return -1;
    memmove(l->pend.p, l->pend.p + sent, l->pend.len - sent);
    l->pend.len -= sent;
    if (!l->pend.len) buf_free(&l->pend); // an idle connection holds nothing
    return 0;
}

static bool libssh_pending(const SshLink *l) { return ssh_get_poll_flags(l->session) & SSH_WRITE_PENDING; }

// The session ended on our side and everything is written: the client is
// told the shell exited, and hangs up.
static void close_channel(SshLink *l) {
    l->closed = true;
    ssh_channel_request_send_exit_status(l->chan, 0);
    ssh_channel_send_eof(l->chan);
    ssh_channel_close(l->chan);
}

// ---------------------------------------------------------------- a turn

// libssh reads what came and answers it: the key exchange, then requests
// (net/ssh_requests.cpp). The last read found nothing new, and wrote what
// was queued if the socket took it. -1: the connection is over.
static int exchange(Conn *c) {
    SshLink *l = c->ssh;
    if (!l->kex_done) {
        // our banner goes out before anything is read (a fresh socket takes
        // it): a client that speaks no SSH still learns what this port is
        if (!l->greeted) ssh_set_fd_towrite(l->session);
        l->greeted = true;
        int rc = ssh_handle_key_exchange(l->session);
        if (rc == SSH_AGAIN) return 0;
        if (rc != SSH_OK) return -1;
        l->kex_done = true;
    }
    l->more = false;
    for (int n = 0; n < MSG_BUDGET; n++) {
        ssh_message m;
        if (!l->auth_msg && l->nheld) {
            m = l->held[0];
            memmove(l->held, l->held + 1, --l->nheld * sizeof *l->held);
        } else if (!(m = ssh_message_get(l->session))) {
            break;
        } else if (l->bye) { // leaving: nothing more is answered
            ssh_message_free(m);
            continue;
        } else if (l->auth_msg) { // answers go in order: after the password's
            if (l->nheld < SSH_HELD_MAX) l->held[l->nheld++] = m;
            else {
                ssh_message_free(m);
                l->bye = "too many requests at once";
            }
            continue;
        }
        sshd_message(c, m);
        if (n == MSG_BUDGET - 1) l->more = true;
    }
    return ssh_get_status(l->session) & (SSH_CLOSED | SSH_CLOSED_ERROR) ? -1 : 0;
}

// A reason the client is shown (SSH_MSG_DISCONNECT), then a lingering
// close. libssh's ssh_disconnect closes its descriptor at once, and a
// packet it could not send at once is lost; and libssh sends at once only
// when its own poll has seen the socket writable since its last write (it
// only buffers otherwise). So this runs in a WRITEABLE turn with nothing
// queued, and tells libssh the socket can take the packet. lws closes its
// descriptor; the socket lingers in a copy until the client has read the
// reason (net/linger.cpp).
static int goodbye(Conn *c) {
    SshLink *l = c->ssh;
    ssh_message m;
    for (int n = 0; n < MSG_BUDGET && (m = ssh_message_get(l->session)); n++) ssh_message_free(m);
    log_event(LOG_INFO, "ssh_bye", c->port.session ? c->port.session->node : 0, c->port.addr, "disconnecting: %s", l->bye);
    ssh_session_set_disconnect_message(l->session, l->bye);
    ssh_set_fd_towrite(l->session);
    ssh_disconnect(l->session);
    int fd = lws_get_socket_fd(c->wsi);
    int d = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) net_linger(d, true);
    return -1;
}

// Whether the connection has something to do as soon as its socket can
// take more (an input's turn does it all as well).
static bool need_out(const Conn *c) {
    const SshLink *l = c->ssh;
    if (libssh_pending(l) || l->verdict_due || l->bye || l->more) return true;
    if (!l->shell || !l->chan || l->closed) return false;
    // a full window opens with the client's WINDOW_ADJUST, which is input
    if (l->pend.len) return ssh_channel_window_size(l->chan) > 0;
    return l->probe_due || l->close_due || (c->want_write && !c->lingering);
}

// One turn of a connection, from its own lws callbacks: what waits to be
// written goes first, then libssh reads and answers what came. -1: close.
static int pump(Conn *c) {
    SshLink *l = c->ssh;
    if (l->verdict_due) sshd_answer(c);
    if (l->shell && l->chan && !l->closed && !l->bye) {
        l->writing = true;
        if (l->probe_due) {
            l->probe_due = false;
            // libssh sends a request only when the last one's answer has
            // been taken, which its first call does: so two (a client that
            // never answered gets no second one, and is dropped)
            ssh_send_keepalive(l->session);
            ssh_send_keepalive(l->session);
        }
        if (drain_pend(l) < 0 || (c->live && c->want_write && !c->lingering && !l->pend.len && !libssh_pending(l) &&
                                  conn_flush(c) < 0)) {
            l->writing = false;
            return -1;
        }
        if (l->close_due && !l->pend.len) close_channel(l);
        l->writing = false;
        sshd_feed_early(c);
    }
    if (exchange(c) < 0 || l->hung_up) return -1; // gone, or hung up
    if (l->bye && l->kex_done && !libssh_pending(l) && l->in_writeable) return goodbye(c);
    if (l->counter.in_bytes != l->heard_bytes) {
        l->heard_bytes = l->counter.in_bytes;
        keepalive_heard(c);
    }
    if (need_out(c)) sshd_want_pollout(c);
    return 0;
}

// ---------------------------------------------------------------- the connection

// A new connection: libssh gets its own copy of the descriptor (it closes
// it when it is done, as lws closes its own), and the key exchange starts
// on the first WRITEABLE. A refused one (a banned address, too many
// connections from it) is told why once the exchange is done: before it,
// nothing the client would show can be said.
static void adopt(Conn *c, struct lws *wsi) {
    const char *why = conn_screen(c, wsi);
    c->wsi = wsi;
    SshLink *l = (SshLink *)calloc(1, sizeof *l);
    int fd = lws_get_socket_fd(wsi);
    int d = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (!l || d < 0 || !(l->session = ssh_new())) {
        if (d >= 0) close(d);
        free(l);
        log_event(LOG_WARN, "ssh_refused", 0, c->port.addr, "refused: out of memory or descriptors");
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
        return;
    }
    c->ssh = l;
    ssh_set_blocking(l->session, 0);
    ssh_set_counters(l->session, &l->counter, NULL);
    if (ssh_bind_accept_fd(sshd_bind(), l->session, d) != SSH_OK) { // (the session owns d now)
        log_event(LOG_WARN, "ssh_refused", 0, c->port.addr, "refused: %s", ssh_get_error(sshd_bind()));
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
        return;
    }
    // the handshake and logging in: within the login timeout, or a bound of its own
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, g_cfg.login_timeout_s ? g_cfg.login_timeout_s : HANDSHAKE_S);
    if (why) {
        log_event(LOG_WARN, "ssh_refused", 0, c->port.addr, "refused: %s", why);
        l->bye = why;
        if (!strcmp(why, "banned")) {
            script_hook_text("banned", c->port.addr, l->refusal, sizeof l->refusal);
            for (char *p = l->refusal; *p; p++) // one line: the reason is shown as one
                if (*p == '\r' || *p == '\n') *p = ' ';
            if (l->refusal[0]) l->bye = l->refusal;
        }
    }
    lws_callback_on_writable(wsi);
}

// Why a connection went before its shell, for the log.
static void log_early_close(Conn *c, SshLink *l) {
    const char *err = ssh_get_error(l->session);
    log_event(LOG_INFO, "ssh_closed", 0, c->port.addr, "closed %s%s%s", !l->kex_done ? "during the key exchange"
              : !l->authed ? "before logging in" : "before starting a shell", err && err[0] ? ": " : "", err ? err : "");
}

static void closed(Conn *c) {
    SshLink *l = c->ssh;
    conn_closed(c); // the session first: it may still have been rendering into c
    if (c->tn) {
        telnet_free(c->tn);
        free(c->tn);
        c->tn = NULL;
    }
    if (!l) return;
    c->ssh = NULL;
    rearm_forget(c);
    auth_check_cancel(l->check);
    if (!l->shell && !l->bye && l->session) log_early_close(c, l);
    if (!l->kex_done && !l->bye && c->wsi && lifecycle_state() != BOARD_STOPPED) {
        // a client that spoke no SSH (or stalled): what it sent unread
        // would turn the close into a reset, which can take our banner
        // with it, the one hint it had of what this port speaks
        int fd = lws_get_socket_fd(c->wsi);
        int d = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d >= 0) net_linger(d, true);
    }
    if (l->auth_msg) ssh_message_free(l->auth_msg);
    for (uint32_t i = 0; i < l->nheld; i++) ssh_message_free(l->held[i]);
    ssh_free(l->session); // closes libssh's copy of the descriptor
    buf_free(&l->pend);
    buf_free(&l->early_in);
    free(l);
}

void sshd_probe(Conn *c) {
    if (!c->ssh) return;
    c->ssh->probe_due = true;
    sshd_want_pollout(c);
}

void sshd_linger(Conn *c) {
    if (c->ssh) c->ssh->close_due = true; // (in a turn: pump sends it)
}

static int cb_ssh(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *, size_t) {
    Conn *c = (Conn *)user;
    int rc;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT_FILE:
        adopt(c, wsi);
        return 0; // (lws would leak a raw descriptor whose adoption failed)
    case LWS_CALLBACK_RAW_RX_FILE:
        return c->ssh && pump(c) == 0 ? 0 : -1;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (!c->ssh) return -1;
        c->ssh->in_writeable = true;
        rc = pump(c);
        if (c->ssh) c->ssh->in_writeable = false;
        return rc;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        closed(c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        net_wsi_destroyed(wsi);
        return 0;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols g_ssh_protocol = {"ssh", cb_ssh, sizeof(Conn), 0, 0, NULL, 0};
