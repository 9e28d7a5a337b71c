/*
 * The interpreter's thread pool (pq_threadpool.h).
 *
 * Protocol, all through one job at a time:
 *   gen      odd while a job is open, even while closed; the caller bumps it
 *            to open a job (after writing fn, ctx, n_tasks, next = 0) and
 *            again to close it once no task is left to claim.
 *   active   workers inside the open job. A worker joins by incrementing it
 *            and then re-reading gen: if the job it saw is still open it may
 *            read the job and claim tasks, else it leaves. The caller, having
 *            closed the job, waits for active == 0; only then are all claimed
 *            tasks finished (every task was claimed by the caller or by an
 *            active worker), and only then does it write the next job. So a
 *            worker never reads a job while it is being written, whatever
 *            delays the scheduler puts between its steps.
 *   next     the next task to claim (fetch-add); claims past n_tasks mean done.
 * Sleeping uses a mutex and two condition variables, with the usual
 * store-then-load pairs (seq_cst) on sleepers / gen and caller_waiting /
 * active, so that neither side can miss the other's wake-up.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, pthread_sigmask under -std=c99 */
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_threadpool.h"

#if !defined(PQ_NO_THREADS) && defined(__GNUC__) && (defined(__unix__) || defined(__APPLE__))
#include <unistd.h>
#if defined(_POSIX_THREADS) && _POSIX_THREADS > 0
#define PQ_HAVE_THREADS 1
#endif
#endif
#ifndef PQ_HAVE_THREADS
#define PQ_HAVE_THREADS 0
#endif

/* Serial fallback: every task on the calling thread, in order. */
static int pq_run_serial(pq_task_fn fn, void *ctx, int32_t n_tasks)
{
    int status = 0;
    int32_t t;
    for (t = 0; t < n_tasks; ++t) {
        const int r = fn(ctx, t, 0);
        if (r != 0 && status == 0) {
            status = r;
        }
    }
    return status;
}

#if PQ_HAVE_THREADS

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

/* How long idle threads spin before they sleep: long enough to cover the gap
 * between two ops of one inference and between inferences in a loop, short
 * enough that a pool left idle stops using CPU at once. */
#define PQ_POOL_SPIN_NS 200000
/* After this long, a spinning thread yields its core at every turn instead of pausing: on a
 * busy machine the thread it waits for (or the caller, when a worker waits) may be queued
 * on the same core, and a thread spinning there would only delay it. */
#define PQ_POOL_YIELD_NS 20000
/* Spins between two looks at the clock (a pause is ~10-140 cycles). */
#define PQ_POOL_SPIN_CHECK 64

#define PQ_SEQ __ATOMIC_SEQ_CST

typedef struct {
    pq_threadpool *pool;
    int32_t tid;
} pq_worker_arg;

/* Each group of fields on its own cache line: spinning workers read `job`
 * (written once per op), every thread writes `claim`. */
struct pq_threadpool {
    union {
        struct {
            uint32_t gen;
            int32_t n_tasks;
            pq_task_fn fn;
            void *ctx;
        } f;
        char line[64];
    } job;
    union {
        struct {
            int32_t next;
            int32_t active;
            int32_t status;
        } f;
        char line[64];
    } claim;
    union {
        struct {
            int32_t sleepers;
            int32_t caller_waiting;
            int32_t stop;
        } f;
        char line[64];
    } wait;
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers sleep here until a job opens or stop */
    pthread_cond_t done_cv; /* the caller sleeps here until active == 0 */
    int32_t n_threads;
    int32_t started;        /* workers running (joined by destroy) */
    unsigned fork_epoch;    /* pq_fork_epoch when the workers were started */
    pthread_t threads[PQ_THREADPOOL_MAX];
    pq_worker_arg args[PQ_THREADPOOL_MAX];
};

/* Incremented in the child of every fork(): a pool whose epoch differs was
 * started in the parent and has no workers here (its mutex and condition
 * variables may even be in a state the parent left them in). */
static unsigned pq_fork_epoch;
static pthread_once_t pq_atfork_once = PTHREAD_ONCE_INIT;

static void pq_on_fork_child(void)
{
    ++pq_fork_epoch;
}

static void pq_register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, pq_on_fork_child);
}

static void pq_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static int64_t pq_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* One turn of a spin-wait that started at t0: pause, or yield the core once
 * PQ_POOL_YIELD_NS have passed. 1 when PQ_POOL_SPIN_NS have passed (time to sleep). */
static int pq_spin(int64_t t0, int32_t *spins)
{
    static const int32_t yielding = 1 << 30;
    if (*spins >= yielding) {
        sched_yield();
        return pq_now_ns() - t0 > PQ_POOL_SPIN_NS;
    }
    pq_relax();
    if (++*spins % PQ_POOL_SPIN_CHECK == 0) {
        const int64_t t = pq_now_ns() - t0;
        if (t > PQ_POOL_SPIN_NS) {
            return 1;
        }
        if (t > PQ_POOL_YIELD_NS) {
            *spins = yielding;
        }
    }
    return 0;
}

/* Claim and run tasks of the open job until none is left. */
static void pq_run_tasks(pq_threadpool *pool, int32_t tid)
{
    const int32_t n = pool->job.f.n_tasks;
    const pq_task_fn fn = pool->job.f.fn;
    void *const ctx = pool->job.f.ctx;
    int32_t t;
    while ((t = __atomic_fetch_add(&pool->claim.f.next, 1, PQ_SEQ)) < n) {
        const int r = fn(ctx, t, tid);
        if (r != 0) {
            int32_t zero = 0;
            (void)__atomic_compare_exchange_n(&pool->claim.f.status, &zero, (int32_t)r, 0, PQ_SEQ, PQ_SEQ);
        }
    }
}

/* A worker's wait for a job other than `seen`: spin, then sleep. Returns the
 * job's gen, or 0 when the pool stops. */
static uint32_t pq_wait_job(pq_threadpool *pool, uint32_t seen)
{
    const int64_t t0 = pq_now_ns();
    uint32_t g;
    int32_t spins = 0;
    for (;;) {
        if (__atomic_load_n(&pool->wait.f.stop, __ATOMIC_ACQUIRE)) {
            return 0;
        }
        g = __atomic_load_n(&pool->job.f.gen, __ATOMIC_ACQUIRE);
        if ((g & 1u) && g != seen) {
            return g;
        }
        if (pq_spin(t0, &spins)) {
            break;
        }
    }
    pthread_mutex_lock(&pool->mu);
    __atomic_add_fetch(&pool->wait.f.sleepers, 1, PQ_SEQ);
    for (;;) {
        if (__atomic_load_n(&pool->wait.f.stop, PQ_SEQ)) {
            g = 0;
            break;
        }
        g = __atomic_load_n(&pool->job.f.gen, PQ_SEQ);
        if ((g & 1u) && g != seen) {
            break;
        }
        pthread_cond_wait(&pool->work_cv, &pool->mu);
    }
    __atomic_sub_fetch(&pool->wait.f.sleepers, 1, PQ_SEQ);
    pthread_mutex_unlock(&pool->mu);
    return g;
}

static void *pq_worker(void *arg_)
{
    const pq_worker_arg *arg = (const pq_worker_arg *)arg_;
    pq_threadpool *pool = arg->pool;
    uint32_t seen = 0;
    for (;;) {
        const uint32_t g = pq_wait_job(pool, seen);
        if (g == 0) {
            return NULL;
        }
        seen = g;
        __atomic_add_fetch(&pool->claim.f.active, 1, PQ_SEQ);
        if (__atomic_load_n(&pool->job.f.gen, PQ_SEQ) == g) {
            pq_run_tasks(pool, arg->tid);
        }
        if (__atomic_sub_fetch(&pool->claim.f.active, 1, PQ_SEQ) == 0 &&
            __atomic_load_n(&pool->wait.f.caller_waiting, PQ_SEQ)) {
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done_cv);
            pthread_mutex_unlock(&pool->mu);
        }
    }
}

int pq_threadpool_available(void)
{
    return 1;
}

size_t pq_threadpool_size(void)
{
    return sizeof(pq_threadpool) + 64u;
}

static void pq_stop_workers(pq_threadpool *pool)
{
    int32_t i;
    pthread_mutex_lock(&pool->mu);
    __atomic_store_n(&pool->wait.f.stop, 1, PQ_SEQ);
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (i = 0; i < pool->started; ++i) {
        pthread_join(pool->threads[i], NULL);
    }
    pool->started = 0;
}

int pq_threadpool_init(void *mem, int32_t n_threads, pq_threadpool **out)
{
    /* 64-byte alignment for the cache-line groups. */
    pq_threadpool *pool = (pq_threadpool *)(void *)((char *)mem + (64u - (uintptr_t)mem % 64u) % 64u);
    sigset_t all, old;
    int32_t i;
    int err = 0;
    *out = NULL;
    if (n_threads < 2 || n_threads > PQ_THREADPOOL_MAX) {
        return PQ_POOL_BAD_COUNT;
    }
    pthread_once(&pq_atfork_once, pq_register_atfork);
    memset(pool, 0, sizeof *pool);
    pool->n_threads = n_threads;
    pool->fork_epoch = pq_fork_epoch;
    if (pthread_mutex_init(&pool->mu, NULL) != 0) {
        return PQ_POOL_UNAVAILABLE;
    }
    if (pthread_cond_init(&pool->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&pool->mu);
        return PQ_POOL_UNAVAILABLE;
    }
    if (pthread_cond_init(&pool->done_cv, NULL) != 0) {
        pthread_cond_destroy(&pool->work_cv);
        pthread_mutex_destroy(&pool->mu);
        return PQ_POOL_UNAVAILABLE;
    }
    /* Workers start with every signal blocked, so that signals (Ctrl-C) keep
     * going to the threads of the host program (Python handles them there). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 1; i < n_threads; ++i) {
        pool->args[i - 1].pool = pool;
        pool->args[i - 1].tid = i;
        err = pthread_create(&pool->threads[i - 1], NULL, pq_worker, &pool->args[i - 1]);
        if (err != 0) {
            break;
        }
        pool->started = i;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pq_stop_workers(pool);
        pthread_cond_destroy(&pool->done_cv);
        pthread_cond_destroy(&pool->work_cv);
        pthread_mutex_destroy(&pool->mu);
        return err;
    }
    *out = pool;
    return 0;
}

void pq_threadpool_destroy(pq_threadpool *pool)
{
    if (pool == NULL || pool->fork_epoch != pq_fork_epoch) {
        return;
    }
    pq_stop_workers(pool);
    pthread_cond_destroy(&pool->done_cv);
    pthread_cond_destroy(&pool->work_cv);
    pthread_mutex_destroy(&pool->mu);
}

int pq_threadpool_run(pq_threadpool *pool, pq_task_fn fn, void *ctx, int32_t n_tasks)
{
    uint32_t g;
    int32_t spins = 0;
    int64_t t0;
    if (pool == NULL || n_tasks <= 1 || pool->fork_epoch != pq_fork_epoch) {
        return pq_run_serial(fn, ctx, n_tasks);
    }
    /* No worker is inside a job here (active == 0 ended the last one). */
    pool->job.f.fn = fn;
    pool->job.f.ctx = ctx;
    pool->job.f.n_tasks = n_tasks;
    __atomic_store_n(&pool->claim.f.next, 0, PQ_SEQ);
    __atomic_store_n(&pool->claim.f.status, 0, PQ_SEQ);
    /* After 2^31 jobs gen wraps; a worker whose last job had the same gen would
     * only sit this one out (the caller does its share). */
    g = __atomic_load_n(&pool->job.f.gen, PQ_SEQ) + 1u;
    __atomic_store_n(&pool->job.f.gen, g, PQ_SEQ); /* open */
    if (__atomic_load_n(&pool->wait.f.sleepers, PQ_SEQ) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->work_cv);
        pthread_mutex_unlock(&pool->mu);
    }
    pq_run_tasks(pool, 0);
    __atomic_store_n(&pool->job.f.gen, g + 1u, PQ_SEQ); /* close: no new worker joins */
    t0 = pq_now_ns();
    while (__atomic_load_n(&pool->claim.f.active, PQ_SEQ) != 0) {
        if (pq_spin(t0, &spins)) {
            /* A worker holding a task was descheduled: sleep until it is done. */
            pthread_mutex_lock(&pool->mu);
            __atomic_store_n(&pool->wait.f.caller_waiting, 1, PQ_SEQ);
            while (__atomic_load_n(&pool->claim.f.active, PQ_SEQ) != 0) {
                pthread_cond_wait(&pool->done_cv, &pool->mu);
            }
            __atomic_store_n(&pool->wait.f.caller_waiting, 0, PQ_SEQ);
            pthread_mutex_unlock(&pool->mu);
            break;
        }
    }
    return __atomic_load_n(&pool->claim.f.status, PQ_SEQ);
}

#else /* no threads: a stub with the same interface */

struct pq_threadpool {
    int32_t unused;
};

int pq_threadpool_available(void)
{
    return 0;
}

size_t pq_threadpool_size(void)
{
    return sizeof(pq_threadpool);
}

int pq_threadpool_init(void *mem, int32_t n_threads, pq_threadpool **out)
{
    (void)mem;
    (void)n_threads;
    *out = NULL;
    return PQ_POOL_UNAVAILABLE;
}

void pq_threadpool_destroy(pq_threadpool *pool)
{
    (void)pool;
}

int pq_threadpool_run(pq_threadpool *pool, pq_task_fn fn, void *ctx, int32_t n_tasks)
{
    (void)pool;
    return pq_run_serial(fn, ctx, n_tasks);
}

#endif
