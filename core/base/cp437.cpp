#include "base/cp437.h"

#include <errno.h>
#include <iconv.h>
#include <locale.h>
#include <string.h>

static iconv_t g_enc = (iconv_t)-1; // UTF-8 to CP437, transliterating what it lacks
static char g_dec[256][4];          // each byte's UTF-8
static bool g_ready;
// glibc transliterates by the LC_CTYPE locale: in "C" only a few symbols
// ("€" is "EUR") and every accented letter CP437 lacks is "?"; in C.UTF-8
// "ő" is "o" and "Ł" "L". The process's own locale stays "C": this one is
// used only around the conversion (uselocale).
static locale_t g_loc = (locale_t)0;

bool cp437_init(void) {
    if (g_ready) return true;
    for (int i = 0; i < 128; i++) g_dec[i][0] = (char)i; // ASCII is itself
    iconv_t dec = iconv_open("UTF-8", "CP437");
    if (dec == (iconv_t)-1) return false;
    for (int i = 128; i < 256; i++) {
        char in = (char)i, *ip = &in, *op = g_dec[i];
        size_t il = 1, ol = sizeof g_dec[i] - 1;
        if (iconv(dec, &ip, &il, &op, &ol) == (size_t)-1) strcpy(g_dec[i], "?");
        else *op = 0;
        iconv(dec, NULL, NULL, NULL, NULL);
    }
    iconv_close(dec);
    g_enc = iconv_open("CP437//TRANSLIT", "UTF-8");
    if (g_enc == (iconv_t)-1) return false;
    g_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); // none: the "C" transliterations
    g_ready = true;
    return true;
}

void cp437_close(void) {
    if (g_enc != (iconv_t)-1) iconv_close(g_enc);
    g_enc = (iconv_t)-1;
    if (g_loc) freelocale(g_loc);
    g_loc = (locale_t)0;
    g_ready = false;
}

bool cp437_ready(void) { return g_ready; }

const char *cp437_utf8(uint8_t c) {
    if (c < 0x80) { // ASCII is itself, converters or not
        g_dec[c][0] = (char)c;
        return g_dec[c];
    }
    return g_dec[c][0] ? g_dec[c] : "?";
}

bool cp437_encode(const char *in, size_t n, Buf *out, size_t max) {
    if (!g_ready) return buf_add(out, in, n, max);
    char *ip = (char *)in;
    size_t il = n;
    locale_t was = g_loc ? uselocale(g_loc) : (locale_t)0;
    bool ok = true;
    while (il > 0) {
        // CP437 is never longer than the UTF-8, but a transliteration may be
        // ("™" is three bytes and "(TM)" four): room for twice as much
        size_t want = il * 2 + 16;
        if (out->len + want > max) want = max > out->len ? max - out->len : 0;
        if (want == 0 || !buf_reserve(out, want, max)) {
            ok = false;
            break;
        }
        size_t room = out->cap - out->len;
        char *op = out->p + out->len;
        size_t ol = room;
        size_t r = iconv(g_enc, &ip, &il, &op, &ol);
        out->len += room - ol;
        if (r != (size_t)-1) break;
        if (errno == E2BIG) {
            if (ol == room) { // not even one character fits under max
                ok = false;
                break;
            }
            continue;
        }
        // EILSEQ or EINVAL: a byte that is not UTF-8 (the core repairs text
        // before it goes out, so this is belt and braces): "?" for it
        if (!buf_add(out, "?", 1, max)) {
            ok = false;
            break;
        }
        ip++;
        il--;
        iconv(g_enc, NULL, NULL, NULL, NULL);
    }
    if (g_loc) uselocale(was);
    return ok;
}
