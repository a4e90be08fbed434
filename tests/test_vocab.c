// test_vocab.c — the tokenizers against llama.cpp's outputs:
//   * every vector of ../shared/tokenizers/*.inp/.out (llama.cpp's test-tokenizer-0 data; tokenized
//     there with add_special = false, parse_special = false) for each vocab GGUF;
//   * the prompt_tokens of every ../shared/golden/*.json (llama.cpp, parse_special = true, the
//     model's default BOS, prompt file text verbatim);
//   * detokenization round trips, streaming that never splits a UTF-8 character, invalid UTF-8,
//     special-token partitioning, hand-made vocabs whose results follow from the algorithms'
//     definitions, malformed tokenizer metadata, and the `tokenize` command.
// Runs from the project root (../shared).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "ss_vocab.h"
#include "ss_vocab_pre.h"
#include "cmds.h"
#include "ref_utf8.h"

#define TOKDIR "../shared/tokenizers/"

// ---------------------------------------------------------------------------------------------
// helpers

typedef struct { ss_gguf *g; ss_vocab *v; } loaded;

static loaded load_vocab(const char *path) {
    loaded l = {0};
    char err[SS_ERRLEN];
    if (ss_gguf_open(&l.g, path, err, sizeof err)) fail_msg("%s", err);
    if (ss_vocab_load(&l.v, l.g, err, sizeof err)) fail_msg("%s", err);
    return l;
}

static void unload(loaded *l) {
    ss_vocab_free(l->v);
    ss_gguf_close(l->g);
}

// tokenize into a malloc'ed array (count in *n); checks the "call again" contract on the way
static int32_t *tok(const ss_vocab *v, const char *text, size_t len, bool bos, bool special, int *n) {
    int k = ss_tokenize(v, text, len, bos, special, NULL, 0);
    assert_true(k >= 0);
    int32_t *t = malloc((size_t)(k + 1) * sizeof *t);
    t[k] = -12345;
    int k2 = ss_tokenize(v, text, len, bos, special, t, k);
    assert_int_equal(k, k2);
    assert_int_equal(t[k], -12345);
    for (int i = 0; i < k; i++) assert_true(t[i] >= 0 && t[i] < ss_vocab_n_tokens(v));
    *n = k;
    return t;
}

static bool ids_equal(const int32_t *a, int na, const int32_t *b, int nb) {
    if (na != nb) return false;
    for (int i = 0; i < na; i++) if (a[i] != b[i]) return false;
    return true;
}

static void print_ids(const char *what, const int32_t *t, int n) {
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", t[i]);
    fprintf(stderr, "\n");
}

// ---------------------------------------------------------------------------------------------
// llama.cpp test vectors: NAME.inp holds the inputs separated by "\n__ggml_vocab_test__\n"
// (test-tokenizer-0 splits on exactly that, so an input keeps its own newlines), NAME.out one
// line of ids per input.

typedef struct { char *text; size_t len; int32_t *ids; int n_ids; } vec;

static int read_vectors(const char *gguf, vec **out) {
    char path[512], err[SS_ERRLEN];
    size_t ilen, olen;
    snprintf(path, sizeof path, "%s.inp", gguf);
    char *inp = ss_read_file(path, &ilen, err, sizeof err);
    if (!inp) fail_msg("%s", err);
    snprintf(path, sizeof path, "%s.out", gguf);
    char *outs = ss_read_file(path, &olen, err, sizeof err);
    if (!outs) fail_msg("%s", err);
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sl = strlen(sep);
    vec *v = NULL;
    int n = 0;
    for (size_t pos = 0; pos < ilen; ) {
        char *next = strstr(inp + pos, sep);
        size_t end = next ? (size_t)(next - inp) : ilen;
        v = realloc(v, (n + 1) * sizeof *v);
        v[n].len = end - pos;
        v[n].text = ss_strndup(inp + pos, v[n].len);
        v[n].ids = NULL; v[n].n_ids = 0;
        n++;
        if (!next) break;
        pos = end + sl;
    }
    // outputs: one line each
    int line = 0;
    for (char *p = outs; *p && line < n; line++) {
        char *nl = strchr(p, '\n');
        char *e = nl ? nl : p + strlen(p);
        int cap = 16;
        v[line].ids = malloc(cap * sizeof(int32_t));
        for (char *q = p; q < e; ) {
            while (q < e && *q == ' ') q++;
            if (q >= e) break;
            if (v[line].n_ids == cap) { cap *= 2; v[line].ids = realloc(v[line].ids, cap * sizeof(int32_t)); }
            v[line].ids[v[line].n_ids++] = (int32_t)strtol(q, &q, 10);
        }
        p = nl ? nl + 1 : e;
    }
    assert_int_equal(line, n);          // as many output lines as inputs
    free(inp); free(outs);
    *out = v;
    return n;
}

static void free_vectors(vec *v, int n) {
    for (int i = 0; i < n; i++) { free(v[i].text); free(v[i].ids); }
    free(v);
}

// The vocabs with their GGUF. (ggml-vocab-llama-bpe.gguf.inp/.out have no vocab file in
// ../shared/tokenizers, so the llama3 pre-tokenizer is not covered by vectors.)
static const char *vocab_files[] = {
    TOKDIR "ggml-vocab-llama-spm.gguf",  TOKDIR "ggml-vocab-phi-3.gguf",
    TOKDIR "ggml-vocab-qwen2.gguf",      TOKDIR "ggml-vocab-gpt-2.gguf",
    TOKDIR "ggml-vocab-starcoder.gguf",  TOKDIR "ggml-vocab-falcon.gguf",
    TOKDIR "ggml-vocab-deepseek-llm.gguf", TOKDIR "ggml-vocab-deepseek-coder.gguf",
};
#define N_VOCABS (int)(sizeof(vocab_files) / sizeof(vocab_files[0]))

static void test_vectors(void **state) {
    const char *file = *state;
    loaded l = load_vocab(file);
    vec *v;
    int n = read_vectors(file, &v);
    assert_int_equal(n, 46);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int k;
        int32_t *t = tok(l.v, v[i].text, v[i].len, false, false, &k);
        if (!ids_equal(t, k, v[i].ids, v[i].n_ids)) {
            bad++;
            fprintf(stderr, "%s: vector %d [%s]\n", file, i, v[i].text);
            print_ids("expected", v[i].ids, v[i].n_ids);
            print_ids("got     ", t, k);
        }
        free(t);
    }
    free_vectors(v, n);
    unload(&l);
    assert_int_equal(bad, 0);
}

// ---------------------------------------------------------------------------------------------
// golden files: MODEL.PROMPT.json prompt_tokens == tokenize(prompts/PROMPT.txt verbatim,
// the model's default BOS, parse_special = true)

static void test_golden(void **state) {
    DIR *d = opendir("../shared/golden");
    assert_non_null(d);
    struct dirent *e;
    int checked = 0, bad = 0;
    char err[SS_ERRLEN];
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        size_t nl = strlen(name);
        if (nl < 6 || strcmp(name + nl - 5, ".json") || strstr(name, ".slot_")) continue;
        // MODEL.PROMPT.json
        char model[256], prompt[256];
        const char *dot = strchr(name, '.');
        if (!dot) continue;
        snprintf(model, sizeof model, "%.*s", (int)(dot - name), name);
        snprintf(prompt, sizeof prompt, "%.*s", (int)(nl - 5 - (size_t)(dot + 1 - name)), dot + 1);
        char mpath[512], ppath[512], jpath[512];
        snprintf(mpath, sizeof mpath, "../shared/models/%s.gguf", model);
        if (access(mpath, R_OK)) snprintf(mpath, sizeof mpath, "../shared/testbed/%s.gguf", model);
        snprintf(ppath, sizeof ppath, "../shared/golden/prompts/%s.txt", prompt);
        snprintf(jpath, sizeof jpath, "../shared/golden/%s", name);
        size_t tlen, jlen;
        char *text = ss_read_file(ppath, &tlen, err, sizeof err);
        char *js = ss_read_file(jpath, &jlen, err, sizeof err);
        assert_non_null(text);
        assert_non_null(js);
        cJSON *j = cJSON_Parse(js);
        assert_non_null(j);
        cJSON *pt = cJSON_GetObjectItem(j, "prompt_tokens");
        assert_true(cJSON_IsArray(pt));
        int ne = cJSON_GetArraySize(pt);
        int32_t *exp = malloc((ne + 1) * sizeof *exp);
        for (int i = 0; i < ne; i++) exp[i] = (int32_t)cJSON_GetArrayItem(pt, i)->valuedouble;
        loaded l = load_vocab(mpath);
        assert_int_equal(ss_vocab_n_tokens(l.v), cJSON_GetObjectItem(j, "n_vocab")->valueint);
        int k;
        int32_t *t = tok(l.v, text, tlen, ss_vocab_add_bos(l.v), true, &k);
        if (!ids_equal(t, k, exp, ne)) {
            bad++;
            fprintf(stderr, "%s (model %s)\n", name, mpath);
            print_ids("expected", exp, ne);
            print_ids("got     ", t, k);
        }
        checked++;
        free(t); free(exp); cJSON_Delete(j); free(js); free(text);
        unload(&l);
    }
    closedir(d);
    assert_true(checked >= 20);       // 28 files at the time of writing
    assert_int_equal(bad, 0);
}

// ---------------------------------------------------------------------------------------------
// detokenization round trips: for valid UTF-8 text, the streamed pieces of
// tokenize(text, no BOS, no special) are exactly the text, and every chunk is whole characters

static void check_roundtrip(const ss_vocab *v, const char *text, size_t len, const char *where) {
    int n;
    int32_t *t = tok(v, text, len, false, false, &n);
    size_t cap = len + 64 * (size_t)n + 64, m = 0;
    char *buf = malloc(cap);
    ss_detok d;
    ss_detok_begin(&d, v);
    for (int i = 0; i < n; i++) {
        char chunk[1024];
        int c = ss_detok_push(&d, v, t[i], chunk, sizeof chunk);
        assert_true(c >= 0);
        if (!ref_utf8_valid(chunk, c)) fail_msg("%s: chunk of token %d is not whole UTF-8 characters", where, i);
        memcpy(buf + m, chunk, c);
        m += c;
    }
    char tail[16];
    int c = ss_detok_flush(&d, tail, sizeof tail);
    assert_int_equal(c, 0);           // valid text: nothing left over
    if (m != len || memcmp(buf, text, len)) {
        fprintf(stderr, "%s: round trip differs\n  text: [%.*s]\n  back: [%.*s]\n", where, (int)len, text, (int)m, buf);
        fail();
    }
    free(buf);
    free(t);
}

static void test_roundtrip(void **state) {
    char err[SS_ERRLEN];
    size_t glen;
    char *gsm = ss_read_file("../shared/data/gsm8k_test.jsonl", &glen, err, sizeof err);
    assert_non_null(gsm);
    int texts = 0;
    for (int f = 0; f < N_VOCABS; f++) {
        loaded l = load_vocab(vocab_files[f]);
        vec *v;
        int n = read_vectors(vocab_files[f], &v);
        for (int i = 0; i < n; i++) {
            if (!ref_utf8_valid(v[i].text, v[i].len) || strstr(v[i].text, "\xe2\x96\x81")) continue;   // U+2581 decodes to ' ' in SPM
            check_roundtrip(l.v, v[i].text, v[i].len, vocab_files[f]);
            texts++;
        }
        free_vectors(v, n);
        // GSM8K lines (JSON text, digits, punctuation, escapes): 150 lines each
        const char *p = gsm;
        for (int i = 0; i < 150 && *p; i++) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            check_roundtrip(l.v, p, len, vocab_files[f]);
            texts++;
            p = nl ? nl + 1 : p + len;
        }
        unload(&l);
    }
    // one long text (64 KiB) through the largest vocab
    loaded q = load_vocab(TOKDIR "ggml-vocab-qwen2.gguf");
    size_t big = glen < 65536 ? glen : 65536;
    while (big > 0 && ((unsigned char)gsm[big] & 0xc0) == 0x80) big--;
    double t0 = ss_time();
    check_roundtrip(q.v, gsm, big, "qwen2 64 KiB");
    fprintf(stderr, "  round trips: %d texts; 64 KiB through qwen2 in %.0f ms\n", texts, (ss_time() - t0) * 1e3);
    unload(&q);
    free(gsm);
}

// a 4-byte emoji that the 512-token SPM vocab only has as byte-fallback tokens: the stream
// holds the first three bytes back and prints the character whole
static void test_stream_emoji(void **state) {
    loaded l = load_vocab("../shared/models/stories260K-f32.gguf");
    const ss_vocab *v = l.v;
    const char *text = "a\xf0\x9f\x99\x82" "b";    // a U+1F642 b
    int n;
    int32_t *t = tok(v, text, strlen(text), false, false, &n);
    // the emoji's bytes F0 9F 99 82 are the tokens <0xF0> <0x9F> <0x99> <0x82>
    int at = -1;
    for (int i = 0; i < n; i++) if (t[i] == ss_vocab_find(v, "<0xF0>")) at = i;
    assert_true(at >= 1 && at + 3 < n);
    assert_int_equal(t[at + 1], ss_vocab_find(v, "<0x9F>"));
    assert_int_equal(t[at + 2], ss_vocab_find(v, "<0x99>"));
    assert_int_equal(t[at + 3], ss_vocab_find(v, "<0x82>"));
    ss_detok d;
    ss_detok_begin(&d, v);
    char out[64], all[64];
    int m = 0;
    for (int i = 0; i < n; i++) {
        int c = ss_detok_push(&d, v, t[i], out, sizeof out);
        if (i >= at && i < at + 3) assert_int_equal(c, 0);          // held back
        if (i == at + 3) { assert_int_equal(c, 4); assert_memory_equal(out, "\xf0\x9f\x99\x82", 4); }
        memcpy(all + m, out, c); m += c;
    }
    assert_int_equal(ss_detok_flush(&d, out, sizeof out), 0);
    assert_int_equal(m, (int)strlen(text));
    assert_memory_equal(all, text, m);

    // a stream cut inside the character: flush returns the held bytes
    ss_detok_begin(&d, v);
    int c = ss_detok_push(&d, v, ss_vocab_find(v, "<0xF0>"), out, sizeof out);
    assert_int_equal(c, 0);
    c = ss_detok_push(&d, v, ss_vocab_find(v, "<0x9F>"), out, sizeof out);
    assert_int_equal(c, 0);
    c = ss_detok_flush(&d, out, sizeof out);
    assert_int_equal(c, 2);
    assert_memory_equal(out, "\xf0\x9f", 2);
    // a byte that cannot start a character is not held back
    c = ss_detok_push(&d, v, ss_vocab_find(v, "<0xFF>"), out, sizeof out);
    assert_int_equal(c, 1);
    // too small an output buffer: nothing consumed, the size needed
    ss_detok_push(&d, v, ss_vocab_find(v, "<0xE4>"), out, sizeof out);          // 1 byte pending
    int32_t once = ss_vocab_find(v, "\xe2\x96\x81" "Once");
    assert_true(once >= 0);
    c = ss_detok_push(&d, v, once, out, 3);
    assert_int_equal(c, 6);                                                       // E4 + " Once"
    c = ss_detok_push(&d, v, once, out, sizeof out);
    assert_int_equal(c, 6);
    assert_memory_equal(out, "\xe4 Once", 6);
    free(t);
    unload(&l);
}

// ---------------------------------------------------------------------------------------------
// invalid UTF-8: never crashes; llama.cpp's rules: for BPE an invalid byte is U+FFFD, for SPM
// it goes to byte fallback

static void test_invalid_utf8(void **state) {
    static const char *bad[] = {
        "\x80", ("a\x80" "b"), "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x99", "\xc0\x80", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "<|im_start|\xff>", "\xe2\x96", " \xe2\x96\x81\xff ",
    };
    for (int f = 0; f < N_VOCABS; f++) {
        loaded l = load_vocab(vocab_files[f]);
        uint64_t rng = 0x9e3779b97f4a7c15ULL + f;
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]) + 200; b++) {
            char rnd[64];
            const char *s;
            size_t len;
            if (b < sizeof(bad) / sizeof(bad[0])) { s = bad[b]; len = strlen(s); }
            else {
                len = (size_t)(b % 64);
                for (size_t i = 0; i < len; i++) { rng = rng * 6364136223846793005ULL + 1442695040888963407ULL; rnd[i] = (char)(rng >> 56); }
                s = rnd;
            }
            for (int sp = 0; sp < 2; sp++) {
                int n;
                int32_t *t = tok(l.v, s, len, sp, sp, &n);
                ss_detok d = {0};
                char out[1024];
                for (int i = 0; i < n; i++) assert_true(ss_detok_push(&d, l.v, t[i], out, sizeof out) >= 0);
                assert_true(ss_detok_flush(&d, out, sizeof out) >= 0);
                free(t);
            }
        }
        unload(&l);
    }
    // BPE: an invalid byte is tokenized as U+FFFD (EF BF BD)
    loaded q = load_vocab(TOKDIR "ggml-vocab-qwen2.gguf");
    const char *pairs[][2] = {{"\xff", "\xef\xbf\xbd"}, {("a\x80" "b"), ("a\xef\xbf\xbd" "b")},
                              {"x\xf0\x9f\x99", "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}};
    for (int i = 0; i < 3; i++) {
        int na, nb;
        int32_t *a = tok(q.v, pairs[i][0], strlen(pairs[i][0]), false, false, &na);
        int32_t *b = tok(q.v, pairs[i][1], strlen(pairs[i][1]), false, false, &nb);
        assert_true(ids_equal(a, na, b, nb));
        free(a); free(b);
    }
    unload(&q);
    // SPM: "\xff" -> U+2581 (the space prefix) and <0xFF>
    loaded s = load_vocab(TOKDIR "ggml-vocab-llama-spm.gguf");
    int n;
    int32_t *t = tok(s.v, "\xff", 1, false, false, &n);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], ss_vocab_find(s.v, "\xe2\x96\x81"));
    assert_int_equal(t[1], ss_vocab_find(s.v, "<0xFF>"));
    free(t);
    unload(&s);
}

// ---------------------------------------------------------------------------------------------
// special tokens

static void test_special(void **state) {
    // qwen2: ids of the Qwen2 tokenizer (tokenizer.json: <|endoftext|> 151643, <|im_start|> 151644,
    // <|im_end|> 151645, <|fim_pad|> 151662, <|repo_name|> 151663, <|file_sep|> 151664)
    loaded q = load_vocab(TOKDIR "ggml-vocab-qwen2.gguf");
    const char *chat = "<|im_start|>user\nHi<|im_end|>\n";
    int n;
    int32_t *t = tok(q.v, chat, strlen(chat), false, true, &n);
    assert_true(n >= 4);
    assert_int_equal(t[0], 151644);
    bool has_end = false;
    for (int i = 0; i < n; i++) has_end |= t[i] == 151645;
    assert_true(has_end);
    free(t);
    t = tok(q.v, chat, strlen(chat), false, false, &n);
    for (int i = 0; i < n; i++) assert_true(t[i] < 151643);
    free(t);
    assert_int_equal(ss_vocab_find(q.v, "<|im_start|>"), 151644);
    assert_int_equal(ss_vocab_find(q.v, "no such token \x01"), -1);
    assert_true(ss_vocab_is_eog(q.v, 151645));
    assert_true(ss_vocab_is_eog(q.v, 151643));
    assert_true(ss_vocab_is_eog(q.v, 151662) && ss_vocab_is_eog(q.v, 151663) && ss_vocab_is_eog(q.v, 151664));
    assert_false(ss_vocab_is_eog(q.v, 151644));
    assert_false(ss_vocab_is_eog(q.v, 9707));
    assert_false(ss_vocab_is_eog(q.v, -1));
    assert_false(ss_vocab_is_eog(q.v, 1 << 30));
    assert_true(ss_vocab_is_control(q.v, 151644));
    assert_int_equal(ss_vocab_eot(q.v), 151645);          // <|im_end|>: first of llama.cpp's EOT texts present
    assert_false(ss_vocab_add_bos(q.v));
    assert_int_equal(ss_vocab_kind(q.v), SS_VOCAB_BPE);
    assert_string_equal(ss_vocab_model_name(q.v), "gpt2");
    assert_string_equal(ss_vocab_pre_name(q.v), "qwen2");
    // truncated output: the count is the full count, only `max` ids are written
    int32_t few[3] = {-7, -7, -7};
    int k = ss_tokenize(q.v, chat, strlen(chat), false, true, few, 2);
    assert_true(k > 2);
    assert_int_equal(few[0], 151644);
    assert_int_equal(few[2], -7);
    unload(&q);

    // SPM: every text fragment gets the space prefix; "Hello world" is [15043, 3186] in
    // llama.cpp's ggml-vocab-llama-spm vectors (▁Hello ▁world), <s> is 1
    loaded s = load_vocab(TOKDIR "ggml-vocab-llama-spm.gguf");
    t = tok(s.v, "Hello<s>world", 13, false, true, &n);
    int32_t exp[] = {15043, 1, 3186};
    assert_true(ids_equal(t, n, exp, 3));
    free(t);
    t = tok(s.v, "Hello<s>world", 13, false, false, &n);
    for (int i = 0; i < n; i++) assert_int_not_equal(t[i], 1);
    free(t);
    t = tok(s.v, "Hello world", 11, true, false, &n);
    int32_t exp2[] = {1, 15043, 3186};
    assert_true(ids_equal(t, n, exp2, 3));
    free(t);
    assert_int_equal(ss_vocab_kind(s.v), SS_VOCAB_SPM);
    assert_true(ss_vocab_add_bos(s.v));
    assert_int_equal(ss_vocab_bos(s.v), 1);
    assert_int_equal(ss_vocab_eos(s.v), 2);
    assert_true(ss_vocab_is_eog(s.v, 2));
    assert_false(ss_vocab_is_eog(s.v, 1));
    unload(&s);

    // phi-3: "</s>" is a user-defined token (type 4), so it is split out even without
    // parse_special, and llama.cpp strips the whitespace after it (rstrip for Phi-3 models)
    loaded p = load_vocab(TOKDIR "ggml-vocab-phi-3.gguf");
    int na, nb;
    int32_t *a = tok(p.v, "a</s> b", 7, false, false, &na);
    int32_t *b = tok(p.v, "a</s>b", 6, false, false, &nb);
    assert_true(ids_equal(a, na, b, nb));
    bool has2 = false;
    for (int i = 0; i < na; i++) has2 |= a[i] == 2;
    assert_true(has2);
    free(a); free(b);
    unload(&p);
}

static void test_pieces(void **state) {
    loaded s = load_vocab(TOKDIR "ggml-vocab-llama-spm.gguf");
    char buf[64];
    memset(buf, '#', sizeof buf);
    assert_int_equal(ss_token_to_piece(s.v, 15043, buf, sizeof buf, false), 6);
    assert_memory_equal(buf, " Hello", 6);
    memset(buf, '#', sizeof buf);
    assert_int_equal(ss_token_to_piece(s.v, 15043, buf, 3, false), 6);           // too small: nothing written
    assert_int_equal(buf[0], '#');
    assert_int_equal(ss_token_to_piece(s.v, 1, buf, sizeof buf, false), 0);      // control, not rendered
    assert_int_equal(ss_token_to_piece(s.v, 1, buf, sizeof buf, true), 3);
    assert_memory_equal(buf, "<s>", 3);
    assert_int_equal(ss_token_to_piece(s.v, ss_vocab_find(s.v, "<0x0A>"), buf, sizeof buf, false), 1);
    assert_int_equal(buf[0], '\n');
    assert_int_equal(ss_token_to_piece(s.v, -1, buf, sizeof buf, true), 0);
    assert_int_equal(ss_token_to_piece(s.v, 32000, buf, sizeof buf, true), 0);
    assert_string_equal(ss_vocab_token_text(s.v, 15043), "\xe2\x96\x81Hello");
    assert_null(ss_vocab_token_text(s.v, 32000));
    unload(&s);
    loaded g = load_vocab(TOKDIR "ggml-vocab-gpt-2.gguf");
    int32_t id = ss_vocab_find(g.v, "\xc4\xa0world");                            // "Ġworld"
    assert_true(id >= 0);
    assert_int_equal(ss_token_to_piece(g.v, id, buf, sizeof buf, false), 6);
    assert_memory_equal(buf, " world", 6);
    unload(&g);
}

// ---------------------------------------------------------------------------------------------
// hand-made vocabs: a minimal GGUF writer (independent of src/gguf.c's writer)

typedef struct { char *b; size_t n, cap; int n_kv; } gb;
static void gb_put(gb *g, const void *p, size_t n) {
    if (g->n + n > g->cap) { g->cap = (g->n + n) * 2 + 64; g->b = realloc(g->b, g->cap); }
    memcpy(g->b + g->n, p, n); g->n += n;
}
static void gb_u32(gb *g, uint32_t x) { gb_put(g, &x, 4); }
static void gb_u64(gb *g, uint64_t x) { gb_put(g, &x, 8); }
static void gb_s(gb *g, const char *s) { gb_u64(g, strlen(s)); gb_put(g, s, strlen(s)); }
static void gb_key(gb *g, const char *k, uint32_t type) { gb_s(g, k); gb_u32(g, type); g->n_kv++; }
static void kv_str(gb *g, const char *k, const char *v) { gb_key(g, k, SS_GGUF_STRING); gb_s(g, v); }
static void kv_u32(gb *g, const char *k, uint32_t v) { gb_key(g, k, SS_GGUF_UINT32); gb_u32(g, v); }
static void kv_bool(gb *g, const char *k, bool v) { gb_key(g, k, SS_GGUF_BOOL); uint8_t b = v; gb_put(g, &b, 1); }
static void kv_strs(gb *g, const char *k, const char **v, int n) {
    gb_key(g, k, SS_GGUF_ARRAY); gb_u32(g, SS_GGUF_STRING); gb_u64(g, n);
    for (int i = 0; i < n; i++) gb_s(g, v[i]);
}
static void kv_f32s(gb *g, const char *k, const float *v, int n) {
    gb_key(g, k, SS_GGUF_ARRAY); gb_u32(g, SS_GGUF_FLOAT32); gb_u64(g, n); gb_put(g, v, 4 * (size_t)n);
}
static void kv_i32s(gb *g, const char *k, const int32_t *v, int n) {
    gb_key(g, k, SS_GGUF_ARRAY); gb_u32(g, SS_GGUF_INT32); gb_u64(g, n); gb_put(g, v, 4 * (size_t)n);
}
// finish: header + kvs, no tensors; the buffer is returned (caller frees after closing)
static char *gb_finish(gb *g, size_t *len) {
    gb h = {0};
    gb_put(&h, "GGUF", 4); gb_u32(&h, 3); gb_u64(&h, 0); gb_u64(&h, g->n_kv);
    gb_put(&h, g->b, g->n);
    while (h.n % 32) gb_put(&h, "", 1);
    free(g->b);
    *len = h.n;
    return h.b;
}

// load a hand-made vocab; returns 0 or -1 (+err)
static int load_mem(gb *g, ss_gguf **gg, ss_vocab **v, char **buf, char *err) {
    size_t len;
    *buf = gb_finish(g, &len);
    if (ss_gguf_open_mem(gg, *buf, len, "mem.gguf", err, SS_ERRLEN)) fail_msg("gguf: %s", err);
    int rc = ss_vocab_load(v, *gg, err, SS_ERRLEN);
    return rc;
}

// BPE merges by rank: tokens a b ab Ġ, merge "a b"
static void test_tiny_bpe(void **state) {
    const char *toks[] = {"a", "b", "ab", "\xc4\xa0", "c"};
    const char *merges[] = {"a b"};
    gb g = {0};
    kv_str(&g, "tokenizer.ggml.model", "gpt2");
    kv_str(&g, "tokenizer.ggml.pre", "gpt-2");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 5);
    kv_strs(&g, "tokenizer.ggml.merges", merges, 1);
    ss_gguf *gg; ss_vocab *v; char *buf; char err[SS_ERRLEN];
    if (load_mem(&g, &gg, &v, &buf, err)) fail_msg("%s", err);
    struct { const char *text; int n; int32_t ids[4]; } cases[] = {
        {"ab", 1, {2}}, {"aab", 2, {0, 2}}, {"ba", 2, {1, 0}},
        {"a b", 3, {0, 3, 1}},          // words "a", " b" = "Ġb": no merge for (Ġ, b)
        {"abab", 2, {2, 2}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n;
        int32_t *t = tok(v, cases[i].text, strlen(cases[i].text), false, false, &n);
        if (!ids_equal(t, n, cases[i].ids, cases[i].n)) { print_ids(cases[i].text, t, n); fail(); }
        free(t);
    }
    assert_int_equal(ss_vocab_bos(v), -1);   // llama.cpp's BPE default (11) is out of range here
    ss_vocab_free(v); ss_gguf_close(gg); free(buf);
}

// SPM: the pair whose token has the higher score merges first
static void test_tiny_spm(void **state) {
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", ("\xe2\x96\x81" "a"), "ab"};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1};
    for (int variant = 0; variant < 2; variant++) {
        float scores[] = {0, 0, 0, -5, -5, -5, -1, variant ? -0.5f : -2};
        gb g = {0};
        kv_str(&g, "tokenizer.ggml.model", "llama");
        kv_strs(&g, "tokenizer.ggml.tokens", toks, 8);
        kv_f32s(&g, "tokenizer.ggml.scores", scores, 8);
        kv_i32s(&g, "tokenizer.ggml.token_type", types, 8);
        ss_gguf *gg; ss_vocab *v; char *buf; char err[SS_ERRLEN];
        if (load_mem(&g, &gg, &v, &buf, err)) fail_msg("%s", err);
        int n;
        int32_t *t = tok(v, "ab", 2, true, false, &n);
        // score(▁a) = -1 vs score(ab) = -2: [<s>, ▁a, b];  score(ab) = -0.5: [<s>, ▁, ab]
        int32_t e0[] = {1, 6, 5}, e1[] = {1, 3, 7};
        assert_true(ids_equal(t, n, variant ? e1 : e0, 3));
        free(t);
        // a character without a token and without byte tokens: <unk>
        t = tok(v, "c", 1, false, false, &n);
        int32_t e2[] = {3, 0};
        assert_true(ids_equal(t, n, e2, 2));
        free(t);
        ss_vocab_free(v); ss_gguf_close(gg); free(buf);
    }
}

// malformed tokenizer metadata: one-line errors naming the key
static void test_bad_metadata(void **state) {
    const char *toks[] = {"a", "b", "ab"};
    const char *dup[] = {"a", "b", "a"};
    const char *merges_ok[] = {"a b"}, *merges_bad[] = {"a b", "ab"};
    float scores[] = {0, 0};
    struct { const char *want; int kind; } cases[] = {
        {"tokenizer.ggml.model: missing", 0},
        {"tokenizer.ggml.model: unsupported tokenizer 'bert'", 1},
        {"tokenizer.ggml.merges: missing", 2},
        {"tokenizer.ggml.merges[1]", 3},
        {"duplicate token 'a'", 4},
        {"tokenizer.ggml.scores: 2 entries for 3 tokens", 5},
        {"tokenizer.ggml.tokens: expected an array of string", 6},
        {"tokenizer.ggml.pre: unknown pre-tokenizer 'nonesuch'", 7},
        {"tokenizer.ggml.bos_token_id: 99 is not a token id (the tokenizer has 3 tokens)", 8},
        {"tokenizer.ggml.model: expected a string", 9},
        {"tokenizer.ggml.tokens: missing", 10},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        gb g = {0};
        int k = cases[c].kind;
        if (k == 9) kv_u32(&g, "tokenizer.ggml.model", 1);
        else if (k != 0) kv_str(&g, "tokenizer.ggml.model", k == 1 ? "bert" : k == 5 ? "llama" : "gpt2");
        if (k == 7) kv_str(&g, "tokenizer.ggml.pre", "nonesuch");
        if (k == 6) kv_u32(&g, "tokenizer.ggml.tokens", 3);
        else if (k != 10) kv_strs(&g, "tokenizer.ggml.tokens", k == 4 ? dup : toks, 3);
        if (k == 3) kv_strs(&g, "tokenizer.ggml.merges", merges_bad, 2);
        else if (k != 2) kv_strs(&g, "tokenizer.ggml.merges", merges_ok, 1);
        if (k == 5) kv_f32s(&g, "tokenizer.ggml.scores", scores, 2);
        if (k == 8) { kv_u32(&g, "tokenizer.ggml.bos_token_id", 99); kv_bool(&g, "tokenizer.ggml.add_bos_token", true); }
        ss_gguf *gg; ss_vocab *v = NULL; char *buf; char err[SS_ERRLEN] = "";
        int rc = load_mem(&g, &gg, &v, &buf, err);
        assert_int_equal(rc, -1);
        assert_null(v);
        if (!strstr(err, cases[c].want) || !strstr(err, "mem.gguf") || strchr(err, '\n'))
            fail_msg("case %d: error '%s' lacks '%s'", k, err, cases[c].want);
        ss_gguf_close(gg); free(buf);
    }
}

// ---------------------------------------------------------------------------------------------
// the `tokenize` command (in-process, stdout/stderr captured)

static int run_cli(char *out, size_t outcap, const char *a0, ...) {
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 15; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char path[] = "/tmp/ss_test_vocab_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout); fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fd, 1); dup2(fd, 2);
    int rc = cmd_tokenize(argc, argv);
    fflush(stdout); fflush(stderr);
    dup2(so, 1); dup2(se, 2); close(so); close(se);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, out, outcap - 1);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return rc;
}

static void test_cli(void **state) {
    char out[8192];
    const char *st = "../shared/models/stories260K-f32.gguf";
    // golden stories260K-f32.story1.json: "Once upon a time" -> [1, 403, 407, 261, 378]
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-p", "Once upon a time", "--ids", NULL), 0);
    assert_string_equal(out, "[1, 403, 407, 261, 378]\n");
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-f", "../shared/golden/prompts/story1.txt", "--ids", "--no-bos", NULL), 0);
    assert_string_equal(out, "[403, 407, 261, 378]\n");
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-p", "Once", NULL), 0);
    assert_non_null(strstr(out, "     1 -> '<s>'\n"));
    assert_non_null(strstr(out, " -> ' Once'\n"));
    const char *q = TOKDIR "ggml-vocab-qwen2.gguf";
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", q, "-p", "<|im_end|>", "--ids", NULL), 0);
    assert_string_equal(out, "[151645]\n");
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", q, "-p", "<|im_end|>", "--ids", "--no-special", NULL), 0);
    assert_null(strstr(out, "151645"));
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", q, "-p", "", "--ids", NULL), 0);
    assert_string_equal(out, "[]\n");
    // errors: one line, exit 2 for usage, 1 for files
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-p", "x", NULL), 2);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, NULL), 2);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-p", "x", "-f", "y", NULL), 2);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-p", "x", "--bogus", NULL), 2);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-p", NULL), 2);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", "/nonexistent.gguf", "-p", "x", NULL), 1);
    assert_non_null(strstr(out, "/nonexistent.gguf"));
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", st, "-f", "/nonexistent.txt", NULL), 1);
    assert_int_equal(run_cli(out, sizeof out, "tokenize", "-m", "../shared/data/gsm8k_test.jsonl", "-p", "x", NULL), 1);
    assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);   // one line
}

// ---------------------------------------------------------------------------------------------
// llama.cpp splits gpt2 and llama3 text with hand-written code (unicode.cpp,
// unicode_regex_split_custom_gpt2 / _llama3), not a regex engine. Below is that code's logic
// ported to C (code point classes from PCRE2's Unicode tables, White_Space from the Unicode
// list); the PCRE2 pre-tokenizer must split exactly as it does. (No llama-bpe vocab is in
// ../shared, so this is the check of the llama3 splitter.)

typedef struct { pcre2_code *L, *N; pcre2_match_data *md; } cpt_classes;

static bool cls_match(const cpt_classes *c, pcre2_code *re, uint32_t cpt) {
    char u[4];
    int n = ss_vocab_utf8_encode(cpt, u);
    return pcre2_match(re, (PCRE2_SPTR)u, n, 0, PCRE2_ANCHORED, c->md, NULL) >= 0;
}

typedef struct { bool ok, letter, number, space; } cpt_flags;   // ok: position inside the piece

static cpt_flags flags_at(const cpt_classes *c, const uint32_t *cp, size_t end, size_t pos) {
    cpt_flags f = {0};
    if (pos >= end) return f;
    uint32_t x = cp[pos];
    f.ok = true;
    f.space = (x >= 9 && x <= 13) || x == 0x20 || x == 0x85 || x == 0xa0 || x == 0x1680 || (x >= 0x2000 && x <= 0x200a) ||
              x == 0x2028 || x == 0x2029 || x == 0x202f || x == 0x205f || x == 0x3000;
    f.letter = cls_match(c, c->L, x);
    f.number = cls_match(c, c->N, x);
    return f;
}

static uint32_t lower_ascii(uint32_t x) { return x >= 'A' && x <= 'Z' ? x + 32 : x; }

// returns the word lengths (in code points) of cp[0..n)
static size_t custom_split(const cpt_classes *c, const uint32_t *cp, size_t n, bool llama3, size_t *lens) {
    size_t nw = 0, prev = 0;
#define ADD(e) do { if ((e) > prev) lens[nw++] = (e) - prev; prev = (e); } while (0)
#define CPT(p) ((p) < n ? cp[p] : 0xFFFFFFFFu)
#define FL(p) flags_at(c, cp, n, (p))
    for (size_t pos = 0; pos < n; ) {
        uint32_t x = cp[pos];
        cpt_flags f = FL(pos);
        if (x == '\'' && pos + 1 < n) {                             // 's 't 're 've 'm 'll 'd
            uint32_t a = llama3 ? lower_ascii(CPT(pos + 1)) : CPT(pos + 1);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') { ADD(pos + 2); pos += 2; continue; }
            if (pos + 2 < n) {
                uint32_t b2 = llama3 ? lower_ascii(CPT(pos + 2)) : CPT(pos + 2);
                if ((a == 'r' && b2 == 'e') || (a == 'v' && b2 == 'e') || (a == 'l' && b2 == 'l')) { ADD(pos + 3); pos += 3; continue; }
            }
        }
        if (llama3) {
            if (!(x == '\r' || x == '\n' || f.number) && (f.letter || FL(pos + 1).letter)) {   // [^\r\n\p{L}\p{N}]?\p{L}+
                pos++;
                while (FL(pos).letter) pos++;
                ADD(pos); continue;
            }
            if (f.number) {                                          // \p{N}{1,3}
                size_t ini = pos;
                while (FL(pos).number) if (++pos - ini >= 3) { ADD(pos); ini = pos; }
                ADD(pos); continue;
            }
            cpt_flags f2 = x == ' ' ? FL(pos + 1) : f;                // ?[^\s\p{L}\p{N}]+[\r\n]*
            if (!(f2.space || f2.letter || f2.number) && f.ok) {
                pos += x == ' ';
                while (!(f2.space || f2.letter || f2.number) && f2.ok) f2 = FL(++pos);
                while (CPT(pos) == '\r' || CPT(pos) == '\n') pos++;
                ADD(pos); continue;
            }
        } else {
            cpt_flags f2 = x == ' ' ? FL(pos + 1) : f;
            if (f2.letter) { pos += x == ' '; while (f2.letter) f2 = FL(++pos); ADD(pos); continue; }
            if (f2.number) { pos += x == ' '; while (f2.number) f2 = FL(++pos); ADD(pos); continue; }
            if (!(f2.space || f2.letter || f2.number) && f2.ok) {
                pos += x == ' ';
                while (!(f2.space || f2.letter || f2.number) && f2.ok) f2 = FL(++pos);
                ADD(pos); continue;
            }
        }
        size_t nws = 0, last_rn = 0;
        while (FL(pos + nws).space) {
            if (llama3 && (CPT(pos + nws) == '\r' || CPT(pos + nws) == '\n')) last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) { pos = last_rn; ADD(pos); continue; }               // \s*[\r\n]+
        if (nws > 1 && CPT(pos + nws) != 0xFFFFFFFFu) { pos += nws - 1; ADD(pos); continue; }   // \s+(?!\S)
        if (nws > 0) { pos += nws; ADD(pos); continue; }                     // \s+
        pos++; ADD(pos);                                                      // no match
    }
#undef ADD
#undef CPT
#undef FL
    return nw;
}

static void check_split(const cpt_classes *c, const ss_vocab_pre *pre, bool llama3, const char *text, size_t len,
                        ss_vocab_pre_words *w) {
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    size_t n = 0;
    for (size_t i = 0; i < len; ) cp[n++] = ss_vocab_utf8_decode(text, len, &i);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    size_t nw = custom_split(c, cp, n, llama3, lens);
    ss_vocab_pre_split(pre, text, len, w);
    bool same = nw == w->n_words;
    // compare the byte-level-encoded words
    size_t ci = 0, bstart = 0;
    for (size_t k = 0; same && k < nw; k++) {
        char enc[1024];
        size_t el = 0;
        for (size_t j = 0; j < lens[k] && el + 16 < sizeof enc; j++, ci++) {
            char u[4];
            int nb = ss_vocab_utf8_encode(cp[ci], u);
            for (int b = 0; b < nb; b++) el += ss_vocab_utf8_encode(ss_vocab_byte_to_cpt((uint8_t)u[b]), enc + el);
        }
        size_t wl = w->ends[k] - bstart;
        same = wl == el && !memcmp(w->bytes + bstart, enc, el);
        bstart = w->ends[k];
    }
    if (!same) {
        fprintf(stderr, "%s split differs for [%.*s]: custom %zu words, pcre2 %zu words\n", llama3 ? "llama3" : "gpt2",
                (int)len, text, nw, w->n_words);
        fail();
    }
    free(cp); free(lens);
}

static void test_custom_splitters(void **state) {
    int ec; PCRE2_SIZE eo;
    cpt_classes c;
    c.L = pcre2_compile((PCRE2_SPTR) "\\p{L}", PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    c.N = pcre2_compile((PCRE2_SPTR) "\\p{N}", PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    c.md = pcre2_match_data_create(1, NULL);
    assert_non_null(c.L); assert_non_null(c.N);
    ss_vocab_pre *pre[2];
    char err[256];
    assert_int_equal(ss_vocab_pre_create(&pre[0], "gpt-2", NULL, err, sizeof err), 0);
    assert_int_equal(ss_vocab_pre_create(&pre[1], "llama-bpe", NULL, err, sizeof err), 0);
    ss_vocab_pre_words w = {0};
    int texts = 0;
    // the vector texts, GSM8K lines
    vec *v;
    int n = read_vectors(TOKDIR "ggml-vocab-llama-bpe.gguf", &v);
    for (int i = 0; i < n; i++, texts++)
        for (int k = 0; k < 2; k++) check_split(&c, pre[k], k == 1, v[i].text, v[i].len, &w);
    free_vectors(v, n);
    size_t glen;
    char *gsm = ss_read_file("../shared/data/gsm8k_test.jsonl", &glen, err, sizeof err);
    assert_non_null(gsm);
    const char *p = gsm;
    for (int i = 0; i < 200 && *p; i++, texts++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        for (int k = 0; k < 2; k++) check_split(&c, pre[k], k == 1, p, len, &w);
        p = nl ? nl + 1 : p + len;
    }
    free(gsm);
    // random strings over characters where the rules meet
    static const char *alphabet[] = {"a", "Z", "S", "s", "t", "l", "e", "r", "v", "m", "d", "'", " ", "  ", "\n", "\r",
        "\t", "1", "7", "\xd9\xa3" /* Arabic-indic 3 */, "\xc2\xb2" /* superscript 2 */, "\xc3\xa9", "\xd0\x96",
        "\xe4\xb8\xad", "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\xa8", "\xc2\x85", ".", ",", "!", "(", "$", "_", "-",
        "\xf0\x9f\x99\x82", "\xcc\x81" /* combining acute */, "\xe2\x80\x8b" /* ZWSP */, "\x01", "\x80" /* invalid */};
    const int na = sizeof(alphabet) / sizeof(alphabet[0]);
    uint64_t rng = 12345;
    for (int it = 0; it < 3000; it++, texts++) {
        char buf[256];
        size_t len = 0;
        int parts = 1 + it % 24;
        for (int j = 0; j < parts; j++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *a = alphabet[(rng >> 33) % na];
            memcpy(buf + len, a, strlen(a));
            len += strlen(a);
        }
        for (int k = 0; k < 2; k++) check_split(&c, pre[k], k == 1, buf, len, &w);
    }
    fprintf(stderr, "  custom splitters: %d texts agree (gpt2, llama3)\n", texts);
    ss_vocab_pre_words_free(&w);
    ss_vocab_pre_free(pre[0]); ss_vocab_pre_free(pre[1]);
    pcre2_code_free(c.L); pcre2_code_free(c.N); pcre2_match_data_free(c.md);
}

// load time of the 151936-token Qwen2 vocab (target: well under 100 ms on an idle machine at
// -O2; the assertion only catches a gross regression, the time is printed)
static void test_load_time(void **state) {
    char err[SS_ERRLEN];
    ss_gguf *g;
    if (ss_gguf_open(&g, TOKDIR "ggml-vocab-qwen2.gguf", err, sizeof err)) fail_msg("%s", err);
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        ss_vocab *v;
        double t0 = ss_time();
        if (ss_vocab_load(&v, g, err, sizeof err)) fail_msg("%s", err);
        double dt = ss_time() - t0;
        if (dt < best) best = dt;
        ss_vocab_free(v);
    }
    fprintf(stderr, "  qwen2 vocab load: %.1f ms (best of 3)\n", best * 1e3);
    assert_true(best < 2.0);
    ss_gguf_close(g);
}

int main(void) {
    struct CMUnitTest tests[N_VOCABS + 16];
    int n = 0;
    for (int i = 0; i < N_VOCABS; i++) {
        tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_vectors, (void *)vocab_files[i]);
        tests[n].name = strrchr(vocab_files[i], '/') + 1;
        n++;
    }
    struct CMUnitTest rest[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_stream_emoji),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_special),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_tiny_bpe),
        cmocka_unit_test(test_tiny_spm),
        cmocka_unit_test(test_bad_metadata),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_custom_splitters),
        cmocka_unit_test(test_load_time),
    };
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) tests[n++] = rest[i];
    return _cmocka_run_group_tests("vocab", tests, n, NULL, NULL);
}
