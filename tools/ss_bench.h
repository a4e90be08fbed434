// ss_bench.h — measurements of the machine for the bench command: streaming read bandwidth and
// FMA peak, with the same thread pool the engine uses.
#ifndef SS_BENCH_H
#define SS_BENCH_H
#include "slotswift.h"
#include <stddef.h>

// GB/s reading a buffer of `bytes` (>> last-level cache) with all of c's pool threads; best of `reps`
double ss_bench_read_bw(ss_ctx *c, size_t bytes, int reps);
// GFLOP/s of independent FMA chains on all pool threads (AVX2 when available, else scalar)
double ss_bench_fma_peak(ss_ctx *c);
// GFLOP/s of the same loop on the calling thread alone, per second of that thread's CPU time (so
// other processes sharing the machine do not lower it)
double ss_bench_fma_core_peak(void);
// peak resident set size of this process in bytes
size_t ss_bench_peak_rss(void);
// bytes of weights read per decoded token (all matrices incl. embedding row and LM head)
size_t ss_bench_weight_bytes(const ss_model *m);
// multiply-adds per token of the matrices (2 × this = FLOPs per token, without attention)
double ss_bench_flops_per_token(const ss_model *m);

#endif
