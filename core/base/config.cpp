#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/addr.h"
#include "base/origin.h"

Config g_cfg;

typedef bool (*CheckFn)(const char *value, char *why, size_t whylen);

// metrics_allow is refused when it is read, not when the server starts, so
// a typo is named before anything else happens.
static bool check_ranges(const char *value, char *why, size_t whylen) {
    AddrRange r[32];
    int n;
    return addr_parse_ranges(value, r, 32, &n, why, whylen);
}

static bool check_proxies(const char *value, char *why, size_t whylen) {
    AddrRange r[CONFIG_PROXIES_MAX];
    int n;
    return addr_parse_ranges(value, r, CONFIG_PROXIES_MAX, &n, why, whylen);
}

static bool check_origins(const char *value, char *why, size_t whylen) { return origin_list_valid(value, why, whylen); }
// The store: SQLite (no setup) or a PostgreSQL URI (board/db.h).
static bool check_store(const char *value, char *why, size_t whylen) {
    if (!value[0] || !strcmp(value, "sqlite") || !strncmp(value, "postgresql://", 13) || !strncmp(value, "postgres://", 11))
        return true;
    snprintf(why, whylen, "empty, sqlite, or a postgresql:// URI");
    return false;
}

enum KeyKind { K_STR, K_SECRET, K_INT, K_ULONG, K_KIB, K_BOOL, K_ENUM };

struct Key {
    const char *name;
    KeyKind kind;
    size_t size;        // text: the field's size, terminator included
    long min, max;      // numbers
    const char *values; // ENUM: the names of the values in order, '|' between
    CheckFn check;      // text: NULL or what refuses bad values
    const char *help;
};

// The keys' positions in g_keys, to reach each typed field from a name.
enum KeyId {
#define ID_(key, ...) KEY_##key,
    CONFIG_KEYS(ID_, ID_, ID_, ID_, ID_, ID_, ID_)
#undef ID_
        KEY_COUNT
};

#define SIZE_(key) sizeof(((Config *)0)->key)
#define T_STR(key, size, def, check, help) {#key, K_STR, SIZE_(key), 0, 0, NULL, check, help},
#define T_SECRET(key, size, def, help) {#key, K_SECRET, SIZE_(key), 0, 0, NULL, NULL, help},
#define T_INT(key, def, lo, hi, help) {#key, K_INT, 0, lo, hi, NULL, NULL, help},
#define T_ULONG(key, def, lo, hi, help) {#key, K_ULONG, 0, lo, hi, NULL, NULL, help},
#define T_KIB(key, field, def, lo, hi, help) {#key, K_KIB, 0, lo, hi, NULL, NULL, help},
#define T_BOOL(key, def, help) {#key, K_BOOL, 0, 0, 1, NULL, NULL, help},
#define T_ENUM(key, type, def, values, help) {#key, K_ENUM, 0, 0, 0, values, NULL, help},
static const Key g_keys[KEY_COUNT] = {CONFIG_KEYS(T_STR, T_SECRET, T_INT, T_ULONG, T_KIB, T_BOOL, T_ENUM)};
#undef T_STR
#undef T_SECRET
#undef T_INT
#undef T_ULONG
#undef T_KIB
#undef T_BOOL
#undef T_ENUM

void config_defaults(Config *c) {
    memset(c, 0, sizeof *c);
#define D_STR(key, size, def, check, help) snprintf(c->key, sizeof c->key, "%s", def);
#define D_SECRET(key, size, def, help) snprintf(c->key, sizeof c->key, "%s", def);
#define D_INT(key, def, lo, hi, help) c->key = def;
#define D_ULONG(key, def, lo, hi, help) c->key = def;
#define D_KIB(key, field, def, lo, hi, help) c->field = (size_t)(def)*1024;
#define D_BOOL(key, def, help) c->key = def;
#define D_ENUM(key, type, def, values, help) c->key = def;
    CONFIG_KEYS(D_STR, D_SECRET, D_INT, D_ULONG, D_KIB, D_BOOL, D_ENUM)
#undef D_STR
#undef D_SECRET
#undef D_INT
#undef D_ULONG
#undef D_KIB
#undef D_BOOL
#undef D_ENUM
}

// Writes a value already checked against its key into the typed field:
// text in s, anything else (numbers, yes/no, an enum's position) in n.
static void store(Config *c, int id, const char *s, long n) {
    switch (id) {
#define S_STR(key, size, def, check, help)                                                                             \
    case KEY_##key: snprintf(c->key, sizeof c->key, "%s", s); break;
#define S_SECRET(key, size, def, help)                                                                                 \
    case KEY_##key: snprintf(c->key, sizeof c->key, "%s", s); break;
#define S_INT(key, def, lo, hi, help)                                                                                  \
    case KEY_##key: c->key = (int)n; break;
#define S_ULONG(key, def, lo, hi, help)                                                                                \
    case KEY_##key: c->key = (unsigned long)n; break;
#define S_KIB(key, field, def, lo, hi, help)                                                                           \
    case KEY_##key: c->field = (size_t)n * 1024; break;
#define S_BOOL(key, def, help)                                                                                         \
    case KEY_##key: c->key = n != 0; break;
#define S_ENUM(key, type, def, values, help)                                                                           \
    case KEY_##key: c->key = (type)n; break;
        CONFIG_KEYS(S_STR, S_SECRET, S_INT, S_ULONG, S_KIB, S_BOOL, S_ENUM)
#undef S_STR
#undef S_SECRET
#undef S_INT
#undef S_ULONG
#undef S_KIB
#undef S_BOOL
#undef S_ENUM
    }
}

// The idx-th name in "a|b|c"; "?" past the end (a value no parse can give).
static void enum_name(const char *values, long idx, char *out, size_t outlen) {
    const char *p = values;
    for (long i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p || idx < 0) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "|"), p);
}

// The position of word in "a|b|c" (any case), or -1.
static long enum_index(const char *values, const char *word) {
    size_t wl = strlen(word);
    long i = 0;
    for (const char *p = values;; i++) {
        size_t l = strcspn(p, "|");
        if (l == wl && wl && strncasecmp(p, word, l) == 0) return i;
        if (!p[l]) return -1;
        p += l + 1;
    }
}

// The value of a key as the file would spell it.
static void format(const Config *c, int id, char *out, size_t outlen) {
    switch (id) {
#define F_STR(key, size, def, check, help)                                                                             \
    case KEY_##key: snprintf(out, outlen, "%s", c->key); break;
#define F_SECRET(key, size, def, help)                                                                                 \
    case KEY_##key: snprintf(out, outlen, "%s", c->key); break;
#define F_INT(key, def, lo, hi, help)                                                                                  \
    case KEY_##key: snprintf(out, outlen, "%d", c->key); break;
#define F_ULONG(key, def, lo, hi, help)                                                                                \
    case KEY_##key: snprintf(out, outlen, "%lu", c->key); break;
#define F_KIB(key, field, def, lo, hi, help)                                                                           \
    case KEY_##key: snprintf(out, outlen, "%zu", c->field / 1024); break;
#define F_BOOL(key, def, help)                                                                                         \
    case KEY_##key: snprintf(out, outlen, "%s", c->key ? "yes" : "no"); break;
#define F_ENUM(key, type, def, values, help)                                                                           \
    case KEY_##key: enum_name(values, (long)c->key, out, outlen); break;
        CONFIG_KEYS(F_STR, F_SECRET, F_INT, F_ULONG, F_KIB, F_BOOL, F_ENUM)
#undef F_STR
#undef F_SECRET
#undef F_INT
#undef F_ULONG
#undef F_KIB
#undef F_BOOL
#undef F_ENUM
    default: snprintf(out, outlen, "?");
    }
}

static int find_key(const char *name) {
    for (int i = 0; i < KEY_COUNT; i++)
        if (strcmp(g_keys[i].name, name) == 0) return i;
    return -1;
}

static bool parse_bool(const char *v, bool *out) {
    if (!strcasecmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
        !strcasecmp(v, "open")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
        !strcasecmp(v, "closed")) {
        *out = false;
        return true;
    }
    return false;
}

int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen) {
    int id = find_key(key);
    if (id < 0) {
        snprintf(err, errlen, "unknown key '%.64s'", key);
        return -1;
    }
    const Key *k = &g_keys[id];
    switch (k->kind) {
    case K_STR:
    case K_SECRET:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "value of '%s' is too long (at most %zu bytes)", key, k->size - 1);
            return -1;
        }
        if (k->check) {
            char why[200];
            if (!k->check(value, why, sizeof why)) {
                snprintf(err, errlen, "'%s': %s", key, why);
                return -1;
            }
        }
        store(c, id, value, 0);
        return 0;
    case K_INT:
    case K_ULONG:
    case K_KIB: {
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < k->min || n > k->max) {
            snprintf(err, errlen, "'%s' wants a number from %ld to %ld, not '%.40s'", key, k->min, k->max, value);
            return -1;
        }
        store(c, id, NULL, n);
        return 0;
    }
    case K_BOOL: {
        bool b;
        if (!parse_bool(value, &b)) {
            snprintf(err, errlen, "'%s' wants yes or no, not '%.40s'", key, value);
            return -1;
        }
        store(c, id, NULL, b);
        return 0;
    }
    case K_ENUM: {
        long n = enum_index(k->values, value);
        if (n < 0) {
            snprintf(err, errlen, "'%s' wants one of %s, not '%.40s'", key, k->values, value);
            return -1;
        }
        store(c, id, NULL, n);
        return 0;
    }
    }
    return -1;
}

bool config_get(const Config *c, const char *key, char *out, size_t outlen) {
    int id = find_key(key);
    if (id < 0 || g_keys[id].kind == K_SECRET) return false; // secrets are not for scripts
    format(c, id, out, outlen);
    return true;
}

void config_print_keys(FILE *f) {
    Config d;
    config_defaults(&d);
    fprintf(f, "\nconfiguration keys, with their defaults (--set KEY=VALUE, or KEY = VALUE lines in --config FILE):\n");
    for (int i = 0; i < KEY_COUNT; i++) {
        const Key *k = &g_keys[i];
        char def[1100];
        format(&d, i, def, sizeof def);
        fprintf(f, "  %s = %s\n      %s", k->name, def, k->help);
        switch (k->kind) {
        case K_INT:
        case K_ULONG:
        case K_KIB: fprintf(f, " [%ld..%ld]\n", k->min, k->max); break;
        case K_BOOL: fprintf(f, " [yes|no]\n"); break;
        case K_ENUM: fprintf(f, " [%s]\n", k->values); break;
        case K_STR:
        case K_SECRET: fprintf(f, "\n"); break;
        }
    }
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int config_load_file(Config *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    // lines of any length: a fixed buffer would cut a long one in two and
    // read its tail as a line of its own
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = 0;
        char why[300];
        if (config_set(c, trim(s), trim(eq + 1), why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

bool config_is_sysop(const Config *c, const char *handle) {
    const char *p = c->sysops;
    size_t hl = strlen(handle);
    while (*p) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if ((size_t)(e - p) == hl && hl && strncasecmp(p, handle, hl) == 0) return true;
        p = e;
    }
    return false;
}
