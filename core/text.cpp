#include "text.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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

size_t text_columns(const char *s, size_t len) {
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x1B) {
            i++;
            if (i < len && s[i] == '[') {
                i++;
                while (i < len && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7E)) i++;
                if (i < len) i++;
            }
            continue;
        }
        if ((c & 0xC0) != 0x80) cols++; // count lead bytes only
        i++;
    }
    return cols;
}
