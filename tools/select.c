// select.c — Best-of-N selection rules.
//   vote:    the answer shared by most candidates (ties: the one that appears first); its first candidate
//   logprob: the highest mean token log-probability
//   swift:   the highest SWIFT reward
//   first:   candidate 0
#include "select.h"
#include "ss_answer.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

int select_parse(const char *name) {
    if (!strcmp(name, "first")) return SEL_FIRST;
    if (!strcmp(name, "vote")) return SEL_VOTE;
    if (!strcmp(name, "logprob")) return SEL_LOGPROB;
    if (!strcmp(name, "swift")) return SEL_SWIFT;
    return -1;
}

const char *select_name(int m) {
    static const char *names[] = { "first", "vote", "logprob", "swift" };
    return m >= 0 && m < 4 ? names[m] : "?";
}

void cand_info_fill(cand_info *ci, const ss_gen_cand *c, int n) {
    ci->answer = ss_calloc(n, sizeof(char *));
    ci->votes = ss_calloc(n, sizeof(int));
    ci->logprob_mean = ss_calloc(n, sizeof(float));
    for (int i = 0; i < n; i++) {
        ci->answer[i] = ss_answer_extract(c[i].text ? c[i].text : "");
        ci->logprob_mean[i] = c[i].n_tokens ? (float)(c[i].logprob_sum / c[i].n_tokens) : -INFINITY;
    }
    for (int i = 0; i < n; i++) {
        if (!ci->answer[i]) continue;
        for (int j = 0; j < n; j++)
            if (ci->answer[j] && ss_answer_equal(ci->answer[i], ci->answer[j])) ci->votes[i]++;
    }
}

void cand_info_free(cand_info *ci, int n) {
    for (int i = 0; i < n; i++) free(ci->answer[i]);
    free(ci->answer); free(ci->votes); free(ci->logprob_mean);
}

int select_pick_subset(int method, const ss_gen_cand *c, char **answer, const int *idx, int k) {
    int best = idx[0];
    if (method == SEL_FIRST) return best;
    if (method == SEL_VOTE) {
        int best_votes = -1;
        for (int a = 0; a < k; a++) {
            int i = idx[a], v = 0;
            if (!answer[i]) continue;
            for (int b = 0; b < k; b++)
                if (answer[idx[b]] && ss_answer_equal(answer[i], answer[idx[b]])) v++;
            if (v > best_votes) { best_votes = v; best = i; }
        }
        return best;
    }
    double bv = -INFINITY;
    for (int a = 0; a < k; a++) {
        int i = idx[a];
        double v = method == SEL_LOGPROB ? (c[i].n_tokens ? c[i].logprob_sum / c[i].n_tokens : -INFINITY) : c[i].swift;
        if (v > bv) { bv = v; best = i; }
    }
    return best;
}

int select_pick(int method, const ss_gen_cand *c, const cand_info *ci, int n) {
    int *idx = ss_malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) idx[i] = i;
    int r = select_pick_subset(method, c, ci->answer, idx, n);
    free(idx);
    return r;
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
    int *slot = ss_malloc(sizeof(int) * cap), *rep = ss_malloc(sizeof(int) * (n + 1)), n_cls = 0;
    double *val = ss_malloc(sizeof(double) * (n + 1));   // [candidate] its number, for numeric answers
    bool *num = ss_malloc(n + 1);
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
    if (method == SEL_FIRST) return lo;
    int best = lo;
    if (method == SEL_VOTE) {
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
        double v = method == SEL_LOGPROB ? (c[i].n_tokens ? c[i].logprob_sum / c[i].n_tokens : -INFINITY) : c[i].swift;
        if (v > bv || (v == bv && i < best)) { bv = v; best = i; }
    }
    return best;
}
