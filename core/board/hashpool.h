// Threads for password hashing (argon2id: tens of milliseconds of a core and
// up to pwhash_mem_kb of memory per hash).
//
// Not libuv's thread pool: its completion (uv_async_send) has the loop
// spin-wait while a worker is between two steps, so a worker preempted there
// stalls the loop for as long as it stays off the CPU (perf: 20% of the loop
// in that spin during a burst of logins); and its threads compete with the
// loop at the same priority. Here jobs and results pass through pipes as
// pointers (a write of 8 bytes to a pipe is atomic), the threads run at the
// lowest priority, and the loop never waits on them for anything.
#pragma once
#include <uv.h>

struct HashJob {
    void (*run)(HashJob *);  // on a hashing thread
    void (*done)(HashJob *); // back on the loop; also at shutdown, with ran false
    bool ran;
    // Registrations: each makes a hash at full cost, and a burst of them must
    // not keep users from logging in. Low jobs are taken only when no other
    // job waits, and never by the first thread, which is kept for logins
    // (when there is more than one thread).
    bool low;
};

// threads: 0 means one per CPU.
int hashpool_start(uv_loop_t *loop, int threads);
// Queues j; false when the queue is full (thousands waiting).
bool hashpool_submit(HashJob *j);
// Shutdown, first step: stop listening for results (lets the loop end).
void hashpool_stop(void);
// After the loop has ended: waits for each thread's current hash, then hands
// every job still queued or done back to its done().
void hashpool_free(void);
