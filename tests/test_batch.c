// test_batch.c — the batch API and the paged KV cache: mixing sequences, prefill vs decode,
// forks sharing pages, per-sequence deltas, captured layers, errors that leave the cache unchanged,
// and SWIFT features (with the confidence features) captured while generating vs a teacher-forced pass.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "ss_model.h"
#include "slotswift.h"

#define STORIES "../shared/models/stories260K-f32.gguf"
#define TINYMATH "../shared/testbed/tinymath-f32.gguf"

static ss_model *load(const char *path) {
    char err[SS_ERRLEN];
    ss_model *m = ss_model_load(path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    return m;
}

static ss_ctx *ctx(ss_model *m, int n_ctx, int threads) {
    char err[SS_ERRLEN];
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = n_ctx; p.n_threads = threads; p.n_seq_max = 16; p.n_batch = 64;
    ss_ctx *c = ss_ctx_new(m, &p, err, sizeof err);
    if (!c) fail_msg("%s", err);
    return c;
}

static double max_diff(const float *a, const float *b, int n) {
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static const int32_t PA[] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432 };
static const int32_t PB[] = { 1, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426 };
#define NA ((int)(sizeof PA / sizeof PA[0]))
#define NB ((int)(sizeof PB / sizeof PB[0]))

// logits of the last token of toks[n] decoded alone (one prefill batch), into out[V]
static void alone(ss_model *m, const int32_t *toks, int n, const float *delta, float *out) {
    ss_ctx *c = ctx(m, 256, 1);
    ss_batch b = ss_batch_new(n);
    int s = ss_seq_new(c);
    if (delta) ss_seq_set_delta(c, s, delta);
    for (int i = 0; i < n; i++) ss_batch_add(&b, s, i, toks[i], i == n - 1 ? SS_OUT_LOGITS : 0);
    assert_int_equal(ss_decode(c, &b), 0);
    memcpy(out, ss_get_logits(c, n - 1), sizeof(float) * ss_model_hparams(m)->n_vocab);
    ss_batch_free(&b);
    ss_ctx_free(c);
}

// two prompts interleaved in one batch (and decoded token by token) == each alone
static void test_mixed_batch(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    int V = ss_model_hparams(m)->n_vocab;
    float *ra = malloc(sizeof(float) * V), *rb = malloc(sizeof(float) * V);
    alone(m, PA, NA, NULL, ra);
    alone(m, PB, NB, NULL, rb);
    ss_ctx *c = ctx(m, 256, 2);
    ss_batch b = ss_batch_new(8);
    int sa = ss_seq_new(c), sb = ss_seq_new(c);
    // interleave: B's whole prefill together with A's first half, then A token by token
    for (int i = 0; i < NB; i++) {
        ss_batch_add(&b, sb, i, PB[i], i == NB - 1 ? SS_OUT_LOGITS : 0);
        if (i < NA / 2) ss_batch_add(&b, sa, i, PA[i], 0);
    }
    assert_int_equal(ss_decode(c, &b), 0);
    int out_b = -1;
    for (int i = 0; i < b.n; i++) if (b.seq[i] == sb && b.pos[i] == NB - 1) out_b = i;
    assert_true(max_diff(ss_get_logits(c, out_b), rb, V) < 1e-4);
    for (int i = (NB < NA / 2 ? NB : NA / 2); i < NA; i++) {
        ss_batch_clear(&b);
        ss_batch_add(&b, sa, i, PA[i], SS_OUT_LOGITS);
        assert_int_equal(ss_decode(c, &b), 0);
    }
    assert_true(max_diff(ss_get_logits(c, 0), ra, V) < 1e-4);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
    free(ra); free(rb);
}

// a fork shares the prompt's pages; its continuation equals a fresh prefill of prompt + token
static void test_fork(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    int V = ss_model_hparams(m)->n_vocab;
    ss_ctx *c = ctx(m, 512, 2);
    ss_batch b = ss_batch_new(NA);
    int s0 = ss_seq_new(c);
    for (int i = 0; i < NA - 1; i++) ss_batch_add(&b, s0, i, PA[i], 0);
    assert_int_equal(ss_decode(c, &b), 0);
    int used = ss_kv_pages_used(c);
    int forks[4];
    for (int k = 0; k < 4; k++) forks[k] = ss_seq_fork(c, s0);
    assert_int_equal(ss_kv_pages_used(c), used);          // no copy of the prompt
    // each fork continues with a different token; all decode together
    int32_t next[4] = { PA[NA - 1], 300, 301, 302 };
    ss_batch_clear(&b);
    for (int k = 0; k < 4; k++) ss_batch_add(&b, forks[k], NA - 1, next[k], SS_OUT_LOGITS);
    assert_int_equal(ss_decode(c, &b), 0);
    assert_true(ss_kv_pages_used(c) <= used + 4);          // at most one private page each
    float *ref = malloc(sizeof(float) * V);
    int32_t *toks = malloc(sizeof(int32_t) * NA);
    memcpy(toks, PA, sizeof(int32_t) * NA);
    for (int k = 0; k < 4; k++) {
        toks[NA - 1] = next[k];
        alone(m, toks, NA, NULL, ref);
        assert_true(max_diff(ss_get_logits(c, k), ref, V) < 1e-4);
    }
    // the parent is untouched by its forks' writes (copy-on-write)
    ss_batch_clear(&b);
    ss_batch_add(&b, s0, NA - 1, PA[NA - 1], SS_OUT_LOGITS);
    assert_int_equal(ss_decode(c, &b), 0);
    alone(m, PA, NA, NULL, ref);
    assert_true(max_diff(ss_get_logits(c, 0), ref, V) < 1e-4);
    for (int k = 0; k < 4; k++) ss_seq_free(c, forks[k]);
    ss_seq_free(c, s0);
    assert_int_equal(ss_kv_pages_used(c), 0);
    free(ref); free(toks);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
}

// per-sequence delta: two sequences with different deltas in one batch == each alone with its delta
static void test_delta_per_sequence(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    int V = ss_model_hparams(m)->n_vocab, D = ss_model_hparams(m)->n_embd;
    float *d1 = calloc(D, sizeof(float)), *d2 = calloc(D, sizeof(float));
    for (int i = 0; i < D; i++) { d1[i] = 0.3f * sinf(i); d2[i] = -0.2f * cosf(3 * i); }
    float *r1 = malloc(sizeof(float) * V), *r2 = malloc(sizeof(float) * V), *r0 = malloc(sizeof(float) * V);
    alone(m, PB, NB, d1, r1);
    alone(m, PB, NB, d2, r2);
    alone(m, PB, NB, NULL, r0);
    assert_true(max_diff(r1, r0, V) > 1e-2);              // the delta matters
    ss_ctx *c = ctx(m, 256, 2);
    ss_batch b = ss_batch_new(2 * NB);
    int s1 = ss_seq_new(c), s2 = ss_seq_new(c);
    ss_seq_set_delta(c, s1, d1);
    ss_seq_set_delta(c, s2, d2);
    for (int i = 0; i < NB; i++) {
        ss_batch_add(&b, s1, i, PB[i], i == NB - 1 ? SS_OUT_LOGITS | SS_OUT_HIDDEN : 0);
        ss_batch_add(&b, s2, i, PB[i], i == NB - 1 ? SS_OUT_LOGITS : 0);
    }
    assert_int_equal(ss_decode(c, &b), 0);
    assert_true(max_diff(ss_get_logits(c, 2 * NB - 2), r1, V) < 1e-4);
    assert_true(max_diff(ss_get_logits(c, 2 * NB - 1), r2, V) < 1e-4);
    // logits = (h + delta) · W^T: check one row against the hidden state by hand
    const float *h = ss_get_hidden(c, 2 * NB - 2);
    float *hd = malloc(sizeof(float) * D), *lg = malloc(sizeof(float) * V);
    for (int i = 0; i < D; i++) hd[i] = h[i] + d1[i];
    for (int v = 0; v < V; v++) lg[v] = ss_dot_ref(m->output.type, (const char *)m->output.data + v * m->output.row_bytes, hd, D);
    assert_true(max_diff(lg, r1, V) < 1e-4);
    // a fork inherits the delta
    int s3 = ss_seq_fork(c, s1);
    assert_non_null(ss_seq_delta(c, s3));
    assert_true(max_diff(ss_seq_delta(c, s3), d1, D) == 0);
    free(hd); free(lg); free(d1); free(d2); free(r0); free(r1); free(r2);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
}

// errors: bad sequence / position / token, and a full cache, leave the cache unchanged
static void test_errors(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    ss_ctx *c = ctx(m, 40, 1);
    ss_batch b = ss_batch_new(64);
    int s = ss_seq_new(c);
    ss_batch_add(&b, s, 0, 1, 0);
    assert_int_equal(ss_decode(c, &b), 0);
    ss_batch_clear(&b); ss_batch_add(&b, s, 5, 1, 0);
    assert_int_equal(ss_decode(c, &b), -1);
    assert_non_null(strstr(ss_ctx_error(c), "position"));
    ss_batch_clear(&b); ss_batch_add(&b, s, 1, 99999, 0);
    assert_int_equal(ss_decode(c, &b), -1);
    assert_non_null(strstr(ss_ctx_error(c), "token"));
    ss_batch_clear(&b); ss_batch_add(&b, 7, 0, 1, 0);
    assert_int_equal(ss_decode(c, &b), -1);
    int used = ss_kv_pages_used(c);
    ss_batch_clear(&b);
    for (int i = 1; i < 60; i++) ss_batch_add(&b, s, i, 300, 0);
    assert_int_equal(ss_decode(c, &b), -1);               // over the context of 40
    assert_non_null(strstr(ss_ctx_error(c), "context"));
    assert_int_equal(ss_seq_len(c, s), 1);
    assert_int_equal(ss_kv_pages_used(c), used);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
}

// captured layers: HF numbering — 0 = embedding row, n_layer = the final normed hidden state
static void test_layers(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    int D = ss_model_hparams(m)->n_embd, L = ss_model_hparams(m)->n_layer;
    ss_ctx *c = ctx(m, 64, 1);
    int layers[3] = { 0, 2, L };
    assert_int_equal(ss_ctx_set_layers(c, layers, 3, false), 0);
    assert_int_equal(ss_ctx_layers_dim(c), 3 * D);
    int bad = L + 1;
    assert_int_equal(ss_ctx_set_layers(c, &bad, 1, false), -1);
    ss_batch b = ss_batch_new(4);
    int s = ss_seq_new(c);
    for (int i = 0; i < 4; i++) ss_batch_add(&b, s, i, PB[i], SS_OUT_LAYERS | SS_OUT_HIDDEN);
    assert_int_equal(ss_decode(c, &b), 0);
    float *e = malloc(sizeof(float) * D);
    for (int i = 0; i < 4; i++) {
        const float *x = ss_get_layers(c, i);
        ss_dequant_row(m->tok_embd.type, (const char *)m->tok_embd.data + PB[i] * m->tok_embd.row_bytes, e, D);
        assert_true(max_diff(x, e, D) == 0);
        assert_true(max_diff(x + 2 * D, ss_get_hidden(c, i), D) < 1e-6);
    }
    free(e);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
}

// SWIFT features captured while generating N candidates == a teacher-forced pass over prompt + response
static void test_features_teacher_forced(void **st) {
    (void)st;
    ss_model *m = load(TINYMATH);
    int V = ss_model_hparams(m)->n_vocab, L = ss_model_hparams(m)->n_layer;
    char err[SS_ERRLEN];
    ss_swift_spec spec;
    assert_int_equal(ss_swift_spec_parse(&spec, "all", false, false, L, ss_model_hparams(m)->n_embd, V, err, sizeof err), 0);
    ss_ctx *c = ctx(m, 512, 2);
    // "<|im_start|>user\n3 + 4 = ?<|im_end|>\n<|im_start|>assistant\n" as ids would need the tokenizer;
    // any token sequence works for the equality
    int32_t prompt[] = { 1022, 305, 10, 51, 32, 43, 32, 52, 1023, 10, 1022, 297, 10 };
    int T = (int)(sizeof prompt / sizeof prompt[0]);
    ss_gen_params gp;
    ss_gen_params_default(&gp);
    gp.n_predict = 24; gp.n_cand = 3; gp.samp.temp = 1.0f; gp.samp.top_k = 0; gp.samp.top_p = 1.0f; gp.samp.min_p = 0;
    gp.samp.seed = 7;
    gp.feat = &spec; gp.keep_features = true;
    ss_gen_result r;
    assert_int_equal(ss_gen_run(c, prompt, T, &gp, &r, err, sizeof err), 0);
    assert_int_equal(ss_kv_pages_used(c), 0);
    ss_ctx *c2 = ctx(m, 512, 1);
    assert_int_equal(ss_ctx_set_layers(c2, spec.layer, spec.n_layers, false), 0);
    for (int k = 0; k < 3; k++) {
        ss_gen_cand *cd = &r.cand[k];
        assert_int_equal(cd->n_feat_rows, cd->n_tokens);   // every sampled token incl. the last is fed
        ss_batch b = ss_batch_new(T + cd->n_tokens);
        int s = ss_seq_new(c2);
        for (int i = 0; i < T; i++) ss_batch_add(&b, s, i, prompt[i], i == T - 1 ? SS_OUT_LOGITS : 0);
        for (int i = 0; i < cd->n_tokens; i++) ss_batch_add(&b, s, T + i, cd->tokens[i], SS_OUT_LAYERS | SS_OUT_LOGITS);
        assert_int_equal(ss_decode(c2, &b), 0);
        for (int i = 0; i < cd->n_tokens; i++)
            assert_true(max_diff(ss_get_layers(c2, T + i), (const float *)cd->features + (size_t)i * spec.dim, spec.dim) < 1e-3);
        // the candidate's log-probabilities: sum and min of log_softmax(logits at t-1)[token t] (double)
        double lp_sum = 0, lp_min = 0;
        for (int i = 0; i < cd->n_tokens; i++) {
            const float *lg = ss_get_logits(c2, T + i - 1);
            double mx = lg[0], z = 0;
            for (int v = 1; v < V; v++) if (lg[v] > mx) mx = lg[v];
            for (int v = 0; v < V; v++) z += exp(lg[v] - mx);
            double lp = lg[cd->tokens[i]] - mx - log(z);
            lp_sum += lp;
            if (i == 0 || lp < lp_min) lp_min = lp;
        }
        assert_true(fabs(lp_sum - cd->logprob_sum) < 1e-3 * cd->n_tokens);
        assert_true(fabs(lp_min - cd->logprob_min) < 1e-3);
        ss_seq_free(c2, s);
        ss_batch_free(&b);
    }
    // confidence features (swift-conf): the same rows + [log p(token t), entropy of the distribution
    // token t was drawn from], both from the teacher-forced logits at t-1 in double
    ss_swift_spec cspec = spec;
    ss_swift_spec_set_conf(&cspec, true);
    assert_int_equal(cspec.dim, spec.dim + 2);
    ss_gen_result rc;
    gp.feat = &cspec;
    assert_int_equal(ss_gen_run(c, prompt, T, &gp, &rc, err, sizeof err), 0);
    gp.feat = &spec;
    for (int k = 0; k < 3; k++) {
        ss_gen_cand *cd = &rc.cand[k];
        assert_int_equal(cd->n_tokens, r.cand[k].n_tokens);   // the features do not change the sampling
        assert_int_equal(cd->n_feat_rows, cd->n_tokens);
        ss_batch b = ss_batch_new(T + cd->n_tokens);
        int s = ss_seq_new(c2);
        for (int i = 0; i < T; i++) ss_batch_add(&b, s, i, prompt[i], i == T - 1 ? SS_OUT_LOGITS : 0);
        for (int i = 0; i < cd->n_tokens; i++) ss_batch_add(&b, s, T + i, cd->tokens[i], SS_OUT_LAYERS | SS_OUT_LOGITS);
        assert_int_equal(ss_decode(c2, &b), 0);
        for (int i = 0; i < cd->n_tokens; i++) {
            const float *row = (const float *)cd->features + (size_t)i * cspec.dim;
            assert_true(max_diff(ss_get_layers(c2, T + i), row, spec.dim) < 1e-3);
            const float *lg = ss_get_logits(c2, T + i - 1);
            double mx = lg[0], z = 0, h = 0;
            for (int v = 1; v < V; v++) if (lg[v] > mx) mx = lg[v];
            for (int v = 0; v < V; v++) z += exp(lg[v] - mx);
            for (int v = 0; v < V; v++) { double lp = lg[v] - mx - log(z); h -= exp(lp) * lp; }
            double lp = lg[cd->tokens[i]] - mx - log(z);
            if (fabs(row[spec.dim] - lp) > 1e-3 || fabs(row[spec.dim + 1] - h) > 1e-3)
                fail_msg("cand %d token %d: conf features %g %g, teacher-forced %g %g", k, i, row[spec.dim], row[spec.dim + 1], lp, h);
        }
        ss_seq_free(c2, s);
        ss_batch_free(&b);
    }
    ss_gen_result_free(&rc);
    // same seed -> same candidates
    ss_gen_result r2;
    gp.keep_features = false;
    assert_int_equal(ss_gen_run(c, prompt, T, &gp, &r2, err, sizeof err), 0);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(r2.cand[k].n_tokens, r.cand[k].n_tokens);
        assert_memory_equal(r2.cand[k].tokens, r.cand[k].tokens, sizeof(int32_t) * r.cand[k].n_tokens);
    }
    ss_gen_result_free(&r); ss_gen_result_free(&r2);
    ss_ctx_free(c); ss_ctx_free(c2); ss_model_free(m);
}

// several prompts in one run (shared prefill batches, candidates decoding together), each with its
// own SLOT delta: the same losses, tokens and texts as each prompt alone
static void test_multi_prompt_slot(void **st) {
    (void)st;
    ss_model *m = load(TINYMATH);
    char err[SS_ERRLEN];
    ss_ctx *c = ctx(m, 512, 2);
    int32_t pa[] = { 1022, 305, 10, 51, 32, 43, 32, 52, 1023, 10, 1022, 297, 10 };
    int32_t pb[] = { 1022, 305, 10, 57, 32, 45, 32, 50, 32, 43, 32, 49, 1023, 10, 1022, 297, 10 };
    const int32_t *prompts[2] = { pa, pb };
    int lens[2] = { (int)(sizeof pa / sizeof pa[0]), (int)(sizeof pb / sizeof pb[0]) };
    ss_gen_params p[2];
    for (int q = 0; q < 2; q++) {
        ss_gen_params_default(&p[q]);
        p[q].n_predict = 20; p[q].n_cand = 2 + q; p[q].samp.temp = 0.9f; p[q].samp.seed = 100 + q;
        p[q].slot.steps = 3; p[q].slot.lr = 0.1f;
    }
    const ss_gen_params *pp[2] = { &p[0], &p[1] };
    ss_gen_result multi[2], alone_r;
    assert_int_equal(ss_gen_run_multi(c, 2, prompts, lens, pp, multi, err, sizeof err), 0);
    for (int q = 0; q < 2; q++) {
        assert_int_equal(ss_gen_run(c, prompts[q], lens[q], &p[q], &alone_r, err, sizeof err), 0);
        for (int s = 0; s < 3; s++) assert_true(fabs(multi[q].slot_losses[s] - alone_r.slot_losses[s]) < 1e-5);
        assert_true(fabs(multi[q].slot_loss_after - alone_r.slot_loss_after) < 1e-5);
        assert_true(multi[q].slot_losses[0] > multi[q].slot_loss_after);
        for (int k = 0; k < p[q].n_cand; k++) {
            assert_int_equal(multi[q].cand[k].n_tokens, alone_r.cand[k].n_tokens);
            assert_memory_equal(multi[q].cand[k].tokens, alone_r.cand[k].tokens, sizeof(int32_t) * alone_r.cand[k].n_tokens);
            assert_string_equal(multi[q].cand[k].text, alone_r.cand[k].text);
        }
        ss_gen_result_free(&alone_r);
    }
    // the two prompts got different deltas (SLOT is per sequence, not shared across the batch)
    assert_true(fabs(multi[0].slot_loss_after - multi[1].slot_loss_after) > 1e-6);
    ss_gen_result_free(&multi[0]); ss_gen_result_free(&multi[1]);
    assert_int_equal(ss_kv_pages_used(c), 0);
    ss_ctx_free(c); ss_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_delta_per_sequence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_features_teacher_forced),
        cmocka_unit_test(test_multi_prompt_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
