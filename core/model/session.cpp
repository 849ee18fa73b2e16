// Sessions: the node table, the event ring and its ports, input, ignore lists.
#include "model/session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "model/event.h"
#include "model/room.h"
#include "model/roster.h"
#include "model/spy.h"
#include "model/up.h"

#define TYPEAHEAD_MAX (16 * 1024) // bytes of input held while a password check runs

Up g_up;
uint32_t g_session_count;
uint32_t g_remote_count;
static Session **g_nodes; // g_nodes[node-1]
static uint32_t g_nodes_cap;
static uint32_t g_next_serial;
static uint32_t g_port_ids;

uint32_t port_next_id(void) {
    if (++g_port_ids == 0) g_port_ids = 1; // 0 means "every port"
    return g_port_ids;
}

static uint32_t ring_limit(void) {
    uint32_t n = 8;
    while (n < (uint32_t)g_cfg.queue_max) n <<= 1;
    return n;
}

// Grows the node table to hold node (1-based); false when out of memory.
static bool nodes_reach(uint32_t node) {
    if (node <= g_nodes_cap) return true;
    uint32_t cap = g_nodes_cap ? g_nodes_cap : 64;
    while (cap < node) cap *= 2;
    Session **n = (Session **)realloc(g_nodes, cap * sizeof *n);
    if (!n) return false;
    memset(n + g_nodes_cap, 0, (cap - g_nodes_cap) * sizeof *n);
    g_nodes = n;
    g_nodes_cap = cap;
    return true;
}

uint32_t session_free_node(void) {
    for (uint32_t i = 0; i < g_nodes_cap; i++)
        if (!g_nodes[i]) return i + 1;
    return g_nodes_cap + 1;
}

Session *session_new_at(uint32_t node) {
    if (node < 1 || !nodes_reach(node) || g_nodes[node - 1]) return NULL;
    Session *s = (Session *)calloc(1, sizeof *s);
    if (!s) return NULL;
    g_nodes[node - 1] = s;
    s->node = node;
    s->serial = ++g_next_serial;
    text_random_id(s->resume_id);
    s->first_seq = 1;
    s->last_input_ms = s->created_ms = text_now_ms();
    s->script_ref = -1;
    g_session_count++;
    return s;
}

Session *session_new(void) { return session_new_at(session_free_node()); }

Session *session_new_remote(uint32_t node, uint16_t proc, uint32_t serial) {
    Session *s = session_new_at(node);
    if (!s) return NULL;
    g_session_count--; // the metric counts this process's own
    g_remote_count++;
    s->proc = proc;
    s->serial = serial;
    s->resume_id[0] = 0; // a remote session is resumed where it lives
    return s;
}

Session *session_by_node(uint32_t node) {
    if (node < 1 || node > g_nodes_cap) return NULL;
    return g_nodes[node - 1];
}

Session *session_deref(SessionRef r) {
    Session *s = session_by_node(r.node);
    return s && s->serial == r.serial && !s->ending ? s : NULL;
}

Session *session_by_resume_id(const char *id) {
    for (uint32_t i = 0; i < g_nodes_cap; i++) {
        Session *s = g_nodes[i];
        if (s && !s->ending && !strcmp(s->resume_id, id)) return s;
    }
    return NULL;
}

uint32_t session_max_node(void) { return g_nodes_cap; }

// ---------------------------------------------------------------- the ring

Msg *session_event_at(Session *s, uint64_t seq) {
    if (seq < s->first_seq || seq >= session_next_seq(s)) return NULL;
    return s->ring[seq & (s->ring_cap - 1)];
}

static bool ring_grow(Session *s) {
    // 4 first: what a user idling at a menu holds (auth, welcome, menu, prompt)
    uint32_t cap = s->ring_cap ? s->ring_cap * 2 : 4;
    Msg **r = (Msg **)malloc(cap * sizeof *r);
    if (!r) return false;
    for (uint64_t q = s->first_seq; q < session_next_seq(s); q++) r[q & (cap - 1)] = s->ring[q & (s->ring_cap - 1)];
    free(s->ring);
    s->ring = r;
    s->ring_cap = cap;
    return true;
}

static void ring_drop_oldest(Session *s) {
    assert(s->ring_len > 0);
    msg_unref(s->ring[s->first_seq & (s->ring_cap - 1)]);
    s->first_seq++;
    s->ring_len--;
    for (Port *p = s->ports, *next; p; p = next) {
        next = p->next; // drop() may detach p
        if (p->cursor >= s->first_seq) continue;
        // this reader is queue_max events behind
        if (g_cfg.slow_policy == SLOW_SKIP) {
            p->missed += (uint32_t)(s->first_seq - p->cursor);
            p->cursor = s->first_seq;
            g_stats.slow_skipped++;
        } else if (!p->closing) {
            log_event(LOG_WARN, "kick", s->node, p->addr, "connection %u fell %d events behind; dropping it (%d)",
                      p->id, g_cfg.queue_max, CLOSE_TOO_SLOW);
            g_stats.slow_disconnects++;
            g_up.drop(p);
        }
    }
}

static bool port_wants(const Port *p, const Msg *m) {
    if (m->target && m->target != p->id) return false;
    if ((m->flags & MSG_TYPING) && !p->typing) return false;
    if ((m->flags & MSG_PRESENCE) && !p->presence) return false;
    return true;
}

#define REPEATS_MAX 64
#define REPEATS_MS 5000

static void repeats_free(Session *s) {
    free(s->repeats);
    s->repeats = NULL;
    s->nrepeat = 0;
}

void session_skip_repeats(Session *s, const char *const *ids, uint32_t n) {
    repeats_free(s);
    if (n > REPEATS_MAX) {
        ids += n - REPEATS_MAX; // the newest: the older ones are long delivered
        n = REPEATS_MAX;
    }
    if (!n || !(s->repeats = (char(*)[32])calloc(n, sizeof *s->repeats))) return;
    for (uint32_t i = 0; i < n; i++) snprintf(s->repeats[i], sizeof s->repeats[i], "%s", ids[i]);
    s->nrepeat = (uint16_t)n;
    s->repeats_until_ms = text_now_ms() + REPEATS_MS;
}

// Whether m is a room line s was just shown from history. Only sessions
// that just joined a room pay for it, and only for a few seconds.
static bool repeat(Session *s, const Msg *m) {
    if (text_now_ms() > s->repeats_until_ms) {
        repeats_free(s);
        return false;
    }
    const char *id = strstr(msg_json(m), "\"id\":\"");
    if (!id) return false;
    id += 6;
    const char *end = strchr(id, '"');
    size_t n = end ? (size_t)(end - id) : 0;
    for (uint16_t i = 0; i < s->nrepeat; i++)
        if (n && strlen(s->repeats[i]) == n && !memcmp(s->repeats[i], id, n)) return true;
    return false;
}

void session_push(Session *s, Msg *m) {
    if (s->proc) {
        if (!s->ending && g_up.remote_push) g_up.remote_push(s, m);
        return;
    }
    if (s->nrepeat && (m->flags & MSG_CHATTER) && repeat(s, m)) return;
    if (s->ending && !s->nports) return;
    if (s->ring_len == s->ring_cap) {
        if (s->ring_cap < ring_limit()) {
            if (!ring_grow(s)) return;
        } else {
            ring_drop_oldest(s);
        }
    }
    assert(s->ring_len < s->ring_cap && (s->ring_cap & (s->ring_cap - 1)) == 0);
    msg_ref(m);
    s->ring[session_next_seq(s) & (s->ring_cap - 1)] = m;
    s->ring_len++;
    for (Port *p = s->ports; p; p = p->next)
        if (port_wants(p, m)) g_up.deliver(p);
    if (g_spy_count) spy_copy(s, m);
}

void session_send(Session *s, cJSON *ev, uint32_t port) {
    Msg *m = event_encode(ev);
    if (!m) return;
    m->target = port;
    session_push(s, m);
    msg_unref(m);
}

// ---------------------------------------------------------------- ports

static uint64_t soft_bound(void) {
    return g_cfg.queue_soft ? (uint64_t)g_cfg.queue_soft : (uint64_t)g_cfg.queue_max / 2;
}

// The soft tier for slow readers: typing goes first (half the soft bound
// behind), then room chatter older than the bound.
static bool skip_slow(Port *p, const Msg *m, uint64_t seq, uint64_t next) {
    if (!(m->flags & (MSG_TYPING | MSG_CHATTER | MSG_PRESENCE))) return false;
    uint64_t behind = next - seq, soft = soft_bound();
    if ((m->flags & MSG_TYPING) && behind > soft / 2) {
        g_stats.slow_typing_dropped++;
        return true;
    }
    // a page that misses a delta sees the gap in `v` and asks for the list
    if ((m->flags & MSG_PRESENCE) && behind > soft / 2) return true;
    if ((m->flags & MSG_CHATTER) && behind > soft) {
        g_stats.slow_chatter_dropped++;
        p->missed++;
        return true;
    }
    return false;
}

static void release_own(Port *p) {
    msg_unref(p->own);
    p->own = NULL;
}

Msg *port_next(Port *p, uint64_t *seq) {
    Session *s = p->session;
    if (p->own && p->cursor > p->own_seq) release_own(p); // written (or passed over) last time
    while (s && p->cursor < session_next_seq(s)) {
        uint64_t q = p->cursor++;
        Msg *m = session_event_at(s, q);
        if (!m || !port_wants(p, m) || skip_slow(p, m, q, session_next_seq(s))) continue;
        *seq = q;
        return p->own && q == p->own_seq ? p->own : m;
    }
    return NULL;
}

void session_attach(Session *s, Port *p, uint64_t from_seq) {
    assert(!p->session);
    bool was_detached = s->nports == 0;
    p->session = s;
    p->next = s->ports;
    s->ports = p;
    s->nports++;
    p->cursor = from_seq < s->first_seq ? s->first_seq : from_seq;
    if (p->cursor > session_next_seq(s)) p->cursor = session_next_seq(s);
    if (was_detached) g_up.attached(s);
    g_up.deliver(p);
    if (p->presence) roster_subscribe(s); // a resume: the list as it is now
}

static void session_free(Session *s) {
    assert(!s->nports && !s->grace);
    free(s->ignores);
    free(s->repeats);
    buf_free(&s->typeahead);
    for (uint64_t q = s->first_seq; q < session_next_seq(s); q++) msg_unref(s->ring[q & (s->ring_cap - 1)]);
    free(s->ring);
    free(s);
}

void session_detach(Session *s, Port *p) {
    assert(p->session == s);
    for (Port **pp = &s->ports; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            s->nports--;
            break;
        }
    p->session = NULL;
    p->next = NULL;
    // the copy belongs to this attachment's stream: a port that leaves the
    // session before writing it never will
    release_own(p);
    if (s->nports) return;
    if (s->ending) session_free(s);
    else g_up.detached(s, port_can_return(p));
}

// ---------------------------------------------------------------- ending

static void end(Session *s, bool hooks) {
    if (s->ending) return;
    // the scripts see the session whole one last time (to announce the leave)
    if (hooks) up_hook("session_end", s, NULL);
    if (s->ending) return; // the hook ended it already
    s->ending = true;
    if (s->proc) g_remote_count--;
    else g_session_count--;
    if (g_spy_count) spy_forget(s);
    roster_ended(s);
    room_leave(s);
    g_nodes[s->node - 1] = NULL;
    g_up.ended(s);
    log_event(LOG_INFO, "session_end", s->node, s->addr, "session ended%s%s", s->handle[0] ? " for " : "", s->handle);
    if (!s->nports) {
        session_free(s);
        return;
    }
    for (Port *p = s->ports; p; p = p->next) g_up.close(p, 0, NULL);
}

void session_end(Session *s) { end(s, true); }
void session_end_quiet(Session *s) { end(s, false); }

void session_shown(Session *s) {
    roster_changed(s);
    if (!s->proc && g_up.shown) g_up.shown(s);
}

void sessions_close_all(void) {
    for (uint32_t i = 0; i < g_nodes_cap; i++)
        if (g_nodes[i])
            for (Port *p = g_nodes[i]->ports; p; p = p->next) g_up.close(p, 0, NULL);
}

void sessions_free_all(void) {
    for (uint32_t i = 0; i < g_nodes_cap; i++) {
        Session *s = g_nodes[i];
        if (!s) continue;
        g_nodes[i] = NULL;
        room_leave(s);
        // connections are gone with the lws context by now
        s->ports = NULL;
        s->nports = 0;
        session_free(s);
    }
    free(g_nodes);
    g_nodes = NULL;
    g_nodes_cap = 0;
}

// ---------------------------------------------------------------- input

void session_input(Session *s, uint32_t port, const char *line, size_t len) {
    if (s->ending) return;
    len = text_utf8_cut(line, len, (size_t)g_cfg.max_line); // a cut character would show as U+FFFD
    if (s->auth_busy) {
        // a user who types or pastes ahead of a password check loses nothing:
        // records of [port][len][bytes]
        uint32_t n = (uint32_t)len;
        if (buf_reserve(&s->typeahead, 2 * sizeof n + len, TYPEAHEAD_MAX)) {
            buf_add(&s->typeahead, &port, sizeof port, TYPEAHEAD_MAX);
            buf_add(&s->typeahead, &n, sizeof n, TYPEAHEAD_MAX);
            buf_add(&s->typeahead, line, len, TYPEAHEAD_MAX);
        }
        return;
    }
    s->input_port = port;
    char stackbuf[1024];
    size_t cap = len * 3 + 1;
    char *clean = cap <= sizeof stackbuf ? stackbuf : (char *)malloc(cap);
    if (!clean) return;
    size_t n = text_sanitize(line, len, clean, cap);
    s->last_input_ms = text_now_ms();
    s->idle_warned = false;
    // the other processes show idle time to the quarter minute, not per line
    if (g_up.shown && s->last_input_ms - s->shown_input_ms >= 15000) session_shown(s);
    // the pages, when the user was idle long enough for a page to show it
    else if (s->last_input_ms - s->roster_input_ms >= ROSTER_IDLE_MS) roster_changed(s);
    SessionRef ref = session_ref(s);
    g_up.hook("input", s, clean, n);
    if (clean != stackbuf) free(clean);
    Session *still = session_deref(ref);
    if (still) still->input_port = 0;
}

void session_replay_typeahead(Session *s) {
    if (!s->typeahead.len) return;
    Buf lines = s->typeahead; // input may start another check and queue again
    s->typeahead = Buf{};
    SessionRef ref = session_ref(s);
    for (size_t off = 0; off + 2 * sizeof(uint32_t) <= lines.len;) {
        uint32_t port, n;
        memcpy(&port, lines.p + off, sizeof port);
        memcpy(&n, lines.p + off + sizeof port, sizeof n);
        off += 2 * sizeof n;
        if (!session_deref(ref)) break; // the input ended the session
        session_input(s, port, lines.p + off, n);
        off += n;
    }
    buf_free(&lines);
}

void session_keep_typeahead_of(Session *s, uint32_t port) {
    Buf kept = {};
    for (size_t off = 0; off + 2 * sizeof(uint32_t) <= s->typeahead.len;) {
        uint32_t from, n;
        memcpy(&from, s->typeahead.p + off, sizeof from);
        memcpy(&n, s->typeahead.p + off + sizeof from, sizeof n);
        if (off + 2 * sizeof n + n > s->typeahead.len) break;
        if (from == port) buf_add(&kept, s->typeahead.p + off, 2 * sizeof n + n, TYPEAHEAD_MAX);
        off += 2 * sizeof n + n;
    }
    buf_free(&s->typeahead);
    s->typeahead = kept;
}

// ---------------------------------------------------------------- ignoring

bool session_ignores(const Session *s, const char *handle) {
    for (uint16_t i = 0; i < s->nignore; i++)
        if (!strcasecmp(s->ignores[i], handle)) return true;
    return false;
}

bool session_ignore(Session *s, const char *handle, bool on) {
    for (uint16_t i = 0; i < s->nignore; i++)
        if (!strcasecmp(s->ignores[i], handle)) {
            if (!on) memcpy(s->ignores[i], s->ignores[--s->nignore], sizeof s->ignores[i]);
            return true;
        }
    if (!on || s->nignore >= 256 || strlen(handle) > HANDLE_MAX) return false;
    char(*n)[HANDLE_MAX + 1] = (char(*)[HANDLE_MAX + 1])realloc(s->ignores, (s->nignore + 1u) * sizeof *n);
    if (!n) return false;
    s->ignores = n;
    snprintf(s->ignores[s->nignore++], HANDLE_MAX + 1, "%s", handle);
    return true;
}
