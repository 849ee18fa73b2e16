// Plain HTTP where the board speaks HTTPS: every request on
// http_redirect_port, and plain HTTP sent to the HTTPS port itself, is
// answered with a redirect to the same host, path and query on https://
// and ws_port (a WebSocket upgrade too: ws:// gets the wss:// address).
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "net/net.h"
#include "net/transport.h"

// A Host header we may echo in Location: a name, an IPv4 address or a
// bracketed IPv6 one, and a port; nothing that could end the header.
static bool host_ok(const char *h, size_t *namelen) {
    size_t n = strlen(h), i = 0;
    if (!n) return false;
    if (h[0] == '[') {
        while (i < n && h[i] != ']') {
            char ch = h[i++];
            if (i > 1 && !(ch == ':' || ch == '.' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
                return false;
        }
        if (i == n) return false;
        i++;
    } else {
        while (i < n && h[i] != ':') {
            char ch = h[i++];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
                return false;
        }
    }
    *namelen = i;
    if (i == n) return i > 0;
    if (h[i] != ':' || i + 1 == n) return false;
    for (size_t k = i + 1; k < n; k++)
        if (h[k] < '0' || h[k] > '9') return false;
    return true;
}

// lws hands us the path and query decoded: encoded again for Location.
static size_t encode(char *out, size_t room, const char *s, size_t n, const char *keep) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch) ||
                     (ch && strchr(keep, ch));
        if (o + 4 > room) return room; // too long: the caller answers 414
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    return o;
}

#define LOCATION_MAX (3 * HTTP_URI_MAX + 512)

static int answer(struct lws *wsi, const char *status, const char *location, bool head) {
    static char msg[LOCATION_MAX + 512];
    size_t body = location ? strlen(location) + 1 : strlen(status) + 1;
    int n = snprintf(msg, sizeof msg, "HTTP/1.1 %s\r\n%s%s%scontent-type: text/plain; charset=utf-8\r\ncontent-length: %zu\r\n"
                     "connection: close\r\n\r\n%s\n",
                     status, location ? "location: " : "", location ? location : "", location ? "\r\n" : "", body,
                     head ? "" : location ? location : status);
    if (head && n > 0) n--; // no body, not even its line end
    net_refuse(wsi, msg, (size_t)n);
    return -1;
}

static int redirect(struct lws *wsi) {
    char host[256], addr[48];
    size_t namelen = 0;
    net_peer(wsi, addr, sizeof addr);
    bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0 || !host_ok(host, &namelen)) {
        log_event(LOG_INFO, "http_refused", 0, addr, "no usable Host header to redirect with (400)");
        return answer(wsi, "400 Bad Request", NULL, head);
    }
    char *uri = NULL;
    int ulen = 0;
    if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0 || !uri) {
        uri = (char *)"/";
        ulen = 1;
    }
    static char loc[LOCATION_MAX];
    size_t o = (size_t)snprintf(loc, sizeof loc, "https://%.*s", (int)namelen, host);
    if (g_cfg.ws_port != 443) o += (size_t)snprintf(loc + o, sizeof loc - o, ":%d", g_cfg.ws_port);
    o += encode(loc + o, sizeof loc - o, uri, (size_t)ulen, "/:@!$'()*+,;=");
    char arg[HTTP_URI_MAX + 1];
    for (int i = 0; o < sizeof loc && lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        if (o + 2 >= sizeof loc) o = sizeof loc;
        else loc[o++] = i ? '&' : '?';
        o += encode(loc + o, sizeof loc - o, arg, strlen(arg), "/:@!$'()*+,;=?");
    }
    if (o >= sizeof loc) return answer(wsi, "414 URI Too Long", NULL, head);
    loc[o] = 0;
    bool get = head || lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    // a method other than GET must not turn into one on the way
    return answer(wsi, get ? "301 Moved Permanently" : "308 Permanent Redirect", loc, head);
}

static int cb_redirect(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    switch (reason) {
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        return http_filter(wsi); // the client's address, 414 and 503 as on the web port
    case LWS_CALLBACK_HTTP:
        return redirect(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        int rc = http_filter(wsi); // no FILTER_HTTP_CONNECTION before an upgrade
        return rc ? rc : redirect(wsi);
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1;
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return 0;
    case LWS_CALLBACK_RAW_ADOPT:
        return http_refuse_raw(wsi);
    case LWS_CALLBACK_WSI_DESTROY:
        net_wsi_destroyed(wsi);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols g_redirect_protocol = {"partyline-redirect", cb_redirect, 0, 0, 0, NULL, TX_PACKET_MAX};
