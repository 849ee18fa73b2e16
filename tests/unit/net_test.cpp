// The pure parts of net.cpp: address ranges (metrics_allow), the first
// request head's limits, and the per-address connection count.
#include <string>

#include "check.h"
#include "base/config.h"
#include "board/limits.h"
#include "net/net.h"
#include "base/addr.h"

TEST(ranges_parse_and_match_both_families) {
    AddrRange r[8];
    int n;
    char err[200];
    CHECK(addr_parse_ranges("127.0.0.0/8, ::1  10.1.2.3", r, 8, &n, err, sizeof err) && n == 3);
    CHECK(addr_in_ranges(r, n, "127.0.0.1") && addr_in_ranges(r, n, "127.255.1.2"));
    CHECK(addr_in_ranges(r, n, "::1") && addr_in_ranges(r, n, "10.1.2.3"));
    CHECK(!addr_in_ranges(r, n, "128.0.0.1") && !addr_in_ranges(r, n, "10.1.2.4") && !addr_in_ranges(r, n, "::2"));
    CHECK(addr_in_ranges(r, n, "::ffff:127.0.0.1")); // an IPv4 peer on a dual-stack socket
    CHECK(!addr_in_ranges(r, n, "not an address") && !addr_in_ranges(r, n, ""));
    CHECK(addr_parse_ranges("192.168.1.0/25, fd00::/8, ::ffff:172.16.0.0/108", r, 8, &n, err, sizeof err) && n == 3);
    CHECK(addr_in_ranges(r, n, "192.168.1.127") && !addr_in_ranges(r, n, "192.168.1.128"));
    CHECK(addr_in_ranges(r, n, "fd12:3456::1") && !addr_in_ranges(r, n, "fe80::1"));
    CHECK(addr_in_ranges(r, n, "172.31.255.255") && !addr_in_ranges(r, n, "172.32.0.0"));
    CHECK(addr_parse_ranges("*", r, 8, &n, err, sizeof err) && n == 2);
    CHECK(addr_in_ranges(r, n, "8.8.8.8") && addr_in_ranges(r, n, "2001:db8::1"));
    CHECK(addr_parse_ranges("", r, 8, &n, err, sizeof err) && n == 0); // nobody
    CHECK(!addr_in_ranges(r, n, "127.0.0.1"));
}

TEST(ranges_refuse_what_is_not_an_address) {
    AddrRange r[4];
    int n;
    char err[200];
    const char *bad[] = {"localhost", "127.0.0.1/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "1.2.3.4/-1",
                         "300.1.1.1", "1.2.3.4, nope"};
    for (const char *b : bad) {
        CHECK(!addr_parse_ranges(b, r, 4, &n, err, sizeof err));
        CHECK(strstr(err, "is not an address or range") != NULL);
    }
    CHECK(!addr_parse_ranges("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", r, 4, &n, err, sizeof err));
    Config c;
    config_defaults(&c);
    CHECK_STR(c.metrics_allow, "127.0.0.0/8, ::1");
    CHECK(config_set(&c, "metrics_allow", "10.0.0.0/8", err, sizeof err) == 0);
    CHECK(config_set(&c, "metrics_allow", "ten", err, sizeof err) < 0);
    CHECK_STR(c.metrics_allow, "10.0.0.0/8"); // unchanged by the bad value
}

static int check(const std::string &s, bool *complete) { return net_http_head_check(s.data(), s.size(), complete); }

TEST(request_head_limits) {
    bool complete;
    CHECK(check("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &complete) == 0 && complete);
    CHECK(check("GET / HTTP/1.1\nHost: x\n\n", &complete) == 0 && complete); // bare LF
    CHECK(check("GET / HTTP/1.1\r\nHost: x\r\n", &complete) == 0 && !complete);
    CHECK(check("GET /ws?a=1&b=2 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n", &complete) == 0 && complete); // pipelined
    // the target: too long, or too many arguments, even before the line ends
    CHECK(check("GET /" + std::string(HTTP_URI_MAX, 'a') + " HTTP/1.1\r\n\r\n", &complete) == 414);
    CHECK(check("GET /" + std::string(HTTP_URI_MAX, 'a'), &complete) == 414);
    CHECK(check("GET /" + std::string(HTTP_URI_MAX - 2, 'a') + " HTTP/1.1\r\n\r\n", &complete) == 0);
    std::string args = "GET /?a=1";
    for (int i = 1; i < HTTP_ARGS_MAX; i++) args += "&a=1";
    CHECK(check(args + " HTTP/1.1\r\n\r\n", &complete) == 0);
    CHECK(check(args + "&a=1 HTTP/1.1\r\n\r\n", &complete) == 414);
    // headers: too many lines, or too many bytes
    std::string h = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < HTTP_HEADERS_MAX; i++) h += "X: y\r\n";
    CHECK(check(h + "\r\n", &complete) == 0 && complete);
    CHECK(check(h + "X: y\r\n\r\n", &complete) == 431);
    CHECK(check(h + "X: y\r\n", &complete) == 431); // no need to wait for the end
    std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(HTTP_HEAD_MAX, 'a');
    CHECK(check(big, &complete) == 431);
    CHECK(check(big + "\r\n\r\n", &complete) == 431);
    CHECK(check("GET / HTTP/1.1\r\nX: " + std::string(HTTP_HEAD_MAX - 40, 'a') + "\r\n\r\n", &complete) == 0);
    // a request line without end past the head limit is a target too long
    CHECK(check(std::string(HTTP_HEAD_MAX + 1, 'G'), &complete) == 414);
    CHECK(check("", &complete) == 0 && !complete);
}

TEST(connections_per_address_count_refusals_in_flight) {
    int saved = g_cfg.max_conns_per_addr;
    g_cfg.max_conns_per_addr = 2;
    CHECK(limits_addr_open("192.0.2.1") == ADDR_OK);
    CHECK(limits_addr_open("192.0.2.1") == ADDR_OK);
    int over = 0, closed = 0;
    for (int i = 0; i < 20; i++) {
        AddrVerdict r = limits_addr_open("192.0.2.1");
        over += r == ADDR_REFUSE;
        closed += r == ADDR_DROP;
    }
    CHECK(over == 8 && closed == 12); // a few refused with a reason, the rest at once
    CHECK(limits_addr_open("192.0.2.2") == ADDR_OK); // another address is untouched
    for (int i = 0; i < 2 + 8; i++) limits_addr_close("192.0.2.1");
    CHECK(limits_addr_open("192.0.2.1") == ADDR_OK); // all given back
    limits_addr_close("192.0.2.1");
    limits_addr_close("192.0.2.2");
    g_cfg.max_conns_per_addr = 0;
    for (int i = 0; i < 100; i++) CHECK(limits_addr_open("192.0.2.3") == ADDR_OK);
    for (int i = 0; i < 100; i++) limits_addr_close("192.0.2.3");
    g_cfg.max_conns_per_addr = saved;
}
