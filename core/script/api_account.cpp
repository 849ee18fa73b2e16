// Accounts for scripts: logging in and registering (pl.login, pl.register,
// checked off the loop by board/auth.cpp), passwords, the account record,
// sysop rights, tokens, the board's handle and password rules, and the
// address bans the core enforces. The accounts are board/'s; nothing here
// keeps state.
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "base/config.h"
#include "model/up.h"
#include "base/log.h"
#include "base/text.h"
#include "board/accounts.h"
#include "board/addrban.h"
#include "board/auth.h"
#include "board/policy.h"
#include "model/session.h"
#include "script/api.h"
#include "script/task.h"

// The accounts answer scripts at once (accounts_at_once: before the call
// returns, on either store); these keep what the answer said, -2 when none came.
struct Said {
    int rc;
    Account a;
};
static void said_rc(int rc, void *ud) { ((Said *)ud)->rc = rc; }
static void said_found(int found, const Account *a, void *ud) {
    Said *w = (Said *)ud;
    w->rc = found;
    if (found == 1) w->a = *a;
}
#define SAID_NONE {-2, Account{}}

// pl.login / pl.register(s, handle, password): the answer arrives as the
// auth or login_failed hook.
static int auth_call(lua_State *l, AuthKind kind) {
    Session *s = api_check_session(l, 1);
    const char *handle = luaL_checkstring(l, 2);
    const char *password = luaL_checkstring(l, 3);
    if (s) auth_start(s, 0, kind, handle, password);
    return 0;
}
static int l_login(lua_State *l) { return auth_call(l, AUTH_LOGIN); }
static int l_register(lua_State *l) { return auth_call(l, AUTH_REGISTER); }

// pl.change_password(s, old, new): the answer arrives as the password_changed hook.
static int l_change_password(lua_State *l) {
    Session *s = api_check_session(l, 1);
    const char *old_pw = luaL_checkstring(l, 2);
    const char *new_pw = luaL_checkstring(l, 3);
    if (s) auth_change_password(s, old_pw, new_pw);
    return 0;
}

static int l_valid_handle(lua_State *l) {
    lua_pushboolean(l, auth_handle_valid(luaL_checkstring(l, 1)));
    return 1;
}

// On PostgreSQL, in a task, a lookup waits without holding the loop
// (script/task.h): the answer wakes the task. Else it is answered at once.
struct SaidLater {
    Said w;
    Task *t;
};
static void later_rc(int rc, void *ud) {
    SaidLater *x = (SaidLater *)ud;
    x->w.rc = rc;
    task_wake(x->t);
}
static void later_found(int found, const Account *a, void *ud) {
    SaidLater *x = (SaidLater *)ud;
    x->w.rc = found;
    if (found == 1) x->w.a = *a;
    task_wake(x->t);
}

// A lookup that waits in a task when l can (PostgreSQL): what its callback
// fills in, or NULL when it is to be answered at once.
static SaidLater *wait_for_account(lua_State *l) {
    SaidLater *x = (SaidLater *)calloc(1, sizeof *x); // NULL: no memory to wait, answered at once
    Task *t = x ? task_await(l) : NULL;
    if (!t) {
        free(x);
        return NULL;
    }
    *x = SaidLater{SAID_NONE, t};
    return x;
}

static int handle_answer(lua_State *l, int rc) {
    if (rc != 0) lua_pushstring(l, "handle_taken");
    else lua_pushnil(l);
    return 1;
}
static int handle_k(lua_State *l, int, lua_KContext ctx) {
    SaidLater *x = (SaidLater *)ctx;
    int rc = x->w.rc;
    free(x);
    return handle_answer(l, rc);
}

// pl.check_handle(handle): nil when it may be registered now, else the code
// `register` would answer (bad_handle, handle_reserved, handle_taken).
static int l_check_handle(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    const char *code = policy_handle_problem(h, false);
    if (code) return lua_pushstring(l, code), 1;
    if (SaidLater *x = wait_for_account(l)) {
        account_taken(h, later_rc, x);
        return task_pause(l, x->t, handle_k, (lua_KContext)x);
    }
    Said w = SAID_NONE;
    accounts_at_once(true); // the script waits for the answer
    account_taken(h, said_rc, &w);
    accounts_at_once(false);
    return handle_answer(l, w.rc);
}

// pl.check_password(handle, password): nil when acceptable, else the reason
// (policy.h: too_short, too_long, repetitive, sequential, context, common).
static int l_check_password(lua_State *l) {
    const char *why = policy_password_problem(luaL_checkstring(l, 1), luaL_checkstring(l, 2));
    why ? (void)lua_pushstring(l, why) : lua_pushnil(l);
    return 1;
}

// pl.account(handle): the stored account ({handle, sysop, locked, created,
// last_login}), or nil. Never the password hash.
static int account_answer(lua_State *l, const Said &w);
static int account_k(lua_State *l, int, lua_KContext ctx) {
    SaidLater *x = (SaidLater *)ctx;
    Said w = x->w;
    free(x);
    return account_answer(l, w);
}

static int l_account(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    if (SaidLater *x = wait_for_account(l)) {
        account_find(h, later_found, x);
        return task_pause(l, x->t, account_k, (lua_KContext)x);
    }
    Said w = SAID_NONE;
    accounts_at_once(true);
    account_find(h, said_found, &w);
    accounts_at_once(false);
    return account_answer(l, w);
}

static int account_answer(lua_State *l, const Said &w) {
    const Account &a = w.a;
    if (w.rc != 1) {
        lua_pushnil(l);
        return 1;
    }
    lua_createtable(l, 0, 5);
    lua_pushstring(l, a.handle);
    lua_setfield(l, -2, "handle");
    lua_pushboolean(l, a.sysop);
    lua_setfield(l, -2, "sysop");
    lua_pushstring(l, a.created);
    lua_setfield(l, -2, "created");
    lua_pushboolean(l, a.locked);
    lua_setfield(l, -2, "locked");
    lua_pushinteger(l, a.level);
    lua_setfield(l, -2, "level");
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
    Said w = SAID_NONE;
    accounts_at_once(true); // the script waits for the answer
    account_set(h, ACCOUNT_SYSOP, on, said_rc, &w);
    accounts_at_once(false);
    int rc = w.rc == -2 ? -1 : w.rc;
    if (rc < 0) return luaL_error(l, "database error");
    uint32_t node = 0;
    for (Session *s; rc == 1 && (s = api_next_of_handle(h, &node));)
        if (!s->proc && s->account_id > 0) {
            s->sysop = on || config_is_sysop(&g_cfg, s->handle);
            session_shown(s);
        }
    if (rc == 1 && g_up.account_changed) g_up.account_changed(h); // the other processes' sessions of h
    lua_pushboolean(l, rc == 1);
    return 1;
}

// pl.set_level(handle, level): the account's access level (0-255), stored
// and applied to the user's live sessions at once. Returns whether the
// account exists.
static int l_set_level(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    lua_Integer level = luaL_checkinteger(l, 2);
    luaL_argcheck(l, level >= 0 && level <= 255, 2, "a level is 0 to 255");
    Said w = SAID_NONE;
    accounts_at_once(true); // the script waits for the answer
    account_set(h, ACCOUNT_LEVEL, (int)level, said_rc, &w);
    accounts_at_once(false);
    int rc = w.rc == -2 ? -1 : w.rc;
    if (rc < 0) return luaL_error(l, "pl.db: unavailable: the accounts cannot be written");
    uint32_t node = 0;
    for (Session *s; rc == 1 && (s = api_next_of_handle(h, &node));)
        if (s->account_id > 0) s->level = (uint8_t)level;
    lua_pushboolean(l, rc == 1);
    return 1;
}

// pl.revoke_tokens(handle): every token for handle issued until now is void
// (a kick, a ban). Returns whether it was stored.
static int l_revoke_tokens(lua_State *l) {
    const char *h = luaL_checkstring(l, 1);
    Said w = SAID_NONE;
    accounts_at_once(true); // the script waits for the answer
    tokens_revoke(h, (int64_t)text_now_ms(), said_rc, &w);
    accounts_at_once(false);
    bool ok = w.rc == 0;
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
        lua_rawgeti(l, 1, i); // list row
        if (lua_istable(l, -1)) {
            // raw reads: no metamethod can raise an error while list is held
            lua_pushliteral(l, "target");
            lua_rawget(l, -2); // list row target
            lua_pushliteral(l, "until_ms");
            lua_rawget(l, -3); // list row target until
            const char *t = lua_tostring(l, -2);
            if (t && strlen(t) < sizeof list[k].pattern) {
                snprintf(list[k].pattern, sizeof list[k].pattern, "%s", t);
                list[k++].until_ms = (uint64_t)(lua_isinteger(l, -1) && lua_tointeger(l, -1) > 0 ? lua_tointeger(l, -1) : 0);
            }
            lua_pop(l, 2); // list row
        }
        lua_pop(l, 1); // list
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

static const luaL_Reg FUNCS[] = {
    {"login", l_login},
    {"register", l_register},
    {"change_password", l_change_password},
    {"valid_handle", l_valid_handle},
    {"check_handle", l_check_handle},
    {"check_password", l_check_password},
    {"account", l_account},
    {"set_sysop", l_set_sysop},
    {"set_level", l_set_level},
    {"revoke_tokens", l_revoke_tokens},
    {"set_address_bans", l_set_address_bans},
    {"valid_address_pattern", l_valid_address_pattern},
    {NULL, NULL},
};

void api_account_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
