// Calls upward. model/ and board/ never name a function of the layers above
// them (script/, net/): what they need done there goes through this one
// table, which main.cpp fills before anything runs, as libuv calls a
// callback its user installed. Each entry says who answers it.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct Msg;
struct Port;
struct Room;
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
    // rules (a `register` listener: reserved words, look-alikes), answered
    // through done (at once, or later when a listener waits for the store):
    // 1 yes; 0 no, with their words for it in why (may be empty); -1 they
    // could not decide (a listener failed): no account is made.
    void (*vet_register)(Session *s, const char *handle, void (*done)(int verdict, const char *why, void *ud), void *ud);
    // board/lifecycle: s lost its last port, or got one back while detached.
    // can_return says whether that last port's client can come back
    // (port_can_return): then its grace period starts; else it ends.
    void (*detached)(Session *s, bool can_return);
    void (*attached)(Session *s);
    // board/lifecycle, script and cluster: s has ended; what they keep for it
    // goes (its timers, its scripts' table, its place on the board). Its
    // ports are closing.
    void (*ended)(Session *s);

    // The cluster, when the board runs on many processes (all NULL when it
    // does not). A remote session (Session.proc) lives in another process:
    // an event for it goes there, and so does logging it off.
    void (*remote_push)(Session *s, Msg *m);
    void (*remote_end)(Session *s);
    // A room's event (m encoded once) or one for everyone, to the other
    // processes too: once per event and process, never per recipient.
    void (*bus_room)(Room *r, Msg *m, const Session *sender);
    void (*bus_all)(Msg *m);
    // What /who shows of a local session changed (login, room, activity).
    void (*shown)(Session *s);
    // board/limits: a failed login, counted on every process.
    void (*login_failed)(const char *handle, const char *addr);
    // script: watcher (here) watches target (remote) from now on, or stops
    // watching it (target NULL).
    void (*remote_spy)(Session *watcher, Session *target, const char *prefix);
    // script: an account's rights changed (pl.set_sysop): every process
    // applies it to its own sessions of handle.
    void (*account_changed)(const char *handle);
    // script: a sysop asked for a reload (/reload, SIGHUP), which reloaded
    // here: every process reloads.
    void (*reload_asked)(const char *why);
    // script: an event for the scripts of every other process
    // (pl.emit_board), with one text.
    void (*board_emit)(const char *name, const char *json);
    // script: an event for the scripts of the process remote session s
    // lives on, pl.emit(name, s, args...) there (pl.emit_to); args is a JSON
    // array of strings, numbers and booleans (the callee owns nothing).
    void (*remote_emit)(Session *s, const char *name, const char *args_json);
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
