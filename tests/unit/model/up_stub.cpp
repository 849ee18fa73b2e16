#include "model/up_stub.h"

#include <stdio.h>
#include <string.h>

#include "model/up.h"

UpLog g_uplog;

static void deliver(Port *p) {
    g_uplog.delivered++;
    g_uplog.last_port = p;
}
static void close_port(Port *p, uint16_t code, const char *) {
    g_uplog.closed++;
    g_uplog.close_code = code;
    g_uplog.last_port = p;
}
static void drop(Port *p) {
    g_uplog.dropped++;
    g_uplog.last_port = p;
}
static void hook(const char *name, Session *s, const char *, size_t) {
    g_uplog.hooks++;
    g_uplog.last_session = s;
    snprintf(g_uplog.last_hook, sizeof g_uplog.last_hook, "%s", name);
}
static void detached(Session *s, bool can_return) {
    g_uplog.detached++;
    g_uplog.can_return = can_return;
    g_uplog.last_session = s;
}
static void attached(Session *s) {
    g_uplog.attached++;
    g_uplog.last_session = s;
}
static void ended(Session *s) {
    g_uplog.ended++;
    g_uplog.last_session = s;
}

void up_stub_install(void) {
    memset(&g_uplog, 0, sizeof g_uplog);
    g_up.deliver = deliver;
    g_up.close = close_port;
    g_up.drop = drop;
    g_up.hook = hook;
    g_up.detached = detached;
    g_up.attached = attached;
    g_up.ended = ended;
}
