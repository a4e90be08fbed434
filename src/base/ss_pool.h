// ss_pool.h — persistent thread pool. Workers are created once; ss_pool_run() runs
// fn(arg, ith, nth) once for every ith in 0..nth-1 and returns when all have finished. The
// caller runs ith = 0; the other shares are claimed by whichever thread gets to them first (a
// worker that is descheduled when a run starts leaves its share to the caller instead of
// stalling the run), so one thread may run several shares, one after the other. Idle workers
// spin ~100 us on a generation counter before sleeping, so back-to-back runs (decode) cost
// ~1 us of synchronization. One caller thread at a time; fn must not call ss_pool_run on the
// same pool.
#ifndef SS_POOL_H
#define SS_POOL_H
#include "ss_common.h"

typedef struct ss_pool ss_pool;
typedef void (*ss_pool_fn)(void *arg, int ith, int nth);

ss_pool *ss_pool_new(int n_threads);     // n_threads <= 0: number of online cores
void     ss_pool_free(ss_pool *p);
int      ss_pool_n_threads(const ss_pool *p);
void     ss_pool_run(ss_pool *p, ss_pool_fn fn, void *arg);   // p may be NULL: runs fn(arg,0,1)
int      ss_n_cores(void);

// Grow-only scratch memory owned by the pool (64-byte aligned), slot 0..SS_POOL_SCRATCH_SLOTS-1.
// The pointer stays valid until the next call with the same slot and a larger size. Not
// thread-safe: call from the thread that calls ss_pool_run (slot 0 is used by ss_matmul).
// p == NULL returns NULL.
#define SS_POOL_SCRATCH_SLOTS 4
void    *ss_pool_scratch(ss_pool *p, int slot, size_t bytes);

#endif
