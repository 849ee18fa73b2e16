// The lws side: listeners, the WebSocket and telnet protocols, HTTP routes.
#pragma once
#include <uv.h>

struct Conn;
struct Session;

int server_start(uv_loop_t *loop);
// Closes every connection and stops listening; the loop then drains.
void server_stop(void);
// Frees the lws context once the loop has drained (LWS-NOTES: destroy twice).
void server_free(void);
// Set by server_stop: lws is closing everything, write nothing outside WRITEABLE.
extern bool g_server_stopping;

// Per-transport writers, called from WRITEABLE; -1 closes the connection.
int ws_flush(Conn *c);
int telnet_flush(Conn *c);

// A new connection's session: node, hello, and the scripts' connect hook.
// token_handle: the handle a verified token names, which logs it in at once.
Session *transport_open_session(Conn *c, const char *token_handle);
// Closing a connection of either transport.
void transport_closed(Conn *c);

// What lws may hand the kernel in one send. Left at 0, lws cuts every write at
// the rx buffer size (+ LWS_PRE + 4) and keeps the rest for a POLLOUT round
// trip, even when the socket would take it all.
#define TX_PACKET_MAX (1 << 17)

extern const struct lws_protocols g_ws_protocol;
extern const struct lws_protocols g_http_protocol;
extern const struct lws_protocols g_telnet_protocol;
