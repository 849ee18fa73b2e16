// Delivery: every event that leaves for more than the session it was made
// in goes through here (a room's line, a broadcast, typing, a message to a
// session the sender found by handle or node). This is the one seam where a
// bus between processes goes in: today each function delivers to the local
// sessions; with a bus it also publishes, encoded once, per line and never
// per recipient. Replies to one session's own request (a prompt, an error)
// do not come here: session_send is for those.
#pragma once
#include <stdint.h>

struct Msg;
struct Room;
struct Session;

// To one session, wherever it is (a private message, a page, a mail notice).
void route_session(Session *s, Msg *m);
// To every member of r but those who ignore sender (when given). Typing
// (MSG_TYPING) never goes back to its sender. The caller keeps its reference.
void route_room(Room *r, Msg *m, const Session *sender);
// To every logged-in session, on every process; returns how many.
uint32_t route_all(Msg *m);

// What another process published, for the sessions that live here: a room's
// event (sender_handle: who said it, for ignore lists), or one for everyone.
void route_room_here(Room *r, Msg *m, const char *sender_handle);
uint32_t route_all_here(Msg *m);
