// The storage interface's common part: which store is open, the rows both
// answer with, and the one path every answer takes (storage health). The
// stores themselves are db_sqlite.cpp and db_pg.cpp.
#include "board/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "board/db_impl.h"
#include "board/store.h"

// Each lane's store: both SQLite's, or the core's PostgreSQL's while the
// scripts' tables stay in SQLite (db.h says why).
static DbStore g_lite, g_pg, g_pgs;
static DbStore *g_lane[DB_LANES];
static DbKind g_kind = DB_SQLITE;
static bool g_open;
static uv_loop_t *g_loop;

DbValue db_text(const char *s) { return DbValue{DBV_TEXT, 0, 0, s, (uint32_t)strlen(s)}; }

bool db_is_postgres(const char *store) {
    return !strncmp(store, "postgresql://", 13) || !strncmp(store, "postgres://", 11);
}

int db_open(const char *store, const char *data_dir, char *err, size_t errlen) {
    memset(&g_lite, 0, sizeof g_lite);
    memset(&g_pg, 0, sizeof g_pg);
    memset(&g_pgs, 0, sizeof g_pgs);
    bool pg = db_is_postgres(store);
    if (!pg && store[0] && strcmp(store, "sqlite")) {
        snprintf(err, errlen, "store: '%s' is neither sqlite nor a postgresql:// URI", store);
        return -1;
    }
    if (pg) { // nothing of the board's in data_dir: processes share nothing on disk
        if (db_pg_open(store, &g_pg, &g_pgs, err, errlen)) return -1;
        g_lane[DB_CORE] = g_lane[DB_SCRIPTS_LATER] = &g_pg;
        g_lane[DB_SCRIPTS] = g_lane[DB_CORE_NOW] = &g_pgs;
        g_kind = DB_POSTGRES;
    } else {
        if (db_sqlite_open(data_dir, &g_lite, err, errlen)) return -1;
        g_lane[DB_CORE] = g_lane[DB_SCRIPTS] = g_lane[DB_CORE_NOW] = g_lane[DB_SCRIPTS_LATER] = &g_lite;
        g_kind = DB_SQLITE;
    }
    g_open = true;
    return 0;
}

static bool g_starting;
void db_set_starting(bool on) { g_starting = on; }
bool db_starting(void) { return g_starting; }

DbKind db_kind(void) { return g_kind; }
DbKind db_lane_kind(DbLane lane) { return g_lane[lane] == &g_lite ? DB_SQLITE : DB_POSTGRES; }
bool db_lane_at_once(DbLane lane) { return !g_lane[lane] || !g_lane[lane]->later; }

void db_start(uv_loop_t *loop) {
    g_loop = loop;
    if (g_open && g_pg.start) g_pg.start(loop);
    if (g_open && g_pgs.start) g_pgs.start(loop);
}

void db_stop(void) {
    if (g_open && g_pg.stop) g_pg.stop();
    if (g_open && g_pgs.stop) g_pgs.stop();
}

void db_close(void) {
    if (!g_open) return;
    if (g_pg.close) g_pg.close();
    if (g_pgs.close) g_pgs.close();
    if (g_lite.close) g_lite.close();
    g_open = false;
}

uint32_t db_pending(void) { return g_open && g_pg.pending ? g_pg.pending() : 0; }

void db_wait(void) {
    while (g_loop && db_pending()) uv_run(g_loop, UV_RUN_ONCE);
}

static void refuse(DbLane lane, DbDone done, void *ud) {
    DbReply r = {DB_UNAVAILABLE, "the store is closed", 0, -1, false, NULL};
    db_answer(lane, &r, done, ud);
}

void db_run(const DbCall *c, DbDone done, void *ud) {
    if (!g_open) return refuse(c->lane, done, ud);
    g_lane[c->lane]->run(c, done, ud);
}

void db_run_batch(DbLane lane, const DbCall *calls, int n, DbBatchDone done, void *ud) {
    if (!g_open || !g_lane[lane]->run_batch) {
        DbReply r = {g_open ? DB_BAD : DB_UNAVAILABLE, g_open ? "no transactions on this lane" : "the store is closed",
                     0, -1, false, NULL};
        return db_answer_batch(lane, &r, -1, done, ud);
    }
    g_lane[lane]->run_batch(lane, calls, n, done, ud);
}

int db_board_key(const char *name, const char *value, char *out, size_t outlen, char *err, size_t errlen) {
    if (!g_open || !g_pg.board_key) {
        snprintf(err, errlen, "the store keeps no board keys");
        return -1;
    }
    return g_pg.board_key(name, value, out, outlen, err, errlen);
}

// ---------------------------------------------------------------- answers

static void note(DbLane lane, const DbReply *r) {
    if (r->status == DB_UNAVAILABLE) store_note_failure(r->error ? r->error : "unavailable");
    else if (r->status == DB_OK && r->wrote) store_note_ok();
    else if (lane != DB_SCRIPTS && lane != DB_SCRIPTS_LATER && r->status != DB_OK && r->status != DB_CONSTRAINT)
        log_error("db_error", "%s", r->error ? r->error : "statement failed");
}

void db_answer(DbLane lane, DbReply *r, DbDone done, void *ud) {
    note(lane, r);
    done(r, ud);
    db_rows_free(r->rows); // unless the callback took them
    r->rows = NULL;
}

void db_answer_batch(DbLane lane, DbReply *r, int failed, DbBatchDone done, void *ud) {
    note(lane, r);
    done(r, failed, ud);
    db_rows_free(r->rows);
    r->rows = NULL;
}

DbRows *db_take_rows(DbReply *r) {
    DbRows *rows = r->rows;
    r->rows = NULL;
    return rows;
}

// ---------------------------------------------------------------- rows

uint32_t db_rows_n(const DbRows *r) { return r ? r->nrows : 0; }
uint32_t db_cols_n(const DbRows *r) { return r ? r->ncols : 0; }

const char *db_col_name(const DbRows *r, uint32_t col) {
    if (!r || col >= r->ncols) return "";
    return r->pg ? PQfname(r->pg, (int)col) : r->names[col];
}

DbValue db_cell(const DbRows *r, uint32_t row, uint32_t col) {
    if (!r || row >= r->nrows || col >= r->ncols) return db_null();
    if (!r->pg) return r->cells[(size_t)row * r->ncols + col];
    if (PQgetisnull(r->pg, (int)row, (int)col)) return db_null();
    const char *s = PQgetvalue(r->pg, (int)row, (int)col);
    uint32_t len = (uint32_t)PQgetlength(r->pg, (int)row, (int)col);
    switch (r->types[col]) {
    case DBV_INT: return db_int(strtoll(s, NULL, 10));
    case DBV_FLOAT: {
        // numeric: an integer when it is one (sum() of integers), as SQLite gives
        if (!strpbrk(s, ".eEnN")) return db_int(strtoll(s, NULL, 10));
        return DbValue{DBV_FLOAT, 0, strtod(s, NULL), NULL, 0};
    }
    default: return DbValue{DBV_TEXT, 0, 0, s, len};
    }
}

void db_rows_free(DbRows *r) {
    if (!r) return;
    if (r->pg) PQclear(r->pg);
    if (r->names)
        for (uint32_t c = 0; c < r->ncols; c++) free(r->names[c]);
    free(r->names);
    free(r->cells);
    free(r->text);
    free(r->types);
    free(r);
}

struct DbRowsBuilder {
    DbRows *rows;
    uint32_t cap;
    Buf text;
};

DbRowsBuilder *db_rows_begin(uint32_t ncols, const char *const *names) {
    DbRowsBuilder *b = (DbRowsBuilder *)calloc(1, sizeof *b);
    DbRows *r = (DbRows *)calloc(1, sizeof *r);
    char **n = ncols ? (char **)calloc(ncols, sizeof *n) : NULL;
    if (!b || !r || (ncols && !n)) {
        free(b);
        free(r);
        free(n);
        return NULL;
    }
    r->ncols = ncols;
    r->names = n;
    b->rows = r;
    for (uint32_t c = 0; c < ncols; c++)
        if (!(n[c] = strdup(names[c] ? names[c] : ""))) {
            db_rows_abandon(b);
            return NULL;
        }
    return b;
}

bool db_rows_add(DbRowsBuilder *b, const DbValue *row) {
    DbRows *r = b->rows;
    if (r->nrows == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 8;
        DbValue *cells = (DbValue *)realloc(r->cells, (size_t)cap * (r->ncols ? r->ncols : 1) * sizeof *cells);
        if (!cells) return false;
        r->cells = cells;
        b->cap = cap;
    }
    DbValue *out = r->cells + (size_t)r->nrows * r->ncols;
    for (uint32_t c = 0; c < r->ncols; c++) {
        out[c] = row[c];
        if (row[c].type != DBV_TEXT) continue;
        // an offset into the text block until it stops moving (finish)
        out[c].s = (const char *)(uintptr_t)b->text.len;
        if (!buf_add(&b->text, row[c].s ? row[c].s : "", row[c].len, (size_t)1 << 31) ||
            !buf_add(&b->text, "", 1, (size_t)1 << 31))
            return false;
    }
    r->nrows++;
    return true;
}

DbRows *db_rows_finish(DbRowsBuilder *b) {
    DbRows *r = b->rows;
    r->text = b->text.p;
    size_t n = (size_t)r->nrows * r->ncols;
    for (size_t i = 0; i < n; i++)
        if (r->cells[i].type == DBV_TEXT) r->cells[i].s = r->text + (uintptr_t)r->cells[i].s;
    free(b);
    return r;
}

void db_rows_abandon(DbRowsBuilder *b) {
    if (!b) return;
    buf_free(&b->text);
    db_rows_free(b->rows);
    free(b);
}
