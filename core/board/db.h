// The storage interface: one statement at a time on either store, answered
// through a callback. SQLite (the default: a file in data_dir) answers before
// db_run returns; PostgreSQL (`store` = a URI) answers later, from the loop,
// over a small pool of connections it polls (board/db_pg.cpp): nothing here
// ever waits for the database on the loop. Callers are written for the later
// answer, and so run unchanged on both.
//
// Two lanes: the core's own tables (accounts, tokens, the tool's queue of
// actions: board/accounts.cpp), and the scripts' (pl.db), which reach only
// their own tables (SQLite: an authorizer keeps them to s_* tables;
// PostgreSQL: they log in as a role of their own that owns the schema
// "scripts" and nothing else). On PostgreSQL pl.db in a task (script/
// task.h) takes DB_SCRIPTS_LATER, a pool of its own answered later; where
// a script cannot pause, DB_SCRIPTS answers at once on both stores, on
// PostgreSQL waiting for the server at most the calling script's time
// budget (board/db_pg_scripts.cpp), as a query on SQLite may run that long.
//
// The schema is made and upgraded by the server itself at open, in numbered
// migrations recorded in the database (board/migrate.cpp).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum DbKind { DB_SQLITE, DB_POSTGRES };
// DB_CORE_NOW: the core's tables for the scripts' API (pl.account), which
// returns to its script: answered at once on both stores, as DB_SCRIPTS is.
// DB_SCRIPTS_LATER: the scripts' tables for pl.db in a task that can wait
// (script/task.cpp): on PostgreSQL over a pool of their own, answered later.
enum DbLane { DB_CORE, DB_SCRIPTS, DB_CORE_NOW, DB_SCRIPTS_LATER, DB_LANES };

enum DbStatus {
    DB_OK,
    DB_CONSTRAINT,  // a unique key or another constraint refused it (a handle taken)
    DB_UNAVAILABLE, // the storage, not the statement: locked, full, down, slow, queue full
    DB_STOPPED,     // it ran past its time (run_ms) and was stopped
    DB_BAD,         // the statement's own fault (its SQL, a missing table)
};

enum DbType { DBV_NULL, DBV_INT, DBV_FLOAT, DBV_TEXT };

// A value bound to a parameter or read from a row. Text is not copied by
// the caller's DbValue; the store copies what it keeps.
struct DbValue {
    DbType type;
    int64_t i;
    double d;
    const char *s;
    uint32_t len;
};
static inline DbValue db_null(void) { return DbValue{DBV_NULL, 0, 0, NULL, 0}; }
static inline DbValue db_int(int64_t i) { return DbValue{DBV_INT, i, 0, NULL, 0}; }
DbValue db_text(const char *s);

// A statement's rows: copied out (SQLite) or as received (PostgreSQL).
struct DbRows;
uint32_t db_rows_n(const DbRows *r);
uint32_t db_cols_n(const DbRows *r);
const char *db_col_name(const DbRows *r, uint32_t col);
// The value of a cell; its text lives as long as the rows.
DbValue db_cell(const DbRows *r, uint32_t row, uint32_t col);
void db_rows_free(DbRows *r);

struct DbReply {
    DbStatus status;
    const char *error; // why, when not DB_OK (valid during the callback)
    int64_t changes;   // rows a write changed
    int64_t last_id;   // SQLite: the rowid of the last insert; PostgreSQL: -1 (use RETURNING)
    bool wrote;        // the statement was not read-only (a write proves the storage is back)
    DbRows *rows;      // NULL for none; the callback may take them (db_take_rows)
};
// The rows of r, now the caller's to free (db_rows_free).
DbRows *db_take_rows(DbReply *r);

typedef void (*DbDone)(DbReply *r, void *ud);

struct DbCall {
    DbLane lane;
    const char *sql;    // the scripts' SQL is SQLite's and the common subset (lua/README.md)
    const DbValue *v;   // n values for its parameters
    int n;
    uint32_t run_ms;    // stopped after running this long; 0: SQLite none, PostgreSQL store_timeout_ms
    uint32_t max_rows;  // rows kept at most (the rest are read and dropped); 0: all
};

// Runs one statement; done is called exactly once, with its reply, before
// db_run returns (SQLite, or any store that refuses it at once) or later
// from the loop (PostgreSQL). The caller's values are copied before it returns.
void db_run(const DbCall *c, DbDone done, void *ud);
// Runs the n statements of calls in one transaction, in order: all or none.
// The reply's error names the first that failed, and *failed its index (-1
// when the whole batch failed on the storage or at commit). Deferred writes
// (board/store.cpp) go this way.
typedef void (*DbBatchDone)(DbReply *r, int failed, void *ud);
void db_run_batch(DbLane lane, const DbCall *calls, int n, DbBatchDone done, void *ud);

// ---------------------------------------------------------------- the store as a whole

// Opens the store `store` names (empty or "sqlite": the file in data_dir;
// postgresql://...: that database), makes or upgrades its schema, and for
// PostgreSQL its scripts' role and schema. Blocks: at start, before the loop
// serves anyone. 0, or -1 with the reason in err.
int db_open(const char *store, const char *data_dir, char *err, size_t errlen);
// PostgreSQL: the pools start connecting on loop (db_run queues meanwhile).
void db_start(uv_loop_t *loop);
// Every call still waiting is answered DB_UNAVAILABLE, and so is every later
// one; the connections close. Before the loop's last run.
void db_stop(void);
void db_close(void);
// While the server starts (scripts loading, nobody served yet) a call that
// answers at once may wait long for the store (PostgreSQL: 10 s, not a
// script's budget): a busy database at start does not fail the scripts.
void db_set_starting(bool on);
bool db_starting(void);
// The board's store: DB_POSTGRES when store names PostgreSQL.
DbKind db_kind(void);
// What a lane runs on, and whether it answers before db_run returns (the
// core's lane on PostgreSQL answers later).
DbKind db_lane_kind(DbLane lane);
bool db_lane_at_once(DbLane lane);
// Whether store names PostgreSQL (a URI) rather than SQLite.
bool db_is_postgres(const char *store);
// Runs the loop db_start was given until no call waits (tools: `partyline
// user`, --copy-store). SQLite has nothing to wait for.
void db_wait(void);
// How many calls wait or run (PostgreSQL; 0 on SQLite).
uint32_t db_pending(void);

// A board-wide secret kept in the store (PostgreSQL: the token key, so that
// processes sharing nothing on disk accept each other's tokens). Reads
// name's value into out, or when there is none stores value and reads back
// whichever won (another process may have raced). Blocking, at start. 0/-1.
int db_board_key(const char *name, const char *value, char *out, size_t outlen, char *err, size_t errlen);
