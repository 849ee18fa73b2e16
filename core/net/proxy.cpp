#include "net/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/addr.h"

static const uint8_t SIG_V2[PROXY_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char SIG_V1[] = "PROXY ";

// The canonical text of an address of a family (AF_INET, AF_INET6) held in raw.
static void text_of(int family, const void *raw, char *out, size_t outlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        memcpy(&((struct sockaddr_in *)&ss)->sin_addr, raw, 4);
    } else {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, raw, 16);
    }
    addr_text((struct sockaddr *)&ss, out, outlen);
}

static bool port_ok(const char *s, size_t n) {
    if (n == 0 || n > 5) return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= 65535;
}

// "PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n" or "PROXY UNKNOWN ...\r\n".
static ProxyVerdict v1(const uint8_t *buf, size_t n, ProxyInfo *out) {
    size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;
    const uint8_t *nl = (const uint8_t *)memchr(buf, '\n', lim);
    if (!nl) return n >= PROXY_V1_MAX ? PROXY_BAD : PROXY_MORE;
    if (nl == buf || nl[-1] != '\r') return PROXY_BAD;
    out->len = (size_t)(nl - buf) + 1;
    // the words after "PROXY ": exactly one space between them
    const char *p = (const char *)buf + 6, *end = (const char *)nl - 1;
    const char *w[6];
    size_t wl[6];
    int nw = 0;
    while (p < end && nw < 6) {
        const char *sp = (const char *)memchr(p, ' ', (size_t)(end - p));
        const char *e = sp ? sp : end;
        w[nw] = p;
        wl[nw++] = (size_t)(e - p);
        p = sp ? sp + 1 : end;
    }
    if (nw >= 1 && wl[0] == 7 && !memcmp(w[0], "UNKNOWN", 7)) return PROXY_OK; // the proxy's own connection
    if (nw != 5 || p != end || wl[0] != 4 || memcmp(w[0], "TCP", 3) || (w[0][3] != '4' && w[0][3] != '6'))
        return PROXY_BAD;
    int family = w[0][3] == '4' ? AF_INET : AF_INET6;
    char a[2][64];
    uint8_t raw[2][16];
    for (int i = 0; i < 2; i++) {
        if (wl[1 + i] == 0 || wl[1 + i] >= sizeof a[i]) return PROXY_BAD;
        memcpy(a[i], w[1 + i], wl[1 + i]);
        a[i][wl[1 + i]] = 0;
        if (inet_pton(family, a[i], raw[i]) != 1) return PROXY_BAD;
    }
    if (!port_ok(w[3], wl[3]) || !port_ok(w[4], wl[4])) return PROXY_BAD;
    text_of(family, raw[0], out->addr, sizeof out->addr);
    return PROXY_OK;
}

#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01

static ProxyVerdict v2(const uint8_t *buf, size_t n, ProxyInfo *out) {
    if (n < 16) return PROXY_MORE;
    if ((buf[12] >> 4) != 2) return PROXY_BAD;
    int cmd = buf[12] & 0x0F;
    if (cmd > 1) return PROXY_BAD;
    size_t body = (size_t)buf[14] << 8 | buf[15];
    if (16 + body > PROXY_V2_MAX) return PROXY_BAD;
    if (n < 16 + body) return PROXY_MORE;
    out->len = 16 + body;
    if (cmd == 0) return PROXY_OK; // LOCAL: the proxy's own connection (a health check)
    const uint8_t *b = buf + 16;
    size_t alen;
    switch (buf[13] >> 4) {
    case 0: return PROXY_OK;   // UNSPEC: whatever follows is to be ignored
    case 1: alen = 12; break;  // INET: two addresses, two ports
    case 2: alen = 36; break;  // INET6
    case 3: alen = 216; break; // UNIX: paths, no address of ours
    default: return PROXY_BAD;
    }
    if (body < alen) return PROXY_BAD;
    if ((buf[13] >> 4) == 1) text_of(AF_INET, b, out->addr, sizeof out->addr);
    else if ((buf[13] >> 4) == 2) text_of(AF_INET6, b, out->addr, sizeof out->addr);
    // the TLVs after the addresses: only whether the client came over TLS is of use
    for (size_t i = alen; i < body;) {
        if (body - i < 3) return PROXY_BAD;
        size_t tl = (size_t)b[i + 1] << 8 | b[i + 2];
        if (body - i - 3 < tl) return PROXY_BAD;
        if (b[i] == PP2_TYPE_SSL && tl >= 5 && (b[i + 3] & PP2_CLIENT_SSL)) out->tls = true;
        i += 3 + tl;
    }
    return PROXY_OK;
}

ProxyVerdict proxy_preamble(const uint8_t *buf, size_t n, ProxyInfo *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return PROXY_MORE;
    size_t k1 = n < 6 ? n : 6, k2 = n < PROXY_SIG_LEN ? n : PROXY_SIG_LEN;
    if (!memcmp(buf, SIG_V1, k1)) return n < 6 ? PROXY_MORE : v1(buf, n, out);
    if (!memcmp(buf, SIG_V2, k2)) return n < PROXY_SIG_LEN ? PROXY_MORE : v2(buf, n, out);
    return PROXY_NONE;
}

bool proxy_addr(const char *s, size_t n, char *out, size_t outlen) {
    while (n && (*s == ' ' || *s == '\t' || *s == '"')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '"')) n--;
    char a[64];
    if (n == 0) return false;
    if (*s == '[') { // [v6] or [v6]:port
        const char *rb = (const char *)memchr(s, ']', n);
        if (!rb) return false;
        size_t rest = n - (size_t)(rb + 1 - s);
        if (rest && (rb[1] != ':' || !port_ok(rb + 2, rest - 1))) return false;
        s++;
        n = (size_t)(rb - s);
    } else {
        const char *c = (const char *)memchr(s, ':', n);
        // one colon: IPv4 with a port; more: a bare IPv6 address
        if (c && !memchr(c + 1, ':', n - (size_t)(c + 1 - s))) {
            if (!port_ok(c + 1, n - (size_t)(c + 1 - s))) return false;
            n = (size_t)(c - s);
        }
    }
    if (n == 0 || n >= sizeof a) return false;
    memcpy(a, s, n);
    a[n] = 0;
    uint8_t raw[16];
    if (inet_pton(AF_INET, a, raw) == 1) text_of(AF_INET, raw, out, outlen);
    else if (inet_pton(AF_INET6, a, raw) == 1) text_of(AF_INET6, raw, out, outlen);
    else return false;
    return true;
}

bool proxy_forwarded_for(const char *value, const AddrRange *trusted, int ntrusted, char *out, size_t outlen) {
    char a[48], left[48] = "";
    size_t end = strlen(value);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && value[start - 1] != ',') start--;
        const char *e = value + start;
        size_t el = end - start;
        end = start ? start - 1 : 0;
        bool blank = true;
        for (size_t i = 0; i < el && blank; i++) blank = e[i] == ' ' || e[i] == '\t';
        if (blank) continue; // "a,,b": an empty entry says nothing
        if (!proxy_addr(e, el, a, sizeof a)) return false;
        if (!addr_in_ranges(trusted, ntrusted, a)) {
            snprintf(out, outlen, "%s", a);
            return true;
        }
        memcpy(left, a, sizeof left);
    }
    if (!left[0]) return false;
    snprintf(out, outlen, "%s", left);
    return true;
}

// Whether [s, s + n) says https, quotes and spaces aside.
static bool proxy_proto_https_n(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t' || *s == '"')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '"')) n--;
    return n == 5 && !strncasecmp(s, "https", 5);
}

bool proxy_proto_https(const char *value) {
    const char *c = strrchr(value, ',');
    const char *s = c ? c + 1 : value;
    return proxy_proto_https_n(s, strlen(s));
}

// The value of name= in one Forwarded element [e, e + n), unquoted: false when absent.
static bool fwd_param(const char *e, size_t n, const char *name, const char **v, size_t *vl) {
    size_t nl = strlen(name);
    for (size_t i = 0; i < n;) {
        while (i < n && (e[i] == ' ' || e[i] == '\t' || e[i] == ';')) i++;
        size_t s = i;
        bool q = false;
        while (i < n && (q || e[i] != ';')) {
            if (e[i] == '"') q = !q;
            i++;
        }
        const char *eq = (const char *)memchr(e + s, '=', i - s);
        if (eq && (size_t)(eq - (e + s)) == nl && !strncasecmp(e + s, name, nl)) {
            *v = eq + 1;
            *vl = (size_t)(e + i - (eq + 1));
            return true;
        }
    }
    return false;
}

bool proxy_forwarded(const char *value, const AddrRange *trusted, int ntrusted, char *out, size_t outlen, bool *https) {
    // the elements, split at commas outside quoted strings
    const char *el[64];
    size_t ell[64];
    int ne = 0;
    bool q = false;
    const char *s = value;
    for (const char *p = value;; p++) {
        if (*p == '"') q = !q;
        if (*p && (q || *p != ',')) continue;
        if (ne == 64) { // more hops than any real chain: keep the nearest ones
            memmove(el, el + 1, sizeof el[0] * 63);
            memmove(ell, ell + 1, sizeof ell[0] * 63);
            ne = 63;
        }
        el[ne] = s;
        ell[ne++] = (size_t)(p - s);
        if (!*p) break;
        s = p + 1;
    }
    *https = false;
    char a[48], left[48] = "";
    bool left_https = false;
    for (int i = ne - 1; i >= 0; i--) {
        const char *v, *pv;
        size_t vl, pvl;
        bool blank = true;
        for (size_t k = 0; k < ell[i] && blank; k++) blank = el[i][k] == ' ' || el[i][k] == '\t';
        if (blank) continue;
        if (!fwd_param(el[i], ell[i], "for", &v, &vl) || !proxy_addr(v, vl, a, sizeof a)) return false;
        bool tls = fwd_param(el[i], ell[i], "proto", &pv, &pvl) && proxy_proto_https_n(pv, pvl);
        if (!addr_in_ranges(trusted, ntrusted, a)) {
            snprintf(out, outlen, "%s", a);
            *https = tls;
            return true;
        }
        memcpy(left, a, sizeof left);
        left_https = tls;
    }
    if (!left[0]) return false;
    snprintf(out, outlen, "%s", left);
    *https = left_https;
    return true;
}
