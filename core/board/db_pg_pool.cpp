// PostgreSQL's lanes that answer later (board/db.h): for each, a small pool of connections driven by libpq's asynchronous calls on
// the loop (PQsocket under a uv_poll), prepared statements on each
// connection, and a bounded queue. Two pools: the core's (the URI's user,
// schema partyline) and the scripts' for pl.db in a task that waits
// (script/task.cpp: the scripts' role and schema, their SQL turned into
// PostgreSQL's, SQLite's last_insert_rowid asked for after an INSERT).
// Nothing here waits on the loop: a slow or absent server turns into
// DB_UNAVAILABLE answers (the queue full, a call waiting past its time, no
// connection), and logged-in users chat on. Opening is board/db_pg.cpp's.
// Owns the pools, their polls, the queues and each call's copy of its values.
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "board/db_impl.h"

// connections; calls waiting for one (past it: unavailable at once); a call
// waiting (queued or running) longer than WAIT_MS is answered unavailable;
// prepared statements kept per connection; a lost connection is made again
// after RETRY_MS; waiting calls are checked every TICK_MS
enum { POOL = 4, QUEUE_MAX = 512, WAIT_MS = 5000, STMT_MAX = 32, RETRY_MS = 1000, TICK_MS = 250 };

struct Job {
    Job *next;
    uint32_t run_ms; // stopped after running this long (0: WAIT_MS)
    int64_t last_id; // the INSERT's identity (scripts), asked for after it
    char *sql;
    int n;
    char **vals; // text form of each value, NULL for null
    DbDone done;
    void *ud;
    uint32_t max_rows;
    uint64_t since; // uv_now when queued
    bool abandoned; // answered already (its time ran out while it ran)
    bool asked_id;  // lastval asked for (or not to be)
};

enum ConnState { C_DOWN, C_CONNECTING, C_IDLE, C_PREPARING, C_RUNNING, C_LASTVAL };

struct Pool;

struct Conn {
    Pool *pool;
    PGconn *pg;
    uv_poll_t *poll; // NULL when none; closed and freed apart from the connection
    int fd;
    ConnState state;
    Job *job;
    char *stmts[STMT_MAX]; // statements prepared here, named s<index>
    int nstmts;
    int stmt; // the statement the running job uses
    PGresult *res; // the running statement's result, until its end arrives
    PGresult *idres; // C_LASTVAL: its answer, until its end arrives
    uint64_t retry_at;
};

struct Pool {
    const char *what; // for the log
    DbLane lane;
    bool scripts;     // the scripts' SQL (SQLite's, turned) and their role
    char *uri, *role, *pw; // role NULL: the URI's user
    Conn conns[POOL];
    Job *head, *tail;
    uint32_t queued, running;
    bool down_logged;
};

static uv_loop_t *g_loop;
static uv_timer_t g_tick;
static bool g_started, g_stopping;
static Pool g_pools[2] = {{"core", DB_CORE, false, NULL, NULL, NULL, {}, NULL, NULL, 0, 0, false},
                          {"scripts", DB_SCRIPTS_LATER, true, NULL, NULL, NULL, {}, NULL, NULL, 0, 0, false}};

// ---------------------------------------------------------------- jobs

static void job_free(Job *j) {
    for (int i = 0; i < j->n; i++) free(j->vals[i]);
    free(j->vals);
    free(j->sql);
    free(j);
}

// Answers j from a result (NULL: the connection failed, why says how).
static void answer(Pool *p, Job *j, PGresult *res, const char *why) {
    if (j->abandoned) return job_free(j);
    DbReply r = {DB_OK, NULL, 0, j->last_id, false, NULL};
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
    db_answer(p->lane, &r, done, ud);
    if (res) PQclear(res);
}

static void refuse(Pool *p, DbDone done, void *ud, DbStatus st, const char *why) {
    DbReply r = {st, why, 0, -1, false, NULL};
    db_answer(p->lane, &r, done, ud);
}

// Takes the queue's first call out of it.
static Job *unqueue(Pool *p) {
    Job *j = p->head;
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    return j;
}

// Answers a queued call unavailable (its time ran out, the store stops).
static void give_up(Pool *p, Job *j, const char *why) {
    DbDone done = j->done;
    void *ud = j->ud;
    job_free(j);
    refuse(p, done, ud, DB_UNAVAILABLE, why);
}

// ---------------------------------------------------------------- connections

static void dispatch(Pool *p);
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
    Pool *p = c->pool;
    if (!p->down_logged && !g_stopping) {
        p->down_logged = true;
        log_warn("storage_down", "PostgreSQL (%s) connection lost: %s", p->what, why);
    }
    poll_drop(c);
    if (c->res) PQclear(c->res);
    if (c->idres) PQclear(c->idres);
    c->res = c->idres = NULL;
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
    for (int i = 0; i < c->nstmts; i++) free(c->stmts[i]);
    c->nstmts = 0;
    c->state = C_DOWN;
    c->retry_at = uv_now(g_loop) + RETRY_MS;
    if (c->job) {
        Job *j = c->job;
        c->job = NULL;
        p->running--;
        answer(p, j, NULL, "the connection to the database was lost");
    }
}

static void quiet(void *, const char *) {}
static void conn_begin(Conn *c) {
    // the core's tables are in their own schema, the scripts' in theirs; a
    // statement that runs longer than a call may wait is stopped by the
    // server itself (the scripts': past any budget; sooner, by its job's
    // run_ms, on the tick, and the server notices the connection go)
    Pool *p = c->pool;
    char options[200];
    if (p->scripts)
        snprintf(options, sizeof options, "-c search_path=scripts -c statement_timeout=%d -c client_connection_check_interval=200",
                 g_cfg.script_budget_ms * 2 + 100);
    else
        snprintf(options, sizeof options, "-c search_path=partyline -c statement_timeout=%d", (int)WAIT_MS);
    const char *keys[] = {"dbname", "options", "connect_timeout", "application_name", "user", "password", NULL};
    const char *vals[] = {p->uri, options, "5", "partyline", p->role, p->pw, NULL};
    if (!p->role) keys[4] = NULL;
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (c->pg) PQsetNoticeProcessor(c->pg, quiet, NULL); // not errors; libpq would print them
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) return conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
    PQsetnonblocking(c->pg, 1);
    c->state = C_CONNECTING;
    poll_want(c, UV_WRITABLE);
}

static void connect_step(Conn *c) {
    Pool *p = c->pool;
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING: return poll_want(c, UV_READABLE);
    case PGRES_POLLING_WRITING: return poll_want(c, UV_WRITABLE);
    case PGRES_POLLING_OK:
        c->state = C_IDLE;
        poll_want(c, UV_READABLE); // a server's goodbye shows as readable
        if (p->down_logged) {
            p->down_logged = false;
            log_info("storage_up", "PostgreSQL (%s) connection made again", p->what);
        }
        return dispatch(p);
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

static void dispatch(Pool *p) {
    for (int i = 0; i < POOL && p->head; i++) {
        Conn *c = &p->conns[i];
        if (c->state != C_IDLE) continue;
        c->job = unqueue(p);
        p->running++;
        send_job(c);
    }
}

// After a script's INSERT: SQLite's last_insert_rowid is the identity
// column's value (where the table has none, asking fails: no id).
static bool ask_lastval(Conn *c, PGresult *last) {
    c->job->asked_id = true;
    if (!c->pool->scripts || !last || PQresultStatus(last) != PGRES_COMMAND_OK || strncmp(PQcmdStatus(last), "INSERT", 6) ||
        atoll(PQcmdTuples(last)) <= 0)
        return false;
    if (!PQsendQueryParams(c->pg, "SELECT pg_catalog.lastval()", 0, NULL, NULL, NULL, NULL, 0)) return false;
    c->state = C_LASTVAL;
    c->res = last; // the INSERT's answer, kept for the job
    poll_want(c, PQflush(c->pg) == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return true;
}

// Reads what has arrived; when the running statement's end has come, its
// last result answers the job.
static void results(Conn *c) {
    Pool *p = c->pool;
    PGresult *r;
    if (c->state == C_LASTVAL) { // the INSERT's answer stays in c->res meanwhile
        while (!PQisBusy(c->pg) && (r = PQgetResult(c->pg))) {
            if (c->idres) PQclear(c->idres);
            c->idres = r;
        }
        if (PQisBusy(c->pg)) return;
        PGresult *id = c->idres;
        c->idres = NULL;
        if (c->job && id && PQresultStatus(id) == PGRES_TUPLES_OK && PQntuples(id) == 1)
            c->job->last_id = atoll(PQgetvalue(id, 0, 0));
        if (id) PQclear(id);
        c->state = C_RUNNING;
    } else {
        while (!PQisBusy(c->pg) && (r = PQgetResult(c->pg))) {
            if (c->res) PQclear(c->res); // one statement gives one result; keep the last
            c->res = r;
        }
        if (PQisBusy(c->pg)) return; // its end is still on its way
    }
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
    if (c->state == C_RUNNING && !j->asked_id && !j->abandoned && ask_lastval(c, last)) return;
    // otherwise its answer (a failed prepare is the statement's own fault)
    c->job = NULL;
    p->running--;
    c->state = C_IDLE; // before the answer, whose callback may ask again
    answer(p, j, last, "out of memory");
    dispatch(p);
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

// Calls that waited too long are answered: unavailable when still queued;
// a script's statement that ran past its time is stopped (its connection
// dropped: the server notices and cancels it), a core statement left to the
// server's statement_timeout with its answer dropped. Lost connections are
// made again.
static void tick_pool(Pool *p, uint64_t now) {
    while (p->head && now - p->head->since > WAIT_MS) give_up(p, unqueue(p), "the database is slow or unreachable");
    for (int i = 0; i < POOL; i++) {
        Conn *c = &p->conns[i];
        if (c->state == C_DOWN && now >= c->retry_at && p->uri) conn_begin(c);
        Job *j = c->job;
        if (!j || j->abandoned) continue;
        if (j->run_ms && now - j->since > j->run_ms) {
            DbDone done = j->done;
            void *ud = j->ud;
            c->job = NULL;
            p->running--;
            job_free(j);
            conn_lost(c, "a script's statement ran past its time");
            c->retry_at = now; // not the server's fault: a new one at once
            refuse(p, done, ud, DB_STOPPED, "interrupted");
        } else if (now - j->since > WAIT_MS) {
            j->abandoned = true;
            refuse(p, j->done, j->ud, DB_UNAVAILABLE, "the database is slow or unreachable");
        }
    }
}

static void on_tick(uv_timer_t *) {
    uint64_t now = uv_now(g_loop);
    for (Pool *p = g_pools; p < g_pools + 2; p++) tick_pool(p, now);
}

// ---------------------------------------------------------------- the store's table

// Whether a connection is up or on its way (at start, the pool is still
// connecting; after a loss, each tries again every RETRY_MS).
static bool any_up(Pool *p) {
    for (int i = 0; i < POOL; i++)
        if (p->conns[i].state != C_DOWN) return true;
    return false;
}

static Pool *pool_of(DbLane lane) { return &g_pools[lane == DB_SCRIPTS_LATER ? 1 : 0]; }

static void run(const DbCall *c, DbDone done, void *ud) {
    Pool *p = pool_of(c->lane);
    if (g_stopping || !g_started) return refuse(p, done, ud, DB_UNAVAILABLE, "the store is stopping");
    // no connection at all: the answer now, not in WAIT_MS
    if (!any_up(p)) return refuse(p, done, ud, DB_UNAVAILABLE, "no connection to the database");
    if (p->queued >= QUEUE_MAX) return refuse(p, done, ud, DB_UNAVAILABLE, "too many statements wait for the database");
    static char turned[64 * 1024]; // as SQLite's limit for scripts
    if (p->scripts && !db_sql_for_pg(c->sql, turned, sizeof turned))
        return refuse(p, done, ud, DB_BAD, "statement too long");
    Job *j = (Job *)calloc(1, sizeof *j);
    bool ok = j && (j->sql = strdup(p->scripts ? turned : c->sql)) &&
              (!c->n || (j->vals = (char **)calloc((size_t)c->n, sizeof *j->vals)));
    for (int i = 0; ok && i < c->n; i++) {
        j->n = i + 1;
        if (c->v[i].type != DBV_NULL && !(j->vals[i] = db_pg_text(&c->v[i]))) ok = false;
    }
    if (!ok) {
        if (j) job_free(j);
        return refuse(p, done, ud, DB_UNAVAILABLE, "out of memory");
    }
    j->n = c->n;
    j->done = done;
    j->ud = ud;
    j->max_rows = c->max_rows;
    j->run_ms = p->scripts ? c->run_ms : 0;
    j->last_id = -1;
    j->since = uv_now(g_loop);
    if (p->tail) p->tail->next = j;
    else p->head = j;
    p->tail = j;
    p->queued++;
    dispatch(p);
}

static void start(uv_loop_t *loop) {
    g_loop = loop;
    g_started = true;
    uv_timer_init(loop, &g_tick);
    uv_timer_start(&g_tick, on_tick, TICK_MS, TICK_MS);
    for (Pool *p = g_pools; p < g_pools + 2; p++)
        for (int i = 0; i < POOL; i++) conn_begin(&p->conns[i]);
}

static void stop(void) {
    if (!g_started || g_stopping) return;
    g_stopping = true;
    uv_timer_stop(&g_tick);
    uv_close((uv_handle_t *)&g_tick, NULL);
    // a write already sent may still land; its caller hears unavailable
    for (Pool *p = g_pools; p < g_pools + 2; p++) {
        for (int i = 0; i < POOL; i++) conn_lost(&p->conns[i], "the store is stopping");
        while (p->head) give_up(p, unqueue(p), "the store is stopping");
    }
}

static uint32_t pending(void) {
    uint32_t n = 0;
    for (Pool *p = g_pools; p < g_pools + 2; p++) n += p->queued + p->running;
    return n;
}


static void close_pools(void) {
    stop();
    for (Pool *p = g_pools; p < g_pools + 2; p++) {
        free(p->uri);
        free(p->role);
        free(p->pw);
        p->uri = p->role = p->pw = NULL;
    }
}

int db_pg_pools_open(const char *uri, const char *role, const char *pw, DbStore *st, char *err, size_t errlen) {
    Pool *core = &g_pools[0], *sc = &g_pools[1];
    if (!(core->uri = strdup(uri)) || !(sc->uri = strdup(uri)) || !(sc->role = strdup(role)) || !(sc->pw = strdup(pw))) {
        close_pools();
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g_stopping = g_started = false;
    for (Pool *p = g_pools; p < g_pools + 2; p++) {
        p->head = p->tail = NULL;
        p->queued = p->running = 0;
        for (int i = 0; i < POOL; i++) p->conns[i] = Conn{p, NULL, NULL, -1, C_DOWN, NULL, {}, 0, 0, NULL, NULL, 0};
    }
    st->later = true;
    st->run = run;
    st->start = start;
    st->stop = stop;
    st->close = close_pools;
    st->pending = pending;
    return 0;
}
