#include "spy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg.h"
#include "session.h"

// Spying is rare and a link is small, so a fixed table scanned linearly is
// simpler than per-session lists, and costs nothing while it is empty.
#define SPY_MAX 64
#define PREFIX_MAX 96

struct SpyLink {
    uint32_t watcher_node, watcher_sid, target_node, target_sid;
    char prefix[PREFIX_MAX];
};

static SpyLink g_links[SPY_MAX];
uint32_t g_spy_count;

static void drop(uint32_t i) { g_links[i] = g_links[--g_spy_count]; }

bool spy_start(Session *watcher, Session *target, const char *prefix) {
    spy_stop(watcher);
    if (g_spy_count == SPY_MAX) return false;
    SpyLink *l = &g_links[g_spy_count++];
    l->watcher_node = watcher->node;
    l->watcher_sid = watcher->sid;
    l->target_node = target->node;
    l->target_sid = target->sid;
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix ? prefix : "");
    return true;
}

void spy_stop(Session *watcher) {
    for (uint32_t i = 0; i < g_spy_count; i++)
        if (g_links[i].watcher_sid == watcher->sid) {
            drop(i);
            return;
        }
}

uint32_t spy_target(const Session *watcher) {
    for (uint32_t i = 0; i < g_spy_count; i++)
        if (g_links[i].watcher_sid == watcher->sid) return g_links[i].target_node;
    return 0;
}

uint32_t spy_watchers(const Session *target, Session **out, uint32_t max) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < g_spy_count && n < max; i++) {
        if (g_links[i].target_sid != target->sid) continue;
        Session *w = session_by_sid(g_links[i].watcher_node, g_links[i].watcher_sid);
        if (w) out[n++] = w;
    }
    return n;
}

void spy_forget(const Session *s) {
    for (uint32_t i = 0; i < g_spy_count;)
        if (g_links[i].watcher_sid == s->sid || g_links[i].target_sid == s->sid) drop(i);
        else i++;
}

void spy_copy(Session *target, Msg *m) {
    // silent events carry nothing to see (and `auth` carries the user's token);
    // copies are never copied again, so two sysops watching each other is fine
    if (m->flags & (MSG_SILENT | MSG_SPY | MSG_TYPING)) return;
    for (uint32_t i = 0; i < g_spy_count; i++) {
        SpyLink *l = &g_links[i];
        if (l->target_sid != target->sid) continue;
        Session *w = session_by_sid(l->watcher_node, l->watcher_sid);
        if (!w) continue;
        uint32_t inner_len;
        const char *inner = msg_text(m, &inner_len);
        size_t plen = strlen(l->prefix), text_len = plen + inner_len;
        char *text = (char *)malloc(text_len + 1);
        if (!text) return;
        memcpy(text, l->prefix, plen);
        memcpy(text + plen, inner, inner_len);
        text[text_len] = 0;
        // the prefixed text for clients that just print text; cJSON escapes it
        cJSON *js = cJSON_CreateString(text);
        char *quoted = js ? cJSON_PrintUnformatted(js) : NULL;
        cJSON_Delete(js);
        if (!quoted) {
            free(text);
            return;
        }
        char head[64];
        int hl = snprintf(head, sizeof head, "\"type\":\"spy\",\"node\":%u,\"text\":", target->node);
        size_t ql = strlen(quoted);
        size_t body_len = (size_t)hl + ql + 10 + m->json_len + 1; // ,"event":{ ... }
        char *body = (char *)malloc(body_len + 1);
        if (!body) {
            cJSON_free(quoted);
            free(text);
            return;
        }
        char *p = body;
        memcpy(p, head, (size_t)hl), p += hl;
        memcpy(p, quoted, ql), p += ql;
        memcpy(p, ",\"event\":{", 10), p += 10;
        memcpy(p, msg_json(m), m->json_len), p += m->json_len;
        *p++ = '}';
        cJSON_free(quoted);
        // shown as a plain line: the watcher is not being prompted or paged
        uint32_t flags = MSG_SPY | (m->flags & MSG_CHATTER);
        Msg *copy = msg_new(body, (size_t)(p - body), flags);
        free(body);
        free(text);
        if (!copy) return;
        session_push(w, copy);
        msg_unref(copy);
    }
}
