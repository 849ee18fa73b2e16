// libFuzzer: the first request head of a web connection, as net.cpp measures
// it before lws reads it, takes any bytes without reading out of bounds, and
// a head it lets through is within the limits lws's header buffer holds.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // the peek buffer is HTTP_HEAD_MAX + 1 bytes: never more arrives at once
    if (size > HTTP_HEAD_MAX + 1) size = HTTP_HEAD_MAX + 1;
    bool complete = true;
    int v = net_http_head_check((const char *)data, size, &complete);
    if (v != 0 && v != 414 && v != 431) __builtin_trap();
    if (v == 0 && size > HTTP_HEAD_MAX && !complete) __builtin_trap(); // too much, and still waiting
    if (v == 0 && complete) {
        // the head passed: it ends with a blank line within HTTP_HEAD_MAX
        const char *p = (const char *)data;
        bool found = false;
        for (size_t i = 1; i < size && i <= HTTP_HEAD_MAX && !found; i++)
            found = p[i] == '\n' && (p[i - 1] == '\n' || (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n'));
        if (!found) __builtin_trap();
    }
    return 0;
}
