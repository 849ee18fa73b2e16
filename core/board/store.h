// The scripts' database: their own connection to the SQLite file the
// accounts live in, which may only touch tables named s_* (an SQLite
// authorizer enforces it); the health of storage for both connections; and
// writes kept in memory while storage is away. The pl.db binding on top of
// it is script/api_db.cpp.
#pragma once
#include <sqlite3.h>
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"

// The loop never waits on a database lock for longer than this: a lock held
// by another process (a backup, the sqlite3 shell) turns into an error the
// caller handles, not a stall for everyone.
#define DB_BUSY_MS 5

int store_open(const char *data_dir, char *err, size_t errlen);
// Starts retrying deferred writes (pl.db.defer) while storage is away.
void store_start(uv_loop_t *loop);
void store_stop(void);
void store_close(void);

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
// (0 = none); the sandbox sets it with each call's budget.
void store_set_deadline(const unsigned long long *deadline_ms);

// ---------------------------------------------------------------- for script/api_db.cpp

// The scripts' connection (for sqlite3_errmsg, sqlite3_changes, ...).
sqlite3 *store_db(void);
// A prepared statement for sql, reset and unbound, from a cache of recent
// ones (the cache owns it). Returns the SQLite result; *why is set when the
// SQL is at fault in a way SQLite does not report (more than one statement).
int store_prepare(const char *sql, sqlite3_stmt **out, const char **why);

// A value to keep with a deferred write (text is copied).
struct StoreValue {
    int type; // SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT
    sqlite3_int64 i;
    double d;
    const char *s;
    int len;
};
// Whether deferred writes wait: a new write must queue behind them, in order.
bool store_deferring(void);
// Keeps a write for later, after those waiting (bounded: past the bound the
// oldest go, counted and logged). rc is why it was not written now (counted
// as a storage failure), or 0 when it only queued behind others. Returns
// false when out of memory.
bool store_defer(const char *sql, const StoreValue *v, int n, int rc);
