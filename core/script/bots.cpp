// Bots: board-side users made by scripts (pl.bot). A bot is a session like
// any other, logged in under its handle with no account: it has a node, is
// listed by /who, can be sent private messages and pages, joins rooms and
// speaks in them, and users ignore it as they ignore anyone. Nobody can
// register its handle or log in as it while it is on (board/policy.cpp).
//
// Its connection is a port of ours (PORT_BOT): every event its session is
// sent is handed to the handler its script gave, as a Lua table, at the end
// of the loop iteration (never inside the call that sent it, so a bot that
// answers cannot recurse into the code that spoke to it). Its own lines
// come back to nobody.
//
// Bots belong to the generation of scripts that made them, as timers do: a
// reload that no longer makes a bot ends it, and its handler is the one the
// running scripts gave. Owns the Bot structs; the sessions are the model's.
#include "script/bots.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lua.hpp>

#include "base/log.h"
#include "board/accounts.h"
#include "board/auth.h"
#include "board/policy.h"
#include "model/msg.h"
#include "model/session.h"
#include "script/api.h"
#include "script/convert.h"
#include "script/host.h"
#include "script/sandbox.h"

#define MAX_BOTS 64
#define EVENTS_PER_TURN 64 // handed to one bot in one loop iteration; the rest wait a turn

struct Bot {
    Port port;     // first: a Port* of a bot is its Bot*
    uint32_t gen;  // the generation that last made it (pl.bot)
    uint32_t prev; // and before that, while a load is under way
    bool due;      // events wait for it
    Bot *next;
};

static_assert(offsetof(Bot, port) == 0, "a Port* of a bot is its Bot*");

static uv_loop_t *g_loop;
static uv_timer_t g_turn;
static bool g_turn_live;
static Bot *g_bots;
static uint32_t g_nbots;
static uint32_t g_gen, g_running; // as in timers.cpp: the generation loading, and the one running meanwhile

static void turn(uv_timer_t *);

static void schedule(void) {
    if (g_turn_live && !uv_is_active((uv_handle_t *)&g_turn)) uv_timer_start(&g_turn, turn, 0, 0);
}

static void bot_free(Bot *b) {
    for (Bot **p = &g_bots; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    g_nbots--;
    if (b->port.session) session_detach(b->port.session, &b->port);
    free(b);
}

void bots_deliver(Port *p) {
    ((Bot *)p)->due = true;
    schedule();
}

void bots_close(Port *p) {
    // not now: the caller may be walking the session's ports
    p->closing = true;
    schedule();
}

// ---------------------------------------------------------------- handing events over

struct Handing {
    Bot *bot;
    Msg *msg;
};

// The handler of s in the running generation (gen.bots[s]) and s, under an
// event, in one protected call: turning the JSON into tables can run out of
// script memory too.
static int hand_protected(lua_State *l) {
    Handing *h = (Handing *)lua_touserdata(l, 1);
    Session *s = h->bot->port.session;
    host_push_generation(l); // ud gen
    if (!lua_istable(l, 2) || lua_getfield(l, 2, "bots") != LUA_TTABLE) return 0; // ud gen bots
    api_push_session(l, s);
    if (lua_rawget(l, 3) != LUA_TFUNCTION || host_disabled(l, 2, 4)) return 0; // ud gen bots fn
    cJSON *ev = msg_parse(h->msg);
    if (!ev) return 0;
    // the bot's own lines and private messages, echoed to their sender, are not news to it
    cJSON *type = cJSON_GetObjectItem(ev, "type"), *from = cJSON_GetObjectItem(ev, "from");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "chat") && cJSON_IsString(from) &&
        !strcasecmp(from->valuestring, s->handle)) {
        cJSON_Delete(ev);
        return 0;
    }
    lua_pushvalue(l, 4); // ud gen bots fn fn
    api_push_session(l, s);
    convert_push_owned(l, ev); // ud gen bots fn fn s event
    if (sandbox_pcall(l, 2, 0, false) != LUA_OK) {
        const char *msg = lua_tostring(l, -1);
        if (!host_storage_error(msg)) {
            Fault f = {"in a bot's handler", msg, NULL, s, 4};
            host_fault(l, 2, &f);
        }
    }
    return 0;
}

static void hand_over(Bot *b) {
    b->due = false;
    uint64_t seq;
    Msg *m;
    for (int n = 0; n < EVENTS_PER_TURN && b->port.session && (m = port_next(&b->port, &seq)); n++) {
        if (m->flags & MSG_SILENT) continue; // hello, auth, typing, input modes: nothing a bot answers
        msg_ref(m);
        Handing h = {b, m};
        host_protected(hand_protected, &h, "in a bot's handler");
        msg_unref(m);
    }
    if (b->port.session && b->port.cursor < session_next_seq(b->port.session)) {
        b->due = true; // more than one turn's worth: the rest next turn
        schedule();
    }
}

static void turn(uv_timer_t *) {
    // a handler may make or end bots: walk a list of the ones due now
    Bot *due[MAX_BOTS];
    int n = 0;
    for (Bot *b = g_bots; b && n < MAX_BOTS; b = b->next)
        if (b->due || b->port.closing) due[n++] = b;
    for (int i = 0; i < n; i++) {
        bool still = false;
        for (Bot *b = g_bots; b; b = b->next) still |= b == due[i];
        if (!still) continue;
        if (due[i]->port.closing) bot_free(due[i]);
        else hand_over(due[i]);
    }
}

// ---------------------------------------------------------------- pl.bot

static Bot *bot_of(Session *s) {
    for (Bot *b = g_bots; b; b = b->next)
        if (b->port.session == s) return b;
    return NULL;
}

static void taken_said(int rc, void *ud) { *(int *)ud = rc; }

// pl.bot(handle, fn): the bot with that handle, made when there is none;
// fn(bot, event) is handed every event it is sent. Returns its session.

static int l_bot(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    luaL_checktype(l, 2, LUA_TFUNCTION);
    Session *s = NULL;
    for (uint32_t node = 1; node <= session_max_node() && !s; node++) {
        Session *t = session_by_node(node);
        if (t && !t->ending && t->handle[0] && !strcasecmp(t->handle, h)) {
            if (!t->bot) return luaL_error(l, "pl.bot: %s is logged in as a user", h);
            s = t;
        }
    }
    Bot *b = s ? bot_of(s) : NULL;
    if (!b) {
        const char *why = policy_handle_problem(h, true); // its form; reserved names are the sysop's to give bots
        if (why) return luaL_error(l, "pl.bot: %s is not a handle (%s)", h, why);
        int taken = -1; // the accounts answer scripts at once; none is an error
        accounts_at_once(true);
        account_taken(h, taken_said, &taken);
        accounts_at_once(false);
        if (taken != 0) return luaL_error(l, taken < 0 ? "pl.bot: storage unavailable" : "pl.bot: %s is a user's handle", h);
        if (g_nbots >= MAX_BOTS) return luaL_error(l, "pl.bot: too many bots (%d)", MAX_BOTS);
        b = (Bot *)calloc(1, sizeof *b);
        if (!b) return luaL_error(l, "out of memory");
        s = session_new();
        if (!s) {
            free(b);
            return luaL_error(l, "out of memory");
        }
        snprintf(s->handle, sizeof s->handle, "%s", h);
        snprintf(s->addr, sizeof s->addr, "bot");
        s->bot = true;
        s->script_ref = script_session_new(s);
        b->port.kind = PORT_BOT;
        b->port.id = port_next_id();
        snprintf(b->port.addr, sizeof b->port.addr, "bot");
        b->prev = b->gen = g_gen;
        b->next = g_bots;
        g_bots = b;
        g_nbots++;
        session_attach(s, &b->port, session_next_seq(s));
        log_event(LOG_INFO, "bot", s->node, NULL, "bot %s is on", s->handle);
    } else if (b->gen != g_gen) {
        b->prev = b->gen;
        b->gen = g_gen;
    }
    // its handler, in the generation that made it
    if (lua_getfield(l, lua_upvalueindex(1), "bots") != LUA_TTABLE) { // h fn bots|nil
        lua_pop(l, 1);
        lua_newtable(l);
        lua_pushvalue(l, -1);
        lua_setfield(l, lua_upvalueindex(1), "bots");
    }
    api_push_session(l, s);
    lua_pushvalue(l, 2);
    lua_rawset(l, -3);
    api_push_session(l, s);
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"bot", l_bot},
    {NULL, NULL},
};

void api_bots_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}

// ---------------------------------------------------------------- generations, start, stop

static void end_bot(Bot *b, const char *why) {
    Session *s = b->port.session;
    if (!s || s->ending) return;
    log_event(LOG_INFO, "bot", s->node, NULL, "bot %s is off: %s", s->handle, why);
    session_end(s); // the scripts hear session_end; its port closes (bots_close)
}

void bots_begin_generation(void) {
    g_running = g_gen;
    g_gen++;
}

void bots_end_generation(bool switched) {
    Bot *list[MAX_BOTS];
    int n = 0;
    for (Bot *b = g_bots; b && n < MAX_BOTS; b = b->next) list[n++] = b;
    for (int i = 0; i < n; i++) {
        Bot *b = list[i];
        if (switched && b->gen != g_gen) end_bot(b, "the scripts no longer make it");
        else if (!switched && b->gen == g_gen) {
            if (b->prev == g_gen) end_bot(b, "made by a load of the scripts that failed");
            else b->gen = b->prev; // the running scripts keep it as it was
        }
    }
    if (!switched) g_gen = g_running;
}

void bots_init(uv_loop_t *loop) {
    g_loop = loop;
    uv_timer_init(loop, &g_turn);
    g_turn_live = true;
}

void bots_stop(void) {
    while (g_bots) bot_free(g_bots);
    if (g_turn_live) {
        g_turn_live = false;
        uv_close((uv_handle_t *)&g_turn, NULL);
    }
}
