#include "board/auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "board/accounts.h"
#include "board/auth_work.h"
#include "base/config.h"
#include "model/event.h"
#include "board/hashpool.h"
#include "board/jwt.h"
#include "board/limits.h"
#include "base/stats.h"
#include "base/text.h"
#include "base/log.h"
#include "board/policy.h"
#include "board/lifecycle.h"
#include "board/login.h"
#include "model/session.h"
#include "model/up.h"

uv_loop_t *g_auth_loop;
char g_auth_dummy_hash[crypto_pwhash_STRBYTES];


bool auth_handle_valid(const char *h) {
    size_t n = strlen(h);
    if (n < 2 || n > HANDLE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)h[i]) || h[i] == '_' || h[i] == '-')) return false;
    return true;
}

const char *auth_message(const char *code) {
    if (!strcmp(code, "bad_login")) return "wrong handle or password";
    if (!strcmp(code, "throttled")) return "too many failed attempts";
    if (!strcmp(code, "handle_taken")) return "that handle is taken";
    if (!strcmp(code, "handle_reserved")) return "that handle is reserved";
    if (!strcmp(code, "bad_handle")) return "a handle is 2-20 letters, digits, _ or -, with at least one letter";
    if (!strcmp(code, "weak_password")) return "that password is too weak";
    if (!strcmp(code, "locked")) return "this account is locked";
    if (!strcmp(code, "closed")) return "registration is closed";
    if (!strcmp(code, "busy")) return "a login is already in progress";
    if (!strcmp(code, "logged_in")) return "already logged in";
    if (!strcmp(code, "unavailable")) return "storage is unavailable; try again later";
    if (!strcmp(code, "register_limited")) return "too many new accounts from your address; try again later";
    return "login failed";
}

// The protocol's words for why a password was refused (board/policy.h reasons).
static const char *weak_message(const char *reason, char *buf, size_t len) {
    if (!strcmp(reason, "too_short")) snprintf(buf, len, "a password needs at least %d characters", g_cfg.password_min);
    else if (!strcmp(reason, "too_long")) snprintf(buf, len, "a password may have at most %d bytes", PASSWORD_MAX);
    else if (!strcmp(reason, "repetitive")) snprintf(buf, len, "that password only repeats itself");
    else if (!strcmp(reason, "sequential")) snprintf(buf, len, "that password is a plain sequence");
    else if (!strcmp(reason, "context")) snprintf(buf, len, "that password is your handle or this system's name");
    else snprintf(buf, len, "that password is one of the most common ones");
    return buf;
}

// weak: the policy's reason when code is weak_password (the `error` event
// carries it as `reason`; scripts ask pl.check_password themselves).
static void fail_why(Session *s, uint32_t reply_conn, const char *code, const char *weak) {
    if (!strcmp(code, "throttled")) g_stats.login_failures++;
    if (!reply_conn) return up_hook("login_failed", s, code);
    char buf[96];
    cJSON *ev = event_error(code, weak ? weak_message(weak, buf, sizeof buf) : auth_message(code));
    if (weak) cJSON_AddStringToObject(ev, "reason", weak);
    session_send(s, ev, reply_conn);
}

static void fail(Session *s, uint32_t reply_conn, const char *code) { fail_why(s, reply_conn, code, NULL); }

void auth_work_run(HashJob *job) {
    AuthWork *w = (AuthWork *)job;
    if (w->kind == AUTH_CHANGE) {
        w->ok = crypto_pwhash_str_verify(w->acct.hash, w->password, strlen(w->password)) == 0 &&
                crypto_pwhash_str(w->acct.hash, w->new_password, strlen(w->new_password), g_cfg.pwhash_ops,
                                  g_cfg.pwhash_mem) == 0;
        sodium_memzero(w->new_password, sizeof w->new_password);
    } else if (w->kind == AUTH_LOGIN || w->kind == AUTH_CHECK) {
        w->ok = crypto_pwhash_str_verify(w->acct.hash, w->password, strlen(w->password)) == 0 && w->acct.id;
    } else {
        w->ok = crypto_pwhash_str(w->acct.hash, w->password, strlen(w->password), g_cfg.pwhash_ops,
                                  g_cfg.pwhash_mem) == 0;
    }
    sodium_memzero(w->password, sizeof w->password);
}

void auth_work_free(uv_handle_t *h) { free(h->data); }

// The end of a check that never reached the hashing threads, or came back
// from them: the session is free again, and what it typed meanwhile runs.
static void finish(Session *s, AuthWork *w, const char *code) {
    s->auth_busy = false;
    if (code) fail(s, w->reply_conn, code);
    free(w);
    session_replay_typeahead(s);
}

// The session w is for, or NULL when it has gone meanwhile (w is freed then,
// and a registration's allowance given back).
static Session *still(AuthWork *w) {
    Session *s = session_deref(w->session);
    if (!s) {
        if (w->kind == AUTH_REGISTER) limits_register_give_back(w->addr);
        sodium_memzero(w, sizeof *w);
        free(w);
    }
    return s;
}

// Answers a failure; the session stays busy until then, so a client cannot
// go around the slow-down by asking again.
static void answer_failure(uv_timer_t *t) {
    AuthWork *w = (AuthWork *)t->data;
    Session *s = session_deref(w->session);
    if (s) {
        s->auth_busy = false;
        fail(s, w->reply_conn, w->code);
        session_replay_typeahead(s);
    }
    uv_close((uv_handle_t *)&w->delay, auth_work_free);
}

static void password_stored(int rc, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = still(w);
    if (!s) return;
    s->auth_busy = false;
    const char *result = rc ? "unavailable" : "ok";
    log_event(LOG_INFO, "password_change", s->node, s->addr, "%s: %s", s->handle,
              rc ? "not stored (storage unavailable)" : "changed");
    free(w);
    if (!rc) {
        // whoever holds a token or a login of the old password is out; this
        // session stays, and its WebSockets get a token issued after the
        // revocation (its iat has milliseconds: board/jwt.h)
        tokens_revoke(s->handle, (int64_t)text_now_ms(), NULL, NULL);
        login_end_sessions_of(s->handle, "password_changed", s);
        login_send_auth(s, 0);
    }
    up_hook("password_changed", s, result);
    session_replay_typeahead(s);
}

static void complete(Session *s, AuthWork *w) {
    if (w->kind == AUTH_LOGIN) limits_login_ok(w->acct.handle);
    account_touch(w->acct.id);
    s->level = w->acct.level; // 0 for an account made now
    s->auth_busy = false;
    login_complete(s, w->acct.id, w->acct.handle, w->acct.sysop, w->login_port);
    free(w);
    session_replay_typeahead(s);
}

static void registered(int rc, int64_t id, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = session_deref(w->session);
    if (rc) limits_register_give_back(w->addr);
    if (!s) { // the account stands (when made); its user will log in with it
        free(w);
        return;
    }
    if (rc) return finish(s, w, rc > 0 ? "handle_taken" : "unavailable");
    w->acct.id = id;
    log_event(LOG_INFO, "register", s->node, s->addr, "registered %s", w->acct.handle);
    complete(s, w);
}

void auth_work_done(HashJob *job) {
    AuthWork *w = (AuthWork *)job;
    if (w->kind == AUTH_CHECK) return auth_check_done(w);
    if (!job->ran) { // shutting down: nobody to answer
        if (w->kind == AUTH_REGISTER) limits_register_give_back(w->addr);
        free(w);
        return;
    }
    Session *s = still(w);
    if (!s) return;
    if (w->kind == AUTH_CHANGE) {
        if (!w->ok) {
            log_event(LOG_INFO, "password_change", s->node, s->addr, "%s: refused (wrong password)", s->handle);
            s->auth_busy = false;
            free(w);
            up_hook("password_changed", s, "bad_login");
            session_replay_typeahead(s);
            return;
        }
        return account_set_hash(w->acct.id, w->acct.hash, password_stored, w);
    }
    const char *code = NULL;
    if (!w->ok) {
        code = w->kind == AUTH_LOGIN ? "bad_login" : "weak_password";
        if (w->kind == AUTH_REGISTER) {
            log_error("hash_error", "password hashing failed (out of memory?)");
            limits_register_give_back(w->addr);
        }
    } else if (w->kind == AUTH_LOGIN && w->acct.locked) {
        // said only to whoever knows the password: no way to probe for locked accounts
        code = "locked";
        log_event(LOG_WARN, "login_locked", s->node, s->addr, "login for locked account '%s' refused", w->acct.handle);
    } else if (w->kind == AUTH_REGISTER) {
        return account_create(w->acct.handle, w->acct.hash, false, registered, w);
    }
    if (code && !strcmp(code, "bad_login")) {
        s->login_failures++;
        g_stats.login_failures++;
        log_event(LOG_WARN, "login_failed", s->node, s->addr, "failed login for '%s'", w->acct.handle);
        uint32_t wait = limits_login_failed(w->acct.handle, s->addr, text_now_ms());
        if (wait) {
            w->code = code;
            w->delay.data = w;
            uv_timer_init(g_auth_loop, &w->delay);
            uv_timer_start(&w->delay, answer_failure, wait, 0);
            return;
        }
    }
    if (code) return finish(s, w, code);
    complete(s, w);
}

// Hands w to the hashing threads; answers "busy" (w freed) when thousands
// already wait.
static void submit(Session *s, AuthWork *w) {
    w->job.run = auth_work_run;
    w->job.done = auth_work_done;
    if (hashpool_submit(&w->job)) return;
    log_event(LOG_WARN, "auth_busy", s->node, s->addr, "password hashing queue is full");
    if (w->kind == AUTH_REGISTER) limits_register_give_back(w->addr);
    if (w->kind == AUTH_CHANGE) {
        s->auth_busy = false;
        sodium_memzero(w, sizeof *w);
        free(w);
        up_hook("password_changed", s, "busy");
        return session_replay_typeahead(s);
    }
    sodium_memzero(w->password, sizeof w->password);
    finish(s, w, "busy");
}

// ---------------------------------------------------------------- registering

static void vetted(int verdict, const char *why, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = session_deref(w->session);
    if (!s) { // the scripts ended it meanwhile
        sodium_memzero(w, sizeof *w);
        free(w);
        return;
    }
    const char *code = verdict < 0 ? "unavailable" : verdict == 0 ? "handle_reserved" : NULL;
    if (!code && !limits_register_take(s->addr, text_now_ms())) {
        code = "register_limited";
        log_event(LOG_WARN, "register_limited", s->node, s->addr, "registration refused: %d an hour from one address",
                  g_cfg.register_per_hour);
    }
    if (!code) {
        snprintf(w->addr, sizeof w->addr, "%s", s->addr);
        w->job.low = true; // behind logins in the hashing queue
        return submit(s, w);
    }
    sodium_memzero(w->password, sizeof w->password);
    if (verdict == 0) log_event(LOG_INFO, "register_refused", s->node, s->addr, "the scripts refused '%.20s'", w->acct.handle);
    if (verdict == 0 && why && why[0] && w->reply_conn) { // in the scripts' words
        session_send(s, event_error(code, why), w->reply_conn);
        return finish(s, w, NULL);
    }
    finish(s, w, code);
}

static void taken(int rc, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = session_deref(w->session);
    if (!s) {
        sodium_memzero(w, sizeof *w);
        free(w);
        return;
    }
    if (rc) {
        sodium_memzero(w->password, sizeof w->password);
        return finish(s, w, rc < 0 ? "unavailable" : "handle_taken");
    }
    // the scripts' own rules, for every way of registering (the prompts and
    // the `register` message alike)
    if (!g_up.vet_register) return vetted(1, NULL, w);
    g_up.vet_register(s, w->acct.handle, vetted, w);
}

// ---------------------------------------------------------------- logging in

static void found(int rc, const Account *a, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = session_deref(w->session);
    if (!s) {
        sodium_memzero(w, sizeof *w);
        free(w);
        return;
    }
    if (rc < 0) { // not a wrong password: nothing to count against anyone
        sodium_memzero(w->password, sizeof w->password);
        return finish(s, w, "unavailable");
    }
    if (rc == 1) {
        char handle[HANDLE_MAX + 1];
        memcpy(handle, w->acct.handle, sizeof handle);
        w->acct = *a;
        if (!w->acct.handle[0]) memcpy(w->acct.handle, handle, sizeof handle);
    }
    submit(s, w);
}

static AuthWork *work_new(Session *s, uint32_t reply_conn, AuthKind kind, const char *handle, const char *password) {
    AuthWork *w = (AuthWork *)calloc(1, sizeof *w);
    if (!w) return NULL;
    w->session = session_ref(s);
    w->reply_conn = reply_conn;
    w->login_port = reply_conn ? reply_conn : s->input_port;
    w->kind = kind;
    snprintf(w->acct.handle, sizeof w->acct.handle, "%.20s", handle);
    snprintf(w->password, sizeof w->password, "%s", strlen(password) > PASSWORD_MAX ? "" : password);
    // what a handle with no account is checked against, so that a wrong
    // handle takes as long as a wrong password
    memcpy(w->acct.hash, g_auth_dummy_hash, sizeof g_auth_dummy_hash);
    return w;
}

void auth_start(Session *s, uint32_t reply_conn, AuthKind kind, const char *handle, const char *password) {
    if (s->handle[0]) return fail(s, reply_conn, "logged_in");
    if (s->auth_busy) return fail(s, reply_conn, "busy");
    if (s->login_failures >= g_cfg.login_attempts) {
        log_event(LOG_WARN, "login_throttled", s->node, s->addr, "login throttled after %u failures in this session", s->login_failures);
        return fail(s, reply_conn, "throttled");
    }
    uint32_t locked = kind == AUTH_LOGIN ? limits_login_locked(handle, s->addr, text_now_ms()) : 0;
    if (locked) {
        log_event(LOG_WARN, "login_throttled", s->node, s->addr, "login for '%.20s' refused: locked for %us more", handle, locked);
        return fail(s, reply_conn, "throttled");
    }
    if (kind == AUTH_REGISTER) {
        const char *code = NULL, *weak = NULL;
        if (!g_cfg.registration) code = "closed";
        else if (!(code = policy_handle_problem(handle, false)) && (weak = policy_password_problem(handle, password)))
            code = "weak_password";
        if (code) return fail_why(s, reply_conn, code, weak);
    }
    AuthWork *w = work_new(s, reply_conn, kind, handle, password);
    if (!w) return;
    // from here until the answer, what the user types waits (typeahead)
    s->auth_busy = true;
    if (kind == AUTH_REGISTER) return account_taken(handle, taken, w);
    if (!auth_handle_valid(handle)) return found(0, NULL, w);
    account_find(handle, found, w);
}

static void change_found(int rc, const Account *a, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    Session *s = still(w);
    if (!s) return;
    const char *code = rc < 0 ? "unavailable" : rc == 0 ? "no_account" : NULL;
    if (!code && policy_password_problem(s->handle, w->new_password)) code = "weak_password";
    if (code) {
        s->auth_busy = false;
        sodium_memzero(w, sizeof *w);
        free(w);
        up_hook("password_changed", s, code);
        return session_replay_typeahead(s);
    }
    w->acct = *a;
    submit(s, w);
}

void auth_change_password(Session *s, const char *old_pw, const char *new_pw) {
    const char *code = s->auth_busy ? "busy" : (!s->handle[0] || s->account_id <= 0) ? "no_account" : NULL;
    if (code) return up_hook("password_changed", s, code);
    AuthWork *w = work_new(s, 0, AUTH_CHANGE, s->handle, old_pw);
    if (!w) return;
    snprintf(w->new_password, sizeof w->new_password, "%s", new_pw);
    s->auth_busy = true;
    account_find(s->handle, change_found, w);
}

// The dummy hash is written out, not computed: computing one runs argon2id at
// the full cost on the loop at start (~100 ms, and 64 MiB that then stays the
// process's peak RSS). It needs only to be a well-formed argon2id string with
// the configured cost, so checking a password against it costs what checking
// against a real one does; libsodium itself confirms the string parses with
// exactly those parameters.
static bool make_dummy_hash(void) {
    unsigned char salt[crypto_pwhash_SALTBYTES], hash[32];
    char salt64[sodium_base64_ENCODED_LEN(sizeof salt, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    char hash64[sodium_base64_ENCODED_LEN(sizeof hash, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(hash, sizeof hash);
    sodium_bin2base64(salt64, sizeof salt64, salt, sizeof salt, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_bin2base64(hash64, sizeof hash64, hash, sizeof hash, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    snprintf(g_auth_dummy_hash, sizeof g_auth_dummy_hash, "$argon2id$v=19$m=%zu,t=%lu,p=1$%s$%s", g_cfg.pwhash_mem / 1024,
             g_cfg.pwhash_ops, salt64, hash64);
    return crypto_pwhash_str_needs_rehash(g_auth_dummy_hash, g_cfg.pwhash_ops, g_cfg.pwhash_mem) == 0;
}

int auth_init(uv_loop_t *loop) {
    g_auth_loop = loop;
    if (hashpool_start(loop, g_cfg.hash_threads)) return -1;
    if (make_dummy_hash()) return 0;
    // a libsodium that writes its strings differently: make one the slow way
    char pw[32];
    randombytes_buf(pw, sizeof pw - 1);
    for (size_t i = 0; i < sizeof pw - 1; i++) pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
    pw[sizeof pw - 1] = 0;
    if (crypto_pwhash_str(g_auth_dummy_hash, pw, strlen(pw), g_cfg.pwhash_ops, g_cfg.pwhash_mem) != 0)
        log_warn("hash_error", "could not make the dummy password hash");
    return 0;
}
