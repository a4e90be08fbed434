// simple.c — the smallest program over libslotswift: load a model, tokenize a prompt, decode it,
// then generate greedily (a sampler with temperature 0) and print the text as it streams.
//
//   cc simple.c $(pkg-config --cflags --libs slotswift) -o simple
//   ./simple MODEL.gguf "Once upon a time" 32
#include <slotswift.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS]\n", argv[0]); return 2; }
    int n_gen = argc > 3 ? atoi(argv[3]) : 32;
    char err[512];
    ss_model *m = ss_model_load(argv[1], err, sizeof err);
    if (!m) { fprintf(stderr, "simple: %s\n", err); return 1; }
    ss_ctx *c = ss_ctx_new(m, NULL, err, sizeof err);
    if (!c) { fprintf(stderr, "simple: %s\n", err); ss_model_free(m); return 1; }
    const ss_vocab *v = ss_model_vocab(m);
    int n_vocab = ss_model_hparams(m)->n_vocab, rc = 1;

    // text -> tokens (buffer convention: the call returns the count it needs; call again if larger)
    int cap = 16;
    ss_token *toks = malloc(sizeof(ss_token) * cap);
    int T = ss_tokenize_prompt(v, argv[2], toks, cap);
    if (T > cap) { toks = realloc(toks, sizeof(ss_token) * T); T = ss_tokenize_prompt(v, argv[2], toks, T); }

    // greedy sampler: temperature 0 picks the argmax
    ss_sampling_params sp;
    ss_sampling_params_default(&sp);
    sp.temp = 0;
    ss_sampler *smp = ss_sampler_new(&sp, n_vocab);
    ss_batch b = ss_batch_new(T > 0 ? T : 1);
    int seq = ss_seq_new(c);
    ss_detok dt = {0};                           // zero-initialized: continues a text
    if (!smp || T < 1 || seq < 0) { fprintf(stderr, "simple: cannot start (empty prompt?)\n"); goto done; }

    // the prompt in one batch; logits of its last token only
    for (int t = 0; t < T; t++) ss_batch_add(&b, seq, t, toks[t], t == T - 1 ? SS_OUT_LOGITS : 0);
    if (ss_decode(c, &b)) { fprintf(stderr, "simple: %s\n", ss_ctx_error(c)); goto done; }
    const float *logits = ss_get_logits(c, T - 1);
    for (int g = 0; g < n_gen; g++) {
        ss_token tok = ss_sampler_sample(smp, logits, NULL);
        ss_sampler_accept(smp, tok);
        if (ss_vocab_is_eog(v, tok)) break;
        char piece[256];
        int n = ss_detok_push(&dt, v, tok, piece, sizeof piece);
        if (n > 0 && n <= (int)sizeof piece) fwrite(piece, 1, n, stdout);
        if (g + 1 == n_gen || ss_seq_len(c, seq) + 1 >= ss_ctx_n_ctx(c)) break;
        // the new token in, its logits out
        ss_batch_clear(&b);
        ss_batch_add(&b, seq, ss_seq_len(c, seq), tok, SS_OUT_LOGITS);
        if (ss_decode(c, &b)) { fprintf(stderr, "simple: %s\n", ss_ctx_error(c)); goto done; }
        logits = ss_get_logits(c, 0);
    }
    char tail[8];
    int n = ss_detok_flush(&dt, tail, sizeof tail);
    if (n > 0 && n <= (int)sizeof tail) fwrite(tail, 1, n, stdout);
    printf("\n");
    rc = 0;
done:
    ss_batch_free(&b);
    ss_sampler_free(smp);
    free(toks);
    ss_ctx_free(c);
    ss_model_free(m);
    return rc;
}
