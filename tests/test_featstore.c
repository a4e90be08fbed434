// test_featstore.c — the SWIFT feature store (src/featstore.c): round trips (F32 exact, F16 within
// half-precision rounding), crash recovery on resume (partial index line, unindexed feature bytes,
// features cut mid-record, incomplete questions), meta mismatches, bad records and bad files.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ss_featstore.h"
#include "ss_quant.h"

static char root[256];
static uint64_t rs = 99;
static double urand(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (rs >> 11) * 0x1.0p-53; }

static void make_meta(ss_featstore_meta *m, bool f16) {
    memset(m, 0, sizeof *m);
    char err[SS_ERRLEN];
    snprintf(m->model_name, sizeof m->model_name, "tiny");
    m->model_fingerprint = 0xfedcba9876543210ULL;
    assert_int_equal(ss_swift_spec_parse(&m->spec, "last2", false, false, 4, 3, 50, err, sizeof err), 0);
    assert_int_equal(m->spec.dim, 6);
    m->f16 = f16;
    snprintf(m->collect, sizeof m->collect, "{\"temp\": 0.8, \"n\": 3, \"data\": \"gsm8k\"}");
}

// what a candidate was written with
typedef struct { int q, c, n_cand, T; float label; float *X; char text[64]; } cand_t;
typedef struct { cand_t c[256]; int n; } log_t;

static void append(ss_featstore *fs, log_t *L, int q, int c, int n_cand, int T) {
    cand_t *k = &L->c[L->n++];
    k->q = q; k->c = c; k->n_cand = n_cand; k->T = T;
    k->label = urand() < 0.5 ? 1.0f : 0.0f;
    k->X = malloc(((size_t)T * 6 + 1) * sizeof(float));
    for (int i = 0; i < T * 6; i++) k->X[i] = (float)((urand() - 0.5) * 8);
    snprintf(k->text, sizeof k->text, "q%d c%d: \"quoted\"\nline\t\\ \xc3\xa9", q, c);
    ss_featstore_rec r = { .question = q, .candidate = c, .n_cand = n_cand, .label = k->label,
                           .answer = "42", .reference = "4,2", .text = k->text };
    char err[SS_ERRLEN];
    if (ss_featstore_append(fs, &r, k->X, T, err, sizeof err)) fail_msg("append: %s", err);
}

static void free_log(log_t *L) { for (int i = 0; i < L->n; i++) free(L->c[i].X); L->n = 0; }

// drop the records of (q) from the log (they were removed by a resume)
static void forget_question(log_t *L, int q) {
    int o = 0;
    for (int i = 0; i < L->n; i++) {
        if (L->c[i].q == q) { free(L->c[i].X); continue; }
        L->c[o++] = L->c[i];
    }
    L->n = o;
}

static const cand_t *find(const log_t *L, int q, int c) {
    for (int i = 0; i < L->n; i++) if (L->c[i].q == q && L->c[i].c == c) return &L->c[i];
    return NULL;
}

// the store's content equals the log (F32 bitwise; F16 within half-precision rounding)
static void check_store(const char *dir, const log_t *L, bool f16) {
    ss_featstore_data d;
    char err[SS_ERRLEN];
    if (ss_featstore_read(&d, dir, err, sizeof err)) fail_msg("read: %s", err);
    assert_int_equal(d.n, L->n);
    assert_true(d.meta.f16 == f16);
    assert_int_equal(d.meta.spec.dim, 6);
    assert_string_equal(d.meta.model_name, "tiny");
    assert_true(d.meta.model_fingerprint == 0xfedcba9876543210ULL);
    for (int i = 0; i < d.n; i++) {
        const ss_featstore_entry *e = &d.entries[i];
        const ss_swift_example *x = &d.examples[i];
        const cand_t *k = find(L, e->question, e->candidate);
        if (!k) fail_msg("entry %d: (q %d, c %d) was never written", i, e->question, e->candidate);
        assert_int_equal(e->n_tokens, k->T);
        assert_int_equal(e->n_cand, k->n_cand);
        assert_true(e->label == k->label && x->label == k->label);
        assert_int_equal(x->question, k->q);
        assert_int_equal(x->T, k->T);
        assert_true(x->x_f16 == f16);
        assert_int_equal(e->offset % SS_FEATSTORE_ALIGN, 0);
        assert_int_equal(((uintptr_t)x->X) % SS_FEATSTORE_ALIGN, 0);   // mmap is page aligned
        assert_string_equal(e->text, k->text);
        assert_string_equal(e->answer, "42");
        assert_string_equal(e->reference, "4,2");
        for (int j = 0; j < k->T * 6; j++) {
            float want = k->X[j];
            if (!f16) {
                if (((const float *)x->X)[j] != want) fail_msg("entry %d value %d: %g != %g", i, j, ((const float *)x->X)[j], want);
            } else {
                float got = ss_fp16_to_fp32(((const uint16_t *)x->X)[j]);
                // half precision: 11 significant bits, round to nearest (values here are normal halves)
                if (fabsf(got - want) > fabsf(want) * 0x1.0p-11f + 0x1.0p-24f)
                    fail_msg("entry %d value %d: %g vs %g beyond half rounding", i, j, got, want);
            }
        }
    }
    ss_featstore_data_free(&d);
}

static void subdir(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", root, name); }

static long file_size(const char *dir, const char *name) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void append_bytes(const char *dir, const char *name, const void *b, size_t n) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

static int count_lines(const char *dir) {
    char p[400];
    snprintf(p, sizeof p, "%s/index.jsonl", dir);
    FILE *f = fopen(p, "rb");
    int n = 0, c, last = '\n';
    while ((c = fgetc(f)) != EOF) { if (c == '\n') n++; last = c; }
    fclose(f);
    assert_int_equal(last, '\n');   // no partial line left
    return n;
}

static void test_roundtrip(void **st) {
    (void)st;
    for (int f16 = 0; f16 < 2; f16++) {
        char dir[300], err[SS_ERRLEN];
        subdir(dir, sizeof dir, f16 ? "rt16" : "rt32");
        ss_featstore_meta m;
        make_meta(&m, f16);
        ss_featstore *fs;
        if (ss_featstore_open(&fs, dir, &m, false, err, sizeof err)) fail_msg("%s", err);
        log_t L = { .n = 0 };
        for (int q = 0; q < 5; q++)
            for (int c = 0; c < 3; c++) append(fs, &L, q * 7, c, 3, q == 2 && c == 1 ? 0 : 1 + (int)(urand() * 20));
        assert_int_equal(ss_featstore_count(fs), 15);
        assert_true(ss_featstore_has_question(fs, 14));
        assert_false(ss_featstore_has_question(fs, 1));
        assert_false(ss_featstore_has_question(fs, -1));
        assert_false(ss_featstore_has_question(fs, 1 << 30));
        ss_featstore_close(fs);
        check_store(dir, &L, f16);
        ss_featstore_data d;
        assert_int_equal(ss_featstore_read(&d, dir, err, sizeof err), 0);
        assert_int_equal(d.n_questions, 5);
        ss_featstore_data_free(&d);
        // the meta survives a round trip (collect in canonical form)
        ss_featstore_meta m2;
        assert_int_equal(ss_featstore_meta_read(&m2, dir, err, sizeof err), 0);
        assert_string_equal(m2.spec.layers, "last2");
        assert_int_equal(m2.spec.n_layers, 2);
        assert_int_equal(m2.spec.layer[0], 3);
        assert_non_null(strstr(m2.collect, "\"temp\":0.8"));
        // a fresh open of an existing store is refused
        assert_int_equal(ss_featstore_open(&fs, dir, &m, false, err, sizeof err), -1);
        assert_non_null(strstr(err, "resume"));
        // resume of a clean store changes nothing
        if (ss_featstore_open(&fs, dir, &m, true, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(ss_featstore_count(fs), 15);
        assert_true(ss_featstore_has_question(fs, 0));
        ss_featstore_close(fs);
        check_store(dir, &L, f16);
        free_log(&L);
    }
}

static void test_resume(void **st) {
    (void)st;
    char dir[300], err[SS_ERRLEN];
    subdir(dir, sizeof dir, "resume");
    ss_featstore_meta m;
    make_meta(&m, false);
    ss_featstore *fs;
    log_t L = { .n = 0 };
    if (ss_featstore_open(&fs, dir, &m, true, err, sizeof err)) fail_msg("%s", err);   // resume of nothing = new
    for (int q = 0; q < 2; q++)
        for (int c = 0; c < 3; c++) append(fs, &L, q, c, 3, 5 + q);
    append(fs, &L, 2, 0, 3, 4);      // question 2: 2 of 3 candidates, then the "crash"
    append(fs, &L, 2, 1, 3, 4);
    long good_end = file_size(dir, "features.bin");
    ss_featstore_close(fs);
    // the crash: features of a third candidate written but not indexed, and half of its index line
    char junk[200];
    memset(junk, 0x7f, sizeof junk);
    append_bytes(dir, "features.bin", junk, sizeof junk);
    const char *partial = "{\"q\":2,\"c\":2,\"n_cand\":3,\"lab";
    append_bytes(dir, "index.jsonl", partial, strlen(partial));
    // a reader ignores the partial line (and the unindexed bytes) but refuses the incomplete question 2
    ss_featstore_data d;
    assert_int_equal(ss_featstore_read(&d, dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "question 2 has 2 of its 3 candidates"));

    if (ss_featstore_open(&fs, dir, &m, true, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(ss_featstore_count(fs), 6);                  // question 2 dropped (incomplete)
    assert_true(ss_featstore_has_question(fs, 0));
    assert_true(ss_featstore_has_question(fs, 1));
    assert_false(ss_featstore_has_question(fs, 2));
    assert_int_equal(count_lines(dir), 6);
    forget_question(&L, 2);
    // features.bin now ends with question 1's last candidate: 6 records of T*6 floats, 64-aligned starts
    long want_end = 0;
    for (int i = 0; i < L.n; i++) want_end = ((want_end + 63) / 64) * 64 + (long)L.c[i].T * 6 * 4;
    assert_int_equal(file_size(dir, "features.bin"), want_end);
    assert_true(want_end < good_end);
    check_store(dir, &L, false);
    // the collector redoes question 2 and goes on
    for (int c = 0; c < 3; c++) append(fs, &L, 2, c, 3, 3 + c);
    for (int c = 0; c < 2; c++) append(fs, &L, 3, c, 2, 7);
    ss_featstore_close(fs);
    check_store(dir, &L, false);

    // features cut in the middle of the last record (question 3, candidate 1): the record and
    // then its whole question go
    long sz = file_size(dir, "features.bin");
    char p[400];
    snprintf(p, sizeof p, "%s/features.bin", dir);
    assert_int_equal(truncate(p, sz - 10), 0);
    assert_int_equal(ss_featstore_read(&d, dir, err, sizeof err), -1);   // the reader refuses the broken index
    assert_non_null(strstr(err, "beyond the end"));
    assert_null(strchr(err, '\n'));
    if (ss_featstore_open(&fs, dir, &m, true, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(ss_featstore_count(fs), 9);
    assert_false(ss_featstore_has_question(fs, 3));
    assert_true(ss_featstore_has_question(fs, 2));
    forget_question(&L, 3);
    append(fs, &L, 3, 0, 2, 2);
    append(fs, &L, 3, 1, 2, 9);
    ss_featstore_close(fs);
    check_store(dir, &L, false);
    assert_int_equal(count_lines(dir), 11);

    // resume with different settings is refused, naming the field
    ss_featstore_meta m2 = m;
    m2.model_fingerprint ^= 1;
    assert_int_equal(ss_featstore_open(&fs, dir, &m2, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "model_fingerprint"));
    m2 = m;
    m2.f16 = true;
    assert_int_equal(ss_featstore_open(&fs, dir, &m2, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "dtype"));
    m2 = m;
    snprintf(m2.collect, sizeof m2.collect, "{\"temp\":0.7}");
    assert_int_equal(ss_featstore_open(&fs, dir, &m2, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "collect"));
    m2 = m;
    snprintf(m2.collect, sizeof m2.collect, "{ \"temp\" : 0.8 , \"n\":3,\"data\":\"gsm8k\" }");   // same JSON, other spacing
    if (ss_featstore_open(&fs, dir, &m2, true, err, sizeof err)) fail_msg("%s", err);
    ss_featstore_close(fs);

    // a corrupt line in the middle is not silently dropped
    char ip[400];
    snprintf(ip, sizeof ip, "%s/index.jsonl", dir);
    size_t len;
    char *text = ss_read_file(ip, &len, err, sizeof err);
    char *second = strchr(text, '\n') + 1;
    second[5] = '#';
    FILE *f = fopen(ip, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
    free(text);
    assert_int_equal(ss_featstore_open(&fs, dir, &m, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "index.jsonl:2:"));
    assert_int_equal(ss_featstore_read(&d, dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "index.jsonl:2:"));
    free_log(&L);
}

static void test_bad_records(void **st) {
    (void)st;
    char dir[300], err[SS_ERRLEN];
    subdir(dir, sizeof dir, "bad");
    ss_featstore_meta m;
    make_meta(&m, true);
    ss_featstore *fs;
    if (ss_featstore_open(&fs, dir, &m, false, err, sizeof err)) fail_msg("%s", err);
    float X[12] = { 0 };
    ss_featstore_rec r = { .question = 1, .candidate = 0, .n_cand = 2, .label = 1 };
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), 0);
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), -1);     // duplicate
    assert_non_null(strstr(err, "already"));
    r.candidate = 1; r.n_cand = 3;
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), -1);     // n_cand changed
    r.n_cand = 2; r.candidate = 2;
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), -1);     // candidate out of range
    r.candidate = 1; r.label = 0.5f;
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), -1);     // label
    r.label = 0; r.question = -3;
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), -1);
    r.question = 1;
    assert_int_equal(ss_featstore_append(fs, &r, NULL, 2, err, sizeof err), -1);  // no features
    assert_int_equal(ss_featstore_append(fs, &r, X, -1, err, sizeof err), -1);
    assert_int_equal(ss_featstore_count(fs), 1);
    assert_false(ss_featstore_has_question(fs, 1));
    assert_int_equal(ss_featstore_append(fs, &r, X, 2, err, sizeof err), 0);
    assert_true(ss_featstore_has_question(fs, 1));
    ss_featstore_close(fs);

    // hand-written bad index lines: every one is refused by the reader with its line number
    const char *lines[] = {
        "{\"q\":0,\"c\":0,\"n_cand\":1,\"label\":1,\"n_tokens\":1,\"offset\":32}\n",            // misaligned
        "{\"q\":0,\"c\":0,\"n_cand\":1,\"label\":2,\"n_tokens\":1,\"offset\":0}\n",             // label
        "{\"q\":0,\"c\":1,\"n_cand\":1,\"label\":1,\"n_tokens\":1,\"offset\":0}\n",             // c >= n_cand
        "{\"q\":0,\"c\":0,\"n_cand\":1,\"label\":1,\"n_tokens\":1000,\"offset\":0}\n",          // beyond the file
        ("{\"q\":0,\"c\":0,\"n_cand\":1,\"label\":1,\"n_tokens\":1,\"offset\":0}\n"
         "{\"q\":0,\"c\":0,\"n_cand\":1,\"label\":0,\"n_tokens\":1,\"offset\":0}\n"),            // duplicate
        "{\"q\":0.5,\"c\":0,\"n_cand\":1,\"label\":1,\"n_tokens\":1,\"offset\":0}\n",           // not an integer
        "[1,2]\n",
        "\n",
    };
    char ip[400];
    snprintf(ip, sizeof ip, "%s/index.jsonl", dir);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        FILE *f = fopen(ip, "wb");
        fputs(lines[i], f);
        fclose(f);
        ss_featstore_data d;
        err[0] = 0;
        if (ss_featstore_read(&d, dir, err, sizeof err) != -1) fail_msg("bad index %zu accepted", i);
        assert_non_null(strstr(err, "index.jsonl:"));
        assert_null(strchr(err, '\n'));
    }
    // bad meta.json
    char mp[400];
    snprintf(mp, sizeof mp, "%s/meta.json", dir);
    const char *metas[] = { "{", "{}", "[]", "{\"format\":\"slotswift-swift-features\",\"version\":2}" };
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        FILE *f = fopen(mp, "wb");
        fputs(metas[i], f);
        fclose(f);
        ss_featstore_data d;
        assert_int_equal(ss_featstore_read(&d, dir, err, sizeof err), -1);
        assert_non_null(strstr(err, "meta.json"));
    }
    ss_featstore_data d;
    assert_int_equal(ss_featstore_read(&d, "/nonexistent/store", err, sizeof err), -1);
    // open on a path that is a file
    assert_int_equal(ss_featstore_open(&fs, mp, &m, false, err, sizeof err), -1);
    // collect settings that are not a JSON object
    char dir2[300];
    subdir(dir2, sizeof dir2, "badcollect");
    snprintf(m.collect, sizeof m.collect, "[1]");
    assert_int_equal(ss_featstore_open(&fs, dir2, &m, false, err, sizeof err), -1);
}

static int setup(void **st) {
    (void)st;
    snprintf(root, sizeof root, "/tmp/test_featstore.XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_bad_records),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
