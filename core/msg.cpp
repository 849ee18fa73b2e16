#include "msg.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

Msg *msg_new(const char *body, size_t body_len, const char *text, size_t text_len, uint32_t flags) {
    Msg *m = (Msg *)malloc(sizeof(Msg) + body_len + text_len + 2);
    if (!m) return NULL;
    m->refs = 1;
    m->target = 0;
    m->json_len = (uint32_t)body_len;
    m->text_len = (uint32_t)text_len;
    m->flags = flags;
    m->born_ns = uv_hrtime();
    memcpy(m->data, body, body_len);
    m->data[body_len] = 0;
    if (text_len) memcpy(m->data + body_len + 1, text, text_len);
    m->data[body_len + 1 + text_len] = 0;
    return m;
}

void msg_unref(Msg *m) {
    if (m && --m->refs == 0) free(m);
}
