// One Redis server, reached through hiredis's asynchronous API on our loop
// (its libuv adapter): one connection for commands and one for the bus
// channel's subscription (a subscribed connection may send nothing else
// under RESP2, and hiredis 0.14 asserts on replies it does not expect there).
//
// Nothing here ever blocks the loop. A command sent while Redis is away
// fails at once (its callback gets NULL); hiredis 0.14 has no command
// timeout, so a watchdog PING on the command connection finds a Redis that
// stopped answering, and then both connections are dropped (every pending
// callback gets NULL) and come back by themselves, with backoff and jitter.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct redisReply;
struct Buf;

// A command's answer; NULL when none came (Redis away, dropped, or the
// server is stopping).
typedef void (*RedisReplyFn)(struct redisReply *r, void *arg);
// A message on the bus channel.
typedef void (*RedisMessageFn)(const char *data, size_t len);
// Both connections are up and subscribed (true), or one of them went (false).
typedef void (*RedisStateFn)(bool up);

// where: "host:port" or "redis://host:port[/db]". Returns -1 with a reason in
// err when where cannot be read; a Redis that is not there yet is no error
// (it is retried).
int redis_start(uv_loop_t *loop, const char *where, const char *channel, RedisMessageFn on_message,
                RedisStateFn on_state, char *err, size_t errlen);
// Drops both connections (pending callbacks get NULL) and stops retrying.
void redis_stop(void);
bool redis_up(void);
// Drops both connections now and reconnects (a subscription found dead).
void redis_reset(const char *why);

// Sends one command; fn (may be NULL) is called once with the answer. False,
// without calling fn, when Redis is away.
bool redis_command(RedisReplyFn fn, void *arg, int argc, const char **argv, const size_t *lens);
// PUBLISH on the bus channel. False when Redis is away.
bool redis_publish(const char *data, size_t len);

// Counters and the round-trip histogram, for /metrics.
void redis_metrics(Buf *b);
