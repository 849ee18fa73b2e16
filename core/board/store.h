// The health of storage, for both lanes of the store (board/db.h), and the
// scripts' writes that must not be lost but need not happen now
// (pl.db.defer): kept in memory, in order, while storage is away. The pl.db
// binding on top of it is script/api_db.cpp.
#pragma once
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"
#include "board/db.h"

// Starts retrying kept writes while storage is away.
void store_start(uv_loop_t *loop);
// A last try at what is kept (PostgreSQL: sent, and written while the store
// drains); what storage still refuses is lost, and said so.
void store_stop(void);
void store_close(void);

// A statement failed on the storage (counted; logged once per outage, not
// once per statement), or a write succeeded again (reads prove nothing: they
// go on while another process holds SQLite's write lock). board/db.cpp
// calls both for every answer.
void store_note_failure(const char *what);
void store_note_ok(void);
void store_metrics(Buf *b);

// A script's statement (pl.db.exec, query): after the deferred writes this
// process sent before it, so a script reads what it deferred (on SQLite
// they are written by then; on PostgreSQL it waits for them). As db_run.
void store_run(const DbCall *c, DbDone done, void *ud);

// pl.db.defer: writes c now, or keeps it to write after those waiting, in
// order. Returns 1 written now (SQLite) or on its way with storage up
// (PostgreSQL: a mistake in it is logged when it is written), 0 kept until
// storage is back, -1 the statement's own error (SQLite: err says it, and
// nothing is kept), -2 out of memory. Bounded: past DEFER_MAX_BYTES the
// oldest go, counted and logged.
int store_defer(const DbCall *c, char *err, size_t errlen);
