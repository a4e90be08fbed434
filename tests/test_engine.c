// test_engine.c — the step-wise engine: batch invariance (a seeded request gives the same tokens,
// texts, log-probabilities and SLOT losses alone through ss_gen_run, beside other requests that join
// and leave, with any prefill chunk size, with its prefix from the cache), cancellation freeing the
// KV pages, per-token callbacks in order, refused requests, and adaptive sampling within the
// candidates' sequences.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "slotswift.h"

// quantized weights (Q4_K/Q5_0/Q6_K/Q8_0): the prefill (panel) and decode (integer) kernels differ
#define MODEL "../shared/models/llama-synth-mini-q4_k_m.gguf"
#define T_MAIN 90                 // target prompt: more than SS_GEMM_PANEL_MIN_T rows
#define MAXTOK 64

static ss_model *g_model;

static int setup(void **st) {
    char err[512];
    g_model = ss_model_load(MODEL, err, sizeof err);
    if (!g_model) { fprintf(stderr, "%s\n", err); return -1; }
    return 0;
}
static int teardown(void **st) { ss_model_free(g_model); return 0; }

static ss_ctx *ctx(int n_ctx) {
    char err[512];
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = n_ctx; p.n_threads = 2; p.n_seq_max = 24; p.n_batch = 128;
    ss_ctx *c = ss_ctx_new(g_model, &p, err, sizeof err);
    if (!c) fail_msg("%s", err);
    return c;
}

// deterministic pseudo-random prompt tokens (avoiding the special ids 0..2)
static void make_prompt(int32_t *t, int n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (int i = 0; i < n; i++) { x = x * 1664525u + 1013904223u; t[i] = 3 + (int32_t)((x >> 8) % 31000); }
}

static void params(ss_gen_params *p, int n_cand, uint64_t seed, int n_predict) {
    ss_gen_params_default(p);
    p->n_cand = n_cand; p->n_predict = n_predict; p->ignore_eos = true;
    p->samp.temp = 0.9f; p->samp.top_k = 0; p->samp.top_p = 1.0f; p->samp.min_p = 0; p->samp.seed = seed;
}

// what the per-token callback saw
typedef struct {
    int n[4];
    int32_t tok[4][MAXTOK];
    float lp[4][MAXTOK];
    char text[4][2048];
    int cancel_after;          // > 0: return 1 when candidate 0 reached this many tokens
    int bad_order;
} seen;

static int on_token(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float lp) {
    seen *s = ud;
    if (cand < 0 || cand >= 4 || s->n[cand] >= MAXTOK) { s->bad_order = 1; return 0; }
    s->tok[cand][s->n[cand]] = tok;
    s->lp[cand][s->n[cand]] = lp;
    s->n[cand]++;
    strncat(s->text[cand], piece, n < 1000 ? n : 1000);
    return s->cancel_after > 0 && cand == 0 && s->n[0] >= s->cancel_after;
}

// bit-identical results
static void same_result(const ss_gen_result *a, const ss_gen_result *b) {
    assert_int_equal(a->n_cand, b->n_cand);
    for (int k = 0; k < a->n_cand; k++) {
        const ss_gen_cand *x = &a->cand[k], *y = &b->cand[k];
        assert_int_equal(x->n_tokens, y->n_tokens);
        assert_memory_equal(x->tokens, y->tokens, sizeof(int32_t) * x->n_tokens);
        assert_memory_equal(x->logprobs, y->logprobs, sizeof(float) * x->n_tokens);
        assert_string_equal(x->text, y->text);
        assert_memory_equal(&x->logprob_sum, &y->logprob_sum, sizeof(double));
        assert_memory_equal(&x->logprob_min, &y->logprob_min, sizeof(float));
        assert_int_equal(x->finish, y->finish);
    }
    assert_int_equal(a->slot_losses != NULL, b->slot_losses != NULL);
    if (a->slot_losses) {
        // (same number of steps: the caller used the same params)
        assert_memory_equal(a->slot_losses, b->slot_losses, sizeof(float) * 3);
        assert_memory_equal(&a->slot_loss_after, &b->slot_loss_after, sizeof(float));
    }
}

static ss_engine *engine(ss_ctx *c, int chunk, bool reuse) {
    char err[512];
    ss_engine_params ep;
    ss_engine_params_default(&ep);
    ep.prefill_chunk = chunk;
    ep.prefix_reuse = reuse;
    ss_engine *e = ss_engine_new(c, &ep, err, sizeof err);
    if (!e) fail_msg("%s", err);
    return e;
}

static int submit(ss_engine *e, const int32_t *t, int n, const ss_gen_params *p) {
    char err[512];
    int id = ss_engine_submit(e, t, n, p, err, sizeof err);
    if (id < 0) fail_msg("%s", err);
    return id;
}

static int step(ss_engine *e) {
    char err[512];
    int n = ss_engine_step(e, err, sizeof err);
    if (n < 0) fail_msg("%s", err);
    return n;
}

static void take(ss_engine *e, int id, ss_gen_result *r) {
    char err[512];
    int rc = ss_engine_take(e, id, r, err, sizeof err);
    if (rc != 1) fail_msg("take %d: %d %s", id, rc, err);
}

// the target request alone through ss_gen_run, then through engines with prefill chunks of
// 1, 7, 32, 64 tokens and the whole prompt: identical; the callback saw every token in order
static void run_chunks(int slot_steps) {
    ss_ctx *c = ctx(1024);
    char err[512];
    int32_t prompt[T_MAIN];
    make_prompt(prompt, T_MAIN, 1);
    ss_gen_params p;
    params(&p, 3, 11, 24);
    p.slot.steps = slot_steps;
    ss_gen_result base;
    assert_int_equal(ss_gen_run(c, prompt, T_MAIN, &p, &base, err, sizeof err), 0);
    assert_int_equal(ss_kv_pages_used(c), 0);
    if (slot_steps) assert_true(base.slot_losses[0] > base.slot_loss_after);
    const int chunks[] = { 1, 7, 32, 64, 0 };
    for (int ci = 0; ci < 5; ci++) {
        seen s;
        memset(&s, 0, sizeof s);
        ss_gen_params q = p;
        q.on_token = on_token; q.ud = &s;
        ss_engine *e = engine(c, chunks[ci], false);
        int id = submit(e, prompt, T_MAIN, &q);
        int steps = 0;
        while (step(e) > 0) steps++;
        // step calls: the prefill chunks, 23 more tokens; without SLOT the last chunk also has the
        // last prompt token and the first sampled token; with SLOT it does SLOT step 1, the other
        // SLOT steps take one step each, then one step for the last prompt token and first token
        const int prefill = chunks[ci] ? (T_MAIN - 1 + chunks[ci] - 1) / chunks[ci] : 1;
        assert_int_equal(steps + 1, prefill + slot_steps + 23);
        ss_gen_result r;
        assert_int_equal(ss_engine_poll(e, id), SS_REQ_DONE);
        take(e, id, &r);
        same_result(&base, &r);
        assert_false(s.bad_order);
        for (int k = 0; k < 3; k++) {            // callbacks: every token, in order, its log-prob, the text
            assert_int_equal(s.n[k], r.cand[k].n_tokens);
            assert_memory_equal(s.tok[k], r.cand[k].tokens, sizeof(int32_t) * s.n[k]);
            double sum = 0;
            for (int i = 0; i < s.n[k]; i++) sum += s.lp[k][i];
            assert_memory_equal(&sum, &r.cand[k].logprob_sum, sizeof(double));
            assert_string_equal(s.text[k], r.cand[k].text);
        }
        ss_gen_result_free(&r);
        ss_engine_free(e);
        assert_int_equal(ss_kv_pages_used(c), 0);
    }
    ss_gen_result_free(&base);
    ss_ctx_free(c);
}

static void test_chunks(void **st) { run_chunks(0); }
static void test_chunks_slot(void **st) { run_chunks(3); }

// the target request beside others that join and leave at different steps (one cancelled, one
// with SLOT, one short) and with prefill chunks of 7: identical to ss_gen_run alone
static void test_others(void **st) {
    ss_ctx *c = ctx(2048);
    char err[512];
    int32_t prompt[T_MAIN], o1[70], o2[20], o3[130];
    make_prompt(prompt, T_MAIN, 1);
    make_prompt(o1, 70, 2); make_prompt(o2, 20, 3); make_prompt(o3, 130, 4);
    for (int slot = 0; slot <= 3; slot += 3) {
        ss_gen_params p, q1, q2, q3;
        params(&p, 2, 42, 20);
        p.slot.steps = slot;
        params(&q1, 3, 5, 30);
        params(&q2, 1, 6, 4);
        params(&q3, 2, 7, 12);
        q3.slot.steps = 2;
        ss_gen_result base;
        assert_int_equal(ss_gen_run(c, prompt, T_MAIN, &p, &base, err, sizeof err), 0);
        for (int order = 0; order < 2; order++) {
            ss_engine *e = engine(c, 7, false);
            int a = submit(e, o1, 70, &q1), id = -1, b = -1, d = -1;
            if (order == 1) id = submit(e, prompt, T_MAIN, &p);
            for (int k = 0; step(e) > 0 || k < 12; k++) {
                if (k == 2) b = submit(e, o2, 20, &q2);
                if (k == 4 && order == 0) id = submit(e, prompt, T_MAIN, &p);
                if (k == 9) d = submit(e, o3, 130, &q3);
                if (k == 15) assert_int_equal(ss_engine_cancel(e, a), 0);
            }
            ss_gen_result r;
            take(e, id, &r);
            same_result(&base, &r);
            ss_gen_result_free(&r);
            assert_int_equal(ss_engine_poll(e, a), SS_REQ_CANCELLED);
            assert_int_equal(ss_engine_poll(e, b), SS_REQ_DONE);
            assert_int_equal(ss_engine_poll(e, d), SS_REQ_DONE);
            ss_engine_free(e);
            assert_int_equal(ss_kv_pages_used(c), 0);
        }
        ss_gen_result_free(&base);
    }
    ss_ctx_free(c);
}

// SWIFT features captured while generating (every layer, kept per candidate): the same bytes beside
// requests that capture none, with chunked prefill and a prefix from the cache
static void test_features(void **st) {
    ss_ctx *c = ctx(2048);
    char err[512];
    ss_swift_spec spec;
    assert_int_equal(ss_swift_spec_parse(&spec, "all", false, false, ss_model_hparams(g_model)->n_layer, ss_model_hparams(g_model)->n_embd,
                                         ss_model_hparams(g_model)->n_vocab, err, sizeof err), 0);
    int32_t prompt[T_MAIN], other[100];
    make_prompt(prompt, T_MAIN, 1);
    make_prompt(other, 100, 5);
    memcpy(other, prompt, sizeof(int32_t) * 60);
    ss_gen_params p, q;
    params(&p, 2, 21, 12);
    p.feat = &spec; p.keep_features = true;
    params(&q, 2, 22, 30);
    ss_gen_result base, r;
    assert_int_equal(ss_gen_run(c, prompt, T_MAIN, &p, &base, err, sizeof err), 0);
    ss_engine *e = engine(c, 7, true);
    int a = submit(e, other, 100, &q);
    for (int k = 0; k < 16; k++) step(e);         // other's prefill is done (and cached), it decodes
    int id = submit(e, prompt, T_MAIN, &p);
    while (step(e) > 0) {}
    take(e, id, &r);
    assert_int_equal(r.n_reused, 60);
    same_result(&base, &r);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(r.cand[k].n_feat_rows, base.cand[k].n_feat_rows);
        assert_memory_equal(r.cand[k].features, base.cand[k].features, sizeof(float) * spec.dim * base.cand[k].n_feat_rows);
    }
    ss_gen_result_free(&r);
    assert_int_equal(ss_engine_poll(e, a), SS_REQ_DONE);
    ss_engine_free(e);
    ss_gen_result_free(&base);
    ss_ctx_free(c);
}

// prefix reuse: a prompt sharing its first 50 tokens with an earlier one, and the same prompt
// again, take their prefix from the cache and give the same bits as computing it
static void test_prefix(void **st) {
    ss_ctx *c = ctx(2048);
    char err[512];
    int32_t prompt[T_MAIN], other[80];
    make_prompt(prompt, T_MAIN, 1);
    make_prompt(other, 80, 9);
    memcpy(other, prompt, sizeof(int32_t) * 50);     // a common "system prompt" of 50 tokens
    ss_gen_params p, q;
    params(&p, 2, 3, 16);
    params(&q, 1, 4, 8);
    ss_gen_result base;
    assert_int_equal(ss_gen_run(c, prompt, T_MAIN, &p, &base, err, sizeof err), 0);
    ss_engine *e = engine(c, 32, true);
    int a = submit(e, other, 80, &q);
    while (step(e) > 0) {}
    ss_gen_result r;
    take(e, a, &r);
    assert_int_equal(r.n_reused, 0);
    ss_gen_result_free(&r);
    ss_engine_state es;
    ss_engine_state_get(e, &es);
    assert_int_equal(es.n_cached_prefixes, 1);
    const int pages_cached = es.kv_pages_used;
    assert_true(pages_cached > 0);
    for (int rep = 0; rep < 2; rep++) {
        int id = submit(e, prompt, T_MAIN, &p);
        while (step(e) > 0) {}
        take(e, id, &r);
        assert_int_equal(r.n_reused, rep == 0 ? 50 : T_MAIN - 1);
        same_result(&base, &r);
        ss_gen_result_free(&r);
    }
    ss_engine_state_get(e, &es);
    assert_int_equal(es.reused_tokens, 50 + T_MAIN - 1);
    ss_engine_free(e);
    assert_int_equal(ss_kv_pages_used(c), 0);
    ss_gen_result_free(&base);
    ss_ctx_free(c);
}

// adaptive sampling uses no sequence beyond its candidates': a request with as many candidates as
// the context has sequences (n_seq_max 24) runs all its waves (no answers: every wave starts),
// also beside a cached prefix (the engine keeps one when a sequence is spare) and after it
static void test_adaptive_seqs(void **st) {
    ss_ctx *c = ctx(2048);
    int32_t prompt[20];
    make_prompt(prompt, 20, 5);
    for (int rep = 0; rep < 2; rep++) {
        ss_engine *e = engine(c, 0, rep == 1);
        ss_gen_params p;
        params(&p, rep == 0 ? 24 : 23, 7, 2);
        p.adaptive = 1;
        p.adaptive_conf = 1; p.adaptive_tokp = 1;   // rules 2, 3 off; no answers: rule 1 never stops
        p.stops = NULL;
        int id = submit(e, prompt, 20, &p);
        while (step(e) > 0) {}
        ss_gen_result r;
        assert_int_equal(ss_engine_poll(e, id), SS_REQ_DONE);
        take(e, id, &r);
        for (int i = 0; i < r.n_cand; i++) {
            assert_false(r.cand[i].stopped);
            assert_int_equal(r.cand[i].n_tokens, 2);
        }
        ss_gen_result_free(&r);
        ss_engine_state es;
        ss_engine_state_get(e, &es);
        assert_int_equal(es.n_cached_prefixes, rep);   // (rep 1: 23 candidates + the prefix = 24)
        ss_engine_free(e);
        assert_int_equal(ss_kv_pages_used(c), 0);
    }
    ss_ctx_free(c);
}

// cancel (by call and by the callback's return) frees the request's KV pages within the step
static void test_cancel(void **st) {
    ss_ctx *c = ctx(1024);
    int32_t prompt[T_MAIN];
    make_prompt(prompt, T_MAIN, 1);
    ss_engine *e = engine(c, 32, false);
    ss_gen_params p;
    params(&p, 3, 8, 40);
    const int before = ss_kv_pages_used(c);
    int id = submit(e, prompt, T_MAIN, &p);
    for (int k = 0; k < 8; k++) step(e);
    assert_int_equal(ss_engine_poll(e, id), SS_REQ_DECODE);
    ss_engine_state es;
    ss_engine_state_get(e, &es);
    assert_int_equal(es.n_running_seqs, 3);
    assert_true(es.kv_pages_used > before);
    assert_int_equal(ss_engine_cancel(e, id), 0);
    assert_int_equal(ss_kv_pages_used(c), before);
    ss_engine_state_get(e, &es);
    assert_int_equal(es.n_running_seqs, 0);
    assert_int_equal(es.n_finished, 1);
    ss_gen_result r;
    char err[512];
    assert_int_equal(ss_engine_take(e, id, &r, err, sizeof err), 1);
    for (int k = 0; k < 3; k++) assert_int_equal(r.cand[k].finish, SS_FINISH_CANCEL);
    ss_gen_result_free(&r);
    assert_int_equal(ss_engine_poll(e, id), -1);
    // a callback that returns non-zero after 5 tokens of candidate 0
    seen s;
    memset(&s, 0, sizeof s);
    s.cancel_after = 5;
    p.on_token = on_token; p.ud = &s;
    id = submit(e, prompt, T_MAIN, &p);
    while (step(e) > 0) {}
    assert_int_equal(ss_engine_poll(e, id), SS_REQ_CANCELLED);
    assert_int_equal(ss_kv_pages_used(c), before);
    assert_int_equal(ss_engine_take(e, id, &r, err, sizeof err), 1);
    assert_int_equal(r.cand[0].n_tokens, 5);
    assert_int_equal(r.cand[0].finish, SS_FINISH_CANCEL);
    ss_gen_result_free(&r);
    // forgetting a running request (take without a result) cancels it too
    s.cancel_after = 0;
    id = submit(e, prompt, T_MAIN, &p);
    for (int k = 0; k < 5; k++) step(e);
    assert_int_equal(ss_engine_take(e, id, NULL, err, sizeof err), 1);
    assert_int_equal(ss_kv_pages_used(c), before);
    assert_int_equal(step(e), 0);
    ss_engine_free(e);
    ss_ctx_free(c);
}

// refused requests: over the context, bad parameters, queue full; one message line each
// ss_gen_cand.logprobs[t] = log softmax(raw logits)[tokens[t]], recomputed in double precision from
// logits of the same tokens decoded one by one on a sequence of our own; their in-order double sum
// is logprob_sum and their minimum logprob_min
static void test_logprobs(void **st) {
    ss_ctx *c = ctx(1024);
    char err[512];
    int32_t prompt[20];
    make_prompt(prompt, 20, 3);
    ss_gen_params p;
    params(&p, 2, 5, 16);
    ss_gen_result r;
    assert_int_equal(ss_gen_run(c, prompt, 20, &p, &r, err, sizeof err), 0);
    const int V = ss_model_hparams(g_model)->n_vocab;
    for (int k = 0; k < 2; k++) {
        const ss_gen_cand *cd = &r.cand[k];
        assert_int_equal(cd->n_tokens, 16);
        int seq = ss_seq_new(c);
        ss_batch b = ss_batch_new(32);
        for (int t = 0; t < 19; t++) ss_batch_add(&b, seq, t, prompt[t], SS_ROW_PROMPT);
        assert_int_equal(ss_decode(c, &b), 0);
        double sum = 0;
        float mn = 0;
        for (int t = 0; t < cd->n_tokens; t++) {
            ss_batch_clear(&b);
            ss_batch_add(&b, seq, 19 + t, t == 0 ? prompt[19] : cd->tokens[t - 1], SS_ROW_GEN | SS_OUT_LOGITS);
            assert_int_equal(ss_decode(c, &b), 0);
            const float *lg = ss_get_logits(c, 0);
            double mx = -INFINITY, z = 0;
            for (int v = 0; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
            for (int v = 0; v < V; v++) z += exp((double)lg[v] - mx);
            const double want = (double)lg[cd->tokens[t]] - mx - log(z);
            assert_true(fabs(cd->logprobs[t] - want) < 1e-5);
            sum += cd->logprobs[t];
            if (t == 0 || cd->logprobs[t] < mn) mn = cd->logprobs[t];
        }
        assert_memory_equal(&sum, &cd->logprob_sum, sizeof sum);
        assert_memory_equal(&mn, &cd->logprob_min, sizeof mn);
        ss_batch_free(&b);
        ss_seq_free(c, seq);
    }
    ss_gen_result_free(&r);
    ss_gen_result_free(&r);      // (a freed result is zeroed: freeing it again is harmless)
    ss_ctx_free(c);
}

static void test_refused(void **st) {
    ss_ctx *c = ctx(128);
    char err[512];
    int32_t prompt[200];
    make_prompt(prompt, 200, 1);
    ss_engine_params ep;
    ss_engine_params_default(&ep);
    ep.max_queue = 1;
    ss_engine *e = ss_engine_new(c, &ep, err, sizeof err);
    assert_non_null(e);
    ss_gen_params p;
    params(&p, 1, 1, 4);
    assert_int_equal(ss_engine_submit(e, prompt, 200, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not fit the context of 128 tokens"));
    assert_int_equal(ss_engine_submit(e, prompt, 0, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    int32_t bad[2] = { 5, 32000 };
    assert_int_equal(ss_engine_submit(e, bad, 2, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "position 1"));
    p.n_cand = 100;
    assert_int_equal(ss_engine_submit(e, prompt, 10, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "100 candidates"));
    p.n_cand = 1;
    p.slot.steps = 2;
    assert_int_equal(ss_engine_submit(e, prompt, 1, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "SLOT"));
    p.slot.steps = 0;
    assert_true(ss_engine_submit(e, prompt, 10, &p, err, sizeof err) >= 0);
    assert_int_equal(ss_engine_submit(e, prompt, 10, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "queue full"));
    assert_int_equal(ss_engine_cancel(e, 12345), -1);
    assert_int_equal(ss_engine_poll(e, 12345), -1);
    // a bad SLOT parameter fails the request (not the engine) with its message
    while (step(e) > 0) {}
    p.slot.steps = 2; p.slot.lr = -1;
    int id = ss_engine_submit(e, prompt, 10, &p, err, sizeof err);
    assert_true(id >= 0);
    while (step(e) > 0) {}
    assert_int_equal(ss_engine_poll(e, id), SS_REQ_FAILED);
    assert_int_equal(ss_engine_take(e, id, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "AdamW"));
    ss_engine_free(e);
    assert_int_equal(ss_kv_pages_used(c), 0);
    ss_ctx_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_chunks_slot),
        cmocka_unit_test(test_others),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_adaptive_seqs),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_logprobs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
