// Inside the telnet engine: its option negotiation (net/telnet_opts.cpp),
// as the byte reader (net/telnet.cpp) calls it.
#pragma once
#include <stdint.h>

struct Telnet;

// Queues our opening offers (WILL ECHO, WILL SGA, DO NAWS, DO TERMINAL-TYPE,
// WILL CHARSET) and notes them as asked.
void telnet_offers(Telnet *t);
// IAC cmd opt from the client (cmd: DO, DONT, WILL, WONT).
void telnet_negotiate(Telnet *t, uint8_t cmd, uint8_t opt);
// A subnegotiation has ended (IAC SE): its bytes are t->sb.
void telnet_subnegotiation(Telnet *t);
