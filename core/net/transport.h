// The lws side: listeners, the WebSocket and telnet protocols, HTTP routes.
#pragma once
#include <uv.h>

struct Conn;
struct lws;
struct lws_context;
struct Session;

int server_start(uv_loop_t *loop);
// Closes every connection and stops listening; the loop then drains.
void server_stop(void);
// Frees the lws context once the loop has drained (lws 4.1: the first lws_context_destroy starts closing, a second one after the loop drained frees; one call leaks, two back to back crash).
void server_free(void);

// Per-transport writers, called from WRITEABLE; -1 closes the connection.
int ws_flush(Conn *c);
int telnet_flush(Conn *c);
// Per-transport keepalive probes (net/keepalive.h): a ping, a NOP.
void ws_probe(Conn *c);
void telnet_probe(Conn *c);


// What lws may hand the kernel in one send. Left at 0, lws cuts every write at
// the rx buffer size (+ LWS_PRE + 4) and keeps the rest for a POLLOUT round
// trip, even when the socket would take it all.
#define TX_PACKET_MAX (1 << 17)

// HTTP (net/http.cpp; the request limits are in net/net.h).
// The static files' opens are checked to stay inside www_dir.
void http_init(struct lws_context *ctx);
// LWS_CALLBACK_FILTER_HTTP_CONNECTION: the client's address settled
// (net_request), then 414 or 503 and -1, or 0 to go on.
int http_filter(struct lws *wsi);
// LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 to upgrade, -1 when refused (answered, then closed).
int http_confirm_upgrade(struct lws *wsi, const char *upgrade);
// A connection lws turned raw (CONNECT): refused with 405.
int http_refuse_raw(struct lws *wsi);

extern const struct lws_protocols g_ws_protocol;
extern const struct lws_protocols g_http_protocol;
extern const struct lws_protocols g_telnet_protocol;
// net/redirect.cpp: plain HTTP answered with a redirect to HTTPS.
extern const struct lws_protocols g_redirect_protocol;
