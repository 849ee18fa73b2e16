// What the two stores behind board/db.h share: the rows they answer with,
// the table of a store's functions, and the one place every answer passes
// through (db_answer: storage health is noted there, for both lanes).
#pragma once
#include <libpq-fe.h>

#include "board/db.h"

// Rows: SQLite's are copied into cells (text in one block); PostgreSQL's
// stay in the PGresult and are parsed by column type when read.
struct DbRows {
    uint32_t nrows, ncols;
    char **names;    // SQLite: ncols names (owned)
    DbValue *cells;  // SQLite: nrows * ncols, text pointing into text
    char *text;
    PGresult *pg;    // PostgreSQL
    uint32_t *types; // PostgreSQL: each column's DbType
};

struct DbStore {
    bool later; // answers after run returns (the core's lane on PostgreSQL)
    void (*run)(const DbCall *c, DbDone done, void *ud);
    void (*run_batch)(DbLane lane, const DbCall *calls, int n, DbBatchDone done, void *ud);
    void (*start)(uv_loop_t *loop);
    void (*stop)(void);
    void (*close)(void);
    uint32_t (*pending)(void);
    int (*board_key)(const char *name, const char *value, char *out, size_t outlen, char *err, size_t errlen);
};

// The two stores: each opens and fills in its table, or -1 with err.
int db_sqlite_open(const char *data_dir, DbStore *st, char *err, size_t errlen);
// PostgreSQL: the core's lane into st, the scripts' into scripts
// (db_pg_scripts.cpp, under the role migrate_pg made).
int db_pg_open(const char *uri, DbStore *st, DbStore *scripts, char *err, size_t errlen);
int db_pg_scripts_open(const char *uri, const char *role, const char *password, DbStore *st, char *err, size_t errlen);
// The pools of the lanes that answer later (db_pg_pool.cpp): the core's
// (the URI's user) and the scripts' (role, password): run, start, stop,
// close, pending into st.
int db_pg_pools_open(const char *uri, const char *role, const char *password, DbStore *st, char *err, size_t errlen);
// What both PostgreSQL lanes share: a failed result's status, and a
// result's rows (taking it; NULL when out of memory).
DbStatus db_pg_status(const PGresult *r);
DbRows *db_pg_rows(PGresult *res, uint32_t max_rows);
// A value as PostgreSQL's text parameter (malloc'd; NULL for null, or out of memory).
char *db_pg_text(const DbValue *v);
// The scripts' SQL (SQLite's, in the common subset) as PostgreSQL's, into
// out: `?` parameters, INTEGER, INTEGER PRIMARY KEY, REAL. false: too long.
bool db_sql_for_pg(const char *in, char *out, size_t outlen);

// Every reply goes out through here: storage failures are noted (counted,
// logged once per outage), a write that worked says storage is back, and a
// core statement's own failure is logged (it is the server's bug).
void db_answer(DbLane lane, DbReply *r, DbDone done, void *ud);
void db_answer_batch(DbLane lane, DbReply *r, int failed, DbBatchDone done, void *ud);

// Rows built cell by cell (SQLite, and PostgreSQL's tests): begin with the
// column names, add rows, finish. NULL when out of memory.
struct DbRowsBuilder;
DbRowsBuilder *db_rows_begin(uint32_t ncols, const char *const *names);
bool db_rows_add(DbRowsBuilder *b, const DbValue *row);
DbRows *db_rows_finish(DbRowsBuilder *b);
void db_rows_abandon(DbRowsBuilder *b);
