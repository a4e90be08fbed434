// cmd_swift_collect.c — `slotswift swift-collect -m MODEL --data QUESTIONS.jsonl [--chat] [--system TEXT]
//     -N 8 [sampling flags, --seed] [SLOT flags] [--swift-layers all|lastK|a,b,c] [--swift-norm]
//     [--swift-logits] [--swift-conf] [--f16] [--limit K] --out DIR`
// For each question: N sampled candidates (prompts and seeds exactly as `eval` builds them), each
// graded against the reference answer; the features of every generated token, captured while
// generating, go to DIR (see src/ss_featstore.h). A rerun resumes: complete questions are skipped.
// Under mpirun / srun (ssmpi.h) every rank computes questions and rank 0 alone writes the store.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmds.h"
#include "settings.h"
#include "tool.h"
#include "slot_span.h"
#include "slotswift.h"
#include "ss_featstore.h"
#include "work.h"
#include "ssmpi.h"

// ---- one question's candidates as a result (work.h): per candidate
//   float label, int32 answer length (-1: none), answer bytes, int32 text length, text bytes,
//   int32 T, float features[T * dim]
typedef struct {
    ss_args *a;
    ss_model *m;
    ss_ctx *c;
    tool_item *items;
    int N;
    const ss_featstore_meta *meta;
    ss_featstore *fs;             // the writer only
    int n_pos, n_cands;           // stored by this run: correct candidates, all
} collect_run;

static void collect_put_str(FILE *f, const char *s) {
    int32_t n = s ? (int32_t)strlen(s) : -1;
    fwrite(&n, sizeof n, 1, f);
    if (n > 0) fwrite(s, 1, (size_t)n, f);
}

// work.h run(): question q[0]'s N candidates, graded, with the features of their tokens
static int collect_question(void *ud, const int *q, int n, work_result *out) {
    collect_run *cr = ud;
    ss_args *a = cr->a;
    int qi = q[0], N = cr->N;
    char err[SS_ERRLEN];
    char *prompt = tool_render_prompt(cr->m, a, cr->items[qi].question);
    if (!prompt) return -1;
    int T;
    int32_t *toks = tool_tokenize_prompt(cr->m, prompt, &T);
    uint8_t *mask = NULL;
    if (a->slot.steps > 0) {
        mask = slot_span_mask(cr->m, a, cr->items[qi].question, prompt, toks, T, err, sizeof err);
        if (a->slot_span && !mask) { fprintf(stderr, "slotswift swift-collect: --slot-span: %s\n", err); free(prompt); free(toks); return -1; }
    }
    ss_gen_params gp;
    if (tool_gen_params(a, cr->c, T, N, mask, (uint64_t)qi * 1000003ULL, &gp, err, sizeof err)) {   // seeds as eval
        fprintf(stderr, "slotswift swift-collect: question %d: %s\n", qi, err);
        free(prompt); free(toks); free(mask); return -1;
    }
    gp.feat = &cr->meta->spec;
    gp.keep_features = true;
    ss_gen_result res;
    int r = ss_gen_run(cr->c, toks, T, &gp, &res, err, sizeof err);
    free(prompt); free(toks); free(mask);
    if (r) { fprintf(stderr, "\nslotswift swift-collect: question %d: %s\n", qi, err); return -1; }
    FILE *f = open_memstream(&out->data, &out->len);
    int n_ok = 0;
    for (int j = 0; j < N; j++) {
        char *ans = ss_answer_extract(res.cand[j].text);
        bool ok = ans && ss_answer_equal(ans, cr->items[qi].reference);
        float label = ok ? 1.0f : 0.0f;
        int32_t rows = res.cand[j].n_feat_rows;
        fwrite(&label, sizeof label, 1, f);
        collect_put_str(f, ans);
        collect_put_str(f, res.cand[j].text);
        fwrite(&rows, sizeof rows, 1, f);
        if (rows > 0) fwrite(res.cand[j].features, sizeof(float), (size_t)rows * cr->meta->spec.dim, f);
        free(ans);
        n_ok += ok;
    }
    fclose(f);
    ss_gen_result_free(&res);
    out->stat[0] = n_ok;
    out->stat[1] = N;
    return 0;
}

// read n bytes at *p (bounds-checked against end)
static const char *collect_take(const char **p, const char *end, size_t n) {
    if ((size_t)(end - *p) < n) return NULL;
    const char *r = *p;
    *p += n;
    return r;
}

static bool collect_get_str(const char **p, const char *end, char **s) {
    int32_t n;
    const char *b = collect_take(p, end, sizeof n);
    *s = NULL;
    if (!b) return false;
    memcpy(&n, b, sizeof n);
    if (n < 0) return n == -1;
    if (!(b = collect_take(p, end, (size_t)n))) return false;
    *s = tool_malloc((size_t)n + 1);
    memcpy(*s, b, (size_t)n);
    (*s)[n] = 0;
    return true;
}

// work.h store(): the question's N candidates appended to the store (features, then index line)
static int collect_store(void *ud, int qi, const work_result *r) {
    collect_run *cr = ud;
    const char *p = r->data, *end = r->data + r->len;
    size_t dim = (size_t)cr->meta->spec.dim;
    char err[SS_ERRLEN];
    for (int j = 0; j < cr->N; j++) {
        float label;
        int32_t rows;
        char *ans = NULL, *text = NULL;
        const char *b = collect_take(&p, end, sizeof label), *X = NULL;
        bool ok = b && (memcpy(&label, b, sizeof label), true) && collect_get_str(&p, end, &ans) && collect_get_str(&p, end, &text);
        ok = ok && (b = collect_take(&p, end, sizeof rows)) && (memcpy(&rows, b, sizeof rows), rows >= 0);
        ok = ok && (X = collect_take(&p, end, (size_t)rows * dim * sizeof(float))) != NULL;
        if (!ok) {
            fprintf(stderr, "\nslotswift swift-collect: question %d: candidate %d: a damaged result\n", qi, j);
            free(ans); free(text);
            return -1;
        }
        float *feat = rows > 0 ? tool_malloc((size_t)rows * dim * sizeof(float)) : NULL;   // aligned for the store
        if (rows > 0) memcpy(feat, X, (size_t)rows * dim * sizeof(float));
        ss_featstore_rec rec = { qi, j, cr->N, label, ans, cr->items[qi].reference, text };
        int w = ss_featstore_append(cr->fs, &rec, feat, rows, err, sizeof err);
        free(feat); free(ans); free(text);
        if (w) { fprintf(stderr, "\nslotswift swift-collect: %s\n", err); return -1; }
        cr->n_pos += label > 0.5f;
        cr->n_cands++;
    }
    return 0;
}

static void collect_extra(void *ud, char *buf, size_t n) {
    const collect_run *cr = ud;
    snprintf(buf, n, "correct %.3f", cr->n_cands ? (double)cr->n_pos / cr->n_cands : 0.0);
}

int cmd_swift_collect(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int N = 8, limit = -1;
    const char *data = NULL, *out = NULL, *layers = "all";
    bool norm = false, logits = false, f16 = false, conf = false;
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *f = argv[i];
        if (!strcmp(f, "-N")) { if (args_int(argc, argv, &i, 1, 1024, &N)) return 2; }
        else if (!strcmp(f, "--data")) { if (args_need(argc, argv, &i, &data)) return 2; }
        else if (!strcmp(f, "--out")) { if (args_need(argc, argv, &i, &out)) return 2; }
        else if (!strcmp(f, "--limit")) { if (args_int(argc, argv, &i, 0, 1 << 30, &limit)) return 2; }
        else if (!strcmp(f, "--swift-layers")) { if (args_need(argc, argv, &i, &layers)) return 2; }
        else if (!strcmp(f, "--swift-norm")) norm = true;
        else if (!strcmp(f, "--swift-logits")) logits = true;
        else if (!strcmp(f, "--f16")) f16 = true;
        else if (!strcmp(f, "--swift-conf")) conf = true;
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            printf("usage: slotswift swift-collect -m MODEL --data QUESTIONS.jsonl --out DIR [-N 8] [--chat] [--system TEXT]\n"
                   "          [--swift-layers all|lastK|a,b,c] [--swift-norm] [--swift-logits] [--swift-conf] [--f16] [--limit K] [flags]\n"
                   "  --swift-conf: two more features per token: the sampled token's log-probability and the entropy\n"
                   "      of the model's distribution it was drawn from\n\n");
            args_print_common_help();
            return 0;
        }
        else { fprintf(stderr, "slotswift swift-collect: unknown flag '%s'\n", f); return 2; }
        i++;
    }
    if (!data || !out) { fprintf(stderr, "slotswift swift-collect: --data FILE.jsonl and --out DIR are required\n"); return 2; }
    tool_item *items;
    int n_read = tool_read_dataset(data, &items);
    if (n_read < 0) return 1;
    int n_items = limit >= 0 && limit < n_read ? limit : n_read, n_ctx_flag = a.n_ctx;
    ss_model *m; ss_ctx *c;
    if (tool_load_data(&a, 1, N, items, n_items, "swift-collect", &m, &c)) { tool_free_dataset(items, n_read); return 1; }
    int rc = 1;
    char err[SS_ERRLEN];
    ss_featstore *fs = NULL;
    const ss_hparams *hp = ss_model_hparams(m);
    ss_featstore_meta meta;
    memset(&meta, 0, sizeof meta);
    if (ss_swift_spec_parse(&meta.spec, logits ? "logits" : layers, norm, logits, hp->n_layer, hp->n_embd, hp->n_vocab, err, sizeof err)) {
        fprintf(stderr, "slotswift swift-collect: --swift-layers: %s\n", err);
        goto done;
    }
    ss_swift_spec_set_conf(&meta.spec, conf);
    snprintf(meta.model_name, sizeof meta.model_name, "%s", ss_model_name(m));
    meta.model_fingerprint = ss_model_fingerprint(m);
    meta.f16 = f16;
    // an existing meta.json means resume (a damaged one is reported by ss_featstore_open)
    char *meta_path = ss_malloc(strlen(out) + 16);
    sprintf(meta_path, "%s/meta.json", out);
    bool resume = access(meta_path, F_OK) == 0;
    free(meta_path);
    {   // every setting that changes the candidates (settings.h); the data file by identity, not path
        cJSON *st = settings_build(&a, m, data, N, n_ctx_flag, err, sizeof err);
        if (!st) { fprintf(stderr, "slotswift swift-collect: %s\n", err); goto done; }
        if (ssmpi_rank() == 0) {   // without --seed: the resumed store's seed, or a random one
            ss_featstore_meta old;
            cJSON *was = resume && !ss_featstore_meta_read(&old, out, err, sizeof err) ? cJSON_Parse(old.collect) : NULL;
            settings_pick_seed(&a, was, st, "swift-collect");
            cJSON_Delete(was);
        }
        ssmpi_bcast_u64(&a.samp.seed);   // under MPI: rank 0's seed on every rank
        char *s = cJSON_PrintUnformatted(st);
        cJSON_Delete(st);
        bool fits = strlen(s) < sizeof meta.collect;
        if (fits) strcpy(meta.collect, s);
        free(s);
        if (!fits) { fprintf(stderr, "slotswift swift-collect: the settings record is too long (--system / --stop)\n"); goto done; }
    }
    // under MPI, rank 0 alone opens (locks) and writes the store
    if (ssmpi_rank() == 0 && ss_featstore_open(&fs, out, &meta, resume, err, sizeof err)) { fprintf(stderr, "slotswift swift-collect: %s\n", err); goto done; }
    {
        bool *done = tool_calloc(n_items + 1, sizeof(bool));
        int todo = 0;
        for (int qi = 0; qi < n_items; qi++) todo += !(done[qi] = fs && ss_featstore_has_question(fs, qi));
        if (resume && fs) fprintf(stderr, "slotswift swift-collect: resuming %s: %d of %d questions left\n", out, todo, n_items);
        collect_run cr = { &a, m, c, items, N, &meta, fs, 0, 0 };
        work_job job = { "collect", n_items, done, 1, collect_question, collect_store, collect_extra, &cr, out };
        int w = ssmpi_active() ? ssmpi_work_run(&job) : work_run_local(&job);
        free(done);
        if (w) goto done;
        if (fs) fprintf(stderr, "slotswift swift-collect: %d candidates in %s (%d correct among the %d collected now)\n",
                        ss_featstore_count(fs), out, cr.n_pos, cr.n_cands);
    }
    rc = 0;
done:
    if (fs) ss_featstore_close(fs);
    tool_free_dataset(items, n_read);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
