#include "model/room.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/roster.h"
#include "model/session.h"

static Room *g_rooms;
static uint32_t g_nrooms;

bool room_name_normalize(const char *in, char out[ROOM_NAME_MAX + 1]) {
    size_t n = strlen(in);
    if (n < 1 || n > ROOM_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
        out[i] = (char)tolower(c);
    }
    out[n] = 0;
    return true;
}

Room *room_find(const char *name) {
    char key[ROOM_NAME_MAX + 1];
    if (!room_name_normalize(name, key)) return NULL;
    for (Room *r = g_rooms; r; r = r->next)
        if (!strcmp(r->name, key)) return r;
    return NULL;
}

Room *room_first(void) { return g_rooms; }
uint32_t room_total(void) { return g_nrooms; }

static void room_free(Room *r) {
    for (Room **p = &g_rooms; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    free(r->members);
    free(r);
    g_nrooms--;
}

void room_leave(Session *s) {
    Room *r = s->room;
    if (!r) return;
    // swap-remove keeps leave O(1); members are not ordered
    uint32_t i = s->room_slot;
    if (s->proc) r->nremote--;
    Session *last = r->members[--r->count];
    r->members[i] = last;
    last->room_slot = i;
    s->room = NULL;
    roster_room(r);
    if (r->count == 0) room_free(r);
    if (!s->ending) session_shown(s);
}

Room *room_join(Session *s, const char *name) {
    char key[ROOM_NAME_MAX + 1];
    if (!room_name_normalize(name, key)) return NULL;
    if (s->room && !strcmp(s->room->name, key)) return s->room;
    Room *r = room_find(key);
    if (!r) {
        r = (Room *)calloc(1, sizeof *r);
        if (!r) return NULL;
        memcpy(r->name, key, sizeof key);
        r->next = g_rooms;
        g_rooms = r;
        g_nrooms++;
    }
    if (r->count == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 8;
        Session **m = (Session **)realloc(r->members, cap * sizeof *m);
        if (!m) {
            if (r->count == 0) room_free(r);
            return NULL;
        }
        r->members = m;
        r->cap = cap;
    }
    room_leave(s);
    s->room = r;
    s->room_slot = r->count;
    r->members[r->count++] = s;
    if (s->proc) r->nremote++;
    roster_room(r);
    session_shown(s);
    return r;
}
