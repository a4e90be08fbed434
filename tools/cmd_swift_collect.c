// cmd_swift_collect.c — `slotswift swift-collect -m MODEL --data QUESTIONS.jsonl [--chat] [--system TEXT]
//     -N 8 [sampling flags, --seed] [SLOT flags] [--swift-layers all|lastK|a,b,c] [--swift-norm]
//     [--swift-logits] [--f16] [--limit K] --out DIR`
// For each question: N sampled candidates (prompts and seeds exactly as `eval` builds them), each
// graded against the reference answer; the features of every generated token, captured while
// generating, go to DIR (see src/ss_featstore.h). A rerun resumes: complete questions are skipped.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmds.h"
#include "settings.h"
#include "tool.h"
#include "slot_span.h"
#include "slotswift.h"
#include "ss_featstore.h"

int cmd_swift_collect(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int N = 8, limit = -1;
    const char *data = NULL, *out = NULL, *layers = "all";
    bool norm = false, logits = false, f16 = false;
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
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            printf("usage: slotswift swift-collect -m MODEL --data QUESTIONS.jsonl --out DIR [-N 8] [--chat] [--system TEXT]\n"
                   "          [--swift-layers all|lastK|a,b,c] [--swift-norm] [--swift-logits] [--f16] [--limit K] [flags]\n\n");
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
    if (a.n_ctx == 0) {   // room for every candidate's tokens in the shared KV cache
        long need = 512 + N * (a.n_predict < 0 ? 1024 : a.n_predict + 2);
        a.n_ctx = need > 4096 ? (int)need : 4096;
    }
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, N, &m, &c)) { tool_free_dataset(items, n_read); return 1; }
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
    snprintf(meta.model_name, sizeof meta.model_name, "%s", ss_model_name(m));
    meta.model_fingerprint = ss_model_fingerprint(m);
    meta.f16 = f16;
    {   // every setting that changes the candidates (settings.h); the data file by identity, not path
        cJSON *st = settings_build(&a, m, data, N, n_ctx_flag, err, sizeof err);
        if (!st) { fprintf(stderr, "slotswift swift-collect: %s\n", err); goto done; }
        char *s = cJSON_PrintUnformatted(st);
        cJSON_Delete(st);
        bool fits = strlen(s) < sizeof meta.collect;
        if (fits) strcpy(meta.collect, s);
        free(s);
        if (!fits) { fprintf(stderr, "slotswift swift-collect: the settings record is too long (--system / --stop)\n"); goto done; }
    }
    // an existing meta.json means resume (a damaged one is reported by ss_featstore_open)
    char *meta_path = ss_malloc(strlen(out) + 16);
    sprintf(meta_path, "%s/meta.json", out);
    bool resume = access(meta_path, F_OK) == 0;
    free(meta_path);
    if (ss_featstore_open(&fs, out, &meta, resume, err, sizeof err)) { fprintf(stderr, "slotswift swift-collect: %s\n", err); goto done; }
    int todo = 0, n_run = 0, n_pos = 0, n_cands = 0;
    for (int qi = 0; qi < n_items; qi++) todo += !ss_featstore_has_question(fs, qi);
    if (resume) fprintf(stderr, "slotswift swift-collect: resuming %s: %d of %d questions left\n", out, todo, n_items);
    double t_start = ss_time();
    for (int qi = 0; qi < n_items; qi++) {
        if (ss_featstore_has_question(fs, qi)) continue;
        char *prompt = tool_render_prompt(m, &a, items[qi].question);
        if (!prompt) goto done;
        int T;
        int32_t *toks = tool_tokenize_prompt(m, prompt, &T);
        uint8_t *mask = NULL;
        if (a.slot.steps > 0) {
            mask = slot_span_mask(m, &a, items[qi].question, prompt, toks, T, err, sizeof err);
            if (a.slot_span && !mask) { fprintf(stderr, "slotswift swift-collect: --slot-span: %s\n", err); free(prompt); free(toks); goto done; }
        }
        ss_gen_params gp;
        tool_gen_params(&a, c, N, mask, (uint64_t)qi * 1000003ULL, &gp);   // seeds as eval
        gp.feat = &meta.spec;
        gp.keep_features = true;
        ss_gen_result res;
        int r = ss_gen_run(c, toks, T, &gp, &res, err, sizeof err);
        free(prompt); free(toks); free(mask);
        if (r) { fprintf(stderr, "\nslotswift swift-collect: question %d: %s\n", qi, err); goto done; }
        for (int j = 0; j < N; j++) {
            char *ans = ss_answer_extract(res.cand[j].text);
            bool ok = ans && ss_answer_equal(ans, items[qi].reference);
            ss_featstore_rec rec = { qi, j, N, ok ? 1.0f : 0.0f, ans, items[qi].reference, res.cand[j].text };
            int w = ss_featstore_append(fs, &rec, res.cand[j].features, res.cand[j].n_feat_rows, err, sizeof err);
            free(ans);
            if (w) { fprintf(stderr, "\nslotswift swift-collect: %s\n", err); ss_gen_result_free(&res); goto done; }
            n_pos += ok; n_cands++;
        }
        ss_gen_result_free(&res);
        n_run++;
        char extra[64];
        snprintf(extra, sizeof extra, "correct %.3f", n_cands ? (double)n_pos / n_cands : 0.0);
        tool_progress("collect", n_run, todo, t_start, extra);
    }
    fprintf(stderr, "slotswift swift-collect: %d candidates in %s (%d correct among the %d collected now)\n",
            ss_featstore_count(fs), out, n_pos, n_cands);
    rc = 0;
done:
    if (fs) ss_featstore_close(fs);
    tool_free_dataset(items, n_read);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
