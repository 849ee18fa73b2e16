#include "hashpool.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#define MAX_THREADS 64

static int g_jobs[2] = {-1, -1};    // loop -> threads
static int g_results[2] = {-1, -1}; // threads -> loop
static uv_thread_t g_threads[MAX_THREADS];
static int g_nthreads;
static uv_poll_t g_poll;
static bool g_polling;

static void worker(void *) {
    // Linux applies nice per thread, and lowering it needs no privilege: the
    // loop (everyone's chat) gets a core before any hash does
    struct sched_param sp = {};
    if (sched_setscheduler(0, SCHED_IDLE, &sp)) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    for (;;) {
        HashJob *j;
        ssize_t n = read(g_jobs[0], &j, sizeof j);
        if (n == 0) return; // the loop closed the queue: shutdown
        if (n != (ssize_t)sizeof j) {
            if (n < 0 && errno == EINTR) continue;
            return;
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
    if (pipe2(g_jobs, O_CLOEXEC) || pipe2(g_results, O_CLOEXEC) || set_flag(g_jobs[1], O_NONBLOCK) ||
        set_flag(g_results[0], O_NONBLOCK)) {
        log_error("hashpool", "pipe: %s", strerror(errno));
        return -1;
    }
    if (threads <= 0) threads = (int)uv_available_parallelism();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    for (g_nthreads = 0; g_nthreads < threads; g_nthreads++)
        if (uv_thread_create(&g_threads[g_nthreads], worker, NULL)) break;
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
    return write(g_jobs[1], &j, sizeof j) == (ssize_t)sizeof j;
}

void hashpool_stop(void) {
    if (!g_polling) return;
    g_polling = false;
    uv_poll_stop(&g_poll);
    uv_close((uv_handle_t *)&g_poll, NULL);
}

void hashpool_free(void) {
    if (g_jobs[1] < 0) return;
    close(g_jobs[1]); // the threads finish what they hold and read the end
    g_jobs[1] = -1;
    // jobs nobody took go back unrun
    set_flag(g_jobs[0], O_NONBLOCK);
    HashJob *j;
    while (read(g_jobs[0], &j, sizeof j) == (ssize_t)sizeof j) j->done(j);
    for (int i = 0; i < g_nthreads; i++) uv_thread_join(&g_threads[i]);
    drain_results(true);
    close(g_jobs[0]);
    close(g_results[0]);
    close(g_results[1]);
    g_jobs[0] = g_results[0] = g_results[1] = -1;
    g_nthreads = 0;
}
