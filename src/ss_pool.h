// ss_pool.h — persistent thread pool. Workers are created once and wait on a condition
// variable / spin barrier; ss_pool_run() runs fn(arg, ith, nth) on all threads (the caller
// is thread 0) and returns when every thread has finished.
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

#endif
