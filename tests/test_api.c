// test_api.c — the public header's own entry points (include/slotswift.h only): API version,
// GGUF metadata with the buffer convention, the LM head on hidden rows (= the decode's logits,
// bit for bit), prompt tokenizing (BOS not doubled), chat rendering with the model's template
// (= ss_chat_render with the model's BOS/EOS texts), SLOT on a context (its errors), and the
// Best-of-N rules on hand-worked candidates.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "slotswift.h"

#define STORIES "../shared/models/stories260K-f32.gguf"
#define QWEN    "../shared/models/qwen2-synth-tiny-q4_k_m.gguf"

static ss_model *load(const char *path) {
    char err[512];
    ss_model *m = ss_model_load(path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    return m;
}

static void test_version_and_meta(void **st) {
    (void)st;
    assert_int_equal(ss_api_version(), SS_API_VERSION);
    ss_model *m = load(STORIES);
    char big[64], small[3] = {'x', 'y', 'z'};
    // general.architecture = "llama": 6 bytes with the NUL
    assert_int_equal(ss_model_meta_str(m, "general.architecture", big, sizeof big), 6);
    assert_string_equal(big, "llama");
    assert_int_equal(ss_model_meta_str(m, "general.architecture", small, sizeof small), 6);   // too small: untouched
    assert_memory_equal(small, "xyz", 3);
    assert_int_equal(ss_model_meta_str(m, "no.such.key", big, sizeof big), -1);
    assert_int_equal(ss_model_meta_str(m, "llama.block_count", big, sizeof big), -1);        // not a string
    assert_int_equal(ss_model_meta_int(m, "llama.block_count", -7), ss_model_hparams(m)->n_layer);
    assert_int_equal(ss_model_meta_int(m, "no.such.key", -7), -7);
    assert_true(ss_model_file_size(m) == 1185376);
    ss_model_free(m);
}

// the structs' growth rule (slotswift.h: fields are added at the end): every field a struct gained
// in API version 2 lies after all of its version-1 fields, so version 1's fields keep their offsets
#define AFTER(T, v1_last, v2_first) assert_true(offsetof(T, v2_first) > offsetof(T, v1_last))
static void test_struct_growth(void **st) {
    (void)st;
    AFTER(ss_ctx_params, force_scalar, kv_type_k);
    AFTER(ss_slot_params, kern, kl_max);
    AFTER(ss_slot_result, peak_bytes, kl);
    AFTER(ss_swift_spec, dim, conf);
    AFTER(ss_swift_train_params, ud, init);       // (they were inserted before the callbacks)
    AFTER(ss_swift_train_params, ud, select);
}
#undef AFTER

// logits of the last prompt token from ss_decode == ss_lm_head(its hidden state), bit for bit
static void test_lm_head(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    char err[512];
    ss_ctx *c = ss_ctx_new(m, NULL, err, sizeof err);
    assert_non_null(c);
    const ss_vocab *v = ss_model_vocab(m);
    ss_token toks[64];
    int T = ss_tokenize_prompt(v, "Once upon a time there was", toks, 64);
    assert_true(T > 2 && T <= 64);
    ss_batch b = ss_batch_new(T);
    int seq = ss_seq_new(c);
    for (int t = 0; t < T; t++) assert_int_equal(ss_batch_add(&b, seq, t, toks[t], t == T - 1 ? SS_OUT_LOGITS | SS_OUT_HIDDEN : 0), 0);
    assert_int_equal(ss_decode(c, &b), 0);
    int V = ss_model_hparams(m)->n_vocab;
    float *lg = malloc(sizeof(float) * V);
    assert_int_equal(ss_lm_head(c, ss_get_hidden(c, T - 1), 1, lg), 0);
    assert_memory_equal(lg, ss_get_logits(c, T - 1), sizeof(float) * V);
    assert_int_equal(ss_lm_head(c, NULL, 1, lg), -1);
    assert_true(strlen(ss_ctx_error(c)) > 0);
    free(lg);
    ss_batch_free(&b);
    ss_ctx_free(c);
    ss_model_free(m);
}

static void test_tokenize_prompt(void **st) {
    (void)st;
    ss_model *m = load(STORIES);               // SPM, adds BOS (id 1, "<s>")
    const ss_vocab *v = ss_model_vocab(m);
    ss_token a[32], b[32], one[1] = {-5};
    int na = ss_tokenize_prompt(v, "Hello", a, 32), nb = ss_tokenize_prompt(v, "<s>Hello", b, 32);
    assert_int_equal(a[0], ss_vocab_bos(v));
    assert_int_equal(na, nb);                   // the BOS written in the text is not doubled
    assert_memory_equal(a, b, sizeof(ss_token) * na);
    assert_int_equal(ss_tokenize_prompt(v, "Hello", one, 1), na);   // too small: the length needed
    // vocab-only loading gives the same tokenizer
    char err[512];
    ss_vocab *vf = ss_vocab_load_file(STORIES, err, sizeof err);
    assert_non_null(vf);
    assert_int_equal(ss_tokenize_prompt(vf, "Hello", b, 32), na);
    assert_memory_equal(a, b, sizeof(ss_token) * na);
    ss_vocab_free(vf);
    assert_null(ss_vocab_load_file("/nonexistent.gguf", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent.gguf"));
    ss_model_free(m);
}

static void test_chat(void **st) {
    (void)st;
    char err[512];
    ss_chat_msg msgs[] = { {"system", "Be brief."}, {"user", "Hi"} };
    ss_model *q = load(QWEN);                   // has a ChatML-family template
    assert_int_equal(ss_model_chat_family(q), SS_CHAT_CHATML);
    char *a = ss_model_chat_render(q, SS_CHAT_UNKNOWN, msgs, 2, true, err, sizeof err);
    assert_non_null(a);
    const ss_vocab *v = ss_model_vocab(q);
    char *b = ss_chat_render(SS_CHAT_CHATML, ss_model_chat_template(q), msgs, 2, true,
                             ss_vocab_token_text(v, ss_vocab_bos(v)), ss_vocab_token_text(v, ss_vocab_eos(v)), err, sizeof err);
    assert_non_null(b);
    assert_string_equal(a, b);
    assert_string_equal(a, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    ss_free(a); ss_free(b);
    ss_model_free(q);
    ss_model *s = load(STORIES);                // no template: an error, unless a family is named
    assert_null(ss_model_chat_render(s, SS_CHAT_UNKNOWN, msgs, 2, true, err, sizeof err));
    assert_non_null(strstr(err, "no tokenizer.chat_template"));
    a = ss_model_chat_render(s, SS_CHAT_LLAMA2, msgs + 1, 1, true, err, sizeof err);
    assert_non_null(a);
    assert_string_equal(a, "<s>[INST] Hi [/INST]");
    ss_free(a);
    ss_model_free(s);
}

static void test_slot_errors(void **st) {
    (void)st;
    ss_model *m = load(STORIES);
    char err[512];
    ss_ctx *c = ss_ctx_new(m, NULL, err, sizeof err);
    int D = ss_model_hparams(m)->n_embd, V = ss_model_hparams(m)->n_vocab;
    float *H = calloc((size_t)4 * D, sizeof(float)), *delta = malloc(sizeof(float) * D);
    ss_slot_params p;
    ss_slot_params_default(&p);
    ss_slot_result r = {0};
    ss_token bad[4] = {1, 2, V, 3}, ok[4] = {1, 2, 3, 4};
    assert_int_equal(ss_slot_run(c, &p, H, 4, bad, NULL, delta, &r), -1);
    assert_non_null(strstr(ss_ctx_error(c), "outside the vocabulary"));
    assert_int_equal(ss_slot_run(c, &p, H, 1, ok, NULL, delta, &r), -1);      // T < 2
    uint8_t none[4] = {0};
    assert_int_equal(ss_slot_run(c, &p, H, 4, ok, none, delta, &r), -1);     // the mask selects nothing
    float losses[3];
    r.loss_before = losses;
    assert_int_equal(ss_slot_run(c, &p, H, 4, ok, NULL, delta, &r), 0);
    // H = 0: the logits are W·delta; at delta = 0 every token has probability 1/V
    assert_float_equal(losses[0], logf((float)V), 1e-4);
    free(H); free(delta);
    ss_ctx_free(c);
    ss_model_free(m);
}

static void test_select(void **st) {
    (void)st;
    assert_int_equal(ss_select_parse("vote"), SS_SELECT_VOTE);
    assert_int_equal(ss_select_parse("nope"), -1);
    assert_string_equal(ss_select_name(SS_SELECT_SWIFT), "swift");
    assert_string_equal(ss_select_name(9), "?");
    // answers: 7, 1,000 (= 1000), none, 1000, 7, 1000.0  -> "1000" has 3 votes, "7" has 2
    const char *ans[] = {"7", "1,000", NULL, "1000", "7", "1000.0"};
    int votes[6];
    ss_select_votes(ans, 6, votes);
    int want[] = {2, 3, 0, 3, 2, 3};
    assert_memory_equal(votes, want, sizeof want);
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, ans, NULL, NULL, NULL, 6), 1);   // first of the majority
    int sub[] = {0, 2, 4, 5};                                                        // "7" x2 vs "1000.0" x1
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, ans, NULL, NULL, sub, 4), 0);
    int tie[] = {3, 4};                                                              // 1 vote each: the first
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, ans, NULL, NULL, tie, 2), 3);
    const char *noans[] = {NULL, NULL};
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, noans, NULL, NULL, NULL, 2), 0);
    double lp[] = {-1.5, -0.5, -0.2, -0.2, -3, -1};
    assert_int_equal(ss_select_pick(SS_SELECT_LOGPROB, NULL, lp, NULL, NULL, 6), 2);   // ties: the first
    assert_int_equal(ss_select_pick(SS_SELECT_LOGPROB, NULL, lp, NULL, sub, 4), 2);
    float sw[] = {0.1f, 0.9f, -2, 0.95f, 0.95f, 0};
    assert_int_equal(ss_select_pick(SS_SELECT_SWIFT, NULL, NULL, sw, NULL, 6), 3);
    assert_int_equal(ss_select_pick(SS_SELECT_FIRST, NULL, NULL, NULL, sub + 1, 3), 2);
    assert_int_equal(ss_select_pick(SS_SELECT_SWIFT, ans, lp, NULL, NULL, 6), -1);    // needs swift
    assert_int_equal(ss_select_pick(SS_SELECT_VOTE, ans, NULL, NULL, NULL, 0), -1);   // no candidate
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_meta),
        cmocka_unit_test(test_struct_growth),
        cmocka_unit_test(test_lm_head),
        cmocka_unit_test(test_tokenize_prompt),
        cmocka_unit_test(test_chat),
        cmocka_unit_test(test_slot_errors),
        cmocka_unit_test(test_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
