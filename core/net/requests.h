// Client-to-server messages on the WebSocket (PROTOCOL.md section 4).
#pragma once
#include <stddef.h>
#include <stdint.h>

struct Conn;
struct Session;

void requests_handle(Conn *c, const char *data, size_t len);
void requests_binary(Conn *c);
// Attaches c to session s from last_seq on (c may have no session yet).
// token_handle: the user a valid token on c vouches for, or NULL. Returns
// false, changing nothing, when c may not attach to s (net/requests.cpp).
bool requests_resume(Conn *c, Session *s, uint64_t last_seq, const char *token_handle);
