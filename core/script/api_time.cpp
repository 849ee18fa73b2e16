// Time for scripts: pl.format_time (a time in milliseconds, as one time
// zone reads it), pl.parse_time (the protocol's ISO 8601 back to
// milliseconds) and pl.valid_zone. Zones are the system's tz database
// (/usr/share/zoneinfo: "Europe/Berlin", "America/New_York", "UTC").
//
// The C library knows one zone at a time, the process's TZ. To read a time
// in another, TZ is set to it for the one call and put back at once; the
// loop is one thread and nothing else here reads the local time meanwhile
// (the log writes UTC). Keeps no state.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lua.hpp>

#include "base/text.h"
#include "script/api.h"

#define ZONE_MAX 64

// Whether zone names a zone of the tz database: its form (no way out of the
// folder), then its file.
static bool zone_ok(const char *zone) {
    size_t n = strlen(zone);
    if (!n || n > ZONE_MAX || zone[0] == '/' || zone[0] == '.' || strstr(zone, "..")) return false;
    for (const char *p = zone; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("/_-+", *p)))
            return false;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", zone);
    return access(path, R_OK) == 0;
}

// The broken-down time of t in zone (NULL: the process's own).
static void local_in(time_t t, const char *zone, struct tm *tm) {
    if (!zone) {
        localtime_r(&t, tm);
        return;
    }
    const char *was = getenv("TZ");
    char saved[256] = "";
    bool had = was != NULL;
    if (had) snprintf(saved, sizeof saved, "%s", was);
    setenv("TZ", zone, 1);
    tzset();
    localtime_r(&t, tm);
    if (had) setenv("TZ", saved, 1);
    else unsetenv("TZ");
    tzset();
}

// pl.format_time([ms[, fmt[, zone]]]): the time (default now) as strftime
// writes it (default "%Y-%m-%d %H:%M %Z") in zone (default the board's).
static int l_format_time(lua_State *l) {
    lua_Integer ms = lua_isnoneornil(l, 1) ? (lua_Integer)text_now_ms() : luaL_checkinteger(l, 1);
    const char *fmt = luaL_optstring(l, 2, "%Y-%m-%d %H:%M %Z");
    const char *zone = luaL_optstring(l, 3, NULL);
    if (zone && !zone_ok(zone)) return luaL_error(l, "unknown time zone '%s'", zone);
    luaL_argcheck(l, strlen(fmt) < 200, 2, "format too long");
    struct tm tm;
    local_in((time_t)(ms / 1000 - (ms % 1000 < 0)), zone, &tm);
    char out[512];
    size_t n = fmt[0] ? strftime(out, sizeof out, fmt, &tm) : 0;
    lua_pushlstring(l, out, n);
    return 1;
}

// pl.parse_time(iso): milliseconds since the epoch of "2026-12-04T18:53:50.591Z"
// (the protocol's times, seconds' fraction and Z optional), or nil.
static int l_parse_time(lua_State *l) {
    const char *s = luaL_checkstring(l, 1);
    struct tm tm = {};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) {
        lua_pushnil(l);
        return 1;
    }
    long frac = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3) frac = frac * 10 + (*rest - '0');
        for (; digits < 3 && digits > 0; digits++) frac *= 10;
    }
    if (*rest == 'Z') rest++;
    if (*rest) {
        lua_pushnil(l);
        return 1;
    }
    time_t t = timegm(&tm);
    lua_pushinteger(l, (lua_Integer)t * 1000 + frac);
    return 1;
}

static int l_valid_zone(lua_State *l) {
    lua_pushboolean(l, zone_ok(luaL_checkstring(l, 1)));
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"format_time", l_format_time},
    {"parse_time", l_parse_time},
    {"valid_zone", l_valid_zone},
    {NULL, NULL},
};

void api_time_register(lua_State *l) { luaL_setfuncs(l, FUNCS, 0); }
