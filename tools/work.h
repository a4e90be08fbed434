// work.h — a run over a dataset's questions whose results are written in question order by one
// writer (eval's results file, swift-collect's feature store). work_run_local runs it in this
// process; under MPI, ssmpi_work_run (ssmpi.h) has rank 0 hand the questions out to every rank.
// A question's result is an opaque byte string: the command's run() makes it, its store() writes it.
#ifndef SS_TOOL_WORK_H
#define SS_TOOL_WORK_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char  *data;       // malloc'ed result bytes
    size_t len;
    double stat[2];    // small numbers for the progress line (eval: correct; collect: correct, candidates)
} work_result;

typedef struct {
    const char *label;  // progress-bar label
    int   n_items;      // questions 0 .. n_items-1
    const bool *done;   // [n_items] complete before this run: skipped (read by the writer only)
    int   group;        // questions computed together (eval --parallel), >= 1
    // compute questions q[0..n): out[i] receives q[i]'s result; 0, or -1 (the error printed)
    int  (*run)(void *ud, const int *q, int n, work_result *out);
    // write question q's result (called in question order, never concurrently); 0, or -1 (printed)
    int  (*store)(void *ud, int q, const work_result *r);
    // the progress line's extra text, after a store
    void (*extra)(void *ud, char *buf, size_t n);
    void *ud;
    // under MPI, results waiting for an earlier question beyond 256 MiB go to unnamed temp files
    // (O_TMPFILE) in this directory (NULL: kept in memory); swift-collect's results are large
    const char *spill_dir;
} work_job;

// questions still to do (not in done[])
int  work_todo(const work_job *j);
// the next group from question *next on: up to j->group questions not done, in order; their count
int  work_next_group(const work_job *j, int *next, int *q);
// the progress bar after `stored` of `todo` results
void work_progress(const work_job *j, int stored, int todo, double t_start);
// run every question not done here, in groups, storing each result; 0, or -1 (printed)
int  work_run_local(const work_job *j);

#endif
