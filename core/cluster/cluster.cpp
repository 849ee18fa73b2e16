#include "cluster/cluster.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "board/accounts.h"
#include "board/lifecycle.h"
#include "board/limits.h"
#include "cluster/bus.h"
#include "cluster/nodes.h"
#include "cluster/presence.h"
#include "cluster/redis.h"
#include "model/msg.h"
#include "model/room.h"
#include "model/route.h"
#include "model/session.h"
#include "model/spy.h"
#include "model/up.h"
#include "script/host.h"

static bool g_started;
static bool g_was_gone[BUS_PROCS]; // a process we took for gone: when it is heard again, snapshots
static uint64_t g_gone_at[BUS_PROCS]; // a process that said goodbye: gone from this time (ms)
static uv_timer_t g_bye_timer;
static uv_timer_t g_sweep; // processes that died unheard (before this one joined) left nodes behind

bool cluster_on(void) { return g_cfg.redis[0] != 0; }

static Session *local_session(uint32_t node, uint32_t serial) {
    Session *s = session_by_node(node);
    return s && !s->proc && !s->ending && s->serial == serial ? s : NULL;
}

static Session *replica(uint16_t proc, uint32_t node, uint32_t serial) {
    Session *s = session_by_node(node);
    return s && s->proc == proc && !s->ending && s->serial == serial ? s : NULL;
}

static uint32_t num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (uint32_t)v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void control(const char *op, cJSON *msg) {
    if (!msg) msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "op", op);
    bus_control(msg);
    cJSON_Delete(msg);
}

// ---------------------------------------------------------------- from the bus

static void on_room(uint16_t, uint32_t flags, const char *name, const char *sender, const char *body, size_t len) {
    Room *r = room_find(name);
    if (!r || r->count == r->nremote) return; // nobody here
    Msg *m = msg_new(body, len, flags);
    if (!m) return;
    route_room_here(r, m, sender);
    msg_unref(m);
}

static void on_all(uint16_t, uint32_t flags, const char *body, size_t len) {
    Msg *m = msg_new(body, len, flags);
    if (!m) return;
    route_all_here(m);
    msg_unref(m);
}

static void on_session(uint16_t, uint32_t flags, uint32_t node, uint32_t serial, const char *body, size_t len) {
    Session *s = local_session(node, serial);
    if (!s) return;
    Msg *m = msg_new(body, len, flags);
    if (!m) return;
    session_push(s, m);
    msg_unref(m);
}

// Another process took one of our sessions over (its client came back
// there): the events its client had not seen yet go to the new session,
// then ours ends without a word (the user has not left).
static void hand_over(Session *s, uint16_t to, uint32_t new_serial, uint64_t last_seq) {
    (void)to;
    uint64_t from = last_seq + 1 < s->first_seq ? s->first_seq : last_seq + 1;
    for (uint64_t q = from; q < session_next_seq(s); q++) {
        Msg *m = session_event_at(s, q);
        if (m && !(m->flags & (MSG_SILENT | MSG_TYPING)) && !m->target)
            bus_session(m->flags, s->node, new_serial, m);
    }
    log_event(LOG_INFO, "session_moved", s->node, s->addr, "%s moved to process %s", s->handle[0] ? s->handle : "(no login)",
              bus_proc(to) ? bus_proc(to)->id : "?");
    for (Port *p = s->ports; p; p = p->next) g_up.close(p, CLOSE_SESSION_MOVED, "session moved");
    session_end_quiet(s);
}

static void on_proc_gone(uint16_t proc);

// Processes that said goodbye and whose moment to move their users is over.
static void bye_due(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (int i = 1; i < BUS_PROCS; i++) {
        if (!g_gone_at[i] || now < g_gone_at[i]) continue;
        g_gone_at[i] = 0;
        BusProc *p = bus_proc((uint16_t)i);
        if (!p || !p->alive) continue;
        p->alive = false;
        on_proc_gone((uint16_t)i);
    }
}

// Another process changed an account (pl.set_sysop): its sessions here take
// the stored flag, whenever the store answers.
static void account_reread(int found, const Account *a, void *) {
    if (found != 1) return;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->proc || s->ending || s->account_id <= 0 || strcasecmp(s->handle, a->handle)) continue;
        s->sysop = a->sysop || config_is_sysop(&g_cfg, s->handle);
        session_shown(s);
    }
}

static void on_control(uint16_t proc, cJSON *msg) {
    const char *op = str(msg, "op");
    if (!strcmp(op, "p")) {
        presence_apply(proc, msg);
    } else if (!strcmp(op, "hello")) {
        presence_snapshot();
    } else if (!strcmp(op, "end")) {
        Session *s = local_session(num(msg, "n"), num(msg, "s"));
        if (s) lifecycle_end_soon(s);
    } else if (!strcmp(op, "spy")) {
        Session *w = replica(proc, num(msg, "w"), num(msg, "ws"));
        if (!w) return;
        Session *t = num(msg, "t") ? local_session(num(msg, "t"), num(msg, "ts")) : NULL;
        if (t) spy_start(w, t, str(msg, "p"));
        else spy_stop(w);
    } else if (!strcmp(op, "account")) {
        account_find(str(msg, "h"), account_reread, NULL);
    } else if (!strcmp(op, "reload")) {
        script_reload(str(msg, "why"));
    } else if (!strcmp(op, "emit")) {
        script_emit(str(msg, "name"), str(msg, "text"));
    } else if (!strcmp(op, "emit_to")) {
        Session *s = local_session(num(msg, "n"), num(msg, "s"));
        if (s) script_emit_to(str(msg, "name"), s, str(msg, "args"));
    } else if (!strcmp(op, "fail")) {
        limits_login_counted(str(msg, "h"), str(msg, "a"), text_now_ms());
    } else if (!strcmp(op, "take")) {
        Session *s = local_session(num(msg, "n"), num(msg, "s"));
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(msg, "last");
        if (s) hand_over(s, proc, num(msg, "ns"), cJSON_IsNumber(last) ? (uint64_t)last->valuedouble : 0);
    } else if (!strcmp(op, "bye")) {
        // a clean stop: its web users are on their way to other processes;
        // the ones still there after a moment leave as if it had died
        uint32_t after = num(msg, "after_ms");
        g_gone_at[proc] = text_now_ms() + after;
        uv_timer_start(&g_bye_timer, bye_due, after + 10, 0);
    }
}

static void on_proc_up(uint16_t proc) {
    g_gone_at[proc] = 0;
    if (!g_was_gone[proc]) return;
    g_was_gone[proc] = false;
    control("hello", NULL); // it may have missed us, and we it: snapshots
}

struct Reap {
    uint16_t proc;
    char id[BUS_PROC_ID + 1];
};

// Whoever first claims the reaping in Redis announces the gone process's
// users' leaves (the scripts' session_end hooks) for the whole board; the
// others drop its replicas without a word, so each leave is told once.
static void on_reap(redisReply *r, void *arg) {
    Reap *rp = (Reap *)arg;
    bool mine = r && r->type == REDIS_REPLY_STATUS && !strcasecmp(r->str, "OK");
    BusProc *p = bus_proc(rp->proc);
    if (p && !strcmp(p->id, rp->id) && !p->alive) {
        presence_drop_proc(rp->proc, mine);
        if (mine) {
            log_info("cluster_reap", "process %s is gone: its users leave, its nodes are given back", rp->id);
            nodes_release_proc(rp->id);
        }
    }
    free(rp);
}

static void on_proc_gone(uint16_t proc) {
    g_was_gone[proc] = true;
    BusProc *p = bus_proc(proc);
    Reap *rp = (Reap *)calloc(1, sizeof *rp);
    if (!rp || !p) {
        free(rp);
        return presence_drop_proc(proc, false);
    }
    rp->proc = proc;
    snprintf(rp->id, sizeof rp->id, "%s", p->id);
    char key[128], name[64];
    snprintf(name, sizeof name, "reap:%s", p->id);
    bus_key(key, sizeof key, name);
    const char *argv[] = {"SET", key, bus_self(), "NX", "PX", "60000"};
    if (!redis_command(on_reap, rp, 6, argv, NULL)) on_reap(NULL, rp);
}

static void on_gap(uint16_t, uint64_t missed) {
    char n[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)missed);
    script_emit("board_gap", n); // the scripts tell the users what they may have missed
    control("hello", NULL);      // and who is where is asked for again
}

static void reclaimed(uint32_t node, void *arg) {
    uint32_t want = (uint32_t)(uintptr_t)arg;
    if (!node) log_warn("cluster_node", "node %u is ours here but another process holds it in Redis", want);
}

// Every local session's node, claimed again: a Redis that restarted without
// its data (the tests' and many setups' default) forgot them.
static void reclaim_nodes(void) {
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s && !s->proc && !s->ending) nodes_take(node, "", reclaimed, (void *)(uintptr_t)node);
    }
}

static void on_state(bool up) {
    ClusterState was = lifecycle_cluster();
    lifecycle_set_cluster(up ? CLUSTER_WHOLE : CLUSTER_ALONE);
    if (up) {
        reclaim_nodes();
        nodes_sweep_stale();
        control("hello", NULL);
        presence_snapshot();
        if (was == CLUSTER_ALONE) script_emit("board", "whole");
    } else {
        presence_drop_all();
        if (was == CLUSTER_WHOLE) script_emit("board", "alone");
    }
}

// ---------------------------------------------------------------- g_up

static void remote_push(Session *s, Msg *m) { bus_session(m->flags, s->node, s->serial, m); }

static void remote_end(Session *s) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "n", s->node);
    cJSON_AddNumberToObject(msg, "s", s->serial);
    control("end", msg);
}

static void bus_room_up(Room *r, Msg *m, const Session *sender) { bus_room(m->flags, r->name, sender ? sender->handle : NULL, m); }
static void bus_all_up(Msg *m) { bus_all(m->flags, m); }

static void login_failed(const char *handle, const char *addr) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "h", handle);
    cJSON_AddStringToObject(msg, "a", addr);
    control("fail", msg);
}

static void remote_spy(Session *w, Session *t, const char *prefix) {
    Session *target = t ? t : session_by_node(spy_target(w));
    if (!target || !target->proc) return;
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "w", w->node);
    cJSON_AddNumberToObject(msg, "ws", w->serial);
    cJSON_AddNumberToObject(msg, "t", t ? t->node : 0);
    cJSON_AddNumberToObject(msg, "ts", t ? t->serial : 0);
    cJSON_AddStringToObject(msg, "p", prefix ? prefix : "");
    control("spy", msg);
}

static void account_changed(const char *handle) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "h", handle);
    control("account", msg);
}

static void reload_asked(const char *why) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "why", why);
    control("reload", msg);
}

static void board_emit(const char *name, const char *text) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "name", name);
    cJSON_AddStringToObject(msg, "text", text);
    control("emit", msg);
}

static void remote_emit(Session *s, const char *name, const char *args) {
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "n", s->node);
    cJSON_AddNumberToObject(msg, "s", s->serial);
    cJSON_AddStringToObject(msg, "name", name);
    cJSON_AddStringToObject(msg, "args", args);
    control("emit_to", msg);
}

void cluster_ended(Session *s) {
    if (!g_started || s->proc) return;
    presence_ended(s);
    if (bus_up()) nodes_release(s->node);
}

// ---------------------------------------------------------------- claims

void cluster_claim_node(ClusterNodeFn fn, void *arg) {
    if (!g_started || !bus_up()) return fn(session_free_node(), arg);
    nodes_claim(fn, arg);
}

void cluster_claim_cancel(void *arg) {
    if (g_started) nodes_cancel(arg);
}

// ---------------------------------------------------------------- moving

Session *cluster_resumable(const char *resume_id, const char *token_handle, const char *addr) {
    if (!g_started || !bus_up()) return NULL;
    Session *r = presence_by_resume_id(resume_id);
    if (!r) return NULL;
    // as for a session here: its own address, or a token for its user
    if (!strcmp(r->addr, addr)) return r;
    return r->handle[0] && token_handle && !strcasecmp(token_handle, r->handle) ? r : NULL;
}

void cluster_take_node(Session *r, ClusterNodeFn fn, void *arg) {
    BusProc *p = bus_proc(r->proc);
    nodes_take(r->node, p ? p->id : "", fn, arg);
}

void cluster_taken(uint16_t proc, uint32_t node, uint32_t old_serial, uint32_t new_serial, uint64_t last_seq) {
    (void)proc; // the owner knows its own (node, serial)
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "n", node);
    cJSON_AddNumberToObject(msg, "s", old_serial);
    cJSON_AddNumberToObject(msg, "ns", new_serial);
    cJSON_AddNumberToObject(msg, "last", (double)last_seq);
    control("take", msg);
}

// ---------------------------------------------------------------- start, stop

static void sweep(uv_timer_t *) {
    if (bus_up()) nodes_sweep_stale();
}

int cluster_start(uv_loop_t *loop, Up *up, char *err, size_t errlen) {
    if (!cluster_on()) return 0;
    static const BusHandlers h = {on_room, on_all, on_session, on_control, on_proc_up, on_proc_gone, on_gap, on_state};
    lifecycle_set_cluster(CLUSTER_ALONE); // until Redis answers
    if (bus_start(loop, &h, err, errlen)) return -1;
    presence_start(loop);
    uv_timer_init(loop, &g_bye_timer);
    uv_timer_init(loop, &g_sweep);
    uint64_t every = (uint64_t)g_cfg.cluster_dead_s * 1000;
    uv_timer_start(&g_sweep, sweep, every, every);
    up->remote_push = remote_push;
    up->remote_end = remote_end;
    up->bus_room = bus_room_up;
    up->bus_all = bus_all_up;
    up->shown = presence_shown;
    up->login_failed = login_failed;
    up->remote_spy = remote_spy;
    up->account_changed = account_changed;
    up->reload_asked = reload_asked;
    up->board_emit = board_emit;
    up->remote_emit = remote_emit;
    g_started = true;
    return 0;
}

void cluster_stop(void) {
    if (!g_started) return;
    g_started = false;
    if (bus_up()) {
        // the web users of this process come back on the others within a
        // few seconds (the page reconnects by itself): they are given that
        // long before the rest are taken for gone and their leaves told
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddNumberToObject(msg, "after_ms", 3000);
        control("bye", msg);
    }
    presence_stop();
    uv_close((uv_handle_t *)&g_bye_timer, NULL);
    uv_close((uv_handle_t *)&g_sweep, NULL);
    bus_stop();
}

void cluster_metrics(Buf *b) {
    if (g_started) bus_metrics(b);
}
