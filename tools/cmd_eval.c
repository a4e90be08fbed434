// cmd_eval.c — `slotswift eval -m MODEL --data FILE.jsonl [--chat] [--system TEXT] [--limit K]
//     [sampling flags, --seed] [SLOT flags] [-N N --select ... --swift HEAD.gguf] --out RESULTS.jsonl`
// One result line per question is appended (and fsynced) as it finishes; a rerun resumes after the
// last complete line. Question i draws with seed (--seed + i*1000003) + candidate index, so results
// do not depend on resuming. At the end: a table on stderr and one JSON summary line on stdout.
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "tool.h"
#include "slot_span.h"
#include "select.h"
#include "slotswift.h"

static void eval_usage(void) {
    printf("usage: slotswift eval -m MODEL --data FILE.jsonl --out RESULTS.jsonl [--chat] [--system TEXT] [--limit K]\n"
           "                      [-N N] [--select swift|vote|first|logprob] [--swift HEAD.gguf] [--subsets S] [--parallel P] [flags]\n"
           "  --parallel P: P questions decode together (default 1); results are the same as one at a time\n"
           "  greedy with --temp 0; with N > 1 the N candidates of a question decode together.\n\n");
    args_print_common_help();
}

// ---- resume: keep complete, parseable lines; truncate a torn last line ----
static int eval_resume(const char *path, bool *done, int n_items) {
    char err[SS_ERRLEN];
    size_t len;
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift eval: %s\n", err); return -1; }
    size_t good = 0;
    int n_done = 0;
    char *p = buf;
    while (p < buf + len) {
        char *e = memchr(p, '\n', buf + len - p);
        if (!e) break;                         // torn last line (no newline): dropped
        *e = 0;
        cJSON *o = cJSON_Parse(p);
        cJSON *ix = o ? cJSON_GetObjectItem(o, "index") : NULL;
        if (!cJSON_IsNumber(ix)) { cJSON_Delete(o); break; }
        int i = ix->valueint;
        if (i >= 0 && i < n_items && !done[i]) { done[i] = true; n_done++; }
        cJSON_Delete(o);
        good = e + 1 - buf;
        p = e + 1;
    }
    free(buf);
    if (good < len) {
        if (truncate(path, good) != 0) { fprintf(stderr, "slotswift eval: %s: cannot truncate a torn line\n", path); return -1; }
        fprintf(stderr, "slotswift eval: %s: dropped an incomplete last line\n", path);
    }
    return n_done;
}

// ---- summary over the result file ----
typedef struct { int n; char **ans; bool *ok; ss_gen_cand *c; } qres;

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static double binom_ratio(int n, int c, int k) {   // C(n-c, k) / C(n, k)
    if (n - c < k) return 0.0;
    double r = 1.0;
    for (int i = 0; i < k; i++) r *= (double)(n - c - i) / (n - i);
    return r;
}

static void eval_summary(const char *path, int N, int method, const bool *in_set, int n_items, int subsets, uint64_t seed) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift eval: %s\n", err); return; }
    int nq = 0, cap = 64, n_correct = 0;
    double secs = 0, toks = 0, mean_sample = 0;
    qres *Q = tool_malloc(sizeof(qres) * cap);
    char *p = buf;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        cJSON *o = cJSON_Parse(p);
        cJSON *ix = o ? cJSON_GetObjectItem(o, "index") : NULL;
        if (cJSON_IsNumber(ix) && ix->valueint >= 0 && ix->valueint < n_items && in_set[ix->valueint]) {
            n_correct += cJSON_IsTrue(cJSON_GetObjectItem(o, "correct"));
            secs += cJSON_GetObjectItem(o, "seconds")->valuedouble;
            toks += cJSON_GetObjectItem(o, "tokens")->valuedouble;
            cJSON *cs = cJSON_GetObjectItem(o, "candidates");
            int n = cJSON_GetArraySize(cs);
            if (nq == cap) { cap *= 2; Q = tool_realloc(Q, sizeof(qres) * cap); }
            qres *q = &Q[nq++];
            q->n = n;
            q->ans = tool_calloc(n, sizeof(char *));
            q->ok = tool_calloc(n, sizeof(bool));
            q->c = tool_calloc(n, sizeof(ss_gen_cand));
            int nc = 0;
            for (int j = 0; j < n; j++) {
                cJSON *cj = cJSON_GetArrayItem(cs, j), *an = cJSON_GetObjectItem(cj, "answer"), *sw = cJSON_GetObjectItem(cj, "swift");
                q->ans[j] = cJSON_IsString(an) ? tool_strdup(an->valuestring) : NULL;
                q->ok[j] = cJSON_IsTrue(cJSON_GetObjectItem(cj, "correct"));
                q->c[j].n_tokens = 1;
                q->c[j].logprob_sum = cJSON_GetObjectItem(cj, "logprob_mean")->valuedouble;
                q->c[j].swift = cJSON_IsNumber(sw) ? (float)sw->valuedouble : 0.0f;
                nc += q->ok[j];
            }
            mean_sample += n ? (double)nc / n : 0;
        }
        cJSON_Delete(o);
        if (!e) break;
        p = e + 1;
    }
    free(buf);
    if (nq == 0) { fprintf(stderr, "slotswift eval: no results\n"); free(Q); return; }
    printf("{\"n\":%d,\"accuracy\":", nq); tool_json_float(stdout, (double)n_correct / nq);
    fprintf(stderr, "\n== eval: %d questions ==\naccuracy (%s%s): %.4f\n", nq, N > 1 ? "selected by " : "",
            N > 1 ? ss_select_name(method) : "single sample", (double)n_correct / nq);
    if (N > 1) {
        int ks[32], nk = 0;
        for (int k = 1; k < N; k *= 2) ks[nk++] = k;
        ks[nk++] = N;
        double pass[32] = {0}, vote[32] = {0}, sel[32] = {0}, lp[32] = {0}, pass_r[32] = {0}, vote_r[32] = {0}, sel_r[32] = {0}, lp_r[32] = {0};
        ss_rng rng;
        ss_rng_seed(&rng, seed ^ 0x5eed);
        int *idx = tool_malloc(sizeof(int) * N);
        for (int qi = 0; qi < nq; qi++) {
            qres *q = &Q[qi];
            int nc = 0;
            for (int j = 0; j < q->n; j++) nc += q->ok[j];
            for (int a = 0; a < nk; a++) {
                int k = ks[a] < q->n ? ks[a] : q->n;
                // first k candidates (as the reference computes it)
                for (int j = 0; j < k; j++) idx[j] = j;
                bool any = false;
                for (int j = 0; j < k; j++) any |= q->ok[j];
                pass[a] += any;
                vote[a] += q->ok[select_pick_subset(SS_SELECT_VOTE, q->c, q->ans, idx, k)];
                sel[a] += q->ok[select_pick_subset(method, q->c, q->ans, idx, k)];
                lp[a] += q->ok[select_pick_subset(SS_SELECT_LOGPROB, q->c, q->ans, idx, k)];
                // averaged over random k-subsets (pass@k exactly: 1 - C(n-c,k)/C(n,k))
                pass_r[a] += 1.0 - binom_ratio(q->n, nc, k);
                double v = 0, s = 0, l = 0;
                for (int r = 0; r < subsets; r++) {
                    for (int j = 0; j < q->n; j++) idx[j] = j;
                    for (int j = 0; j < k; j++) {     // partial Fisher-Yates
                        int t = j + (int)(ss_rng_u64(&rng) % (uint64_t)(q->n - j));
                        int tmp = idx[j]; idx[j] = idx[t]; idx[t] = tmp;
                    }
                    qsort(idx, k, sizeof(int), cmp_int);   // ties break toward the lower index, as on first-k
                    v += q->ok[select_pick_subset(SS_SELECT_VOTE, q->c, q->ans, idx, k)];
                    s += q->ok[select_pick_subset(method, q->c, q->ans, idx, k)];
                    l += q->ok[select_pick_subset(SS_SELECT_LOGPROB, q->c, q->ans, idx, k)];
                }
                lp_r[a] += l / subsets;
                vote_r[a] += v / subsets;
                sel_r[a] += s / subsets;
            }
        }
        free(idx);
        printf(",\"mean_sample_accuracy\":"); tool_json_float(stdout, mean_sample / nq);
        const char *names[8] = { "pass_at_k", "vote_at_k", "selected_at_k", "logprob_at_k",
                                 "pass_at_k_avg", "vote_at_k_avg", "selected_at_k_avg", "logprob_at_k_avg" };
        double *vals[8] = { pass, vote, sel, lp, pass_r, vote_r, sel_r, lp_r };
        for (int t = 0; t < 8; t++) {
            printf(",\"%s\":{", names[t]);
            for (int a = 0; a < nk; a++) { printf(a ? ",\"%d\":" : "\"%d\":", ks[a]); tool_json_float(stdout, vals[t][a] / nq); }
            printf("}");
        }
        fprintf(stderr, "mean single-sample accuracy: %.4f\n", mean_sample / nq);
        fprintf(stderr, "selected = %s; first k candidates | averaged over random k-subsets\n", ss_select_name(method));
        fprintf(stderr, "%4s | %7s %7s %9s %9s | %7s %7s %9s %9s\n", "k", "pass", "vote", "selected", "logprob", "pass", "vote", "selected", "logprob");
        for (int a = 0; a < nk; a++)
            fprintf(stderr, "%4d | %7.4f %7.4f %9.4f %9.4f | %7.4f %7.4f %9.4f %9.4f\n", ks[a], pass[a] / nq, vote[a] / nq,
                    sel[a] / nq, lp[a] / nq, pass_r[a] / nq, vote_r[a] / nq, sel_r[a] / nq, lp_r[a] / nq);
    }
    printf(",\"sec_per_question\":"); tool_json_float(stdout, secs / nq);
    printf(",\"tokens_per_question\":"); tool_json_float(stdout, toks / nq);
    printf("}\n");
    fprintf(stderr, "seconds per question: %.3f, tokens per question: %.1f\n", secs / nq, toks / nq);
    for (int qi = 0; qi < nq; qi++) {
        for (int j = 0; j < Q[qi].n; j++) free(Q[qi].ans[j]);
        free(Q[qi].ans); free(Q[qi].ok); free(Q[qi].c);
    }
    free(Q);
}

int cmd_eval(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int N = 1, method = -1, limit = -1, subsets = 64, par = 1;
    const char *data = NULL, *out = NULL, *head_path = NULL, *v;
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *f = argv[i];
        if (!strcmp(f, "-N")) { if (args_int(argc, argv, &i, 1, 1024, &N)) return 2; }
        else if (!strcmp(f, "--data")) { if (args_need(argc, argv, &i, &data)) return 2; }
        else if (!strcmp(f, "--out")) { if (args_need(argc, argv, &i, &out)) return 2; }
        else if (!strcmp(f, "--limit")) { if (args_int(argc, argv, &i, 0, 1 << 30, &limit)) return 2; }
        else if (!strcmp(f, "--parallel")) { if (args_int(argc, argv, &i, 1, 256, &par)) return 2; }
        else if (!strcmp(f, "--subsets")) { if (args_int(argc, argv, &i, 1, 1 << 20, &subsets)) return 2; }
        else if (!strcmp(f, "--swift")) { if (args_need(argc, argv, &i, &head_path)) return 2; }
        else if (!strcmp(f, "--select")) {
            if (args_need(argc, argv, &i, &v)) return 2;
            if ((method = ss_select_parse(v)) < 0) { fprintf(stderr, "slotswift eval: --select: unknown method '%s' (swift, vote, first, logprob)\n", v); return 2; }
        }
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) { eval_usage(); return 0; }
        else { fprintf(stderr, "slotswift eval: unknown flag '%s'\n", f); return 2; }
        i++;
    }
    if (!data || !out) { fprintf(stderr, "slotswift eval: --data FILE.jsonl and --out RESULTS.jsonl are required\n"); return 2; }
    if (a.prompt || a.prompt_file) { fprintf(stderr, "slotswift eval: prompts come from --data, not -p/-f\n"); return 2; }
    if (method < 0) method = head_path ? SS_SELECT_SWIFT : N > 1 ? SS_SELECT_VOTE : SS_SELECT_FIRST;
    if (method == SS_SELECT_SWIFT && !head_path) { fprintf(stderr, "slotswift eval: --select swift needs --swift HEAD.gguf\n"); return 2; }
    tool_item *items;
    int n_items = tool_read_dataset(data, &items);
    if (n_items < 0) return 1;
    int n_read = n_items;
    if (limit >= 0 && limit < n_items) n_items = limit;
    bool *done = tool_calloc(n_items + 1, sizeof(bool));
    int n_done = eval_resume(out, done, n_items);
    if (n_done < 0) { tool_free_dataset(items, n_read); free(done); return 1; }
    bool *in_set = tool_malloc(n_items + 1);
    memset(in_set, 1, n_items + 1);
    if (a.n_ctx == 0) {   // room for every candidate's tokens in the shared KV cache
        long need = par * (512 + N * (a.n_predict < 0 ? 1024 : a.n_predict + 2));
        a.n_ctx = need > 4096 ? (int)need : 4096;
    }
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, N * par, &m, &c)) { tool_free_dataset(items, n_read); free(done); free(in_set); return 1; }
    // questions run in groups of --parallel P: their prefills and candidates decode together
    int *grp = tool_malloc(sizeof(int) * par), *lens = tool_malloc(sizeof(int) * par);
    int32_t **toks = tool_calloc(par, sizeof(int32_t *));
    uint8_t **masks = tool_calloc(par, sizeof(uint8_t *));
    ss_gen_params *gps = tool_malloc(sizeof(ss_gen_params) * par);
    const ss_gen_params **gpp = tool_malloc(sizeof(ss_gen_params *) * par);
    ss_gen_result *res = tool_calloc(par, sizeof(ss_gen_result));
    int rc = 1;
    ss_swift_head head;
    bool have_head = false;
    int fd = -1;
    if (head_path) { if (tool_load_head(m, head_path, &head)) goto done; have_head = true; }
    fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) { fprintf(stderr, "slotswift eval: %s: cannot open for writing\n", out); goto done; }
    if (n_done) fprintf(stderr, "slotswift eval: resuming: %d of %d questions already in %s\n", n_done, n_items, out);
    double t_start = ss_time();
    int n_run = 0, todo = n_items - n_done, n_ok = 0;
    for (int next = 0; next < n_items;) {
        char err[SS_ERRLEN];
        int ng = 0;
        while (next < n_items && ng < par) { if (!done[next]) grp[ng++] = next; next++; }
        if (ng == 0) break;
        double tq = ss_time();
        bool bad = false;
        for (int g = 0; g < ng && !bad; g++) {
            int qi = grp[g];
            char *prompt = tool_render_prompt(m, &a, items[qi].question);
            if (!prompt) { bad = true; break; }
            toks[g] = tool_tokenize_prompt(m, prompt, &lens[g]);
            if (a.slot.steps > 0) {
                masks[g] = slot_span_mask(m, &a, items[qi].question, prompt, toks[g], lens[g], err, sizeof err);
                if (a.slot_span && !masks[g]) { fprintf(stderr, "slotswift eval: question %d: --slot-span: %s\n", qi, err); bad = true; }
            }
            free(prompt);
            tool_gen_params(&a, c, N, masks[g], (uint64_t)qi * 1000003ULL, &gps[g]);   // per-question seed
            if (have_head) { gps[g].feat = &head.spec; gps[g].head = &head; }
            gpp[g] = &gps[g];
        }
        int r = bad ? -1 : ss_gen_run_multi(c, ng, (const int32_t *const *)toks, lens, gpp, res, err, sizeof err);
        for (int g = 0; g < ng; g++) { free(toks[g]); free(masks[g]); toks[g] = NULL; masks[g] = NULL; }
        if (r) { if (!bad) fprintf(stderr, "\nslotswift eval: question %d: %s\n", grp[0], err); goto done; }
        double secs = (ss_time() - tq) / ng;
        for (int g = 0; g < ng; g++) {
            int qi = grp[g];
            cand_info ci;
            cand_info_fill(&ci, res[g].cand, N);
            int sel = select_pick(method, res[g].cand, &ci, N);
            int total_tokens = 0;
            for (int j = 0; j < N; j++) total_tokens += res[g].cand[j].n_tokens;
            bool sel_ok = ci.answer[sel] && ss_answer_equal(ci.answer[sel], items[qi].reference);
            n_ok += sel_ok;
            // one line, written with a single write() and fsynced: a crash leaves at most a torn last line
            char *line = NULL; size_t line_len = 0;
            FILE *mf = open_memstream(&line, &line_len);
            fprintf(mf, "{\"index\":%d,\"reference\":", qi); tool_json_str(mf, items[qi].reference);
            fprintf(mf, ",\"selected\":%d,\"select\":\"%s\",\"answer\":", sel, ss_select_name(method)); tool_json_str(mf, ci.answer[sel]);
            fprintf(mf, ",\"correct\":%s,\"tokens\":%d,\"seconds\":", sel_ok ? "true" : "false", total_tokens);
            tool_json_float(mf, secs);
            fprintf(mf, ",\"n_prompt\":%d", res[g].n_prompt);
            if (a.slot.steps > 0) { fprintf(mf, ",\"slot_loss\":["); tool_json_float(mf, res[g].slot_losses[0]); fprintf(mf, ","); tool_json_float(mf, res[g].slot_loss_after); fprintf(mf, "]"); }
            fprintf(mf, ",\"text\":"); tool_json_str(mf, res[g].cand[sel].text);
            fprintf(mf, ",\"candidates\":[");
            for (int j = 0; j < N; j++) {
                bool ok = ci.answer[j] && ss_answer_equal(ci.answer[j], items[qi].reference);
                fprintf(mf, j ? ",{\"answer\":" : "{\"answer\":"); tool_json_str(mf, ci.answer[j]);
                fprintf(mf, ",\"correct\":%s,\"tokens\":%d,\"logprob_mean\":", ok ? "true" : "false", res[g].cand[j].n_tokens);
                tool_json_float(mf, ci.logprob_mean[j]);
                fprintf(mf, ",\"logprob_min\":"); tool_json_float(mf, res[g].cand[j].logprob_min);
                fprintf(mf, ",\"swift\":"); if (have_head) tool_json_float(mf, res[g].cand[j].swift); else fprintf(mf, "null");
                fprintf(mf, ",\"votes\":%d", ci.votes[j]);
                if (N > 1) { fprintf(mf, ",\"text\":"); tool_json_str(mf, res[g].cand[j].text); }
                fprintf(mf, "}");
            }
            fprintf(mf, "]}\n");
            fclose(mf);
            ssize_t w = write(fd, line, line_len);
            free(line);
            cand_info_free(&ci, N);
            ss_gen_result_free(&res[g]);
            if (w != (ssize_t)line_len || fsync(fd) != 0) { fprintf(stderr, "\nslotswift eval: %s: write failed\n", out); goto done; }
            n_run++;
        }
        char extra[64];
        snprintf(extra, sizeof extra, "acc %.3f", (double)n_ok / n_run);
        tool_progress("eval", n_run, todo, t_start, extra);
    }
    close(fd); fd = -1;
    eval_summary(out, N, method, in_set, n_items, subsets, a.samp.seed);
    rc = 0;
done:
    if (res) for (int g = 0; g < par; g++) ss_gen_result_free(&res[g]);
    free(grp); free(lens); free(toks); free(masks); free(gps); free(gpp); free(res);
    if (fd >= 0) close(fd);
    if (have_head) ss_swift_head_free(&head);
    tool_free_dataset(items, n_read);
    free(done); free(in_set);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
