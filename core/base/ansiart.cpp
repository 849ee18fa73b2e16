#include "base/ansiart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/cp437.h"

#define OUT_MAX (4u << 20)

// A cell of the PC's text screen: the CP437 byte and the attribute byte
// (bits 0-3 the foreground with bit 3 bright, 4-6 the background, 7 blink:
// or a bright background under iCE colours), colours numbered as ANSI's.
struct Cell {
    uint8_t ch, attr;
};

#define ATTR_DEFAULT 0x07 // gray on black: the PC's own default, no codes needed

struct Screen {
    Cell *cells;
    uint32_t width, rows, cap_rows; // rows: lines written to so far
    uint32_t row, col;
    uint32_t saved_row, saved_col;
    bool wrap_due; // the last column was written: the next character starts a new line
    uint8_t fg, bg; // 0-7 each
    bool bold, blink, reverse;
};

static bool grow(Screen *s, uint32_t row) {
    if (row >= ANSIART_MAX_ROWS) return false;
    if (row >= s->cap_rows) {
        uint32_t cap = s->cap_rows ? s->cap_rows : 32;
        while (cap <= row) cap *= 2;
        if (cap > ANSIART_MAX_ROWS) cap = ANSIART_MAX_ROWS;
        Cell *c = (Cell *)realloc(s->cells, (size_t)cap * s->width * sizeof *c);
        if (!c) return false;
        for (size_t i = (size_t)s->cap_rows * s->width; i < (size_t)cap * s->width; i++) c[i] = Cell{' ', ATTR_DEFAULT};
        s->cells = c;
        s->cap_rows = cap;
    }
    if (row + 1 > s->rows) s->rows = row + 1;
    return true;
}

static uint8_t attr_now(const Screen *s) {
    uint8_t fg = (uint8_t)(s->fg | (s->bold ? 8 : 0)), bg = s->bg;
    if (s->reverse) { // the colours swap; brightness stays with the foreground
        uint8_t t = fg & 7;
        fg = (uint8_t)(bg | (fg & 8));
        bg = t;
    }
    return (uint8_t)(fg | bg << 4 | (s->blink ? 0x80 : 0));
}

static void put(Screen *s, uint8_t ch) {
    if (s->wrap_due) {
        s->wrap_due = false;
        s->row++;
        s->col = 0;
    }
    if (!grow(s, s->row)) return;
    s->cells[(size_t)s->row * s->width + s->col] = Cell{ch, attr_now(s)};
    if (++s->col >= s->width) {
        s->col = s->width - 1;
        s->wrap_due = true; // wrapped only when more follows on this line: a full line then CR LF is one line
    }
}

static void erase(Screen *s, uint32_t row, uint32_t from, uint32_t to) {
    if (row >= s->cap_rows) return;
    for (uint32_t c = from; c < to && c < s->width; c++) s->cells[(size_t)row * s->width + c] = Cell{' ', attr_now(s)};
}

static void sgr(Screen *s, const int *p, int np) {
    static const int RESET[1] = {0};
    if (np == 0) p = RESET, np = 1; // ESC [ m: a reset
    for (int i = 0; i < np; i++) {
        int v = p[i];
        if (v == 0) s->fg = 7, s->bg = 0, s->bold = s->blink = s->reverse = false;
        else if (v == 1) s->bold = true;
        else if (v == 5 || v == 6) s->blink = true;
        else if (v == 7) s->reverse = true;
        else if (v == 22) s->bold = false;
        else if (v == 25) s->blink = false;
        else if (v == 27) s->reverse = false;
        else if (v >= 30 && v <= 37) s->fg = (uint8_t)(v - 30);
        else if (v == 39) s->fg = 7;
        else if (v >= 40 && v <= 47) s->bg = (uint8_t)(v - 40);
        else if (v == 49) s->bg = 0;
        else if (v >= 90 && v <= 97) s->fg = (uint8_t)(v - 90), s->bold = true;
        else if (v >= 100 && v <= 107) s->bg = (uint8_t)(v - 100), s->blink = true; // bright background: iCE's way
        else if (v == 38 || v == 48) { // a palette or RGB colour: beyond a PC screen, passed over
            if (i + 1 < np && p[i + 1] == 5) i += 2;
            else if (i + 1 < np && p[i + 1] == 2) i += 4;
        }
    }
}

static uint32_t arg(const int *p, int np, int i, uint32_t def) { return i < np && p[i] > 0 ? (uint32_t)p[i] : def; }

static void csi(Screen *s, uint8_t final, const int *p, int np) {
    uint32_t n = arg(p, np, 0, 1);
    switch (final) {
    case 'm': return sgr(s, p, np);
    case 'A': s->row = s->row > n ? s->row - n : 0; break;
    case 'B': s->row = s->row + n < ANSIART_MAX_ROWS ? s->row + n : ANSIART_MAX_ROWS - 1; break;
    case 'C': s->col = s->col + n < s->width ? s->col + n : s->width - 1; break;
    case 'D': s->col = s->col > n ? s->col - n : 0; break;
    case 'E': s->row += n, s->col = 0; break;
    case 'F': s->row = s->row > n ? s->row - n : 0, s->col = 0; break;
    case 'G': s->col = n - 1 < s->width ? n - 1 : s->width - 1; break;
    case 'H': case 'f': {
        uint32_t r = arg(p, np, 0, 1) - 1, c = arg(p, np, 1, 1) - 1;
        s->row = r < ANSIART_MAX_ROWS ? r : ANSIART_MAX_ROWS - 1;
        s->col = c < s->width ? c : s->width - 1;
        break;
    }
    case 'J':
        if (np && p[0] == 2) { // the screen cleared: the picture starts again at the top
            for (size_t i = 0; i < (size_t)s->cap_rows * s->width; i++) s->cells[i] = Cell{' ', ATTR_DEFAULT};
            s->rows = 0;
            s->row = s->col = 0;
        }
        break;
    case 'K': erase(s, s->row, np && p[0] ? 0 : s->col, np && p[0] == 1 ? s->col + 1 : s->width); break;
    case 's': s->saved_row = s->row, s->saved_col = s->col; break;
    case 'u': s->row = s->saved_row, s->col = s->saved_col; break;
    default: return; // anything else draws nothing
    }
    s->wrap_due = false;
}

// The SAUCE record (and its comment block) at the end of the file: read,
// and cut off with the EOF byte before it. Everything after a first EOF
// byte (0x1A) is not the picture either, SAUCE or not.
static size_t sauce(const uint8_t *d, size_t n, ArtInfo *info) {
    info->width = 80;
    if (n >= 128 && !memcmp(d + n - 128, "SAUCE00", 7)) {
        const uint8_t *r = d + n - 128;
        info->sauce = true;
        struct {
            char *out;
            size_t cap, off, len;
        } f[] = {{info->title, sizeof info->title, 7, 35}, {info->author, sizeof info->author, 42, 20},
                 {info->group, sizeof info->group, 62, 20}};
        for (auto &x : f) {
            size_t len = x.len;
            while (len && (r[x.off + len - 1] == ' ' || r[x.off + len - 1] == 0)) len--;
            size_t o = 0;
            for (size_t i = 0; i < len; i++) {
                uint8_t ch = r[x.off + i];
                const char *u = ch < 0x20 || ch == 0x7F ? " " : cp437_utf8(ch);
                size_t ul = strlen(u);
                if (o + ul >= x.cap) break;
                memcpy(x.out + o, u, ul);
                o += ul;
            }
            x.out[o] = 0;
        }
        uint8_t data_type = r[94], file_type = r[95];
        uint16_t tinfo1 = (uint16_t)(r[96] | r[97] << 8);
        // character art (ASCII, ANSi, ANSiMation): TInfo1 is its width
        if (data_type == 1 && file_type <= 2 && tinfo1) info->width = tinfo1 > ANSIART_MAX_WIDTH ? ANSIART_MAX_WIDTH : tinfo1;
        info->ice = data_type == 1 && (r[105] & 1);
        size_t end = n - 128;
        size_t comments = r[104];
        if (comments && end >= 5 + 64 * comments && !memcmp(d + end - 5 - 64 * comments, "COMNT", 5))
            end -= 5 + 64 * comments;
        n = end;
    }
    const uint8_t *eof = (const uint8_t *)memchr(d, 0x1A, n);
    return eof ? (size_t)(eof - d) : n;
}

static void play(Screen *s, const uint8_t *d, size_t n) {
    int p[16], np = 0;
    enum { TEXT, ESC, CSI } st = TEXT;
    for (size_t i = 0; i < n && s->row < ANSIART_MAX_ROWS; i++) {
        uint8_t c = d[i];
        if (st == ESC) {
            st = c == '[' ? CSI : TEXT;
            np = 0;
            p[0] = -1;
            continue;
        }
        if (st == CSI) {
            if (c >= '0' && c <= '9') {
                if (np == 0) np = 1, p[0] = 0;
                if (p[np - 1] < 0) p[np - 1] = 0;
                if (p[np - 1] < 10000) p[np - 1] = p[np - 1] * 10 + (c - '0');
            } else if (c == ';') {
                if (np == 0) np = 1, p[0] = -1; // ";5": the first one empty
                if (np < 16) p[np++] = -1;
            } else if (c >= 0x40 && c <= 0x7E) {
                for (int k = 0; k < np; k++)
                    if (p[k] < 0) p[k] = 0;
                csi(s, c, p, np);
                st = TEXT;
            } // private markers and intermediates ("?", " "): passed over
            continue;
        }
        switch (c) {
        case 0x1B: st = ESC; break;
        case '\r': s->col = 0, s->wrap_due = false; break;
        case '\n': s->row++, s->col = 0, s->wrap_due = false; break; // art saved with LF alone means CR LF too
        case '\t': {
            uint32_t to = (s->col / 8 + 1) * 8;
            while (s->col < to && s->col < s->width - 1) put(s, ' ');
            break;
        }
        case 0x08: if (s->col) s->col--; break;
        default: put(s, c); break;
        }
    }
}

static bool add_attr(Buf *o, uint8_t a, bool ice) {
    if (a == ATTR_DEFAULT) return buf_adds(o, "\x1b[0m", OUT_MAX);
    char code[32]; // (the colours are kept in ANSI's order, not the PC's)
    int n = snprintf(code, sizeof code, "\x1b[0%s%s;3%d;%s%dm", a & 8 ? ";1" : "", (a & 0x80) && !ice ? ";5" : "",
                     a & 7, (a & 0x80) && ice ? "10" : "4", (a >> 4) & 7);
    return buf_add(o, code, (size_t)n, OUT_MAX);
}

char *ansiart_render(const uint8_t *data, size_t n, ArtInfo *info, size_t *len) {
    memset(info, 0, sizeof *info);
    n = sauce(data, n, info);
    Screen s;
    memset(&s, 0, sizeof s);
    s.width = info->width;
    s.fg = 7;
    play(&s, data, n);
    Buf o = {};
    bool ok = buf_reserve(&o, 1, OUT_MAX);
    for (uint32_t r = 0; ok && r < s.rows; r++) {
        const Cell *row = s.cells + (size_t)r * s.width;
        uint32_t end = s.width; // trailing blanks on the default background go
        while (end > 0 && (row[end - 1].ch == ' ' || row[end - 1].ch == 0) && !(row[end - 1].attr & 0x70) &&
               !((row[end - 1].attr & 0x80) && info->ice))
            end--;
        uint8_t cur = ATTR_DEFAULT;
        for (uint32_t col = 0; ok && col < end; col++) {
            uint8_t a = row[col].attr;
            if (a != cur && !(row[col].ch == ' ' && (a & 0x70) == (cur & 0x70) && !((a ^ cur) & 0x80))) {
                ok = add_attr(&o, a, info->ice); // (a blank changes nothing but its background)
                cur = a;
            }
            uint8_t ch = row[col].ch;
            // the controls' glyphs (a smiley at 0x01...) are not in the code page iconv knows: a blank
            ok = ok && buf_adds(&o, ch < 0x20 || ch == 0x7F ? " " : cp437_utf8(ch), OUT_MAX);
        }
        if (ok && cur != ATTR_DEFAULT) ok = buf_adds(&o, "\x1b[0m", OUT_MAX);
        if (ok && r + 1 < s.rows) ok = buf_add(&o, "\n", 1, OUT_MAX);
    }
    free(s.cells);
    info->rows = (uint16_t)s.rows;
    if (!o.p) return NULL;
    if (!ok) { // past OUT_MAX: what fitted, up to its last whole line
        char *nl = (char *)memrchr(o.p, '\n', o.len);
        o.len = nl ? (size_t)(nl - o.p) : 0;
    }
    if (!buf_reserve(&o, 1, OUT_MAX + 1)) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = 0;
    *len = o.len;
    return o.p;
}
