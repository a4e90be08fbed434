// evalres.c — eval's results file: reader, settings record, summary (format in evalres.h).
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "evalres.h"
#include "select.h"
#include "tool.h"
#include "ss_common.h"
#include "slotswift.h"

#define EVALRES_MAX_INDEX (1 << 30)

static void evalres_q_free(evalres_q *q) {
    for (int j = 0; j < q->n; j++) free(q->ans[j]);
    free(q->ans); free(q->ok); free(q->c);
}

void evalres_free(evalres_file *f) {
    for (int i = 0; i < f->n; i++) evalres_q_free(&f->q[i]);
    free(f->q);
    cJSON_Delete(f->settings);
    memset(f, 0, sizeof *f);
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

// one question line -> q; why names the field on error
static int evalres_line(const cJSON *o, evalres_q *q, char *why, size_t whylen) {
    memset(q, 0, sizeof *q);
    if (!cJSON_IsObject(o)) return ss_err(why, whylen, "not a JSON object");
    const cJSON *ix = get(o, "index"), *cr = get(o, "correct"), *se = get(o, "seconds"), *tk = get(o, "tokens"), *cs = get(o, "candidates");
    if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble >= EVALRES_MAX_INDEX || ix->valuedouble != floor(ix->valuedouble))
        return ss_err(why, whylen, "index: missing or not a question number");
    if (!cJSON_IsBool(cr)) return ss_err(why, whylen, "correct: missing or not true/false");
    if (!cJSON_IsNumber(se) || !(se->valuedouble >= 0)) return ss_err(why, whylen, "seconds: missing or not a non-negative number");
    if (!cJSON_IsNumber(tk) || !(tk->valuedouble >= 0)) return ss_err(why, whylen, "tokens: missing or not a non-negative number");
    if (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) < 1) return ss_err(why, whylen, "candidates: missing or empty");
    q->index = ix->valueint;
    q->correct = cJSON_IsTrue(cr);
    q->seconds = se->valuedouble;
    q->tokens = tk->valuedouble;
    int n = cJSON_GetArraySize(cs);
    q->ans = ss_calloc(n, sizeof(char *));
    q->ok = ss_calloc(n, sizeof(bool));
    q->c = ss_calloc(n, sizeof(ss_gen_cand));
    q->n = n;
    q->has_swift = true;
    int j = 0;
    const cJSON *cj;
    cJSON_ArrayForEach(cj, cs) {
        const cJSON *an = get(cj, "answer"), *ok = get(cj, "correct"), *lp = get(cj, "logprob_mean"), *sw = get(cj, "swift");
        if (!cJSON_IsObject(cj)) return ss_err(why, whylen, "candidate %d: not an object", j);
        if (!cJSON_IsString(an) && !cJSON_IsNull(an)) return ss_err(why, whylen, "candidate %d: answer: missing or not a string/null", j);
        if (!cJSON_IsBool(ok)) return ss_err(why, whylen, "candidate %d: correct: missing or not true/false", j);
        if (!cJSON_IsNumber(lp) && !cJSON_IsNull(lp)) return ss_err(why, whylen, "candidate %d: logprob_mean: missing or not a number/null", j);
        if (!cJSON_IsNumber(sw) && !cJSON_IsNull(sw)) return ss_err(why, whylen, "candidate %d: swift: missing or not a number/null", j);
        q->ans[j] = cJSON_IsString(an) ? ss_strdup(an->valuestring) : NULL;
        q->ok[j] = cJSON_IsTrue(ok);
        q->c[j].n_tokens = 1;
        q->c[j].logprob_sum = cJSON_IsNumber(lp) ? lp->valuedouble : -INFINITY;   // null: no tokens
        q->c[j].swift = cJSON_IsNumber(sw) ? (float)sw->valuedouble : 0.0f;
        q->has_swift &= cJSON_IsNumber(sw);
        j++;
    }
    return 0;
}

static int cmp_index(const void *a, const void *b) {
    const evalres_q *x = a, *y = b;
    return x->index != y->index ? (x->index < y->index ? -1 : 1) : x->line - y->line;
}

int evalres_parse(evalres_file *f, const char *path, const char *buf, size_t len, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    if (len == 0) return 0;
    int cap = 0, line = 0;
    size_t pos = 0;
    char why[256];
    while (pos < len) {
        const char *p = buf + pos, *e = memchr(p, '\n', len - pos);
        line++;
        if (!e && line > 1) {   // a torn last line (the writer was killed): dropped
            f->keep = pos;
            return 0;
        }
        size_t ll = e ? (size_t)(e - p) : len - pos;
        cJSON *o = cJSON_ParseWithLength(p, ll);
        if (line == 1) {
            const cJSON *ver = o ? get(o, EVALRES_KEY) : NULL, *st = o ? get(o, "settings") : NULL;
            int rc = 0;
            if (!e || !cJSON_IsObject(o)) rc = ss_err(err, errlen, "%s: not an eval results file (line 1 is not its settings record): refusing to write over it", path);
            else if (!ver && get(o, "index") && get(o, "candidates"))
                rc = ss_err(err, errlen, "%s: results without a settings record (an older slotswift's): they cannot be checked against this run; move the file away or choose another --out to start fresh", path);
            else if (!ver) rc = ss_err(err, errlen, "%s: not an eval results file (line 1 is not its settings record): refusing to write over it", path);
            else if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) rc = ss_err(err, errlen, "%s: line 1: unsupported results format version", path);
            else if (!cJSON_IsObject(st)) rc = ss_err(err, errlen, "%s: line 1: settings: missing or not an object", path);
            if (rc) { cJSON_Delete(o); evalres_free(f); return -1; }
            f->settings = cJSON_DetachItemFromObjectCaseSensitive(o, "settings");
        } else {
            if (f->n == cap) { cap = cap ? 2 * cap : 64; f->q = ss_realloc(f->q, sizeof(evalres_q) * cap); }
            evalres_q *q = &f->q[f->n];
            if (!o) ss_err(why, sizeof why, "not valid JSON");
            if (!o || evalres_line(o, q, why, sizeof why)) {
                if (o) evalres_q_free(q);
                cJSON_Delete(o);
                evalres_free(f);
                return ss_err(err, errlen, "%s: line %d: %s (a corrupt line: repair or remove it)", path, line, why);
            }
            q->line = line;
            f->n++;
        }
        cJSON_Delete(o);
        pos += ll + 1;
    }
    f->keep = len;
    // a question recorded twice
    evalres_q *s = ss_malloc(sizeof(evalres_q) * (f->n + 1));
    memcpy(s, f->q, sizeof(evalres_q) * f->n);
    qsort(s, f->n, sizeof(evalres_q), cmp_index);
    for (int i = 1; i < f->n; i++)
        if (s[i].index == s[i - 1].index) {
            ss_err(err, errlen, "%s: line %d: question %d is already on line %d", path, s[i].line, s[i].index, s[i - 1].line);
            free(s);
            evalres_free(f);
            return -1;
        }
    free(s);
    return 0;
}

char *evalres_header(const char *data_path, const cJSON *settings) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, EVALRES_KEY, 1);
    cJSON_AddStringToObject(o, "data_path", data_path);
    cJSON_AddItemToObject(o, "settings", cJSON_Duplicate(settings, true));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(s);
    s = ss_realloc(s, n + 2);
    s[n] = '\n'; s[n + 1] = 0;
    return s;
}

static double binom_ratio(int n, int c, int k) {   // C(n-c, k) / C(n, k)
    if (n - c < k) return 0.0;
    double r = 1.0;
    for (int i = 0; i < k; i++) r *= (double)(n - c - i) / (n - i);
    return r;
}

int evalres_summary(const evalres_file *f, int n_items, int N, int method, int subsets, uint64_t seed, FILE *out) {
    int nq = 0, n_correct = 0, maxn = 1;
    double secs = 0, toks = 0, mean_sample = 0;
    for (int i = 0; i < f->n; i++) {
        const evalres_q *q = &f->q[i];
        if (q->index >= n_items) continue;
        nq++;
        n_correct += q->correct;
        secs += q->seconds;
        toks += q->tokens;
        int nc = 0;
        for (int j = 0; j < q->n; j++) nc += q->ok[j];
        mean_sample += (double)nc / q->n;
        if (q->n > maxn) maxn = q->n;
    }
    if (nq == 0) { fprintf(stderr, "slotswift eval: no results\n"); return -1; }
    fprintf(out, "{\"n\":%d,\"accuracy\":", nq); tool_json_float(out, (double)n_correct / nq);
    fprintf(stderr, "\n== eval: %d questions ==\naccuracy (%s%s): %.4f\n", nq, N > 1 ? "selected by " : "",
            N > 1 ? ss_select_name(method) : "single sample", (double)n_correct / nq);
    if (N > 1) {
        int ks[32], nk = 0;
        for (int k = 1; k < N; k *= 2) ks[nk++] = k;
        ks[nk++] = N;
        double pass[32] = {0}, vote[32] = {0}, sel[32] = {0}, lp[32] = {0}, pass_r[32] = {0}, vote_r[32] = {0}, sel_r[32] = {0}, lp_r[32] = {0};
        ss_rng rng;
        ss_rng_seed(&rng, seed ^ 0x5eed);
        int *idx = ss_malloc(sizeof(int) * maxn), *swp = ss_malloc(sizeof(int) * maxn);
        int *cls = ss_malloc(sizeof(int) * maxn), *count = ss_calloc(maxn + 1, sizeof(int));
        for (int qi = 0; qi < f->n; qi++) {
            const evalres_q *q = &f->q[qi];
            if (q->index >= n_items) continue;
            int nc = 0;
            for (int j = 0; j < q->n; j++) { nc += q->ok[j]; idx[j] = j; }
            select_classes(q->ans, q->n, cls);
            for (int a = 0; a < nk; a++) {
                int k = ks[a] < q->n ? ks[a] : q->n;
                // first k candidates (as the reference computes it): idx is the identity here
                bool any = false;
                for (int j = 0; j < k; j++) any |= q->ok[j];
                pass[a] += any;
                vote[a] += q->ok[select_pick_classes(SS_SELECT_VOTE, q->c, cls, count, idx, k)];
                sel[a] += q->ok[select_pick_classes(method, q->c, cls, count, idx, k)];
                lp[a] += q->ok[select_pick_classes(SS_SELECT_LOGPROB, q->c, cls, count, idx, k)];
                // averaged over random k-subsets (pass@k exactly: 1 - C(n-c,k)/C(n,k))
                pass_r[a] += 1.0 - binom_ratio(q->n, nc, k);
                double v = 0, s = 0, l = 0;
                for (int r = 0; r < subsets; r++) {
                    for (int j = 0; j < k; j++) {     // partial Fisher-Yates from the identity
                        int t = j + (int)(ss_rng_u64(&rng) % (uint64_t)(q->n - j));
                        swp[j] = t;
                        int tmp = idx[j]; idx[j] = idx[t]; idx[t] = tmp;
                    }
                    // ties go to the lowest candidate index, as on the first k
                    v += q->ok[select_pick_classes(SS_SELECT_VOTE, q->c, cls, count, idx, k)];
                    s += q->ok[select_pick_classes(method, q->c, cls, count, idx, k)];
                    l += q->ok[select_pick_classes(SS_SELECT_LOGPROB, q->c, cls, count, idx, k)];
                    for (int j = k - 1; j >= 0; j--) {   // undo the swaps: back to the identity
                        int t = swp[j], tmp = idx[j]; idx[j] = idx[t]; idx[t] = tmp;
                    }
                }
                lp_r[a] += l / subsets;
                vote_r[a] += v / subsets;
                sel_r[a] += s / subsets;
            }
        }
        free(idx); free(swp); free(cls); free(count);
        fprintf(out, ",\"mean_sample_accuracy\":"); tool_json_float(out, mean_sample / nq);
        const char *names[8] = { "pass_at_k", "vote_at_k", "selected_at_k", "logprob_at_k",
                                 "pass_at_k_avg", "vote_at_k_avg", "selected_at_k_avg", "logprob_at_k_avg" };
        double *vals[8] = { pass, vote, sel, lp, pass_r, vote_r, sel_r, lp_r };
        for (int t = 0; t < 8; t++) {
            fprintf(out, ",\"%s\":{", names[t]);
            for (int a = 0; a < nk; a++) { fprintf(out, a ? ",\"%d\":" : "\"%d\":", ks[a]); tool_json_float(out, vals[t][a] / nq); }
            fprintf(out, "}");
        }
        fprintf(stderr, "mean single-sample accuracy: %.4f\n", mean_sample / nq);
        fprintf(stderr, "selected = %s; first k candidates | averaged over random k-subsets\n", ss_select_name(method));
        fprintf(stderr, "%4s | %7s %7s %9s %9s | %7s %7s %9s %9s\n", "k", "pass", "vote", "selected", "logprob", "pass", "vote", "selected", "logprob");
        for (int a = 0; a < nk; a++)
            fprintf(stderr, "%4d | %7.4f %7.4f %9.4f %9.4f | %7.4f %7.4f %9.4f %9.4f\n", ks[a], pass[a] / nq, vote[a] / nq,
                    sel[a] / nq, lp[a] / nq, pass_r[a] / nq, vote_r[a] / nq, sel_r[a] / nq, lp_r[a] / nq);
    }
    fprintf(out, ",\"sec_per_question\":"); tool_json_float(out, secs / nq);
    fprintf(out, ",\"tokens_per_question\":"); tool_json_float(out, toks / nq);
    fprintf(out, "}\n");
    fprintf(stderr, "seconds per question: %.3f, tokens per question: %.1f\n", secs / nq, toks / nq);
    return 0;
}
