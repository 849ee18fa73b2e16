// libFuzzer: the telnet engine takes any bytes, in any split, and renders
// any text, without reading or writing out of bounds.
#include <stddef.h>
#include <stdint.h>

#include "model/msg.h"
#include "net/telnet.h"

static void on_line(void *, const char *line, size_t len) {
    volatile char sink = len ? line[len - 1] : 0;
    (void)sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    Telnet t;
    telnet_init(&t, 64 + data[0] % 200);
    size_t split = size > 2 ? data[1] % (size - 1) : 0;
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    if (split > n) split = n;
    telnet_feed(&t, in, split, on_line, NULL);
    telnet_feed(&t, in + split, n - split, on_line, NULL);
    // RFC 1143: whatever state the input left, asking again for the state
    // an option is now in is never answered (no loops, no amplification)
    t.state = 0; // back to plain data, out of any half-read command
    uint8_t round[256 * 6];
    for (int opt = 0; opt < 256; opt++) {
        uint8_t *r = round + opt * 6;
        r[0] = r[3] = 255;
        r[1] = data[0] & 2 ? 254 : 253; // DONT or DO
        r[4] = data[0] & 4 ? 252 : 251; // WONT or WILL
        r[2] = r[5] = (uint8_t)opt;
    }
    telnet_feed(&t, round, sizeof round, on_line, NULL);
    t.out.len = 0;
    telnet_feed(&t, round, sizeof round, on_line, NULL);
    if (t.out.len) __builtin_trap();
    // what came in is also rendered, as scripts' text would be
    Buf out = {};
    bool color = data[0] & 1;
    telnet_render_begin(&t, &out, color);
    telnet_render(&t, &out, (const char *)in, n, (uint32_t)(data[1] & (MSG_PROMPT | MSG_SECRET | MSG_BELL)), color);
    telnet_render_end(&t, &out, color);
    buf_free(&out);
    telnet_free(&t);
    return 0;
}
