#include "cluster/nodes.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "cluster/bus.h"
#include "cluster/redis.h"
#include "model/session.h"

// KEYS: bits, nodes (node -> process), this process's set. ARGV: process.
// Bit 0 stays set: nodes count from 1.
static const char CLAIM[] = "redis.call('SETBIT', KEYS[1], 0, 1)\n"
                            "local n = redis.call('BITPOS', KEYS[1], 0)\n"
                            "redis.call('SETBIT', KEYS[1], n, 1)\n"
                            "redis.call('HSET', KEYS[2], n, ARGV[1])\n"
                            "redis.call('SADD', KEYS[3], n)\n"
                            "return n\n";
// KEYS: bits, nodes, this process's set, from's set. ARGV: node, process, from.
static const char TAKE[] = "local cur = redis.call('HGET', KEYS[2], ARGV[1])\n"
                           "if cur and cur ~= ARGV[2] and cur ~= ARGV[3] then return 0 end\n"
                           "if cur and cur ~= ARGV[2] then redis.call('SREM', KEYS[4], ARGV[1]) end\n"
                           "redis.call('SETBIT', KEYS[1], 0, 1)\n"
                           "redis.call('SETBIT', KEYS[1], ARGV[1], 1)\n"
                           "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
                           "redis.call('SADD', KEYS[3], ARGV[1])\n"
                           "return tonumber(ARGV[1])\n";
// KEYS: bits, nodes, this process's set. ARGV: node, process.
static const char RELEASE[] = "if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then\n"
                              "  redis.call('HDEL', KEYS[2], ARGV[1])\n"
                              "  redis.call('SETBIT', KEYS[1], ARGV[1], 0)\n"
                              "end\n"
                              "redis.call('SREM', KEYS[3], ARGV[1])\n"
                              "return 1\n";
// KEYS: bits, nodes, the process's set, the heartbeats. ARGV: process.
static const char RELEASE_PROC[] = "for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
                                   "  if redis.call('HGET', KEYS[2], n) == ARGV[1] then\n"
                                   "    redis.call('HDEL', KEYS[2], n)\n"
                                   "    redis.call('SETBIT', KEYS[1], n, 0)\n"
                                   "  end\n"
                                   "end\n"
                                   "redis.call('DEL', KEYS[3])\n"
                                   "redis.call('HDEL', KEYS[4], ARGV[1])\n"
                                   "return 1\n";

struct Keys {
    char bits[96], nodes[96], mine[128], other[128], procs[96];
};

static void keys_for(Keys *k, const char *proc, const char *other) {
    bus_key(k->bits, sizeof k->bits, "nodebits");
    bus_key(k->nodes, sizeof k->nodes, "nodes");
    char name[64];
    snprintf(name, sizeof name, "pnodes:%s", proc);
    bus_key(k->mine, sizeof k->mine, name);
    snprintf(name, sizeof name, "pnodes:%s", other && other[0] ? other : "-");
    bus_key(k->other, sizeof k->other, name);
    bus_key(k->procs, sizeof k->procs, "procs");
}

// ---------------------------------------------------------------- claims

// A claim (or take) waiting for its answer; fn NULLed when its session no
// longer wants it (the node is then given back when it comes).
struct Claim {
    NodesClaimFn fn;
    void *arg;
    bool take; // a take: 0 means "someone else's", not "Redis did not answer"
    Claim *next;
};
static Claim *g_claims;

static void on_claim(redisReply *r, void *p) {
    Claim *c = (Claim *)p;
    for (Claim **pp = &g_claims; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    uint32_t node = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint32_t)r->integer : 0;
    if (node) {
        // Redis says the node is ours: a replica still there is of a session
        // whose end has not reached us yet
        Session *old = session_by_node(node);
        if (old && old->proc) session_end_quiet(old);
        else if (old && !c->take) node = 0; // ours already (cannot be): number it here instead
    }
    if (!node && !c->take) node = session_free_node(); // Redis away: this process's view will do
    if (c->fn) c->fn(node, c->arg);
    else if (node) nodes_release(node); // its session went meanwhile
    free(c);
}

static Claim *pending(NodesClaimFn fn, void *arg, bool take) {
    Claim *c = (Claim *)calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fn = fn;
    c->arg = arg;
    c->take = take;
    return c;
}

static void send_claim(Claim *c, int argc, const char **argv) {
    if (!redis_command(on_claim, c, argc, argv, NULL)) return on_claim(NULL, c);
    c->next = g_claims;
    g_claims = c;
}

void nodes_claim(NodesClaimFn fn, void *arg) {
    Claim *c = pending(fn, arg, false);
    if (!c) return fn(session_free_node(), arg);
    Keys k;
    keys_for(&k, bus_self(), NULL);
    const char *argv[] = {"EVAL", CLAIM, "3", k.bits, k.nodes, k.mine, bus_self()};
    send_claim(c, 7, argv);
}

void nodes_take(uint32_t node, const char *from, NodesClaimFn fn, void *arg) {
    Claim *c = pending(fn, arg, true);
    if (!c) {
        if (fn) fn(0, arg);
        return;
    }
    Keys k;
    keys_for(&k, bus_self(), from);
    char n[16];
    snprintf(n, sizeof n, "%u", node);
    const char *argv[] = {"EVAL", TAKE, "4", k.bits, k.nodes, k.mine, k.other, n, bus_self(), from ? from : ""};
    send_claim(c, 10, argv);
}

void nodes_cancel(void *arg) {
    for (Claim *c = g_claims; c; c = c->next)
        if (c->arg == arg) c->fn = NULL;
}

void nodes_release(uint32_t node) {
    Keys k;
    keys_for(&k, bus_self(), NULL);
    char n[16];
    snprintf(n, sizeof n, "%u", node);
    const char *argv[] = {"EVAL", RELEASE, "3", k.bits, k.nodes, k.mine, n, bus_self()};
    redis_command(NULL, NULL, 8, argv, NULL);
}

void nodes_release_proc(const char *proc) {
    Keys k;
    keys_for(&k, proc, NULL);
    const char *argv[] = {"EVAL", RELEASE_PROC, "4", k.bits, k.nodes, k.mine, k.procs, proc};
    redis_command(NULL, NULL, 8, argv, NULL);
}

static void on_procs(redisReply *r, void *) {
    if (!r || r->type != REDIS_REPLY_ARRAY) return;
    uint64_t now = text_now_ms(), dead = (uint64_t)g_cfg.cluster_dead_s * 1000;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *proc = r->element[i]->str;
        uint64_t seen = strtoull(r->element[i + 1]->str ? r->element[i + 1]->str : "0", NULL, 10);
        if (!proc || !strcmp(proc, bus_self()) || now - seen <= dead) continue;
        log_info("cluster_stale", "process %s left nodes behind (last heard %llu s ago): given back", proc,
                 (unsigned long long)((now - seen) / 1000));
        nodes_release_proc(proc);
    }
}

void nodes_sweep_stale(void) {
    char key[96];
    bus_key(key, sizeof key, "procs");
    const char *argv[] = {"HGETALL", key};
    redis_command(on_procs, NULL, 2, argv, NULL);
}
