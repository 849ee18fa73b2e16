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

// What a listening socket is for.
enum NetKind : uint8_t {
    NET_WEB,        // HTTP and WebSocket on ws_port (HTTPS and wss:// with tls_cert)
    NET_TELNET,     // telnet_port
    NET_TELNET_TLS, // telnet_tls_port: telnet inside TLS
    NET_REDIRECT,   // http_redirect_port: plain HTTP answered with a redirect to HTTPS
    NET_SSH,        // ssh_port
};

// The lws vhosts connections are handed to (NULL where a kind is off).
struct NetVhosts {
    struct lws_vhost *web, *telnet, *telnet_tls, *redirect, *ssh;
};

// Binds every address in g_cfg.bind on each port and starts accepting.
// Returns -1 with a reason in err (a bad address, a port in use).
int net_listen(uv_loop_t *loop, const NetVhosts *vh, char *err, size_t errlen);
// Stops accepting and closes the listening sockets (shutdown).
void net_stop(void);

// net/listen.cpp: opens the listening sockets of g_cfg.bind on every port
// and starts accepting; returns the descriptors kept in reserve for what
// is not a connection, or -1 with a reason in err. net_listen_stop closes them.
int net_listen_start(uv_loop_t *loop, char *err, size_t errlen);
void net_listen_stop(void);
// net/net.cpp: a socket just accepted, from sa, on a port of this kind.
struct sockaddr;
void net_accepted(int fd, const struct sockaddr *sa, NetKind kind);
// After the lws context is gone: frees what records remain.
void net_free(void);
// For the log line: "127.0.0.1:8080, [::1]:8080" for the ports of a kind
// (empty when it has none).
void net_describe(NetKind kind, char *out, size_t outlen);

// LWS_CALLBACK_WSI_DESTROY on any vhost: the connection's count and record go.
void net_wsi_destroyed(struct lws *wsi);
// The connection becomes a WebSocket, telnet or SSH session, which has login and
// idle timeouts of its own instead of the HTTP lifetime. False when its
// address was already at max_conns_per_addr when it connected: the caller
// refuses it in its protocol's words and closes it.
bool net_admit_session(struct lws *wsi);
// The client's address: the listener's peer (an IPv4 peer on the
// dual-stack socket as plain IPv4), or, from a trusted proxy, the address
// its PROXY preamble or forwarding header named. Every rule and log line
// uses it.
void net_peer(struct lws *wsi, char *out, size_t outlen);
// Whether the client's own connection is encrypted: TLS at our end, or a
// trusted proxy's word (X-Forwarded-Proto, Forwarded proto=, PROXY v2).
bool net_secure(struct lws *wsi);
// Whether the connection is TLS at our end.
bool net_tls(struct lws *wsi);
// An HTTP request's head is in (a page, or a WebSocket upgrade): from a
// trusted proxy, its forwarding header names the client, who is counted
// against max_conns_per_addr from then on (a kept-alive proxy connection
// may carry requests of several clients, so each request says again).
// From anyone else such a header is ignored, and logged once.
void net_request(struct lws *wsi);
// Whether an HTTP request on this connection must be refused: its address
// was at max_conns_per_addr when it connected (or when its request named it).
bool net_over_limit(struct lws *wsi);
// Whether the peer may read /metrics (metrics_allow).
bool net_metrics_allowed(struct lws *wsi);

// Writes a last answer straight to the socket (a short HTTP error or
// refusal line) and keeps reading for a moment after it, so that what the
// client still had in flight does not turn the close into a reset that
// destroys the answer before the client reads it. The caller then returns
// -1 so lws closes its side. On TLS the answer goes through lws.
void net_refuse(struct lws *wsi, const char *msg, size_t len);
// A last plain-text HTTP answer (status: "404 Not Found", may carry a
// header line after it), then net_refuse. Always -1, for the callback to
// return.
int net_refuse_http(struct lws *wsi, const char *status, const char *text);
// net/linger.cpp: the lingering close behind net_refuse, for a socket of
// our own (a dup of lws's, or one lws never had). shut: send our FIN now
// (not for TLS, where lws's close_notify must come first).
void net_linger_init(uv_loop_t *loop, int max);
void net_linger(int fd, bool shut);
void net_linger_stop(void);

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
