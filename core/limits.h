// Abuse limits: input rate per connection, connections per address, and
// login failures per handle and per address.
#pragma once
#include <stdint.h>

struct Conn;

// Token bucket for one connection. Returns 0 to accept a message, 1 to drop
// it (answer `rate_limited`), 2 when the client keeps flooding and must go.
int limits_rate_take(Conn *c, uint64_t now_ms);

// Counts a new connection from addr: 0 when it is within
// max_conns_per_addr, 1 when the address is at its limit (the connection is
// counted too, and refused with a reason), -1 when the address already has
// that many refusals under way as well (not counted: close it at once).
// Every connection counted is given back with limits_addr_close.
int limits_addr_open(const char *addr);
void limits_addr_close(const char *addr);

// Login failures. Returns the seconds a handle or address is locked for
// (0 = may try now).
uint32_t limits_login_locked(const char *handle, const char *addr, uint64_t now_ms);
// Records a failure; returns how many ms to wait before answering (slow-down).
uint32_t limits_login_failed(const char *handle, const char *addr, uint64_t now_ms);
void limits_login_ok(const char *handle);
// Forgets failure records whose window has passed.
void limits_prune(uint64_t now_ms);
void limits_free(void);
