// Node numbers over a board of many processes, kept in Redis: a bitmap of
// the nodes in use (BITPOS finds the lowest free one in one step), which
// process holds each (a hash), and each process's nodes (a set), changed
// only by small Lua scripts so that every claim and release is one atomic
// round trip. A process that is gone has its nodes given back by the
// process that reaps it; a Redis that restarted without its data gets every
// live process's nodes claimed again when the bus comes back.
#pragma once
#include <stdint.h>

typedef void (*NodesClaimFn)(uint32_t node, void *arg); // node 0: Redis did not answer

// The lowest free node, for a new session here.
void nodes_claim(NodesClaimFn fn, void *arg);
// Gives back a claim whose reply is still to come (its session never started).
void nodes_cancel(void *arg);
// This node, for this process, if it is free or held by from ("" = free
// only); fn gets node, or 0 when it is someone else's.
void nodes_take(uint32_t node, const char *from, NodesClaimFn fn, void *arg);
// This process no longer holds node.
void nodes_release(uint32_t node);
// Every node a process held goes (it is gone), and its heartbeat entry.
void nodes_release_proc(const char *proc);
// Processes whose heartbeat in Redis is older than cluster_dead_s are gone:
// their nodes go (a board all of whose processes died left them behind).
void nodes_sweep_stale(void);
