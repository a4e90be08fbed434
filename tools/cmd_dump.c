// cmd_dump.c — `slotswift dump -m MODEL -f PROMPT_FILE [--top-k K] [--hidden] [-n N] [SLOT flags]`
// Prints one JSON object with the keys of ../shared/golden/*.json:
//   n_vocab, n_embd, prompt_tokens, topk (per prompt position the K best [id, logit]),
//   hidden (per position the final hidden state after the output norm; with --hidden),
//   greedy (argmax continuation, up to N tokens, including the end-of-generation token),
//   slot (with --slot-steps: loss_before_each_step, loss_after, delta; delta then applies to greedy).
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "cmds.h"
#include "tool.h"
#include "slot_span.h"

static void dump_usage(void) {
    printf("usage: slotswift dump -m MODEL (-f PROMPT_FILE | -p TEXT) [--top-k K] [--hidden] [-n N] [SLOT flags]\n\n");
    args_print_common_help();
}

// indices of the k largest values of x[n], best first
static void topk_indices(const float *x, int n, int k, int *idx) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m < k) m++;
        else if (x[i] <= x[idx[m - 1]]) continue;
        int j = m - 1;
        while (j > 0 && x[idx[j - 1]] < x[i]) { idx[j] = idx[j - 1]; j--; }
        idx[j] = i;
    }
}

int cmd_dump(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    a.n_predict = 32;
    int topk = 8;
    bool want_hidden = false;
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(argv[i], "--top-k")) { if (args_int(argc, argv, &i, 1, 1 << 20, &topk)) return 2; i++; }
        else if (!strcmp(argv[i], "--hidden")) { want_hidden = true; i++; }
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { dump_usage(); return 0; }
        else { fprintf(stderr, "slotswift dump: unknown flag '%s'\n", argv[i]); return 2; }
    }
    if (a.n_predict < 0) a.n_predict = 1 << 20;
    int prc;
    char *text = args_prompt_text(&a, &prc);
    if (!text) return prc;
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, 1, 1, &m, &c)) { free(text); return 1; }
    int rc = 1;
    char *prompt = tool_render_prompt(m, &a, text);
    int T = 0;
    int32_t *toks = NULL;
    float *H = NULL, *delta = NULL, *losses = NULL;
    uint8_t *mask = NULL;
    int *idx = NULL;
    ss_batch b = ss_batch_new(64);
    if (!prompt) goto done;
    toks = tool_tokenize_prompt(m, prompt, &T);
    const ss_hparams *hp = ss_model_hparams(m);
    int V = hp->n_vocab, D = hp->n_embd;
    if (T < 1) { fprintf(stderr, "slotswift dump: empty prompt\n"); goto done; }
    const int ctx = tool_ctx_seq(&a, m);
    if (T + (a.n_predict < (1 << 20) ? a.n_predict : 0) > ctx) {
        fprintf(stderr, "slotswift dump: prompt of %d tokens (+%d to generate) exceeds the context of %d tokens (-c)\n",
                T, a.n_predict, ctx);
        goto done;
    }
    if (topk > V) topk = V;
    int seq = ss_seq_new(c);
    bool slot = a.slot.steps > 0;
    H = tool_malloc(sizeof(float) * (size_t)T * D);
    idx = tool_malloc(sizeof(int) * topk);

    printf("{\"n_vocab\":%d,\"n_embd\":%d,\"prompt_tokens\":[", V, D);
    for (int t = 0; t < T; t++) printf(t ? ",%d" : "%d", toks[t]);
    printf("],\n\"topk\":[");
    // prefill in chunks of 64 positions: logits for top-k + hidden rows
    float *last_logits = tool_malloc(sizeof(float) * V);
    for (int t0 = 0; t0 < T; t0 += 64) {
        int n = T - t0 < 64 ? T - t0 : 64;
        ss_batch_clear(&b);
        for (int i = 0; i < n; i++) ss_batch_add(&b, seq, t0 + i, toks[t0 + i], SS_OUT_LOGITS | SS_OUT_HIDDEN);
        if (ss_decode(c, &b)) { fprintf(stderr, "slotswift dump: %s\n", ss_ctx_error(c)); free(last_logits); goto done; }
        for (int i = 0; i < n; i++) {
            const float *lg = ss_get_logits(c, i);
            memcpy(H + (size_t)(t0 + i) * D, ss_get_hidden(c, i), sizeof(float) * D);
            topk_indices(lg, V, topk, idx);
            printf("%s\n[", t0 + i ? "," : "");
            for (int k = 0; k < topk; k++) { printf(k ? ",[%d," : "[%d,", idx[k]); tool_json_float(stdout, lg[idx[k]]); printf("]"); }
            printf("]");
            if (t0 + i == T - 1) memcpy(last_logits, lg, sizeof(float) * V);
        }
    }
    printf("]");
    if (want_hidden) {
        printf(",\n\"hidden\":[");
        for (int t = 0; t < T; t++) {
            printf(t ? ",\n[" : "\n[");
            for (int z = 0; z < D; z++) { if (z) putchar(','); tool_json_float(stdout, H[(size_t)t * D + z]); }
            printf("]");
        }
        printf("]");
    }
    if (slot) {
        char err[SS_ERRLEN];
        if (T < 2) { fprintf(stderr, "slotswift dump: SLOT needs a prompt of at least 2 tokens\n"); free(last_logits); goto done; }
        mask = slot_span_mask(m, &a, text, prompt, toks, T, err, sizeof err);
        if (a.slot_span && !mask) { fprintf(stderr, "slotswift dump: --slot-span: %s\n", err); free(last_logits); goto done; }
        delta = tool_calloc(D, sizeof(float));
        losses = tool_calloc((size_t)a.slot.steps * 3 + 1, sizeof(float));
        ss_slot_result res = { .loss_before = losses, .kl = losses + a.slot.steps, .scale = losses + 2 * a.slot.steps };
        if (ss_slot_run(c, &a.slot, H, T, toks, mask, delta, &res)) {
            fprintf(stderr, "slotswift dump: SLOT: %s\n", ss_ctx_error(c)); free(last_logits); goto done;
        }
        printf(",\n\"slot\":{\"steps\":%d,\"lr\":", a.slot.steps); tool_json_float(stdout, a.slot.lr);
        printf(",\"loss_before_each_step\":[");
        for (int s = 0; s < res.steps_done; s++) { if (s) putchar(','); tool_json_float(stdout, losses[s]); }
        printf("],\"loss_after\":"); tool_json_float(stdout, res.loss_after);
        printf(",\"report\":");   // per step: loss before, mean KL after, step scale (+ kl_max, steps_done)
        tool_json_slot(stdout, &a.slot, res.steps_done, res.loss_before, res.kl, res.scale, res.loss_after, res.seconds);
        printf(",\"seconds\":"); tool_json_float(stdout, res.seconds);
        printf(",\"delta\":[");
        for (int z = 0; z < D; z++) { if (z) putchar(','); tool_json_float(stdout, delta[z]); }
        printf("]}");
        for (int s = 0; s < res.steps_done; s++)
            fprintf(stderr, "slot: step %d loss %.6f KL %.6g scale %g\n", s, losses[s], res.kl[s], res.scale[s]);
        fprintf(stderr, "slot: final loss %.6f, %.3f s\n", res.loss_after, res.seconds);
        ss_seq_set_delta(c, seq, delta);
        // first generated token: logits of the last prompt position with delta: (h + delta) · W^T
        float *hd = tool_malloc(sizeof(float) * D);
        for (int z = 0; z < D; z++) hd[z] = H[(size_t)(T - 1) * D + z] + delta[z];
        int lrc = ss_lm_head(c, hd, 1, last_logits);
        free(hd);
        if (lrc) { fprintf(stderr, "slotswift dump: %s\n", ss_ctx_error(c)); free(last_logits); goto done; }
    }
    // greedy continuation (includes the end-of-generation token)
    printf(",\n\"greedy\":[");
    const ss_vocab *voc = ss_model_vocab(m);
    for (int g = 0; g < a.n_predict; g++) {
        int32_t tok = ss_argmax(last_logits, V);
        printf(g ? ",%d" : "%d", tok);
        if (ss_vocab_is_eog(voc, tok) || ss_seq_len(c, seq) >= ctx || g + 1 == a.n_predict) break;
        ss_batch_clear(&b);
        ss_batch_add(&b, seq, ss_seq_len(c, seq), tok, SS_OUT_LOGITS);
        if (ss_decode(c, &b)) { fprintf(stderr, "slotswift dump: %s\n", ss_ctx_error(c)); free(last_logits); goto done; }
        memcpy(last_logits, ss_get_logits(c, 0), sizeof(float) * V);
    }
    printf("]}\n");
    free(last_logits);
    rc = 0;
done:
    ss_batch_free(&b);
    free(text); free(prompt); free(toks); free(H); free(delta); free(losses); free(mask); free(idx);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
