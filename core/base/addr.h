// Client addresses as text, and address ranges ("127.0.0.0/8, ::1") for
// the rules that name them (metrics_allow; later trusted proxies). An IPv4
// peer on a dual-stack socket (::ffff:a.b.c.d) is the IPv4 address it is,
// everywhere.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

// The text of a socket address, IPv4-mapped IPv6 as plain IPv4.
void addr_text(const struct sockaddr *sa, char *out, size_t outlen);

struct AddrRange {
    uint8_t family; // 4 or 6
    uint8_t bits;
    uint8_t addr[16];
};
// Parses a list of addresses and ranges separated by commas or spaces ("*"
// is every address); false with the offending item in err.
bool addr_parse_ranges(const char *list, AddrRange *out, int max, int *n, char *err, size_t errlen);
// Whether a textual address (IPv4, IPv6, or IPv4-mapped IPv6) is in one of the ranges.
bool addr_in_ranges(const AddrRange *r, int n, const char *addr);
