// mpi_session.c — MPI start and end for the commands, and swift-train's split over the ranks (ssmpi.h)
#ifdef SS_HAVE_MPI
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ssmpi.h"

bool ssmpi_wanted(const char *cmd) {
    if (strcmp(cmd, "eval") && strcmp(cmd, "swift-collect") && strcmp(cmd, "swift-train")) return false;
    // Open MPI's mpirun, PMIx (Open MPI, srun --mpi=pmix), PMI/PMI-2 (MPICH, srun --mpi=pmi2)
    const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

bool ssmpi_active(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    if (init) MPI_Finalized(&fin);
    return init && !fin;
}

int ssmpi_rank(void) {
    int r = 0;
    if (ssmpi_active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int ssmpi_size(void) {
    int n = 1;
    if (ssmpi_active()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void ssmpi_bcast_u64(uint64_t *v) {
    if (!ssmpi_active()) return;   // one process
    unsigned long long x = *v;
    MPI_Bcast(&x, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    *v = (uint64_t)x;
}

int ssmpi_begin(void) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "slotswift: MPI_Init_thread failed\n");
        return -1;
    }
    if (provided < MPI_THREAD_SERIALIZED) {
        fprintf(stderr, "slotswift: this MPI library does not support threads (MPI_THREAD_SERIALIZED), which rank 0 needs to compute while it serves the other ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return 0;
}

void ssmpi_end(int rc) {
    if (!ssmpi_active()) return;
    if (rc != 0) {
        char host[MPI_MAX_PROCESSOR_NAME] = "?";
        int len = 0;
        MPI_Get_processor_name(host, &len);
        fprintf(stderr, "slotswift: rank %d of %d (host %s) failed (see above): ending the job\n", ssmpi_rank(), ssmpi_size(), host);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
}

// buf[0..n) summed over the ranks, in place (MPI_Allreduce in chunks that fit an int count)
static int ssmpi_sum(void *ud, double *buf, size_t n) {
    (void)ud;
    for (size_t off = 0; off < n;) {
        int cnt = n - off > (1u << 28) ? 1 << 28 : (int)(n - off);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
        off += (size_t)cnt;
    }
    return 0;
}

// rank r reads ex[lo..hi): the boundaries split the weights w_i = T_i + 1 (its tokens, and the
// example itself) into K contiguous parts of about equal sums: b_r = the first i with
// K * sum_{k<i} w_k >= r * sum w
void ssmpi_train_dist(ss_swift_dist *d, const ss_swift_example *ex, int n) {
    int K = ssmpi_size(), r = ssmpi_rank();
    double total = 0;
    for (int i = 0; i < n; i++) total += (double)ex[i].T + 1;
    double cum = 0;
    int lo = -1, hi = -1;
    for (int i = 0; i <= n; i++) {
        if (lo < 0 && (double)K * cum >= (double)r * total) lo = i;
        if (hi < 0 && (r == K - 1 ? i == n : (double)K * cum >= (double)(r + 1) * total)) hi = i;
        if (i < n) cum += (double)ex[i].T + 1;
    }
    *d = (ss_swift_dist){ r, K, lo, hi, ssmpi_sum, NULL };
}
#endif
