// Storage for scripts: SQL over the same SQLite file as the accounts, on a
// connection of its own that may only touch tables named s_* (an SQLite
// authorizer enforces it), one statement per call, values as parameters.
#pragma once
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"

struct lua_State;

// The loop never waits on a database lock for longer than this: a lock held
// by another process (a backup, the sqlite3 shell) turns into an error the
// caller handles, not a stall for everyone.
#define DB_BUSY_MS 5

int store_open(const char *data_dir, char *err, size_t errlen);
// Starts retrying deferred writes (pl.db.defer) while storage is away.
void store_start(uv_loop_t *loop);
void store_stop(void);
void store_close(void);
// Registers pl.db.exec, query, defer and unavailable in the table at the top of the stack.
void store_register(lua_State *L);

// Storage health, for both database connections (accounts and scripts).
// Whether an SQLite result means the storage itself failed (a lock held
// elsewhere, a full disk, an I/O error) rather than the statement.
bool store_rc_unavailable(int rc);
// A statement failed with rc (counted; a storage failure is logged once per
// outage, not once per statement), or a write succeeded again (reads prove
// nothing: they go on while another process holds the write lock).
void store_note_failure(int rc, const char *what);
void store_note_ok(void);
void store_metrics(Buf *b);
// Milliseconds since the epoch after which a running statement is stopped
// (0 = none); the Lua host sets it with each call's budget.
void store_set_deadline(const unsigned long long *deadline_ms);
