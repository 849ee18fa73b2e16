// Text helpers: cleaning user input, timestamps, ids.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Cleans one line of user input into out: invalid UTF-8 becomes U+FFFD, tabs
// become spaces, every other C0/C1 control (ESC, BEL, CR, LF, ...) and DEL is
// removed, so no user can send a terminal a control sequence. out is always
// NUL-terminated and holds at most cap-1 bytes (3*len+1 never truncates).
// Returns the output length.
size_t text_sanitize(const char *in, size_t len, char *out, size_t cap);

// Length of the longest prefix of in that is valid UTF-8 (RFC 3629); len
// when all of it is. Cheap on ASCII: eight bytes per step.
size_t text_utf8_valid(const char *in, size_t len);
// Copies in to out with every invalid UTF-8 sequence replaced by U+FFFD (one
// per maximal invalid subpart); everything else, controls included, is kept.
// out must hold 3*len+1 bytes; it is NUL-terminated. Returns its length.
size_t text_utf8_repair(const char *in, size_t len, char *out);
// Where to cut s (len bytes) to keep at most max bytes without splitting a
// UTF-8 character: max, or less when a character straddles it.
size_t text_utf8_cut(const char *s, size_t len, size_t max);

// ISO 8601 UTC with milliseconds, e.g. 2026-11-22T07:18:30.123Z (needs 25 bytes).
void text_iso_now(char out[32]);
uint64_t text_now_ms(void);

// Random URL-safe id with 128 bits (22 characters + NUL).
void text_random_id(char out[23]);

// The length of the ANSI escape sequence at s (ESC [ ... final, or ESC and
// one more byte), or 0 when s does not start with ESC. The one place that
// knows what an escape sequence looks like.
size_t text_escape_len(const char *s, size_t n);
// The next run of s[*at..n) outside escape sequences: its start is returned
// and its length put in *len, and *at moves past it; NULL when none is left.
// For text with its sequences dropped:
//   for (size_t at = 0, len; const char *run = text_visible_run(s, n, &at, &len);) add(run, len);
const char *text_visible_run(const char *s, size_t n, size_t *at, size_t *len);
// Number of display columns in UTF-8 text, skipping ANSI escape sequences:
// East Asian wide characters and emoji take two, combining marks none.
size_t text_columns(const char *s, size_t len);
// Where to cut s (len bytes) so that it takes at most max columns, never
// inside a character or an escape sequence; the columns kept go to *cols
// (may be NULL).
size_t text_cut_columns(const char *s, size_t len, size_t max, size_t *cols);
