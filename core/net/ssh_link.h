// What an SSH connection holds beside its Conn (Conn.ssh), shared by the
// socket side (net/ssh_conn.cpp) and the requests (net/ssh_requests.cpp).
// Nothing else in the core sees it.
#pragma once
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "base/buf.h"
#include "model/session.h"

struct Conn;
struct AuthWork;

// Requests that come while a password is being checked wait (their
// answers go in the order they came); past this many the client is told
// to go.
#define SSH_HELD_MAX 8

struct SshLink {
    ssh_session session;
    ssh_channel chan;        // the session channel, once opened
    struct ssh_channel_callbacks_struct cb; // lives as long as the channel
    struct ssh_counter_struct counter;      // bytes on the socket: input is a sign of life
    uint64_t heard_bytes;    // counter.in_bytes when last looked at
    ssh_message auth_msg;    // a password request waiting for its check...
    AuthWork *check;         // ...this one (NULL once it answered)
    const char *verdict;     // its answer (board/auth.h codes; NULL: right), given in the next callback
    bool verdict_due;
    ssh_message held[SSH_HELD_MAX]; // what came meanwhile
    uint32_t nheld;
    char handle[HANDLE_MAX + 1]; // who logged in, as registered; "" for `new`
    bool greeted, kex_done, authed, is_new, pty, shell;
    bool more;               // messages left for the next callback (MSG_BUDGET)
    bool probe_due;          // keepalive: a request to send
    bool close_due, closed;  // lingering: the channel's end to send, sent
    bool hung_up;            // the client closed the channel or sent EOF on it
    bool in_writeable;       // inside lws's WRITEABLE callback (net/ssh_conn.cpp: rearm)
    uint32_t failures;       // wrong passwords on this connection
    const char *bye;         // a reason to disconnect with (protocol words): once what is queued is out
    char refusal[480];       // the scripts' words for a banned address (hooks.banned), as the reason
    char term[32];           // from the pty request (the terminal engine takes them at the shell)
    uint32_t cols, rows;
    Buf pend;                // rendered output the client's window has no room for yet
    // libssh reads what has come while it flushes a write: channel data that
    // arrives in our output's part of a turn waits here for the input's part,
    // so that a line is never handled in the middle of writing the last one
    bool writing;
    Buf early_in;
};

// net/ssh_requests.cpp: one message from the client, answered (or kept:
// a password being checked); and that password's verdict, once it came.
void sshd_message(Conn *c, ssh_message m);
void sshd_answer(Conn *c);
// Channel data that came while we wrote (SshLink.writing), handled now.
void sshd_feed_early(Conn *c);
// net/ssh_conn.cpp: Conn.write for SSH; a WRITEABLE callback wanted soon.
int sshd_write(Conn *c, unsigned char *p, size_t n);
void sshd_want_pollout(Conn *c);
