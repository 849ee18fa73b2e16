// Keepalive for every transport (net/keepalive.h): probe the silent, drop
// those that do not answer.
#include "net/keepalive.h"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "model/session.h"
#include "net/conn.h"

enum { KA_NONE, KA_QUIET, KA_PROBED };

struct KaList {
    Conn *head, *tail;
};

static uv_loop_t *g_loop;
static uv_timer_t g_tick;
static uint64_t g_every; // the tick's period, ms
static bool g_on;
static KaList g_quiet, g_probed;

// Connections that came at once (a restart, a network back up) fall due at
// once too, a ping_s later and every ping_s after: a tick handles them for
// TICK_BUDGET_NS at most and comes back on the next loop turn for the rest,
// so that chat is not held up behind thousands of pings.
#define TICK_BUDGET_NS 2000000

static KaList *list_of(uint8_t list) { return list == KA_QUIET ? &g_quiet : &g_probed; }

static void unlink_ka(Conn *c) {
    if (c->ka.list == KA_NONE) return;
    KaList *l = list_of(c->ka.list);
    if (c->ka.prev) c->ka.prev->ka.next = c->ka.next;
    else l->head = c->ka.next;
    if (c->ka.next) c->ka.next->ka.prev = c->ka.prev;
    else l->tail = c->ka.prev;
    c->ka.prev = c->ka.next = NULL;
    c->ka.list = KA_NONE;
}

static void append(Conn *c, uint8_t list, uint64_t ms) {
    KaList *l = list_of(list);
    c->ka.list = list;
    c->ka.ms = ms;
    c->ka.next = NULL;
    c->ka.prev = l->tail;
    if (l->tail) l->tail->ka.next = c;
    else l->head = c;
    l->tail = c;
}

void keepalive_add(Conn *c) {
    if (!g_on || c->ka.list != KA_NONE) return;
    append(c, KA_QUIET, uv_now(g_loop));
}

void keepalive_heard(Conn *c) {
    if (c->ka.list == KA_NONE) return;
    uint64_t now = uv_now(g_loop);
    // the common case, a busy connection heard again: nothing moves
    if (c->ka.list == KA_QUIET && g_quiet.tail == c) {
        c->ka.ms = now;
        return;
    }
    unlink_ka(c);
    append(c, KA_QUIET, now);
}

void keepalive_remove(Conn *c) { unlink_ka(c); }

bool keepalive_pong(Conn *c) {
    if (!c->ka.ping_out) return false;
    c->ka.ping_out = false;
    return true;
}

static uint64_t *counter(Conn *c, bool drops) {
    if (c->port.kind == PORT_TELNET) return drops ? &g_stats.keepalive_drops_telnet : &g_stats.keepalive_probes_telnet;
    if (c->port.kind == PORT_TELNET_WS) return drops ? &g_stats.keepalive_drops_telnet_ws : &g_stats.keepalive_probes_telnet_ws;
    if (c->port.kind == PORT_SSH) return drops ? &g_stats.keepalive_drops_ssh : &g_stats.keepalive_probes_ssh;
    return drops ? &g_stats.keepalive_drops_web : &g_stats.keepalive_probes_web;
}

static void drop(Conn *c) {
    Session *s = c->port.session;
    log_event(LOG_INFO, "keepalive_drop", s ? s->node : 0, c->port.addr,
              "connection %u: silent for %ds and no answer to a probe in %ds; dropping it", c->port.id, g_cfg.ping_s,
              g_cfg.ping_s);
    (*counter(c, true))++;
    // closes now, without a close frame nobody would read: the transport's
    // close callback runs before this returns, and c is gone with it
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_SYNC);
}

static bool over_budget(uint64_t t0, uint32_t *n) {
    return (++*n & 31) == 0 && uv_hrtime() - t0 > TICK_BUDGET_NS;
}

static void tick(uv_timer_t *) {
    uint64_t now = uv_now(g_loop), t0 = uv_hrtime();
    uint64_t bound = (uint64_t)g_cfg.ping_s * 1000;
    uint32_t n = 0;
    // a connection is taken off its list before anything is done with it:
    // a probe or a drop may close it (and any other) there and then
    while (g_probed.head && now - g_probed.head->ka.ms >= bound) {
        if (over_budget(t0, &n)) {
            uv_timer_start(&g_tick, tick, 1, g_every); // the rest on the next turn
            return;
        }
        Conn *c = g_probed.head;
        unlink_ka(c);
        if (!c->wsi || c->port.closing || c->lingering) continue;
        if (!conn_probe_answered(c)) {
            drop(c);
            continue;
        }
        // answered about when the probe went: quiet since then, which is
        // ping_s ago, so the next probe is due now
        conn_probe(c);
        (*counter(c, false))++;
        append(c, KA_PROBED, now);
    }
    while (g_quiet.head && now - g_quiet.head->ka.ms >= bound) {
        if (over_budget(t0, &n)) {
            uv_timer_start(&g_tick, tick, 1, g_every); // the rest on the next turn
            return;
        }
        Conn *c = g_quiet.head;
        unlink_ka(c);
        if (!c->wsi || c->port.closing || c->lingering) continue;
        conn_probe(c);
        (*counter(c, false))++;
        append(c, KA_PROBED, now);
    }
}

void keepalive_init(uv_loop_t *loop) {
    g_loop = loop;
    if (!g_cfg.ping_s) return;
    // an eighth of the bound, so a drop comes at most that late
    g_every = (uint64_t)g_cfg.ping_s * 1000 / 8;
    if (g_every < 50) g_every = 50;
    if (g_every > 1000) g_every = 1000;
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, tick, g_every, g_every);
    uv_unref((uv_handle_t *)&g_tick);
    g_on = true;
}

void keepalive_stop(void) {
    if (!g_on) return;
    g_on = false;
    uv_timer_stop(&g_tick);
    uv_close((uv_handle_t *)&g_tick, NULL);
    while (g_quiet.head) unlink_ka(g_quiet.head);
    while (g_probed.head) unlink_ka(g_probed.head);
}

void keepalive_socket(int fd) {
    if (!g_cfg.ping_s) return;
    // silent ping_s: the kernel probes four times over the next ping_s, and
    // gives up on a peer that answered none of them; data it sent that stays
    // unacknowledged for 2 x ping_s ends the connection the same way (the
    // user timeout, which otherwise is about 15 minutes of retransmission)
    int one = 1, idle = g_cfg.ping_s, intvl = g_cfg.ping_s / 4 ? g_cfg.ping_s / 4 : 1, cnt = 4;
    unsigned user_ms = (unsigned)g_cfg.ping_s * 2000;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
}

bool keepalive_tcp_answered(int fd) {
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return false;
    if (ti.tcpi_state != TCP_ESTABLISHED) return false;
    // everything acknowledged (the probe included), or acknowledgements still
    // coming in while output is under way: the client's machine is there
    return ti.tcpi_unacked == 0 || ti.tcpi_last_ack_recv < (uint32_t)g_cfg.ping_s * 1000;
}
