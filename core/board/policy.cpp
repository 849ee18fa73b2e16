#include "board/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "board/auth.h"
#include "base/config.h"
#include "model/session.h"

// The common passwords, lowercased, sorted, for bsearch.
static char **g_common;
static size_t g_ncommon;

void policy_skeleton(const char *handle, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; handle[i] && o + 1 < outlen; i++) {
        char c = (char)tolower((unsigned char)handle[i]);
        char next = (char)tolower((unsigned char)handle[i + 1]);
        if (c == '0') c = 'o';
        else if (c == '1' || c == 'i') c = 'l';
        else if (c == 'r' && next == 'n') c = 'm', i++;
        else if (c == 'v' && next == 'v') c = 'w', i++;
        out[o++] = c;
    }
    out[o] = 0;
}

// Whether handle's skeleton is one of the comma- or space-separated names in list.
static bool listed(const char *list, const char *handle) {
    char want[HANDLE_MAX + 1], name[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    policy_skeleton(handle, want, sizeof want);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        size_t n = (size_t)(e - p);
        if (n && n <= HANDLE_MAX) {
            memcpy(name, p, n);
            name[n] = 0;
            policy_skeleton(name, skel, sizeof skel);
            if (!strcmp(skel, want)) return true;
        }
        p = e;
    }
    return false;
}

const char *policy_handle_problem(const char *handle, bool operator_made) {
    if (!auth_handle_valid(handle)) return "bad_handle";
    bool letter = false;
    for (const char *p = handle; *p; p++) letter |= isalpha((unsigned char)*p) != 0;
    if (!letter) return "bad_handle"; // "--", "__", "42": nobody can tell who is meant
    if (operator_made) return NULL;
    if (listed(g_cfg.sysops, handle)) return "handle_taken";
    if (listed(g_cfg.reserved_handles, handle)) return "handle_reserved";
    if (policy_bot_handle(handle)) return "handle_reserved";
    return NULL;
}

bool policy_bot_handle(const char *handle) {
    char want[HANDLE_MAX + 1], skel[HANDLE_MAX + 1];
    policy_skeleton(handle, want, sizeof want);
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending || !s->bot) continue;
        policy_skeleton(s->handle, skel, sizeof skel);
        if (!strcmp(skel, want)) return true;
    }
    return false;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool common(const char *lower) {
    return g_ncommon && bsearch(&lower, g_common, g_ncommon, sizeof *g_common, cmp_str);
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

// "abcabcab", "aaaaaaaa": the password repeats a unit of 1 to 3 bytes.
static bool repetitive(const char *pw, size_t len) {
    for (size_t unit = 1; unit <= 3 && unit < len; unit++) {
        size_t i = unit;
        while (i < len && pw[i] == pw[i - unit]) i++;
        if (i == len) return true;
    }
    return false;
}

// "12345678", "abcdefgh", "87654321": each byte one up (or down) from the last.
static bool sequential(const char *pw, size_t len) {
    int step = (unsigned char)pw[1] - (unsigned char)pw[0];
    if (step != 1 && step != -1) return false;
    for (size_t i = 2; i < len; i++)
        if ((unsigned char)pw[i] - (unsigned char)pw[i - 1] != step) return false;
    return true;
}

const char *policy_password_problem(const char *handle, const char *password) {
    size_t len = strlen(password);
    if (len > PASSWORD_MAX) return "too_long";
    if (utf8_chars(password) < (size_t)g_cfg.password_min) return "too_short";
    if (repetitive(password, len)) return "repetitive";
    if (sequential(password, len)) return "sequential";
    // the whole password, and its stem without digits and punctuation at the
    // end ("dragon2024!", "alice99"): a derivative of a listed one is as weak
    char lower[PASSWORD_MAX + 1];
    for (size_t i = 0; i <= len; i++) lower[i] = (char)tolower((unsigned char)password[i]);
    size_t stem = len;
    while (stem && (isdigit((unsigned char)lower[stem - 1]) || ispunct((unsigned char)lower[stem - 1]) ||
                    lower[stem - 1] == ' '))
        stem--;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (stem == len || stem == 0) break;
            lower[stem] = 0;
        }
        if (!strcasecmp(lower, handle) || !strcasecmp(lower, g_cfg.name) || !strcmp(lower, "partyline"))
            return "context";
        if (common(lower)) return "common";
    }
    return NULL;
}

void policy_free(void) {
    for (size_t i = 0; i < g_ncommon; i++) free(g_common[i]);
    free(g_common);
    g_common = NULL;
    g_ncommon = 0;
}

int policy_load_passwords(const char *path, char *err, size_t errlen) {
    policy_free();
    if (!path[0]) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "#!comment:", 10)) continue;
        size_t n = strcspn(line, "\r\n");
        if (!n) continue;
        line[n] = 0;
        for (size_t i = 0; i < n; i++) line[i] = (char)tolower((unsigned char)line[i]);
        if (g_ncommon == cap) {
            cap = cap ? cap * 2 : 4096;
            char **grown = (char **)realloc(g_common, cap * sizeof *grown);
            if (!grown) break;
            g_common = grown;
        }
        if (!(g_common[g_ncommon] = strdup(line))) break;
        g_ncommon++;
    }
    fclose(f);
    qsort(g_common, g_ncommon, sizeof *g_common, cmp_str);
    // the list has entries that differ only in case: keep one of each
    size_t out = 0;
    for (size_t i = 0; i < g_ncommon; i++) {
        if (out && !strcmp(g_common[out - 1], g_common[i])) free(g_common[i]);
        else g_common[out++] = g_common[i];
    }
    g_ncommon = out;
    return (int)g_ncommon;
}
