#include "cluster/redis.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// hiredis's adapter: static functions in a header, for this one file
#include <hiredis/adapters/libuv.h>

#include "base/buf.h"
#include "base/histogram.h"
#include "base/log.h"
#include "base/text.h"

#define PING_EVERY_MS 1000
#define PING_TIMEOUT_MS 3000 // no PONG this long: Redis is taken as gone
#define WATCH_MS 250
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

struct Link {
    const char *name;
    redisAsyncContext *ac; // NULL while not connected (or connecting)
    bool up;               // connected (and, for the bus link, subscribed)
    uint32_t attempts;     // failed attempts in a row, for the backoff
    uv_timer_t retry;
};

static uv_loop_t *g_loop;
static Link g_cmd = {"commands", NULL, false, 0, {}}, g_sub = {"bus", NULL, false, 0, {}};
static char g_host[256];
static int g_port;
static char g_channel[128];
static RedisMessageFn g_on_message;
static RedisStateFn g_on_state;
static bool g_running, g_was_up;
static uv_timer_t g_watch;
static bool g_ping_out;
static uint64_t g_ping_sent_ms;

static struct {
    uint64_t commands, publishes, failed, reconnects, timeouts, messages;
} g_count;
static Histogram g_rtt = {"partyline_redis_rtt_seconds", "Round trip of the watchdog PING to Redis.", {}, 0, 0};

static void link_connect(Link *l);
static void link_drop(Link *l);

static void state_changed(void) {
    bool up = g_cmd.up && g_sub.up;
    if (up == g_was_up) return;
    g_was_up = up;
    if (up) log_info("redis_up", "connected to Redis at %s:%d (commands and bus)", g_host, g_port);
    else log_warn("redis_down", "Redis at %s:%d is not reachable; serving this process's users alone", g_host, g_port);
    g_on_state(up);
}

static void retry_fire(uv_timer_t *t) { link_connect((Link *)t->data); }

// Backoff with jitter, so that processes that lost Redis together do not all
// knock at the same moment when it comes back.
static void retry_later(Link *l) {
    if (!g_running) return;
    uint32_t ms = RETRY_MIN_MS << (l->attempts < 6 ? l->attempts : 6);
    if (ms > RETRY_MAX_MS) ms = RETRY_MAX_MS;
    ms = ms * 3 / 4 + randombytes_uniform(ms / 2 + 1);
    l->attempts++;
    uv_timer_start(&l->retry, retry_fire, ms, 0);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    Link *l = (Link *)ac->data;
    if (l->ac && l->ac != ac) return; // an older context, already replaced
    l->ac = NULL;
    bool was = l->up;
    l->up = false;
    if (l == &g_cmd) g_ping_out = false;
    if (was) {
        log_warn("redis_lost", "Redis %s connection lost%s", l->name, status == REDIS_OK ? "" : " (error)");
        g_count.reconnects++;
    }
    // the bus going usually means Redis went (a restart): the command
    // connection may not have noticed yet, and what it sends meanwhile would
    // go nowhere, so it is made again with the bus
    if (l == &g_sub && g_cmd.ac) {
        link_drop(&g_cmd);
        retry_later(&g_cmd);
    }
    state_changed();
    retry_later(l);
}

static void on_bus(redisAsyncContext *ac, void *reply, void *) {
    redisReply *r = (redisReply *)reply;
    Link *l = (Link *)ac->data;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING) return;
    const char *kind = r->element[0]->str;
    if (!strcmp(kind, "subscribe")) {
        l->up = true;
        l->attempts = 0;
        state_changed();
    } else if (!strcmp(kind, "message") && r->element[2]->type == REDIS_REPLY_STRING) {
        g_count.messages++;
        g_on_message(r->element[2]->str, r->element[2]->len);
    }
}

static void on_connect(const redisAsyncContext *ac, int status) {
    Link *l = (Link *)ac->data;
    if (status != REDIS_OK) {
        // hiredis frees the context after this callback
        if (l->ac == ac) l->ac = NULL;
        if (l->attempts == 0) log_warn("redis_connect", "cannot reach Redis at %s:%d (%s); retrying", g_host, g_port, ac->errstr);
        retry_later(l);
        return;
    }
    if (l == &g_sub) {
        const char *argv[] = {"SUBSCRIBE", g_channel};
        redisAsyncCommandArgv((redisAsyncContext *)ac, on_bus, NULL, 2, argv, NULL);
        return; // up once the subscription is confirmed
    }
    l->up = true;
    l->attempts = 0;
    state_changed();
}

static void link_connect(Link *l) {
    if (!g_running || l->ac) return;
    redisAsyncContext *ac = redisAsyncConnect(g_host, g_port);
    if (!ac) return retry_later(l);
    if (ac->err || redisLibuvAttach(ac, g_loop) != REDIS_OK) {
        if (l->attempts == 0) log_warn("redis_connect", "cannot reach Redis at %s:%d (%s); retrying", g_host, g_port, ac->errstr);
        redisAsyncFree(ac);
        return retry_later(l);
    }
    ac->data = l;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    l->ac = ac;
}

static void link_drop(Link *l) {
    redisAsyncContext *ac = l->ac;
    if (!ac) return;
    // the disconnect callback finds l->ac NULL and takes it as this context's
    l->ac = NULL;
    bool was = l->up;
    l->up = false;
    if (was) g_count.reconnects++;
    redisAsyncFree(ac); // pending callbacks get NULL now (or when the current callback returns)
}

void redis_reset(const char *why) {
    log_warn("redis_reset", "dropping the Redis connections: %s", why);
    link_drop(&g_cmd);
    link_drop(&g_sub);
    g_ping_out = false;
    state_changed();
    retry_later(&g_cmd);
    retry_later(&g_sub);
}

// ---------------------------------------------------------------- commands

struct Pending {
    RedisReplyFn fn;
    void *arg;
};

static void on_reply(redisAsyncContext *, void *reply, void *priv) {
    Pending *p = (Pending *)priv;
    redisReply *r = (redisReply *)reply;
    if (!r || r->type == REDIS_REPLY_ERROR) g_count.failed++;
    if (r && r->type == REDIS_REPLY_ERROR) log_warn("redis_error", "Redis: %s", r->str);
    if (p->fn) p->fn(r, p->arg);
    free(p);
}

bool redis_command(RedisReplyFn fn, void *arg, int argc, const char **argv, const size_t *lens) {
    if (!g_cmd.up) return false;
    Pending *p = (Pending *)malloc(sizeof *p);
    if (!p) return false;
    p->fn = fn;
    p->arg = arg;
    if (redisAsyncCommandArgv(g_cmd.ac, on_reply, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        g_count.failed++;
        return false;
    }
    g_count.commands++;
    return true;
}

bool redis_publish(const char *data, size_t len) {
    const char *argv[] = {"PUBLISH", g_channel, data};
    size_t lens[] = {7, strlen(g_channel), len};
    if (!redis_command(NULL, NULL, 3, argv, lens)) return false;
    g_count.publishes++;
    return true;
}

bool redis_up(void) { return g_cmd.up && g_sub.up; }

// ---------------------------------------------------------------- watchdog

static void on_pong(redisReply *r, void *) {
    g_ping_out = false;
    if (r) hist_observe(&g_rtt, (double)(text_now_ms() - g_ping_sent_ms) / 1000.0);
}

static void watch(uv_timer_t *) {
    if (!g_cmd.up) return;
    uint64_t now = text_now_ms();
    if (g_ping_out) {
        if (now - g_ping_sent_ms < PING_TIMEOUT_MS) return;
        g_count.timeouts++;
        char why[64];
        snprintf(why, sizeof why, "no answer to PING in %d ms", PING_TIMEOUT_MS);
        return redis_reset(why);
    }
    if (now - g_ping_sent_ms < PING_EVERY_MS) return;
    const char *argv[] = {"PING"};
    g_ping_sent_ms = now;
    g_ping_out = redis_command(on_pong, NULL, 1, argv, NULL);
}

// ---------------------------------------------------------------- start, stop

// host:port, or redis://[user:password@]host[:port][/db] (a password is not
// supported: say so rather than connect without it).
static int parse_where(const char *where, char *err, size_t errlen) {
    const char *p = where;
    if (!strncmp(p, "redis://", 8)) p += 8;
    if (strchr(p, '@')) {
        snprintf(err, errlen, "redis: credentials in the URL are not supported (%s)", where);
        return -1;
    }
    char host[256];
    size_t n = strcspn(p, ":/");
    if (n == 0 || n >= sizeof host) {
        snprintf(err, errlen, "redis: no host in '%s'", where);
        return -1;
    }
    memcpy(host, p, n);
    host[n] = 0;
    g_port = 6379;
    if (p[n] == ':') {
        char *end;
        long port = strtol(p + n + 1, &end, 10);
        if (port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "redis: bad port in '%s'", where);
            return -1;
        }
        g_port = (int)port;
    }
    // a name is resolved once, here at start, so that reconnecting never
    // waits on a resolver inside the loop
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        snprintf(err, errlen, "redis: cannot resolve '%s'", host);
        return -1;
    }
    const void *a = res->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                                              : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, a, g_host, sizeof g_host);
    freeaddrinfo(res);
    return 0;
}

int redis_start(uv_loop_t *loop, const char *where, const char *channel, RedisMessageFn on_message,
                RedisStateFn on_state, char *err, size_t errlen) {
    if (parse_where(where, err, errlen)) return -1;
    g_loop = loop;
    snprintf(g_channel, sizeof g_channel, "%s", channel);
    g_on_message = on_message;
    g_on_state = on_state;
    g_running = true;
    uv_timer_init(loop, &g_cmd.retry);
    uv_timer_init(loop, &g_sub.retry);
    g_cmd.retry.data = &g_cmd;
    g_sub.retry.data = &g_sub;
    uv_timer_init(loop, &g_watch);
    uv_timer_start(&g_watch, watch, WATCH_MS, WATCH_MS);
    link_connect(&g_cmd);
    link_connect(&g_sub);
    return 0;
}

void redis_stop(void) {
    if (!g_running) return;
    g_running = false;
    link_drop(&g_cmd);
    link_drop(&g_sub);
    uv_close((uv_handle_t *)&g_watch, NULL);
    uv_close((uv_handle_t *)&g_cmd.retry, NULL);
    uv_close((uv_handle_t *)&g_sub.retry, NULL);
}

void redis_metrics(Buf *b) {
    char text[1600];
    int n = snprintf(text, sizeof text,
                     "# HELP partyline_redis_up Whether both Redis connections are up.\n"
                     "# TYPE partyline_redis_up gauge\npartyline_redis_up %d\n"
                     "# HELP partyline_redis_commands_total Commands sent to Redis (PUBLISH included).\n"
                     "# TYPE partyline_redis_commands_total counter\npartyline_redis_commands_total %llu\n"
                     "# HELP partyline_redis_failed_total Commands that got an error or no answer.\n"
                     "# TYPE partyline_redis_failed_total counter\npartyline_redis_failed_total %llu\n"
                     "# HELP partyline_redis_reconnects_total Redis connections lost or dropped.\n"
                     "# TYPE partyline_redis_reconnects_total counter\npartyline_redis_reconnects_total %llu\n"
                     "# HELP partyline_redis_timeouts_total Watchdog PINGs Redis did not answer in time.\n"
                     "# TYPE partyline_redis_timeouts_total counter\npartyline_redis_timeouts_total %llu\n",
                     redis_up() ? 1 : 0, (unsigned long long)g_count.commands, (unsigned long long)g_count.failed,
                     (unsigned long long)g_count.reconnects, (unsigned long long)g_count.timeouts);
    buf_add(b, text, (size_t)n, 1 << 20);
    hist_text(&g_rtt, b);
}
