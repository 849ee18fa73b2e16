// The schema of both stores, made and upgraded by the server itself at open:
// numbered migrations, each applied once, in order, in one transaction with
// its number recorded in the table schema_version. Several processes may
// start at once: SQLite takes its write lock, PostgreSQL an advisory lock,
// so one of them upgrades and the others find it done.
#pragma once
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stddef.h>

// The newest version each store knows (what a fresh database gets).
int migrate_latest(bool postgres);
// 0, or -1 with the reason in err. A database newer than this server is refused.
int migrate_sqlite(sqlite3 *db, char *err, size_t errlen);
// The core's schema "partyline" (accounts, tokens, the tool's actions, the
// board's keys), and the scripts': a role of their own (its name into role:
// the database's name and _scripts; its password, made once and kept in
// board_keys, into pw) that owns the schema "scripts" and nothing else.
int migrate_pg(PGconn *pg, char *role, size_t rolelen, char *pw, size_t pwlen, char *err, size_t errlen);
