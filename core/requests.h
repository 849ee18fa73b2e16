// Client-to-server messages on the WebSocket (PROTOCOL.md section 4).
#pragma once
#include <stddef.h>

struct Conn;

void requests_handle(Conn *c, const char *data, size_t len);
void requests_binary(Conn *c);
