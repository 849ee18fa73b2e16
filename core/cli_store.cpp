// `partyline --copy-store FROM TO`: a board's data from SQLite (FROM: a data
// directory, or its partyline.db) into PostgreSQL (TO: a postgresql:// URI):
// accounts with their password hashes, token revocations, and every table
// of the scripts (mail, history, bans, profiles, ignore lists, pl.kv, the
// sysop's own), with their indexes. One transaction: all or nothing. A
// target that already holds accounts or script tables is refused, so a
// board is never copied over another. Run it with the board stopped (the
// source is read as it is at that moment).
#include "cli_store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "board/db.h"
#include "board/db_impl.h"
#include "board/migrate.h"

static bool pg_do(PGconn *pg, const char *sql, int n, const char *const *vals, char *err, size_t errlen) {
    PGresult *r = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static long long pg_count(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

// Every row of sel (SQLite) into ins (PostgreSQL, $1..$n). Rows copied, or -1.
static long copy_rows(sqlite3 *db, PGconn *pg, const char *sel, const char *ins, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sel, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", sel, sqlite3_errmsg(db));
        return -1;
    }
    int cols = sqlite3_column_count(st);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *vals[cols > 0 ? cols : 1];
        for (int c = 0; c < cols; c++)
            vals[c] = sqlite3_column_type(st, c) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, c);
        if (!pg_do(pg, ins, cols, vals, err, errlen)) {
            sqlite3_finalize(st);
            return -1;
        }
        n++;
    }
    if (rc != SQLITE_DONE) snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? n : -1;
}

// The scripts' tables: made as in SQLite (their SQL in the common subset),
// owned by the scripts' role, their rows, their indexes, and identity
// columns moved past the rows copied.
static bool copy_scripts(sqlite3 *db, PGconn *pg, const char *role, char *err, size_t errlen) {
    char *q = PQescapeIdentifier(pg, role, strlen(role));
    char sql[256];
    snprintf(sql, sizeof sql, "SET LOCAL ROLE %s", q ? q : "\"\"");
    PQfreemem(q);
    if (!pg_do(pg, sql, 0, NULL, err, errlen) || !pg_do(pg, "SET LOCAL search_path = scripts", 0, NULL, err, errlen))
        return false;
    sqlite3_stmt *t = NULL;
    // tables first, then their indexes (type sorts 'index' before 'table': by hand)
    for (int pass = 0; pass < 2; pass++) {
        sqlite3_prepare_v2(db,
                           "SELECT name, sql FROM sqlite_master WHERE type = ?1 AND tbl_name LIKE 's\\_%' ESCAPE '\\' "
                           "AND sql IS NOT NULL ORDER BY name",
                           -1, &t, NULL);
        sqlite3_bind_text(t, 1, pass ? "index" : "table", -1, SQLITE_STATIC);
        while (sqlite3_step(t) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(t, 0);
            char made[64 * 1024], sel[300], ins[64 * 1024];
            if (!db_sql_for_pg((const char *)sqlite3_column_text(t, 1), made, sizeof made) ||
                !pg_do(pg, made, 0, NULL, err, errlen)) {
                if (!err[0]) snprintf(err, errlen, "%s: its SQL is too long", name);
                sqlite3_finalize(t);
                return false;
            }
            if (pass) continue;
            sqlite3_stmt *cols = NULL;
            snprintf(sel, sizeof sel, "SELECT * FROM \"%s\"", name);
            int ncols = sqlite3_prepare_v2(db, sel, -1, &cols, NULL) == SQLITE_OK ? sqlite3_column_count(cols) : 0;
            int o = snprintf(ins, sizeof ins, "INSERT INTO \"%s\" (", name);
            for (int c = 0; c < ncols && o < (int)sizeof ins - 200; c++)
                o += snprintf(ins + o, sizeof ins - (size_t)o, "%s\"%s\"", c ? ", " : "", sqlite3_column_name(cols, c));
            o += snprintf(ins + o, sizeof ins - (size_t)o, ") VALUES (");
            for (int c = 0; c < ncols && o < (int)sizeof ins - 20; c++)
                o += snprintf(ins + o, sizeof ins - (size_t)o, "%s$%d", c ? ", " : "", c + 1);
            snprintf(ins + o, sizeof ins - (size_t)o, ")");
            sqlite3_finalize(cols);
            long n = copy_rows(db, pg, sel, ins, err, errlen);
            if (n < 0) {
                char why[512];
                snprintf(why, sizeof why, "%s", err);
                snprintf(err, errlen, "table %s: %s", name, why);
                sqlite3_finalize(t);
                return false;
            }
            printf("  %-24s %ld rows\n", name, n);
        }
        sqlite3_finalize(t);
    }
    // identity columns continue after the ids copied
    return pg_do(pg,
                 "SELECT setval(pg_get_serial_sequence('scripts.' || quote_ident(table_name), column_name), "
                 "greatest(1, (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM scripts.%I', "
                 "column_name, table_name), false, true, '')))[1]::text::bigint)) "
                 "FROM information_schema.columns WHERE table_schema = 'scripts' AND is_identity = 'YES'",
                 0, NULL, err, errlen);
}

int cli_store_main(int argc, char **argv) {
    if (argc != 3 || !db_is_postgres(argv[2])) {
        fprintf(stderr, "usage: partyline --copy-store DATA_DIR postgresql://user@host:port/db\n"
                        "  copies a board from SQLite (DATA_DIR/partyline.db) into an empty PostgreSQL database\n");
        return 2;
    }
    log_set_json(false);
    log_set_level(LOG_WARN);
    char path[600], err[1024] = "";
    struct stat sb;
    snprintf(path, sizeof path, "%s%s", argv[1], !stat(argv[1], &sb) && S_ISDIR(sb.st_mode) ? "/partyline.db" : "");
    sqlite3 *db = NULL;
    if (stat(path, &sb) || sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "partyline: --copy-store: no SQLite board at %s\n", path);
        sqlite3_close(db);
        return 1;
    }
    PGconn *pg = PQconnectdb(argv[2]);
    char role[128], pw[80];
    int rc = 1;
    // both brought to this server's schema first, as a start would
    if (migrate_sqlite(db, err, sizeof err) || PQstatus(pg) != CONNECTION_OK ||
        migrate_pg(pg, role, sizeof role, pw, sizeof pw, err, sizeof err)) {
        fprintf(stderr, "partyline: --copy-store: %s\n", err[0] ? err : PQerrorMessage(pg));
        goto done;
    }
    if (pg_count(pg, "SELECT (SELECT count(*) FROM partyline.accounts) + (SELECT count(*) FROM pg_tables "
                     "WHERE schemaname = 'scripts')") != 0) {
        fprintf(stderr, "partyline: --copy-store: %s already holds a board (accounts or script tables): "
                        "nothing copied; copy into an empty database\n", PQdb(pg));
        goto done;
    }
    printf("copying %s into %s\n", path, PQdb(pg));
    {
        long a = -1, t = -1;
        bool ok = pg_do(pg, "BEGIN", 0, NULL, err, sizeof err) &&
                  (a = copy_rows(db, pg, "SELECT id, handle, handle_key, hash, sysop, created, last_login, skeleton, locked, level "
                                         "FROM accounts ORDER BY id",
                                 "INSERT INTO partyline.accounts(id, handle, handle_key, hash, sysop, created, last_login, "
                                 "skeleton, locked, level) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                                 err, sizeof err)) >= 0 &&
                  pg_do(pg, "SELECT setval(pg_get_serial_sequence('partyline.accounts', 'id'), "
                            "greatest(1, (SELECT max(id) FROM partyline.accounts)))", 0, NULL, err, sizeof err) &&
                  (t = copy_rows(db, pg, "SELECT handle_key, before_ms FROM token_revocations",
                                 "INSERT INTO partyline.token_revocations(handle_key, before_ms) VALUES ($1, $2)", err,
                                 sizeof err)) >= 0;
        if (ok) printf("  %-24s %ld rows\n  %-24s %ld rows\n", "accounts", a, "token_revocations", t);
        ok = ok && copy_scripts(db, pg, role, err, sizeof err) && pg_do(pg, "COMMIT", 0, NULL, err, sizeof err);
        if (!ok) {
            PQclear(PQexec(pg, "ROLLBACK"));
            fprintf(stderr, "partyline: --copy-store: %s\nnothing was copied\n", err);
            goto done;
        }
    }
    printf("done: set store = %s and start the board\n", argv[2]);
    rc = 0;
done:
    PQfinish(pg);
    sqlite3_close(db);
    return rc;
}
