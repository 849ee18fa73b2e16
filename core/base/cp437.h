// Code page 437, the character set of the IBM PC and of most BBS terminals
// (SyncTERM, NetRunner, ...): box drawing, blocks, shades, accented
// letters. glibc's iconv does the conversion (its IBM437 module), so no
// table is written by hand here: the decoding table is made from it once.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

// Opens the converters; false when the C library lacks CP437 (then
// terminals get UTF-8 whatever they asked for).
bool cp437_init(void);
void cp437_close(void);
bool cp437_ready(void);

// The UTF-8 of one CP437 byte (NUL-terminated, 1-3 bytes). Bytes below
// 0x20 and 0x7F are the ASCII controls they are (iconv's view; in art they
// are drawn as spaces: base/ansiart.cpp).
const char *cp437_utf8(uint8_t c);

// Appends UTF-8 text as CP437 to out (at most max bytes in all).
// Characters CP437 lacks are transliterated as iconv does (é stays é,
// "ő" becomes "o", "€" "EUR", "…" "..."), and "?" where there is nothing
// close. Escape sequences and controls pass as they are. Invalid UTF-8
// becomes "?". Returns false when out would pass max (what fitted is kept).
bool cp437_encode(const char *in, size_t n, Buf *out, size_t max);
