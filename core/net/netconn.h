// The record net/net.cpp keeps of every accepted socket, shared with
// net/forwarded.cpp (the client's address a trusted proxy names). Nothing
// else in the core sees it: the transports ask net/net.h.
#pragma once
#include <stdint.h>
#include <uv.h>

#include "net/net.h"

struct lws;

// What we know of every accepted socket, from accept to LWS_CALLBACK_WSI_DESTROY.
struct NetConn {
    NetConn *prev, *next; // in g_plain, or g_sessions once a session
    struct lws *wsi;
    uv_poll_t *peek;      // waiting for the first bytes, before lws has the socket (on_peek)
    int fd;
    uint32_t peeked;      // bytes of them seen so far
    uint64_t opened_ms;
    NetKind kind;
    bool want_proxy; // from a trusted proxy: a PROXY preamble may come first
    bool sniff_tls;  // the HTTPS port: a TLS ClientHello, or plain HTTP to redirect
    bool to_redirect; // plain HTTP on the HTTPS port: the redirect vhost answers it
    bool tls;        // TLS at our end
    bool proxy_tls;  // a PROXY v2 preamble said the client came over TLS
    bool secure;     // the client's own connection is encrypted (tls, or a proxy's word)
    bool trusted;    // origin is a trusted proxy: its forwarding headers name the client
    bool counted;    // counted against max_conns_per_addr under addr
    bool noted;      // a forwarding header it may not send was logged once
    bool over;       // its address was at max_conns_per_addr: refused politely
    bool session;    // a WebSocket or telnet session (own timeouts)
    bool doomed;     // its lifetime ran out; lws is closing it
    bool flushing;   // closing once lws has sent an HTTP answer's rest (net/http.cpp)
    bool orphan;     // adoption failed: lws may still destroy the wsi it made (async)
    char origin[48]; // who speaks to us: the socket's peer, or whom a PROXY preamble named
    char addr[48];   // the client: origin, or whom a trusted proxy's header named
};

// The record of a connection (an h2 stream's is its connection's), or NULL.
NetConn *netconn_of(struct lws *wsi);
// The connection is the client at a (counted under it from now on, and
// no longer under the address before); c->over says whether a is over
// max_conns_per_addr. c->counted is false after when a was far past it.
void netconn_count_as(NetConn *c, const char *a);

// net/forwarded.cpp: the trusted proxies, from g_cfg.trusted_proxies (false
// with a reason), and whether an address is one.
bool forwarded_init(char *err, size_t errlen);
bool forwarded_trusted(const char *addr);
