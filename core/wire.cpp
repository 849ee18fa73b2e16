#include "wire.h"

#include <string.h>

#include "board/lifecycle.h"
#include "cluster/cluster.h"
#include "model/up.h"
#include "net/conn.h"
#include "script/bots.h"
#include "script/host.h"

static void hook(const char *name, Session *s, const char *arg, size_t len) {
    if (!strcmp(name, "input")) script_input(s, arg, len);
    else script_hook(name, s, arg);
}

// A bot's port is the script layer's; every other one is a connection.
static void deliver(Port *p) { p->kind == PORT_BOT ? bots_deliver(p) : conn_port_deliver(p); }
static void port_close(Port *p, uint16_t code, const char *reason) {
    p->kind == PORT_BOT ? bots_close(p) : conn_port_close(p, code, reason);
}
static void drop(Port *p) { p->kind == PORT_BOT ? bots_close(p) : conn_port_drop(p); }

static void ended(Session *s) {
    lifecycle_ended(s);
    cluster_ended(s);
    script_session_free(s);
}

void wire_up(void) {
    g_up.deliver = deliver;
    g_up.close = port_close;
    g_up.drop = drop;
    g_up.hook = hook;
    g_up.vet_register = script_vet_register;
    g_up.detached = lifecycle_detached;
    g_up.attached = lifecycle_attached;
    g_up.ended = ended;
}
