#include "net/pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "net/conn.h"
#include "model/event.h"
#include "base/histogram.h"
#include "base/log.h"
#include "net/requests.h"
#include "model/session.h"
#include "base/stats.h"
#include "base/text.h"

// A waiting message in c->inq: [kind:1][len:4][bytes]. Each is charged this
// much beyond its bytes, so a flood of empty messages fills the budget too.
#define REC_HEAD 5
#define REC_COST 32

// Connections with waiting input. A slot is NULLed when its connection goes,
// so that handling one connection's input may close another mid-pass.
static Conn **g_paced;
static uint32_t g_npaced, g_cap;
static uv_timer_t g_timer;
static bool g_on;

// ---------------------------------------------------------------- the bucket

// A token bucket per connection: rate_per_s tokens a second, up to
// rate_burst. A message that waits its turn takes one when it is due.
static void refill(Conn *c, uint64_t now_ms) {
    if (c->rate_ms == 0) {
        c->rate_tokens = (float)g_cfg.rate_burst;
        c->rate_ms = now_ms;
    }
    if (now_ms > c->rate_ms) c->rate_tokens += (float)(now_ms - c->rate_ms) * (float)g_cfg.rate_per_s / 1000.0f;
    if (c->rate_tokens > (float)g_cfg.rate_burst) c->rate_tokens = (float)g_cfg.rate_burst;
    c->rate_ms = now_ms;
}

// 0 when a token was taken and the message may be handled now, else the ms
// until one is due.
static uint32_t rate_wait(Conn *c, uint64_t now_ms) {
    if (g_cfg.rate_per_s <= 0) return 0;
    refill(c, now_ms);
    if (c->rate_tokens >= 1.0f) {
        c->rate_tokens -= 1.0f;
        return 0;
    }
    return (uint32_t)((1.0f - c->rate_tokens) * 1000.0f / (float)g_cfg.rate_per_s) + 1;
}

// The same bucket for what cannot wait: past the rate it is dropped, and a
// client that keeps on (flood_max in a row) is flooding.
static RateVerdict rate_take(Conn *c, uint64_t now_ms) {
    if (g_cfg.rate_per_s <= 0) return RATE_OK;
    refill(c, now_ms);
    if (c->rate_tokens >= 1.0f) {
        c->rate_tokens -= 1.0f;
        if (c->rate_tokens >= (float)g_cfg.rate_burst / 2) c->rate_strikes = 0; // calm again
        return RATE_OK;
    }
    g_stats.rate_limited++;
    return ++c->rate_strikes > (uint32_t)g_cfg.flood_max ? RATE_FLOOD : RATE_DROP;
}

// The one way a flooding client goes: told why (when it still has a session
// to be told in), then closed 1008 with a lingering close, so the frame and
// the reason reach it.
static void flood_close(Conn *c, const char *how) {
    if (c->port.closing) return;
    log_event(LOG_WARN, "kick", c->port.session ? c->port.session->node : 0, c->port.addr,
              "connection %u %s; closing it (1008)", c->port.id, how);
    g_stats.flood_disconnects++;
    pace_forget(c);
    if (c->port.session)
        session_send(c->port.session, event_error("rate_limited", "flooding: too much input waiting; disconnecting"),
                     c->port.id);
    conn_close_with(c, 1008);
}

// ---------------------------------------------------------------- the queue

static void handle(Conn *c, PaceKind kind, const char *data, size_t len) {
    uint64_t t0 = uv_hrtime();
    if (kind == PACE_LINE) session_input(c->port.session, c->port.id, data, len);
    else if (kind == PACE_BINARY) requests_binary(c);
    else requests_handle(c, data, len);
    hist_observe(&g_event_hist, (double)(uv_hrtime() - t0) / 1e9);
}

static uint32_t waiting(const Conn *c) { return c->inq_len - c->inq_head; }

static void drop_queue(Conn *c) {
    free(c->inq);
    c->inq = NULL;
    c->inq_len = c->inq_cap = c->inq_head = c->inq_cost = 0;
}

void pace_forget(Conn *c) {
    drop_queue(c);
    if (!c->paced) return;
    c->paced = false;
    for (uint32_t i = 0; i < g_npaced; i++)
        if (g_paced[i] == c) g_paced[i] = NULL;
}

static bool usable(const Conn *c) { return c->port.session && !c->port.session->ending && !c->port.closing && c->wsi; }

static void tick(uv_timer_t *);

static void arm(uint32_t ms) {
    if (!g_on) return;
    uint64_t due = uv_timer_get_due_in(&g_timer);
    if (uv_is_active((uv_handle_t *)&g_timer) && due <= ms) return;
    uv_timer_start(&g_timer, tick, ms ? ms : 1, 0);
}

// Handles what c may handle now; returns the ms until its next message is
// due, or 0 when nothing waits any more.
static uint32_t drain(Conn *c, uint64_t now) {
    while (waiting(c) && usable(c)) {
        uint32_t wait = rate_wait(c, now);
        if (wait) return wait;
        const char *rec = c->inq + c->inq_head;
        uint32_t len;
        memcpy(&len, rec + 1, sizeof len);
        PaceKind kind = (PaceKind)rec[0];
        c->inq_head += REC_HEAD + len;
        c->inq_cost -= REC_COST + len;
        // the record stays where it is while it is handled: nothing appends
        // to this queue from inside (input arrives from lws callbacks only)
        handle(c, kind, rec + REC_HEAD, len);
        if (!c->paced) return 0; // it was forgotten (closed) meanwhile
    }
    return 0;
}

static void tick(uv_timer_t *) {
    uint64_t now = text_now_ms();
    uint32_t next = 0;
    for (uint32_t i = 0; i < g_npaced; i++) {
        Conn *c = g_paced[i];
        if (!c) continue;
        uint32_t wait = drain(c, now);
        if (g_paced[i] != c) continue;
        if (wait && usable(c)) {
            if (!next || wait < next) next = wait;
        } else {
            c->paced = false;
            g_paced[i] = NULL;
            drop_queue(c);
        }
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < g_npaced; i++)
        if (g_paced[i]) g_paced[n++] = g_paced[i];
    g_npaced = n;
    if (n) arm(next);
}

static bool enqueue(Conn *c, PaceKind kind, const char *data, size_t len) {
    uint32_t need = REC_HEAD + (uint32_t)len;
    if (c->inq_head && c->inq_len + need > c->inq_cap) { // slide the waiting part to the front
        memmove(c->inq, c->inq + c->inq_head, waiting(c));
        c->inq_len -= c->inq_head;
        c->inq_head = 0;
    }
    if (c->inq_len + need > c->inq_cap) {
        uint32_t cap = c->inq_cap ? c->inq_cap : 1024;
        while (cap < c->inq_len + need) cap *= 2;
        char *p = (char *)realloc(c->inq, cap);
        if (!p) return false;
        c->inq = p;
        c->inq_cap = cap;
    }
    uint32_t l = (uint32_t)len;
    c->inq[c->inq_len] = (char)kind;
    memcpy(c->inq + c->inq_len + 1, &l, sizeof l);
    memcpy(c->inq + c->inq_len + REC_HEAD, data, len);
    c->inq_len += need;
    c->inq_cost += REC_COST + l;
    return true;
}

static void add_paced(Conn *c);

int pace_input(Conn *c, PaceKind kind, const char *data, size_t len) {
    g_stats.messages_in++;
    if (c->start && !c->port.closing) {
        // its session is being started: the input waits for it (pace_resume)
        if ((uint64_t)c->inq_cost + REC_COST + len > (uint64_t)g_cfg.flood_bytes || !enqueue(c, kind, data, len)) {
            flood_close(c, "is flooding before its session started");
            return -1;
        }
        return 0;
    }
    if (!usable(c)) return 0;
    uint64_t now = text_now_ms();
    if (!waiting(c) && rate_wait(c, now) == 0) {
        handle(c, kind, data, len);
        return 0;
    }
    g_stats.rate_limited++;
    if ((uint64_t)c->inq_cost + REC_COST + len > (uint64_t)g_cfg.flood_bytes || !enqueue(c, kind, data, len)) {
        char how[80];
        snprintf(how, sizeof how, "is flooding: over %d bytes of input waiting", g_cfg.flood_bytes);
        flood_close(c, how);
        return -1;
    }
    if (!c->paced) {
        // told once per wait, not once per line of a paste
        session_send(c->port.session, event_error("rate_limited", "slow down: your input waits and is handled at the rate limit"),
                     c->port.id);
        add_paced(c);
    }
    arm(g_cfg.rate_per_s > 0 ? 1000u / (uint32_t)g_cfg.rate_per_s + 1 : 1);
    return 0;
}

static void add_paced(Conn *c) {
    if (c->paced) return;
    if (g_npaced == g_cap) {
        uint32_t cap = g_cap ? g_cap * 2 : 64;
        Conn **p = (Conn **)realloc(g_paced, cap * sizeof *p);
        if (!p) return; // it waits until this connection's next message
        g_paced = p;
        g_cap = cap;
    }
    g_paced[g_npaced++] = c;
    c->paced = true;
}

void pace_resume(Conn *c) {
    if (!waiting(c)) return;
    add_paced(c);
    arm(1);
}

void pace_pong(Conn *c) {
    if (!c->port.session || c->port.closing) return;
    // past the rate a pong is counted, not answered: an error event would
    // give the flooder more than it sent
    if (rate_take(c, text_now_ms()) == RATE_FLOOD) flood_close(c, "keeps flooding");
}

void pace_init(uv_loop_t *loop) {
    uv_timer_init(loop, &g_timer);
    g_on = true;
}

void pace_stop(void) {
    if (!g_on) return;
    g_on = false;
    uv_timer_stop(&g_timer);
    uv_close((uv_handle_t *)&g_timer, NULL);
    for (uint32_t i = 0; i < g_npaced; i++)
        if (g_paced[i]) g_paced[i]->paced = false;
    free(g_paced);
    g_paced = NULL;
    g_npaced = g_cap = 0;
}
