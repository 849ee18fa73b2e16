#include "base/text.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <wchar.h>

#include <sodium.h>

// Length of the valid UTF-8 sequence at s, or 0 when it is not valid.
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp >= 0x80 && cp <= 0x9F) return 0; // C1 controls are dropped like C0
    return len;
}

size_t text_sanitize(const char *in, size_t len, char *out, size_t cap) {
    const unsigned char *src = (const unsigned char *)in;
    size_t o = 0;
    if (cap == 0) return 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = src[i];
        if (c < 0x20 || c == 0x7F) {
            if (c == '\t' && o + 1 < cap) out[o++] = ' ';
            i++;
            continue;
        }
        size_t n = utf8_seq(src + i, len - i);
        if (n == 0) {
            // an encoded C1 control is removed; other invalid bytes are made visible
            if (c == 0xC2 && i + 1 < len && src[i + 1] >= 0x80 && src[i + 1] <= 0x9F) {
                i += 2;
                continue;
            }
            if (o + 3 >= cap) break;
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        if (o + n >= cap) break;
        memcpy(out + o, src + i, n);
        o += n;
        i += n;
    }
    out[o] = 0;
    return o;
}

// The bytes at s (n of them) as one UTF-8 character (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF). Returns its length when it is
// valid. Otherwise returns 0 and sets *bad to the length of the maximal
// invalid subpart (at least 1): the bytes a decoder replaces by one U+FFFD, as
// browsers' TextDecoder does, so a cut character shows as one mark.
static size_t utf8_char(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; // range of the second byte
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        unsigned b = i < n ? s[i] : 0;
        if (i == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) {
            *bad = i;
            return 0;
        }
    }
    return len;
}

size_t text_utf8_valid(const char *in, size_t len) {
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    while (i < len) {
        // ASCII eight bytes at a time: nearly every event is mostly ASCII
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull))) {
            i += 8;
            continue;
        }
        size_t bad, n = utf8_char(s + i, len - i, &bad);
        if (!n) return i;
        i += n;
    }
    return len;
}

size_t text_utf8_repair(const char *in, size_t len, char *out) {
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t bad, n = utf8_char(s + i, len - i, &bad);
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = 0;
    return o;
}

size_t text_utf8_cut(const char *s, size_t len, size_t max) {
    if (len <= max) return len;
    // back off over continuation bytes to the start of the character the cut
    // would split (at most 3: a longer run is not one character anyway)
    size_t n = max;
    while (n > 0 && max - n < 3 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return ((unsigned char)s[n] & 0xC0) == 0x80 ? max : n;
}

uint64_t text_now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void text_iso_now(char out[32]) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void text_random_id(char out[23]) {
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, 23, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

size_t text_escape_len(const char *s, size_t n) {
    if (!n || s[0] != 0x1B) return 0;
    if (n < 2) return 1;
    if (s[1] != '[') return 2; // a two-byte escape (ESC 7, ESC c, ...)
    size_t i = 2; // CSI: parameters and intermediates, then one final byte in 0x40-0x7E
    while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7E)) i++;
    return i < n ? i + 1 : n;
}

const char *text_visible_run(const char *s, size_t n, size_t *at, size_t *len) {
    size_t i = *at;
    for (size_t esc; i < n && (esc = text_escape_len(s + i, n - i));) i += esc;
    if (i >= n) return NULL;
    size_t j = i;
    while (j < n && s[j] != 0x1B) j++;
    *at = j;
    *len = j - i;
    return s + i;
}

// The columns one character takes on a terminal: wcwidth under a UTF-8
// locale (glibc's tables: 2 for East Asian wide characters and emoji, 0 for
// combining marks and zero-width ones). Asked of a locale of our own, on
// this thread only: the process's locale stays "C" for everything else.
static int char_columns(uint32_t cp) {
    static locale_t utf8 = (locale_t)0;
    static bool tried;
    if (cp < 0x7F) return cp >= 0x20 ? 1 : 0;
    if (!tried) {
        tried = true;
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    if (!utf8) return 1; // no UTF-8 locale: every character one column, as before
    locale_t old = uselocale(utf8);
    int w = wcwidth((wchar_t)cp);
    uselocale(old);
    return w < 0 ? 1 : w; // unassigned or a control: shown as one replacement mark
}

// The character at s (n bytes left) as a code point, and its length in
// *used; an invalid byte counts as one character of its own (U+FFFD).
static uint32_t decode(const unsigned char *s, size_t n, size_t *used) {
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || len > n || text_utf8_valid((const char *)s, len) != len) {
        *used = 1;
        return 0xFFFD;
    }
    *used = len;
    if (len == 1) return c;
    uint32_t cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) cp = cp << 6 | (s[i] & 0x3F);
    return cp;
}

size_t text_columns(const char *s, size_t len) {
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        size_t esc = text_escape_len(s + i, len - i);
        if (esc) {
            i += esc;
            continue;
        }
        size_t used;
        uint32_t cp = decode((const unsigned char *)s + i, len - i, &used);
        cols += (size_t)char_columns(cp);
        i += used;
    }
    return cols;
}

size_t text_cut_columns(const char *s, size_t len, size_t max, size_t *cols) {
    size_t c = 0, i = 0;
    while (i < len) {
        size_t esc = text_escape_len(s + i, len - i);
        if (esc) {
            i += esc;
            continue;
        }
        size_t used;
        int w = char_columns(decode((const unsigned char *)s + i, len - i, &used));
        if (c + (size_t)w > max) break;
        c += (size_t)w;
        i += used;
    }
    // zero-width characters (combining marks) stay with the one before them
    while (i < len) {
        size_t used;
        if (text_escape_len(s + i, len - i) || char_columns(decode((const unsigned char *)s + i, len - i, &used)) != 0)
            break;
        i += used;
    }
    if (cols) *cols = c;
    return i;
}
