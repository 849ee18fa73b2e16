// The account tool works on the database directly, so it needs no running
// server and may run beside one (SQLite in WAL mode; board/accounts.h). What a
// running server must act on at once, such as logging off a user just
// locked, goes through account_action_add, which the server polls.
//
// Its words are for the operator at a shell, not for BBS users, so they live
// here rather than in lua/.
#include "cli_user.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "board/accounts.h"
#include "board/db.h"
#include "base/config.h"
#include "base/log.h"
#include "board/policy.h"
#include "base/text.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: partyline user COMMAND [options]\n"
            "  add NAME [--sysop]  create an account; the password is asked twice on a\n"
            "                      terminal, or read as one line from standard input\n"
            "  list                every account: handle, sysop, locked, created, last login\n"
            "  lock NAME           refuse logins by password and token, revoke its tokens\n"
            "                      and log the user off a running server\n"
            "  unlock NAME         allow logins again\n"
            "  reset NAME          set a new password (read as for add); revokes its tokens\n"
            "                      and logs the user off a running server\n"
            "options, as for the server (to find the same data_dir):\n"
            "  --config FILE  --data DIR  --set KEY=VALUE\n");
}

static struct termios g_saved_tty;
static bool g_tty_quiet;

static void restore_tty(void) {
    if (g_tty_quiet) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tty);
    g_tty_quiet = false;
}

static void on_interrupt(int) {
    restore_tty(); // the terminal must not be left without echo
    _exit(130);
}

// One line from f into out without its line end; false at end of input or
// when the line does not fit (a password over PASSWORD_MAX bytes).
static bool read_line(FILE *f, char *out, size_t outlen) {
    if (!fgets(out, (int)outlen, f)) return false;
    size_t n = strcspn(out, "\r\n");
    bool whole = out[n] != 0 || feof(f);
    out[n] = 0;
    if (!whole) {
        int ch;
        while ((ch = fgetc(f)) != EOF && ch != '\n') {}
    }
    return whole;
}

// The password for handle: asked twice without echo on a terminal, or one
// line of standard input (scripts, tests). 0, or -1 after saying why.
static int read_password(const char *handle, char *out, size_t outlen) {
    if (!isatty(STDIN_FILENO)) {
        if (read_line(stdin, out, outlen)) return 0;
        fprintf(stderr, "partyline: no password on standard input (or over %d bytes)\n", PASSWORD_MAX);
        return -1;
    }
    char again[PASSWORD_MAX + 2];
    tcgetattr(STDIN_FILENO, &g_saved_tty);
    struct termios quiet = g_saved_tty;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    g_tty_quiet = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    fprintf(stderr, "Password for %s: ", handle);
    bool ok = read_line(stdin, out, outlen);
    fprintf(stderr, "\nThe same again: ");
    ok = read_line(stdin, again, sizeof again) && ok;
    fprintf(stderr, "\n");
    restore_tty();
    bool same = ok && !strcmp(out, again);
    sodium_memzero(again, sizeof again);
    if (same) return 0;
    fprintf(stderr, ok ? "partyline: the two passwords differ\n" : "partyline: no password given\n");
    return -1;
}

static const char *weak_words(const char *reason) {
    if (!strcmp(reason, "too_short")) return "too short";
    if (!strcmp(reason, "too_long")) return "too long";
    if (!strcmp(reason, "repetitive")) return "it only repeats itself";
    if (!strcmp(reason, "sequential")) return "it is a plain sequence";
    if (!strcmp(reason, "context")) return "it is the handle or the system's name";
    return "it is one of the most common passwords";
}

// Reads, checks and hashes a new password for handle into hash. 0 or -1.
static int new_password_hash(const char *handle, char hash[crypto_pwhash_STRBYTES]) {
    char pw[PASSWORD_MAX + 2];
    int rc = -1;
    if (read_password(handle, pw, sizeof pw) == 0) {
        const char *weak = policy_password_problem(handle, pw);
        if (weak)
            fprintf(stderr, "partyline: password refused: %s (at least %d characters, not a common one)\n",
                    weak_words(weak), g_cfg.password_min);
        else if (crypto_pwhash_str(hash, pw, strlen(pw), g_cfg.pwhash_ops, g_cfg.pwhash_mem) != 0)
            fprintf(stderr, "partyline: password hashing failed (out of memory?)\n");
        else
            rc = 0;
    }
    sodium_memzero(pw, sizeof pw);
    return rc;
}

// The tool asks the store one thing at a time and waits for each answer
// (db_wait: nothing to wait for on SQLite).
struct Said {
    int rc;
    int64_t id;
    Account a;
};
static void said_rc(int rc, void *ud) { ((Said *)ud)->rc = rc; }
static void said_made(int rc, int64_t id, void *ud) {
    ((Said *)ud)->rc = rc;
    ((Said *)ud)->id = id;
}
static void said_found(int found, const Account *a, void *ud) {
    Said *w = (Said *)ud;
    w->rc = found;
    if (found == 1) w->a = *a;
}
#define SAID_NONE {-1, 0, Account{}}

static int taken_now(const char *name) {
    Said w = SAID_NONE;
    account_taken(name, said_rc, &w);
    db_wait();
    return w.rc;
}

static int revoke_and_tell(const char *handle, const char *action) {
    Said w = SAID_NONE, t = SAID_NONE;
    tokens_revoke(handle, (int64_t)text_now_ms(), said_rc, &w);
    account_action_add(handle, action, said_rc, &t);
    db_wait();
    return w.rc || t.rc ? -1 : 0;
}

static int cmd_add(const char *name, bool sysop) {
    if (policy_handle_problem(name, true)) {
        fprintf(stderr, "partyline: '%s' is not a valid handle: 2-20 letters, digits, _ or -, with a letter\n", name);
        return 1;
    }
    int taken = taken_now(name);
    if (taken) {
        fprintf(stderr, taken > 0 ? "partyline: '%s' (or a look-alike of it) is taken\n" : "partyline: database error\n",
                name);
        return 1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (new_password_hash(name, hash)) return 1;
    Said w = SAID_NONE;
    account_create(name, hash, sysop, said_made, &w);
    db_wait();
    int rc = w.rc;
    if (rc) {
        fprintf(stderr, rc > 0 ? "partyline: '%s' (or a look-alike of it) is taken\n" : "partyline: database error\n", name);
        return 1;
    }
    printf("created %s%s\n", name, sysop ? " (sysop)" : "");
    return 0;
}

static void print_account(const Account *a, void *) {
    printf("%-20s %-5s %-6s %-20s %s\n", a->handle, a->sysop ? "yes" : "no", a->locked ? "yes" : "no", a->created,
           a->last_login[0] ? a->last_login : "never");
}

static int cmd_list(void) {
    printf("%-20s %-5s %-6s %-20s %s\n", "handle", "sysop", "locked", "created", "last login");
    Said w = SAID_NONE;
    account_each(print_account, said_rc, &w);
    db_wait();
    return w.rc ? 1 : 0;
}

static int no_such(const char *name) {
    fprintf(stderr, "partyline: there is no account called '%s'\n", name);
    return 1;
}

static int cmd_lock(const char *name, bool on) {
    Said w = SAID_NONE;
    account_set(name, ACCOUNT_LOCKED, on, said_rc, &w);
    db_wait();
    int rc = w.rc;
    if (rc == 0) return no_such(name);
    // locking voids its tokens and asks a running server to log the user off
    if (rc < 0 || (on && revoke_and_tell(name, "lock"))) {
        fprintf(stderr, "partyline: database error\n");
        return 1;
    }
    printf("%s %s\n", on ? "locked" : "unlocked", name);
    return 0;
}

static int cmd_reset(const char *name) {
    Said w = SAID_NONE;
    account_find(name, said_found, &w);
    db_wait();
    int found = w.rc;
    const Account &a = w.a;
    if (found == 0) return no_such(name);
    char hash[crypto_pwhash_STRBYTES];
    if (found < 0 || new_password_hash(a.handle, hash)) return 1;
    Said h = SAID_NONE;
    account_set_hash(a.id, hash, said_rc, &h);
    db_wait();
    if (h.rc || revoke_and_tell(a.handle, "reset")) {
        fprintf(stderr, "partyline: database error\n");
        return 1;
    }
    printf("password reset for %s\n", a.handle);
    return 0;
}

int cli_user_main(int argc, char **argv) {
    char err[600];
    log_set_json(false);
    log_set_level(LOG_WARN);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc && config_load_file(&g_cfg, argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "partyline: %s\n", err);
            return 2;
        }
    const char *words[3] = {NULL, NULL, NULL};
    int nwords = 0;
    bool sysop = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--sysop")) {
            sysop = true;
        } else if (!strcmp(a, "--config") || !strcmp(a, "--data") || !strcmp(a, "--set")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "partyline: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--data") && config_set(&g_cfg, "data_dir", v, err, sizeof err)) {
                fprintf(stderr, "partyline: --data: %s\n", err);
                return 2;
            }
            if (!strcmp(a, "--set")) {
                char k[64];
                const char *eq = strchr(v, '=');
                if (!eq || eq - v >= (int)sizeof k) {
                    fprintf(stderr, "partyline: --set wants KEY=VALUE\n");
                    return 2;
                }
                memcpy(k, v, (size_t)(eq - v));
                k[eq - v] = 0;
                if (config_set(&g_cfg, k, eq + 1, err, sizeof err)) {
                    fprintf(stderr, "partyline: --set %s\n", err);
                    return 2;
                }
            }
        } else if (a[0] == '-' || nwords == 2) {
            fprintf(stderr, "partyline: unexpected '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            words[nwords++] = a;
        }
    }
    const char *cmd = words[0], *name = words[1];
    bool needs_name = cmd && strcmp(cmd, "list");
    bool known = cmd && (!strcmp(cmd, "add") || !strcmp(cmd, "list") || !strcmp(cmd, "lock") ||
                         !strcmp(cmd, "unlock") || !strcmp(cmd, "reset"));
    if (!known || needs_name != (name != NULL) || (sysop && strcmp(cmd, "add"))) {
        usage(stderr);
        return 2;
    }
    if (policy_load_passwords(g_cfg.password_list, err, sizeof err) < 0)
        fprintf(stderr, "partyline: warning: %s: common passwords are not refused\n", err);
    if (db_open(g_cfg.store, g_cfg.data_dir, err, sizeof err)) {
        fprintf(stderr, "partyline: %s\n", err);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    db_start(&loop);
    accounts_open();
    int rc;
    if (!strcmp(cmd, "add")) rc = cmd_add(name, sysop);
    else if (!strcmp(cmd, "list")) rc = cmd_list();
    else if (!strcmp(cmd, "lock")) rc = cmd_lock(name, true);
    else if (!strcmp(cmd, "unlock")) rc = cmd_lock(name, false);
    else rc = cmd_reset(name);
    db_stop();
    uv_run(&loop, UV_RUN_DEFAULT); // the connections' handles close
    db_close();
    uv_loop_close(&loop);
    policy_free();
    return rc;
}
