// ANSI art as BBS artists draw it: a .ans file is CP437 text with ANSI
// escape sequences (colours, and cursor moves that lay the picture out on
// an 80-column PC screen), ended by an EOF byte and a SAUCE record
// (title, author, group, width, iCE colours) that is not part of the
// picture. The file is played on a screen of its own and read back as
// lines: UTF-8 text with only SGR colour codes in it, which every
// terminal, the telnet side's wrapping and colour stripping, and the web
// page's xterm.js all take as they are. A CP437 terminal gets the
// picture's own bytes back (net/telnet_conn.cpp encodes), a UTF-8 one the
// same characters in Unicode, a terminal without colour the plain text.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define ANSIART_MAX_WIDTH 255  // SAUCE's width field could say more; nobody draws that wide
#define ANSIART_MAX_ROWS 2000

struct ArtInfo {
    bool sauce;          // the file had a SAUCE record
    char title[36 * 3];  // from it, in UTF-8, trimmed ("" when none)
    char author[21 * 3];
    char group[21 * 3];
    uint16_t width;      // columns the picture was drawn for (SAUCE, else 80)
    uint16_t rows;       // lines it has
    bool ice;            // iCE colours: blink means a bright background
};

// The picture in data[0, n) as lines joined by '\n' (no trailing one), in
// a malloc'd NUL-terminated string whose length goes to *len; NULL when
// out of memory. Never fails on bad input: what is not understood is
// skipped, and the picture stops at ANSIART_MAX_ROWS.
char *ansiart_render(const uint8_t *data, size_t n, ArtInfo *info, size_t *len);
