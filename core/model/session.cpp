#include "model/session.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "board/auth.h"
#include "base/config.h"
#include "net/conn.h"
#include "model/event.h"
#include "board/limits.h"
#include "base/log.h"
#include "script/host.h"
#include "model/room.h"
#include "model/spy.h"
#include "base/stats.h"
#include "base/text.h"

#define TYPEAHEAD_MAX (16 * 1024) // bytes of input held while a password check runs

uint32_t g_session_count;
static Session **g_nodes; // g_nodes[node-1]
static uint32_t g_nodes_cap;
static uint32_t g_next_sid;
static uv_loop_t *g_loop;
static bool g_stopping; // shutting down: no new timers, nobody waits for a grace period

// Sessions to end on the next loop turn: ending one from inside a script call
// or an lws callback would re-enter both.
struct EndRef {
    uint32_t node, sid;
};
static uv_timer_t g_tick; // once a second: login and idle timeouts
static EndRef *g_end_list;
static uint32_t g_end_count, g_end_cap;
static uv_timer_t g_end_timer;

static uint32_t ring_limit(void) {
    uint32_t n = 8;
    while (n < (uint32_t)g_cfg.queue_max) n <<= 1;
    return n;
}

static uint32_t node_alloc(Session *s) {
    for (uint32_t i = 0; i < g_nodes_cap; i++)
        if (!g_nodes[i]) {
            g_nodes[i] = s;
            return i + 1;
        }
    uint32_t cap = g_nodes_cap ? g_nodes_cap * 2 : 64;
    Session **n = (Session **)realloc(g_nodes, cap * sizeof *n);
    if (!n) return 0;
    memset(n + g_nodes_cap, 0, (cap - g_nodes_cap) * sizeof *n);
    g_nodes = n;
    uint32_t i = g_nodes_cap;
    g_nodes_cap = cap;
    g_nodes[i] = s;
    return i + 1;
}

Session *session_new(void) {
    Session *s = (Session *)calloc(1, sizeof *s);
    if (!s) return NULL;
    s->node = node_alloc(s);
    if (!s->node) {
        free(s);
        return NULL;
    }
    s->sid = ++g_next_sid;
    text_random_id(s->id);
    s->first_seq = 1;
    s->last_input_ms = s->created_ms = text_now_ms();
    s->script_ref = -1;
    g_session_count++;
    return s;
}

Session *session_by_node(uint32_t node) {
    if (node < 1 || node > g_nodes_cap) return NULL;
    return g_nodes[node - 1];
}

Session *session_by_sid(uint32_t node, uint32_t sid) {
    Session *s = session_by_node(node);
    return s && s->sid == sid && !s->ending ? s : NULL;
}

Session *session_by_id(const char *id) {
    for (uint32_t i = 0; i < g_nodes_cap; i++) {
        Session *s = g_nodes[i];
        if (s && !s->ending && !strcmp(s->id, id)) return s;
    }
    return NULL;
}

uint32_t session_max_node(void) { return g_nodes_cap; }

static bool conn_wants(const Conn *c, const Msg *m) {
    if (m->target && m->target != c->id) return false;
    if ((m->flags & MSG_TYPING) && !c->typing) return false;
    return true;
}

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
    msg_unref(s->ring[s->first_seq & (s->ring_cap - 1)]);
    s->first_seq++;
    s->count--;
    for (Conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->cursor >= s->first_seq) continue;
        // this reader is queue_max events behind
        if (g_cfg.slow_policy == SLOW_SKIP) {
            c->missed += (uint32_t)(s->first_seq - c->cursor);
            c->cursor = s->first_seq;
            g_stats.slow_skipped++;
        } else if (!c->closing) {
            log_event(LOG_WARN, "kick", s->node, c->addr, "connection %u fell %d events behind; dropping it (%d)",
                      c->id, g_cfg.queue_max, CLOSE_TOO_SLOW);
            g_stats.slow_disconnects++;
            // a close frame if it still reads at all; gone in 2 s either way
            conn_close_with(c, CLOSE_TOO_SLOW);
            if (c->wsi) lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_REASON_BASE, 2);
        }
    }
}

void session_push(Session *s, Msg *m) {
    if (s->ending && !s->nconns) return;
    if (s->count == s->ring_cap) {
        if (s->ring_cap < ring_limit()) {
            if (!ring_grow(s)) return;
        } else {
            ring_drop_oldest(s);
        }
    }
    msg_ref(m);
    s->ring[session_next_seq(s) & (s->ring_cap - 1)] = m;
    s->count++;
    for (Conn *c = s->conns; c; c = c->next)
        if (conn_wants(c, m)) conn_deliver(c);
    if (g_spy_count) spy_copy(s, m);
}

void session_send(Session *s, cJSON *ev, uint32_t target) {
    Msg *m = event_encode(ev);
    if (!m) return;
    m->target = target;
    session_push(s, m);
    msg_unref(m);
}

// The stream holds `auth` without its token; each WebSocket attached now is
// written the copy with the token in its place (ws_flush). What the stream
// holds is what resume replays and what an idle session keeps in memory: a
// bearer token need not sit there for the session's life, and it was ~170
// bytes of the ~1 KB an idle session holds. A connection that resumes later
// is sent a fresh token by requests_resume.
void session_send_auth(Session *s, uint32_t target) {
    cJSON *ev = auth_event(s, false);
    Msg *full = g_cfg.jwt_secret[0] ? event_encode(auth_event(s, true)) : NULL;
    if (full)
        for (Conn *c = s->conns; c; c = c->next) {
            if (c->type != CONN_WS || (target && c->id != target)) continue;
            msg_unref(c->auth_token);
            msg_ref(full);
            c->auth_token = full;
            c->auth_seq = session_next_seq(s);
        }
    msg_unref(full);
    session_send(s, ev, target);
}

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

void session_attach(Session *s, Conn *c, uint64_t from_seq) {
    grace_stop(s);
    c->session = s;
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    c->cursor = from_seq < s->first_seq ? s->first_seq : from_seq;
    if (c->cursor > session_next_seq(s)) c->cursor = session_next_seq(s);
    conn_wake(c);
}

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

static void session_free(Session *s) {
    grace_stop(s);
    free(s->ignores);
    buf_free(&s->typeahead);
    for (uint64_t q = s->first_seq; q < session_next_seq(s); q++) msg_unref(s->ring[q & (s->ring_cap - 1)]);
    free(s->ring);
    free(s);
}

void session_detach(Session *s, Conn *c) {
    for (Conn **p = &s->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            s->nconns--;
            break;
        }
    c->session = NULL;
    c->next = NULL;
    // the token copy belongs to this attachment's stream (session_send_auth):
    // a connection that leaves the session before writing it never will
    msg_unref(c->auth_token);
    c->auth_token = NULL;
    if (s->nconns) return;
    if (s->ending) {
        session_free(s);
        return;
    }
    if (g_stopping) return;
    if (g_cfg.grace_s == 0) {
        session_end_soon(s);
        return;
    }
    s->grace = (uv_timer_t *)malloc(sizeof *s->grace);
    uv_timer_init(g_loop, s->grace);
    s->grace->data = s;
    uv_timer_start(s->grace, grace_expired, (uint64_t)g_cfg.grace_s * 1000, 0);
    log_event(LOG_INFO, "detach", s->node, s->addr, "detached, grace %ds", g_cfg.grace_s);
}

// Session fixation: whoever knew the session's id before login (it is in
// `hello`, and a link with ?resume=ID can hand someone else's to a victim)
// must not ride on the login. So the id changes, and every connection but
// the one that logged in is let go before `auth` is sent: it hears nothing
// more of this session and is closed with CLOSE_SESSION_MOVED.
static void rotate_for_login(Session *s, uint32_t login_conn) {
    text_random_id(s->id);
    if (!login_conn) return; // a login the scripts started on their own: nobody to tell apart
    // lines the others typed ahead during the password check would run as
    // the user who just logged in: only the login connection's are kept
    Buf kept = {};
    for (size_t off = 0; off + 2 * sizeof(uint32_t) <= s->typeahead.len;) {
        uint32_t conn, n;
        memcpy(&conn, s->typeahead.p + off, sizeof conn);
        memcpy(&n, s->typeahead.p + off + sizeof conn, sizeof n);
        if (off + 2 * sizeof n + n > s->typeahead.len) break;
        if (conn == login_conn) buf_add(&kept, s->typeahead.p + off, 2 * sizeof n + n, TYPEAHEAD_MAX);
        off += 2 * sizeof n + n;
    }
    buf_free(&s->typeahead);
    s->typeahead = kept;
    for (;;) { // detaching changes the list: look again from the start each time
        Conn *other = s->conns;
        while (other && other->id == login_conn) other = other->next;
        if (!other) return;
        log_event(LOG_INFO, "session_moved", s->node, other->addr,
                  "connection %u let go: its session logged in on connection %u", other->id, login_conn);
        session_detach(s, other);
        conn_close_why(other, CLOSE_SESSION_MOVED, "session logged in elsewhere");
    }
}

void session_logged_in(Session *s, int64_t account_id, const char *handle, bool sysop, uint32_t login_conn) {
    rotate_for_login(s, login_conn);
    s->account_id = account_id;
    snprintf(s->handle, sizeof s->handle, "%s", handle);
    // the configuration names accounts, made with `partyline user add`; a
    // token for such a handle without an account is not its sysop
    s->sysop = sysop || (account_id > 0 && config_is_sysop(&g_cfg, handle));
    s->login_failures = 0;
    session_send_auth(s, 0);
    log_event(LOG_INFO, "login", s->node, s->addr, "logged in as %s%s", s->handle, s->sysop ? " (sysop)" : "");
    script_hook("auth", s, NULL);
}

void session_end(Session *s) {
    if (s->ending) return;
    // scripts see the session whole one last time (to announce the leave)
    script_hook("session_end", s, NULL);
    s->ending = true;
    if (g_spy_count) spy_forget(s);
    grace_stop(s);
    room_leave(s);
    g_nodes[s->node - 1] = NULL;
    g_session_count--;
    script_session_free(s);
    log_event(LOG_INFO, "session_end", s->node, s->addr, "session ended%s%s", s->handle[0] ? " for " : "", s->handle);
    if (!s->nconns) {
        session_free(s);
        return;
    }
    for (Conn *c = s->conns; c; c = c->next) conn_close_soon(c);
}

static void end_list_run(uv_timer_t *) {
    // ending one may queue another; take the list as it is now
    while (g_end_count) {
        EndRef r = g_end_list[--g_end_count];
        Session *s = session_by_sid(r.node, r.sid);
        if (s) session_end(s);
    }
}

void session_end_soon(Session *s) {
    if (s->ending || g_stopping) return;
    if (g_end_count == g_end_cap) {
        uint32_t cap = g_end_cap ? g_end_cap * 2 : 16;
        EndRef *l = (EndRef *)realloc(g_end_list, cap * sizeof *l);
        if (!l) return;
        g_end_list = l;
        g_end_cap = cap;
    }
    g_end_list[g_end_count++] = EndRef{s->node, s->sid};
    uv_timer_start(&g_end_timer, end_list_run, 0, 0);
}

void session_input(Session *s, uint32_t conn, const char *line, size_t len) {
    if (s->ending) return;
    len = text_utf8_cut(line, len, (size_t)g_cfg.max_line); // a cut character would show as U+FFFD
    if (s->auth_busy) {
        // a user who types or pastes ahead of a password check loses nothing
        uint32_t n = (uint32_t)len;
        if (buf_reserve(&s->typeahead, 2 * sizeof n + len, TYPEAHEAD_MAX)) {
            buf_add(&s->typeahead, &conn, sizeof conn, TYPEAHEAD_MAX);
            buf_add(&s->typeahead, &n, sizeof n, TYPEAHEAD_MAX);
            buf_add(&s->typeahead, line, len, TYPEAHEAD_MAX);
        }
        return;
    }
    s->input_conn = conn;
    char stackbuf[1024];
    size_t cap = len * 3 + 1;
    char *clean = cap <= sizeof stackbuf ? stackbuf : (char *)malloc(cap);
    if (!clean) return;
    size_t n = text_sanitize(line, len, clean, cap);
    s->last_input_ms = text_now_ms();
    s->idle_warned = false;
    uint32_t node = s->node, sid = s->sid;
    script_input(s, clean, n);
    if (clean != stackbuf) free(clean);
    Session *still = session_by_sid(node, sid);
    if (still) still->input_conn = 0;
}

void session_replay_typeahead(Session *s) {
    if (!s->typeahead.len) return;
    Buf lines = s->typeahead; // input may start another check and queue again
    s->typeahead = Buf{};
    for (size_t off = 0; off + 2 * sizeof(uint32_t) <= lines.len;) {
        uint32_t conn, n;
        memcpy(&conn, lines.p + off, sizeof conn);
        memcpy(&n, lines.p + off + sizeof conn, sizeof n);
        off += 2 * sizeof n;
        if (!session_by_sid(s->node, s->sid)) break; // the input ended the session
        session_input(s, conn, lines.p + off, n);
        off += n;
    }
    buf_free(&lines);
}

static void tick(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (uint32_t i = 0; i < g_nodes_cap; i++) {
        Session *s = g_nodes[i];
        if (!s || s->ending) continue;
        if (!s->handle[0]) {
            if (g_cfg.login_timeout_s && !s->auth_busy && now - s->created_ms > (uint64_t)g_cfg.login_timeout_s * 1000) {
                log_event(LOG_INFO, "login_timeout", s->node, s->addr, "no login in %ds, closing", g_cfg.login_timeout_s);
                g_stats.login_timeouts++;
                session_send(s, event_error("login_timeout", "no login in time"), 0);
                session_end(s);
            }
            continue;
        }
        if (!g_cfg.idle_timeout_s || s->sysop) continue;
        uint64_t idle = (now - s->last_input_ms) / 1000;
        if (idle >= (uint64_t)g_cfg.idle_timeout_s) {
            log_event(LOG_INFO, "idle_timeout", s->node, s->addr, "%s idle for %llus, logging off", s->handle, (unsigned long long)idle);
            g_stats.idle_timeouts++;
            script_hook("idle_timeout", s, NULL); // the scripts say goodbye
            session_end(s);
        } else if (!s->idle_warned && idle + (uint64_t)g_cfg.idle_warn_s >= (uint64_t)g_cfg.idle_timeout_s) {
            s->idle_warned = true;
            char left[24];
            snprintf(left, sizeof left, "%llu", (unsigned long long)(g_cfg.idle_timeout_s - idle));
            script_hook("idle_warning", s, left);
        }
    }
    auth_poll(); // what `partyline user` did meanwhile (a lock logs its user off)
    static uint64_t last_prune;
    if (now - last_prune > 60000) {
        limits_prune(now);
        last_prune = now;
    }
}

void sessions_init(uv_loop_t *loop) {
    g_loop = loop;
    uv_timer_init(loop, &g_end_timer);
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, tick, 1000, 1000);
}

void sessions_stop_timers(void) {
    g_stopping = true;
    uv_close((uv_handle_t *)&g_end_timer, NULL);
    uv_close((uv_handle_t *)&g_tick, NULL);
    for (uint32_t i = 0; i < g_nodes_cap; i++)
        if (g_nodes[i]) grace_stop(g_nodes[i]);
}

void sessions_close_all(void) {
    g_stopping = true;
    for (uint32_t i = 0; i < g_nodes_cap; i++)
        if (g_nodes[i])
            for (Conn *c = g_nodes[i]->conns; c; c = c->next) conn_close_soon(c);
}

void sessions_free_all(void) {
    for (uint32_t i = 0; i < g_nodes_cap; i++) {
        Session *s = g_nodes[i];
        if (!s) continue;
        g_nodes[i] = NULL;
        room_leave(s);
        script_session_free(s);
        // connections are gone with the lws context by now
        s->conns = NULL;
        s->nconns = 0;
        session_free(s);
    }
    free(g_nodes);
    g_nodes = NULL;
    g_nodes_cap = 0;
    free(g_end_list);
    g_end_list = NULL;
    g_end_count = g_end_cap = 0;
}
