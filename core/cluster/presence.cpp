#include "cluster/presence.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"
#include "cluster/bus.h"
#include "model/room.h"
#include "model/roster.h"
#include "model/session.h"
#include "script/host.h"

#define SNAPSHOT_CHUNK 200 // records per message: a snapshot of 10,000 is 50 messages of ~30 KB

static uv_timer_t g_flush;
static bool g_on;
static SessionRef *g_due;        // local sessions whose shown state waits to be told
static uint32_t g_ndue, g_capdue;
static cJSON *g_down;            // [[node, serial], ...] ended since the last flush

void presence_resume_key(const char *resume_id, char out[17]) {
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)resume_id, strlen(resume_id), NULL, 0);
    sodium_bin2hex(out, 17, h, sizeof h);
}

// A local session as the others see it.
static cJSON *record(const Session *s) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "n", s->node);
    cJSON_AddNumberToObject(r, "s", s->serial);
    if (s->handle[0]) cJSON_AddStringToObject(r, "h", s->handle);
    if (s->sysop) cJSON_AddNumberToObject(r, "y", 1);
    if (s->room) cJSON_AddStringToObject(r, "r", s->room->name);
    if (s->activity[0]) cJSON_AddStringToObject(r, "a", s->activity);
    if (s->service[0]) cJSON_AddStringToObject(r, "v", s->service);
    cJSON_AddNumberToObject(r, "i", (double)s->last_input_ms);
    cJSON_AddNumberToObject(r, "k", s->ports ? s->ports->kind : PORT_WEB);
    cJSON_AddStringToObject(r, "ad", s->addr);
    char key[17];
    presence_resume_key(s->resume_id, key);
    cJSON_AddStringToObject(r, "id", key);
    return r;
}

static void send_records(cJSON *ups, cJSON *downs, cJSON *all) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "op", "p");
    if (all) cJSON_AddItemToObject(msg, "all", all);
    if (downs) cJSON_AddItemToObject(msg, "d", downs);
    if (ups) cJSON_AddItemToObject(msg, "u", ups);
    bus_control(msg);
    cJSON_Delete(msg);
}

static void flush(uv_timer_t *) {
    if (!bus_up()) { // told in the snapshot when the bus is back
        for (uint32_t i = 0; i < g_ndue; i++) {
            Session *s = session_deref(g_due[i]);
            if (s) s->shown_due = false;
        }
        g_ndue = 0;
        cJSON_Delete(g_down);
        g_down = NULL;
        return;
    }
    // the ended first: a node may already be someone else's among the ups
    cJSON *downs = g_down;
    g_down = NULL;
    cJSON *ups = NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; i < g_ndue; i++) {
        Session *s = session_deref(g_due[i]);
        if (!s) continue;
        s->shown_due = false;
        s->shown_input_ms = s->last_input_ms;
        if (!ups) ups = cJSON_CreateArray();
        cJSON_AddItemToArray(ups, record(s));
        if (++n == SNAPSHOT_CHUNK) {
            send_records(ups, downs, NULL);
            ups = downs = NULL;
            n = 0;
        }
    }
    g_ndue = 0;
    if (ups || downs) send_records(ups, downs, NULL);
}

void presence_shown(Session *s) {
    if (!g_on || s->shown_due || s->proc) return;
    if (g_ndue == g_capdue) {
        uint32_t cap = g_capdue ? g_capdue * 2 : 64;
        SessionRef *d = (SessionRef *)realloc(g_due, cap * sizeof *d);
        if (!d) return; // told in the next snapshot
        g_due = d;
        g_capdue = cap;
    }
    g_due[g_ndue++] = session_ref(s);
    s->shown_due = true;
    if (!uv_is_active((uv_handle_t *)&g_flush)) uv_timer_start(&g_flush, flush, PRESENCE_FLUSH_MS, 0);
}

void presence_ended(Session *s) {
    if (!g_on || s->proc) return;
    if (!g_down) g_down = cJSON_CreateArray();
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, cJSON_CreateNumber(s->node));
    cJSON_AddItemToArray(pair, cJSON_CreateNumber(s->serial));
    cJSON_AddItemToArray(g_down, pair);
    if (!uv_is_active((uv_handle_t *)&g_flush)) uv_timer_start(&g_flush, flush, PRESENCE_FLUSH_MS, 0);
}

void presence_snapshot(void) {
    if (!bus_up()) return;
    // first the list of every session there is, so that the others drop
    // replicas of ones they missed the end of; then the records in chunks
    cJSON *all = cJSON_CreateArray();
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->proc || s->ending) continue;
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(s->node));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(s->serial));
        cJSON_AddItemToArray(all, pair);
    }
    send_records(NULL, NULL, all);
    cJSON *ups = NULL;
    uint32_t n = 0;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->proc || s->ending) continue;
        s->shown_input_ms = s->last_input_ms;
        if (!ups) ups = cJSON_CreateArray();
        cJSON_AddItemToArray(ups, record(s));
        if (++n == SNAPSHOT_CHUNK) {
            send_records(ups, NULL, NULL);
            ups = NULL;
            n = 0;
        }
    }
    if (ups) send_records(ups, NULL, NULL);
}

// ---------------------------------------------------------------- replicas

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void copy(char *dst, size_t cap, const char *src) {
    size_t n = text_utf8_cut(src, strlen(src), cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void apply_up(uint16_t proc, const cJSON *r) {
    uint32_t node = (uint32_t)num(r, "n"), serial = (uint32_t)num(r, "s");
    if (!node) return;
    Session *s = session_by_node(node);
    if (s && !(s->proc == proc && s->serial == serial)) {
        if (!s->proc) {
            // two processes on one node: only after Redis lost its claims (a
            // restart without persistence) and before they were made again
            log_warn("cluster_node", "node %u is ours and also process %s's: kept ours", node, bus_proc(proc)->id);
            return;
        }
        session_end_quiet(s); // a replica whose end never reached us
        s = NULL;
    }
    if (!s) {
        s = session_new_remote(node, proc, serial);
        if (!s) return;
        s->script_ref = script_session_new(s);
    }
    copy(s->handle, sizeof s->handle, str(r, "h"));
    s->sysop = num(r, "y") != 0;
    copy(s->activity, sizeof s->activity, str(r, "a"));
    copy(s->service, sizeof s->service, str(r, "v"));
    copy(s->addr, sizeof s->addr, str(r, "ad"));
    copy(s->resume_id, sizeof s->resume_id, str(r, "id"));
    s->last_input_ms = (uint64_t)num(r, "i");
    double k = num(r, "k");
    s->remote_kind = k == PORT_TELNET ? PORT_TELNET : k == PORT_TELNET_WS ? PORT_TELNET_WS : k == PORT_SSH ? PORT_SSH : PORT_WEB;
    const char *room = str(r, "r");
    if (!room[0]) room_leave(s);
    else if (!s->room || strcmp(s->room->name, room)) room_join(s, room);
    roster_changed(s); // this process's pages see the whole board
}

static void apply_down(uint16_t proc, uint32_t node, uint32_t serial) {
    Session *s = session_by_node(node);
    if (s && s->proc == proc && s->serial == serial) session_end_quiet(s);
}

void presence_apply(uint16_t proc, const cJSON *msg) {
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(msg, "all");
    if (cJSON_IsArray(all)) {
        // a snapshot: replicas of proc that are not in it have ended there.
        // Marked, then unmarked by the list (shown_due means "not seen" on a
        // replica), then the marked ones go.
        for (uint32_t node = 1; node <= session_max_node(); node++) {
            Session *s = session_by_node(node);
            if (s && s->proc == proc) s->shown_due = true;
        }
        const cJSON *pair;
        cJSON_ArrayForEach(pair, all) {
            if (cJSON_GetArraySize(pair) != 2) continue;
            Session *s = session_by_node((uint32_t)cJSON_GetArrayItem(pair, 0)->valuedouble);
            if (s && s->proc == proc && s->serial == (uint32_t)cJSON_GetArrayItem(pair, 1)->valuedouble)
                s->shown_due = false;
        }
        for (uint32_t node = 1; node <= session_max_node(); node++) {
            Session *s = session_by_node(node);
            if (s && s->proc == proc && s->shown_due) session_end_quiet(s);
        }
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(msg, "d")) {
        if (cJSON_GetArraySize(item) == 2)
            apply_down(proc, (uint32_t)cJSON_GetArrayItem(item, 0)->valuedouble,
                       (uint32_t)cJSON_GetArrayItem(item, 1)->valuedouble);
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(msg, "u")) apply_up(proc, item);
}

void presence_drop_proc(uint16_t proc, bool hooks) {
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->proc != proc || s->ending) continue;
        if (hooks) session_end(s);
        else session_end_quiet(s);
    }
}

void presence_drop_all(void) {
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s && s->proc && !s->ending) session_end_quiet(s);
    }
}

Session *presence_by_resume_id(const char *resume_id) {
    char key[17];
    presence_resume_key(resume_id, key);
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s && s->proc && !s->ending && !strcmp(s->resume_id, key)) return s;
    }
    return NULL;
}

void presence_start(uv_loop_t *loop) {
    uv_timer_init(loop, &g_flush);
    g_on = true;
}

void presence_stop(void) {
    if (!g_on) return;
    g_on = false;
    uv_close((uv_handle_t *)&g_flush, NULL);
    free(g_due);
    g_due = NULL;
    g_ndue = g_capdue = 0;
    cJSON_Delete(g_down);
    g_down = NULL;
}
