// An SSH client's requests (net/ssh.h): logging in, the session channel
// and its pty, window changes and shell. Everything else a client may ask
// for (commands, sftp, port forwarding, X11, a second channel) is refused:
// the shell is the board.
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/log.h"
#include "board/auth.h"
#include "board/lifecycle.h"
#include "net/conn.h"
#include "net/pace.h"
#include "net/ssh_link.h"
#include "net/telnet.h"
#include "net/transport.h"

// ---------------------------------------------------------------- input

static void on_line(void *ud, const char *line, size_t len) { pace_input((Conn *)ud, PACE_LINE, line, len); }

// (the client's window on our side, which libssh grows by 1.28 MB at a time, bounds it)
#define EARLY_IN_MAX (4 << 20)

static int on_data(ssh_session, ssh_channel, void *data, uint32_t len, int, void *ud) {
    Conn *c = (Conn *)ud;
    SshLink *l = c->ssh;
    if (l->writing) { // fed at the end of the turn (sshd_feed_early)
        if (!buf_add(&l->early_in, data, len, EARLY_IN_MAX)) l->bye = "too much input at once";
        return (int)len;
    }
    // before the shell, and once our side is done, what comes is dropped
    if (c->live && c->tn && !c->lingering) {
        telnet_feed(c->tn, (const uint8_t *)data, len, on_line, c);
        if (c->tn->out.len) conn_wake(c); // the echo
    }
    return (int)len;
}

void sshd_feed_early(Conn *c) {
    SshLink *l = c->ssh;
    if (!l->early_in.len) return;
    Buf in = l->early_in; // (feeding may hold more: not into the buffer being read)
    l->early_in = Buf{};
    on_data(NULL, NULL, in.p, (uint32_t)in.len, 0, c);
    buf_free(&in);
}

static void on_hang_up(ssh_session, ssh_channel, void *ud) { ((Conn *)ud)->ssh->hung_up = true; }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
// libssh 0.10 deprecates reading requests from messages in favour of its
// server callbacks, which must answer a password at once. Here a password
// is checked on the hashing threads and its message answered later, so
// the message API it is; these are the deprecated accessors it needs.
static const char *msg_password(ssh_message m) { return ssh_message_auth_password(m); }
static const char *msg_term(ssh_message m) { return ssh_message_channel_request_pty_term(m); }
static uint32_t msg_cols(ssh_message m) {
    int n = ssh_message_channel_request_pty_width(m);
    return n > 0 ? (uint32_t)n : 0;
}
static uint32_t msg_rows(ssh_message m) {
    int n = ssh_message_channel_request_pty_height(m);
    return n > 0 ? (uint32_t)n : 0;
}
#pragma GCC diagnostic pop

// The shell: now the board sees the connection, as a terminal that has
// told its type and size (the pty request's).
static void start_shell(Conn *c) {
    SshLink *l = c->ssh;
    struct lws *wsi = c->wsi;
    l->shell = true;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0); // the session's own timeouts from now on
    conn_open(c, wsi, PORT_SSH);
    c->write = sshd_write;
    c->tn = (Telnet *)malloc(sizeof(Telnet));
    // with a pty the client's terminal is raw: it shows what we echo; without
    // one (ssh -T) it echoes and edits lines itself
    if (!c->tn || telnet_init_plain(c->tn, (uint32_t)g_cfg.max_line, l->pty) < 0) return conn_kill(c);
    telnet_set_terminal(c->tn, l->term[0] ? l->term : NULL, l->cols, l->rows);
    telnet_learned(c);
    c->connect_arg = l->is_new ? "register" : NULL;
    if (conn_start_session(c, l->is_new ? NULL : l->handle, false, NULL, 0)) conn_kill(c);
}

// The terminal's type and size: from the pty request, then from each
// window change, which reflows what comes after as NAWS does on telnet.
static void set_terminal(Conn *c, const char *term, uint32_t cols, uint32_t rows) {
    SshLink *l = c->ssh;
    if (term) snprintf(l->term, sizeof l->term, "%s", term);
    l->cols = cols;
    l->rows = rows;
    if (!c->tn) return;
    telnet_set_terminal(c->tn, term, cols, rows);
    telnet_learned(c); // a window change reflows, and redraws a split chat
}

static void on_request(Conn *c, ssh_message m) {
    SshLink *l = c->ssh;
    switch (ssh_message_subtype(m)) {
    case SSH_CHANNEL_REQUEST_PTY:
        l->pty = true;
        set_terminal(c, msg_term(m), msg_cols(m), msg_rows(m));
        ssh_message_channel_request_reply_success(m);
        return;
    case SSH_CHANNEL_REQUEST_WINDOW_CHANGE:
        set_terminal(c, NULL, msg_cols(m), msg_rows(m));
        ssh_message_channel_request_reply_success(m); // (it asks for no reply: none goes)
        return;
    case SSH_CHANNEL_REQUEST_SHELL:
        if (l->shell) break;
        ssh_message_channel_request_reply_success(m);
        return start_shell(c);
    default: // commands, subsystems (sftp), X11, environment: a shell is the board
        break;
    }
    ssh_message_reply_default(m);
}

// ---------------------------------------------------------------- logging in

static void on_checked(void *arg, const char *code, const char *handle) {
    Conn *c = (Conn *)arg;
    SshLink *l = c->ssh;
    l->check = NULL;
    l->verdict = code;
    if (handle) snprintf(l->handle, sizeof l->handle, "%s", handle);
    l->verdict_due = true; // answered from the connection's own callback
    if (lifecycle_state() != BOARD_STOPPED) sshd_want_pollout(c); // (stopped: the connection is going anyway)
}

// A password's verdict, in the order the requests came.
void sshd_answer(Conn *c) {
    SshLink *l = c->ssh;
    ssh_message m = l->auth_msg;
    const char *code = l->verdict;
    l->auth_msg = NULL;
    l->verdict_due = false;
    if (!code) {
        l->authed = true;
        ssh_message_auth_reply_success(m, 0);
    } else if (!strcmp(code, "bad_login") && ++l->failures < (uint32_t)g_cfg.login_attempts) {
        ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PASSWORD);
        ssh_message_reply_default(m); // the client may ask again
    } else {
        if (!strcmp(code, "bad_login")) {
            log_event(LOG_WARN, "login_throttled", 0, c->port.addr, "SSH login throttled after %u failures on this connection",
                      l->failures);
            code = "throttled";
        }
        l->bye = auth_message(code); // throttled, locked, busy, unavailable: said, and the connection ends
    }
    ssh_message_free(m);
}

// A request to log in. Returns true when m is kept (its password is being
// checked).
static bool on_auth(Conn *c, ssh_message m) {
    SshLink *l = c->ssh;
    const char *user = ssh_message_auth_user(m);
    int method = ssh_message_subtype(m);
    if (!l->authed && user && !strcasecmp(user, "new") &&
        (method == SSH_AUTH_METHOD_NONE || method == SSH_AUTH_METHOD_PASSWORD)) {
        // to register at the prompts: nobody's password to know
        l->authed = l->is_new = true;
        ssh_message_auth_reply_success(m, 0);
        return false;
    }
    if (!l->authed && user && user[0] && method == SSH_AUTH_METHOD_PASSWORD) {
        const char *pw = msg_password(m);
        l->auth_msg = m;
        l->check = auth_check(user, pw ? pw : "", c->port.addr, on_checked, c); // may answer at once
        return true;
    }
    // the first "none", public keys, keyboard-interactive: a password is what is taken
    ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PASSWORD);
    ssh_message_reply_default(m);
    return false;
}

void sshd_message(Conn *c, ssh_message m) {
    SshLink *l = c->ssh;
    switch (ssh_message_type(m)) {
    case SSH_REQUEST_AUTH:
        if (on_auth(c, m)) return;
        break;
    case SSH_REQUEST_CHANNEL_OPEN:
        // one session channel, once logged in: no port forwarding, no second session
        if (l->authed && !l->chan && ssh_message_subtype(m) == SSH_CHANNEL_SESSION) {
            l->chan = ssh_message_channel_request_open_reply_accept(m);
            if (!l->chan) break;
            ssh_callbacks_init(&l->cb);
            l->cb.userdata = c;
            l->cb.channel_data_function = on_data;
            l->cb.channel_eof_function = on_hang_up;
            l->cb.channel_close_function = on_hang_up;
            ssh_set_channel_callbacks(l->chan, &l->cb);
            break;
        }
        ssh_message_reply_default(m);
        break;
    case SSH_REQUEST_CHANNEL:
        if (l->chan && ssh_message_channel_request_channel(m) == l->chan) on_request(c, m);
        else ssh_message_reply_default(m);
        break;
    default: // the userauth service (accepted); global requests, such as forwarding a port (refused)
        ssh_message_reply_default(m);
        break;
    }
    ssh_message_free(m);
}
