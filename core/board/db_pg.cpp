// The PostgreSQL store (board/db.h) as a whole: opening (the schema and
// the scripts' role, board/migrate.cpp), the board's keys, and what both
// PostgreSQL lanes share (a failed result's status, rows). The lanes
// themselves: board/db_pg_pool.cpp (answered later, on the loop) and
// board/db_pg_scripts.cpp (answered at once). Opening is the one blocking
// part, at start, before the loop serves anyone. Owns the board's URI.
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/db_impl.h"
#include "board/migrate.h"

static char *g_uri; // the board's: opening, board keys
static void (*g_close_pools)(void);

DbStatus db_pg_status(const PGresult *r) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state) return DB_UNAVAILABLE; // no answer from the server: the connection
    if (!strncmp(state, "23", 2)) return DB_CONSTRAINT;
    if (!strcmp(state, "57014")) return DB_STOPPED; // statement_timeout, cancelled
    // connection, resources, shutdown, locks, serialization: the storage's
    if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57", 2) ||
        !strncmp(state, "40", 2) || !strncmp(state, "55", 2) || !strncmp(state, "58", 2))
        return DB_UNAVAILABLE;
    return DB_BAD;
}

static DbType type_of(Oid oid) {
    switch (oid) {
    case 20: case 21: case 23: case 26: return DBV_INT; // int8, int2, int4, oid
    case 700: case 701: case 1700: return DBV_FLOAT;   // float4, float8, numeric
    default: return DBV_TEXT;
    }
}

DbRows *db_pg_rows(PGresult *res, uint32_t max_rows) {
    DbRows *rows = (DbRows *)calloc(1, sizeof *rows);
    uint32_t *types = (uint32_t *)calloc((size_t)PQnfields(res) + 1, sizeof *types);
    if (!rows || !types) {
        free(rows);
        free(types);
        return NULL;
    }
    uint32_t n = (uint32_t)PQntuples(res);
    rows->nrows = max_rows && n > max_rows ? max_rows : n;
    rows->ncols = (uint32_t)PQnfields(res);
    for (uint32_t c = 0; c < rows->ncols; c++) types[c] = type_of(PQftype(res, (int)c));
    rows->types = types;
    rows->pg = res;
    return rows;
}

char *db_pg_text(const DbValue *v) {
    char num[40];
    switch (v->type) {
    case DBV_INT: snprintf(num, sizeof num, "%lld", (long long)v->i); return strdup(num);
    case DBV_FLOAT: snprintf(num, sizeof num, "%.17g", v->d); return strdup(num);
    case DBV_TEXT: {
        char *s = (char *)malloc((size_t)v->len + 1);
        if (s) {
            if (v->len) memcpy(s, v->s, v->len);
            s[v->len] = 0;
        }
        return s;
    }
    default: return NULL;
    }
}

// A blocking connection, for opening (the loop does not run yet).
static PGconn *connect_now(char *err, size_t errlen) {
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {g_uri, "10", "partyline", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "PostgreSQL: %s", pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static int board_key(const char *name, const char *value, char *out, size_t outlen, char *err, size_t errlen) {
    PGconn *pg = connect_now(err, errlen);
    if (!pg) return -1;
    const char *p[2] = {name, value};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO partyline.board_keys(name, value) VALUES ($1, $2) "
                               "ON CONFLICT (name) DO UPDATE SET value = partyline.board_keys.value RETURNING value",
                               2, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
        rc = 0;
    } else {
        snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(pg);
    return rc;
}

static void close_board(void) {
    if (g_close_pools) g_close_pools();
    g_close_pools = NULL;
    free(g_uri);
    g_uri = NULL;
}

int db_pg_open(const char *uri, DbStore *st, DbStore *scripts, char *err, size_t errlen) {
    g_uri = strdup(uri);
    if (!g_uri) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    PGconn *pg = connect_now(err, errlen);
    char role[128], pw[80];
    int rc = pg ? migrate_pg(pg, role, sizeof role, pw, sizeof pw, err, errlen) : -1;
    PQfinish(pg);
    if (!rc) rc = db_pg_scripts_open(uri, role, pw, scripts, err, errlen);
    if (!rc) rc = db_pg_pools_open(uri, role, pw, st, err, errlen);
    if (rc) {
        free(g_uri);
        g_uri = NULL;
        return -1;
    }
    g_close_pools = st->close;
    st->close = close_board;
    st->board_key = board_key;
    return 0;
}
