#include "model/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"

static uint64_t g_chat_ids;
static char g_boot[8];

cJSON *event_new(const char *type) {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    return ev;
}

cJSON *event_error(const char *code, const char *message) {
    cJSON *ev = event_new("error");
    cJSON_AddStringToObject(ev, "code", code);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON_AddStringToObject(ev, "text", message);
    return ev;
}

static uint32_t flags_for(cJSON *ev, const char *type) {
    if (!strcmp(type, "hello")) return MSG_SILENT;
    if (!strcmp(type, "auth")) return MSG_SILENT | MSG_AUTH;
    if (!strcmp(type, "typing")) return MSG_SILENT | MSG_TYPING;
    if (!strcmp(type, "bell")) return MSG_BELL;
    if (!strcmp(type, "chat")) {
        cJSON *k = cJSON_GetObjectItem(ev, "kind");
        const char *kind = cJSON_IsString(k) ? k->valuestring : "";
        bool line = (!strcmp(kind, "say") || !strcmp(kind, "action") || !strcmp(kind, "direct")) &&
                    !cJSON_IsTrue(cJSON_GetObjectItem(ev, "history"));
        if (!strcmp(kind, "say") || !strcmp(kind, "action") || !strcmp(kind, "join") || !strcmp(kind, "leave"))
            return MSG_CHATTER | (line ? MSG_LINE : 0);
        return line ? MSG_LINE : 0;
    }
    if (!strcmp(type, "input_mode")) {
        cJSON *m = cJSON_GetObjectItem(ev, "mode");
        return MSG_SILENT | (cJSON_IsString(m) && !strcmp(m->valuestring, "key") ? MSG_KEYS : MSG_LINES);
    }
    if (!strcmp(type, "prompt"))
        return MSG_PROMPT | (cJSON_IsTrue(cJSON_GetObjectItem(ev, "secret")) ? MSG_SECRET : 0);
    return 0;
}

void event_new_id(char out[EVENT_ID_MAX]) {
    // unique across restarts and processes too: a per-boot prefix plus a counter
    if (!g_boot[0]) {
        char rnd[23];
        text_random_id(rnd);
        memcpy(g_boot, rnd, 6);
    }
    snprintf(out, EVENT_ID_MAX, "%s-%llu", g_boot, (unsigned long long)++g_chat_ids);
}

Msg *event_encode(cJSON *ev) {
    cJSON *t = cJSON_GetObjectItem(ev, "type");
    const char *type = cJSON_IsString(t) ? t->valuestring : "";
    if (!cJSON_GetObjectItem(ev, "ts")) {
        char ts[32];
        text_iso_now(ts);
        cJSON_AddStringToObject(ev, "ts", ts);
    }
    if (!strcmp(type, "chat") && !cJSON_GetObjectItem(ev, "id")) {
        char id[EVENT_ID_MAX];
        event_new_id(id);
        cJSON_AddStringToObject(ev, "id", id);
    }
    uint32_t flags = flags_for(ev, type);
    cJSON *text = cJSON_GetObjectItem(ev, "text");
    const char *tx = cJSON_IsString(text) ? text->valuestring : "";
    if (!*tx && !(flags & (MSG_BELL | MSG_PROMPT))) flags |= MSG_SILENT;
    char *json = cJSON_PrintUnformatted(ev);
    Msg *m = NULL;
    if (json && json[0] == '{' && json[1] != '}') {
        // A text frame must be valid UTF-8, or every browser fails the
        // connection ("Could not decode a text frame as UTF-8") and reconnects
        // into the same event. cJSON copies string bytes as they are, so a
        // script that cut text inside a character would lock its recipients
        // out. U+FFFD in place of each bad sequence keeps the JSON valid (no
        // bad byte is ASCII, so none is JSON syntax). Checked here, once per
        // event, not once per recipient.
        size_t len = strlen(json + 1), ok = text_utf8_valid(json + 1, len);
        if (ok == len) {
            m = msg_new(json + 1, len, flags);
        } else {
            log_event(LOG_WARN, "bad_utf8", 0, NULL, "a %s event held invalid UTF-8 (byte %zu); replaced with U+FFFD",
                      type[0] ? type : "(untyped)", ok);
            char *fixed = (char *)malloc(3 * len + 1);
            if (fixed) m = msg_new(fixed, text_utf8_repair(json + 1, len, fixed), flags);
            free(fixed);
        }
    }
    cJSON_free(json);
    cJSON_Delete(ev);
    return m;
}
