// Web origins (RFC 6454): which pages may open a connection to the board
// from a browser. A browser names the page in the Origin header of every
// WebSocket upgrade; anything else (a terminal program, a script) sends
// none, and cannot be another site's page.
#pragma once
#include <stddef.h>

// A list of allowed origins: `*` (any page), or origins such as
// `https://bbs.example.org` and `http://example.org:8080`, separated by
// commas or spaces; empty allows only the board's own pages. False with a
// reason for an entry that is not an origin (a path, another scheme).
bool origin_list_valid(const char *list, char *why, size_t whylen);
// Whether a page of origin (the Origin header) may connect: one of the
// board's own pages (its host and port are the request's Host), or one the
// list names. Scheme and host compare without regard to case.
bool origin_allowed(const char *list, const char *origin, const char *host);
