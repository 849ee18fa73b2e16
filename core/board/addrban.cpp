#include "board/addrban.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static AddrBan *g_bans;
static size_t g_count;

void addr_normal(const char *addr, char out[ADDR_MAX]) {
    size_t i = 0;
    // IPv4 on a dual-stack socket shows as ::ffff:1.2.3.4; bans name the IPv4 one
    if (!strncasecmp(addr, "::ffff:", 7) && strchr(addr + 7, '.')) addr += 7;
    for (; addr[i] && i < ADDR_MAX - 1; i++) out[i] = (char)tolower((unsigned char)addr[i]);
    out[i] = 0;
}

bool addr_same(const char *a, const char *b) {
    char x[ADDR_MAX], y[ADDR_MAX];
    addr_normal(a, x);
    addr_normal(b, y);
    return x[0] && !strcmp(x, y);
}

static bool pattern_ok(const char *p) {
    size_t n = strlen(p);
    if (n == 0 || n >= ADDR_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '*' && i == n - 1) continue;
        if (!(isxdigit((unsigned char)c) || c == '.' || c == ':')) return false;
    }
    return n > 1 || p[0] != '*'; // a lone '*' would ban everyone
}

bool addr_pattern_ok(const char *pattern) {
    char p[ADDR_MAX];
    if (strlen(pattern) >= ADDR_MAX) return false;
    addr_normal(pattern, p);
    return pattern_ok(p);
}

int addrban_set(const AddrBan *bans, size_t n) {
    AddrBan *copy = n ? (AddrBan *)malloc(n * sizeof *copy) : NULL;
    if (n && !copy) return -1;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!addr_pattern_ok(bans[i].pattern)) continue;
        addr_normal(bans[i].pattern, copy[kept].pattern);
        copy[kept++].until_ms = bans[i].until_ms;
    }
    free(g_bans);
    g_bans = copy;
    g_count = kept;
    return (int)kept;
}

bool addrban_match(const char *addr, uint64_t now_ms) {
    if (!g_count) return false;
    char a[ADDR_MAX];
    addr_normal(addr, a);
    for (size_t i = 0; i < g_count; i++) {
        const AddrBan *b = &g_bans[i];
        if (b->until_ms && b->until_ms <= now_ms) continue; // ran out; the scripts tidy the list
        size_t n = strlen(b->pattern);
        bool prefix = b->pattern[n - 1] == '*';
        if (prefix ? !strncmp(a, b->pattern, n - 1) : !strcmp(a, b->pattern)) return true;
    }
    return false;
}

void addrban_free(void) {
    free(g_bans);
    g_bans = NULL;
    g_count = 0;
}
