#include "script/lua_host.h"
#include "model/up.h"
#include "board/lifecycle.h"
#include "model/route.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <lua.hpp>

#include "board/accounts.h"
#include "board/addrban.h"
#include "board/auth.h"
#include "base/buf.h"
#include "base/config.h"
#include "model/event.h"
#include "base/log.h"
#include "board/policy.h"
#include "model/room.h"
#include "model/session.h"
#include "model/spy.h"
#include "base/stats.h"
#include "script/store.h"
#include "base/text.h"
#include "base/version.h"

// Each load of the scripts runs in a fresh environment (a "generation") whose
// `pl` table the scripts fill with hooks, commands and services. A reload
// builds a whole new generation and switches to it only when every file has
// loaded, so a broken file leaves the running generation untouched.
//
// Session tables are owned here, not by any generation: what scripts keep in
// them (the service a user is in, who to /r) survives every reload.
static lua_State *L;
static int g_env_ref = LUA_NOREF;   // the running generation's environment
static int g_owner_ref = LUA_NOREF; // weak map: session table -> Session*
static int g_meta_ref = LUA_NOREF;  // metatable of session tables
static int g_safe_ref = LUA_NOREF;  // the standard library scripts may use
static uv_loop_t *g_loop;

// ---------------------------------------------------------------- limits

// Memory: every allocation of the Lua state goes through here, so a script
// that allocates without end gets a Lua memory error instead of the server's
// memory.
static size_t g_lua_bytes;

static void *lua_alloc(void *, void *ptr, size_t osize, size_t nsize) {
    if (nsize == 0) {
        if (ptr) g_lua_bytes -= osize;
        free(ptr);
        return NULL;
    }
    size_t old = ptr ? osize : 0;
    if (nsize > old && g_lua_bytes + (nsize - old) > (size_t)g_cfg.script_memory_mb << 20) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) g_lua_bytes = g_lua_bytes - old + nsize;
    return p;
}

// Time: a count hook checks the clock every few thousand instructions while a
// script call runs, and stops a call that outlives its budget.
static unsigned long long g_deadline_ms; // 0 = no script running; also stops SQL (store.cpp)

static void budget_hook(lua_State *l, lua_Debug *) {
    if (g_deadline_ms && text_now_ms() > g_deadline_ms) {
        g_deadline_ms = 0; // the error handler and cleanup may run
        luaL_where(l, 0);  // the line that was running, not the hook
        lua_pushfstring(l, "script ran longer than %d ms and was stopped", g_cfg.script_budget_ms);
        lua_concat(l, 2);
        lua_error(l);
    }
}

// Runs a protected call under the budget. Calls nest (a hook that reloads the
// scripts, say); the outermost one sets the deadline.
static int budget_pcall(int nargs, int nresults, int handler) {
    bool outer = g_deadline_ms == 0;
    if (outer) g_deadline_ms = text_now_ms() + (uint64_t)g_cfg.script_budget_ms;
    int rc = lua_pcall(L, nargs, nresults, handler);
    if (outer) g_deadline_ms = 0;
    return rc;
}

// Script faults per file, for /metrics: the file is the chunk name that
// starts the error message ("commands/oops.lua:3: ...").
#define FAULT_FILES 64
static struct {
    char file[64];
    uint64_t count;
} g_faults[FAULT_FILES];

static void count_fault(const char *msg) {
    char file[64];
    size_t n = 0;
    while (msg && msg[n] && msg[n] != ':' && n < sizeof file - 1) n++;
    if (!msg || msg[n] != ':' || n < 5 || strncmp(msg + n - 4, ".lua", 4)) snprintf(file, sizeof file, "(unknown)");
    else snprintf(file, sizeof file, "%.*s", (int)n, msg);
    for (int i = 0; i < FAULT_FILES; i++) {
        if (!g_faults[i].file[0]) snprintf(g_faults[i].file, sizeof g_faults[i].file, "%s", file);
        if (!strcmp(g_faults[i].file, file)) {
            g_faults[i].count++;
            return;
        }
    }
}

void lua_host_fault_metrics(Buf *b) {
    buf_adds(b, "# HELP partyline_script_faults_total Errors raised by scripts, by file.\n", 1 << 20);
    buf_adds(b, "# TYPE partyline_script_faults_total counter\n", 1 << 20);
    for (int i = 0; i < FAULT_FILES && g_faults[i].file[0]; i++) {
        char line[160];
        int n = snprintf(line, sizeof line, "partyline_script_faults_total{file=\"%s\"} %llu\n", g_faults[i].file,
                         (unsigned long long)g_faults[i].count);
        buf_add(b, line, (size_t)n, 1 << 20);
    }
    char line[256];
    int n = snprintf(line, sizeof line,
                     "# HELP partyline_script_memory_bytes Memory held by the Lua state.\n"
                     "# TYPE partyline_script_memory_bytes gauge\npartyline_script_memory_bytes %zu\n",
                     g_lua_bytes);
    buf_add(b, line, (size_t)n, 1 << 20);
}

// ---------------------------------------------------------------- helpers

static Session *to_session(lua_State *l, int idx) {
    if (!lua_istable(l, idx)) return NULL;
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_owner_ref);
    lua_pushvalue(l, idx);
    lua_rawget(l, -2);
    Session *s = (Session *)lua_touserdata(l, -1);
    lua_pop(l, 2);
    return s && !s->ending ? s : NULL;
}

static Session *check_session(lua_State *l, int idx) {
    luaL_checktype(l, idx, LUA_TTABLE);
    return to_session(l, idx);
}

static void push_session(lua_State *l, Session *s) { lua_rawgeti(l, LUA_REGISTRYINDEX, s->script_ref); }

static cJSON *to_json(lua_State *l, int idx, int depth) {
    idx = lua_absindex(l, idx);
    switch (lua_type(l, idx)) {
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(l, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(l, idx)) return cJSON_CreateNumber((double)lua_tointeger(l, idx));
        return cJSON_CreateNumber(lua_tonumber(l, idx));
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(l, idx));
    case LUA_TTABLE: {
        if (depth > 16) return cJSON_CreateNull();
        bool array = lua_rawlen(l, idx) > 0;
        if (!array && lua_getmetatable(l, idx)) {
            lua_getfield(l, -1, "__jsonarray");
            array = lua_toboolean(l, -1);
            lua_pop(l, 2);
        }
        if (array) {
            cJSON *a = cJSON_CreateArray();
            lua_Integer n = (lua_Integer)lua_rawlen(l, idx);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(l, idx, i);
                cJSON_AddItemToArray(a, to_json(l, -1, depth + 1));
                lua_pop(l, 1);
            }
            return a;
        }
        cJSON *o = cJSON_CreateObject();
        lua_pushnil(l);
        while (lua_next(l, idx)) {
            if (lua_type(l, -2) == LUA_TSTRING) cJSON_AddItemToObject(o, lua_tostring(l, -2), to_json(l, -1, depth + 1));
            lua_pop(l, 1);
        }
        return o;
    }
    default: return cJSON_CreateNull();
    }
}

// An event table from a script: it must have a string `type`.
static cJSON *check_event(lua_State *l, int idx) {
    luaL_checktype(l, idx, LUA_TTABLE);
    lua_getfield(l, idx, "type");
    if (lua_type(l, -1) != LUA_TSTRING) luaL_error(l, "an event needs a string field 'type'");
    lua_pop(l, 1);
    return to_json(l, idx, 0);
}

// ---------------------------------------------------------------- pl.* API

static int l_send(lua_State *l) {
    Session *s = check_session(l, 1);
    cJSON *ev = check_event(l, 2);
    if (!s) {
        cJSON_Delete(ev);
        lua_pushboolean(l, 0);
        return 1;
    }
    session_send(s, ev, 0);
    lua_pushboolean(l, 1);
    return 1;
}

static int l_publish(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    cJSON *ev = check_event(l, 2);
    const Session *sender = lua_isnoneornil(l, 3) ? NULL : to_session(l, 3);
    Room *r = room_find(name);
    if (!r) {
        cJSON_Delete(ev);
        lua_pushinteger(l, 0);
        return 1;
    }
    Msg *m = event_encode(ev);
    if (m) {
        route_room(r, m, sender);
        msg_unref(m);
    }
    lua_pushinteger(l, r->count);
    return 1;
}

static int l_broadcast(lua_State *l) {
    cJSON *ev = check_event(l, 1);
    Msg *m = event_encode(ev);
    uint32_t n = 0;
    if (m) {
        n = route_all(m);
        msg_unref(m);
    }
    lua_pushinteger(l, n);
    return 1;
}

static int l_join(lua_State *l) {
    Session *s = check_session(l, 1);
    const char *name = luaL_checkstring(l, 2);
    Room *r = s ? room_join(s, name) : NULL;
    if (!r) {
        lua_pushnil(l);
        lua_pushstring(l, s ? "bad_room" : "ended");
        return 2;
    }
    lua_pushstring(l, r->name);
    return 1;
}

static int l_leave(lua_State *l) {
    Session *s = check_session(l, 1);
    if (s) room_leave(s);
    return 0;
}

static int l_room_name(lua_State *l) {
    char out[ROOM_NAME_MAX + 1];
    if (room_name_normalize(luaL_checkstring(l, 1), out)) lua_pushstring(l, out);
    else lua_pushnil(l);
    return 1;
}

static int l_members(lua_State *l) {
    Room *r = room_find(luaL_checkstring(l, 1));
    lua_createtable(l, r ? (int)r->count : 0, 0);
    if (r)
        for (uint32_t i = 0; i < r->count; i++) {
            push_session(l, r->members[i]);
            lua_rawseti(l, -2, i + 1);
        }
    return 1;
}

static int l_rooms(lua_State *l) {
    lua_createtable(l, (int)room_total(), 0);
    int i = 1;
    for (Room *r = room_first(); r; r = r->next) {
        lua_createtable(l, 0, 2);
        lua_pushstring(l, r->name);
        lua_setfield(l, -2, "name");
        lua_pushinteger(l, r->count);
        lua_setfield(l, -2, "count");
        lua_rawseti(l, -2, i++);
    }
    return 1;
}

static int l_sessions(lua_State *l) {
    lua_newtable(l);
    int i = 1;
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending) continue;
        push_session(l, s);
        lua_rawseti(l, -2, i++);
    }
    return 1;
}

// pl.session_at(node): the live session on a node, or nil.
static int l_session_at(lua_State *l) {
    lua_Integer node = luaL_checkinteger(l, 1);
    Session *s = node > 0 && node <= (lua_Integer)UINT32_MAX ? session_by_node((uint32_t)node) : NULL;
    if (s && !s->ending) push_session(l, s);
    else lua_pushnil(l);
    return 1;
}

// The next live session logged in as h (any case) on a node after *node;
// start with *node = 0.
static Session *next_of_handle(const char *h, uint32_t *node) {
    while (*h && *node < session_max_node()) {
        Session *s = session_by_node(++*node);
        if (s && !s->ending && s->handle[0] && !strcasecmp(s->handle, h)) return s;
    }
    return NULL;
}

// pl.sessions_of(handle): every live session of a handle (a user may be on
// several nodes), without building the list of everyone first: scripts call
// it on every private message and mail.
static int l_sessions_of(lua_State *l) {
    const char *h = luaL_optstring(l, 1, "");
    lua_newtable(l);
    int i = 1;
    uint32_t node = 0;
    for (Session *s; (s = next_of_handle(h, &node));) {
        push_session(l, s);
        lua_rawseti(l, -2, i++);
    }
    return 1;
}

static int l_find(lua_State *l) {
    uint32_t node = 0;
    Session *s = next_of_handle(luaL_checkstring(l, 1), &node);
    if (s) push_session(l, s);
    else lua_pushnil(l);
    return 1;
}

static int auth_call(lua_State *l, AuthKind kind) {
    Session *s = check_session(l, 1);
    const char *handle = luaL_checkstring(l, 2);
    const char *password = luaL_checkstring(l, 3);
    if (s) auth_start(s, 0, kind, handle, password);
    return 0;
}
static int l_login(lua_State *l) { return auth_call(l, AUTH_LOGIN); }
static int l_register(lua_State *l) { return auth_call(l, AUTH_REGISTER); }

static int l_change_password(lua_State *l) {
    Session *s = check_session(l, 1);
    const char *old_pw = luaL_checkstring(l, 2);
    const char *new_pw = luaL_checkstring(l, 3);
    if (s) auth_change_password(s, old_pw, new_pw);
    return 0;
}

static int l_logoff(lua_State *l) {
    Session *s = check_session(l, 1);
    if (s) lifecycle_end_soon(s);
    return 0;
}

static int l_reload(lua_State *l) {
    int ok = lua_host_reload("requested by a script") == 0;
    lua_pushboolean(l, ok);
    return 1;
}

// pl.log(text [, event [, s]]): a log line with the scripts' own event name
// (default "script_log"), about session s when given.
static int l_log(lua_State *l) {
    const char *text = luaL_checkstring(l, 1);
    const char *event = luaL_optstring(l, 2, "script_log");
    Session *s = lua_isnoneornil(l, 3) ? NULL : to_session(l, 3);
    log_event(LOG_INFO, event, s ? s->node : 0, s ? s->addr : NULL, "%s", text);
    return 0;
}

static int l_config(lua_State *l) {
    char v[1100];
    if (config_get(&g_cfg, luaL_checkstring(l, 1), v, sizeof v)) lua_pushstring(l, v);
    else lua_pushnil(l);
    return 1;
}

static int l_now(lua_State *l) {
    lua_pushinteger(l, (lua_Integer)text_now_ms());
    return 1;
}

static int l_valid_handle(lua_State *l) {
    lua_pushboolean(l, auth_handle_valid(luaL_checkstring(l, 1)));
    return 1;
}

// pl.check_handle(handle): nil when it may be registered now, else the code
// `register` would answer (bad_handle, handle_reserved, handle_taken).
static int l_check_handle(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    const char *code = policy_handle_problem(h, false);
    if (!code && account_taken(h) != 0) code = "handle_taken";
    code ? (void)lua_pushstring(l, code) : lua_pushnil(l);
    return 1;
}

// pl.check_password(handle, password): nil when acceptable, else the reason
// (policy.h: too_short, too_long, repetitive, sequential, context, common).
static int l_check_password(lua_State *l) {
    const char *why = policy_password_problem(luaL_checkstring(l, 1), luaL_checkstring(l, 2));
    why ? (void)lua_pushstring(l, why) : lua_pushnil(l);
    return 1;
}

// pl.revoke_tokens(handle): every token for handle issued until now is void
// (a kick, a ban). Returns whether it was stored.
static int l_revoke_tokens(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    bool ok = tokens_revoke(h, (int64_t)text_now_ms()) == 0;
    if (ok) log_info("tokens_revoked", "tokens for %.20s revoked", h);
    lua_pushboolean(l, ok);
    return 1;
}

// pl.set_address_bans({ {target = "10.1.2.*", until_ms = 0}, ... }): the
// address bans the core checks at accept and resume, replacing the last
// list. Returns how many patterns it took (malformed ones are left out).
static int l_set_address_bans(lua_State *l) {
    luaL_checktype(l, 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(l, 1);
    if (n > 100000) return luaL_error(l, "too many address bans");
    AddrBan *list = n ? (AddrBan *)calloc((size_t)n, sizeof *list) : NULL;
    if (n && !list) return luaL_error(l, "out of memory");
    size_t k = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(l, 1, i);
        if (lua_istable(l, -1)) {
            // raw reads: no metamethod can raise an error while list is held
            lua_pushliteral(l, "target");
            lua_rawget(l, -2);
            lua_pushliteral(l, "until_ms");
            lua_rawget(l, -3);
            const char *t = lua_tostring(l, -2);
            if (t && strlen(t) < sizeof list[k].pattern) {
                snprintf(list[k].pattern, sizeof list[k].pattern, "%s", t);
                list[k++].until_ms = (uint64_t)(lua_isinteger(l, -1) && lua_tointeger(l, -1) > 0 ? lua_tointeger(l, -1) : 0);
            }
            lua_pop(l, 2);
        }
        lua_pop(l, 1);
    }
    int kept = addrban_set(list, k);
    free(list);
    if (kept < 0) return luaL_error(l, "out of memory");
    // connections already open from a banned address go too: one attached to
    // a session made elsewhere (a resume with a token) would outlive the ban.
    // A sysop's are spared, as /ban spares them.
    uint64_t now = text_now_ms();
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s->ending || s->sysop) continue;
        for (Port *p = s->ports; p; p = p->next)
            if (!p->closing && addrban_match(p->addr, now)) {
                log_event(LOG_WARN, "kick", s->node, p->addr, "connection %u: address banned", p->id);
                g_up.close(p, 1008, "banned");
            }
    }
    lua_pushinteger(l, kept);
    return 1;
}

// pl.valid_address_pattern(p): whether p is an address or a prefix ending in '*'.
static int l_valid_address_pattern(lua_State *l) {
    lua_pushboolean(l, addr_pattern_ok(luaL_checkstring(l, 1)));
    return 1;
}

// pl.ignore(s, handle, on): adds (on ~= false) or removes a handle from s's
// ignore list; returns whether it is now on the list as asked.
static int l_ignore(lua_State *l) {
    Session *s = check_session(l, 1);
    const char *h = luaL_checkstring(l, 2);
    bool on = lua_isnoneornil(l, 3) || lua_toboolean(l, 3);
    lua_pushboolean(l, s && session_ignore(s, h, on));
    return 1;
}

static int l_ignoring(lua_State *l) {
    Session *s = check_session(l, 1);
    lua_pushboolean(l, s && session_ignores(s, luaL_checkstring(l, 2)));
    return 1;
}

// ---------------------------------------------------------------- timers

// Timers belong to the generation of scripts that made them: a successful
// reload cancels the old generation's (the new scripts start their own as
// they load), a failed one cancels only what the failed load started.
#define MAX_TIMERS 1024

struct ScriptTimer {
    uv_timer_t h;
    int fn_ref;
    uint32_t id, gen;
    bool repeat;
    ScriptTimer *next;
};

static ScriptTimer *g_timers;
static uint32_t g_ntimers, g_timer_ids;
static uint32_t g_gen;      // generation being loaded, or running
static void call_timer(uv_timer_t *h);

static void timer_closed(uv_handle_t *h) { free(h->data); }

static void timer_cancel(ScriptTimer *t) {
    for (ScriptTimer **p = &g_timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    g_ntimers--;
    uv_timer_stop(&t->h);
    luaL_unref(L, LUA_REGISTRYINDEX, t->fn_ref);
    uv_close((uv_handle_t *)&t->h, timer_closed);
}

// Cancels the timers of one generation (keep = false) or of all others (keep = true).
static void timers_cancel_gen(uint32_t gen, bool keep) {
    for (ScriptTimer *t = g_timers, *next; t; t = next) {
        next = t->next;
        if ((t->gen == gen) != keep) timer_cancel(t);
    }
}

static int start_timer(lua_State *l, bool repeat) {
    lua_Integer ms = luaL_checkinteger(l, 1);
    luaL_checktype(l, 2, LUA_TFUNCTION);
    if (ms < (repeat ? 100 : 0) || ms > 7LL * 86400 * 1000)
        return luaL_error(l, "timer interval out of range (%s)", repeat ? "100 ms to 7 days" : "0 to 7 days");
    if (g_ntimers >= MAX_TIMERS) return luaL_error(l, "too many timers (%d)", MAX_TIMERS);
    ScriptTimer *t = (ScriptTimer *)calloc(1, sizeof *t);
    if (!t) return luaL_error(l, "out of memory");
    lua_pushvalue(l, 2);
    t->fn_ref = luaL_ref(l, LUA_REGISTRYINDEX);
    t->id = ++g_timer_ids;
    t->gen = g_gen;
    t->repeat = repeat;
    t->h.data = t;
    uv_timer_init(g_loop, &t->h);
    uv_timer_start(&t->h, call_timer, (uint64_t)ms, repeat ? (uint64_t)ms : 0);
    t->next = g_timers;
    g_timers = t;
    g_ntimers++;
    lua_pushinteger(l, t->id);
    return 1;
}

static int l_after(lua_State *l) { return start_timer(l, false); }
static int l_every(lua_State *l) { return start_timer(l, true); }

static int l_cancel(lua_State *l) {
    lua_Integer id = luaL_checkinteger(l, 1);
    for (ScriptTimer *t = g_timers; t; t = t->next)
        if (t->id == id) {
            timer_cancel(t);
            lua_pushboolean(l, 1);
            return 1;
        }
    lua_pushboolean(l, 0);
    return 1;
}

// pl.account(handle): the stored account ({handle, sysop, created,
// last_login}), or nil. Never the password hash.
static int l_account(lua_State *l) {
    Account a;
    if (account_find(luaL_checkstring(l, 1), &a) != 1) {
        lua_pushnil(l);
        return 1;
    }
    lua_createtable(l, 0, 4);
    lua_pushstring(l, a.handle);
    lua_setfield(l, -2, "handle");
    lua_pushboolean(l, a.sysop);
    lua_setfield(l, -2, "sysop");
    lua_pushstring(l, a.created);
    lua_setfield(l, -2, "created");
    lua_pushboolean(l, a.locked);
    lua_setfield(l, -2, "locked");
    if (a.last_login[0]) {
        lua_pushstring(l, a.last_login);
        lua_setfield(l, -2, "last_login");
    }
    return 1;
}

// pl.set_sysop(handle, on): flags the account in the database and applies it
// to the user's live sessions (the configuration's sysops stay sysops).
// Returns whether there is such an account.
static int l_set_sysop(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    bool on = lua_toboolean(l, 2);
    int rc = account_set_sysop(h, on);
    if (rc < 0) return luaL_error(l, "database error");
    uint32_t node = 0;
    for (Session *s; rc == 1 && (s = next_of_handle(h, &node));)
        if (s->account_id > 0) s->sysop = on || config_is_sysop(&g_cfg, s->handle);
    lua_pushboolean(l, rc == 1);
    return 1;
}

// pl.spy(watcher, target [, prefix]): watcher gets a read-only copy of every
// event target is sent, as `spy` events whose text starts with prefix.
// pl.spy(watcher, nil) stops. Returns whether it is watching as asked.
static int l_spy(lua_State *l) {
    Session *w = check_session(l, 1);
    if (!w) {
        lua_pushboolean(l, 0);
        return 1;
    }
    if (lua_isnoneornil(l, 2)) {
        spy_stop(w);
        lua_pushboolean(l, 1);
        return 1;
    }
    Session *t = check_session(l, 2);
    const char *prefix = luaL_optstring(l, 3, "");
    lua_pushboolean(l, t && t != w && spy_start(w, t, prefix));
    return 1;
}

// pl.watchers(s): the sessions watching s with pl.spy.
static int l_watchers(lua_State *l) {
    Session *t = check_session(l, 1);
    Session *w[SPY_MAX];
    uint32_t n = t ? spy_watchers(t, w, SPY_MAX) : 0;
    lua_createtable(l, (int)n, 0);
    for (uint32_t i = 0; i < n; i++) {
        push_session(l, w[i]);
        lua_rawseti(l, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_array(lua_State *l) {
    if (lua_isnoneornil(l, 1)) {
        lua_settop(l, 0);
        lua_newtable(l);
    }
    luaL_checktype(l, 1, LUA_TTABLE);
    lua_settop(l, 1);
    lua_newtable(l);
    lua_pushboolean(l, 1);
    lua_setfield(l, -2, "__jsonarray");
    lua_setmetatable(l, 1);
    return 1;
}

static int l_print(lua_State *l) {
    luaL_Buffer b;
    luaL_buffinit(l, &b);
    int n = lua_gettop(l);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_addstring(&b, luaL_tolstring(l, i, NULL));
        lua_pop(l, 1);
    }
    luaL_pushresult(&b);
    log_info("script_log", "%s", lua_tostring(l, -1));
    return 0;
}

static int traceback(lua_State *l); // also pl.traceback, for scripts' own xpcall

static const luaL_Reg g_api[] = {
    {"send", l_send},       {"publish", l_publish},   {"broadcast", l_broadcast},
    {"join", l_join},       {"leave", l_leave},       {"room_name", l_room_name},
    {"members", l_members}, {"rooms", l_rooms},       {"sessions", l_sessions},
    {"find", l_find},       {"login", l_login},       {"register", l_register},
    {"session_at", l_session_at}, {"sessions_of", l_sessions_of}, {"watchers", l_watchers},
    {"logoff", l_logoff},   {"reload", l_reload},     {"log", l_log},
    {"config", l_config},   {"now", l_now},           {"valid_handle", l_valid_handle},
    {"array", l_array},     {"traceback", traceback},
    {"ignore", l_ignore},   {"ignoring", l_ignoring},
    {"after", l_after},     {"every", l_every},       {"cancel", l_cancel},
    {"change_password", l_change_password},
    {"account", l_account}, {"set_sysop", l_set_sysop}, {"spy", l_spy},
    {"check_handle", l_check_handle}, {"check_password", l_check_password},
    {"revoke_tokens", l_revoke_tokens}, {"set_address_bans", l_set_address_bans},
    {"valid_address_pattern", l_valid_address_pattern},
    {NULL, NULL},
};

// The library scripts see: no io, os.execute, load, require, debug or
// package; `print` goes to the log. Libraries are copies, so one script
// cannot change string.format for the rest.
static void build_safe_library(void) {
    static const char *globals[] = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
                                    "tostring", "type", "xpcall", "rawequal", "rawget", "rawset", "rawlen",
                                    "setmetatable", "getmetatable", "_VERSION", NULL};
    static const char *libs[] = {"string", "table", "math", "utf8", "coroutine", NULL};
    lua_newtable(L);
    int safe = lua_gettop(L);
    for (int i = 0; globals[i]; i++) {
        lua_getglobal(L, globals[i]);
        lua_setfield(L, safe, globals[i]);
    }
    for (int i = 0; libs[i]; i++) {
        lua_newtable(L);
        lua_getglobal(L, libs[i]);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -5);
        }
        lua_pop(L, 1);
        lua_setfield(L, safe, libs[i]);
    }
    lua_getfield(L, safe, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_newtable(L);
    static const char *os_ok[] = {"time", "clock", "date", "difftime", NULL};
    lua_getglobal(L, "os");
    for (int i = 0; os_ok[i]; i++) {
        lua_getfield(L, -1, os_ok[i]);
        lua_setfield(L, -3, os_ok[i]);
    }
    lua_pop(L, 1);
    lua_setfield(L, safe, "os");
    lua_pushcfunction(L, l_print);
    lua_setfield(L, safe, "print");
    g_safe_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    // strings' metatable would hand out the real string library
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

// ---------------------------------------------------------------- sessions

static const char *g_props[] = {"node", "handle", "sysop", "room", "id", "idle", "transport", "connected", "ended",
                                "address", "spying", "secure", NULL};

static bool is_prop(const char *k) {
    for (int i = 0; g_props[i]; i++)
        if (!strcmp(g_props[i], k)) return true;
    return false;
}

static void push_env_pl(lua_State *l) {
    lua_rawgeti(l, LUA_REGISTRYINDEX, g_env_ref);
    lua_getfield(l, -1, "pl");
    lua_remove(l, -2);
}

// s.node, s.handle, ... come from the core; anything else is a method of the
// running generation's pl.Session, so reloaded methods apply at once.
static int session_index(lua_State *l) {
    const char *k = lua_tostring(l, 2);
    if (k && is_prop(k)) {
        Session *s = to_session(l, 1);
        if (!strcmp(k, "ended")) lua_pushboolean(l, s == NULL);
        else if (!s) lua_pushnil(l);
        else if (!strcmp(k, "node")) lua_pushinteger(l, s->node);
        else if (!strcmp(k, "handle")) s->handle[0] ? (void)lua_pushstring(l, s->handle) : lua_pushnil(l);
        else if (!strcmp(k, "sysop")) lua_pushboolean(l, s->sysop);
        else if (!strcmp(k, "room")) s->room ? (void)lua_pushstring(l, s->room->name) : lua_pushnil(l);
        else if (!strcmp(k, "id")) lua_pushstring(l, s->resume_id);
        else if (!strcmp(k, "address")) lua_pushstring(l, s->addr); // scripts show it to sysops only
        else if (!strcmp(k, "idle")) lua_pushinteger(l, (lua_Integer)((text_now_ms() - s->last_input_ms) / 1000));
        else if (!strcmp(k, "connected")) lua_pushboolean(l, s->nports > 0);
        else if (!strcmp(k, "spying")) {
            uint32_t n = spy_target(s);
            n ? lua_pushinteger(l, n) : lua_pushnil(l);
        }
        else if (!strcmp(k, "secure")) lua_pushboolean(l, s->ports && s->ports->secure);
        else if (!strcmp(k, "transport")) {
            if (!s->ports) lua_pushnil(l);
            else lua_pushstring(l, s->ports->kind == PORT_TELNET ? "telnet" : "websocket");
        }
        return 1;
    }
    push_env_pl(l);
    if (!lua_istable(l, -1)) return 1;
    lua_getfield(l, -1, "Session");
    if (!lua_istable(l, -1)) return 1;
    lua_pushvalue(l, 2);
    lua_gettable(l, -2);
    return 1;
}

static int session_newindex(lua_State *l) {
    const char *k = lua_tostring(l, 2);
    if (k && is_prop(k)) return luaL_error(l, "session field '%s' is read-only", k);
    lua_rawset(l, 1);
    return 0;
}

int lua_host_session_new(Session *s) {
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, g_meta_ref);
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, g_owner_ref);
    lua_pushvalue(L, -2);
    lua_pushlightuserdata(L, s);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void lua_host_session_free(Session *s) {
    if (s->script_ref < 0 || !L) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, g_owner_ref);
    push_session(L, s);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, s->script_ref);
    s->script_ref = -1;
}

// ---------------------------------------------------------------- hooks

static int traceback(lua_State *l) {
    const char *msg = lua_tostring(l, 1);
    if (msg && strstr(msg, "\nstack traceback:")) return 1; // a nested call already added one
    luaL_traceback(l, l, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

// Pushes hooks[name] of the running generation; false when there is none.
static bool push_hook(const char *name) {
    push_env_pl(L);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_getfield(L, -1, "hooks");
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    return true;
}

static void call_hook(const char *name, Session *s, const char *arg, size_t arglen) {
    if (!L) return;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    if (!push_hook(name)) {
        lua_settop(L, base);
        return;
    }
    int nargs = 0;
    if (s) {
        push_session(L, s);
        nargs++;
    }
    if (arg) {
        lua_pushlstring(L, arg, arglen);
        nargs++;
    }
    if (budget_pcall(nargs, 0, base + 1) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (msg && strstr(msg, "pl.db: unavailable")) {
            // the storage failed, not the script: counted as a storage error
            // (store.cpp), and the user hears to try again later
            log_event(LOG_WARN, "script_storage", s ? s->node : 0, s ? s->addr : NULL,
                      "in hook '%s': storage unavailable", name);
            if (s && !s->ending)
                session_send(s, event_error("unavailable", "storage is unavailable; try again later"), 0);
        } else {
            g_stats.script_errors++;
            count_fault(msg);
            log_event(LOG_ERROR, "script_error", s ? s->node : 0, s ? s->addr : NULL, "in hook '%s': %s", name, msg);
            if (s && !s->ending)
                session_send(s, event_error("script_error", "a script failed; the sysop can see what went wrong"), 0);
        }
    }
    lua_settop(L, base);
}

void lua_hook(const char *name, Session *s, const char *arg) { call_hook(name, s, arg, arg ? strlen(arg) : 0); }
void lua_hook_input(Session *s, const char *line, size_t len) { call_hook("input", s, line, len); }
void lua_hook_global(const char *name) { call_hook(name, NULL, NULL, 0); }

void lua_render_count(const char *name, uint32_t n, char *out, size_t outlen) {
    out[0] = 0;
    if (!L) return;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    if (push_hook(name)) {
        lua_pushinteger(L, n);
        int rc = budget_pcall(1, 1, base + 1);
        if (rc == LUA_OK && lua_type(L, -1) == LUA_TSTRING) snprintf(out, outlen, "%s", lua_tostring(L, -1));
        else if (rc != LUA_OK) log_error("script_error", "in hook '%s': %s", name, lua_tostring(L, -1));
    }
    lua_settop(L, base);
}

void lua_hook_text(const char *name, const char *arg, char *out, size_t outlen) {
    out[0] = 0;
    if (!L) return;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    if (push_hook(name)) {
        lua_pushstring(L, arg);
        int rc = budget_pcall(1, 1, base + 1);
        if (rc == LUA_OK && lua_type(L, -1) == LUA_TSTRING) snprintf(out, outlen, "%s", lua_tostring(L, -1));
        else if (rc != LUA_OK) log_error("script_error", "in hook '%s': %s", name, lua_tostring(L, -1));
    }
    lua_settop(L, base);
}

static void call_timer(uv_timer_t *h) {
    ScriptTimer *t = (ScriptTimer *)h->data;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
    bool repeat = t->repeat;
    if (!repeat) timer_cancel(t); // one-shot: gone before it runs, so it may start another
    if (budget_pcall(0, 0, base + 1) != LUA_OK) {
        g_stats.script_errors++;
        count_fault(lua_tostring(L, -1));
        log_error("script_error", "in a timer: %s", lua_tostring(L, -1));
    }
    lua_settop(L, base);
}

// ---------------------------------------------------------------- loading

#define MAX_SCRIPTS 512

struct FileList {
    char *paths[MAX_SCRIPTS];
    int n;
};

static int path_cmp(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    // init.lua at the top comes first: it defines what the others use
    bool xi = !strcmp(x, "init.lua"), yi = !strcmp(y, "init.lua");
    if (xi != yi) return xi ? -1 : 1;
    return strcmp(x, y);
}

static void scan(FileList *fl, const char *root, const char *rel, int depth) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && fl->n < MAX_SCRIPTS) {
        if (e->d_name[0] == '.') continue;
        char sub[1024], full[2100];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st)) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 4) scan(fl, root, sub, depth + 1);
        } else {
            size_t n = strlen(e->d_name);
            if (n > 4 && !strcmp(e->d_name + n - 4, ".lua")) fl->paths[fl->n++] = strdup(sub);
        }
    }
    closedir(d);
}

static void report_failure(const char *msg) {
    g_stats.script_errors++;
    log_error("script_reload_failed", "script reload failed, the previous scripts stay: %s", msg);
    // the running generation tells the sysops who are online
    if (!L || g_env_ref == LUA_NOREF) return;
    int base = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    if (push_hook("script_error")) {
        lua_pushstring(L, msg);
        if (budget_pcall(1, 0, base + 1) != LUA_OK) log_error("script_error", "in hook 'script_error': %s", lua_tostring(L, -1));
    }
    lua_settop(L, base);
}

static int load_generation(char *err, size_t errlen) {
    uint32_t running = g_gen;
    g_gen = running + 1; // timers the files start while loading belong to the new generation
    FileList fl;
    fl.n = 0;
    scan(&fl, g_cfg.scripts_dir, "", 0);
    qsort(fl.paths, (size_t)fl.n, sizeof fl.paths[0], path_cmp);
    int base = lua_gettop(L);
    int rc = 0;
    if (fl.n == 0) {
        snprintf(err, errlen, "no .lua files in %s", g_cfg.scripts_dir);
        rc = -1;
    }

    // the new generation: { pl = {api..., Session = {}, hooks = {}} }. Each
    // file gets an environment of its own that sees `pl` and the safe library.
    lua_newtable(L); // the generation
    luaL_newlib(L, g_api);
    lua_newtable(L);
    lua_setfield(L, -2, "Session");
    lua_newtable(L);
    lua_setfield(L, -2, "hooks");
    lua_createtable(L, 0, 2);
    lua_pushstring(L, g_cfg.name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, PARTYLINE_VERSION);
    lua_setfield(L, -2, "version");
    lua_setfield(L, -2, "server");
    store_register(L);
    lua_setfield(L, -2, "pl");
    int env = lua_gettop(L);
    lua_pushcfunction(L, traceback);
    int handler = lua_gettop(L);

    for (int i = 0; i < fl.n && rc == 0; i++) {
        char full[1100];
        snprintf(full, sizeof full, "%s/%s", g_cfg.scripts_dir, fl.paths[i]);
        // the chunk name is the path relative to the scripts folder, as errors show it
        char name[600];
        snprintf(name, sizeof name, "@%s", fl.paths[i]);
        FILE *f = fopen(full, "rb");
        if (!f) {
            snprintf(err, errlen, "%s: %s", fl.paths[i], strerror(errno));
            rc = -1;
            break;
        }
        Buf src = {};
        char chunk[8192];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&src, chunk, got, 16 << 20);
        fclose(f);
        int st = luaL_loadbufferx(L, src.p ? src.p : "", src.len, name, "t");
        buf_free(&src);
        if (st != LUA_OK) {
            snprintf(err, errlen, "%s", lua_tostring(L, -1));
            rc = -1;
            break;
        }
        lua_createtable(L, 0, 1); // this file's environment
        lua_getfield(L, env, "pl");
        lua_setfield(L, -2, "pl");
        lua_createtable(L, 0, 1);
        lua_rawgeti(L, LUA_REGISTRYINDEX, g_safe_ref);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);
        lua_setupvalue(L, -2, 1); // _ENV of a main chunk is its first upvalue
        if (budget_pcall(0, 0, handler) != LUA_OK) {
            snprintf(err, errlen, "%s", lua_tostring(L, -1));
            rc = -1;
            break;
        }
    }
    for (int i = 0; i < fl.n; i++) free(fl.paths[i]);
    if (rc != 0) {
        timers_cancel_gen(g_gen, false);
        g_gen = running;
    } else {
        timers_cancel_gen(g_gen, true);
        lua_pushvalue(L, env);
        int ref = luaL_ref(L, LUA_REGISTRYINDEX);
        if (g_env_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, g_env_ref);
        g_env_ref = ref;
        log_info("script_load", "scripts loaded: %d files from %s", fl.n, g_cfg.scripts_dir);
    }
    lua_settop(L, base);
    return rc;
}

// ---------------------------------------------------------------- watching

#define MAX_WATCH 64
static uv_fs_event_t *g_watch[MAX_WATCH];
static int g_nwatch;
static uv_timer_t g_debounce;
static uv_signal_t g_sighup;

static void watch_closed(uv_handle_t *h) { free(h); }

static void on_debounce(uv_timer_t *) { lua_host_reload("a script file changed"); }

static void on_fs(uv_fs_event_t *, const char *filename, int, int) {
    if (filename) {
        size_t n = strlen(filename);
        bool lua = n > 4 && !strcmp(filename + n - 4, ".lua");
        bool hidden = filename[0] == '.';
        if (hidden || (!lua && strchr(filename, '.'))) return; // editor swap and backup files
    }
    // editors save in several steps; wait for the last
    uv_timer_start(&g_debounce, on_debounce, 150, 0);
}

static void watch_dir(const char *path, int depth) {
    if (g_nwatch >= MAX_WATCH) return;
    uv_fs_event_t *w = (uv_fs_event_t *)malloc(sizeof *w);
    uv_fs_event_init(g_loop, w);
    if (uv_fs_event_start(w, on_fs, path, 0) != 0) {
        uv_close((uv_handle_t *)w, watch_closed);
        return;
    }
    g_watch[g_nwatch++] = w;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (depth < 4 && !stat(sub, &st) && S_ISDIR(st.st_mode)) watch_dir(sub, depth + 1);
    }
    closedir(d);
}

static void watch_stop(void) {
    for (int i = 0; i < g_nwatch; i++) {
        uv_fs_event_stop(g_watch[i]);
        uv_close((uv_handle_t *)g_watch[i], watch_closed);
    }
    g_nwatch = 0;
}

static void on_sighup(uv_signal_t *, int) { lua_host_reload("SIGHUP"); }

// ---------------------------------------------------------------- lifecycle

int lua_host_reload(const char *why) {
    char err[2048];
    if (load_generation(err, sizeof err) != 0) {
        report_failure(err);
        return -1;
    }
    g_stats.script_reloads++;
    log_info("script_reload", "scripts reloaded (%s)", why);
    // folders may have come or gone
    watch_stop();
    watch_dir(g_cfg.scripts_dir, 0);
    lua_hook_global("reloaded");
    return 0;
}

int lua_host_init(uv_loop_t *loop, char *err, size_t errlen) {
    g_loop = loop;
    L = lua_newstate(lua_alloc, NULL);
    if (!L) {
        snprintf(err, errlen, "cannot create the Lua state");
        return -1;
    }
    luaL_openlibs(L);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 10000);
    store_set_deadline(&g_deadline_ms);
    build_safe_library();
    lua_newtable(L); // owner map, weak keys: an ended session's table may linger in scripts
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    g_owner_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_pushcfunction(L, session_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, session_newindex);
    lua_setfield(L, -2, "__newindex");
    g_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (load_generation(err, errlen) != 0) return -1;
    uv_timer_init(loop, &g_debounce);
    uv_signal_init(loop, &g_sighup);
    uv_signal_start(&g_sighup, on_sighup, SIGHUP);
    watch_dir(g_cfg.scripts_dir, 0);
    return 0;
}

void lua_host_stop_watching(void) {
    watch_stop();
    while (g_timers) timer_cancel(g_timers);
    uv_close((uv_handle_t *)&g_debounce, NULL);
    uv_close((uv_handle_t *)&g_sighup, NULL);
}

void lua_host_close(void) {
    if (L) lua_close(L);
    L = NULL;
}
