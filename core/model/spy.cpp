#include "model/spy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/event.h"
#include "model/msg.h"
#include "model/session.h"

// Spying is rare and a link is small, so a fixed table scanned linearly is
// simpler than per-session lists, and costs nothing while it is empty.
#define PREFIX_MAX 96

struct SpyLink {
    SessionRef watcher, target;
    char prefix[PREFIX_MAX];
};

static SpyLink g_links[SPY_MAX];
uint32_t g_spy_count;

static void drop(uint32_t i) { g_links[i] = g_links[--g_spy_count]; }

bool spy_start(Session *watcher, Session *target, const char *prefix) {
    spy_stop(watcher);
    if (g_spy_count == SPY_MAX) return false;
    SpyLink *l = &g_links[g_spy_count++];
    l->watcher = session_ref(watcher);
    l->target = session_ref(target);
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix ? prefix : "");
    return true;
}

void spy_stop(Session *watcher) {
    for (uint32_t i = 0; i < g_spy_count; i++)
        if (g_links[i].watcher.serial == watcher->serial) {
            drop(i);
            return;
        }
}

uint32_t spy_target(const Session *watcher) {
    for (uint32_t i = 0; i < g_spy_count; i++)
        if (g_links[i].watcher.serial == watcher->serial) return g_links[i].target.node;
    return 0;
}

uint32_t spy_watchers(const Session *target, Session **out, uint32_t max) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < g_spy_count && n < max; i++) {
        if (g_links[i].target.serial != target->serial) continue;
        Session *w = session_deref(g_links[i].watcher);
        if (w) out[n++] = w;
    }
    return n;
}

void spy_forget(const Session *s) {
    for (uint32_t i = 0; i < g_spy_count;)
        if (g_links[i].watcher.serial == s->serial || g_links[i].target.serial == s->serial) drop(i);
        else i++;
}

// The `spy` event for m: the original parsed back from its shared body (spying
// is rare, so the parse costs nothing that matters), its text led by prefix,
// encoded like every other event (so it has its own ts).
static Msg *spy_event(const Session *target, const Msg *m, const char *prefix) {
    cJSON *inner = msg_parse(m);
    if (!inner) return NULL;
    cJSON *t = cJSON_GetObjectItem(inner, "text");
    const char *tx = cJSON_IsString(t) ? t->valuestring : "";
    size_t plen = strlen(prefix), tlen = strlen(tx);
    char *text = (char *)malloc(plen + tlen + 1);
    if (!text) {
        cJSON_Delete(inner);
        return NULL;
    }
    memcpy(text, prefix, plen);
    memcpy(text + plen, tx, tlen + 1);
    cJSON *ev = event_new("spy");
    cJSON_AddNumberToObject(ev, "node", target->node);
    cJSON_AddStringToObject(ev, "text", text);
    cJSON_AddItemToObject(ev, "event", inner);
    free(text);
    Msg *copy = event_encode(ev);
    // shown as a plain line: the watcher is not being prompted or paged
    if (copy) copy->flags = MSG_SPY | (m->flags & MSG_CHATTER);
    return copy;
}

void spy_copy(Session *target, Msg *m) {
    // silent events carry nothing to see (and `auth` carries the user's token);
    // copies are never copied again, so two sysops watching each other is fine
    if (m->flags & (MSG_SILENT | MSG_SPY | MSG_TYPING)) return;
    for (uint32_t i = 0; i < g_spy_count; i++) {
        SpyLink *l = &g_links[i];
        if (l->target.serial != target->serial) continue;
        Session *w = session_deref(l->watcher);
        if (!w) continue;
        Msg *copy = spy_event(target, m, l->prefix);
        if (!copy) return;
        session_push(w, copy);
        msg_unref(copy);
    }
}
