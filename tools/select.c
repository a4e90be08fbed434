// select.c — Best-of-N over ss_gen_cand: answers, votes and mean log-probabilities of the
// candidates, and the library's ss_select_pick on them.
#include "select.h"
#include <stdlib.h>
#include <math.h>

static double cand_logprob_mean(const ss_gen_cand *c) {
    return c->n_tokens ? c->logprob_sum / c->n_tokens : -INFINITY;
}

void cand_info_fill(cand_info *ci, const ss_gen_cand *c, int n) {
    ci->answer = tool_calloc(n, sizeof(char *));
    ci->votes = tool_calloc(n, sizeof(int));
    ci->logprob_mean = tool_calloc(n, sizeof(float));
    for (int i = 0; i < n; i++) {
        ci->answer[i] = ss_answer_extract(c[i].text ? c[i].text : "");
        ci->logprob_mean[i] = (float)cand_logprob_mean(&c[i]);
    }
    ss_select_votes((const char *const *)ci->answer, n, ci->votes);
}

void cand_info_free(cand_info *ci, int n) {
    for (int i = 0; i < n; i++) free(ci->answer[i]);
    free(ci->answer); free(ci->votes); free(ci->logprob_mean);
}

int select_pick_subset(int method, const ss_gen_cand *c, char **answer, const int *idx, int k) {
    int n = 0;
    for (int a = 0; a < k; a++) if (idx[a] + 1 > n) n = idx[a] + 1;
    double *lp = tool_malloc(sizeof(double) * (n > 0 ? n : 1));
    float *sw = tool_malloc(sizeof(float) * (n > 0 ? n : 1));
    for (int a = 0; a < k; a++) { lp[idx[a]] = cand_logprob_mean(&c[idx[a]]); sw[idx[a]] = c[idx[a]].swift; }
    int r = ss_select_pick(method, (const char *const *)answer, lp, sw, idx, k);
    free(lp); free(sw);
    return r;
}

int select_pick(int method, const ss_gen_cand *c, const cand_info *ci, int n) {
    int *idx = tool_malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) idx[i] = i;
    int r = select_pick_subset(method, c, ci->answer, idx, n);
    free(idx);
    return r;
}
