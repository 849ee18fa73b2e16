#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static LogLevel g_level = LOG_INFO;
static const char *g_names[] = {"debug", "info", "warn", "error"};

void log_set_level(LogLevel level) { g_level = level; }

LogLevel log_level_from_name(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, g_names[i]) == 0) return (LogLevel)i;
    return LOG_INFO;
}

void logf(LogLevel level, const char *fmt, ...) {
    if (level < g_level) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    // one fprintf per line so lines from a crash or a pipe never interleave
    fprintf(stderr, "%s.%03dZ %-5s %s\n", stamp, (int)(tv.tv_usec / 1000), g_names[level], line);
}
