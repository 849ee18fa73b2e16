// The PostgreSQL store of the core's lane (board/db.h): a small pool of
// connections driven by libpq's asynchronous calls on the loop (PQsocket
// under a uv_poll), prepared statements on each connection, and a bounded
// queue. Nothing here waits on the loop: a slow or absent server turns into
// DB_UNAVAILABLE answers (the queue full, a call waiting past its time, no
// connection), and logged-in users chat on. Opening (schema, board keys) is
// the one blocking part, at start, before the loop serves anyone.
// Owns the pool, its polls, the queue and each call's copy of its values.
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "board/db_impl.h"
#include "board/migrate.h"

// connections; calls waiting for one (past it: unavailable at once); a call
// waiting (queued or running) longer than WAIT_MS is answered unavailable;
// prepared statements kept per connection; a lost connection is made again
// after RETRY_MS; waiting calls are checked every TICK_MS
enum { POOL = 4, QUEUE_MAX = 512, WAIT_MS = 5000, STMT_MAX = 32, RETRY_MS = 1000, TICK_MS = 250 };

struct Job {
    Job *next;
    char *sql;
    int n;
    char **vals; // text form of each value, NULL for null
    DbDone done;
    void *ud;
    uint32_t max_rows;
    uint64_t since; // uv_now when queued
    bool abandoned; // answered already (its time ran out while it ran)
};

enum ConnState { C_DOWN, C_CONNECTING, C_IDLE, C_PREPARING, C_RUNNING };

struct Conn {
    PGconn *pg;
    uv_poll_t *poll; // NULL when none; closed and freed apart from the connection
    int fd;
    ConnState state;
    Job *job;
    char *stmts[STMT_MAX]; // statements prepared here, named s<index>
    int nstmts;
    int stmt; // the statement the running job uses
    PGresult *res; // the running statement's result, until its end arrives
    uint64_t retry_at;
};

static char *g_uri;
static uv_loop_t *g_loop;
static Conn g_conns[POOL];
static Job *g_head, *g_tail;
static uint32_t g_queued, g_running;
static uv_timer_t g_tick;
static bool g_started, g_stopping;
static bool g_down_logged;

// ---------------------------------------------------------------- jobs

static void job_free(Job *j) {
    for (int i = 0; i < j->n; i++) free(j->vals[i]);
    free(j->vals);
    free(j->sql);
    free(j);
}

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

// Answers j from a result (NULL: the connection failed, why says how).
static void answer(Job *j, PGresult *res, const char *why) {
    if (j->abandoned) return job_free(j);
    DbReply r = {DB_OK, NULL, 0, -1, false, NULL};
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        const char *tag = PQcmdStatus(res);
        r.wrote = strncmp(tag, "SELECT", 6) != 0;
        r.changes = atoll(PQcmdTuples(res));
        if (st == PGRES_TUPLES_OK && PQnfields(res) > 0) {
            if ((r.rows = db_pg_rows(res, j->max_rows))) res = NULL; // the rows own it now
            else {
                r.status = DB_UNAVAILABLE;
                r.error = "out of memory";
            }
        }
    } else {
        r.status = db_pg_status(res);
        r.error = res ? PQresultErrorMessage(res) : why;
        if (!r.error || !r.error[0]) r.error = why ? why : "the database did not answer";
    }
    DbDone done = j->done;
    void *ud = j->ud;
    job_free(j);
    db_answer(DB_CORE, &r, done, ud);
    if (res) PQclear(res);
}

static void refuse(DbDone done, void *ud, const char *why) {
    DbReply r = {DB_UNAVAILABLE, why, 0, -1, false, NULL};
    db_answer(DB_CORE, &r, done, ud);
}

// Takes the queue's first call out of it.
static Job *unqueue(void) {
    Job *j = g_head;
    g_head = j->next;
    if (!g_head) g_tail = NULL;
    g_queued--;
    return j;
}

// Answers a queued call unavailable (its time ran out, the store stops).
static void give_up(Job *j, const char *why) {
    DbDone done = j->done;
    void *ud = j->ud;
    job_free(j);
    refuse(done, ud, why);
}

// ---------------------------------------------------------------- connections

static void dispatch(void);
static void on_poll(uv_poll_t *p, int status, int events);

static void poll_closed(uv_handle_t *h) { free(h); }

static void poll_drop(Conn *c) {
    if (!c->poll) return;
    uv_poll_stop(c->poll);
    uv_close((uv_handle_t *)c->poll, poll_closed);
    c->poll = NULL;
    c->fd = -1;
}

// Watches the connection's socket for events (it may change while connecting).
static void poll_want(Conn *c, int events) {
    int fd = PQsocket(c->pg);
    if (fd < 0) return;
    if (c->poll && c->fd != fd) poll_drop(c);
    if (!c->poll) {
        c->poll = (uv_poll_t *)calloc(1, sizeof *c->poll);
        if (!c->poll || uv_poll_init_socket(g_loop, c->poll, fd)) {
            free(c->poll);
            c->poll = NULL;
            return;
        }
        c->poll->data = c;
        c->fd = fd;
    }
    uv_poll_start(c->poll, events, on_poll);
}

static void conn_lost(Conn *c, const char *why) {
    if (!g_down_logged && !g_stopping) {
        g_down_logged = true;
        log_warn("storage_down", "PostgreSQL connection lost: %s", why);
    }
    poll_drop(c);
    if (c->res) PQclear(c->res);
    c->res = NULL;
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
    for (int i = 0; i < c->nstmts; i++) free(c->stmts[i]);
    c->nstmts = 0;
    c->state = C_DOWN;
    c->retry_at = uv_now(g_loop) + RETRY_MS;
    if (c->job) {
        Job *j = c->job;
        c->job = NULL;
        g_running--;
        answer(j, NULL, "the connection to the database was lost");
    }
}

static void quiet(void *, const char *) {}
static void conn_begin(Conn *c) {
    // the core's tables are in their own schema; a statement that runs
    // longer than a call may wait is stopped by the server itself
    static const char *keys[] = {"dbname", "options", "connect_timeout", "application_name", NULL};
    static const char *vals[] = {NULL, "-c search_path=partyline -c statement_timeout=5000", "5", "partyline", NULL};
    vals[0] = g_uri;
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (c->pg) PQsetNoticeProcessor(c->pg, quiet, NULL); // not errors; libpq would print them
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) return conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
    PQsetnonblocking(c->pg, 1);
    c->state = C_CONNECTING;
    poll_want(c, UV_WRITABLE);
}

static void connect_step(Conn *c) {
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING: return poll_want(c, UV_READABLE);
    case PGRES_POLLING_WRITING: return poll_want(c, UV_WRITABLE);
    case PGRES_POLLING_OK:
        c->state = C_IDLE;
        poll_want(c, UV_READABLE); // a server's goodbye shows as readable
        if (g_down_logged) {
            g_down_logged = false;
            log_info("storage_up", "PostgreSQL connection made again");
        }
        return dispatch();
    default: return conn_lost(c, PQerrorMessage(c->pg));
    }
}

static int stmt_index(Conn *c, const char *sql) {
    for (int i = 0; i < c->nstmts; i++)
        if (!strcmp(c->stmts[i], sql)) return i;
    return -1;
}

// Sends the job's statement: prepared first when this connection has not
// seen it (then again as prepared when that answers).
static void send_job(Conn *c) {
    Job *j = c->job;
    char name[16];
    int i = stmt_index(c, j->sql);
    int ok;
    if (i < 0 && c->nstmts < STMT_MAX) {
        i = c->nstmts;
        snprintf(name, sizeof name, "s%d", i);
        c->stmt = i;
        c->state = C_PREPARING;
        ok = PQsendPrepare(c->pg, name, j->sql, 0, NULL);
    } else if (i >= 0) {
        snprintf(name, sizeof name, "s%d", i);
        c->state = C_RUNNING;
        ok = PQsendQueryPrepared(c->pg, name, j->n, j->vals, NULL, NULL, 0);
    } else { // past the cache: as it is
        c->state = C_RUNNING;
        ok = PQsendQueryParams(c->pg, j->sql, j->n, NULL, j->vals, NULL, NULL, 0);
    }
    if (!ok) return conn_lost(c, PQerrorMessage(c->pg));
    poll_want(c, PQflush(c->pg) == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void dispatch(void) {
    for (int i = 0; i < POOL && g_head; i++) {
        Conn *c = &g_conns[i];
        if (c->state != C_IDLE) continue;
        c->job = unqueue();
        g_running++;
        send_job(c);
    }
}

// Reads what has arrived; when the running statement's end has come, its
// last result answers the job.
static void results(Conn *c) {
    PGresult *r;
    while (!PQisBusy(c->pg) && (r = PQgetResult(c->pg))) {
        if (c->res) PQclear(c->res); // one statement gives one result; keep the last
        c->res = r;
    }
    if (PQisBusy(c->pg)) return; // its end is still on its way
    PGresult *last = c->res;
    c->res = NULL;
    Job *j = c->job;
    if (!j) { // nothing asked: a notice, or the server going away
        if (last) PQclear(last);
        if (PQstatus(c->pg) == CONNECTION_BAD) conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        if (last) PQclear(last);
        return conn_lost(c, PQerrorMessage(c->pg)); // answers the job
    }
    if (c->state == C_PREPARING && last && PQresultStatus(last) == PGRES_COMMAND_OK) {
        PQclear(last);
        char *copy = strdup(j->sql);
        if (copy) {
            c->stmts[c->nstmts++] = copy;
            return send_job(c);
        }
        last = NULL; // answered as unavailable below
    }
    // otherwise its answer (a failed prepare is the statement's own fault)
    c->job = NULL;
    g_running--;
    c->state = C_IDLE; // before the answer, whose callback may ask again
    answer(j, last, "out of memory");
    dispatch();
}

static void on_poll(uv_poll_t *p, int status, int events) {
    Conn *c = (Conn *)p->data;
    if (status < 0) return conn_lost(c, uv_strerror(status));
    if (c->state == C_CONNECTING) return connect_step(c);
    if (events & UV_WRITABLE) {
        int f = PQflush(c->pg);
        if (f < 0) return conn_lost(c, PQerrorMessage(c->pg));
        if (f == 0) poll_want(c, UV_READABLE);
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(c->pg)) return conn_lost(c, PQerrorMessage(c->pg));
        results(c);
    }
}

// Calls that waited too long are answered (a statement still running is
// left to the server's statement_timeout; its answer is dropped); lost
// connections are made again.
static void on_tick(uv_timer_t *) {
    uint64_t now = uv_now(g_loop);
    while (g_head && now - g_head->since > WAIT_MS) give_up(unqueue(), "the database is slow or unreachable");
    for (int i = 0; i < POOL; i++) {
        Conn *c = &g_conns[i];
        if (c->state == C_DOWN && now >= c->retry_at) conn_begin(c);
        if (c->job && !c->job->abandoned && now - c->job->since > WAIT_MS) {
            c->job->abandoned = true;
            refuse(c->job->done, c->job->ud, "the database is slow or unreachable");
        }
    }
}

// ---------------------------------------------------------------- the store's table

// Whether a connection is up or on its way (at start, the pool is still
// connecting; after a loss, each tries again every RETRY_MS).
static bool any_up(void) {
    for (int i = 0; i < POOL; i++)
        if (g_conns[i].state != C_DOWN) return true;
    return false;
}

static char *text_of(const DbValue *v) {
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

static void run(const DbCall *c, DbDone done, void *ud) {
    if (g_stopping || !g_started) return refuse(done, ud, "the store is stopping");
    // no connection at all: the answer now, not in WAIT_MS
    if (!any_up()) return refuse(done, ud, "no connection to the database");
    if (g_queued >= QUEUE_MAX) return refuse(done, ud, "too many statements wait for the database");
    Job *j = (Job *)calloc(1, sizeof *j);
    bool ok = j && (j->sql = strdup(c->sql)) && (!c->n || (j->vals = (char **)calloc((size_t)c->n, sizeof *j->vals)));
    for (int i = 0; ok && i < c->n; i++) {
        j->n = i + 1;
        if (c->v[i].type != DBV_NULL && !(j->vals[i] = text_of(&c->v[i]))) ok = false;
    }
    if (!ok) {
        if (j) job_free(j);
        return refuse(done, ud, "out of memory");
    }
    j->n = c->n;
    j->done = done;
    j->ud = ud;
    j->max_rows = c->max_rows;
    j->since = uv_now(g_loop);
    if (g_tail) g_tail->next = j;
    else g_head = j;
    g_tail = j;
    g_queued++;
    dispatch();
}

static void start(uv_loop_t *loop) {
    g_loop = loop;
    g_started = true;
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, on_tick, TICK_MS, TICK_MS);
    for (int i = 0; i < POOL; i++) conn_begin(&g_conns[i]);
}

static void stop(void) {
    if (!g_started || g_stopping) return;
    g_stopping = true;
    uv_timer_stop(&g_tick);
    uv_close((uv_handle_t *)&g_tick, NULL);
    // a write already sent may still land; its caller hears unavailable
    for (int i = 0; i < POOL; i++) conn_lost(&g_conns[i], "the store is stopping");
    while (g_head) give_up(unqueue(), "the store is stopping");
}

static void close_all(void) {
    stop();
    free(g_uri);
    g_uri = NULL;
}

static uint32_t pending(void) { return g_queued + g_running; }

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
    if (rc) {
        free(g_uri);
        g_uri = NULL;
        return -1;
    }
    g_stopping = g_started = false;
    for (int i = 0; i < POOL; i++) g_conns[i] = Conn{NULL, NULL, -1, C_DOWN, NULL, {}, 0, 0, NULL, 0};
    st->later = true;
    st->run = run;
    st->start = start;
    st->stop = stop;
    st->close = close_all;
    st->pending = pending;
    st->board_key = board_key;
    return 0;
}
