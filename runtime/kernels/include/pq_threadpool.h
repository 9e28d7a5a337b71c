/*
 * picoq thread pool: a few persistent worker threads that run the parts of
 * one op at a time (a parallel-for), for the interpreter's num_threads > 1.
 *
 * The calling thread publishes a job of n_tasks tasks and takes tasks itself;
 * workers take the rest. Tasks are claimed one at a time from a shared
 * counter, so a worker that is slow to wake (descheduled on a busy machine)
 * only means the caller does more of the work, never that it waits for a
 * worker that has not started. `thread` tells a task which thread runs it
 * (0 = the caller, 1..n_threads-1 = workers), so it can use that thread's
 * own scratch memory; a thread runs its tasks one after another.
 *
 * Idle workers spin for a short while (PQ_POOL_SPIN_NS) after their last task,
 * so that the next op's job is picked up without a system call, and then sleep
 * on a condition variable: an idle interpreter burns no CPU.
 *
 * No allocation here: the caller provides pq_threadpool_size() bytes (any
 * alignment) and frees them after pq_threadpool_destroy(). Built on POSIX
 * threads and the GCC/Clang __atomic builtins; where either is missing (or
 * with -DPQ_NO_THREADS) the file compiles to a stub: pq_threadpool_available()
 * is 0, init fails and run executes every task on the calling thread.
 * Not for firmware: the kernels never call it.
 */
#ifndef PQ_THREADPOOL_H
#define PQ_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Threads in a pool, the caller included. */
#define PQ_THREADPOOL_MAX 64

/* pq_threadpool_init errors (else an errno value from pthread_create). */
#define PQ_POOL_UNAVAILABLE (-1) /* built without threads */
#define PQ_POOL_BAD_COUNT (-2)   /* n_threads outside [2, PQ_THREADPOOL_MAX] */

/* One task; returns 0 or a nonzero status that pq_threadpool_run reports. */
typedef int (*pq_task_fn)(void *ctx, int32_t task, int32_t thread);

typedef struct pq_threadpool pq_threadpool;

/* 1 when this build can start threads. */
int pq_threadpool_available(void);

/* Bytes to give pq_threadpool_init. */
size_t pq_threadpool_size(void);

/* Start n_threads - 1 workers in `mem` (pq_threadpool_size() bytes). 0 and
 * *pool set on success; on failure no thread is left running. */
int pq_threadpool_init(void *mem, int32_t n_threads, pq_threadpool **pool);

/* Stop and join the workers (they must be idle: no pq_threadpool_run in
 * progress). After a fork() the child has no workers: nothing to join. */
void pq_threadpool_destroy(pq_threadpool *pool);

/* Run fn(ctx, task, thread) for every task in [0, n_tasks), on the calling
 * thread and the workers, and return when all have finished: 0, or the first
 * nonzero status a task returned. One caller at a time per pool. With
 * pool == NULL, n_tasks == 1, or in a child process after fork(), the tasks
 * run in order on the calling thread. */
int pq_threadpool_run(pq_threadpool *pool, pq_task_fn fn, void *ctx, int32_t n_tasks);

#ifdef __cplusplus
}
#endif

#endif /* PQ_THREADPOOL_H */
