// Presence: every process holds a replica of the other processes' sessions
// (Session.proc != 0) in its own node table, so /who, /nodes, pl.find and
// pl.sessions see the whole board without asking anyone, and a message to a
// user elsewhere is addressed by node.
//
// What /who shows of a local session (its handle, room, activity, idle
// time, transport, address) is told to the others when it changes: what
// changed in one turn of the loop (a login that ends in the chat room is
// several changes) goes in one message at the start of the next, so the
// others are never more than a loop turn behind, and a process that dies
// a moment later has told what it had. Idle time is told to the quarter
// minute, not per keystroke. A process that (re)joins the bus says hello, and every process
// answers with a snapshot of its own sessions, which also removes replicas
// that no longer exist there.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

struct Session;

#define PRESENCE_FLUSH_MS 0 // the next turn of the loop

void presence_start(uv_loop_t *loop);
void presence_stop(void);
// A local session's shown state changed (g_up.shown), or it ended.
void presence_shown(Session *s);
void presence_ended(Session *s);
// All this process's sessions, to every other process (after hello).
void presence_snapshot(void);
// A presence message ("op":"p") from proc.
void presence_apply(uint16_t proc, const cJSON *msg);
// proc is gone: its replicas end, with the scripts' hooks (hooks: this
// process announces the leaves for the board) or quietly.
void presence_drop_proc(uint16_t proc, bool hooks);
// The bus is down: every replica goes quietly (this process is alone).
void presence_drop_all(void);
// The replica of a session by its resume id (as its own process knows it),
// or NULL.
Session *presence_by_resume_id(const char *resume_id);
// The text a session's resume id is told to the others as (a hash: the id
// itself is a secret the client holds).
void presence_resume_key(const char *resume_id, char out[17]);
