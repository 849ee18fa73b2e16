// A password checked for a caller that has no session yet (SSH's password
// authentication, before the board sees the connection): the same hash on
// the hashing threads, lockouts, slow-down, log lines and counters as a
// login at the prompts (board/auth.cpp).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/stats.h"
#include "base/text.h"
#include "board/auth_work.h"
#include "board/limits.h"

static void check_answer(AuthWork *w, const char *code) {
    AuthCheckFn fn = w->check_fn;
    w->check_fn = NULL;
    if (fn) fn(w->check_arg, code, code ? NULL : w->acct.handle);
}

// A failure answered after its slow-down, as the prompts' are.
static void answer_late(uv_timer_t *t) {
    AuthWork *w = (AuthWork *)t->data;
    check_answer(w, w->code);
    uv_close((uv_handle_t *)&w->delay, auth_work_free);
}

// A password checked for a caller without a session (SSH): counted and
// slowed down as a login at the prompts is.
void auth_check_done(AuthWork *w) {
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
        g_stats.login_failures++;
        log_event(LOG_WARN, "login_failed", 0, w->addr, "failed login for '%s'", w->acct.handle);
        uint32_t wait = limits_login_failed(w->acct.handle, w->addr, text_now_ms());
        if (wait) {
            w->code = "bad_login";
            w->delay.data = w;
            uv_timer_init(g_auth_loop, &w->delay);
            uv_timer_start(&w->delay, answer_late, wait, 0);
            return;
        }
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

// A check that ends before the hashing threads: answered, and freed here or,
// when still inside auth_check (a store that answers at once), there.
static void check_end(AuthWork *w, const char *code) {
    check_answer(w, code);
    if (w->in_call) {
        w->answered = true;
        return;
    }
    sodium_memzero(w, sizeof *w);
    free(w);
}

static void check_found(int rc, const Account *a, void *ud) {
    AuthWork *w = (AuthWork *)ud;
    if (!w->check_fn) return check_end(w, NULL); // cancelled meanwhile
    if (rc < 0) return check_end(w, "unavailable"); // not a wrong password: nothing to count against anyone
    if (rc == 1) {
        char handle[HANDLE_MAX + 1];
        memcpy(handle, w->acct.handle, sizeof handle);
        w->acct = *a;
        if (!w->acct.handle[0]) memcpy(w->acct.handle, handle, sizeof handle);
    }
    w->job.run = auth_work_run;
    w->job.done = auth_work_done;
    if (hashpool_submit(&w->job)) return;
    log_event(LOG_WARN, "auth_busy", 0, w->addr, "password hashing queue is full");
    check_end(w, "busy");
}

AuthWork *auth_check(const char *handle, const char *password, const char *addr, AuthCheckFn fn, void *arg) {
    uint32_t locked = limits_login_locked(handle, addr, text_now_ms());
    if (locked) {
        log_event(LOG_WARN, "login_throttled", 0, addr, "login for '%.20s' refused: locked for %us more", handle, locked);
        g_stats.login_failures++;
        fn(arg, "throttled", NULL);
        return NULL;
    }
    AuthWork *w = (AuthWork *)calloc(1, sizeof *w);
    if (!w) {
        fn(arg, "busy", NULL);
        return NULL;
    }
    w->kind = AUTH_CHECK;
    w->check_fn = fn;
    w->check_arg = arg;
    snprintf(w->addr, sizeof w->addr, "%s", addr);
    snprintf(w->acct.handle, sizeof w->acct.handle, "%.20s", handle);
    snprintf(w->password, sizeof w->password, "%s", strlen(password) > PASSWORD_MAX ? "" : password);
    // a handle nobody has is checked against the dummy hash, so that a wrong
    // handle takes as long as a wrong password
    memcpy(w->acct.hash, g_auth_dummy_hash, sizeof g_auth_dummy_hash);
    w->in_call = true;
    if (!auth_handle_valid(handle)) check_found(0, NULL, w);
    else account_find(handle, check_found, w);
    w->in_call = false;
    if (w->answered) { // at once: fn has run
        sodium_memzero(w, sizeof *w);
        free(w);
        return NULL;
    }
    return w;
}

void auth_check_cancel(AuthWork *w) {
    if (w) w->check_fn = NULL;
}

