// Abuse limits: connections per address, login failures per handle and per
// address, new accounts per address. (The input rate per connection is the
// net layer's: net/pace.h.)
#pragma once
#include <stdint.h>

enum AddrVerdict {
    ADDR_OK,      // within max_conns_per_addr
    ADDR_REFUSE,  // at the limit: counted too, and refused with a reason
    ADDR_DROP,    // that many refusals are under way as well: not counted, close it at once
};
// Counts a new connection from addr. Every connection counted (ADDR_OK,
// ADDR_REFUSE) is given back with limits_addr_close.
AddrVerdict limits_addr_open(const char *addr);
void limits_addr_close(const char *addr);

// Login failures. Returns the seconds a handle or address is locked for
// (0 = may try now).
uint32_t limits_login_locked(const char *handle, const char *addr, uint64_t now_ms);
// Records a failure; returns how many ms to wait before answering (slow-down).
uint32_t limits_login_failed(const char *handle, const char *addr, uint64_t now_ms);
// The same for a failure another process of the board saw (counted, not
// passed on).
uint32_t limits_login_counted(const char *handle, const char *addr, uint64_t now_ms);
void limits_login_ok(const char *handle);
// New accounts per address: register_per_hour, as a bucket that refills
// over the hour. take: false when the address has used them up; give_back:
// a registration that did not make an account costs nothing.
bool limits_register_take(const char *addr, uint64_t now_ms);
void limits_register_give_back(const char *addr);
// Forgets failure records whose window has passed.
void limits_prune(uint64_t now_ms);
void limits_free(void);
