// ssmpi.h — eval, swift-collect and swift-train started K times by MPI (mpirun -np K / srun).
// The library knows no MPI: this is the tools' side, built when the Makefile finds mpicc
// (SS_HAVE_MPI, tools/mpi_*.c). Without it, or when the program was not started by an MPI launcher,
// ssmpi_active() is false and the commands run as one process.
//
// Under MPI every rank loads the model; rank 0 is the one writer (results file, feature store, head)
// and hands questions out one group at a time to whichever rank asks (itself included: its own
// questions run in the main thread while a second thread serves the other ranks). A question's
// randomness comes from --seed and its index only, so the outputs equal those of one process.
#ifndef SS_TOOL_SSMPI_H
#define SS_TOOL_SSMPI_H
#include <stdbool.h>
#include <stdint.h>
#include "work.h"
#include "ss_swift.h"

#ifdef SS_HAVE_MPI
// the command runs under MPI: started by an MPI launcher (mpirun, srun) and cmd is eval,
// swift-collect or swift-train
bool ssmpi_wanted(const char *cmd);
// MPI_Init_thread (MPI_THREAD_SERIALIZED: rank 0's server thread makes the calls while the main
// thread computes); 0, or -1 (printed)
int  ssmpi_begin(void);
// the end of the command: MPI_Finalize when every rank returns 0; otherwise this rank's failure
// (its message is printed) ends the job with MPI_Abort, so no rank waits for it forever
void ssmpi_end(int rc);
bool ssmpi_active(void);
int  ssmpi_rank(void);      // 0 when not under MPI
int  ssmpi_size(void);      // 1 when not under MPI
// rank 0's *v on every rank (a collective call: every rank makes it at the same point; nothing
// without MPI)
void ssmpi_bcast_u64(uint64_t *v);
// run a work_job over every rank (see work.h); 0 on every rank, or the job is aborted
int  ssmpi_work_run(const work_job *j);
// swift-train's split over the ranks: contiguous example ranges of about equal token counts, and
// the exchange (MPI_Allreduce, MPI_SUM over MPI_COMM_WORLD)
void ssmpi_train_dist(ss_swift_dist *d, const ss_swift_example *ex, int n);
#else
static inline bool ssmpi_wanted(const char *cmd) { (void)cmd; return false; }
static inline int  ssmpi_begin(void) { return 0; }
static inline void ssmpi_end(int rc) { (void)rc; }
static inline bool ssmpi_active(void) { return false; }
static inline int  ssmpi_rank(void) { return 0; }
static inline int  ssmpi_size(void) { return 1; }
static inline void ssmpi_bcast_u64(uint64_t *v) { (void)v; }
static inline int  ssmpi_work_run(const work_job *j) { return work_run_local(j); }
static inline void ssmpi_train_dist(ss_swift_dist *d, const ss_swift_example *ex, int n) { (void)d; (void)ex; (void)n; }
#endif

#endif
