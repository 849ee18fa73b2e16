// One board on many processes: the processes that name the same Redis
// (config key `redis`) act as one board. The layer above the scripts and
// below the network: it fills the cluster's entries of g_up (model/up.h),
// so that what the model routes (a room's line, a message to a user on
// another process, a kick, a spy) reaches the other processes through the
// bus (cluster/bus.h), once per event and process, and delivers what they
// publish to the sessions here through the same local path as their own.
//
// Who is where lives in every process's replica (cluster/presence.h); node
// numbers are claimed in Redis, lowest free first over the whole board
// (cluster/nodes.cpp); a process that goes silent is gone within
// cluster_dead_s, and one process (the first to claim it in Redis)
// announces its users' leaves. While Redis is away each process serves its
// own users alone, and when it is back the processes find each other again.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct Buf;
struct Session;
struct Up;

// Whether this process is one of a board of many (`redis` is set).
bool cluster_on(void);
// Connects to Redis (retrying in the background when it is not there yet)
// and fills the cluster's entries of up. -1 with a reason in err for a
// configuration that cannot work.
int cluster_start(uv_loop_t *loop, Up *up, char *err, size_t errlen);
// A clean stop: the others hear this process go (its users' leaves were
// announced by their sessions' ends), its nodes are given back.
void cluster_stop(void);

// A node for a new session, lowest free over the whole board: fn(node, arg)
// is called once, at once when the board is one process or Redis is away,
// else when Redis has answered. cluster_claim_cancel(arg) before then: the
// claim is given back when it comes.
typedef void (*ClusterNodeFn)(uint32_t node, void *arg);
void cluster_claim_node(ClusterNodeFn fn, void *arg);
void cluster_claim_cancel(void *arg);
// Moving: a client that comes back on this process with the resume id of a
// session another process holds (its process died, was restarted, or a
// load balancer sent it here). The replica, when the client may have it
// (its own address, or a token for its user), else NULL.
Session *cluster_resumable(const char *resume_id, const char *token_handle, const char *addr);
// Takes r's node over for a session here: fn(node), or fn(0) when it is no
// longer r's process's (then a new node is claimed as usual).
void cluster_take_node(Session *r, ClusterNodeFn fn, void *arg);
// Tells r's process its session moved here (new_serial): it hands over the
// events the client had not seen (after last_seq) and ends its own quietly.
void cluster_taken(uint16_t proc, uint32_t node, uint32_t old_serial, uint32_t new_serial, uint64_t last_seq);
// A local session ended (g_up.ended): the others are told, its node given back.
void cluster_ended(Session *s);

void cluster_metrics(Buf *b);
