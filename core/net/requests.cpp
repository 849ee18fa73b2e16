#include "net/requests.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#include "board/addrban.h"
#include "board/auth.h"
#include "base/config.h"
#include "net/conn.h"
#include "model/event.h"
#include "board/jwt.h"
#include "board/login.h"
#include "base/log.h"
#include "script/host.h"
#include "model/room.h"
#include "model/roster.h"
#include "model/route.h"
#include "model/session.h"
#include "base/stats.h"
#include "base/text.h"

static void reply_error(Conn *c, const char *code, const char *message) {
    if (c->port.session) session_send(c->port.session, event_error(code, message), c->port.id);
}


static const char *str_field(cJSON *req, const char *name, bool *bad) {
    cJSON *f = cJSON_GetObjectItem(req, name);
    if (!cJSON_IsString(f)) {
        *bad = true;
        return NULL;
    }
    return f->valuestring;
}

// Who may attach to a session. Before login, only its own address: a
// session id handed to someone else (a link with ?resume=ID) attaches them to
// nothing, and login changes the id anyway (board/login.cpp). After login
// the id alone is not enough either (it shows in logs, URLs, a shared
// screen): the same address, or a token for the session's user. A phone that
// moves from Wi-Fi to mobile data has a new address, and the web client its
// token; a client without tokens logs in again.
static bool resume_allowed(const Conn *c, const Session *to, const char *token_handle) {
    if (c->port.session == to || addr_same(c->port.addr, to->addr)) return true;
    return to->handle[0] && token_handle && !strcasecmp(token_handle, to->handle);
}

// By the token alone (another address), on a store that could not check it
// yet: it is checked after (c->token_iat_ms is the token's).
static bool vet_after(const Conn *c, const Session *to, const char *token_handle) {
    return token_handle && c->port.session != to && !addr_same(c->port.addr, to->addr) && !login_token_checked_at_once();
}

bool requests_resume(Conn *c, Session *to, uint64_t last, const char *token_handle) {
    bool vet = vet_after(c, to, token_handle);
    if (!resume_allowed(c, to, token_handle)) {
        log_event(LOG_WARN, "resume_refused", to->node, c->port.addr, "connection %u may not resume this session", c->port.id);
        return false;
    }
    Session *from = c->port.session;
    c->hello_due = true; // before attaching: nothing may be written ahead of it
    c->resumed = true;
    if (from != to) {
        if (from) {
            session_detach(from, &c->port);
            // the connection's own new session ends unseen
            if (!from->handle[0]) session_end(from);
        }
        session_attach(to, &c->port, last + 1);
    } else {
        c->port.cursor = last + 1 < to->first_seq ? to->first_seq : last + 1;
        if (c->port.cursor > session_next_seq(to)) c->port.cursor = session_next_seq(to);
        conn_wake(c);
    }
    log_event(LOG_INFO, "resume", to->node, c->port.addr, "connection %u resumed after seq %llu", c->port.id,
             (unsigned long long)last);
    if (vet) login_vet_later(to, c->port.id, token_handle, c->token_iat_ms);
    if (to->handle[0]) {
        login_send_auth(to, c->port.id);
        // the scripts may send what a client that comes back needs (a page's mail panel)
        script_hook("attach", to, NULL);
    }
    return true;
}

// The handle a token vouches for (verified, not revoked, the account not
// locked) into out; false when there is none. On a store that answers later
// only its signature is checked here; the rest after (requests_resume).
static bool token_handle(Conn *c, const char *token, char *out, size_t outlen) {
    const char *why = NULL;
    int64_t iat_ms;
    int64_t now = (int64_t)(text_now_ms() / 1000);
    if (jwt_verify(token, strlen(token), g_cfg.jwt_secret, now, out, outlen, &iat_ms, &why) || !auth_handle_valid(out))
        return false;
    c->token_iat_ms = iat_ms;
    return !login_token_checked_at_once() || !login_token_problem(out, iat_ms);
}

static void do_resume(Conn *c, cJSON *req) {
    bool bad = false;
    const char *id = str_field(req, "session", &bad);
    cJSON *ls = cJSON_GetObjectItem(req, "last_seq");
    cJSON *tok = cJSON_GetObjectItem(req, "token");
    if (bad || (ls && !cJSON_IsNumber(ls)) || (tok && !cJSON_IsString(tok))) {
        reply_error(c, "bad_request", "resume needs session (string) and last_seq (number); token is a string");
        return;
    }
    if (addrban_match(c->port.addr, text_now_ms())) { // banned since this connection came in
        log_event(LOG_WARN, "resume_refused", 0, c->port.addr, "connection %u: address banned", c->port.id);
        conn_close_why(c, 1008, "banned");
        return;
    }
    char handle[HANDLE_MAX + 1] = "";
    if (tok && !token_handle(c, tok->valuestring, handle, sizeof handle)) handle[0] = 0;
    Session *to = session_by_resume_id(id);
    // a session that exists but may not be resumed from here looks like one
    // that does not: the answer tells a guesser nothing
    if (!to || !requests_resume(c, to, ls && ls->valuedouble > 0 ? (uint64_t)ls->valuedouble : 0,
                                handle[0] ? handle : NULL))
        reply_error(c, "no_session", "no such session, or it has ended");
}

static void do_typing(Conn *c, cJSON *req) {
    bool bad = false;
    const char *state = str_field(req, "state", &bad);
    if (bad || (strcmp(state, "start") && strcmp(state, "stop"))) {
        reply_error(c, "bad_request", "typing needs state \"start\" or \"stop\"");
        return;
    }
    Session *s = c->port.session;
    if (!s->handle[0] || !s->room) return; // nobody to tell
    cJSON *ev = event_new("typing");
    cJSON_AddStringToObject(ev, "room", s->room->name);
    cJSON_AddStringToObject(ev, "from", s->handle);
    cJSON_AddStringToObject(ev, "state", state);
    Msg *m = event_encode(ev);
    if (!m) return;
    route_room(s->room, m, s);
    msg_unref(m);
}

// {"type":"presence"} (or "state":"on"): this connection wants `presence`
// events from now on, and the full list at once when logged in (a page that
// saw a gap in `v` asks again). "off" stops them.
static void do_presence(Conn *c, cJSON *req) {
    cJSON *st = cJSON_GetObjectItem(req, "state");
    if (st && (!cJSON_IsString(st) || (strcmp(st->valuestring, "on") && strcmp(st->valuestring, "off")))) {
        reply_error(c, "bad_request", "presence takes state \"on\" or \"off\"");
        return;
    }
    c->port.presence = !st || !strcmp(st->valuestring, "on");
    if (c->port.presence) roster_subscribe(c->port.session);
}

// Whether the JSON text holds U+0000 in a string, written as the escape
// \u0000 or as a raw byte. cJSON keeps strings NUL-terminated and gives no
// length, so such a string would be cut short unseen: a password
// "abcdefgh\u0000XYZ" would be registered as "abcdefgh". Escapes occur only
// inside strings, so no string tracking is needed; taking each backslash with
// the character after it keeps "\\u0000" (a backslash, then "u0000") apart.
static bool has_nul(const char *data, size_t len) {
    if (memchr(data, 0, len)) return true;
    for (const char *p = data, *end = data + len; (p = (const char *)memchr(p, '\\', (size_t)(end - p)));) {
        if (end - p >= 6 && !memcmp(p + 1, "u0000", 5)) return true;
        p += 2;
        if (p >= end) break;
    }
    return false;
}


// Input arrives here at the rate limit's pace (net/pace.h).
void requests_binary(Conn *c) {
    if (!c->port.session || c->port.closing) return;
    reply_error(c, "bad_request", "binary frames are not accepted; send JSON text");
}

void requests_handle(Conn *c, const char *data, size_t len) {
    Session *s = c->port.session;
    if (!s || s->ending || c->port.closing) return;
    cJSON *req = cJSON_ParseWithLength(data, len);
    if (!req || !cJSON_IsObject(req)) {
        cJSON_Delete(req);
        reply_error(c, "bad_json", "expected one JSON object");
        return;
    }
    bool bad = false;
    const char *type = str_field(req, "type", &bad);
    if (has_nul(data, len)) {
        reply_error(c, "bad_request", "strings may not contain U+0000");
    } else if (bad) {
        reply_error(c, "bad_request", "missing type");
    } else if (!strcmp(type, "input")) {
        cJSON *t = cJSON_GetObjectItem(req, "text");
        if (!cJSON_IsString(t)) reply_error(c, "bad_request", "input needs text (string)");
        else session_input(s, c->port.id, t->valuestring, strlen(t->valuestring));
    } else if (!strcmp(type, "login") || !strcmp(type, "register")) {
        const char *handle = str_field(req, "handle", &bad);
        const char *password = str_field(req, "password", &bad);
        if (bad) reply_error(c, "bad_request", "needs handle and password (strings)");
        else auth_start(s, c->port.id, type[0] == 'l' ? AUTH_LOGIN : AUTH_REGISTER, handle, password);
    } else if (!strcmp(type, "resume")) {
        do_resume(c, req);
    } else if (!strcmp(type, "typing")) {
        do_typing(c, req);
    } else if (!strcmp(type, "presence")) {
        do_presence(c, req);
    } else {
        reply_error(c, "bad_request", "unknown type");
    }
    cJSON_Delete(req);
}
