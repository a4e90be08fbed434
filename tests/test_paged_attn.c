// test_paged_attn.c — the blocked attention through the forward pass, on the paged KV cache with
// forks: 6 candidates forked from a 70-token prompt (3 pages; the third, partly filled, shared and
// then copied on write) decode 40 steps together across page boundaries (2 threads, prompt prefilled
// in chunks of 64, query windows shared by the candidates); each candidate's logits at every step
// equal, bit for bit, a single prefill of prompt + its tokens in a fresh context (1 thread, one
// window of 16 positions after another). F16 and Q8_0 caches. The model is F32 (tinymath), whose
// matrix products are the same row kernel in prefill and decode, so every difference would be the
// attention's.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "slotswift.h"
#include "ss_common.h"

#define MODEL "../shared/testbed/tinymath-f32.gguf"
enum { NP = 70, NC = 6, NS = 40 };

static ss_ctx *ctx(ss_model *m, int threads, int n_batch, int kv) {
    char err[SS_ERRLEN];
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = 512; p.n_threads = threads; p.n_batch = n_batch; p.n_seq_max = 16; p.kv_type_k = kv; p.kv_type_v = kv;
    ss_ctx *c = ss_ctx_new(m, &p, err, sizeof err);
    if (!c) fail_msg("%s", err);
    return c;
}

static int32_t prompt_tok(int i, int V) { return (int32_t)((i * 7919 + 13) % (V - 10) + 5); }
static int32_t cand_tok(int k, int i, int V) { return (int32_t)((k * 131 + i * 17 + 29) % (V - 10) + 5); }

static void test_forks_vs_prefill(void **st) {
    (void)st;
    char err[SS_ERRLEN];
    ss_model *m = ss_model_load(MODEL, err, sizeof err);
    if (!m) fail_msg("%s", err);
    const int V = ss_model_hparams(m)->n_vocab;
    const int kvs[2] = { SS_KV_F16, SS_KV_Q8_0 };
    float *got = malloc(sizeof(float) * NC * NS * V);
    for (int ki = 0; ki < 2; ki++) {
        // the candidates together: logits of candidate k after its step i at got[(k*NS + i)*V]
        ss_ctx *c = ctx(m, 2, 64, kvs[ki]);
        ss_batch b = ss_batch_new(NP);
        int s0 = ss_seq_new(c), seq[NC];
        for (int i = 0; i < NP; i++) ss_batch_add(&b, s0, i, prompt_tok(i, V), 0);
        assert_int_equal(ss_decode(c, &b), 0);
        seq[0] = s0;
        for (int k = 1; k < NC; k++) seq[k] = ss_seq_fork(c, s0);
        for (int i = 0; i < NS; i++) {
            ss_batch_clear(&b);
            for (int k = 0; k < NC; k++) ss_batch_add(&b, seq[k], NP + i, cand_tok(k, i, V), SS_OUT_LOGITS);
            assert_int_equal(ss_decode(c, &b), 0);
            for (int k = 0; k < NC; k++) memcpy(got + ((size_t)k * NS + i) * V, ss_get_logits(c, k), sizeof(float) * V);
        }
        ss_batch_free(&b);
        ss_ctx_free(c);
        // each alone, one prefill of prompt + its tokens
        ss_batch p = ss_batch_new(NP + NS);
        for (int k = 0; k < NC; k++) {
            ss_ctx *c1 = ctx(m, 1, 512, kvs[ki]);
            int s = ss_seq_new(c1);
            for (int i = 0; i < NP; i++) ss_batch_add(&p, s, i, prompt_tok(i, V), 0);
            for (int i = 0; i < NS; i++) ss_batch_add(&p, s, NP + i, cand_tok(k, i, V), SS_OUT_LOGITS);
            assert_int_equal(ss_decode(c1, &p), 0);
            for (int i = 0; i < NS; i++)
                if (memcmp(ss_get_logits(c1, NP + i), got + ((size_t)k * NS + i) * V, sizeof(float) * V))
                    fail_msg("KV type %d: candidate %d step %d: logits differ from the single prefill", kvs[ki], k, i);
            ss_batch_clear(&p);
            ss_ctx_free(c1);
        }
        ss_batch_free(&p);
    }
    free(got);
    ss_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_forks_vs_prefill) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
