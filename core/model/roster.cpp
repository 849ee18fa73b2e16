#include "model/roster.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/text.h"
#include "model/event.h"
#include "model/msg.h"
#include "model/room.h"
#include "model/session.h"

// A room whose count changed in this window. The Room goes away when its
// last member leaves, so the entry keeps the name and drops the pointer.
struct RoomDue {
    char name[ROOM_NAME_MAX + 1];
    Room *room; // NULL once it is gone
};

static uv_timer_t g_timer;
static bool g_on;
static uint64_t g_v;             // the last delta's number
static SessionRef *g_due;        // sessions that changed in this window
static uint32_t g_ndue, g_capdue;
static uint32_t *g_gone;         // nodes of told sessions that ended in it
static uint32_t g_ngone, g_capgone;
static RoomDue *g_rooms;
static uint32_t g_nrooms, g_caprooms;
static Msg *g_full;              // the full list, shared until the next delta

static bool reserve(void **p, uint32_t *cap, uint32_t n, size_t size) {
    if (n < *cap) return true;
    uint32_t c = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, c * size);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static void flush(uv_timer_t *);

// The window opens with its first change and closes presence_ms later.
static void arm(void) {
    if (!uv_is_active((uv_handle_t *)&g_timer)) uv_timer_start(&g_timer, flush, (uint64_t)g_cfg.presence_ms, 0);
}

static bool listed(const Session *s) { return !s->ending && s->handle[0]; }

static const char *transport(const Session *s) {
    if (s->bot) return "bot";
    // a detached web session is still a web user's
    PortKind k = s->proc ? s->remote_kind : s->ports ? s->ports->kind : PORT_WEB;
    return k == PORT_TELNET ? "telnet" : k == PORT_BOT ? "bot" : "websocket";
}

static uint32_t fnv(uint32_t h, const char *s) {
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return (h ^ 0xffu) * 16777619u; // a separator: "ab"+"c" is not "a"+"bc"
}

// What a page shows of s, as one number: a record goes out only when it
// moved (or idle time needs telling).
static uint32_t shown_hash(const Session *s) {
    uint32_t h = 2166136261u;
    h = fnv(h, s->handle);
    h = fnv(h, s->room ? s->room->name : "");
    h = fnv(h, s->activity);
    h = fnv(h, s->service);
    h = fnv(h, transport(s));
    return h;
}

static cJSON *record(const Session *s, uint64_t now) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "node", s->node);
    cJSON_AddStringToObject(u, "handle", s->handle);
    if (s->room) cJSON_AddStringToObject(u, "room", s->room->name);
    cJSON_AddStringToObject(u, "activity", s->activity);
    cJSON_AddStringToObject(u, "service", s->service);
    cJSON_AddStringToObject(u, "transport", transport(s));
    cJSON_AddNumberToObject(u, "idle_s", now > s->last_input_ms ? (double)((now - s->last_input_ms) / 1000) : 0);
    return u;
}

static cJSON *room_record(const char *name, uint32_t count) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddNumberToObject(r, "count", count);
    return r;
}

static Msg *finish(cJSON *ev) {
    Msg *m = event_encode(ev);
    if (m) m->flags |= MSG_PRESENCE | MSG_SILENT;
    return m;
}

// The whole board as it is now, labelled with the last delta's number: the
// next delta holds every change since that one, so applying it on top is
// right however far into the window this was built (records are whole, and
// applying one twice changes nothing).
static Msg *full_list(void) {
    if (g_full) return g_full;
    cJSON *ev = event_new("presence");
    cJSON_AddTrueToObject(ev, "full");
    cJSON_AddNumberToObject(ev, "v", (double)g_v);
    cJSON *users = cJSON_AddArrayToObject(ev, "users");
    uint64_t now = text_now_ms();
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || !listed(s)) continue;
        cJSON_AddItemToArray(users, record(s, now));
        s->roster_told = true; // someone has it now: its end must be told
    }
    cJSON *rooms = cJSON_AddArrayToObject(ev, "rooms");
    for (Room *r = room_first(); r; r = r->next) cJSON_AddItemToArray(rooms, room_record(r->name, r->count));
    g_full = finish(ev);
    return g_full;
}

bool roster_wanted(const Session *s) {
    for (const Port *p = s->ports; p; p = p->next)
        if (p->presence) return true;
    return false;
}

void roster_subscribe(Session *s) {
    if (!g_on || s->proc || !listed(s) || !roster_wanted(s)) return;
    Msg *m = full_list();
    if (m) session_push(s, m);
}

void roster_changed(Session *s) {
    if (!g_on || !listed(s) || s->roster_due) return;
    // the first change with a handle is the login: a page that asked is sent the list
    if (!s->proc && !s->roster_told && roster_wanted(s)) roster_subscribe(s);
    if (!reserve((void **)&g_due, &g_capdue, g_ndue, sizeof *g_due)) return;
    g_due[g_ndue++] = session_ref(s);
    s->roster_due = true;
    arm();
}

void roster_ended(Session *s) {
    if (!g_on || !s->roster_told) return; // nobody heard of it
    if (!reserve((void **)&g_gone, &g_capgone, g_ngone, sizeof *g_gone)) return;
    g_gone[g_ngone++] = s->node;
    arm();
}

void roster_room(Room *r) {
    if (!g_on) return;
    if (r->roster_due) {
        if (r->count == 0 && r->roster_slot < g_nrooms && g_rooms[r->roster_slot].room == r)
            g_rooms[r->roster_slot].room = NULL; // about to be freed
        return;
    }
    if (!reserve((void **)&g_rooms, &g_caprooms, g_nrooms, sizeof *g_rooms)) return;
    RoomDue *d = &g_rooms[g_nrooms];
    memcpy(d->name, r->name, sizeof d->name);
    d->room = r->count ? r : NULL;
    r->roster_due = true;
    r->roster_slot = g_nrooms++;
    arm();
}

static int by_name(const void *a, const void *b) {
    const RoomDue *x = (const RoomDue *)a, *y = (const RoomDue *)b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (x->room != NULL) - (y->room != NULL); // the live one last: it wins
}

static void flush(uv_timer_t *) {
    if (!g_on) return;
    uint64_t now = text_now_ms();
    cJSON *users = NULL, *gone = NULL, *rooms = NULL;
    for (uint32_t i = 0; i < g_ndue; i++) {
        Session *s = session_deref(g_due[i]);
        if (!s) continue;
        s->roster_due = false;
        if (!listed(s)) continue;
        uint32_t h = shown_hash(s);
        bool idle_news = s->last_input_ms >= s->roster_input_ms + ROSTER_IDLE_MS;
        if (s->roster_told && h == s->roster_hash && !idle_news) continue;
        if (!users) users = cJSON_CreateArray();
        cJSON_AddItemToArray(users, record(s, now));
        s->roster_told = true;
        s->roster_hash = h;
        s->roster_input_ms = s->last_input_ms;
    }
    g_ndue = 0;
    for (uint32_t i = 0; i < g_ngone; i++) {
        if (!gone) gone = cJSON_CreateArray();
        cJSON_AddItemToArray(gone, cJSON_CreateNumber(g_gone[i]));
    }
    g_ngone = 0;
    // a room emptied and made again in one window has two entries: one record
    if (g_nrooms > 1) qsort(g_rooms, g_nrooms, sizeof *g_rooms, by_name);
    for (uint32_t i = 0; i < g_nrooms; i++) {
        RoomDue *d = &g_rooms[i];
        if (d->room) d->room->roster_due = false;
        if (i + 1 < g_nrooms && !strcmp(d->name, g_rooms[i + 1].name)) continue;
        if (!rooms) rooms = cJSON_CreateArray();
        cJSON_AddItemToArray(rooms, room_record(d->name, d->room ? d->room->count : 0));
    }
    g_nrooms = 0;
    if (!users && !gone && !rooms) return; // what changed came back as it was
    cJSON *ev = event_new("presence");
    cJSON_AddNumberToObject(ev, "v", (double)++g_v);
    if (gone) cJSON_AddItemToObject(ev, "gone", gone); // before users: a node may be someone else's now
    if (users) cJSON_AddItemToObject(ev, "users", users);
    if (rooms) cJSON_AddItemToObject(ev, "rooms", rooms);
    Msg *m = finish(ev);
    if (g_full) msg_unref(g_full);
    g_full = NULL;
    if (!m) return;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (s && !s->proc && listed(s) && roster_wanted(s)) session_push(s, m);
    }
    msg_unref(m);
}

uint64_t roster_version(void) { return g_v; }

void roster_start(uv_loop_t *loop) {
    uv_timer_init(loop, &g_timer);
    g_on = true;
}

void roster_stop(void) {
    if (!g_on) return;
    g_on = false;
    uv_close((uv_handle_t *)&g_timer, NULL);
    free(g_due);
    free(g_gone);
    free(g_rooms);
    g_due = NULL;
    g_gone = NULL;
    g_rooms = NULL;
    g_ndue = g_capdue = g_ngone = g_capgone = g_nrooms = g_caprooms = 0;
    if (g_full) msg_unref(g_full);
    g_full = NULL;
}
