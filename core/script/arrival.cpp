// A new telnet caller's terminal says what it is a round trip or two after
// the connection opens (TERMINAL-TYPE, NAWS), and the scripts' connect hook
// draws the welcome screen for it (colours, width). So the connect hook of
// a session whose terminal has not yet told waits for it, up to WAIT_MS;
// the caller's first line, if it comes sooner, runs the hook first. The
// web page tells at once. Owns the list of sessions waiting and its timer.
#include "script/arrival.h"

#include <string.h>

#include "base/text.h"
#include "model/session.h"
#include "script/host.h"

#define WAIT_MS 500
#define WAITING_MAX 256 // past it a new caller waits for nothing

static struct {
    SessionRef ref;
    uint64_t until;
} g_waiting[WAITING_MAX];
static uint32_t g_nwaiting;
static uv_timer_t g_timer;
static bool g_live;

static bool told(const Session *s) { return !s->ports || s->ports->term.told; }

static void take(uint32_t i) { g_waiting[i] = g_waiting[--g_nwaiting]; }

static void check(uv_timer_t *) {
    uint64_t now = text_now_ms();
    for (uint32_t i = 0; i < g_nwaiting;) {
        Session *s = session_deref(g_waiting[i].ref);
        if (s && !told(s) && now < g_waiting[i].until) {
            i++;
            continue;
        }
        take(i);
        if (s) script_hook_now("connect", s, NULL); // may end sessions: the list is looked at afresh
        i = 0;
    }
    if (!g_nwaiting) uv_timer_stop(&g_timer);
}

bool arrival_wait(Session *s) {
    if (!g_live || told(s) || g_nwaiting >= WAITING_MAX) return false;
    g_waiting[g_nwaiting].ref = session_ref(s);
    g_waiting[g_nwaiting++].until = text_now_ms() + WAIT_MS;
    if (!uv_is_active((uv_handle_t *)&g_timer)) uv_timer_start(&g_timer, check, 20, 20);
    return true;
}

void arrival_now(Session *s) {
    for (uint32_t i = 0; i < g_nwaiting; i++)
        if (g_waiting[i].ref.node == s->node && g_waiting[i].ref.serial == s->serial) {
            take(i);
            script_hook_now("connect", s, NULL);
            return;
        }
}

void arrival_init(uv_loop_t *loop) {
    uv_timer_init(loop, &g_timer);
    g_live = true;
}

void arrival_stop(void) {
    g_nwaiting = 0;
    if (!g_live) return;
    g_live = false;
    uv_close((uv_handle_t *)&g_timer, NULL);
}
