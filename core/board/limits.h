// Abuse limits: input rate per connection, connections per address, and
// login failures per handle and per address.
#pragma once
#include <stdint.h>

struct Conn;

// Token bucket for one connection. Returns 0 to accept a message, 1 to drop
// it (answer `rate_limited`), 2 when the client keeps flooding and must go.
// For what cannot wait; input messages wait instead (limits_rate_wait).
int limits_rate_take(Conn *c, uint64_t now_ms);
// The same bucket for input that waits its turn (pace.h): 0 when a token was
// taken and the message may be handled now, else the ms until one is due.
uint32_t limits_rate_wait(Conn *c, uint64_t now_ms);

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
// New accounts per address: register_per_hour, as a bucket that refills
// over the hour. take: false when the address has used them up; give_back:
// a registration that did not make an account costs nothing.
bool limits_register_take(const char *addr, uint64_t now_ms);
void limits_register_give_back(const char *addr);
// Forgets failure records whose window has passed.
void limits_prune(uint64_t now_ms);
void limits_free(void);
