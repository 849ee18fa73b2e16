// The lws side: listeners, the WebSocket and telnet protocols, HTTP routes.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "model/port.h"

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

// The telnet session, whatever carries its bytes (net/telnet_conn.cpp): the
// telnet port, and the bridge (telnet over WebSocket, net/telnet_ws.cpp).
// telnet_open makes a connection that passed conn_screen a telnet session of
// this kind, writing through write (Conn.write), and starts its session;
// -1 when out of memory. telnet_input feeds it the client's bytes.
// telnet_closed is its transport's close callback.
int telnet_open(Conn *c, struct lws *wsi, PortKind kind, int (*write)(Conn *c, unsigned char *p, size_t n));
void telnet_input(Conn *c, const uint8_t *in, size_t len);
// What a refused telnet caller reads (a ban in the scripts' words, anything
// else in the protocol's), as telnet lines ending in CR LF, into out (room
// for TELNET_REFUSAL_MAX bytes); returns its length. The bridge and the
// telnet port each frame it their way.
#define TELNET_REFUSAL_MAX 962
size_t telnet_refusal(const char *addr, const char *why, unsigned char *out);
// What the terminal told of itself changed (negotiation, SSH's pty
// request or window change): the port's terminal, the input's character
// set, and a resize for the scripts when the window changed size.
void telnet_learned(Conn *c);
void telnet_closed(Conn *c);

// WebSocket pieces the bridge shares (net/ws.cpp). ws_ping writes
// keepalive's ping now; ws_close_with writes a close frame (code, short
// reason or NULL) and returns -1; ws_close_conn writes c's close frame (its
// close_code and reason) and starts the lingering close.
int ws_ping(Conn *c);
int ws_close_with(struct lws *wsi, uint16_t code, const char *why);
int ws_close_conn(Conn *c);


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
