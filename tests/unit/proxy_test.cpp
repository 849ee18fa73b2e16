// What a reverse proxy says about its client (net/proxy.cpp): the PROXY
// protocol v1 and v2 preambles, X-Forwarded-For, Forwarded, and
// X-Forwarded-Proto, read the way a trusted proxy's word must be read.
#include <string>

#include "check.h"
#include "base/addr.h"
#include "net/proxy.h"

static ProxyVerdict pre(const std::string &s, ProxyInfo *pi) {
    return proxy_preamble((const uint8_t *)s.data(), s.size(), pi);
}

TEST(proxy_v1_lines) {
    ProxyInfo pi;
    CHECK(pre("PROXY TCP4 203.0.113.7 192.0.2.1 51234 2323\r\nrest", &pi) == PROXY_OK);
    CHECK_STR(pi.addr, "203.0.113.7");
    CHECK(pi.len == strlen("PROXY TCP4 203.0.113.7 192.0.2.1 51234 2323\r\n") && !pi.tls);
    CHECK(pre("PROXY TCP6 2001:DB8::7 2001:db8::1 1 65535\r\n", &pi) == PROXY_OK);
    CHECK_STR(pi.addr, "2001:db8::7");
    CHECK(pre("PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n", &pi) == PROXY_OK);
    CHECK_STR(pi.addr, "10.1.2.3"); // an IPv4 client behind a dual-stack proxy is that IPv4 address
    CHECK(pre("PROXY UNKNOWN\r\n", &pi) == PROXY_OK && pi.addr[0] == 0 && pi.len == 15);
    CHECK(pre("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &pi) == PROXY_OK && pi.addr[0] == 0);
    // a preamble arriving in pieces
    CHECK(pre("PRO", &pi) == PROXY_MORE);
    CHECK(pre("PROXY TCP4 1.2.3.4", &pi) == PROXY_MORE);
    CHECK(pre("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", &pi) == PROXY_MORE);
    // not one at all: a telnet client's negotiation, an HTTP request, a TLS hello
    CHECK(pre("\xff\xfd\x18", &pi) == PROXY_NONE);
    CHECK(pre("GET / HTTP/1.1\r\n", &pi) == PROXY_NONE);
    CHECK(pre("\x16\x03\x01", &pi) == PROXY_NONE);
    CHECK(pre("PROXZ", &pi) == PROXY_NONE);
}

TEST(proxy_v1_refuses_what_breaks_the_protocol) {
    ProxyInfo pi;
    const char *bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",          // LF without CR
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",          // a word short
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",      // a word long
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",       // two spaces
        "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",    // the wrong family
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",    // no such port
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY \r\n",
    };
    for (const char *b : bad) CHECK(pre(b, &pi) == PROXY_BAD);
    // no line end within the protocol's 107 bytes
    CHECK(pre("PROXY TCP4 " + std::string(120, '1'), &pi) == PROXY_BAD);
}

static std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string &body) {
    std::string s("\r\n\r\n\0\r\nQUIT\n", 12);
    s += (char)ver_cmd;
    s += (char)fam;
    s += (char)(body.size() >> 8);
    s += (char)(body.size() & 0xff);
    return s + body;
}

TEST(proxy_v2_headers) {
    ProxyInfo pi;
    std::string inet("\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x09\x13", 12);
    std::string h = v2(0x21, 0x11, inet);
    CHECK(pre(h + "after", &pi) == PROXY_OK);
    CHECK_STR(pi.addr, "203.0.113.7");
    CHECK(pi.len == 28 && !pi.tls);
    // in pieces: the signature, the fixed part, the body
    for (size_t cut : {1, 11, 12, 15, 16, 27}) CHECK(pre(h.substr(0, cut), &pi) == PROXY_MORE);
    std::string inet6(36, '\0');
    inet6[0] = '\x20', inet6[1] = '\x01', inet6[2] = '\x0d', inet6[3] = '\xb8', inet6[15] = '\x07';
    CHECK(pre(v2(0x21, 0x21, inet6), &pi) == PROXY_OK);
    CHECK_STR(pi.addr, "2001:db8::7");
    // LOCAL (a health check) and UNSPEC: the proxy speaks for itself
    CHECK(pre(v2(0x20, 0x00, ""), &pi) == PROXY_OK && pi.addr[0] == 0 && pi.len == 16);
    CHECK(pre(v2(0x21, 0x00, "xyz"), &pi) == PROXY_OK && pi.addr[0] == 0 && pi.len == 19);
    // TLVs: the client came over TLS (PP2_TYPE_SSL, client bit set); others are skipped
    std::string tlv = inet + std::string("\x04\x00\x02" "ab", 5) + std::string("\x20\x00\x05\x01\x00\x00\x00\x00", 8);
    CHECK(pre(v2(0x21, 0x11, tlv), &pi) == PROXY_OK && pi.tls);
    std::string notls = inet + std::string("\x20\x00\x05\x00\x00\x00\x00\x00", 8);
    CHECK(pre(v2(0x21, 0x11, notls), &pi) == PROXY_OK && !pi.tls);
}

TEST(proxy_v2_refuses_what_breaks_the_protocol) {
    ProxyInfo pi;
    std::string inet("\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
    CHECK(pre(v2(0x11, 0x11, inet), &pi) == PROXY_BAD);                         // version 1
    CHECK(pre(v2(0x22, 0x11, inet), &pi) == PROXY_BAD);                         // no such command
    CHECK(pre(v2(0x21, 0x41, inet), &pi) == PROXY_BAD);                         // no such family
    CHECK(pre(v2(0x21, 0x21, inet), &pi) == PROXY_BAD);                         // too short for IPv6
    CHECK(pre(v2(0x21, 0x11, inet + std::string("\x20\x00\x09\x01", 4)), &pi) == PROXY_BAD); // a TLV past the end
    CHECK(pre(v2(0x21, 0x11, inet + std::string("\x20\x00", 2)), &pi) == PROXY_BAD);
    std::string huge = v2(0x21, 0x11, std::string(PROXY_V2_MAX, '\0'));
    CHECK(pre(huge, &pi) == PROXY_BAD); // longer than any real proxy sends
}

TEST(proxy_addr_forms) {
    char a[48];
    CHECK(proxy_addr("1.2.3.4", 7, a, sizeof a) && !strcmp(a, "1.2.3.4"));
    CHECK(proxy_addr(" 1.2.3.4:5678 ", 14, a, sizeof a) && !strcmp(a, "1.2.3.4"));
    CHECK(proxy_addr("2001:DB8::1", 11, a, sizeof a) && !strcmp(a, "2001:db8::1"));
    CHECK(proxy_addr("\"[2001:db8::1]:80\"", 18, a, sizeof a) && !strcmp(a, "2001:db8::1"));
    CHECK(proxy_addr("[::ffff:1.2.3.4]", 16, a, sizeof a) && !strcmp(a, "1.2.3.4"));
    const char *bad[] = {"unknown", "_hidden", "", "1.2.3.4:", "1.2.3.4:x", "[::1", "[::1]x", "1.2.3", "a.b.c.d", "::1]"};
    for (const char *b : bad) CHECK(!proxy_addr(b, strlen(b), a, sizeof a));
}

TEST(forwarded_for_takes_the_rightmost_untrusted) {
    AddrRange t[4];
    int n;
    char err[200], a[48];
    CHECK(addr_parse_ranges("127.0.0.1, 10.0.0.0/8", t, 4, &n, err, sizeof err));
    // the client may write anything on the left; the proxy appends who it saw
    CHECK(proxy_forwarded_for("6.6.6.6, 203.0.113.7", t, n, a, sizeof a) && !strcmp(a, "203.0.113.7"));
    // a chain of trusted proxies is skipped from the right
    CHECK(proxy_forwarded_for("6.6.6.6, 203.0.113.7, 10.1.1.1, 127.0.0.1", t, n, a, sizeof a) && !strcmp(a, "203.0.113.7"));
    // two header lines, joined by lws with a comma
    CHECK(proxy_forwarded_for("1.1.1.1,203.0.113.9", t, n, a, sizeof a) && !strcmp(a, "203.0.113.9"));
    // every entry a trusted proxy: the left-most (the proxy host's own request)
    CHECK(proxy_forwarded_for("127.0.0.1", t, n, a, sizeof a) && !strcmp(a, "127.0.0.1"));
    CHECK(proxy_forwarded_for("10.0.0.5, 127.0.0.1", t, n, a, sizeof a) && !strcmp(a, "10.0.0.5"));
    CHECK(proxy_forwarded_for("[2001:db8::5]:1234", t, n, a, sizeof a) && !strcmp(a, "2001:db8::5"));
    CHECK(proxy_forwarded_for(" , 203.0.113.7 ,", t, n, a, sizeof a) && !strcmp(a, "203.0.113.7"));
    // garbage where the answer would be: no answer (the proxy's own address is used)
    CHECK(!proxy_forwarded_for("203.0.113.7, unknown", t, n, a, sizeof a));
    CHECK(!proxy_forwarded_for("", t, n, a, sizeof a));
    // garbage the client wrote, left of the real entry, is never reached
    CHECK(proxy_forwarded_for("<script>, 203.0.113.7", t, n, a, sizeof a) && !strcmp(a, "203.0.113.7"));
}

TEST(forwarded_rfc7239) {
    AddrRange t[4];
    int n;
    char err[200], a[48];
    bool https;
    CHECK(addr_parse_ranges("127.0.0.1", t, 4, &n, err, sizeof err));
    CHECK(proxy_forwarded("for=203.0.113.7;proto=https;by=127.0.0.1", t, n, a, sizeof a, &https));
    CHECK(!strcmp(a, "203.0.113.7") && https);
    CHECK(proxy_forwarded("for=6.6.6.6;proto=https, For=\"[2001:db8::7]:4711\";proto=http", t, n, a, sizeof a, &https));
    CHECK(!strcmp(a, "2001:db8::7") && !https);
    CHECK(proxy_forwarded("for=203.0.113.7, for=127.0.0.1;proto=https", t, n, a, sizeof a, &https));
    CHECK(!strcmp(a, "203.0.113.7") && !https);
    // a quoted value may hold commas and semicolons
    CHECK(proxy_forwarded("for=\"[2001:db8::9]\";host=\"a,b;c\"", t, n, a, sizeof a, &https) && !strcmp(a, "2001:db8::9"));
    CHECK(!proxy_forwarded("for=unknown", t, n, a, sizeof a, &https));
    CHECK(!proxy_forwarded("proto=https", t, n, a, sizeof a, &https));
    CHECK(!proxy_forwarded("", t, n, a, sizeof a, &https));
}

TEST(forwarded_proto) {
    CHECK(proxy_proto_https("https") && proxy_proto_https("HTTPS") && proxy_proto_https("http, https"));
    CHECK(!proxy_proto_https("http") && !proxy_proto_https("https, http") && !proxy_proto_https("") && !proxy_proto_https("httpss"));
}
