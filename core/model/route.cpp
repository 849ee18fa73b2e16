#include "model/route.h"

#include "model/msg.h"
#include "model/room.h"
#include "model/session.h"
#include "model/up.h"

void route_session(Session *s, Msg *m) { session_push(s, m); }

// The room's members here; sender (when local) or sender_handle (when the
// line came from another process) decides who ignores it.
static void deliver_room(Room *r, Msg *m, const Session *sender, const char *sender_handle) {
    bool typing = m->flags & MSG_TYPING;
    for (uint32_t i = 0; i < r->count; i++) {
        Session *s = r->members[i];
        if (s->proc || (typing && s == sender)) continue;
        if (s->nignore && sender_handle && session_ignores(s, sender_handle)) continue;
        session_push(s, m);
    }
}

void route_room(Room *r, Msg *m, const Session *sender) {
    deliver_room(r, m, sender, sender && sender->handle[0] ? sender->handle : NULL);
    // always, not only when the room has members elsewhere: one who joined
    // there a moment ago may not be known here yet
    if (g_up.bus_room) g_up.bus_room(r, m, sender);
}

void route_room_here(Room *r, Msg *m, const char *sender_handle) {
    deliver_room(r, m, NULL, sender_handle && sender_handle[0] ? sender_handle : NULL);
}

// Counts everyone logged in (here and elsewhere), or only those here.
static uint32_t deliver_all(Msg *m, bool count_remote) {
    uint32_t n = 0;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending || !s->handle[0]) continue;
        if (!s->proc) session_push(s, m);
        if (!s->proc || count_remote) n++;
    }
    return n;
}

uint32_t route_all(Msg *m) {
    uint32_t n = deliver_all(m, true);
    if (g_up.bus_all) g_up.bus_all(m);
    return n;
}

uint32_t route_all_here(Msg *m) { return deliver_all(m, false); }
