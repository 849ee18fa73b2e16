// Calls upward. model/ and board/ never name a function of the layers above
// them (script/, net/): what they need done there goes through this one
// table, which main.cpp fills before anything runs, as libuv calls a
// callback its user installed. Each entry says who answers it.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct Port;
struct Session;

struct Up {
    // net: p has something new to write (now, at the end of the loop
    // iteration, or on the next writable callback).
    void (*deliver)(Port *p);
    // net: close p once what it holds is written, with a WebSocket close
    // code (0 = normal) and a short reason in protocol words, or NULL.
    void (*close)(Port *p, uint16_t code, const char *reason);
    // net: p fell queue_max events behind and slow_policy says it goes:
    // closed with CLOSE_TOO_SLOW, and soon whether or not it still reads.
    void (*drop)(Port *p);
    // script: a named event for the scripts, pl.hooks[name](s[, arg]): a line
    // of input ("input"), a session ending ("session_end", while it is still
    // whole), a login ("auth"), a failed one ("login_failed", code), ... The
    // names are listed in lua/README.md. arg may be NULL.
    void (*hook)(const char *name, Session *s, const char *arg, size_t len);
    // script: may s make an account with this handle? The scripts' own
    // rules (a `register` listener: reserved words, look-alikes). 1 yes; 0
    // no, with their words for it in why (may be empty); -1 they could not
    // decide (a listener failed): no account is made.
    int (*vet_register)(Session *s, const char *handle, char *why, size_t whylen);
    // board/lifecycle: s lost its last port (its grace period starts), or
    // got one back while detached.
    void (*detached)(Session *s);
    void (*attached)(Session *s);
    // board/lifecycle and script: s has ended; what they keep for it goes
    // (its timers, its scripts' table). Its ports are closing.
    void (*ended)(Session *s);
};

extern Up g_up;

static inline void up_hook(const char *name, Session *s, const char *arg) {
    size_t n = 0;
    if (arg)
        while (arg[n]) n++;
    g_up.hook(name, s, arg, n);
}

// Close codes the core itself uses (WebSocket; telnet just closes).
#define CLOSE_TOO_SLOW 4008      // a reader that fell queue_max events behind
#define CLOSE_SESSION_MOVED 4009 // attached before the session logged in on another connection
