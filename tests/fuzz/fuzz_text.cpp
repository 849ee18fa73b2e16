// libFuzzer: cleaning user text always yields valid UTF-8 with no controls;
// repairing any bytes yields valid UTF-8 (and leaves valid text as it was);
// a cut never splits a character.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

static bool valid_clean(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x20 || c == 0x7f) return false;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        if (len == 2 && c == 0xC2 && s[i + 1] <= 0x9F) return false; // C1 control
        i += len;
    }
    return true;
}

// Strict UTF-8 (RFC 3629), written apart from text.cpp's: by code point.
static bool strict_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return false;
        uint32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

static void check_utf8(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    bool valid = strict_utf8(data, size);
    size_t ok = text_utf8_valid(in, size);
    if ((ok == size) != valid || !strict_utf8(data, ok)) abort();
    char *out = (char *)malloc(size * 3 + 1);
    size_t n = text_utf8_repair(in, size, out);
    if (out[n] != 0 || !strict_utf8((const unsigned char *)out, n)) abort();
    if (valid && (n != size || memcmp(out, in, size))) abort();
    free(out);
    if (valid)
        for (size_t max = 0; max <= size; max++) {
            size_t cut = text_utf8_cut(in, size, max);
            if (cut > max || !strict_utf8(data, cut) || max - cut > 3) abort();
        }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t cap = size * 3 + 1;
    char *out = (char *)malloc(cap);
    size_t n = text_sanitize((const char *)data, size, out, cap);
    if (n >= cap || out[n] != 0 || !valid_clean((const unsigned char *)out, n)) abort();
    text_columns((const char *)data, size);
    free(out);
    check_utf8(data, size);
    return 0;
}
