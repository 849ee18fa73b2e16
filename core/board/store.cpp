// The health of storage for both lanes (up or down, errors, for /metrics and
// the log), and the scripts' deferred writes: kept in memory, in order, and
// written in batches of one transaction each, at once when storage is up,
// every second while it is away. Owns the queue and the calls held behind it.
#include "board/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"

// ---------------------------------------------------------------- health

static bool g_up = true;         // the last statement reached the storage
static uint64_t g_down_since;    // ms
static uint64_t g_errors;        // statements that failed on storage
static uint64_t g_dropped;       // deferred writes given up (queue over its bound)
static bool g_dropped_logged;    // once per outage
static uint32_t g_dq_count;

void store_note_failure(const char *what) {
    g_errors++;
    if (!g_up) return;
    g_up = false;
    g_down_since = text_now_ms();
    log_warn("storage_down", "storage unavailable (%s); chat goes on, writes are kept and retried", what);
}

void store_note_ok(void) {
    if (g_up) return;
    g_up = true;
    g_dropped_logged = false;
    log_info("storage_up", "storage is back after %llu s%s", (unsigned long long)((text_now_ms() - g_down_since) / 1000),
             g_dq_count ? "; writing what was kept" : "");
}

// ---------------------------------------------------------------- owned calls

// A statement with copies of its SQL and values, for keeping.
struct Owned {
    DbCall call;
    size_t bytes;
};

static bool own(Owned *o, const DbCall *c) {
    memset(o, 0, sizeof *o);
    o->call = *c;
    char *sql = strdup(c->sql);
    DbValue *v = c->n ? (DbValue *)calloc((size_t)c->n, sizeof *v) : NULL;
    o->call.sql = sql;
    o->call.v = v;
    o->bytes = sizeof *o + strlen(c->sql) + 1 + (size_t)c->n * sizeof *v;
    if (!sql || (c->n && !v)) {
        free(sql);
        free(v);
        return false;
    }
    for (int i = 0; i < c->n; i++) {
        v[i] = c->v[i];
        if (v[i].type != DBV_TEXT) continue;
        char *copy = (char *)malloc(v[i].len ? v[i].len : 1);
        if (copy && v[i].len) memcpy(copy, c->v[i].s, v[i].len);
        v[i].s = copy;
        if (!copy) v[i].len = 0; // kept as '' rather than read from nowhere
        o->bytes += v[i].len;
    }
    return true;
}

static void disown(Owned *o) {
    for (int i = 0; i < o->call.n; i++)
        if (o->call.v[i].type == DBV_TEXT) free((char *)o->call.v[i].s);
    free((DbValue *)o->call.v);
    free((char *)o->call.sql);
}

// ---------------------------------------------------------------- deferred writes

// Live chat never waits for history. Bounded: past DEFER_MAX_BYTES the
// oldest go, counted and logged.
#define DEFER_MAX_BYTES (4u << 20)
#define DEFER_RETRY_MS 1000
#define DEFER_BATCH 256 // statements per batch, in one transaction

struct Deferred {
    Deferred *next;
    Owned w;
};

// A script's exec or query held until the deferred writes before it are in.
struct Held {
    Held *next;
    Owned w;
    DbDone done;
    void *ud;
};

static Deferred *g_dq_head, *g_dq_tail;
static size_t g_dq_bytes;
static bool g_sending;  // a batch is out (PostgreSQL answers later)
static int g_batch_n;   // how many of the queue's head it holds
static bool g_retrying; // storage refused the last batch: the timer tries again
static bool g_flushing; // inside flush: a batch answered at once does not start another
static Held *g_held_head, *g_held_tail;
static uv_timer_t g_timer;
static bool g_timer_on;

static void flush(void);

static void deferred_pop(void) {
    Deferred *d = g_dq_head;
    g_dq_head = d->next;
    if (!g_dq_head) g_dq_tail = NULL;
    g_dq_bytes -= d->w.bytes;
    g_dq_count--;
    disown(&d->w);
    free(d);
}

// Drops the write at index i of the queue (its own fault: waiting will not mend it).
static void deferred_drop(int i, const char *why) {
    Deferred **p = &g_dq_head;
    while (i-- > 0 && *p) p = &(*p)->next;
    Deferred *d = *p;
    if (!d) return;
    log_error("db_error", "a kept write failed and is dropped: %s (%.80s)", why ? why : "?", d->w.call.sql);
    *p = d->next;
    if (g_dq_tail == d) {
        g_dq_tail = g_dq_head;
        while (g_dq_tail && g_dq_tail->next) g_dq_tail = g_dq_tail->next;
    }
    g_dq_bytes -= d->w.bytes;
    g_dq_count--;
    disown(&d->w);
    free(d);
}

static bool holding(void) { return g_sending || (g_dq_head && !g_retrying); }

static void release_held(void) {
    while (g_held_head && !holding()) {
        Held *h = g_held_head;
        g_held_head = h->next;
        if (!g_held_head) g_held_tail = NULL;
        db_run(&h->w.call, h->done, h->ud); // copies what it keeps before it returns
        disown(&h->w);
        free(h);
    }
}

static void tick(uv_timer_t *) {
    g_retrying = false;
    flush();
}

// Next batch on the next turn of the loop (SQLite: one batch per turn, so a
// long queue written after an outage does not hold the loop), or in a
// second after a failure.
static void again(uint64_t ms) {
    if (g_timer_on) uv_timer_start(&g_timer, tick, ms, 0);
}

static void batch_done(DbReply *r, int failed, void *) {
    int n = g_batch_n;
    g_sending = false;
    g_batch_n = 0;
    if (r->status == DB_OK) {
        for (int i = 0; i < n && g_dq_head; i++) deferred_pop();
        if (!g_dq_head && g_retrying) log_info("storage_up", "every kept write is stored");
        g_retrying = false;
    } else if (r->status != DB_UNAVAILABLE && failed >= 0) {
        deferred_drop(failed, r->error);
    } else {
        g_retrying = true;
        again(DEFER_RETRY_MS);
    }
    if (g_dq_head && !g_retrying && !g_flushing) {
        if (!db_lane_at_once(DB_SCRIPTS)) flush();
        else again(0);
    }
    release_held();
}

static void flush(void) {
    if (g_sending || !g_dq_head || g_retrying || g_flushing) return;
    DbCall calls[DEFER_BATCH];
    int n = 0;
    for (Deferred *d = g_dq_head; d && n < DEFER_BATCH; d = d->next) calls[n++] = d->w.call;
    g_sending = true;
    g_batch_n = n;
    g_flushing = true;
    db_run_batch(DB_SCRIPTS, calls, n, batch_done, NULL);
    g_flushing = false;
    if (!g_sending && g_dq_head && !g_retrying) {
        if (!db_lane_at_once(DB_SCRIPTS)) flush();
        else again(0);
    }
}

static bool enqueue(const DbCall *c) {
    Deferred *d = (Deferred *)calloc(1, sizeof *d);
    if (!d) return false;
    if (!own(&d->w, c)) {
        free(d);
        return false;
    }
    d->w.call.run_ms = 0; // a kept write is not its script's call any more: the store's own limit
    while (g_dq_head && !g_sending && g_dq_bytes + d->w.bytes > DEFER_MAX_BYTES) {
        deferred_pop();
        g_dropped++;
        if (!g_dropped_logged) {
            g_dropped_logged = true;
            log_warn("storage_dropped", "over %u KiB of writes wait for storage: the oldest are given up", DEFER_MAX_BYTES >> 10);
        }
    }
    if (g_dq_tail) g_dq_tail->next = d;
    else g_dq_head = d;
    g_dq_tail = d;
    g_dq_bytes += d->w.bytes;
    g_dq_count++;
    return true;
}

struct Inline {
    DbStatus status;
    char *err;
    size_t errlen;
};

static void inline_done(DbReply *r, void *ud) {
    Inline *in = (Inline *)ud;
    in->status = r->status;
    if (r->status != DB_OK) snprintf(in->err, in->errlen, "%s", r->error ? r->error : "failed");
}

// PostgreSQL answers the scripts at once but over the network: kept writes
// go out together, one pipeline per turn of the loop, rather than one round
// trip each while the loop waits.
static bool gathered(void) { return db_lane_at_once(DB_SCRIPTS) && db_lane_kind(DB_SCRIPTS) == DB_POSTGRES; }

int store_defer(const DbCall *c, char *err, size_t errlen) {
    if (gathered()) {
        if (!enqueue(c)) return -2;
        if (g_retrying) {
            g_errors++; // not tried: behind writes already waiting
            return 0;
        }
        again(0); // out on the next turn of the loop, with whatever else comes meanwhile
        return 1;
    }
    if (db_lane_at_once(DB_SCRIPTS) && !g_dq_head) {
        // written now: the answer comes before db_run returns
        Inline in = {DB_UNAVAILABLE, err, errlen};
        db_run(c, inline_done, &in);
        if (in.status == DB_OK) return 1;
        // a statement stopped at its time is kept too: PostgreSQL slow for a
        // moment is storage away, and the write must not be lost
        if (in.status != DB_UNAVAILABLE && in.status != DB_STOPPED) return -1;
        if (!enqueue(c)) return -2;
        g_retrying = true;
        again(DEFER_RETRY_MS);
        return 0;
    }
    if (!enqueue(c)) return -2;
    if (!db_lane_at_once(DB_SCRIPTS) && !g_retrying) {
        flush();
        return 1;
    }
    g_errors++; // not tried: behind writes already waiting
    return 0;
}

void store_run(const DbCall *c, DbDone done, void *ud) {
    // a script reads what it deferred: gathered writes go out first
    for (uint32_t before = 0; gathered() && g_dq_head && !g_retrying && g_dq_count != before;) {
        before = g_dq_count;
        flush();
    }
    if (db_lane_at_once(DB_SCRIPTS) || !holding()) return db_run(c, done, ud);
    Held *h = (Held *)calloc(1, sizeof *h);
    if (!h || !own(&h->w, c)) {
        free(h);
        DbReply r = {DB_UNAVAILABLE, "out of memory", 0, -1, false, NULL};
        return done(&r, ud);
    }
    h->done = done;
    h->ud = ud;
    if (g_held_tail) g_held_tail->next = h;
    else g_held_head = h;
    g_held_tail = h;
}

void store_start(uv_loop_t *loop) {
    uv_timer_init(loop, &g_timer);
    g_timer_on = true;
    if (g_dq_head) again(DEFER_RETRY_MS);
}

void store_stop(void) {
    if (!g_timer_on) return;
    g_timer_on = false;
    uv_timer_stop(&g_timer);
    uv_close((uv_handle_t *)&g_timer, NULL);
    // a last try; what storage still refuses is lost, and said so (a batch
    // PostgreSQL has yet to answer is written while the store drains)
    g_retrying = false;
    for (uint32_t before = g_dq_count + 1; g_dq_head && !g_sending && !g_retrying && g_dq_count < before;) {
        before = g_dq_count;
        flush();
    }
}

void store_close(void) {
    while (g_held_head) { // the store answered every call at its stop: nothing is here
        Held *h = g_held_head;
        g_held_head = h->next;
        disown(&h->w);
        free(h);
    }
    g_held_tail = NULL;
    if (g_dq_count) log_warn("storage_dropped", "stopping with %u writes storage never took", g_dq_count);
    while (g_dq_head) deferred_pop();
}

void store_metrics(Buf *b) {
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "# HELP partyline_storage_up Whether the database took the last statement.\n"
                     "# TYPE partyline_storage_up gauge\npartyline_storage_up %d\n"
                     "# HELP partyline_storage_errors_total Statements that failed on storage (locked, full, I/O).\n"
                     "# TYPE partyline_storage_errors_total counter\npartyline_storage_errors_total %llu\n"
                     "# HELP partyline_storage_deferred Writes kept in memory until storage is back.\n"
                     "# TYPE partyline_storage_deferred gauge\npartyline_storage_deferred %u\n"
                     "# HELP partyline_storage_dropped_total Kept writes given up (over the memory bound).\n"
                     "# TYPE partyline_storage_dropped_total counter\npartyline_storage_dropped_total %llu\n",
                     g_up ? 1 : 0, (unsigned long long)g_errors, g_dq_count, (unsigned long long)g_dropped);
    buf_add(b, text, (size_t)n, 1 << 20);
}
