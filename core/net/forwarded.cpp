// The client's address behind a reverse proxy, on HTTP and WebSocket: a
// request from a trusted proxy names it in X-Forwarded-For (or Forwarded,
// with forwarded_header = forwarded), and whether its connection was TLS in
// X-Forwarded-Proto (or proto=). From anyone else such headers are ignored:
// nobody picks their own address. (The PROXY protocol, for any port, is
// read in net/net.cpp before lws has the socket.)
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "base/config.h"
#include "base/log.h"
#include "net/netconn.h"
#include "net/proxy.h"

static AddrRange g_trusted[CONFIG_PROXIES_MAX];
static int g_ntrusted;

bool forwarded_init(char *err, size_t errlen) {
    char why[200];
    if (addr_parse_ranges(g_cfg.trusted_proxies, g_trusted, CONFIG_PROXIES_MAX, &g_ntrusted, why, sizeof why)) return true;
    snprintf(err, errlen, "trusted_proxies: %s", why);
    return false;
}

bool forwarded_trusted(const char *addr) { return g_ntrusted && addr_in_ranges(g_trusted, g_ntrusted, addr); }

// lws keeps a header it does not know by its lowercase name and colon, and
// finds only the first line of one sent twice; X-Forwarded-For it knows,
// and joins its lines with commas.
#define H_FORWARDED "forwarded:"
#define H_PROTO "x-forwarded-proto:"

static bool has_forwarding(struct lws *wsi) {
    return lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
           lws_hdr_custom_length(wsi, H_FORWARDED, (int)strlen(H_FORWARDED)) >= 0;
}

void net_request(struct lws *wsi) {
    NetConn *c = netconn_of(wsi);
    if (!c) return;
    if (!c->trusted) {
        if (!c->noted && has_forwarding(wsi)) {
            c->noted = true;
            log_event(LOG_INFO, "proxy_ignored", 0, c->addr,
                      "a forwarding header from %s, which is not in trusted_proxies: ignored", c->origin);
        }
        return;
    }
    static char v[HTTP_HEAD_MAX + 1]; // one request's head holds no more
    bool rfc = g_cfg.forwarded_header == FWD_FORWARDED;
    int n = rfc ? lws_hdr_custom_copy(wsi, v, sizeof v, H_FORWARDED, (int)strlen(H_FORWARDED))
                : lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_X_FORWARDED_FOR);
    char client[48];
    bool https = false, ok = false;
    if (n > 0) {
        ok = rfc ? proxy_forwarded(v, g_trusted, g_ntrusted, client, sizeof client, &https)
                 : proxy_forwarded_for(v, g_trusted, g_ntrusted, client, sizeof client);
    }
    if (ok && !rfc) {
        char proto[64];
        https = lws_hdr_custom_copy(wsi, proto, sizeof proto, H_PROTO, (int)strlen(H_PROTO)) > 0 && proxy_proto_https(proto);
    }
    if (!ok && (rfc ? n > 0 : n != 0) && !c->noted) { // garbage, or longer than a head
        c->noted = true;
        log_event(LOG_WARN, "proxy_header", 0, c->origin, "the %s header from trusted proxy %s names no address: taken as the proxy's own request",
                  rfc ? "Forwarded" : "X-Forwarded-For", c->origin);
    }
    // no header at all: the proxy's own request (a health check), or a
    // direct one from its host
    netconn_count_as(c, ok ? client : c->origin);
    c->secure = c->tls || c->proxy_tls || https;
}
