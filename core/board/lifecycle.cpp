#include "board/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "board/login.h"
#include "board/limits.h"
#include "model/event.h"
#include "model/session.h"
#include "model/up.h"

static BoardState g_state;
static uv_loop_t *g_loop;
static uv_timer_t g_tick; // once a second: login and idle timeouts
static uv_timer_t g_end_timer;
static SessionRef *g_end_list;
static uint32_t g_end_count, g_end_cap;

static ClusterState g_cluster;

BoardState lifecycle_state(void) { return g_state; }
ClusterState lifecycle_cluster(void) { return g_cluster; }
void lifecycle_set_cluster(ClusterState st) { g_cluster = st; }

// ---------------------------------------------------------------- ending soon

static void end_list_run(uv_timer_t *) {
    // ending one may queue another; take the list as it is now
    while (g_end_count) {
        Session *s = session_deref(g_end_list[--g_end_count]);
        if (s) session_end(s);
    }
}

// False when out of memory (the caller has the session end another way).
static bool end_soon(Session *s) {
    if (g_end_count == g_end_cap) {
        uint32_t cap = g_end_cap ? g_end_cap * 2 : 16;
        SessionRef *l = (SessionRef *)realloc(g_end_list, cap * sizeof *l);
        if (!l) return false;
        g_end_list = l;
        g_end_cap = cap;
    }
    g_end_list[g_end_count++] = session_ref(s);
    uv_timer_start(&g_end_timer, end_list_run, 0, 0);
    return true;
}

void lifecycle_end_soon(Session *s) {
    if (s->ending || g_state != BOARD_RUNNING) return;
    end_soon(s); // out of memory: it ends with its grace period or timeout instead
}

// ---------------------------------------------------------------- grace

static void grace_closed(uv_handle_t *h) { free(h); }

static void grace_stop(Session *s) {
    if (!s->grace) return;
    uv_timer_stop(s->grace);
    uv_close((uv_handle_t *)s->grace, grace_closed);
    s->grace = NULL;
}

static void grace_expired(uv_timer_t *t) {
    Session *s = (Session *)t->data;
    log_event(LOG_INFO, "grace_over", s->node, s->addr, "grace period over, ending session");
    session_end(s);
}

void lifecycle_detached(Session *s, bool can_return) {
    if (g_state != BOARD_RUNNING) return; // nobody waits for a grace period while stopping
    // a terminal that hung up cannot resume: waiting for it would only hold
    // its node and hide its leave (on the next loop turn: this runs inside
    // the transport's close callback)
    if (!can_return && !s->ending && end_soon(s)) {
        log_event(LOG_INFO, "hangup", s->node, s->addr, "connection gone and it cannot resume: ending session");
        return;
    }
    if (g_cfg.grace_s == 0) return lifecycle_end_soon(s);
    uv_timer_t *t = (uv_timer_t *)malloc(sizeof *t);
    if (!t) return lifecycle_end_soon(s);
    uv_timer_init(g_loop, t);
    t->data = s;
    uv_timer_start(t, grace_expired, (uint64_t)g_cfg.grace_s * 1000, 0);
    s->grace = t;
    log_event(LOG_INFO, "detach", s->node, s->addr, "detached, grace %ds", g_cfg.grace_s);
}

void lifecycle_attached(Session *s) { grace_stop(s); }
void lifecycle_ended(Session *s) { grace_stop(s); }

// ---------------------------------------------------------------- timeouts

static void check_login_timeout(Session *s, uint64_t now) {
    if (!g_cfg.login_timeout_s || s->auth_busy || now - s->created_ms <= (uint64_t)g_cfg.login_timeout_s * 1000) return;
    log_event(LOG_INFO, "login_timeout", s->node, s->addr, "no login in %ds, closing", g_cfg.login_timeout_s);
    g_stats.login_timeouts++;
    session_send(s, event_error("login_timeout", "no login in time"), 0);
    session_end(s);
}

static void check_idle(Session *s, uint64_t now) {
    if (!g_cfg.idle_timeout_s || s->sysop) return;
    uint64_t idle = (now - s->last_input_ms) / 1000;
    if (idle >= (uint64_t)g_cfg.idle_timeout_s) {
        log_event(LOG_INFO, "idle_timeout", s->node, s->addr, "%s idle for %llus, logging off", s->handle,
                  (unsigned long long)idle);
        g_stats.idle_timeouts++;
        up_hook("idle_timeout", s, NULL); // the scripts say goodbye
        session_end(s);
    } else if (!s->idle_warned && idle + (uint64_t)g_cfg.idle_warn_s >= (uint64_t)g_cfg.idle_timeout_s) {
        s->idle_warned = true;
        char left[24];
        snprintf(left, sizeof left, "%llu", (unsigned long long)(g_cfg.idle_timeout_s - idle));
        up_hook("idle_warning", s, left);
    }
}

static void tick(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending || s->bot) continue; // a bot neither logs in nor idles out
        if (!s->handle[0]) check_login_timeout(s, now);
        else check_idle(s, now);
    }
    login_poll(); // what `partyline user` did meanwhile (a lock logs its user off)
    static uint64_t last_prune;
    if (now - last_prune > 60000) {
        limits_prune(now);
        last_prune = now;
    }
}

// ---------------------------------------------------------------- the board

void lifecycle_init(uv_loop_t *loop) {
    g_loop = loop;
    g_state = BOARD_RUNNING;
    uv_timer_init(loop, &g_end_timer);
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, tick, 1000, 1000);
}

void lifecycle_drain(void) {
    g_state = BOARD_DRAINING;
    sessions_close_all();
}

void lifecycle_stop(void) {
    if (g_state == BOARD_STOPPED) return;
    g_state = BOARD_STOPPED;
    uv_close((uv_handle_t *)&g_end_timer, NULL);
    uv_close((uv_handle_t *)&g_tick, NULL);
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s) grace_stop(s);
    }
    free(g_end_list);
    g_end_list = NULL;
    g_end_count = g_end_cap = 0;
}
