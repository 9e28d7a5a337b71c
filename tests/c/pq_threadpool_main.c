/*
 * Stress driver for runtime/kernels/src/linux/pq_threadpool.c (tests/test_threads.py builds
 * it, also under ThreadSanitizer when the compiler has it).
 *
 *   pq_threadpool_main THREADS JOBS
 *
 * Runs JOBS parallel-fors of 1..9 tasks on a pool of THREADS threads and checks that
 * every task of every job ran exactly once, on a valid thread id, and that a task's
 * nonzero status comes back. Every 5000 jobs it pauses long enough for the workers to
 * fall asleep, so the sleep / wake-up path is exercised too. Then: the pool in a
 * fork()ed child (tasks run on the caller there), destroy, and 200 init / run /
 * destroy cycles. Prints "ok" and exits 0, or names the first failure and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pq_threadpool.h"

typedef struct {
    int32_t runs[16];
    int32_t bad_thread;
    int32_t n_threads;
} job_t;

static int task(void *ctx, int32_t t, int32_t thread)
{
    job_t *j = (job_t *)ctx;
    volatile int32_t spin = 0;
    int32_t i;
    __atomic_add_fetch(&j->runs[t], 1, __ATOMIC_RELAXED);
    if (thread < 0 || thread >= j->n_threads) {
        __atomic_store_n(&j->bad_thread, 1, __ATOMIC_RELAXED);
    }
    for (i = 0; i < (t % 3) * 200; ++i) { /* uneven tasks */
        spin = spin + i;
    }
    return t == 3 ? 7 : 0;
}

static int run_and_check(pq_threadpool *pool, int32_t n_threads, int32_t n, const char *what, int32_t job)
{
    job_t j;
    int32_t t;
    int st;
    memset(&j, 0, sizeof j);
    j.n_threads = n_threads;
    st = pq_threadpool_run(pool, task, &j, n);
    for (t = 0; t < n; ++t) {
        if (j.runs[t] != 1) {
            printf("%s: job %d task %d ran %d times\n", what, job, t, j.runs[t]);
            return 1;
        }
    }
    if (j.bad_thread) {
        printf("%s: job %d: a task saw a thread id outside [0, %d)\n", what, job, n_threads);
        return 1;
    }
    if ((n > 3) != (st == 7)) {
        printf("%s: job %d of %d tasks returned status %d\n", what, job, n, st);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const int32_t n_threads = argc > 1 ? atoi(argv[1]) : 4;
    const int32_t jobs = argc > 2 ? atoi(argv[2]) : 20000;
    const struct timespec nap = {0, 20 * 1000 * 1000};
    void *mem = malloc(pq_threadpool_size());
    pq_threadpool *pool = NULL;
    int32_t i;
    int err, status;
    pid_t pid;
    if (!pq_threadpool_available()) {
        printf("no threads in this build\n");
        return 1;
    }
    if (pq_threadpool_init(mem, 1, &pool) != PQ_POOL_BAD_COUNT || pool != NULL ||
        pq_threadpool_init(mem, PQ_THREADPOOL_MAX + 1, &pool) != PQ_POOL_BAD_COUNT) {
        printf("bad thread counts were not refused\n");
        return 1;
    }
    err = pq_threadpool_init(mem, n_threads, &pool);
    if (err != 0) {
        printf("init: error %d\n", err);
        return 1;
    }
    for (i = 0; i < jobs; ++i) {
        if (run_and_check(pool, n_threads, 1 + i % 9, "jobs", i)) {
            return 1;
        }
        if (i % 5000 == 4999) {
            nanosleep(&nap, NULL); /* workers stop spinning and sleep */
        }
    }
    pid = fork();
    if (pid == 0) {
        /* The child has no workers: the caller runs every task. */
        status = run_and_check(pool, n_threads, 9, "child", 0);
        pq_threadpool_destroy(pool);
        _exit(status);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("fork: the child failed\n");
        return 1;
    }
    if (run_and_check(pool, n_threads, 9, "after fork", 0)) {
        return 1;
    }
    pq_threadpool_destroy(pool);
    for (i = 0; i < 200; ++i) {
        err = pq_threadpool_init(mem, n_threads, &pool);
        if (err != 0) {
            printf("cycle %d: init error %d\n", i, err);
            return 1;
        }
        if (run_and_check(pool, n_threads, 1 + i % 9, "cycles", i)) {
            return 1;
        }
        pq_threadpool_destroy(pool);
    }
    free(mem);
    printf("ok\n");
    return 0;
}
