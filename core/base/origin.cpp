#include "base/origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

// The authority (host[:port]) of an http or https origin, or NULL: an
// origin is a scheme, "://" and an authority, with no path.
static const char *authority(const char *o, size_t len, size_t *alen) {
    size_t s = 0;
    if (len > 7 && !strncasecmp(o, "http://", 7)) s = 7;
    else if (len > 8 && !strncasecmp(o, "https://", 8)) s = 8;
    else return NULL;
    for (size_t i = s; i < len; i++)
        if (o[i] == '/' || o[i] == '?' || o[i] == '#' || o[i] == '@' || o[i] <= ' ') return NULL;
    *alen = len - s;
    return o + s;
}

static bool sep(char ch) { return ch == ',' || ch == ' ' || ch == '\t'; }

// The list's next entry from *p on (its length in *n), or NULL at the end.
static const char *next_entry(const char **p, size_t *n) {
    const char *s = *p;
    while (*s && sep(*s)) s++;
    const char *e = s;
    while (*e && !sep(*e)) e++;
    *p = e;
    *n = (size_t)(e - s);
    return e > s ? s : NULL;
}

static bool is_any(const char *e, size_t n) { return n == 1 && *e == '*'; }

bool origin_list_valid(const char *list, char *why, size_t whylen) {
    const char *p = list, *e;
    size_t n, al;
    while ((e = next_entry(&p, &n)))
        if (!is_any(e, n) && !authority(e, n, &al)) {
            snprintf(why, whylen, "'%.*s' is not an origin (like https://bbs.example.org, or *)", (int)n, e);
            return false;
        }
    return true;
}

bool origin_allowed(const char *list, const char *origin, const char *host) {
    size_t ol = strlen(origin), al, n;
    const char *a = authority(origin, ol, &al);
    if (a && host && strlen(host) == al && !strncasecmp(a, host, al)) return true; // the board's own page
    const char *p = list, *e;
    while ((e = next_entry(&p, &n)))
        if (is_any(e, n) || (n == ol && !strncasecmp(e, origin, n))) return true;
    return false;
}
