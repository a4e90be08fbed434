// select.c — Best-of-N over ss_gen_cand: answers, votes and mean log-probabilities of the
// candidates, and the library's ss_select_pick on them.
#include "select.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "slotswift.h"
#include "xalloc.h"

static double cand_logprob_mean(const ss_gen_cand *c) {
    return c->n_tokens ? c->logprob_sum / c->n_tokens : -INFINITY;
}

void cand_info_fill(cand_info *ci, const ss_gen_cand *c, int n) {
    ci->answer = tool_calloc(n, sizeof(char *));
    ci->votes = tool_calloc(n, sizeof(int));
    ci->logprob_mean = tool_calloc(n, sizeof(float));
    for (int i = 0; i < n; i++) {
        // a candidate stopped early (vote decided without it) has a partial text: no answer
        ci->answer[i] = c[i].stopped ? NULL : ss_answer_extract(c[i].text ? c[i].text : "");
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

int select_pick_gen(int method, const ss_gen_cand *c, const cand_info *ci, int n, const ss_gen_params *gp) {
    if (method == SS_SELECT_VOTE && gp->adaptive > 0 && gp->adaptive_margin > 0) {
        double *lp = tool_malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++) lp[i] = cand_logprob_mean(&c[i]);   // (as the engine's rule reads them)
        int r = ss_select_weighted_vote((const char *const *)ci->answer, lp, n, gp->adaptive_gamma, NULL);
        free(lp);
        if (r >= 0) return r;
    }
    return select_pick(method, c, ci, n);
}

static uint64_t select_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) { h ^= (uint8_t)*s; h *= 0x100000001b3ULL; }
    return h;
}

int select_classes(char *const *answer, int n, int *cls) {
    // open-addressing table of distinct strings -> the first candidate holding it
    int cap = 16;
    while (cap < 2 * n) cap *= 2;
    int *slot = tool_malloc(sizeof(int) * cap), *rep = tool_malloc(sizeof(int) * (n + 1)), n_cls = 0;
    double *val = tool_malloc(sizeof(double) * (n + 1));   // [candidate] its number, for numeric answers
    bool *num = tool_malloc(n + 1);
    for (int i = 0; i < cap; i++) slot[i] = -1;
    for (int j = 0; j < n; j++) {
        if (!answer[j]) { cls[j] = -1; continue; }
        size_t h = (size_t)select_hash(answer[j]) & (size_t)(cap - 1);
        while (slot[h] >= 0 && strcmp(answer[slot[h]], answer[j])) h = (h + 1) & (size_t)(cap - 1);
        if (slot[h] >= 0) { cls[j] = cls[slot[h]]; continue; }   // a string seen before
        slot[h] = j;
        // numbers compare by value (ss_answer_number_equal, one parse per distinct string), other
        // answers with ss_answer_equal; a number never equals a non-number
        num[j] = ss_answer_number(answer[j], &val[j]);
        if (!num[j] && !ss_answer_equal(answer[j], answer[j])) { cls[j] = -2; continue; }
        cls[j] = -3;
        for (int k = 0; k < n_cls && cls[j] == -3; k++) {
            int r = rep[k];
            if (num[r] != num[j]) continue;
            if (num[j] ? ss_answer_number_equal(val[r], val[j]) : ss_answer_equal(answer[r], answer[j])) cls[j] = k;
        }
        if (cls[j] == -3) { rep[n_cls] = j; cls[j] = n_cls++; }
    }
    free(slot);
    free(rep);
    free(val);
    free(num);
    return n_cls;
}

int select_pick_classes(int method, const ss_gen_cand *c, const int *cls, int *count, const int *idx, int k) {
    int lo = idx[0];
    for (int a = 1; a < k; a++) if (idx[a] < lo) lo = idx[a];
    if (method == SS_SELECT_FIRST) return lo;
    int best = lo;
    if (method == SS_SELECT_VOTE) {
        for (int a = 0; a < k; a++) if (cls[idx[a]] >= 0) count[cls[idx[a]]]++;
        int bv = -1;
        for (int a = 0; a < k; a++) {
            int i = idx[a], v = cls[i] >= 0 ? count[cls[i]] : cls[i] == -2 ? 0 : -1;
            if (v < 0) continue;
            if (v > bv || (v == bv && i < best)) { bv = v; best = i; }
        }
        for (int a = 0; a < k; a++) if (cls[idx[a]] >= 0) count[cls[idx[a]]] = 0;
        return best;
    }
    double bv = -INFINITY;
    for (int a = 0; a < k; a++) {
        int i = idx[a];
        double v = method == SS_SELECT_LOGPROB ? (c[i].n_tokens ? c[i].logprob_sum / c[i].n_tokens : -INFINITY) : c[i].swift;
        if (v > bv || (v == bv && i < best)) { bv = v; best = i; }
    }
    return best;
}
