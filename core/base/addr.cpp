#include "base/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

// IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d; they are
// counted, matched and logged as the IPv4 address they are.
void addr_text(const struct sockaddr *sa, char *out, size_t outlen) {
    out[0] = 0;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
        else inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
    }
}

static bool parse_addr(const char *s, AddrRange *r) {
    struct in_addr a4;
    struct in6_addr a6;
    memset(r, 0, sizeof *r);
    if (inet_pton(AF_INET, s, &a4) == 1) {
        r->family = 4;
        r->bits = 32;
        memcpy(r->addr, &a4, 4);
        return true;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) { // the same thing as the IPv4 address
            r->family = 4;
            r->bits = 32;
            memcpy(r->addr, &a6.s6_addr[12], 4);
            return true;
        }
        r->family = 6;
        r->bits = 128;
        memcpy(r->addr, &a6, 16);
        return true;
    }
    return false;
}

bool addr_parse_ranges(const char *list, AddrRange *out, int max, int *n, char *err, size_t errlen) {
    *n = 0;
    const char *p = list;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
        if (!*p) return true;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        char item[64];
        size_t len = (size_t)(e - p);
        if (len >= sizeof item) {
            snprintf(err, errlen, "'%.*s' is not an address or range", (int)(len > 40 ? 40 : len), p);
            return false;
        }
        memcpy(item, p, len);
        item[len] = 0;
        p = e;
        if (*n == max) {
            snprintf(err, errlen, "more than %d addresses or ranges", max);
            return false;
        }
        AddrRange *r = &out[*n];
        if (!strcmp(item, "*") || !strcmp(item, "any")) { // every address of both families
            memset(r, 0, sizeof *r);
            r->family = 4;
            (*n)++;
            if (*n == max) continue;
            memset(&out[*n], 0, sizeof out[*n]);
            out[(*n)++].family = 6;
            continue;
        }
        char *slash = strchr(item, '/');
        long bits = -1;
        bool ok = true;
        if (slash) {
            char *end;
            *slash = 0;
            bits = strtol(slash + 1, &end, 10);
            ok = end != slash + 1 && !*end && bits >= 0;
        }
        ok = ok && parse_addr(item, r);
        if (ok && slash) {
            // a mapped range ::ffff:a.b.c.d/n is the IPv4 range /(n-96)
            if (r->family == 4 && strchr(item, ':')) bits = bits >= 96 ? bits - 96 : -1;
            ok = bits >= 0 && bits <= (r->family == 4 ? 32 : 128);
            r->bits = (uint8_t)bits;
        }
        if (!ok) {
            if (slash) *slash = '/';
            snprintf(err, errlen, "'%s' is not an address or range", item);
            return false;
        }
        (*n)++;
    }
}

bool addr_in_ranges(const AddrRange *r, int n, const char *addr) {
    AddrRange a;
    if (!parse_addr(addr, &a)) return false;
    for (int i = 0; i < n; i++) {
        if (r[i].family != a.family) continue;
        int full = r[i].bits / 8, rest = r[i].bits % 8;
        if (memcmp(r[i].addr, a.addr, (size_t)full)) continue;
        if (rest && ((r[i].addr[full] ^ a.addr[full]) & (0xff << (8 - rest)))) continue;
        return true;
    }
    return false;
}

