#include "board/hashpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_THREADS 64

static int g_jobs[2] = {-1, -1};    // loop -> threads: logins, password changes
static int g_low[2] = {-1, -1};     // loop -> threads: registrations (HashJob.low)
static int g_results[2] = {-1, -1}; // threads -> loop
static uv_thread_t g_threads[MAX_THREADS];
static int g_nthreads;
static uv_poll_t g_poll;
static bool g_polling;

// Takes one job from fd: 1 taken, 0 none waiting, -1 the queue is closed.
// Both queues are non-blocking pipes shared by every thread: whoever reads
// first gets the job (a write of one pointer is atomic, and so is its read).
static int take(int fd, HashJob **j) {
    for (;;) {
        ssize_t n = read(fd, j, sizeof *j);
        if (n == (ssize_t)sizeof *j) return 1;
        if (n == 0) return -1;
        if (n < 0 && errno == EINTR) continue;
        return n < 0 && errno == EAGAIN ? 0 : -1;
    }
}

static void worker(void *arg) {
    bool first = (intptr_t)arg == 0;
    // Linux applies nice per thread, and lowering it needs no privilege: the
    // loop (everyone's chat) gets a core before any hash does
    struct sched_param sp = {};
    if (sched_setscheduler(0, SCHED_IDLE, &sp)) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    for (;;) {
        HashJob *j;
        // the first thread is kept for logins, unless it is the only one
        bool low_ok = !first || __atomic_load_n(&g_nthreads, __ATOMIC_RELAXED) == 1;
        int got = take(g_jobs[0], &j); // logins first
        if (got < 0) return;           // the loop closed the queue: shutdown
        if (!got && low_ok) {
            got = take(g_low[0], &j);
            if (got < 0) return;
        }
        if (!got) {
            struct pollfd pf[2] = {{g_jobs[0], POLLIN, 0}, {g_low[0], POLLIN, 0}};
            if (poll(pf, low_ok ? 2 : 1, -1) < 0 && errno != EINTR) return;
            continue;
        }
        j->run(j);
        j->ran = true;
        while (write(g_results[1], &j, sizeof j) < 0 && errno == EINTR) {
        }
    }
}

// At shutdown every job goes back as not run: nobody is there to answer.
static void drain_results(bool shutdown) {
    HashJob *batch[64];
    for (;;) {
        ssize_t n = read(g_results[0], batch, sizeof batch);
        if (n <= 0) return;
        for (ssize_t i = 0; i < n / (ssize_t)sizeof batch[0]; i++) {
            if (shutdown) batch[i]->ran = false;
            batch[i]->done(batch[i]);
        }
    }
}

static void on_results(uv_poll_t *, int status, int) {
    if (status == 0) drain_results(false);
}

static int set_flag(int fd, int flag) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | flag);
}

int hashpool_start(uv_loop_t *loop, int threads) {
    if (pipe2(g_jobs, O_CLOEXEC | O_NONBLOCK) || pipe2(g_low, O_CLOEXEC | O_NONBLOCK) ||
        pipe2(g_results, O_CLOEXEC) || set_flag(g_results[0], O_NONBLOCK)) {
        log_error("hashpool", "pipe: %s", strerror(errno));
        return -1;
    }
    if (threads <= 0) threads = (int)uv_available_parallelism();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    // the workers read the count (whether the first may take low jobs)
    __atomic_store_n(&g_nthreads, threads, __ATOMIC_RELAXED);
    int started = 0;
    for (; started < threads; started++)
        if (uv_thread_create(&g_threads[started], worker, (void *)(intptr_t)started)) break;
    __atomic_store_n(&g_nthreads, started, __ATOMIC_RELAXED);
    if (!g_nthreads) {
        log_error("hashpool", "could not start a hashing thread");
        return -1;
    }
    uv_poll_init(loop, &g_poll, g_results[0]);
    uv_poll_start(&g_poll, UV_READABLE, on_results);
    g_polling = true;
    return 0;
}

bool hashpool_submit(HashJob *j) {
    j->ran = false;
    return write(j->low ? g_low[1] : g_jobs[1], &j, sizeof j) == (ssize_t)sizeof j;
}

void hashpool_stop(void) {
    if (!g_polling) return;
    g_polling = false;
    uv_poll_stop(&g_poll);
    uv_close((uv_handle_t *)&g_poll, NULL);
}

void hashpool_free(void) {
    if (g_jobs[1] < 0) return;
    // the threads finish what they hold and read the end
    close(g_jobs[1]);
    close(g_low[1]);
    g_jobs[1] = g_low[1] = -1;
    for (int i = 0; i < g_nthreads; i++) uv_thread_join(&g_threads[i]);
    // jobs nobody took go back unrun
    HashJob *j;
    while (take(g_jobs[0], &j) == 1) j->done(j);
    while (take(g_low[0], &j) == 1) j->done(j);
    drain_results(true);
    close(g_jobs[0]);
    close(g_low[0]);
    close(g_results[0]);
    close(g_results[1]);
    g_jobs[0] = g_low[0] = g_results[0] = g_results[1] = -1;
    g_nthreads = 0;
}
