#include "model/route.h"

#include "model/msg.h"
#include "model/room.h"
#include "model/session.h"

void route_session(Session *s, Msg *m) { session_push(s, m); }

void route_room(Room *r, Msg *m, const Session *sender) {
    bool typing = m->flags & MSG_TYPING;
    for (uint32_t i = 0; i < r->count; i++) {
        Session *s = r->members[i];
        if ((typing && s == sender) || !session_hears(s, sender)) continue;
        session_push(s, m);
    }
}

uint32_t route_all(Msg *m) {
    uint32_t n = 0;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s && !s->ending && s->handle[0]) {
            session_push(s, m);
            n++;
        }
    }
    return n;
}
