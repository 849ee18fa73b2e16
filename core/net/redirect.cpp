// Plain HTTP where the board speaks HTTPS: every request on
// http_redirect_port, and plain HTTP sent to the HTTPS port itself, is
// answered with a redirect to the same host, path and query on https://
// and ws_port (a WebSocket upgrade too: ws:// gets the wss:// address).
// The one exception is an ACME HTTP-01 challenge (certbot --webroot, acme.sh
// -w), which must be answered over plain HTTP on port 80: its file is served
// from www_dir/.well-known/acme-challenge/.
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"
#define CHALLENGE_MAX 4096

// The whole answer, and the connection ends (net_refuse: a lingering close).
// The body is text: a line of its own, or what a challenge file holds.
static int answer(struct lws *wsi, const char *status, const char *location, const char *text, bool head) {
    static char msg[LOCATION_MAX + CHALLENGE_MAX + 512];
    size_t tl = strlen(text);
    int n = snprintf(msg, sizeof msg, "HTTP/1.1 %s\r\n%s%s%scontent-type: text/plain; charset=utf-8\r\ncontent-length: %zu\r\n"
                     "connection: close\r\n\r\n%s",
                     status, location ? "location: " : "", location ? location : "", location ? "\r\n" : "", tl,
                     head ? "" : text);
    if (n < 0 || (size_t)n >= sizeof msg) return -1;
    net_refuse(wsi, msg, (size_t)n);
    return -1;
}

static int answer_line(struct lws *wsi, const char *status, const char *location, bool head) {
    char text[LOCATION_MAX + 2];
    snprintf(text, sizeof text, "%s\n", location ? location : status);
    return answer(wsi, status, location, text, head);
}

// An ACME challenge: the token is base64url, so it names one file in the
// challenge directory and nothing else. 1 answered, 0 not a challenge.
static int challenge(struct lws *wsi, const char *uri, int ulen, bool head) {
    size_t pl = strlen(CHALLENGE_PREFIX);
    if ((size_t)ulen <= pl || strncmp(uri, CHALLENGE_PREFIX, pl) || ulen - (int)pl > 255) return 0;
    for (int i = (int)pl; i < ulen; i++) {
        char ch = uri[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) return 0;
    }
    char path[1024], text[CHALLENGE_MAX + 1];
    snprintf(path, sizeof path, "%s%.*s", g_cfg.www_dir, ulen, uri);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    ssize_t got = -1;
    if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size <= CHALLENGE_MAX) got = read(fd, text, CHALLENGE_MAX);
    if (fd >= 0) close(fd);
    if (got < 0 || memchr(text, 0, (size_t)got)) {
        answer_line(wsi, "404 Not Found", NULL, head);
        return 1;
    }
    text[got] = 0;
    answer(wsi, "200 OK", NULL, text, head);
    return 1;
}

static int redirect(struct lws *wsi) {
    char host[256], addr[48];
    size_t namelen = 0;
    net_peer(wsi, addr, sizeof addr);
    bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    char *uri = NULL;
    int ulen = 0;
    if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0 || !uri) {
        uri = (char *)"/";
        ulen = 1;
    }
    if (challenge(wsi, uri, ulen, head)) return -1;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0 || !host_ok(host, &namelen)) {
        log_event(LOG_INFO, "http_refused", 0, addr, "no usable Host header to redirect with (400)");
        return answer_line(wsi, "400 Bad Request", NULL, head);
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
    if (o >= sizeof loc) return answer_line(wsi, "414 URI Too Long", NULL, head);
    loc[o] = 0;
    bool get = head || lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    // a method other than GET must not turn into one on the way
    return answer_line(wsi, get ? "301 Moved Permanently" : "308 Permanent Redirect", loc, head);
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
