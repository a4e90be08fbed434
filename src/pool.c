// pool.c — persistent thread pool.
//
// Protocol: the caller publishes (fn, arg), sets `pending` = n-1 and increments the generation
// counter `gen`. Each worker waits for gen to change (spinning ~50 us, then sleeping on a
// condition variable), runs fn(arg, ith, n) and decrements `pending`. The caller runs its own
// share as thread 0, then waits (spin, then sched_yield) until pending == 0.
//
// Sleep/wake without lost wake-ups: a worker increments n_sleeping and re-checks gen while
// holding the mutex before waiting; the caller increments gen, then (both seq_cst) reads
// n_sleeping and broadcasts under the mutex only if someone may be asleep. So a decode step's
// hundreds of runs cost no system calls while the workers are spinning.
#define _GNU_SOURCE
#include "ss_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SS_POOL_SPIN_SEC 50e-6     // how long an idle worker spins before sleeping

typedef struct {
    struct ss_pool *pool;
    int ith;
} ss_worker;

struct ss_pool {
    int n;                          // threads including the caller
    pthread_t *threads;             // n-1 workers
    ss_worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ss_pool_fn fn;                  // current job (written before gen is incremented)
    void *arg;
    atomic_uint gen;
    atomic_int pending;
    atomic_int n_sleeping;
    atomic_bool stop;
    void  *scratch[SS_POOL_SCRATCH_SLOTS];
    size_t scratch_cap[SS_POOL_SCRATCH_SLOTS];
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int ss_n_cores(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0) return c;
    }
#endif
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

// wait until gen != seen (or stop); returns the new generation
static unsigned worker_wait(ss_pool *p, unsigned seen) {
    double t0 = 0;
    for (int it = 0;; it++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        cpu_relax();
        if ((it & 255) == 255) {
            if (t0 == 0) t0 = ss_time();
            else if (ss_time() - t0 > SS_POOL_SPIN_SEC) break;
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->n_sleeping, 1);
    unsigned g;
    while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->n_sleeping, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *a) {
    ss_worker *w = a;
    ss_pool *p = w->pool;
    unsigned seen = 0;                             // gen starts at 0; only jobs increment it
    for (;;) {
        seen = worker_wait(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        p->fn(p->arg, w->ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

// publish a new generation and wake sleepers
static void pool_kick(ss_pool *p) {
    atomic_fetch_add(&p->gen, 1);                  // seq_cst: ordered before the n_sleeping read
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

ss_pool *ss_pool_new(int n_threads) {
    if (n_threads <= 0) n_threads = ss_n_cores();
    if (n_threads > 512) n_threads = 512;
    ss_pool *p = ss_calloc(1, sizeof *p);
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->n_sleeping, 0);
    atomic_init(&p->stop, false);
    p->threads = ss_calloc((size_t)n_threads, sizeof *p->threads);
    p->workers = ss_calloc((size_t)n_threads, sizeof *p->workers);
    for (int i = 1; i < n_threads; i++) {
        p->workers[i] = (ss_worker){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
            p->n = i;                              // could not start more: run with fewer threads
            break;
        }
    }
    return p;
}

void ss_pool_free(ss_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, true);
    pool_kick(p);
    // a worker that spins checks gen without the mutex; one about to sleep re-checks it under
    // the mutex, so a final unconditional broadcast covers the race with n_sleeping
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    for (int s = 0; s < SS_POOL_SCRATCH_SLOTS; s++) free(p->scratch[s]);
    free(p->threads);
    free(p->workers);
    free(p);
}

int ss_pool_n_threads(const ss_pool *p) { return p ? p->n : 1; }

void ss_pool_run(ss_pool *p, ss_pool_fn fn, void *arg) {
    if (!p || p->n <= 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pool_kick(p);                                  // seq_cst increment also releases fn/arg/pending
    fn(arg, 0, p->n);
    double t0 = 0;
    for (int it = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; it++) {
        cpu_relax();
        if ((it & 255) == 255) {                   // a worker was descheduled: stop burning the core
            if (t0 == 0) t0 = ss_time();
            else if (ss_time() - t0 > SS_POOL_SPIN_SEC) sched_yield();
        }
    }
}

void *ss_pool_scratch(ss_pool *p, int slot, size_t bytes) {
    if (!p || slot < 0 || slot >= SS_POOL_SCRATCH_SLOTS) return NULL;
    if (bytes > p->scratch_cap[slot]) {
        size_t cap = bytes + bytes / 4 + 64;
        cap = (cap + 63) & ~(size_t)63;
        free(p->scratch[slot]);
        p->scratch[slot] = aligned_alloc(64, cap);
        if (!p->scratch[slot]) p->scratch[slot] = ss_malloc(cap);   // ss_malloc aborts on OOM
        p->scratch_cap[slot] = cap;
    }
    return p->scratch[slot];
}
