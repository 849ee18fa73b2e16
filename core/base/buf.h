// A growable byte buffer with a hard cap.
#pragma once
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct Buf {
    char *p;
    size_t len, cap;
};

// Returns false (and appends nothing) when it would pass max bytes.
static inline bool buf_reserve(Buf *b, size_t extra, size_t max) {
    if (b->len + extra <= b->cap) return true;
    if (b->len + extra > max) return false;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    if (cap > max) cap = max;
    char *p = (char *)realloc(b->p, cap);
    if (!p) return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static inline bool buf_add(Buf *b, const void *data, size_t n, size_t max) {
    if (n == 0) return true;
    if (!buf_reserve(b, n, max)) return false;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return true;
}

static inline bool buf_adds(Buf *b, const char *s, size_t max) { return buf_add(b, s, strlen(s), max); }

static inline void buf_free(Buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
