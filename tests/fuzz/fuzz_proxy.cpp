// libFuzzer: what a proxy says of its client (net/proxy.cpp) takes any
// bytes without reading out of bounds. A preamble it accepts lies within
// the bytes given and the protocol's bounds, and names a real address or
// none; a forwarding header it reads names a real address.
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "net/proxy.h"

static bool is_addr(const char *a) {
    uint8_t raw[16];
    return inet_pton(AF_INET, a, raw) == 1 || inet_pton(AF_INET6, a, raw) == 1;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ProxyInfo pi;
    ProxyVerdict v = proxy_preamble(data, size, &pi);
    if (v == PROXY_OK) {
        if (pi.len == 0 || pi.len > size || pi.len > PROXY_V2_MAX) __builtin_trap();
        if (pi.addr[0] && !is_addr(pi.addr)) __builtin_trap();
    }
    // the same bytes as a header value (a NUL ends it, as lws hands it over)
    static char text[PROXY_V2_MAX + 1];
    size_t n = size < PROXY_V2_MAX ? size : PROXY_V2_MAX;
    memcpy(text, data, n);
    text[n] = 0;
    static AddrRange trusted[2];
    static int nt = -1;
    if (nt < 0) {
        char err[100];
        addr_parse_ranges("127.0.0.0/8, ::1", trusted, 2, &nt, err, sizeof err);
    }
    char a[48];
    bool https;
    if (proxy_forwarded_for(text, trusted, nt, a, sizeof a) && !is_addr(a)) __builtin_trap();
    if (proxy_forwarded(text, trusted, nt, a, sizeof a, &https) && !is_addr(a)) __builtin_trap();
    proxy_proto_https(text);
    return 0;
}
