#include "board/login.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "board/accounts.h"
#include "board/auth.h"
#include "board/db.h"
#include "board/jwt.h"
#include "board/lifecycle.h"
#include "board/policy.h"
#include "model/event.h"
#include "model/session.h"
#include "model/up.h"

// Session fixation: whoever knew the session's resume id before login (it is
// in `hello`, and a link with ?resume=ID can hand someone else's to a victim)
// must not ride on the login. So the id changes, and every port but the one
// that logged in is let go before `auth` is sent: it hears nothing more of
// this session and is closed with CLOSE_SESSION_MOVED.
static void rotate_for_login(Session *s, uint32_t login_port) {
    text_random_id(s->resume_id);
    if (!login_port) return; // a login the scripts started on their own: nobody to tell apart
    // lines the others typed ahead during the password check would run as
    // the user who just logged in: only the login port's are kept
    session_keep_typeahead_of(s, login_port);
    for (;;) { // detaching changes the list: look again from the start each time
        Port *other = s->ports;
        while (other && other->id == login_port) other = other->next;
        if (!other) return;
        log_event(LOG_INFO, "session_moved", s->node, other->addr,
                  "connection %u let go: its session logged in on connection %u", other->id, login_port);
        session_detach(s, other);
        g_up.close(other, CLOSE_SESSION_MOVED, "session logged in elsewhere");
    }
}

void login_complete(Session *s, int64_t account_id, const char *handle, bool sysop, uint32_t login_port) {
    rotate_for_login(s, login_port);
    s->account_id = account_id;
    snprintf(s->handle, sizeof s->handle, "%s", handle);
    // the configuration names accounts, made with `partyline user add`; a
    // token for such a handle without an account is not its sysop
    s->sysop = sysop || (account_id > 0 && config_is_sysop(&g_cfg, handle));
    s->login_failures = 0;
    login_send_auth(s, 0);
    session_shown(s);
    log_event(LOG_INFO, "login", s->node, s->addr, "logged in as %s%s", s->handle, s->sysop ? " (sysop)" : "");
    up_hook("auth", s, NULL);
}

struct TokenLogin {
    SessionRef s;
    uint32_t port;
    int64_t iat_ms;
    char handle[HANDLE_MAX + 1];
    const char *via; // a static string
};

static void token_found(int found, const Account *a, void *ud) {
    TokenLogin *t = (TokenLogin *)ud;
    Session *s = session_deref(t->s);
    if (!s) return free(t);
    s->auth_busy = false;
    if (found < 0) {
        // not knowing whether the account exists (nor its sysop flag), the
        // token cannot be honoured now: the prompts, and why
        session_send(s, event_error("unavailable", auth_message("unavailable")), 0);
        up_hook("connect", s, NULL);
    } else if (found == 1) {
        account_touch(a->id); // a token's login is a login: last_login says so
        s->level = a->level;
        login_complete(s, a->id, a->handle, a->sysop, t->port);
    } else {
        login_complete(s, 0, t->handle, false, t->port); // a bot or bridge vouched for by the token's issuer
    }
    SessionRef ref = t->s;
    const char *via = t->via;
    free(t);
    if (!(s = session_deref(ref))) return;
    if (found >= 0) log_event(LOG_INFO, "login", s->node, s->addr, "logged in by %s as %s", via, s->handle);
    session_replay_typeahead(s);
}

// A token the store refused after it let a connection in: that connection
// is closed with the reason the handshake would have given (the session
// ends with its last connection).
static void refuse_port(Session *s, uint32_t port, const char *why) {
    Port *p = s->ports;
    while (p && p->id != port) p = p->next;
    log_event(LOG_WARN, "ws_refused", s->node, s->addr, "token refused: %s", why);
    if (p) {
        session_detach(s, p);
        g_up.close(p, 1008, why);
    }
    if (!s->nports) session_end(s);
}

// A store that answers later (PostgreSQL) could not check the token at the
// handshake: it is checked here, and a token refused now closes its
// connection.
static void token_vetted(const char *why, void *ud) {
    TokenLogin *t = (TokenLogin *)ud;
    Session *s = session_deref(t->s);
    if (!s) return free(t);
    if (!why) return account_find(t->handle, token_found, t);
    s->auth_busy = false;
    uint32_t port = t->port;
    free(t);
    refuse_port(s, port, why);
}

struct VetLater {
    SessionRef s;
    uint32_t port;
};

static void resume_vetted(const char *why, void *ud) {
    VetLater *v = (VetLater *)ud;
    Session *s = session_deref(v->s);
    uint32_t port = v->port;
    free(v);
    if (s && why) refuse_port(s, port, why);
}

void login_vet_later(Session *s, uint32_t port, const char *handle, int64_t iat_ms) {
    VetLater *v = (VetLater *)calloc(1, sizeof *v);
    if (!v) return refuse_port(s, port, "server error");
    v->s = session_ref(s);
    v->port = port;
    login_token_check(handle, iat_ms, resume_vetted, v);
}

void login_by_token(Session *s, const char *handle, int64_t iat_ms, uint32_t login_port, const char *via) {
    TokenLogin *t = (TokenLogin *)calloc(1, sizeof *t);
    if (!t) return;
    t->s = session_ref(s);
    t->port = login_port;
    t->iat_ms = iat_ms;
    snprintf(t->handle, sizeof t->handle, "%s", handle);
    t->via = via;
    s->auth_busy = true; // what the user types waits for the account (typeahead)
    // SSH's password was checked (lock included) before: no token to vet
    if (login_token_checked_at_once() || !strcmp(via, "ssh")) account_find(handle, token_found, t);
    else login_token_check(handle, iat_ms, token_vetted, t);
}

bool login_token_checked_at_once(void) { return db_lane_at_once(DB_CORE); }

struct TokenCheck {
    int64_t iat_ms;
    char handle[HANDLE_MAX + 1];
    void (*done)(const char *why, void *ud);
    void *ud;
};

static void token_checked(int found, bool locked, int64_t void_before, void *ud) {
    TokenCheck *t = (TokenCheck *)ud;
    const char *why = NULL;
    if (found < 0) why = "server error"; // the store cannot say: refuse
    else if (found == 1 && locked) why = "account locked";
    else if (policy_bot_handle(t->handle)) why = "handle reserved"; // a bot of the board's is on under it
    // a token without iat cannot show it came after the revocation
    else if (void_before > 0 && t->iat_ms < void_before) why = "token revoked";
    void (*done)(const char *, void *) = t->done;
    void *dud = t->ud;
    free(t);
    done(why, dud);
}

void login_token_check(const char *handle, int64_t iat_ms, void (*done)(const char *why, void *ud), void *ud) {
    TokenCheck *t = (TokenCheck *)calloc(1, sizeof *t);
    if (!t) return done("server error", ud);
    t->iat_ms = iat_ms;
    snprintf(t->handle, sizeof t->handle, "%s", handle);
    t->done = done;
    t->ud = ud;
    tokens_state(handle, token_checked, t);
}

struct TokenNow {
    bool answered, abandoned;
    const char *why;
};

static void token_now(const char *why, void *ud) {
    TokenNow *t = (TokenNow *)ud;
    if (t->abandoned) return free(t); // asked for at once, and gone by now
    t->answered = true;
    t->why = why;
}

const char *login_token_problem(const char *handle, int64_t iat_ms) {
    TokenNow *t = (TokenNow *)calloc(1, sizeof *t);
    if (!t) return "server error";
    login_token_check(handle, iat_ms, token_now, t);
    if (!t->answered) {
        t->abandoned = true; // its answer frees it
        return "server error";
    }
    const char *why = t->why;
    free(t);
    return why;
}

cJSON *login_auth_event(const Session *s, bool with_token) {
    cJSON *ev = event_new("auth");
    cJSON_AddStringToObject(ev, "handle", s->handle);
    cJSON_AddBoolToObject(ev, "sysop", s->sysop);
    cJSON_AddStringToObject(ev, "session", s->resume_id); // new at login (rotate_for_login)
    if (with_token && g_cfg.jwt_secret[0]) {
        char tok[JWT_MAX];
        int64_t now_ms = (int64_t)text_now_ms();
        if (jwt_issue(s->handle, now_ms / 1000 + g_cfg.token_ttl_s, now_ms, g_cfg.jwt_secret, tok, sizeof tok) > 0)
            cJSON_AddStringToObject(ev, "token", tok);
    }
    return ev;
}

// The stream holds `auth` without its token; each web port attached now is
// written the copy with the token in its place (Port.own). What the stream
// holds is what resume replays and what an idle session keeps in memory: a
// bearer token need not sit there for the session's life. A port that
// resumes later is sent a fresh token (net/requests.cpp).
void login_send_auth(Session *s, uint32_t port) {
    cJSON *ev = login_auth_event(s, false);
    Msg *full = g_cfg.jwt_secret[0] ? event_encode(login_auth_event(s, true)) : NULL;
    if (full)
        for (Port *p = s->ports; p; p = p->next) {
            if (p->kind != PORT_WEB || (port && p->id != port)) continue;
            msg_unref(p->own);
            msg_ref(full);
            p->own = full;
            p->own_seq = session_next_seq(s);
        }
    msg_unref(full);
    session_send(s, ev, port);
}

void login_end_sessions_of(const char *handle, const char *why, const Session *except) {
    for (uint32_t node = 1; node <= session_max_node(); node++) {
        Session *s = session_by_node(node);
        if (!s || s == except || s->ending || s->account_id <= 0 || strcasecmp(s->handle, handle)) continue;
        log_event(LOG_INFO, "logoff", s->node, s->addr, "%s logged off: %s", s->handle, why);
        SessionRef ref = session_ref(s);
        up_hook("account_action", s, why);
        if (session_deref(ref)) lifecycle_end_soon(s); // whatever the scripts did
    }
}

static int64_t g_action_id = -1; // the last `partyline user` action acted on

static void on_action(const char *handle, const char *action) {
    log_info("account_action", "%s: %s (partyline user)", handle, action);
    login_end_sessions_of(handle, !strcmp(action, "lock") ? "locked" : "password_reset", NULL);
}

void login_poll(void) { account_actions_since(&g_action_id, on_action); }
