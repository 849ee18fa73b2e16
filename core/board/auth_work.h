// What the hashing threads work on for board/auth.cpp, shared with
// board/auth_check.cpp (a password checked for a caller that has no session
// yet: SSH). Internal to those two files.
#pragma once
#include <sodium.h>
#include <uv.h>

#include "board/accounts.h"
#include "board/auth.h"
#include "board/hashpool.h"
#include "board/policy.h"
#include "model/session.h"

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
    bool in_call, answered; // AUTH_CHECK: inside auth_check still; answered and done with there
};

extern uv_loop_t *g_auth_loop;
// Verified against when the handle does not exist, so a wrong handle takes as
// long as a wrong password.
extern char g_auth_dummy_hash[crypto_pwhash_STRBYTES];

// The hashing thread's half, and the loop's half when it is back.
void auth_work_run(HashJob *job);
void auth_work_done(HashJob *job);
// The close callback of w->delay: frees w.
void auth_work_free(uv_handle_t *h);
// AUTH_CHECK back from the threads (board/auth_check.cpp).
void auth_check_done(AuthWork *w);
