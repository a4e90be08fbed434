// mpi_work.c — a work_job over every MPI rank (ssmpi.h, work.h).
//
// Rank 0 holds the list of questions still to do and is the only writer. Protocol (MPI_COMM_WORLD):
//   rank r -> 0   TAG_REQ  (empty)                   "give me work"
//   0 -> rank r   TAG_WORK int[n] questions           the next n <= group questions; n = 0: stop
//   rank r -> 0   TAG_RES  double[4] {q, len, stat0, stat1}, then TAG_DATA chunks of <= 1 GiB: q's result
// Rank 0 computes too: its main thread takes groups from the same list, while a second thread
// (the only one making MPI calls during the run: MPI_THREAD_SERIALIZED) answers the other ranks.
// Results are stored in question order: one that arrives before an earlier question's waits, in
// memory up to 256 MiB in all, beyond that (j->spill_dir) in an unnamed temp file of that directory
// (O_TMPFILE: it vanishes with the process). Waiting ranks poll every millisecond instead of spinning in a blocking receive, so an idle
// rank does not take a core from the computing threads of its machine.
#ifdef SS_HAVE_MPI
#define _GNU_SOURCE   // O_TMPFILE
#include <mpi.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ssmpi.h"
#include "tool.h"
#include "xalloc.h"

enum { TAG_REQ = 4101, TAG_WORK, TAG_RES, TAG_DATA };
#define MPIW_CHUNK ((size_t)1 << 30)
#ifndef MPIW_MEM
#define MPIW_MEM   ((size_t)256 << 20)   // bytes of waiting results kept in memory
#endif

typedef struct {
    const work_job *j;
    pthread_mutex_t mu;
    int   *todo, n_todo;     // this run's questions, in order
    int   *pos;              // [n_items] question -> its index in todo (-1: not in this run)
    int    next;             // todo[next] is handed out next
    work_result *pend;       // [n_todo] results not yet stored
    bool  *have;             // [n_todo] pend[i] holds a result
    int   *spill;            // [n_todo] the temp file holding pend[i].data (-1: in memory)
    size_t mem;              // bytes of waiting results in memory
    int    written;          // todo[0..written) are stored
    bool   failed;           // a run or a store failed (its message printed): the job is aborted
    double t_start;
} mpiw_coord;

static void mpiw_sleep(void) {
    struct timespec ts = { 0, 1000000 };   // 1 ms
    nanosleep(&ts, NULL);
}

// wait for a request by polling (see the top)
static void mpiw_wait(MPI_Request *rq, MPI_Status *st) {
    for (int done = 0;;) {
        MPI_Test(rq, &done, st);
        if (done) return;
        mpiw_sleep();
    }
}

static void mpiw_abort(const char *why) {
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    fprintf(stderr, "\nslotswift: rank %d (host %s): %s: ending the job\n", ssmpi_rank(), host, why);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

// the next group (up to j->group questions of todo); its count, 0 when none is left
static int mpiw_take(mpiw_coord *co, int *q) {
    pthread_mutex_lock(&co->mu);
    int n = 0;
    while (co->next < co->n_todo && n < co->j->group && !co->failed) q[n++] = co->todo[co->next++];
    pthread_mutex_unlock(&co->mu);
    return n;
}

// a waiting result to an unnamed temp file of j->spill_dir when the memory budget is used up:
// its descriptor, or -1 (then it stays in memory)
static int mpiw_spill(const mpiw_coord *co, const work_result *r) {
    if (!co->j->spill_dir || co->mem + r->len <= MPIW_MEM) return -1;
    int fd = open(co->j->spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    for (size_t off = 0; fd >= 0 && off < r->len;) {
        ssize_t w = write(fd, r->data + off, r->len - off);
        if (w <= 0) { close(fd); fd = -1; break; }
        off += (size_t)w;
    }
    return fd;
}

// read a spilled result back (data allocated); 0, or -1 (printed)
static int mpiw_unspill(int fd, work_result *r) {
    r->data = tool_malloc(r->len + 1);
    for (size_t off = 0; off < r->len;) {
        ssize_t n = pread(fd, r->data + off, r->len - off, (off_t)off);
        if (n <= 0) {
            fprintf(stderr, "\nslotswift: rank 0: reading back a waiting result: %s\n", n < 0 ? strerror(errno) : "short file");
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    close(fd);
    return 0;
}

// question q's result (its data now owned here); stores every result that is next in order
static void mpiw_put(mpiw_coord *co, int q, work_result *r) {
    pthread_mutex_lock(&co->mu);
    int p = q >= 0 && q < co->j->n_items ? co->pos[q] : -1;
    if (p < 0 || co->have[p] || p >= co->next) {
        fprintf(stderr, "\nslotswift: rank 0: a result for question %d, which was not handed out\n", q);
        co->failed = true;
        free(r->data);
    } else {
        co->pend[p] = *r;
        co->have[p] = true;
        if (p != co->written && (co->spill[p] = mpiw_spill(co, r)) >= 0) { free(r->data); co->pend[p].data = NULL; }
        else co->mem += r->len;
    }
    while (!co->failed && co->written < co->n_todo && co->have[co->written]) {
        work_result *w = &co->pend[co->written];
        int *fd = &co->spill[co->written];
        if (*fd >= 0) { if (mpiw_unspill(*fd, w)) co->failed = true; *fd = -1; }
        else co->mem -= w->len;
        if (co->failed || co->j->store(co->j->ud, co->todo[co->written], w)) co->failed = true;
        free(w->data);
        w->data = NULL;
        if (!co->failed) work_progress(co->j, ++co->written, co->n_todo, co->t_start);
    }
    pthread_mutex_unlock(&co->mu);
}

// rank 0's server thread: answers requests and receives results until every question is stored and
// every other rank was told to stop
static void *mpiw_serve(void *arg) {
    mpiw_coord *co = arg;
    int K = ssmpi_size(), stopped = 0;
    int *q = tool_malloc(sizeof(int) * co->j->group);
    for (;;) {
        pthread_mutex_lock(&co->mu);
        bool fin = co->written == co->n_todo, bad = co->failed;
        pthread_mutex_unlock(&co->mu);
        if (bad) mpiw_abort("a question failed or could not be written");
        if (fin && stopped == K - 1) break;
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) { mpiw_sleep(); continue; }
        int src = st.MPI_SOURCE;
        if (st.MPI_TAG == TAG_REQ) {
            MPI_Recv(NULL, 0, MPI_BYTE, src, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            int n = mpiw_take(co, q);
            MPI_Send(q, n, MPI_INT, src, TAG_WORK, MPI_COMM_WORLD);
            stopped += n == 0;
        } else if (st.MPI_TAG == TAG_RES) {
            double hdr[4];
            MPI_Recv(hdr, 4, MPI_DOUBLE, src, TAG_RES, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            work_result r = { NULL, (size_t)hdr[1], { hdr[2], hdr[3] } };
            r.data = tool_malloc(r.len + 1);
            for (size_t off = 0; off < r.len; off += MPIW_CHUNK) {
                size_t c = r.len - off < MPIW_CHUNK ? r.len - off : MPIW_CHUNK;
                MPI_Recv(r.data + off, (int)c, MPI_BYTE, src, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
            mpiw_put(co, (int)hdr[0], &r);
        } else {
            char why[96];
            snprintf(why, sizeof why, "an unexpected message (tag %d) from rank %d", st.MPI_TAG, src);
            mpiw_abort(why);
        }
    }
    free(q);
    return NULL;
}

static int mpiw_rank0(const work_job *j) {
    mpiw_coord co;
    memset(&co, 0, sizeof co);
    co.j = j;
    pthread_mutex_init(&co.mu, NULL);
    co.todo = tool_malloc(sizeof(int) * (j->n_items + 1));
    co.pos = tool_malloc(sizeof(int) * (j->n_items + 1));
    for (int q = 0; q < j->n_items; q++) {
        co.pos[q] = j->done[q] ? -1 : co.n_todo;
        if (!j->done[q]) co.todo[co.n_todo++] = q;
    }
    co.pend = tool_calloc(co.n_todo + 1, sizeof(work_result));
    co.have = tool_calloc(co.n_todo + 1, sizeof(bool));
    co.spill = tool_malloc(sizeof(int) * (co.n_todo + 1));
    for (int i = 0; i < co.n_todo; i++) co.spill[i] = -1;
    co.t_start = ss_time();
    pthread_t th;
    if (pthread_create(&th, NULL, mpiw_serve, &co)) mpiw_abort("cannot start the server thread");
    int *q = tool_malloc(sizeof(int) * j->group);
    work_result *res = tool_calloc(j->group, sizeof(work_result));
    for (int n; (n = mpiw_take(&co, q)) > 0;) {
        if (j->run(j->ud, q, n, res)) {
            pthread_mutex_lock(&co.mu);
            co.failed = true;          // the server thread ends the job
            pthread_mutex_unlock(&co.mu);
            break;
        }
        for (int i = 0; i < n; i++) { mpiw_put(&co, q[i], &res[i]); res[i].data = NULL; }
    }
    pthread_join(th, NULL);
    int rc = co.failed ? -1 : 0;
    for (int i = 0; i < co.n_todo; i++) { free(co.pend[i].data); if (co.spill[i] >= 0) close(co.spill[i]); }
    free(q); free(res); free(co.todo); free(co.pos); free(co.pend); free(co.have); free(co.spill);
    pthread_mutex_destroy(&co.mu);
    return rc;
}

static int mpiw_worker(const work_job *j) {
    int *q = tool_malloc(sizeof(int) * j->group);
    work_result *res = tool_calloc(j->group, sizeof(work_result));
    for (;;) {
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_REQ, MPI_COMM_WORLD);
        MPI_Request rq;
        MPI_Status st;
        int n = 0;
        MPI_Irecv(q, j->group, MPI_INT, 0, TAG_WORK, MPI_COMM_WORLD, &rq);
        mpiw_wait(&rq, &st);
        MPI_Get_count(&st, MPI_INT, &n);
        if (n <= 0) break;
        if (j->run(j->ud, q, n, res)) mpiw_abort("a question failed");
        for (int i = 0; i < n; i++) {
            double hdr[4] = { q[i], (double)res[i].len, res[i].stat[0], res[i].stat[1] };
            MPI_Send(hdr, 4, MPI_DOUBLE, 0, TAG_RES, MPI_COMM_WORLD);
            for (size_t off = 0; off < res[i].len; off += MPIW_CHUNK) {
                size_t c = res[i].len - off < MPIW_CHUNK ? res[i].len - off : MPIW_CHUNK;
                MPI_Send(res[i].data + off, (int)c, MPI_BYTE, 0, TAG_DATA, MPI_COMM_WORLD);
            }
            free(res[i].data);
            res[i].data = NULL;
        }
    }
    free(q);
    free(res);
    return 0;
}

int ssmpi_work_run(const work_job *j) {
    return ssmpi_rank() == 0 ? mpiw_rank0(j) : mpiw_worker(j);
}
#endif
