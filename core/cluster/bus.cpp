#include "cluster/bus.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "cluster/redis.h"
#include "model/msg.h"

#define MSG_MAX (4 << 20)

static BusHandlers g_h;
static char g_self[BUS_PROC_ID + 1];
static BusProc g_procs[BUS_PROCS]; // [0] unused: 0 means "this process" in Session.proc
static uint64_t g_bseq;
static uv_timer_t g_tick;
static bool g_running, g_up;
static uint64_t g_last_beat_ms, g_self_heard_ms;
static Buf g_out;

static struct {
    uint64_t out, in, gaps, missed, dropped;
} g_count;

const char *bus_self(void) { return g_self; }
bool bus_up(void) { return g_up; }
BusProc *bus_proc(uint16_t proc) { return proc && proc < BUS_PROCS && g_procs[proc].id[0] ? &g_procs[proc] : NULL; }

uint32_t bus_alive_count(void) {
    uint32_t n = 0;
    for (int i = 1; i < BUS_PROCS; i++) n += g_procs[i].alive;
    return n;
}

static uint32_t beat_ms(void) {
    uint32_t ms = (uint32_t)g_cfg.cluster_dead_s * 1000 / 4;
    return ms < 250 ? 250 : ms;
}

void bus_key(char *out, size_t outlen, const char *name) { snprintf(out, outlen, "%s%s", g_cfg.redis_prefix, name); }

// ---------------------------------------------------------------- publishing

// Starts a message of kind k in g_out: "k self bseq" and what follows (fmt).
static void begin(char k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void begin(char k, const char *fmt, ...) {
    char head[256];
    int n = snprintf(head, sizeof head, "%c %s %llu", k, g_self, (unsigned long long)(g_bseq + 1));
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(head + n, sizeof head - (size_t)n, fmt, ap);
    va_end(ap);
    g_out.len = 0;
    buf_add(&g_out, head, (size_t)n, MSG_MAX);
    buf_add(&g_out, "\n", 1, MSG_MAX);
}

// Every message counts, sent or not: one that could not go out (Redis away)
// leaves a gap in the numbers the others see when the next one reaches them,
// so they know they missed something instead of missing it silently.
static bool send_out(void) {
    g_bseq++;
    if (!g_running || !redis_publish(g_out.p, g_out.len)) {
        g_count.dropped++;
        return false;
    }
    g_count.out++;
    return true;
}

static bool send_event(const Msg *m) {
    if (!buf_add(&g_out, msg_json(m), m->json_len, MSG_MAX)) return false;
    return send_out();
}

bool bus_room(uint32_t flags, const char *room, const char *sender, const Msg *m) {
    begin('R', " %u %s %s", flags, room, sender && sender[0] ? sender : "-");
    return send_event(m);
}

bool bus_all(uint32_t flags, const Msg *m) {
    begin('A', " %u", flags);
    return send_event(m);
}

bool bus_session(uint32_t flags, uint32_t node, uint32_t serial, const Msg *m) {
    begin('S', " %u %u %u", flags, node, serial);
    return send_event(m);
}

static bool send_json(char k, const cJSON *msg) {
    char *json = cJSON_PrintUnformatted(msg);
    if (!json) return false;
    begin(k, "%s", "");
    bool ok = buf_adds(&g_out, json, MSG_MAX) && send_out();
    cJSON_free(json);
    return ok;
}

bool bus_control(const cJSON *msg) { return send_json('C', msg); }

// ---------------------------------------------------------------- receiving

static uint16_t proc_place(const char *id) {
    int free_at = 0;
    for (int i = 1; i < BUS_PROCS; i++) {
        if (!strcmp(g_procs[i].id, id)) return (uint16_t)i;
        if (!free_at && !g_procs[i].alive) free_at = i; // a gone one's place (its sessions went with it)
    }
    if (!free_at) return 0;
    BusProc *p = &g_procs[free_at];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    return (uint16_t)free_at;
}

static void on_message(const char *data, size_t len) {
    const char *nl = (const char *)memchr(data, '\n', len);
    if (!nl || nl - data > 250 || len < 4 || data[1] != ' ') return;
    char head[256];
    memcpy(head, data, (size_t)(nl - data));
    head[nl - data] = 0;
    const char *body = nl + 1;
    size_t blen = len - (size_t)(body - data);
    char kind = head[0], id[BUS_PROC_ID + 2];
    unsigned long long bseq;
    int used = 0;
    if (sscanf(head + 2, "%17s %llu%n", id, &bseq, &used) != 2 || strlen(id) != BUS_PROC_ID) return;
    const char *rest = head + 2 + used;
    uint64_t now = text_now_ms();
    if (!strcmp(id, g_self)) {
        if (kind == 'H') g_self_heard_ms = now; // the subscription carries our own heartbeats: it is alive
        return;
    }
    g_count.in++;
    uint16_t proc = proc_place(id);
    if (!proc) return;
    BusProc *p = &g_procs[proc];
    if (p->bseq && bseq <= p->bseq) return; // already seen (a duplicate cannot come from pub/sub, but be sure)
    if (p->bseq && bseq > p->bseq + 1) {
        uint64_t missed = bseq - p->bseq - 1;
        g_count.gaps++;
        g_count.missed += missed;
        log_warn("bus_gap", "missed %llu bus messages from process %s", (unsigned long long)missed, id);
        g_h.gap(proc, missed);
    }
    p->bseq = bseq;
    p->heard_ms = now;
    if (!p->alive) {
        p->alive = true;
        log_info("cluster_join", "process %s is on the bus", id);
        g_h.proc_up(proc);
    }
    unsigned flags = 0, node = 0, serial = 0;
    char room[64], sender[64];
    switch (kind) {
    case 'R':
        if (sscanf(rest, " %u %63s %63s", &flags, room, sender) == 3)
            g_h.room(proc, flags, room, strcmp(sender, "-") ? sender : NULL, body, blen);
        break;
    case 'A':
        if (sscanf(rest, " %u", &flags) == 1) g_h.all(proc, flags, body, blen);
        break;
    case 'S':
        if (sscanf(rest, " %u %u %u", &flags, &node, &serial) == 3) g_h.session(proc, flags, node, serial, body, blen);
        break;
    case 'C': {
        cJSON *msg = cJSON_ParseWithLength(body, blen);
        if (msg) g_h.control(proc, msg);
        cJSON_Delete(msg);
        break;
    }
    default: // 'H': being heard was the point
        break;
    }
}

static void on_state(bool up) {
    g_up = up;
    if (up) {
        g_self_heard_ms = text_now_ms();
        g_last_beat_ms = 0; // a heartbeat at the next tick
    } else {
        // nobody can be heard now: the others are out of reach, not gone
        for (int i = 1; i < BUS_PROCS; i++) g_procs[i].alive = false;
    }
    g_h.state(up);
}

// ---------------------------------------------------------------- the heartbeat

static void tick(uv_timer_t *) {
    uint64_t now = text_now_ms();
    uint32_t beat = beat_ms();
    if (g_up && now - g_last_beat_ms >= beat) {
        g_last_beat_ms = now;
        begin('H', "%s", "");
        buf_adds(&g_out, "{}", MSG_MAX);
        send_out();
        // the processes table in Redis lets a process that starts later
        // clean up after ones that died while no process was there to see it
        char key[128], when[24];
        bus_key(key, sizeof key, "procs");
        snprintf(when, sizeof when, "%llu", (unsigned long long)now);
        const char *argv[] = {"HSET", key, g_self, when};
        redis_command(NULL, NULL, 4, argv, NULL);
    }
    if (g_up && g_self_heard_ms && now - g_self_heard_ms > 3 * (uint64_t)beat + 1000) {
        g_self_heard_ms = 0;
        return redis_reset("our own heartbeats stopped coming back on the bus");
    }
    uint64_t dead = (uint64_t)g_cfg.cluster_dead_s * 1000;
    for (int i = 1; i < BUS_PROCS; i++) {
        BusProc *p = &g_procs[i];
        if (!p->alive || now - p->heard_ms <= dead) continue;
        p->alive = false;
        log_warn("cluster_gone", "process %s silent for %llu ms: gone", p->id, (unsigned long long)(now - p->heard_ms));
        g_h.proc_gone((uint16_t)i);
    }
}

int bus_start(uv_loop_t *loop, const BusHandlers *h, char *err, size_t errlen) {
    g_h = *h;
    unsigned char raw[BUS_PROC_ID / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(g_self, sizeof g_self, raw, sizeof raw);
    char channel[128];
    bus_key(channel, sizeof channel, "bus");
    if (redis_start(loop, g_cfg.redis, channel, on_message, on_state, err, errlen)) return -1;
    g_running = true;
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, tick, beat_ms() / 2, beat_ms() / 2);
    log_info("cluster", "process %s joins the board through Redis at %s", g_self, g_cfg.redis);
    return 0;
}

void bus_stop(void) {
    if (!g_running) return;
    g_running = false;
    uv_close((uv_handle_t *)&g_tick, NULL);
    redis_stop();
    buf_free(&g_out);
}

void bus_metrics(Buf *b) {
    char text[1200];
    int n = snprintf(text, sizeof text,
                     "# HELP partyline_bus_messages_out_total Messages this process published on the bus.\n"
                     "# TYPE partyline_bus_messages_out_total counter\npartyline_bus_messages_out_total %llu\n"
                     "# HELP partyline_bus_messages_in_total Messages from other processes read from the bus.\n"
                     "# TYPE partyline_bus_messages_in_total counter\npartyline_bus_messages_in_total %llu\n"
                     "# HELP partyline_bus_gaps_total Times messages from a process were found missing.\n"
                     "# TYPE partyline_bus_gaps_total counter\npartyline_bus_gaps_total %llu\n"
                     "# HELP partyline_bus_missed_total Messages found missing.\n"
                     "# TYPE partyline_bus_missed_total counter\npartyline_bus_missed_total %llu\n"
                     "# HELP partyline_bus_unsent_total Messages not published: the bus was down.\n"
                     "# TYPE partyline_bus_unsent_total counter\npartyline_bus_unsent_total %llu\n"
                     "# HELP partyline_bus_processes Other processes of the board heard from lately.\n"
                     "# TYPE partyline_bus_processes gauge\npartyline_bus_processes %u\n",
                     (unsigned long long)g_count.out, (unsigned long long)g_count.in, (unsigned long long)g_count.gaps,
                     (unsigned long long)g_count.missed, (unsigned long long)g_count.dropped, bus_alive_count());
    buf_add(b, text, (size_t)n, 1 << 20);
    redis_metrics(b);
}
