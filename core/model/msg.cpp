#include "model/msg.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

Msg *msg_new(const char *body, size_t body_len, uint32_t flags) {
    Msg *m = (Msg *)malloc(sizeof(Msg) + body_len + 1);
    if (!m) return NULL;
    m->refs = 1;
    m->target = 0;
    m->json_len = (uint32_t)body_len;
    m->text = NULL;
    m->flags = flags;
    m->born_ns = uv_hrtime();
    memcpy(m->data, body, body_len);
    m->data[body_len] = 0;
    return m;
}

cJSON *msg_parse(const Msg *m) {
    // the body lacks its opening brace: parse a copy with it put back
    char *json = (char *)malloc(m->json_len + 2);
    if (!json) return NULL;
    json[0] = '{';
    memcpy(json + 1, m->data, m->json_len + 1);
    cJSON *ev = cJSON_ParseWithLength(json, m->json_len + 1);
    free(json);
    return ev;
}

const char *msg_text(Msg *m, uint32_t *len) {
    if (!m->text) {
        cJSON *ev = msg_parse(m);
        cJSON *t = cJSON_GetObjectItem(ev, "text");
        const char *s = cJSON_IsString(t) ? t->valuestring : "";
        uint32_t n = (uint32_t)strlen(s);
        m->text = (char *)malloc(sizeof n + n + 1);
        if (m->text) {
            memcpy(m->text, &n, sizeof n);
            memcpy(m->text + sizeof n, s, n + 1);
        }
        cJSON_Delete(ev);
        if (!m->text) {
            *len = 0;
            return "";
        }
    }
    memcpy(len, m->text, sizeof *len);
    return m->text + sizeof *len;
}

void msg_unref(Msg *m) {
    if (m && --m->refs == 0) {
        free(m->text);
        free(m);
    }
}
