#include "wire.h"

#include <string.h>

#include "board/lifecycle.h"
#include "cluster/cluster.h"
#include "model/up.h"
#include "net/conn.h"
#include "script/host.h"

static void hook(const char *name, Session *s, const char *arg, size_t len) {
    if (!strcmp(name, "input")) script_input(s, arg, len);
    else script_hook(name, s, arg);
}

static void ended(Session *s) {
    lifecycle_ended(s);
    cluster_ended(s);
    script_session_free(s);
}

void wire_up(void) {
    g_up.deliver = conn_port_deliver;
    g_up.close = conn_port_close;
    g_up.drop = conn_port_drop;
    g_up.hook = hook;
    g_up.detached = lifecycle_detached;
    g_up.attached = lifecycle_attached;
    g_up.ended = ended;
}
