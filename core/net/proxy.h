// What a reverse proxy says about the client it stands for: the PROXY
// protocol preamble (v1 text, v2 binary, as HAProxy and nginx's stream
// module send it) in front of a TCP stream, and the X-Forwarded-For and
// Forwarded (RFC 7239) headers of an HTTP request. Pure parsing: whether
// the peer is trusted to say so is net/net.cpp's decision.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct AddrRange;

#define PROXY_V1_MAX 107         // the whole v1 line, CR LF included (the spec's bound)
#define PROXY_V2_MAX (16 + 2048) // header and body; HAProxy's TLVs stay far below
#define PROXY_SIG_LEN 12

enum ProxyVerdict {
    PROXY_NONE,      // the bytes are not a PROXY preamble (nor the start of one)
    PROXY_MORE,      // the start of one: wait for more bytes
    PROXY_BAD,       // a preamble that breaks the protocol
    PROXY_OK,        // a whole preamble of `len` bytes
};

struct ProxyInfo {
    size_t len;     // bytes of the preamble, to be consumed before the stream
    char addr[48];  // the client's address; empty: the proxy speaks for itself
                    // (v1 UNKNOWN, v2 LOCAL, or a family that has no address)
    bool tls;       // v2 only: the client reached the proxy over TLS (PP2_TYPE_SSL)
};

// Reads a preamble from the first n bytes of a stream.
ProxyVerdict proxy_preamble(const uint8_t *buf, size_t n, ProxyInfo *out);

// One address as a proxy header writes it ("1.2.3.4", "1.2.3.4:5678",
// "2001:db8::1", "[2001:db8::1]:5678", surrounding spaces and quotes
// allowed), in its canonical text (an IPv4-mapped IPv6 address as IPv4).
// False for anything else ("unknown", an obfuscated "_name", garbage).
bool proxy_addr(const char *s, size_t n, char *out, size_t outlen);

// The client's address from an X-Forwarded-For value (every line of the
// header, joined by commas): each proxy appends the address it was reached
// from, so the entries are read from the right and the first one that is
// not itself a trusted proxy is the client; when all are trusted, the
// left-most. False when the entry that decides is not an address.
bool proxy_forwarded_for(const char *value, const AddrRange *trusted, int ntrusted, char *out, size_t outlen);

// The same from a Forwarded value (RFC 7239: "for=1.2.3.4;proto=https,
// for=\"[2001:db8::1]:80\""). *https tells whether the chosen element's
// proto is https (false when it names none).
bool proxy_forwarded(const char *value, const AddrRange *trusted, int ntrusted, char *out, size_t outlen, bool *https);

// Whether the last entry of an X-Forwarded-Proto value (the one the nearest
// proxy wrote) is https.
bool proxy_proto_https(const char *value);
