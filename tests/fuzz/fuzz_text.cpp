// libFuzzer: cleaning user text always yields valid UTF-8 with no controls.
#include <stdint.h>
#include <stdlib.h>

#include "text.h"

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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t cap = size * 3 + 1;
    char *out = (char *)malloc(cap);
    size_t n = text_sanitize((const char *)data, size, out, cap);
    if (n >= cap || out[n] != 0 || !valid_clean((const unsigned char *)out, n)) abort();
    text_columns((const char *)data, size);
    free(out);
    return 0;
}
