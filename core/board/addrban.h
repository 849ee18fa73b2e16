// Address bans, held in the core so that every way in is checked at accept:
// WebSocket (before a token is looked at), telnet, and resume. The scripts
// own the bans (lua/bans.lua keeps them in the database and wording) and push
// the address ones here with pl.set_address_bans.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define ADDR_MAX 48

// An address as bans compare it: lowercase, an IPv4-mapped IPv6 address
// (::ffff:1.2.3.4) as its IPv4 form.
void addr_normal(const char *addr, char out[ADDR_MAX]);
// Whether two peer addresses are the same host (after addr_normal).
bool addr_same(const char *a, const char *b);

// A ban pattern: an address, or a prefix ending in '*' ("10.1.2.*"), of hex
// digits, dots and colons; until_ms 0 lasts until lifted.
struct AddrBan {
    char pattern[ADDR_MAX];
    uint64_t until_ms;
};
bool addr_pattern_ok(const char *pattern);
// Replaces the whole list; malformed patterns are left out. Returns how many
// were kept, or -1 (out of memory: the list is left as it was).
int addrban_set(const AddrBan *bans, size_t n);
// Whether addr is banned at now_ms.
bool addrban_match(const char *addr, uint64_t now_ms);
void addrban_free(void);
