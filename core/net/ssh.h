// SSH: an SSH server on the loop, for terminal users (net/ssh_conn.cpp),
// with its host key (net/ssh_key.cpp). libssh does the protocol; it runs
// non-blocking, driven from lws's callbacks on the socket, which lws holds
// as a raw file descriptor (it polls it; libssh reads and writes it). The
// terminal itself is the telnet engine's (net/telnet.h) without telnet.
#pragma once
#include <stddef.h>
#include <uv.h>

struct Conn;
struct lws_protocols;
struct ssh_bind_struct;

// Loads the host key (ssh_host_key, or data_dir/ssh_host_ed25519_key, made
// when it is missing) and logs its fingerprint. Nothing when ssh_port is
// 0. -1 with a reason in err (a key that is not one, a file it cannot
// read or write).
int sshd_init(uv_loop_t *loop, char *err, size_t errlen);
// Shutdown, with the listeners; sshd_free at exit, after the lws context is gone.
void sshd_stop(void);
void sshd_free(void);
// net/ssh_conn.cpp's part of sshd_init.
void sshd_conns_init(uv_loop_t *loop);
// What every SSH connection is accepted with: the host key, the options.
struct ssh_bind_struct *sshd_bind(void);

// Keepalive's probe (net/keepalive.h): a keepalive@openssh.com request the
// client must answer, sent from the connection's next callback.
void sshd_probe(Conn *c);
// conn_linger for SSH: once what is rendered is written, the channel gets
// exit-status, EOF and close, and the client hangs up.
void sshd_linger(Conn *c);

extern const struct lws_protocols g_ssh_protocol;
