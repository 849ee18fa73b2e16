#include "base/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"

static LogLevel g_level = LOG_INFO;
static bool g_json = true;
static FILE *g_out;
static const char *g_names[] = {"debug", "info", "warn", "error"};

void log_set_level(LogLevel level) { g_level = level; }
void log_set_json(bool json) { g_json = json; }

int log_open_file(const char *path) {
    FILE *f = fopen(path, "a");
    if (!f) return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    g_out = f;
    return 0;
}

void log_event(LogLevel level, const char *event, uint32_t node, const char *addr, const char *fmt, ...) {
    if (level < g_level) return;
    FILE *out = g_out ? g_out : stderr;
    char ts[32], msg[2048];
    text_iso_now(ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!g_json) {
        char where[80] = "";
        if (node) snprintf(where, sizeof where, " node=%u", node);
        if (addr) snprintf(where + strlen(where), sizeof where - strlen(where), " addr=%s", addr);
        fprintf(out, "%s %-5s %s%s %s\n", ts, g_names[level], event, where, msg);
        return;
    }
    // cJSON escapes whatever a message holds (user handles, script errors)
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", ts);
    cJSON_AddStringToObject(o, "level", g_names[level]);
    cJSON_AddStringToObject(o, "event", event);
    if (node) cJSON_AddNumberToObject(o, "node", node);
    if (addr) cJSON_AddStringToObject(o, "addr", addr);
    cJSON_AddStringToObject(o, "msg", msg);
    char *line = cJSON_PrintUnformatted(o);
    // one write per line, so lines never interleave
    if (line) fprintf(out, "%s\n", line);
    cJSON_free(line);
    cJSON_Delete(o);
}
