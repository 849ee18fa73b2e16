#include "board/auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "board/accounts.h"
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

static uv_loop_t *g_loop;
// Verified against when the handle does not exist, so a wrong handle takes as
// long as a wrong password.
static char g_dummy_hash[crypto_pwhash_STRBYTES];

struct AuthWork {
    HashJob job;         // first: a HashJob* is an AuthWork*
    uv_timer_t delay;    // a failure's answer waits here (slow-down)
    const char *code;    // the failure to answer with
    SessionRef session;
    uint32_t reply_conn;
    uint32_t login_port; // the port the login came from (login_complete keeps only it)
    AuthKind kind;
    bool ok;
    Account acct;
    char password[PASSWORD_MAX + 1];
    char new_password[PASSWORD_MAX + 1]; // AUTH_CHANGE
    char addr[48];       // AUTH_REGISTER: whose allowance to give back if no account is made; AUTH_CHECK: who asks
    AuthCheckFn check_fn; // AUTH_CHECK: whom to tell (NULL once cancelled)
    void *check_arg;
};

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

static int find_account(const char *handle, Account *out);

static void work(HashJob *job) {
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

static void work_free(uv_handle_t *h) { free(h->data); }

static void check_answer(AuthWork *w, const char *code) {
    AuthCheckFn fn = w->check_fn;
    w->check_fn = NULL;
    if (fn) fn(w->check_arg, code, code ? NULL : w->acct.handle);
}

// Answers a failure; the session stays busy until then, so a client cannot
// go around the slow-down by asking again.
static void answer_failure(uv_timer_t *t) {
    AuthWork *w = (AuthWork *)t->data;
    if (w->kind == AUTH_CHECK) {
        check_answer(w, w->code);
        uv_close((uv_handle_t *)&w->delay, work_free);
        return;
    }
    Session *s = session_deref(w->session);
    if (s) {
        s->auth_busy = false;
        fail(s, w->reply_conn, w->code);
        session_replay_typeahead(s);
    }
    uv_close((uv_handle_t *)&w->delay, work_free);
}

// A failed password, however it was asked for: counted, logged, and
// answered after the slow-down (0 ms: at once).
static uint32_t count_failure(AuthWork *w, uint32_t node, const char *addr) {
    g_stats.login_failures++;
    log_event(LOG_WARN, "login_failed", node, addr, "failed login for '%s'", w->acct.handle);
    return limits_login_failed(w->acct.handle, addr, text_now_ms());
}

static void delay_failure(AuthWork *w, const char *code, uint32_t wait) {
    w->code = code;
    w->delay.data = w;
    uv_timer_init(g_loop, &w->delay);
    uv_timer_start(&w->delay, answer_failure, wait, 0);
}

static void check_done(AuthWork *w) {
    const char *code = NULL;
    if (!w->check_fn) { // the caller went
        free(w);
        return;
    }
    if (!w->job.ran) { // the loop stopped: the caller lets go of w (nothing is counted)
        check_answer(w, "unavailable");
        free(w);
        return;
    }
    if (!w->ok) {
        uint32_t wait = count_failure(w, 0, w->addr);
        if (wait) return delay_failure(w, "bad_login", wait);
        code = "bad_login";
    } else if (w->acct.locked) {
        code = "locked"; // said only to whoever knows the password, as at the prompts
        log_event(LOG_WARN, "login_locked", 0, w->addr, "login for locked account '%s' refused", w->acct.handle);
    } else {
        limits_login_ok(w->acct.handle);
        account_touch(w->acct.id);
    }
    check_answer(w, code);
    free(w);
}

static void done(HashJob *job) {
    AuthWork *w = (AuthWork *)job;
    if (w->kind == AUTH_CHECK) return check_done(w);
    Session *s = job->ran ? session_deref(w->session) : NULL;
    if (!s) {
        if (w->kind == AUTH_REGISTER) limits_register_give_back(w->addr);
        free(w);
        return;
    }
    if (w->kind == AUTH_CHANGE) {
        s->auth_busy = false;
        const char *result = !w->ok                                      ? "bad_login"
                             : account_set_hash(w->acct.id, w->acct.hash) ? "unavailable"
                                                                          : "ok";
        log_event(LOG_INFO, "password_change", s->node, s->addr, "%s: %s", s->handle,
                  !strcmp(result, "ok")          ? "changed"
                  : !strcmp(result, "bad_login") ? "refused (wrong password)"
                                                 : "not stored (storage unavailable)");
        free(w);
        if (!strcmp(result, "ok")) {
            // whoever holds a token or a login of the old password is out;
            // this session stays, and its WebSockets get a token issued after
            // the revocation (its iat has milliseconds: board/jwt.h)
            tokens_revoke(s->handle, (int64_t)text_now_ms());
            login_end_sessions_of(s->handle, "password_changed", s);
            login_send_auth(s, 0);
        }
        up_hook("password_changed", s, result);
        session_replay_typeahead(s);
        return;
    }
    const char *code = NULL;
    if (!w->ok) {
        code = w->kind == AUTH_LOGIN ? "bad_login" : "weak_password";
        if (w->kind == AUTH_REGISTER) log_error("hash_error", "password hashing failed (out of memory?)");
    } else if (w->kind == AUTH_LOGIN && w->acct.locked) {
        // said only to whoever knows the password: no way to probe for locked accounts
        code = "locked";
        log_event(LOG_WARN, "login_locked", s->node, s->addr, "login for locked account '%s' refused", w->acct.handle);
    } else if (w->kind == AUTH_REGISTER) {
        int rc = account_create(w->acct.handle, w->acct.hash, false, &w->acct.id);
        if (rc == 1) code = "handle_taken";
        else if (rc < 0) code = "unavailable";
        else log_event(LOG_INFO, "register", s->node, s->addr, "registered %s", w->acct.handle);
        if (code) limits_register_give_back(w->addr);
    }
    if (code && !strcmp(code, "bad_login")) {
        s->login_failures++;
        uint32_t wait = count_failure(w, s->node, s->addr);
        if (wait) return delay_failure(w, code, wait);
    }
    s->auth_busy = false;
    if (code) {
        fail(s, w->reply_conn, code);
    } else {
        if (w->kind == AUTH_LOGIN) limits_login_ok(w->acct.handle);
        account_touch(w->acct.id);
        s->level = w->acct.level; // 0 for an account made now
        login_complete(s, w->acct.id, w->acct.handle, w->acct.sysop, w->login_port);
    }
    free(w);
    session_replay_typeahead(s);
}

// Hands w to the hashing threads; false (w freed) when thousands already wait.
static bool submit(Session *s, AuthWork *w) {
    w->job.run = work;
    w->job.done = done;
    if (!hashpool_submit(&w->job)) {
        log_event(LOG_WARN, "auth_busy", s->node, s->addr, "password hashing queue is full");
        sodium_memzero(w, sizeof *w);
        free(w);
        return false;
    }
    s->auth_busy = true;
    return true;
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
    AuthWork *w = (AuthWork *)calloc(1, sizeof *w);
    if (!w) return;
    w->session = session_ref(s);
    w->reply_conn = reply_conn;
    w->login_port = reply_conn ? reply_conn : s->input_port;
    w->kind = kind;
    size_t plen = strlen(password);
    if (kind == AUTH_REGISTER) {
        const char *code = NULL, *weak = NULL;
        int taken = 0, vet = 1;
        char why[200] = "";
        SessionRef ref = session_ref(s);
        if (!g_cfg.registration) code = "closed";
        else if (!(code = policy_handle_problem(handle, false))) {
            if ((weak = policy_password_problem(handle, password))) code = "weak_password";
            else if ((taken = account_taken(handle)) < 0) code = "unavailable";
            else if (taken) code = "handle_taken";
            // the scripts' own rules, for every way of registering (the
            // prompts and the `register` message alike)
            else if (g_up.vet_register && (vet = g_up.vet_register(s, handle, why, sizeof why)) != 1)
                code = vet < 0 ? "unavailable" : "handle_reserved";
            else if (!limits_register_take(s->addr, text_now_ms())) code = "register_limited";
        }
        if (!session_deref(ref)) { // the scripts ended it meanwhile
            free(w);
            return;
        }
        if (code) {
            if (!strcmp(code, "register_limited"))
                log_event(LOG_WARN, "register_limited", s->node, s->addr, "registration refused: %d an hour from one address",
                          g_cfg.register_per_hour);
            if (vet == 0) log_event(LOG_INFO, "register_refused", s->node, s->addr, "the scripts refused '%.20s'", handle);
            free(w);
            if (vet == 0 && why[0] && reply_conn) { // in the scripts' words
                session_send(s, event_error(code, why), reply_conn);
                return;
            }
            return fail_why(s, reply_conn, code, weak);
        }
        snprintf(w->acct.handle, sizeof w->acct.handle, "%s", handle);
        snprintf(w->addr, sizeof w->addr, "%s", s->addr);
        w->job.low = true; // behind logins in the hashing queue
    } else {
        if (find_account(handle, &w->acct) < 0) { // not a wrong password: nothing to count against anyone
            free(w);
            return fail(s, reply_conn, "unavailable");
        }
    }
    snprintf(w->password, sizeof w->password, "%s", plen > PASSWORD_MAX ? "" : password);
    if (!submit(s, w)) {
        if (kind == AUTH_REGISTER) limits_register_give_back(s->addr);
        fail(s, reply_conn, "busy");
    }
}

// The account to check a password against: the handle's, or for a handle
// nobody has the dummy hash, so that a wrong handle takes as long as a
// wrong password. -1 when the database cannot say.
static int find_account(const char *handle, Account *out) {
    int found = auth_handle_valid(handle) ? account_find(handle, out) : 0;
    if (found < 0) return -1;
    if (found != 1) {
        memset(out, 0, sizeof *out);
        memcpy(out->hash, g_dummy_hash, sizeof g_dummy_hash);
        snprintf(out->handle, sizeof out->handle, "%.20s", handle);
    }
    return 0;
}

AuthWork *auth_check(const char *handle, const char *password, const char *addr, AuthCheckFn fn, void *arg) {
    const char *code = NULL;
    uint32_t locked = limits_login_locked(handle, addr, text_now_ms());
    AuthWork *w = locked ? NULL : (AuthWork *)calloc(1, sizeof *w);
    if (locked) {
        log_event(LOG_WARN, "login_throttled", 0, addr, "login for '%.20s' refused: locked for %us more", handle, locked);
        g_stats.login_failures++;
        code = "throttled";
    } else if (!w) {
        code = "busy";
    } else if (find_account(handle, &w->acct) < 0) {
        code = "unavailable"; // not a wrong password: nothing to count against anyone
    } else {
        w->kind = AUTH_CHECK;
        w->check_fn = fn;
        w->check_arg = arg;
        snprintf(w->addr, sizeof w->addr, "%s", addr);
        snprintf(w->password, sizeof w->password, "%s", strlen(password) > PASSWORD_MAX ? "" : password);
        w->job.run = work;
        w->job.done = done;
        if (hashpool_submit(&w->job)) return w;
        log_event(LOG_WARN, "auth_busy", 0, addr, "password hashing queue is full");
        sodium_memzero(w, sizeof *w);
        code = "busy";
    }
    free(w);
    fn(arg, code, NULL);
    return NULL;
}

void auth_check_cancel(AuthWork *w) {
    if (w) w->check_fn = NULL;
}

void auth_change_password(Session *s, const char *old_pw, const char *new_pw) {
    const char *code = NULL;
    AuthWork *w = (AuthWork *)calloc(1, sizeof *w);
    if (!w) return;
    int found = 0;
    if (s->auth_busy) code = "busy";
    else if (!s->handle[0] || s->account_id <= 0) code = "no_account";
    else if ((found = account_find(s->handle, &w->acct)) < 0) code = "unavailable";
    else if (!found) code = "no_account";
    else if (policy_password_problem(s->handle, new_pw)) code = "weak_password";
    if (code) {
        free(w);
        up_hook("password_changed", s, code);
        return;
    }
    w->session = session_ref(s);
    w->kind = AUTH_CHANGE;
    snprintf(w->password, sizeof w->password, "%s", strlen(old_pw) > PASSWORD_MAX ? "" : old_pw);
    snprintf(w->new_password, sizeof w->new_password, "%s", new_pw);
    if (!submit(s, w)) up_hook("password_changed", s, "busy");
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
    snprintf(g_dummy_hash, sizeof g_dummy_hash, "$argon2id$v=19$m=%zu,t=%lu,p=1$%s$%s", g_cfg.pwhash_mem / 1024,
             g_cfg.pwhash_ops, salt64, hash64);
    return crypto_pwhash_str_needs_rehash(g_dummy_hash, g_cfg.pwhash_ops, g_cfg.pwhash_mem) == 0;
}

int auth_init(uv_loop_t *loop) {
    g_loop = loop;
    if (hashpool_start(loop, g_cfg.hash_threads)) return -1;
    if (make_dummy_hash()) return 0;
    // a libsodium that writes its strings differently: make one the slow way
    char pw[32];
    randombytes_buf(pw, sizeof pw - 1);
    for (size_t i = 0; i < sizeof pw - 1; i++) pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
    pw[sizeof pw - 1] = 0;
    if (crypto_pwhash_str(g_dummy_hash, pw, strlen(pw), g_cfg.pwhash_ops, g_cfg.pwhash_mem) != 0)
        log_warn("hash_error", "could not make the dummy password hash");
    return 0;
}
