// Telnet over WebSocket (the bridge): `/telnet` on the HTTP port carries the
// same telnet session as the telnet port (net/telnet_conn.cpp), its bytes in
// WebSocket frames, for web terminals (xterm.js, fTelnet, VTX, websockify's
// clients). The subprotocol names the framing: `binary`, `plain` and
// `telnet` (VTX's default) and none are raw bytes, out in binary frames, in
// from frames of either kind; `base64` (websockify's older text form) is
// base64 in text frames both ways.
#pragma once
#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

struct Conn;

// What an upgrade on the web vhost is, by its path and the protocol lws
// bound it to (the first the client named that we have, or the JSON one
// when it named none). Conn.framing holds TWS_RAW or TWS_BASE64 on the bridge.
enum TwsEndpoint : uint8_t { TWS_NONE = 0, TWS_RAW = 1, TWS_BASE64 = 2, TWS_JSON = 3 };
TwsEndpoint tws_endpoint(struct lws *wsi);

// LWS_CALLBACK_HTTP_CONFIRM_UPGRADE on /telnet (net/http.cpp): 0 to upgrade,
// or -1 after answering why not (403 for an Origin not allowed, 400 for a
// subprotocol that is not the bridge's, 404 when the bridge is off).
int tws_confirm_upgrade(struct lws *wsi);
// Whether an upgrade's subprotocol list names one of the bridge's framings
// first (so lws would bind it to the bridge): not for /ws.
bool tws_named_bridge(struct lws *wsi);
// ESTABLISHED: the connection becomes a telnet session, or is refused (a
// line saying why, then a close frame); what the callback returns.
int tws_established(Conn *c, struct lws *wsi);
// A frame, or part of one, from the client: telnet input.
int tws_receive(Conn *c, struct lws *wsi, const char *in, size_t len);
// WRITEABLE, and the end-of-iteration batch (net/conn.cpp): a ping that
// waited, then the session's output (telnet_flush).
int tws_flush(Conn *c);

// The bridge's framings as protocols of the web vhost (net/server.cpp):
// lws binds an upgrade to the first of these the client names.
extern const struct lws_protocols g_tws_protocols[4];

// The same callback serves the JSON protocol and the bridge (net/ws.cpp).
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
