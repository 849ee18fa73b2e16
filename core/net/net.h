// The listening sockets and what every accepted connection is held to:
// where we listen (`bind`), the descriptor budget (pausing accept at the
// open-file limit), connections per address, the lifetime of connections
// that are not sessions, and refusals that the client gets to read.
//
// The sockets are ours, not lws's: lws 4.1's listener spins on accept() at
// EMFILE and binds a dual-stack socket whatever `iface` says. Each accepted
// socket is handed to lws (lws_adopt_descriptor_vhost_via_info) with a
// NetConn as its opaque user data; LWS_CALLBACK_WSI_DESTROY gives it back.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct lws;
struct lws_vhost;

// Binds every address in g_cfg.bind on both ports and starts accepting.
// Returns -1 with a reason in err (a bad address, a port in use).
int net_listen(uv_loop_t *loop, struct lws_vhost *web, struct lws_vhost *telnet, char *err, size_t errlen);
// Stops accepting and closes the listening sockets (shutdown).
void net_stop(void);

// net/listen.cpp: opens the listening sockets of g_cfg.bind on both ports
// and starts accepting; returns the descriptors kept in reserve for what
// is not a connection, or -1 with a reason in err. net_listen_stop closes them.
int net_listen_start(uv_loop_t *loop, char *err, size_t errlen);
void net_listen_stop(void);
// net/net.cpp: a socket just accepted, from sa, on the telnet port or the web one.
struct sockaddr;
void net_accepted(int fd, const struct sockaddr *sa, bool telnet);
// After the lws context is gone: frees what records remain.
void net_free(void);
// For the log line: "127.0.0.1:8080, [::1]:8080" for the web or telnet port.
void net_describe(bool telnet, char *out, size_t outlen);

// LWS_CALLBACK_WSI_DESTROY on either vhost: the connection's count and record go.
void net_wsi_destroyed(struct lws *wsi);
// The connection becomes a WebSocket or telnet session, which has login and
// idle timeouts of its own instead of the HTTP lifetime. False when its
// address was already at max_conns_per_addr when it connected: the caller
// refuses it in its protocol's words and closes it.
bool net_admit_session(struct lws *wsi);
// The client's address as the listener saw it (an IPv4 peer on the
// dual-stack socket as plain IPv4): the one every rule and log line uses.
void net_peer(struct lws *wsi, char *out, size_t outlen);
// Whether an HTTP request on this connection must be refused: its address
// was at max_conns_per_addr when it connected.
bool net_over_limit(struct lws *wsi);
// Whether the peer may read /metrics (metrics_allow).
bool net_metrics_allowed(struct lws *wsi);

// Writes a last answer straight to the socket (a short HTTP error or
// refusal line) and keeps reading for a moment after it, so that what the
// client still had in flight does not turn the close into a reset that
// destroys the answer before the client reads it. The caller then returns
// -1 so lws closes its side.
void net_refuse(struct lws *wsi, const char *msg, size_t len);

// The head of the first request on a web connection is checked before lws
// sees it (lws 4.1 drops a head that overflows its header buffer without a
// word): HTTP_HEAD_MAX bytes at most, HTTP_HEADERS_MAX header lines, a
// request target under HTTP_URI_MAX with at most HTTP_ARGS_MAX query
// arguments (lws also cuts a longer target on later requests at
// HTTP_URI_MAX, which net/http.cpp answers 414). Returns 0 (fine, or not complete yet), 414 or 431; *complete
// says whether buf holds the whole head.
#define HTTP_HEAD_MAX 8192
#define HTTP_URI_MAX 4096
#define HTTP_HEADERS_MAX 64
#define HTTP_ARGS_MAX 24
int net_http_head_check(const char *buf, size_t n, bool *complete);
