// work.c — the local run of a work_job (see work.h)
#include <stdlib.h>
#include "work.h"
#include "tool.h"
#include "xalloc.h"

int work_todo(const work_job *j) {
    int n = 0;
    for (int q = 0; q < j->n_items; q++) n += !j->done[q];
    return n;
}

int work_next_group(const work_job *j, int *next, int *q) {
    int n = 0;
    while (*next < j->n_items && n < j->group) {
        if (!j->done[*next]) q[n++] = *next;
        (*next)++;
    }
    return n;
}

void work_progress(const work_job *j, int stored, int todo, double t_start) {
    char extra[64] = "";
    if (j->extra) j->extra(j->ud, extra, sizeof extra);
    tool_progress(j->label, stored, todo, t_start, extra);
}

int work_run_local(const work_job *j) {
    int todo = work_todo(j), next = 0, stored = 0, rc = 0;
    int *q = tool_malloc(sizeof(int) * j->group);
    work_result *res = tool_calloc(j->group, sizeof(work_result));
    double t_start = ss_time();
    for (int n; rc == 0 && (n = work_next_group(j, &next, q)) > 0;) {
        if (j->run(j->ud, q, n, res)) { rc = -1; break; }
        for (int i = 0; i < n; i++) {
            if (rc == 0 && j->store(j->ud, q[i], &res[i])) rc = -1;
            free(res[i].data);
            res[i].data = NULL;
            if (rc == 0) stored++;
        }
        if (rc == 0) work_progress(j, stored, todo, t_start);
    }
    free(q);
    free(res);
    return rc;
}
