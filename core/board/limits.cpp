#include "board/limits.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/log.h"
#include "base/stats.h"
#include "model/up.h"

// ------------------------------------------------------------ small keyed table

// One table type serves both uses: connection counts by address, and login
// failures by handle or address. Open hashing with chains; entries are
// removed when they fall back to nothing.
struct Entry {
    char key[48];
    uint32_t count;        // open connections, or failures in the window
    uint64_t first_ms;     // start of the failure window
    uint64_t locked_until; // ms
    float tokens;          // registrations left (g_reg; first_ms is the last refill)
    Entry *next;
};

#define BUCKETS 1024

struct Table {
    Entry *b[BUCKETS];
};

static Table g_addrs, g_fail, g_reg;

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; // FNV-1a
    for (; *s; s++) h = (h ^ (uint8_t)tolower((unsigned char)*s)) * 16777619u;
    return h % BUCKETS;
}

static Entry *find(Table *t, const char *key, bool create) {
    Entry **head = &t->b[hash(key)];
    for (Entry *e = *head; e; e = e->next)
        if (!strcasecmp(e->key, key)) return e;
    if (!create) return NULL;
    Entry *e = (Entry *)calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->next = *head;
    *head = e;
    return e;
}

static void drop(Table *t, Entry *gone) {
    for (Entry **p = &t->b[hash(gone->key)]; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            free(gone);
            return;
        }
}

// Refusals with a reason that one address may have in flight at once; past
// them its connections are closed without a word.
#define REFUSALS_MAX 8

AddrVerdict limits_addr_open(const char *addr) {
    Entry *e = find(&g_addrs, addr, true);
    if (!e) return ADDR_DROP;
    uint32_t max = (uint32_t)g_cfg.max_conns_per_addr;
    if (max > 0 && e->count >= max) {
        g_stats.addr_refused++;
        if (e->count >= max + REFUSALS_MAX) return ADDR_DROP;
        e->count++;
        return ADDR_REFUSE;
    }
    e->count++;
    return ADDR_OK;
}

void limits_addr_close(const char *addr) {
    Entry *e = find(&g_addrs, addr, false);
    if (e && --e->count == 0) drop(&g_addrs, e);
}

static uint32_t locked_for(const char *key, uint64_t now) {
    Entry *e = key[0] ? find(&g_fail, key, false) : NULL;
    if (!e || e->locked_until <= now) return 0;
    return (uint32_t)((e->locked_until - now + 999) / 1000);
}

uint32_t limits_login_locked(const char *handle, const char *addr, uint64_t now_ms) {
    char hk[48];
    snprintf(hk, sizeof hk, "h:%s", handle);
    char ak[48];
    snprintf(ak, sizeof ak, "a:%s", addr);
    uint32_t a = locked_for(hk, now_ms), b = locked_for(ak, now_ms);
    return a > b ? a : b;
}

static uint32_t record(const char *key, uint64_t now) {
    Entry *e = find(&g_fail, key, true);
    if (!e) return 0;
    if (now - e->first_ms > (uint64_t)g_cfg.login_window_s * 1000) { // a fresh window
        e->first_ms = now;
        e->count = 0;
    }
    e->count++;
    if (e->count >= (uint32_t)g_cfg.login_lockout_after) {
        e->locked_until = now + (uint64_t)g_cfg.login_lockout_s * 1000;
        log_warn("login_lockout", "%s locked for %ds after %u failures", key, g_cfg.login_lockout_s, e->count);
    }
    return e->count;
}

uint32_t limits_login_failed(const char *handle, const char *addr, uint64_t now_ms) {
    // counted on every process of the board: guesses spread over processes
    // add up as they would on one
    if (g_up.login_failed) g_up.login_failed(handle, addr);
    return limits_login_counted(handle, addr, now_ms);
}

uint32_t limits_login_counted(const char *handle, const char *addr, uint64_t now_ms) {
    char hk[48], ak[48];
    snprintf(hk, sizeof hk, "h:%s", handle);
    snprintf(ak, sizeof ak, "a:%s", addr);
    uint32_t n = record(hk, now_ms);
    uint32_t m = record(ak, now_ms);
    if (m > n) n = m;
    // past the first few, each failure answers more slowly: 1 s, 2 s, 4 s ... 16 s
    if (n <= (uint32_t)g_cfg.login_slow_after) return 0;
    uint32_t steps = n - (uint32_t)g_cfg.login_slow_after - 1;
    return 1000u << (steps > 4 ? 4 : steps);
}

void limits_login_ok(const char *handle) {
    // the handle's record goes; an address keeps its own, so one good login
    // does not reset guessing at other accounts from there
    char hk[48];
    snprintf(hk, sizeof hk, "h:%s", handle);
    Entry *e = find(&g_fail, hk, false);
    if (e && e->locked_until == 0) drop(&g_fail, e);
}

static void reg_refill(Entry *e, uint64_t now) {
    float per_ms = (float)g_cfg.register_per_hour / 3600000.0f;
    if (now > e->first_ms) e->tokens += (float)(now - e->first_ms) * per_ms;
    if (e->tokens > (float)g_cfg.register_per_hour) e->tokens = (float)g_cfg.register_per_hour;
    e->first_ms = now;
}

bool limits_register_take(const char *addr, uint64_t now_ms) {
    if (g_cfg.register_per_hour <= 0) return true;
    Entry *e = find(&g_reg, addr, false);
    if (!e) {
        e = find(&g_reg, addr, true);
        if (!e) return false;
        e->tokens = (float)g_cfg.register_per_hour;
        e->first_ms = now_ms;
    }
    reg_refill(e, now_ms);
    if (e->tokens < 1.0f) return false;
    e->tokens -= 1.0f;
    return true;
}

void limits_register_give_back(const char *addr) {
    Entry *e = find(&g_reg, addr, false);
    if (e && e->tokens + 1.0f <= (float)g_cfg.register_per_hour) e->tokens += 1.0f;
}

void limits_prune(uint64_t now_ms) {
    for (int i = 0; i < BUCKETS; i++) // addresses whose allowance is whole again
        for (Entry **p = &g_reg.b[i]; *p;) {
            Entry *e = *p;
            reg_refill(e, now_ms);
            if (e->tokens >= (float)g_cfg.register_per_hour) {
                *p = e->next;
                free(e);
            } else {
                p = &e->next;
            }
        }
    for (int i = 0; i < BUCKETS; i++)
        for (Entry **p = &g_fail.b[i]; *p;) {
            Entry *e = *p;
            if (e->locked_until <= now_ms && now_ms - e->first_ms > (uint64_t)g_cfg.login_window_s * 1000) {
                *p = e->next;
                free(e);
            } else {
                p = &e->next;
            }
        }
}

static void clear(Table *t) {
    for (int i = 0; i < BUCKETS; i++)
        while (t->b[i]) {
            Entry *e = t->b[i];
            t->b[i] = e->next;
            free(e);
        }
}

void limits_free(void) {
    clear(&g_addrs);
    clear(&g_fail);
    clear(&g_reg);
}
