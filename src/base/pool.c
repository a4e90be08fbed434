// pool.c — persistent thread pool.
//
// A run of fn is split into n "shares" (fn(arg, ith, n) for ith = 0..n-1). The caller always
// runs share 0; shares 1..n-1 are *claimed* from an atomic counter by whichever thread gets
// there first: a worker that is descheduled when a run starts (the machine is shared) simply
// finds no share left, and the caller runs its share instead of waiting for it to wake up. A
// run waits only for shares that were actually claimed.
//
// Protocol: the caller writes (fn, arg), sets done = 0, then next = 1 (release) and increments
// the generation counter `gen` to wake the workers. A worker that sees gen change claims shares
// with fetch_add(next) until they are exhausted (acquire: it then sees the fn/arg of the run the
// share belongs to, even if it woke up for an older run), runs each and increments `done`. The
// caller, after share 0, claims the remaining shares too, then waits until done counts every
// share a worker claimed. A worker claims only after the caller published the run, and the
// caller returns only after all claimed shares finished, so a late worker can never touch a
// finished run.
//
// Waiting: idle workers spin on gen (~SS_POOL_SPIN_SEC), then sleep on a condition variable; the
// caller waiting for claimed shares spins, then yields the core (staying runnable), then sleeps on
// a second condition variable. Sleepers
// are woken without lost wake-ups by the usual pattern: the sleeper registers (seq_cst) and
// re-checks under the mutex; the waker updates the counter (seq_cst), then reads the
// registration and signals under the mutex. Back-to-back runs (decode) therefore cost no system
// calls while everyone is spinning.
#define _GNU_SOURCE
#include "ss_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SS_POOL_SPIN_SEC      100e-6   // how long an idle worker spins before sleeping
#define SS_POOL_WAIT_SPIN_SEC 30e-6    // how long the caller spins on a claimed share, then yields ...
#define SS_POOL_WAIT_YIELD_SEC 2e-3    // ... until this long, then sleeps

typedef struct {
    struct ss_pool *pool;
    int ith;
} ss_worker;

struct ss_pool {
    int n;                          // threads including the caller
    pthread_t *threads;             // n-1 workers
    ss_worker *workers;
    pthread_mutex_t mu;             // workers' sleep
    pthread_cond_t cv;
    pthread_mutex_t done_mu;        // caller's sleep
    pthread_cond_t done_cv;
    ss_pool_fn fn;                  // current run (written before `next` is released)
    void *arg;
    _Alignas(64) atomic_uint gen;   // incremented once per run (and on stop)
    _Alignas(64) atomic_int next;   // next share to claim; >= n: none left
    _Alignas(64) atomic_int done;   // shares finished by workers in the current run
    atomic_int n_sleeping;          // workers asleep (or about to be) on cv
    atomic_int caller_waiting;      // caller asleep (or about to be) on done_cv
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
        if ((it & 127) == 127) {
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

// claim and run shares of the current run until none is left
static void worker_claim(ss_pool *p) {
    const int n = p->n;
    for (;;) {
        if (atomic_load_explicit(&p->next, memory_order_relaxed) >= n) return;   // cheap pre-check
        int s = atomic_fetch_add_explicit(&p->next, 1, memory_order_acquire);
        if (s >= n) return;
        p->fn(p->arg, s, n);
        atomic_fetch_add(&p->done, 1);                 // seq_cst: ordered before the caller_waiting read
        if (atomic_load(&p->caller_waiting)) {
            pthread_mutex_lock(&p->done_mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->done_mu);
        }
    }
}

static void *worker_main(void *a) {
    ss_worker *w = a;
    ss_pool *p = w->pool;
    unsigned seen = 0;                             // gen starts at 0; only runs increment it
    for (;;) {
        seen = worker_wait(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        worker_claim(p);
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
    ss_pool *p = aligned_alloc(64, (sizeof(ss_pool) + 63) & ~(size_t)63);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_mutex_init(&p->done_mu, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->next, n_threads);
    atomic_init(&p->done, 0);
    atomic_init(&p->n_sleeping, 0);
    atomic_init(&p->caller_waiting, 0);
    atomic_init(&p->stop, false);
    p->threads = ss_calloc((size_t)n_threads, sizeof *p->threads);
    p->workers = ss_calloc((size_t)n_threads, sizeof *p->workers);
    if (!p->threads || !p->workers) { free(p->threads); free(p->workers); free(p); return NULL; }
    for (int i = 1; i < n_threads; i++) {
        p->workers[i] = (ss_worker){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
            // could not start more: run with fewer threads (workers already started only
            // claim shares below p->n, which they read after a run is published)
            p->n = i;
            break;
        }
    }
    atomic_store(&p->next, p->n);
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
    pthread_mutex_destroy(&p->done_mu);
    pthread_cond_destroy(&p->done_cv);
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
    const int n = p->n;
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->next, 1, memory_order_release);   // shares 1..n-1 open
    pool_kick(p);
    fn(arg, 0, n);
    // shares no worker has claimed yet: run them here
    int mine = 0;
    while (atomic_load_explicit(&p->next, memory_order_relaxed) < n) {
        int s = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (s >= n) break;
        fn(arg, s, n);
        mine++;
    }
    // wait for the shares workers claimed (all of them are claimed now)
    const int need = n - 1 - mine;
    double t0 = 0;
    for (int it = 0; atomic_load_explicit(&p->done, memory_order_acquire) < need; it++) {
        cpu_relax();
        if ((it & 127) == 127) {
            if (t0 == 0) t0 = ss_time();
            else if (ss_time() - t0 < SS_POOL_WAIT_YIELD_SEC) {
                // a worker holding a share is slow or was descheduled: let others run, but stay
                // runnable so the wait ends as soon as it finishes
                if (ss_time() - t0 > SS_POOL_WAIT_SPIN_SEC) sched_yield();
            } else {
                // descheduled for long (machine overloaded): sleep until the worker signals
                pthread_mutex_lock(&p->done_mu);
                atomic_store(&p->caller_waiting, 1);      // seq_cst: ordered before the done read
                while (atomic_load(&p->done) < need) pthread_cond_wait(&p->done_cv, &p->done_mu);
                atomic_store(&p->caller_waiting, 0);
                pthread_mutex_unlock(&p->done_mu);
                break;
            }
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
        p->scratch_cap[slot] = p->scratch[slot] ? cap : 0;   // NULL: out of memory
    }
    return p->scratch[slot];
}
