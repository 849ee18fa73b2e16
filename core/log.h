// Logging to stderr: one line per event, level-filtered.
#pragma once

enum LogLevel { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(LogLevel level);
LogLevel log_level_from_name(const char *name);
void logf(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) logf(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) logf(LOG_INFO, __VA_ARGS__)
#define log_warn(...) logf(LOG_WARN, __VA_ARGS__)
#define log_error(...) logf(LOG_ERROR, __VA_ARGS__)
