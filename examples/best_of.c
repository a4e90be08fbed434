// best_of.c — Best-of-N with the library's generation API: N candidates from one prompt (one prefill,
// optionally SLOT on it, candidates decoding together), candidate 0 streamed to stderr as it is
// generated, then one chosen by self-consistency voting over the extracted answers ("vote") or by
// the highest mean token log-probability ("logprob"); its text goes to stdout. The same as
// `slotswift bon -p PROMPT -N N -n N_TOKENS --seed SEED --select METHOD [--slot-steps S]`.
//
//   cc best_of.c $(pkg-config --cflags --libs slotswift) -o best_of
//   ./best_of MODEL.gguf "Once upon a time" 4 32 1 vote [SLOT_STEPS]
#include <slotswift.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

// streaming: each sampled token with the text it completed (not NUL-terminated); non-zero cancels
static int on_token(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float logprob) {
    (void)ud; (void)req; (void)tok; (void)logprob;
    if (cand == 0) fwrite(piece, 1, n, stderr);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT N N_TOKENS SEED vote|logprob [SLOT_STEPS]\n", argv[0]);
        return 2;
    }
    const int N = atoi(argv[3]), n_tokens = atoi(argv[4]), method = ss_select_parse(argv[6]);
    if (N < 1 || n_tokens < 1 || (method != SS_SELECT_VOTE && method != SS_SELECT_LOGPROB)) {
        fprintf(stderr, "best_of: N and N_TOKENS >= 1, method vote or logprob\n");
        return 2;
    }
    char err[512];
    ss_model *m = ss_model_load(argv[1], err, sizeof err);
    if (!m) { fprintf(stderr, "best_of: %s\n", err); return 1; }
    ss_ctx_params cp;
    ss_ctx_params_default(&cp);
    cp.n_ctx = 512 + N * (n_tokens + 2);        // the KV cache holds the prompt and every candidate
    ss_ctx *c = ss_ctx_new(m, &cp, err, sizeof err);
    if (!c) { fprintf(stderr, "best_of: %s\n", err); ss_model_free(m); return 1; }
    int rc = 1;
    int T = ss_tokenize_prompt(ss_model_vocab(m), argv[2], NULL, 0);   // the count it needs
    ss_token *toks = malloc(sizeof(ss_token) * (T > 0 ? T : 1));
    char **answers = calloc(N, sizeof(char *));
    double *lp_mean = malloc(sizeof(double) * N);
    ss_gen_result res = {0};
    if (!toks || !answers || !lp_mean || ss_tokenize_prompt(ss_model_vocab(m), argv[2], toks, T) != T) {
        fprintf(stderr, "best_of: out of memory\n");
        goto done;
    }

    ss_gen_params gp;
    ss_gen_params_default(&gp);                  // sampling: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05
    gp.n_cand = N;
    gp.n_predict = n_tokens;
    gp.samp.seed = strtoull(argv[5], NULL, 10);  // candidate i samples with seed + i
    gp.slot.steps = argc > 7 ? atoi(argv[7]) : 0;   // SLOT on the prompt (0: off)
    gp.on_token = on_token;
    if (ss_gen_run(c, toks, T, &gp, &res, err, sizeof err)) { fprintf(stderr, "\nbest_of: %s\n", err); goto done; }
    fprintf(stderr, "\n");

    for (int i = 0; i < N; i++) {
        const ss_gen_cand *cd = &res.cand[i];
        answers[i] = ss_answer_extract(cd->text);   // NULL: no answer
        lp_mean[i] = cd->n_tokens ? cd->logprob_sum / cd->n_tokens : -INFINITY;
        fprintf(stderr, "candidate %d: %d tokens, answer %s, mean log-prob %.4f\n", i, cd->n_tokens,
                answers[i] ? answers[i] : "-", lp_mean[i]);
    }
    if (gp.slot.steps > 0)
        fprintf(stderr, "SLOT: loss %.6f -> %.6f\n", res.slot_losses[0], res.slot_loss_after);
    const int sel = ss_select_pick(method, (const char *const *)answers, lp_mean, NULL, NULL, N);
    printf("%s\n", res.cand[sel].text);
    rc = 0;
done:
    if (answers) for (int i = 0; i < N; i++) ss_free(answers[i]);
    free(answers); free(lp_mean); free(toks);
    ss_gen_result_free(&res);
    ss_ctx_free(c);
    ss_model_free(m);
    return rc;
}
