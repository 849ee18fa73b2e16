#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/addr.h"

Config g_cfg;

void config_defaults(Config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "partyline");
    c->ws_port = 8080;
    c->telnet_port = 2323;
    snprintf(c->data_dir, sizeof c->data_dir, "var");
    snprintf(c->scripts_dir, sizeof c->scripts_dir, "lua");
    snprintf(c->www_dir, sizeof c->www_dir, "etc/www");
    c->grace_s = 60;
    c->max_frame = 64 * 1024;
    c->max_line = 1024;
    c->queue_max = 256;
    c->slow_policy = SLOW_DISCONNECT;
    c->registration = true;
    snprintf(c->reserved_handles, sizeof c->reserved_handles, "%s", CONFIG_RESERVED_DEFAULT);
    snprintf(c->password_list, sizeof c->password_list, "/usr/share/john/password.lst");
    c->password_min = 8;
    c->telnet_color = COLOR_AUTO;
    c->login_attempts = 5;
    c->pwhash_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    c->pwhash_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->log_json = true;
    c->token_ttl_s = 7 * 86400;
    snprintf(c->jwt_secret, sizeof c->jwt_secret, "auto");
    c->rate_per_s = 10;
    c->rate_burst = 30;
    c->flood_max = 60;
    c->flood_bytes = 32768;
    c->max_conns_per_addr = 32;
    c->http_conn_max_s = 60;
    snprintf(c->metrics_allow, sizeof c->metrics_allow, "127.0.0.0/8, ::1");
    c->login_timeout_s = 120;
    c->idle_timeout_s = 3600;
    c->idle_warn_s = 60;
    c->login_slow_after = 3;
    c->login_lockout_after = 10;
    c->login_lockout_s = 300;
    c->login_window_s = 900;
    c->register_per_hour = 3;
    c->rooms_per_hour = 10;
    c->history_rooms_max = 500;
    c->history_expire_s = 30 * 86400;
    c->mail_max_bytes = 16384;
    c->mailbox_max = 200;
    c->mailbox_max_kb = 1024;
    c->script_budget_ms = 100;
    c->script_memory_mb = 256;
}

enum Kind { K_STR, K_INT, K_BOOL, K_SLOW, K_COLOR, K_ULONG, K_KB };
struct Key {
    const char *name;
    Kind kind;
    size_t off;
    size_t size;
    long min, max;
};
#define S(f) K_STR, offsetof(Config, f), sizeof(((Config *)0)->f), 0, 0
#define I(f, lo, hi) K_INT, offsetof(Config, f), 0, lo, hi

static const Key g_keys[] = {
    {"name", S(name)},
    {"bind", S(bind)},
    {"ws_port", I(ws_port, 0, 65535)},
    {"telnet_port", I(telnet_port, 0, 65535)},
    {"data_dir", S(data_dir)},
    {"scripts_dir", S(scripts_dir)},
    {"www_dir", S(www_dir)},
    {"grace_s", I(grace_s, 0, 86400)},
    {"max_frame", I(max_frame, 256, 16 * 1024 * 1024)},
    {"max_line", I(max_line, 16, 65536)},
    {"queue_max", I(queue_max, 8, 1 << 20)},
    {"queue_soft", I(queue_soft, 0, 1 << 20)},
    {"slow_policy", K_SLOW, offsetof(Config, slow_policy), 0, 0, 0},
    {"sysops", S(sysops)},
    {"reserved_handles", S(reserved_handles)},
    {"password_list", S(password_list)},
    {"password_min", I(password_min, 8, 64)},
    {"registration", K_BOOL, offsetof(Config, registration), 0, 0, 0},
    {"telnet_color", K_COLOR, offsetof(Config, telnet_color), 0, 0, 0},
    {"login_attempts", I(login_attempts, 1, 1000)},
    {"pwhash_ops", K_ULONG, offsetof(Config, pwhash_ops), 0, 1, 100},
    {"pwhash_mem_kb", K_KB, offsetof(Config, pwhash_mem), 0, 8, 4 * 1024 * 1024},
    {"hash_threads", I(hash_threads, 0, 64)},
    {"log_level", S(log_level)},
    {"log_json", K_BOOL, offsetof(Config, log_json), 0, 0, 0},
    {"log_file", S(log_file)},
    {"jwt_secret", S(jwt_secret)},
    {"require_token", K_BOOL, offsetof(Config, require_token), 0, 0, 0},
    {"token_ttl_s", I(token_ttl_s, 60, 365 * 86400)},
    {"rate_per_s", I(rate_per_s, 0, 100000)},
    {"rate_burst", I(rate_burst, 1, 100000)},
    {"flood_max", I(flood_max, 1, 100000)},
    {"flood_bytes", I(flood_bytes, 1024, 16 * 1024 * 1024)},
    {"max_conns_per_addr", I(max_conns_per_addr, 0, 1000000)},
    {"http_conn_max_s", I(http_conn_max_s, 1, 86400)},
    {"metrics_allow", S(metrics_allow)},
    {"login_timeout_s", I(login_timeout_s, 0, 86400)},
    {"idle_timeout_s", I(idle_timeout_s, 0, 7 * 86400)},
    {"idle_warn_s", I(idle_warn_s, 0, 86400)},
    {"login_slow_after", I(login_slow_after, 0, 1000)},
    {"login_lockout_after", I(login_lockout_after, 1, 1000)},
    {"login_lockout_s", I(login_lockout_s, 1, 7 * 86400)},
    {"login_window_s", I(login_window_s, 1, 7 * 86400)},
    {"register_per_hour", I(register_per_hour, 0, 100000)},
    {"rooms_per_hour", I(rooms_per_hour, 0, 100000)},
    {"history_rooms_max", I(history_rooms_max, 1, 1000000)},
    {"history_expire_s", I(history_expire_s, 0, 10 * 365 * 86400)},
    {"mail_max_bytes", I(mail_max_bytes, 256, 1 << 20)},
    {"mailbox_max", I(mailbox_max, 1, 1000000)},
    {"mailbox_max_kb", I(mailbox_max_kb, 16, 1 << 20)},
    {"script_budget_ms", I(script_budget_ms, 1, 60000)},
    {"script_memory_mb", I(script_memory_mb, 8, 65536)},
};

static const Key *find_key(const char *name) {
    for (size_t i = 0; i < sizeof g_keys / sizeof g_keys[0]; i++)
        if (strcmp(g_keys[i].name, name) == 0) return &g_keys[i];
    return NULL;
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
    const Key *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown key '%s'", key);
        return -1;
    }
    char *base = (char *)c;
    switch (k->kind) {
    case K_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "value of '%s' is too long", key);
            return -1;
        }
        if (!strcmp(key, "metrics_allow")) {
            AddrRange r[32];
            int n;
            char why[200];
            if (!addr_parse_ranges(value, r, 32, &n, why, sizeof why)) {
                snprintf(err, errlen, "'%s': %s", key, why);
                return -1;
            }
        }
        snprintf(base + k->off, k->size, "%s", value);
        return 0;
    case K_INT:
    case K_ULONG:
    case K_KB: {
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < k->min || n > k->max) {
            snprintf(err, errlen, "'%s' wants a number from %ld to %ld", key, k->min, k->max);
            return -1;
        }
        if (k->kind == K_INT) *(int *)(base + k->off) = (int)n;
        else if (k->kind == K_ULONG) *(unsigned long *)(base + k->off) = (unsigned long)n;
        else *(size_t *)(base + k->off) = (size_t)n * 1024;
        return 0;
    }
    case K_BOOL: {
        bool b;
        if (!parse_bool(value, &b)) {
            snprintf(err, errlen, "'%s' wants yes or no", key);
            return -1;
        }
        *(bool *)(base + k->off) = b;
        return 0;
    }
    case K_SLOW:
        if (!strcmp(value, "disconnect")) c->slow_policy = SLOW_DISCONNECT;
        else if (!strcmp(value, "skip")) c->slow_policy = SLOW_SKIP;
        else {
            snprintf(err, errlen, "'%s' wants disconnect or skip", key);
            return -1;
        }
        return 0;
    case K_COLOR:
        if (!strcmp(value, "auto")) c->telnet_color = COLOR_AUTO;
        else if (!strcmp(value, "always")) c->telnet_color = COLOR_ALWAYS;
        else if (!strcmp(value, "never")) c->telnet_color = COLOR_NEVER;
        else {
            snprintf(err, errlen, "'%s' wants auto, always or never", key);
            return -1;
        }
        return 0;
    }
    return -1;
}

bool config_get(const Config *c, const char *key, char *out, size_t outlen) {
    const Key *k = find_key(key);
    if (!k || !strcmp(key, "jwt_secret")) return false; // secrets are not for scripts
    const char *base = (const char *)c;
    switch (k->kind) {
    case K_STR: snprintf(out, outlen, "%s", base + k->off); break;
    case K_INT: snprintf(out, outlen, "%d", *(const int *)(base + k->off)); break;
    case K_ULONG: snprintf(out, outlen, "%lu", *(const unsigned long *)(base + k->off)); break;
    case K_KB: snprintf(out, outlen, "%zu", *(const size_t *)(base + k->off) / 1024); break;
    case K_BOOL: snprintf(out, outlen, "%s", *(const bool *)(base + k->off) ? "yes" : "no"); break;
    case K_SLOW: snprintf(out, outlen, "%s", c->slow_policy == SLOW_SKIP ? "skip" : "disconnect"); break;
    case K_COLOR:
        snprintf(out, outlen, "%s",
                 c->telnet_color == COLOR_ALWAYS ? "always" : c->telnet_color == COLOR_NEVER ? "never" : "auto");
        break;
    }
    return true;
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
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = 0;
        char why[256];
        if (config_set(c, trim(s), trim(eq + 1), why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
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
