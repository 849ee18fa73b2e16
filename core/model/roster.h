// The roster: who is online and where, pushed as `presence` events to the
// connections that asked for them (a web page's who and rooms panels), so
// nobody has to poll with /who and /rooms.
//
// Cost is O(changes), never O(users x changes): a change only marks its
// session (or room) due; once per `presence_ms` the due ones are gathered
// into one delta, encoded once, and that one Msg is pushed to every
// subscribed session. A subscriber that comes in (a login, a resume, a
// page that asks) gets the full list, built at most once per window and
// shared by all who come in during it. Sessions of other processes are in
// the node table as replicas (cluster/presence.cpp), so every process tells
// its own pages about the whole board, and nothing extra crosses the bus.
//
// What a page is told of a user: node, handle, room, activity and service
// (the scripts' words, carried as they are), transport, and idle time. Idle
// time is told when it matters: a record goes out again when a user types
// after a minute or more without input, not for every line.
#pragma once
#include <stdint.h>
#include <uv.h>

struct Session;
struct Room;

#define ROSTER_IDLE_MS 60000 // input after this long without any is told (the page ages idle time itself)

void roster_start(uv_loop_t *loop);
void roster_stop(void);
// What a page shows of s may have changed (login, room, activity, input
// after a while): local sessions and replicas alike.
void roster_changed(Session *s);
// s is ending: its node is gone from the list.
void roster_ended(Session *s);
// r's count changed; it may have just been made, or be about to go (count 0).
void roster_room(Room *r);
// s has a port that asks for presence: it is sent the full list now, when
// it is logged in (a shared event; its other ports that asked get it too).
void roster_subscribe(Session *s);
// Whether any of s's ports asked for presence.
bool roster_wanted(const Session *s);
// Deltas sent since start (each one's `v`).
uint64_t roster_version(void);
