// Logging: one line per event, as a JSON object (default) or as text.
// Every line has a timestamp, a level and an event name; node and address
// when the event concerns one. Passwords and tokens are never logged.
#pragma once
#include <stdint.h>

// The names of the levels are in base/config_keys.h (log_level), in this order.
enum LogLevel { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(LogLevel level);
void log_set_json(bool json);
// Sends log lines to a file instead of stderr; returns -1 if it cannot open it.
int log_open_file(const char *path);

// node 0 and addr NULL mean "not about a node / an address".
void log_event(LogLevel level, const char *event, uint32_t node, const char *addr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

// Events that are about the server as a whole.
#define log_info(ev, ...) log_event(LOG_INFO, ev, 0, NULL, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, 0, NULL, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, 0, NULL, __VA_ARGS__)
