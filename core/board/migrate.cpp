// Numbered migrations of both stores (migrate.h). Each store has its own
// list, in its own SQL, with the same numbers meaning the same schema; a
// migration is SQL, or a function where SQL alone cannot say it (the
// look-alike skeletons of accounts made before there were any).
#include "board/migrate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "board/policy.h"
#include "model/session.h"

// ---------------------------------------------------------------- SQLite

static const char *LITE_V1 =
    "CREATE TABLE IF NOT EXISTS accounts("
    " id INTEGER PRIMARY KEY,"
    " handle TEXT NOT NULL,"
    " handle_key TEXT NOT NULL UNIQUE," // lowercase: handles are unique case-insensitively
    " hash TEXT NOT NULL,"
    " sysop INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " last_login TEXT,"
    " skeleton TEXT," // policy_skeleton: look-alikes are one handle (unique index below)
    " locked INTEGER NOT NULL DEFAULT 0,"
    " level INTEGER NOT NULL DEFAULT 0);" // access level 0-255: the scripts' to give and check
    "CREATE TABLE IF NOT EXISTS token_revocations("
    " handle_key TEXT PRIMARY KEY,"
    " before_ms INTEGER NOT NULL);" // tokens issued before this are void
    "CREATE TABLE IF NOT EXISTS account_actions("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " handle_key TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL);";

static bool lite_has(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return ok;
}

// Version 1 is also what databases from before versioning are brought to:
// the tables, and in place the columns later added to accounts (locks,
// levels, look-alike skeletons). Where two old accounts are look-alikes of
// each other the older keeps the skeleton and the newer none: both go on
// logging in, and new look-alikes of either are refused.
static int lite_v1(sqlite3 *db) {
    if (sqlite3_exec(db, LITE_V1, NULL, NULL, NULL) != SQLITE_OK) return -1;
    if (!lite_has(db, "SELECT locked FROM accounts LIMIT 0") &&
        sqlite3_exec(db, "ALTER TABLE accounts ADD COLUMN locked INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL))
        return -1;
    if (!lite_has(db, "SELECT level FROM accounts LIMIT 0") &&
        sqlite3_exec(db, "ALTER TABLE accounts ADD COLUMN level INTEGER NOT NULL DEFAULT 0", NULL, NULL, NULL))
        return -1;
    if (!lite_has(db, "SELECT skeleton FROM accounts LIMIT 0")) {
        sqlite3_stmt *rows = NULL, *set = NULL;
        bool ok = sqlite3_exec(db, "ALTER TABLE accounts ADD COLUMN skeleton TEXT", NULL, NULL, NULL) == SQLITE_OK &&
                  sqlite3_prepare_v2(db, "SELECT id, handle FROM accounts ORDER BY id", -1, &rows, NULL) == SQLITE_OK &&
                  sqlite3_prepare_v2(db,
                                     "UPDATE accounts SET skeleton = ?1 WHERE id = ?2 AND NOT EXISTS "
                                     "(SELECT 1 FROM accounts WHERE skeleton = ?1)",
                                     -1, &set, NULL) == SQLITE_OK;
        int n = 0;
        while (ok && sqlite3_step(rows) == SQLITE_ROW) {
            char skel[HANDLE_MAX + 1];
            const char *handle = (const char *)sqlite3_column_text(rows, 1);
            policy_skeleton(handle ? handle : "", skel, sizeof skel);
            sqlite3_bind_text(set, 1, skel, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(set, 2, sqlite3_column_int64(rows, 0));
            ok = sqlite3_step(set) == SQLITE_DONE;
            if (ok && sqlite3_changes(db) == 0)
                log_warn("accounts", "account '%s' looks like an older one's handle; both keep working", handle);
            sqlite3_reset(set);
            n++;
        }
        sqlite3_finalize(rows);
        sqlite3_finalize(set);
        if (!ok) return -1;
        log_info("accounts", "accounts upgraded in place: look-alike skeletons for %d accounts", n);
    }
    return sqlite3_exec(db, "CREATE UNIQUE INDEX IF NOT EXISTS accounts_skeleton ON accounts(skeleton)", NULL, NULL, NULL);
}

static int (*const LITE[])(sqlite3 *) = {lite_v1};
#define LITE_N (int)(sizeof LITE / sizeof LITE[0])

int migrate_latest(bool postgres) { return postgres ? 1 : LITE_N; }

int migrate_sqlite(sqlite3 *db, char *err, size_t errlen) {
    // other processes of the board may be starting too: wait for their
    // upgrade rather than fail (the loop is not running yet)
    sqlite3_busy_timeout(db, 10000);
    int have = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied TEXT NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st, NULL) != SQLITE_OK)
        goto fail_tx;
    if (sqlite3_step(st) == SQLITE_ROW) have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have < 0) goto fail_tx;
    if (have > LITE_N) {
        snprintf(err, errlen, "the database is at schema version %d, newer than this server's %d", have, LITE_N);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    for (int v = have + 1; v <= LITE_N; v++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO schema_version(version, applied) VALUES (%d, strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ','now'))", v);
        if (LITE[v - 1](db) || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) goto fail_tx;
        log_info("schema", "SQLite database upgraded to schema version %d", v);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto fail_tx;
    sqlite3_busy_timeout(db, 5);
    return 0;
fail_tx:
    snprintf(err, errlen, "upgrading the database: %s", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
fail:
    snprintf(err, errlen, "upgrading the database: %s", sqlite3_errmsg(db));
    return -1;
}

// ---------------------------------------------------------------- PostgreSQL

// The core's tables live in the schema "partyline" (its connections' search
// path). Times are ms in BIGINT, text as SQLite keeps it.
static const char *PG_V1 =
    "CREATE SCHEMA IF NOT EXISTS partyline;"
    "CREATE TABLE partyline.accounts("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " handle TEXT NOT NULL,"
    " handle_key TEXT NOT NULL UNIQUE,"
    " hash TEXT NOT NULL,"
    " sysop INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " last_login TEXT,"
    " skeleton TEXT UNIQUE,"
    " locked INTEGER NOT NULL DEFAULT 0,"
    " level INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE partyline.token_revocations(handle_key TEXT PRIMARY KEY, before_ms BIGINT NOT NULL);"
    "CREATE TABLE partyline.account_actions("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " handle_key TEXT NOT NULL, action TEXT NOT NULL, at_ms BIGINT NOT NULL);"
    "CREATE TABLE partyline.board_keys(name TEXT PRIMARY KEY, value TEXT NOT NULL);";

static const char *const PG[] = {PG_V1};
#define PG_N (int)(sizeof PG / sizeof PG[0])
static_assert(PG_N == 1, "migrate_latest knows PostgreSQL's count");

static bool pg_ok(PGconn *pg, const char *sql, char *err, size_t errlen) {
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

// One text value of a query with up to two parameters, into out ("" for no
// row). false on an error.
static bool pg_value(PGconn *pg, const char *sql, const char *a, const char *b, char *out, size_t outlen, char *err,
                     size_t errlen) {
    const char *params[2] = {a, b};
    PGresult *r = PQexecParams(pg, sql, b ? 2 : a ? 1 : 0, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    else snprintf(out, outlen, "%s", PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return ok;
}

static void quiet(void *, const char *) {}

// The scripts' role: a login of its own, so no statement of theirs can take
// the core's rights back (SET ROLE is undone by RESET ROLE; a login is not).
// Its password is random, kept in board_keys where only the core reads it.
static bool pg_scripts(PGconn *pg, const char *role, char *pw, size_t pwlen, char *err, size_t errlen) {
    char *q = PQescapeIdentifier(pg, role, strlen(role));
    if (!q) {
        snprintf(err, errlen, "%s", PQerrorMessage(pg));
        return false;
    }
    char have[8], sql[512];
    bool ok = pg_value(pg, "SELECT 1 FROM pg_roles WHERE rolname = $1", role, NULL, have, sizeof have, err, errlen) &&
              pg_value(pg, "SELECT value FROM partyline.board_keys WHERE name = 'scripts_password'", NULL, NULL, pw,
                       pwlen, err, errlen);
    if (ok && (!have[0] || !pw[0])) {
        unsigned char raw[24];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(pw, pwlen, raw, sizeof raw);
        // the server sends the password's SCRAM verifier, never the password
        char *verifier = PQencryptPasswordConn(pg, pw, role, NULL);
        snprintf(sql, sizeof sql, "%s ROLE %s %s PASSWORD '%s'", have[0] ? "ALTER" : "CREATE", q,
                 have[0] ? "LOGIN" : "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT", verifier ? verifier : "");
        if (!verifier) snprintf(err, errlen, "%s", PQerrorMessage(pg));
        ok = verifier && pg_ok(pg, sql, err, errlen) &&
             pg_value(pg,
                      "INSERT INTO partyline.board_keys(name, value) VALUES ('scripts_password', $1) "
                      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                      pw, NULL, have, sizeof have, err, errlen);
        PQfreemem(verifier);
        if (!ok) {
            char why[400];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "making the scripts' role %s (the store's user needs CREATEROLE): %s", role, why);
        }
    }
    // the core's user may own the scripts' schema only as a member of the role
    if (ok) snprintf(sql, sizeof sql, "GRANT %s TO CURRENT_USER", q);
    if (ok) ok = pg_ok(pg, sql, err, errlen);
    if (ok) snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS scripts AUTHORIZATION %s", q);
    if (ok) ok = pg_ok(pg, sql, err, errlen);
    if (ok) snprintf(sql, sizeof sql, "ALTER ROLE %s SET search_path = scripts", q);
    if (ok) ok = pg_ok(pg, sql, err, errlen);
    PQfreemem(q);
    return ok && pg_ok(pg, "REVOKE ALL ON SCHEMA partyline FROM PUBLIC", err, errlen);
}

int migrate_pg(PGconn *pg, char *role, size_t rolelen, char *pw, size_t pwlen, char *err, size_t errlen) {
    char have[16] = "";
    PQsetNoticeProcessor(pg, quiet, NULL); // "schema ... already exists, skipping" is expected
    // one process upgrades; the others wait here, then find it done
    if (!pg_ok(pg, "SELECT pg_advisory_lock(4242001)", err, errlen)) return -1;
    bool ok = pg_ok(pg, "BEGIN", err, errlen) && pg_ok(pg, "CREATE SCHEMA IF NOT EXISTS partyline", err, errlen) &&
              pg_ok(pg,
                    "CREATE TABLE IF NOT EXISTS partyline.schema_version(version INTEGER PRIMARY KEY, applied TEXT NOT NULL)",
                    err, errlen) &&
              pg_value(pg, "SELECT coalesce(max(version), 0) FROM partyline.schema_version", NULL, NULL, have, sizeof have,
                       err, errlen);
    int v = ok ? atoi(have) : 0;
    if (ok && v > PG_N) {
        snprintf(err, errlen, "the database is at schema version %d, newer than this server's %d", v, PG_N);
        ok = false;
    }
    for (v = v + 1; ok && v <= PG_N; v++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "INSERT INTO partyline.schema_version(version, applied) VALUES (%d, "
                 "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
                 v);
        ok = pg_ok(pg, PG[v - 1], err, errlen) && pg_ok(pg, sql, err, errlen);
        if (ok) log_info("schema", "PostgreSQL database upgraded to schema version %d", v);
    }
    // a role per database: boards sharing a cluster keep their scripts apart
    snprintf(role, rolelen, "%s_scripts", PQdb(pg));
    ok = ok && pg_scripts(pg, role, pw, pwlen, err, errlen) && pg_ok(pg, "COMMIT", err, errlen);
    if (!ok) {
        char why[1024];
        snprintf(why, sizeof why, "upgrading the database: %s", err);
        snprintf(err, errlen, "%s", why);
        PQclear(PQexec(pg, "ROLLBACK"));
    }
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(4242001)"));
    return ok ? 0 : -1;
}
