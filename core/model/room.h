// Rooms: named sets of sessions. Names are case-insensitive (kept lowercase).
#pragma once
#include <stdint.h>

struct Session;
struct Msg;

#define ROOM_NAME_MAX 24

struct Room {
    char name[ROOM_NAME_MAX + 1];
    Session **members;
    uint32_t count, cap;
    uint32_t nremote; // members that live in other processes (Session.proc)
    Room *next;
    bool roster_due;      // model/roster: its count changed in this window
    uint32_t roster_slot;
};

// Lowercases and checks a room name (1-24 of letters, digits, _ - .).
bool room_name_normalize(const char *in, char out[ROOM_NAME_MAX + 1]);
Room *room_find(const char *name);
// Moves s into the room (leaving its old one). Returns NULL for a bad name.
Room *room_join(Session *s, const char *name);
void room_leave(Session *s);
Room *room_first(void);
uint32_t room_total(void);
