// test_gguf.c — GGUF reader/writer and gen-model.
//
// Files for the refusal tests are built byte by byte here (tb_*), independently of the writer,
// so reader and writer are each checked against the format itself. Real files in ../shared are
// checked against values stated in ../shared/README.md (layers, dims, heads, vocab sizes).
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
#include <dirent.h>
#include <sys/stat.h>
#include "ss_gguf.h"
#include "ss_quant.h"
#include "cmds.h"

// ---------------------------------------------------------------- byte builder

typedef struct { uint8_t *p; size_t n, cap; } tb;

static void tb_put(tb *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void tb_u8(tb *b, uint8_t v) { tb_put(b, &v, 1); }
static void tb_u32(tb *b, uint32_t v) { for (int i = 0; i < 4; i++) tb_u8(b, (uint8_t)(v >> (8 * i))); }
static void tb_u64(tb *b, uint64_t v) { tb_u32(b, (uint32_t)v); tb_u32(b, (uint32_t)(v >> 32)); }
static void tb_str(tb *b, const char *s) { tb_u64(b, strlen(s)); tb_put(b, s, strlen(s)); }
static void tb_pad(tb *b, size_t a) { while (b->n % a) tb_u8(b, 0); }
static void tb_header(tb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    tb_put(b, "GGUF", 4); tb_u32(b, version); tb_u64(b, n_tensors); tb_u64(b, n_kv);
}
static void tb_tensor(tb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
    tb_str(b, name); tb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) tb_u64(b, ne[d]);
    tb_u32(b, type); tb_u64(b, off);
}

// A small valid file, written by hand:
//   kv: general.architecture = "llama" (string), test.u32 = 7 (u32), test.arr = [1, -2, 3] (i32 array)
//   tensors: "a" F32 [4, 2] at 0 (32 bytes: 0..7 as floats), "b" Q8_0 [32, 1] at 32 (34 bytes)
static tb make_valid(uint32_t version) {
    tb b = {0};
    tb_header(&b, version, 2, 3);
    tb_str(&b, "general.architecture"); tb_u32(&b, SS_GGUF_STRING); tb_str(&b, "llama");
    tb_str(&b, "test.u32"); tb_u32(&b, SS_GGUF_UINT32); tb_u32(&b, 7);
    tb_str(&b, "test.arr"); tb_u32(&b, SS_GGUF_ARRAY); tb_u32(&b, SS_GGUF_INT32); tb_u64(&b, 3);
    tb_u32(&b, 1); tb_u32(&b, (uint32_t)-2); tb_u32(&b, 3);
    uint64_t ne_a[2] = {4, 2}, ne_b[2] = {32, 1};
    tb_tensor(&b, "a", 2, ne_a, SS_TYPE_F32, 0);
    tb_tensor(&b, "b", 2, ne_b, SS_TYPE_Q8_0, 32);
    tb_pad(&b, 32);
    for (int i = 0; i < 8; i++) { float f = (float)i; tb_put(&b, &f, 4); }
    for (int i = 0; i < 34; i++) tb_u8(&b, (uint8_t)(i + 1));
    return b;
}

// open from memory; expect failure with a one-line message starting with the name
static void expect_fail(const void *p, size_t n, const char *must_contain) {
    char err[SS_ERRLEN] = "";
    ss_gguf *g = (ss_gguf *)0x1;
    int rc = ss_gguf_open_mem(&g, p, n, "t.gguf", err, sizeof err);
    if (rc == 0) { fprintf(stderr, "expected failure (%s), got success\n", must_contain ? must_contain : ""); ss_gguf_close(g); }
    assert_int_equal(rc, -1);
    assert_null(g);
    assert_true(strncmp(err, "t.gguf: ", 8) == 0);
    assert_null(strchr(err, '\n'));
    if (must_contain && !strstr(err, must_contain)) fprintf(stderr, "message '%s' lacks '%s'\n", err, must_contain);
    if (must_contain) assert_non_null(strstr(err, must_contain));
}

static ss_gguf *expect_ok(const void *p, size_t n) {
    char err[SS_ERRLEN] = "";
    ss_gguf *g = NULL;
    int rc = ss_gguf_open_mem(&g, p, n, "t.gguf", err, sizeof err);
    if (rc) fprintf(stderr, "unexpected failure: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(g);
    return g;
}

static char tmpdir[256];
static void mk_tmpdir(void) {
    if (tmpdir[0]) return;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_gguf.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}
static void tmp_path(char *out, size_t n, const char *name) { mk_tmpdir(); snprintf(out, n, "%s/%s", tmpdir, name); }

// ---------------------------------------------------------------- hand-built file

static void test_hand_built_valid(void **state) {
    for (uint32_t version = 2; version <= 3; version++) {
        tb b = make_valid(version);
        ss_gguf *g = expect_ok(b.p, b.n);
        assert_int_equal(g->version, version);
        assert_int_equal(g->n_kv, 3);
        assert_int_equal(g->n_tensors, 2);
        assert_int_equal(g->alignment, 32);
        char *arch = ss_gguf_get_str(g, "general.architecture");
        assert_string_equal(arch, "llama");
        free(arch);
        assert_int_equal(ss_gguf_get_int(g, "test.u32", -1), 7);
        assert_true(ss_gguf_get_float(g, "test.u32", -1) == 7.0);      // float getter accepts ints
        assert_int_equal(ss_gguf_get_int(g, "missing", -5), -5);
        assert_int_equal(ss_gguf_get_int(g, "general.architecture", -5), -5);   // not an int
        assert_null(ss_gguf_get_str(g, "test.u32"));
        assert_true(ss_gguf_get_bool(g, "test.u32", true));               // not a bool: default
        const ss_gguf_kv *arr = ss_gguf_find(g, "test.arr");
        assert_non_null(arr);
        assert_int_equal(arr->type, SS_GGUF_ARRAY);
        assert_int_equal(arr->arr_type, SS_GGUF_INT32);
        assert_int_equal(arr->arr_n, 3);
        assert_int_equal(arr->arr_bytes, 12);
        int32_t v[3];
        memcpy(v, arr->arr_data, 12);
        assert_int_equal(v[0], 1); assert_int_equal(v[1], -2); assert_int_equal(v[2], 3);
        const ss_gguf_tensor *a = ss_gguf_find_tensor(g, "a"), *tb_ = ss_gguf_find_tensor(g, "b");
        assert_non_null(a); assert_non_null(tb_);
        assert_null(ss_gguf_find_tensor(g, "c"));
        assert_int_equal(a->n_dims, 2);
        assert_int_equal(a->ne[0], 4); assert_int_equal(a->ne[1], 2); assert_int_equal(a->ne[2], 1); assert_int_equal(a->ne[3], 1);
        assert_int_equal(a->nbytes, 32);
        assert_int_equal(tb_->nbytes, 34);
        assert_int_equal(ss_gguf_tensor_nelements(a), 8);
        // the data section starts at the first multiple of 32 after the tensor infos (66 data bytes at the end)
        assert_int_equal(g->data_offset % 32, 0);
        assert_int_equal(g->data_offset, b.n - 66);
        assert_ptr_equal(a->data, (const uint8_t *)b.p + g->data_offset);
        assert_ptr_equal(tb_->data, (const uint8_t *)b.p + g->data_offset + 32);
        float f[8];
        memcpy(f, a->data, 32);
        for (int i = 0; i < 8; i++) assert_true(f[i] == (float)i);
        assert_int_equal(((const uint8_t *)tb_->data)[33], 34);
        ss_gguf_close(g);
        free(b.p);
    }
}

static void test_bad_magic_and_versions(void **state) {
    tb b = make_valid(3);
    uint8_t *c = malloc(b.n);
    memcpy(c, b.p, b.n); c[0] = 'X';
    expect_fail(c, b.n, "offset 0: not a GGUF file");
    memcpy(c, b.p, b.n); c[4] = 1;
    expect_fail(c, b.n, "offset 4: unsupported GGUF version 1");
    memcpy(c, b.p, b.n); c[4] = 99;
    expect_fail(c, b.n, "offset 4: unsupported GGUF version 99");
    memcpy(c, b.p, b.n); c[4] = 7;
    expect_fail(c, b.n, "t.gguf: offset 4: unsupported GGUF version 7");
    memcpy(c, b.p, b.n); c[4] = 0; c[7] = 3;   // big-endian version 3
    expect_fail(c, b.n, "big-endian");
    expect_fail(c, 0, "offset 0");
    expect_fail("GGU", 3, "offset 0");
    free(c);
    free(b.p);
}

// every proper prefix of a valid file must be refused cleanly
static void check_prefixes(const uint8_t *p, size_t n) {
    for (size_t len = 0; len < n; len++) {
        char err[SS_ERRLEN] = "";
        ss_gguf *g = NULL;
        // copy to an exact-size buffer so ASan sees any read past the end
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, p, len);
        int rc = ss_gguf_open_mem(&g, c, len, "t.gguf", err, sizeof err);
        if (rc == 0) fprintf(stderr, "prefix %zu of %zu accepted\n", len, n);
        assert_int_equal(rc, -1);
        assert_null(g);
        assert_true(!strncmp(err, "t.gguf: offset ", 15) || !strncmp(err, "t.gguf: tensor '", 16));
        free(c);
    }
}

static void test_truncated_every_prefix(void **state) {
    tb b = make_valid(3);
    check_prefixes(b.p, b.n);
    free(b.p);
}

// random bit flips: either a clean error or a file that can be walked entirely
static void test_bit_flips(void **state) {
    tb b = make_valid(3);
    uint8_t *c = malloc(b.n);
    uint64_t x = 12345;
    int ok = 0, bad = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(c, b.p, b.n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)((x >> 33) % b.n);
            c[pos] ^= (uint8_t)(1u << ((x >> 20) & 7));
        }
        char err[SS_ERRLEN] = "";
        ss_gguf *g = NULL;
        if (ss_gguf_open_mem(&g, c, b.n, "t.gguf", err, sizeof err) == 0) {
            ok++;
            for (uint64_t i = 0; i < g->n_kv; i++) {
                const ss_gguf_kv *kv = ss_gguf_find(g, g->kv[i].key);
                assert_ptr_equal(kv, &g->kv[i]);
                free(ss_gguf_get_str(g, kv->key));
                (void)ss_gguf_get_int(g, kv->key, 0);
                (void)ss_gguf_get_float(g, kv->key, 0);
            }
            for (uint64_t i = 0; i < g->n_tensors; i++) {
                const ss_gguf_tensor *t = &g->tensors[i];
                assert_ptr_equal(ss_gguf_find_tensor(g, t->name), t);
                assert_true((const uint8_t *)t->data >= c && (const uint8_t *)t->data + t->nbytes <= c + b.n);
            }
            ss_gguf_close(g);
        } else {
            bad++;
            assert_null(g);
            assert_true(!strncmp(err, "t.gguf: ", 8));
        }
    }
    assert_true(ok > 0 && bad > 0);
    free(c);
    free(b.p);
}

static void test_huge_counts(void **state) {
    tb b = {0};
    // n_kv far beyond the file
    tb_header(&b, 3, 0, UINT64_MAX);
    expect_fail(b.p, b.n, "offset 16: key/value count");
    b.n = 0; tb_header(&b, 3, 1ull << 62, 0);
    expect_fail(b.p, b.n, "offset 8: tensor count");
    // key length huge
    b.n = 0; tb_header(&b, 3, 0, 1); tb_u64(&b, UINT64_MAX - 3); tb_u32(&b, 0); tb_u32(&b, 0);
    expect_fail(b.p, b.n, "offset 24: key length");
    // string value length huge
    b.n = 0; tb_header(&b, 3, 0, 1); tb_str(&b, "k"); tb_u32(&b, SS_GGUF_STRING); tb_u64(&b, 1ull << 40);
    expect_fail(b.p, b.n, "string value length");
    // array counts huge, for each element kind
    uint32_t kinds[] = { SS_GGUF_UINT8, SS_GGUF_UINT64, SS_GGUF_STRING, SS_GGUF_ARRAY, SS_GGUF_BOOL };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint64_t counts[] = { UINT64_MAX, 1ull << 61, 1000 };
        for (int c = 0; c < 3; c++) {
            b.n = 0; tb_header(&b, 3, 0, 1); tb_str(&b, "k"); tb_u32(&b, SS_GGUF_ARRAY); tb_u32(&b, kinds[k]); tb_u64(&b, counts[c]);
            for (int i = 0; i < 16; i++) tb_u8(&b, 0);
            expect_fail(b.p, b.n, "exceeds");
        }
    }
    // unknown value type, unknown array element type
    b.n = 0; tb_header(&b, 3, 0, 1); tb_str(&b, "k"); tb_u32(&b, 13); tb_u64(&b, 0);
    expect_fail(b.p, b.n, "unknown value type 13");
    b.n = 0; tb_header(&b, 3, 0, 1); tb_str(&b, "k"); tb_u32(&b, SS_GGUF_ARRAY); tb_u32(&b, 99); tb_u64(&b, 0);
    expect_fail(b.p, b.n, "unknown array element type 99");
    // empty key, key with NUL
    b.n = 0; tb_header(&b, 3, 0, 1); tb_str(&b, ""); tb_u32(&b, SS_GGUF_UINT8); tb_u8(&b, 0);
    expect_fail(b.p, b.n, "empty key");
    b.n = 0; tb_header(&b, 3, 0, 1); tb_u64(&b, 3); tb_put(&b, "a\0b", 3); tb_u32(&b, SS_GGUF_UINT8); tb_u8(&b, 0);
    expect_fail(b.p, b.n, "NUL");
    free(b.p);
}

// one tensor "t" [ne...] of `type` at `off`, followed by `data_bytes` bytes of data
static tb one_tensor(uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off, size_t data_bytes) {
    tb b = {0};
    tb_header(&b, 3, 1, 0);
    tb_tensor(&b, "t", n_dims, ne, type, off);
    tb_pad(&b, 32);
    for (size_t i = 0; i < data_bytes; i++) tb_u8(&b, 0);
    return b;
}

static void test_tensor_infos(void **state) {
    uint64_t ne[5] = {32, 2, 1, 1, 1};
    tb b = one_tensor(2, ne, SS_TYPE_F32, 0, 256);
    ss_gguf_close(expect_ok(b.p, b.n)); free(b.p);
    b = one_tensor(2, ne, SS_TYPE_F32, 0, 255);                 // one byte short
    expect_fail(b.p, b.n, "tensor 't': data"); free(b.p);
    b = one_tensor(2, ne, SS_TYPE_F32, 8, 512);                 // misaligned
    expect_fail(b.p, b.n, "not a multiple of the alignment"); free(b.p);
    b = one_tensor(2, ne, SS_TYPE_F32, 1ull << 40, 512);        // outside the file
    expect_fail(b.p, b.n, "outside the file"); free(b.p);
    b = one_tensor(2, ne, SS_TYPE_F32, UINT64_MAX - 31, 512);   // offset overflow
    expect_fail(b.p, b.n, "tensor 't'"); free(b.p);
    b = one_tensor(2, ne, 77, 0, 512);                          // unknown type: names tensor and id
    expect_fail(b.p, b.n, "tensor 't': unknown tensor type 77"); free(b.p);
    b = one_tensor(2, ne, 1000000, 0, 512);
    expect_fail(b.p, b.n, "unknown tensor type 1000000"); free(b.p);
    b = one_tensor(0, ne, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "n_dims 0"); free(b.p);
    b = one_tensor(5, ne, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "n_dims 5"); free(b.p);
    uint64_t ne0[2] = {32, 0};
    b = one_tensor(2, ne0, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "dimension 1 is 0"); free(b.p);
    uint64_t neneg[2] = {32, 1ull << 63};
    b = one_tensor(2, neneg, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "dimension 1"); free(b.p);
    uint64_t nebig[4] = {1ull << 40, 1ull << 40, 1, 1};
    b = one_tensor(4, nebig, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "overflow"); free(b.p);
    uint64_t nebytes[1] = {1ull << 62};                         // elements fit, bytes (x4) overflow
    b = one_tensor(1, nebytes, SS_TYPE_F32, 0, 512);
    expect_fail(b.p, b.n, "overflow"); free(b.p);
    uint64_t ne33[2] = {33, 1};
    b = one_tensor(2, ne33, SS_TYPE_Q8_0, 0, 512);
    expect_fail(b.p, b.n, "row length 33 is not a multiple of the q8_0 block size 32"); free(b.p);
    uint64_t ne_k[2] = {128, 1};
    b = one_tensor(2, ne_k, SS_TYPE_Q4_K, 0, 512);
    expect_fail(b.p, b.n, "block size 256"); free(b.p);

    // empty name, long name
    b = (tb){0}; tb_header(&b, 3, 1, 0); tb_tensor(&b, "", 1, ne, SS_TYPE_F32, 0); tb_pad(&b, 32);
    for (int i = 0; i < 128; i++) tb_u8(&b, 0);
    expect_fail(b.p, b.n, "empty name"); free(b.p);
    char longname[80];
    memset(longname, 'x', 70); longname[70] = 0;
    b = (tb){0}; tb_header(&b, 3, 1, 0); tb_tensor(&b, longname, 1, ne, SS_TYPE_F32, 0); tb_pad(&b, 32);
    for (int i = 0; i < 128; i++) tb_u8(&b, 0);
    expect_fail(b.p, b.n, "limit 63"); free(b.p);

    // duplicate tensor names; overlapping data
    b = (tb){0}; tb_header(&b, 3, 2, 0);
    tb_tensor(&b, "w", 1, ne, SS_TYPE_F32, 0); tb_tensor(&b, "w", 1, ne, SS_TYPE_F32, 128); tb_pad(&b, 32);
    for (int i = 0; i < 256; i++) tb_u8(&b, 0);
    expect_fail(b.p, b.n, "tensor 'w': duplicate tensor name"); free(b.p);
    b = (tb){0}; tb_header(&b, 3, 2, 0);
    tb_tensor(&b, "w1", 1, ne, SS_TYPE_F32, 0); tb_tensor(&b, "w2", 1, ne, SS_TYPE_F32, 96); tb_pad(&b, 32);
    for (int i = 0; i < 256; i++) tb_u8(&b, 0);
    expect_fail(b.p, b.n, "tensor 'w1': data overlaps tensor 'w2'"); free(b.p);
    // a hostile name is printed escaped
    b = (tb){0}; tb_header(&b, 3, 1, 0); tb_tensor(&b, "a\nb", 1, ne, 77, 0); tb_pad(&b, 32);
    for (int i = 0; i < 128; i++) tb_u8(&b, 0);
    expect_fail(b.p, b.n, "tensor 'a\\x0ab'"); free(b.p);
}

static void test_duplicate_keys_and_alignment(void **state) {
    tb b = {0};
    tb_header(&b, 3, 0, 2);
    tb_str(&b, "k"); tb_u32(&b, SS_GGUF_UINT8); tb_u8(&b, 1);
    tb_str(&b, "k"); tb_u32(&b, SS_GGUF_UINT8); tb_u8(&b, 2);
    expect_fail(b.p, b.n, "offset 38: duplicate key 'k'");

    // general.alignment = 64: data at a multiple of 64, offsets multiples of 64
    uint64_t ne[1] = {8};
    uint32_t aligns[] = {64, 3, 0, 48};
    for (int k = 0; k < 4; k++) {
        b.n = 0;
        tb_header(&b, 3, 2, 1);
        tb_str(&b, "general.alignment"); tb_u32(&b, SS_GGUF_UINT32); tb_u32(&b, aligns[k]);
        tb_tensor(&b, "x", 1, ne, SS_TYPE_F32, 0);
        tb_tensor(&b, "y", 1, ne, SS_TYPE_F32, 64);
        tb_pad(&b, 64);
        for (int i = 0; i < 128; i++) tb_u8(&b, (uint8_t)i);
        if (aligns[k] == 64) {
            ss_gguf *g = expect_ok(b.p, b.n);
            assert_int_equal(g->alignment, 64);
            assert_int_equal(g->data_offset % 64, 0);
            assert_int_equal(((const uint8_t *)ss_gguf_find_tensor(g, "y")->data)[0], 64);
            ss_gguf_close(g);
        } else {
            expect_fail(b.p, b.n, "general.alignment");
        }
    }
    b.n = 0;
    tb_header(&b, 3, 0, 1);
    tb_str(&b, "general.alignment"); tb_u32(&b, SS_GGUF_STRING); tb_str(&b, "32");
    expect_fail(b.p, b.n, "general.alignment: must be an integer");
    free(b.p);
}

// arrays of arrays: validated and skipped, raw bytes kept (copy_kv reproduces them)
static void test_nested_arrays(void **state) {
    tb b = {0};
    tb_header(&b, 3, 0, 2);
    tb_str(&b, "nest"); tb_u32(&b, SS_GGUF_ARRAY); tb_u32(&b, SS_GGUF_ARRAY); tb_u64(&b, 2);
    tb_u32(&b, SS_GGUF_UINT16); tb_u64(&b, 2); tb_u32(&b, 0x00020001);              // [1, 2]
    tb_u32(&b, SS_GGUF_STRING); tb_u64(&b, 1); tb_str(&b, "hi");                   // ["hi"]
    tb_str(&b, "after"); tb_u32(&b, SS_GGUF_INT8); tb_u8(&b, 0xff);
    ss_gguf *g = expect_ok(b.p, b.n);
    const ss_gguf_kv *kv = ss_gguf_find(g, "nest");
    assert_int_equal(kv->arr_type, SS_GGUF_ARRAY);
    assert_int_equal(kv->arr_n, 2);
    assert_int_equal(kv->arr_bytes, (4 + 8 + 4) + (4 + 8 + 8 + 2));
    assert_int_equal(ss_gguf_get_int(g, "after", 0), -1);
    // every proper prefix fails
    check_prefixes(b.p, b.n);

    // copy through the writer and read again
    ss_gguf_writer *w = ss_gguf_writer_new();
    for (uint64_t i = 0; i < g->n_kv; i++) ss_gguf_writer_copy_kv(w, &g->kv[i]);
    char path[300], err[SS_ERRLEN];
    tmp_path(path, sizeof path, "nested.gguf");
    assert_int_equal(ss_gguf_writer_write(w, path, err, sizeof err), 0);
    ss_gguf_writer_free(w);
    ss_gguf *h = NULL;
    assert_int_equal(ss_gguf_open(&h, path, err, sizeof err), 0);
    const ss_gguf_kv *kv2 = ss_gguf_find(h, "nest");
    assert_int_equal(kv2->arr_bytes, kv->arr_bytes);
    assert_memory_equal(kv2->arr_data, kv->arr_data, kv->arr_bytes);
    assert_int_equal(ss_gguf_get_int(h, "after", 0), -1);
    ss_gguf_close(h);
    ss_gguf_close(g);

    // nesting deeper than the limit
    b.n = 0;
    tb_header(&b, 3, 0, 1);
    tb_str(&b, "deep"); tb_u32(&b, SS_GGUF_ARRAY);
    for (int d = 0; d < 20; d++) { tb_u32(&b, SS_GGUF_ARRAY); tb_u64(&b, 1); }
    tb_u32(&b, SS_GGUF_UINT8); tb_u64(&b, 0);
    expect_fail(b.p, b.n, "nested deeper");
    free(b.p);
}

// ---------------------------------------------------------------- writer round trip

typedef struct { int calls; int64_t rows_seen; int fail_at; } rows_state;

// tensor "s": F32 [8, 1000], element (r, c) = r * 8 + c
static int rows_fn(void *user, const char *name, int64_t row0, int64_t nrows, void *dst, char *err, size_t errlen) {
    rows_state *st = user;
    st->calls++;
    if (st->fail_at >= 0 && row0 >= st->fail_at) return ss_err(err, errlen, "planned failure at row %lld", (long long)row0);
    assert_int_equal(row0, st->rows_seen);
    float *f = dst;
    for (int64_t r = 0; r < nrows; r++)
        for (int c = 0; c < 8; c++) f[r * 8 + c] = (float)((row0 + r) * 8 + c);
    st->rows_seen += nrows;
    return 0;
}

static void test_writer_roundtrip(void **state) {
    ss_gguf_writer *w = ss_gguf_writer_new();
    uint8_t u8 = 250; int8_t i8 = -100; uint16_t u16 = 65000; int16_t i16 = -30000;
    uint32_t u32 = 4000000000u; int32_t i32 = -2000000000; float f32 = 3.25f; bool bo = true;
    uint64_t u64 = 18000000000000000000ull; int64_t i64 = -9000000000000000000ll; double f64 = -1.0 / 3.0;
    ss_gguf_str str = { 5, "he\0lo" };   // embedded NUL kept in the value
    ss_gguf_writer_set_val(w, "v.u8", SS_GGUF_UINT8, &u8);
    ss_gguf_writer_set_val(w, "v.i8", SS_GGUF_INT8, &i8);
    ss_gguf_writer_set_val(w, "v.u16", SS_GGUF_UINT16, &u16);
    ss_gguf_writer_set_val(w, "v.i16", SS_GGUF_INT16, &i16);
    ss_gguf_writer_set_val(w, "v.u32", SS_GGUF_UINT32, &u32);
    ss_gguf_writer_set_val(w, "v.i32", SS_GGUF_INT32, &i32);
    ss_gguf_writer_set_val(w, "v.f32", SS_GGUF_FLOAT32, &f32);
    ss_gguf_writer_set_val(w, "v.bool", SS_GGUF_BOOL, &bo);
    ss_gguf_writer_set_val(w, "v.str", SS_GGUF_STRING, &str);
    ss_gguf_writer_set_val(w, "v.u64", SS_GGUF_UINT64, &u64);
    ss_gguf_writer_set_val(w, "v.i64", SS_GGUF_INT64, &i64);
    ss_gguf_writer_set_val(w, "v.f64", SS_GGUF_FLOAT64, &f64);
    ss_gguf_writer_set_u32(w, "n.u32", 1);
    ss_gguf_writer_set_u32(w, "n.u32", 77);          // replaces
    ss_gguf_writer_set_i32(w, "n.i32", -5);
    ss_gguf_writer_set_u64(w, "n.u64", 1ull << 40);
    ss_gguf_writer_set_f32(w, "n.f32", 1e-6f);
    ss_gguf_writer_set_bool(w, "n.bool", false);
    ss_gguf_writer_set_str(w, "n.str", "qwen2");
    ss_gguf_writer_set_str(w, "n.empty", "");
    // arrays of every numeric type: element i = i * 3 - 7 (in the type's range)
    for (uint32_t t = 0; t <= SS_GGUF_FLOAT64; t++) {
        size_t es = ss_gguf_vtype_size(t);
        if (!es) continue;
        uint8_t buf[8 * 10];
        for (int i = 0; i < 10; i++) {
            double v = i * 3 - 7;
            uint8_t *p = buf + i * es;
            switch (t) {
            case SS_GGUF_UINT8: *p = (uint8_t)(i * 3); break;
            case SS_GGUF_INT8: *(int8_t *)p = (int8_t)v; break;
            case SS_GGUF_UINT16: { uint16_t x = (uint16_t)(i * 3); memcpy(p, &x, 2); break; }
            case SS_GGUF_INT16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
            case SS_GGUF_UINT32: { uint32_t x = (uint32_t)(i * 3); memcpy(p, &x, 4); break; }
            case SS_GGUF_INT32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
            case SS_GGUF_FLOAT32: { float x = (float)v; memcpy(p, &x, 4); break; }
            case SS_GGUF_BOOL: *p = (uint8_t)(i & 1); break;
            case SS_GGUF_UINT64: { uint64_t x = (uint64_t)(i * 3); memcpy(p, &x, 8); break; }
            case SS_GGUF_INT64: { int64_t x = (int64_t)v; memcpy(p, &x, 8); break; }
            case SS_GGUF_FLOAT64: memcpy(p, &v, 8); break;
            }
        }
        char key[32];
        snprintf(key, sizeof key, "a.%s", ss_gguf_vtype_name(t));
        ss_gguf_writer_set_arr(w, key, t, buf, 10);
    }
    ss_gguf_writer_set_arr(w, "a.empty", SS_GGUF_UINT32, NULL, 0);
    ss_gguf_str strs[4] = { {3, "abc"}, {0, ""}, {4, "\xc3\xa9t\xc3"}, {1, "\n"} };
    ss_gguf_writer_set_arr_str(w, "a.strs", strs, 4);

    // tensors: F32, F16, Q8_0 and Q4_K with deterministic bytes, one 3-D, one streamed
    uint8_t data[4][4096];
    for (int k = 0; k < 4; k++) for (int i = 0; i < 4096; i++) data[k][i] = (uint8_t)(i * 7 + k * 13 + (i >> 8));
    int64_t ne_f32[2] = {5 * 8, 3}, ne_f16[3] = {6, 2, 3}, ne_q8[2] = {64, 2}, ne_q4k[2] = {256, 3};
    ss_gguf_writer_add_tensor(w, "t.f32", SS_TYPE_F32, 2, ne_f32, data[0], 40 * 3 * 4);
    ss_gguf_writer_add_tensor(w, "t.f16", SS_TYPE_F16, 3, ne_f16, data[1], 36 * 2);
    ss_gguf_writer_add_tensor(w, "t.q8", SS_TYPE_Q8_0, 2, ne_q8, data[2], 2 * 2 * 34);
    ss_gguf_writer_add_tensor(w, "t.q4k", SS_TYPE_Q4_K, 2, ne_q4k, data[3], 3 * 144);
    rows_state st = {0, 0, -1};
    int64_t ne_s[2] = {8, 1000};
    ss_gguf_writer_add_tensor_rows(w, "t.stream", SS_TYPE_F32, 2, ne_s, rows_fn, &st);
    uint64_t predicted = ss_gguf_writer_file_size(w);

    char path[300], err[SS_ERRLEN];
    tmp_path(path, sizeof path, "rt.gguf");
    FILE *pre = fopen(path, "wb"); fputs("old", pre); fclose(pre);   // replaced atomically
    assert_int_equal(ss_gguf_writer_write(w, path, err, sizeof err), 0);
    assert_int_equal(st.rows_seen, 1000);
    ss_gguf_writer_free(w);

    ss_gguf *g = NULL;
    if (ss_gguf_open(&g, path, err, sizeof err)) fprintf(stderr, "%s\n", err);
    assert_non_null(g);
    assert_int_equal(g->size, predicted);
    assert_int_equal(g->version, 3);
    assert_int_equal(g->alignment, 32);
    assert_int_equal(ss_gguf_get_int(g, "v.u8", 0), 250);
    assert_int_equal(ss_gguf_get_int(g, "v.i8", 0), -100);
    assert_int_equal(ss_gguf_get_int(g, "v.u16", 0), 65000);
    assert_int_equal(ss_gguf_get_int(g, "v.i16", 0), -30000);
    assert_int_equal(ss_gguf_get_int(g, "v.u32", 0), 4000000000ll);
    assert_int_equal(ss_gguf_get_int(g, "v.i32", 0), -2000000000ll);
    assert_true(ss_gguf_get_float(g, "v.f32", 0) == 3.25);
    assert_true(ss_gguf_get_bool(g, "v.bool", false));
    const ss_gguf_kv *ks = ss_gguf_find(g, "v.str");
    assert_int_equal(ks->type, SS_GGUF_STRING);
    assert_int_equal(ks->v.s.len, 5);
    assert_memory_equal(ks->v.s.ptr, "he\0lo", 5);
    assert_true(ss_gguf_find(g, "v.u64")->v.u64 == u64);
    assert_int_equal(ss_gguf_get_int(g, "v.u64", 0), INT64_MAX);      // saturated
    assert_true(ss_gguf_get_int(g, "v.i64", 0) == i64);
    assert_true(ss_gguf_get_float(g, "v.f64", 0) == f64);
    assert_int_equal(ss_gguf_find(g, "v.f64")->type, SS_GGUF_FLOAT64);
    assert_int_equal(ss_gguf_get_int(g, "n.u32", 0), 77);
    assert_int_equal(ss_gguf_get_int(g, "n.i32", 0), -5);
    assert_int_equal(ss_gguf_get_int(g, "n.u64", 0), 1ll << 40);
    assert_true(ss_gguf_get_float(g, "n.f32", 0) == (double)1e-6f);
    assert_false(ss_gguf_get_bool(g, "n.bool", true));
    char *s = ss_gguf_get_str(g, "n.str"); assert_string_equal(s, "qwen2"); free(s);
    s = ss_gguf_get_str(g, "n.empty"); assert_string_equal(s, ""); free(s);
    // keys in the order set (n.u32 kept its first position)
    assert_string_equal(g->kv[0].key, "v.u8");
    assert_string_equal(g->kv[12].key, "n.u32");
    for (uint32_t t = 0; t <= SS_GGUF_FLOAT64; t++) {
        size_t es = ss_gguf_vtype_size(t);
        if (!es) continue;
        char key[32];
        snprintf(key, sizeof key, "a.%s", ss_gguf_vtype_name(t));
        const ss_gguf_kv *kv = ss_gguf_find(g, key);
        assert_non_null(kv);
        assert_int_equal(kv->arr_type, t);
        assert_int_equal(kv->arr_n, 10);
        assert_int_equal(kv->arr_bytes, 10 * es);
        const uint8_t *p = kv->arr_data;
        for (int i = 0; i < 10; i++) {
            double want = (t == SS_GGUF_UINT8 || t == SS_GGUF_UINT16 || t == SS_GGUF_UINT32 || t == SS_GGUF_UINT64) ? i * 3
                        : t == SS_GGUF_BOOL ? (i & 1) : i * 3 - 7;
            double got = 0;
            switch (t) {
            case SS_GGUF_UINT8: got = p[i]; break;
            case SS_GGUF_INT8: got = (int8_t)p[i]; break;
            case SS_GGUF_BOOL: got = p[i]; break;
            case SS_GGUF_UINT16: { uint16_t x; memcpy(&x, p + 2 * i, 2); got = x; break; }
            case SS_GGUF_INT16: { int16_t x; memcpy(&x, p + 2 * i, 2); got = x; break; }
            case SS_GGUF_UINT32: { uint32_t x; memcpy(&x, p + 4 * i, 4); got = x; break; }
            case SS_GGUF_INT32: { int32_t x; memcpy(&x, p + 4 * i, 4); got = x; break; }
            case SS_GGUF_FLOAT32: { float x; memcpy(&x, p + 4 * i, 4); got = x; break; }
            case SS_GGUF_UINT64: { uint64_t x; memcpy(&x, p + 8 * i, 8); got = (double)x; break; }
            case SS_GGUF_INT64: { int64_t x; memcpy(&x, p + 8 * i, 8); got = (double)x; break; }
            case SS_GGUF_FLOAT64: memcpy(&got, p + 8 * i, 8); break;
            }
            assert_true(got == want);
        }
    }
    assert_int_equal(ss_gguf_find(g, "a.empty")->arr_n, 0);
    const ss_gguf_kv *as = ss_gguf_find(g, "a.strs");
    assert_int_equal(as->arr_type, SS_GGUF_STRING);
    assert_int_equal(as->arr_n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(as->arr_str[i].len, strs[i].len);
        assert_memory_equal(as->arr_str[i].ptr, strs[i].ptr, strs[i].len);
    }
    // tensors: order, shapes, types, bytes, alignment
    assert_int_equal(g->n_tensors, 5);
    const char *names[5] = {"t.f32", "t.f16", "t.q8", "t.q4k", "t.stream"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(g->tensors[i].name, names[i]);
        assert_int_equal(((const uint8_t *)g->tensors[i].data - g->map) % 32, 0);
    }
    const ss_gguf_tensor *t = ss_gguf_find_tensor(g, "t.f16");
    assert_int_equal(t->n_dims, 3);
    assert_int_equal(t->ne[0], 6); assert_int_equal(t->ne[1], 2); assert_int_equal(t->ne[2], 3); assert_int_equal(t->ne[3], 1);
    assert_int_equal(t->type, SS_TYPE_F16);
    assert_memory_equal(t->data, data[1], 72);
    assert_memory_equal(ss_gguf_find_tensor(g, "t.f32")->data, data[0], 480);
    assert_memory_equal(ss_gguf_find_tensor(g, "t.q8")->data, data[2], 136);
    assert_int_equal(ss_gguf_find_tensor(g, "t.q4k")->type, SS_TYPE_Q4_K);
    assert_memory_equal(ss_gguf_find_tensor(g, "t.q4k")->data, data[3], 432);
    const float *sf = ss_gguf_find_tensor(g, "t.stream")->data;
    for (int i = 0; i < 8000; i++) assert_true(sf[i] == (float)i);

    // no temporary file left next to it
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);

    // copy every key/value and tensor to a second file: identical bytes
    ss_gguf_writer *w2 = ss_gguf_writer_new();
    for (uint64_t i = 0; i < g->n_kv; i++) ss_gguf_writer_copy_kv(w2, &g->kv[i]);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ss_gguf_tensor *x = &g->tensors[i];
        ss_gguf_writer_add_tensor(w2, x->name, x->type, x->n_dims, x->ne, x->data, x->nbytes);
    }
    char path2[300];
    tmp_path(path2, sizeof path2, "rt2.gguf");
    assert_int_equal(ss_gguf_writer_write(w2, path2, err, sizeof err), 0);
    ss_gguf_writer_free(w2);
    size_t n1, n2;
    char *b1 = ss_read_file(path, &n1, err, sizeof err), *b2 = ss_read_file(path2, &n2, err, sizeof err);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);

    // the writer's file passes the prefix test too (header part; data prefixes are covered by the tensor bounds)
    check_prefixes((const uint8_t *)b1, g->data_offset + 64);
    free(b1); free(b2);
    ss_gguf_close(g);
}

// lookups on a file with many keys and tensors (names in no particular order)
static void test_many_names(void **state) {
    ss_gguf_writer *w = ss_gguf_writer_new();
    char name[64];
    float zero[32] = {0};
    int64_t ne[1] = {32};
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "k.%d.%x", (i * 7919) % 3000, i * 2654435761u);
        ss_gguf_writer_set_u32(w, name, (uint32_t)i);
        snprintf(name, sizeof name, "t%d", (i * 7919) % 3000);
        if (i < 500) ss_gguf_writer_add_tensor(w, name, SS_TYPE_F32, 1, ne, zero, sizeof zero);
    }
    char path[300], err[SS_ERRLEN];
    tmp_path(path, sizeof path, "many.gguf");
    assert_int_equal(ss_gguf_writer_write(w, path, err, sizeof err), 0);
    ss_gguf_writer_free(w);
    ss_gguf *g = NULL;
    assert_int_equal(ss_gguf_open(&g, path, err, sizeof err), 0);
    assert_int_equal(g->n_kv, 3000);
    assert_int_equal(g->n_tensors, 500);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "k.%d.%x", (i * 7919) % 3000, i * 2654435761u);
        assert_int_equal(ss_gguf_get_int(g, name, -1), i);
        assert_ptr_equal(ss_gguf_find(g, name), &g->kv[i]);
        snprintf(name, sizeof name, "t%d", (i * 7919) % 3000);
        if (i < 500) assert_ptr_equal(ss_gguf_find_tensor(g, name), &g->tensors[i]);
        else assert_null(ss_gguf_find_tensor(g, name));
    }
    assert_null(ss_gguf_find(g, "k."));
    assert_null(ss_gguf_find(g, "zzz"));
    assert_null(ss_gguf_find(g, ""));
    ss_gguf_close(g);
}

static void test_writer_errors(void **state) {
    char path[300], err[SS_ERRLEN];
    tmp_path(path, sizeof path, "bad.gguf");
    int64_t ne[2] = {32, 2};
    uint8_t data[256] = {0};
    // size mismatch, duplicate name, bad block multiple, bad type: reported by write, nothing written
    struct { const char *want; int kind; } cases[] = {
        {"data bytes given", 0}, {"duplicate tensor name", 1}, {"not a multiple", 2}, {"unknown tensor type", 3},
        {"planned failure", 4},
    };
    for (int c = 0; c < 5; c++) {
        ss_gguf_writer *w = ss_gguf_writer_new();
        ss_gguf_writer_set_str(w, "general.architecture", "llama");
        rows_state st = {0, 0, 0};
        int64_t ne_s[2] = {8, 100000};
        switch (cases[c].kind) {
        case 0: ss_gguf_writer_add_tensor(w, "x", SS_TYPE_F32, 2, ne, data, 100); break;
        case 1: ss_gguf_writer_add_tensor(w, "x", SS_TYPE_F32, 1, ne, data, 128);
                ss_gguf_writer_add_tensor(w, "x", SS_TYPE_F32, 1, ne, data, 128); break;
        case 2: { int64_t n2[1] = {48}; ss_gguf_writer_add_tensor(w, "x", SS_TYPE_Q8_0, 1, n2, data, 51); break; }
        case 3: ss_gguf_writer_add_tensor(w, "x", 77, 1, ne, data, 128); break;
        case 4: ss_gguf_writer_add_tensor_rows(w, "s", SS_TYPE_F32, 2, ne_s, rows_fn, &st); break;
        }
        assert_int_equal(ss_gguf_writer_write(w, path, err, sizeof err), -1);
        if (!strstr(err, cases[c].want)) fprintf(stderr, "'%s' lacks '%s'\n", err, cases[c].want);
        assert_non_null(strstr(err, cases[c].want));
        assert_non_null(strstr(err, path));
        assert_int_equal(access(path, F_OK), -1);
        ss_gguf_writer_free(w);
    }
    // unwritable directory
    ss_gguf_writer *w = ss_gguf_writer_new();
    assert_int_equal(ss_gguf_writer_write(w, "/nonexistent-dir/x.gguf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.gguf"));
    ss_gguf_writer_free(w);
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
}

static void test_open_errors(void **state) {
    char err[SS_ERRLEN], path[300];
    ss_gguf *g = (ss_gguf *)0x1;
    assert_int_equal(ss_gguf_open(&g, "/nonexistent/model.gguf", err, sizeof err), -1);
    assert_null(g);
    assert_non_null(strstr(err, "/nonexistent/model.gguf: cannot open"));
    mk_tmpdir();
    assert_int_equal(ss_gguf_open(&g, tmpdir, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    tmp_path(path, sizeof path, "empty.gguf");
    FILE *f = fopen(path, "wb"); fclose(f);
    assert_int_equal(ss_gguf_open(&g, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty.gguf: offset 0"));
    // a truncated copy of a valid file on disk names the file
    tb b = make_valid(3);
    tmp_path(path, sizeof path, "trunc.gguf");
    f = fopen(path, "wb"); fwrite(b.p, 1, b.n - 1, f); fclose(f);
    assert_int_equal(ss_gguf_open(&g, path, err, sizeof err), -1);
    assert_true(!strncmp(err, path, strlen(path)));
    assert_non_null(strstr(err, "tensor 'b'"));
    f = fopen(path, "wb"); fwrite(b.p, 1, b.n, f); fclose(f);
    assert_int_equal(ss_gguf_open(&g, path, err, sizeof err), 0);
    assert_int_equal(g->owns_map, 1);
    ss_gguf_close(g);
    free(b.p);
}

// ---------------------------------------------------------------- real files

static ss_gguf *open_shared(const char *path) {
    char err[SS_ERRLEN];
    ss_gguf *g = NULL;
    if (ss_gguf_open(&g, path, err, sizeof err)) { fprintf(stderr, "%s\n", err); fail(); }
    // every tensor ends inside the file and the last one ends within one alignment of its end
    size_t end = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        size_t e = g->data_offset + g->tensors[i].offset + g->tensors[i].nbytes;
        if (e > end) end = e;
    }
    if (g->n_tensors) assert_true(end <= g->size && g->size - end < g->alignment);
    return g;
}

static void test_real_models(void **state) {
    // stories260K (../shared/README.md): llama, 5 layers, dim 64, 8 heads / 4 KV heads, separate
    // output matrix, SentencePiece vocab of 512 tokens, F32 / F16
    const char *stories[2] = {"../shared/models/stories260K-f32.gguf", "../shared/models/stories260K-f16.gguf"};
    for (int k = 0; k < 2; k++) {
        ss_gguf *g = open_shared(stories[k]);
        char *arch = ss_gguf_get_str(g, "general.architecture");
        assert_string_equal(arch, "llama");
        free(arch);
        assert_int_equal(ss_gguf_get_int(g, "llama.block_count", 0), 5);
        assert_int_equal(ss_gguf_get_int(g, "llama.embedding_length", 0), 64);
        assert_int_equal(ss_gguf_get_int(g, "llama.attention.head_count", 0), 8);
        assert_int_equal(ss_gguf_get_int(g, "llama.attention.head_count_kv", 0), 4);
        const ss_gguf_kv *tok = ss_gguf_find(g, "tokenizer.ggml.tokens");
        assert_int_equal(tok->arr_type, SS_GGUF_STRING);
        assert_int_equal(tok->arr_n, 512);
        assert_int_equal(tok->arr_str[1].len, 3);
        assert_memory_equal(tok->arr_str[1].ptr, "<s>", 3);
        char *model = ss_gguf_get_str(g, "tokenizer.ggml.model");
        assert_string_equal(model, "llama");
        free(model);
        const ss_gguf_tensor *emb = ss_gguf_find_tensor(g, "token_embd.weight");
        assert_int_equal(emb->ne[0], 64);
        assert_int_equal(emb->ne[1], 512);
        assert_non_null(ss_gguf_find_tensor(g, "output.weight"));
        assert_non_null(ss_gguf_find_tensor(g, "blk.4.ffn_down.weight"));
        assert_null(ss_gguf_find_tensor(g, "blk.5.ffn_down.weight"));
        // 2 + 1 global tensors (token_embd, output_norm, output) + 9 per layer
        assert_int_equal(g->n_tensors, 3 + 5 * 9);
        assert_int_equal(ss_gguf_find_tensor(g, "blk.0.attn_q.weight")->type, k == 0 ? SS_TYPE_F32 : SS_TYPE_F16);
        assert_int_equal(ss_gguf_find_tensor(g, "blk.0.attn_k.weight")->ne[1], 32);   // 4 kv heads x 8
        ss_gguf_close(g);
    }
    // qwen2-synth-tiny: 2 layers, dim 256, 4 heads / 2 KV, QKV bias, tied, rope base 1e6,
    // Qwen2 tokenizer of 151936 tokens, Q4_K / Q6_K / F32
    ss_gguf *g = open_shared("../shared/models/qwen2-synth-tiny-q4_k_m.gguf");
    assert_int_equal(ss_gguf_get_int(g, "qwen2.block_count", 0), 2);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.embedding_length", 0), 256);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.attention.head_count", 0), 4);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.attention.head_count_kv", 0), 2);
    assert_true(ss_gguf_get_float(g, "qwen2.rope.freq_base", 0) == 1e6);
    assert_int_equal(ss_gguf_find(g, "tokenizer.ggml.tokens")->arr_n, 151936);
    assert_non_null(ss_gguf_find_tensor(g, "blk.0.attn_q.bias"));
    assert_null(ss_gguf_find_tensor(g, "output.weight"));
    int n_q4k = 0, n_q6k = 0, n_f32 = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint32_t t = g->tensors[i].type;
        n_q4k += t == SS_TYPE_Q4_K; n_q6k += t == SS_TYPE_Q6_K; n_f32 += t == SS_TYPE_F32;
    }
    assert_true(n_q4k > 0 && n_q6k > 0 && n_f32 > 0);
    assert_int_equal(n_q4k + n_q6k + n_f32, g->n_tensors);
    ss_gguf_close(g);
    // llama-synth-mini: 2 layers, dim 384, 6 heads / 2 KV, tied, Llama-2 tokenizer of 32000 tokens
    const char *minis[4] = {"q4_k_m", "q5_k_m", "q4_0", "bf16"};
    for (int k = 0; k < 4; k++) {
        char path[256];
        snprintf(path, sizeof path, "../shared/models/llama-synth-mini-%s.gguf", minis[k]);
        g = open_shared(path);
        assert_int_equal(ss_gguf_get_int(g, "llama.block_count", 0), 2);
        assert_int_equal(ss_gguf_get_int(g, "llama.embedding_length", 0), 384);
        assert_int_equal(ss_gguf_get_int(g, "llama.attention.head_count", 0), 6);
        assert_int_equal(ss_gguf_get_int(g, "llama.attention.head_count_kv", 0), 2);
        assert_int_equal(ss_gguf_find(g, "tokenizer.ggml.tokens")->arr_n, 32000);
        assert_int_equal(ss_gguf_find_tensor(g, "token_embd.weight")->ne[1], 32000);
        ss_gguf_close(g);
    }
    // every vocab file and testbed model opens
    const char *dirs[2] = {"../shared/tokenizers", "../shared/testbed"};
    int n_files = 0;
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 5, ".gguf")) continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dirs[k], e->d_name);
            g = open_shared(path);
            const ss_gguf_kv *tok = ss_gguf_find(g, "tokenizer.ggml.tokens");
            assert_non_null(tok);
            if (strstr(e->d_name, "vocab-qwen2")) assert_int_equal(tok->arr_n, 151936);
            if (strstr(e->d_name, "vocab-llama-spm")) assert_int_equal(tok->arr_n, 32000);
            if (strstr(e->d_name, "vocab-gpt-2")) assert_int_equal(tok->arr_n, 50257);
            ss_gguf_close(g);
            n_files++;
        }
        closedir(d);
    }
    assert_true(n_files >= 12);
}

// ---------------------------------------------------------------- gen-model

static int run_gen(const char *a0, ...) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "gen-model";
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return cmd_gen_model(argc, argv);
}

static void test_gen_model_tiny(void **state) {
    char p1[300], p2[300], p3[300], p4[300], err[SS_ERRLEN];
    tmp_path(p1, sizeof p1, "tiny1.gguf");
    tmp_path(p2, sizeof p2, "tiny2.gguf");
    tmp_path(p3, sizeof p3, "tiny3.gguf");
    tmp_path(p4, sizeof p4, "tiny4.gguf");
    const char *vocab = "../shared/models/stories260K-f32.gguf";
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, "--seed", "7", "-t", "1", "-o", p1, NULL), 0);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, "--seed", "7", "-t", "2", "-o", p2, NULL), 0);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, "--seed", "8", "-t", "1", "-o", p3, NULL), 0);
    assert_int_equal(run_gen("--like", "tiny", "--type", "f32", "--vocab-from", vocab, "--seed", "7", "-t", "1", "-o", p4, NULL), 0);
    size_t n1, n2, n3;
    char *b1 = ss_read_file(p1, &n1, err, sizeof err), *b2 = ss_read_file(p2, &n2, err, sizeof err);
    char *b3 = ss_read_file(p3, &n3, err, sizeof err);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);           // same seed, different thread count: same bytes
    assert_int_equal(n1, n3);
    assert_true(memcmp(b1, b3, n1) != 0);      // different seed: different weights
    free(b1); free(b2); free(b3);

    ss_gguf *g = NULL, *gf = NULL;
    assert_int_equal(ss_gguf_open(&g, p1, err, sizeof err), 0);
    assert_int_equal(ss_gguf_open(&gf, p4, err, sizeof err), 0);
    char *arch = ss_gguf_get_str(g, "general.architecture");
    assert_string_equal(arch, "qwen2");
    free(arch);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.embedding_length", 0), 64);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.block_count", 0), 2);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.attention.head_count", 0), 4);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.attention.head_count_kv", 0), 2);
    assert_int_equal(ss_gguf_get_int(g, "qwen2.feed_forward_length", 0), 128);
    assert_true(ss_gguf_get_int(g, "qwen2.context_length", 0) > 0);
    assert_true(ss_gguf_get_float(g, "qwen2.rope.freq_base", 0) == 1e6);
    assert_true(fabs(ss_gguf_get_float(g, "qwen2.attention.layer_norm_rms_epsilon", 0) - 1e-6) < 1e-12);
    assert_int_equal(ss_gguf_get_int(g, "general.file_type", -1), 7);      // LLAMA_FTYPE_MOSTLY_Q8_0
    // tokenizer keys copied from the vocab file: same types and bytes
    ss_gguf *v = NULL;
    assert_int_equal(ss_gguf_open(&v, vocab, err, sizeof err), 0);
    int n_tok_keys = 0;
    for (uint64_t i = 0; i < v->n_kv; i++) {
        const ss_gguf_kv *a = &v->kv[i];
        if (strncmp(a->key, "tokenizer.", 10)) continue;
        n_tok_keys++;
        const ss_gguf_kv *b = ss_gguf_find(g, a->key);
        assert_non_null(b);
        assert_int_equal(a->type, b->type);
        if (a->type == SS_GGUF_ARRAY) {
            assert_int_equal(a->arr_bytes, b->arr_bytes);
            assert_memory_equal(a->arr_data, b->arr_data, a->arr_bytes);
        } else if (a->type == SS_GGUF_STRING) {
            assert_int_equal(a->v.s.len, b->v.s.len);
            assert_memory_equal(a->v.s.ptr, b->v.s.ptr, a->v.s.len);
        } else {
            assert_true(a->v.u64 == b->v.u64);
        }
    }
    assert_true(n_tok_keys >= 5);
    ss_gguf_close(v);
    // tensors: qwen2 layout with tied embeddings, vocab size from the tokenizer
    assert_int_equal(g->n_tensors, 2 + 2 * 12);
    const ss_gguf_tensor *emb = ss_gguf_find_tensor(g, "token_embd.weight");
    assert_int_equal(emb->ne[0], 64);
    assert_int_equal(emb->ne[1], 512);
    assert_null(ss_gguf_find_tensor(g, "output.weight"));
    assert_int_equal(ss_gguf_find_tensor(g, "blk.1.attn_k.weight")->ne[1], 32);     // 2 kv heads x 16
    assert_int_equal(ss_gguf_find_tensor(g, "blk.1.attn_k.bias")->ne[0], 32);
    assert_int_equal(ss_gguf_find_tensor(g, "blk.0.ffn_down.weight")->ne[0], 128);
    assert_int_equal(ss_gguf_find_tensor(g, "blk.0.ffn_down.weight")->ne[1], 64);
    assert_int_equal(ss_gguf_find_tensor(g, "blk.0.attn_q.weight")->type, SS_TYPE_Q8_0);
    assert_int_equal(ss_gguf_find_tensor(g, "blk.0.attn_q.bias")->type, SS_TYPE_F32);
    assert_int_equal(ss_gguf_find_tensor(g, "blk.0.attn_norm.weight")->type, SS_TYPE_F32);
    // weights: matrices and biases ~ N(0, 0.02^2), norms ~ 1 + N(0, 0.02^2). The F32 file shows the
    // generated values; the Q8_0 file must dequantize to them within Q8_0's rounding (amax/254 per block).
    double sum = 0, sum2 = 0, nsum = 0;
    int64_t n = 0, nn = 0;
    for (uint64_t i = 0; i < gf->n_tensors; i++) {
        const ss_gguf_tensor *tf = &gf->tensors[i], *tq = ss_gguf_find_tensor(g, tf->name);
        assert_int_equal(tf->type, SS_TYPE_F32);
        int64_t ne = ss_gguf_tensor_nelements(tf);
        const float *x = tf->data;
        float *y = malloc((size_t)ne * sizeof(float));
        for (int64_t r = 0; r < ne / tf->ne[0]; r++)
            ss_dequant_row(tq->type, (const uint8_t *)tq->data + r * ss_row_size(tq->type, tf->ne[0]), y + r * tf->ne[0], tf->ne[0]);
        for (int64_t j = 0; j < ne; j++) {
            assert_true(fabsf(x[j] - y[j]) <= (tq->type == SS_TYPE_F32 ? 0 : 0.0005f));
            if (strstr(tf->name, "norm")) { nsum += x[j]; nn++; }
            else { sum += x[j]; sum2 += (double)x[j] * x[j]; n++; }
            assert_true(fabsf(x[j] - (strstr(tf->name, "norm") ? 1.0f : 0.0f)) < 0.0700f);   // |z| <= 2 sqrt(3)
        }
        free(y);
    }
    double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    assert_true(n > 100000);
    assert_true(fabs(mean) < 0.0005);
    assert_true(fabs(sd - 0.02) < 0.0005);
    assert_true(fabs(nsum / nn - 1.0) < 0.005);
    ss_gguf_close(g);
    ss_gguf_close(gf);
}

// --shape-from a llama.cpp-quantized file: same tensor names, order, shapes and types as the
// file llama-quantize wrote (the reference for the per-tensor type rules), same hyperparameters
static void test_gen_model_matches_llama_quantize(void **state) {
    struct { const char *file, *type; } cases[] = {
        {"../shared/models/llama-synth-mini-q4_0.gguf", "q4_0"},
        {"../shared/testbed/tinymath-q4_k_m.gguf", "q4_k_m"},
        {"../shared/testbed/tinymath-q8_0.gguf", "q8_0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char out[300], err[SS_ERRLEN];
        tmp_path(out, sizeof out, "shape.gguf");
        assert_int_equal(run_gen("--shape-from", cases[c].file, "--type", cases[c].type, "-t", "1", "-o", out, NULL), 0);
        ss_gguf *a = NULL, *b = NULL;
        assert_int_equal(ss_gguf_open(&a, cases[c].file, err, sizeof err), 0);
        assert_int_equal(ss_gguf_open(&b, out, err, sizeof err), 0);
        assert_int_equal(a->n_tensors, b->n_tensors);
        for (uint64_t i = 0; i < a->n_tensors; i++) {
            const ss_gguf_tensor *x = &a->tensors[i], *y = &b->tensors[i];
            assert_string_equal(x->name, y->name);
            if (x->type != y->type) fprintf(stderr, "%s: %s: %u vs %u\n", cases[c].file, x->name, x->type, y->type);
            assert_int_equal(x->type, y->type);
            assert_int_equal(x->n_dims, y->n_dims);
            for (int d = 0; d < 4; d++) assert_int_equal(x->ne[d], y->ne[d]);
            assert_int_equal(x->nbytes, y->nbytes);
        }
        const char *arch = strstr(cases[c].file, "llama") ? "llama" : "qwen2";
        const char *keys[] = {"block_count", "embedding_length", "feed_forward_length", "attention.head_count",
                              "attention.head_count_kv", "context_length"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            char key[128];
            snprintf(key, sizeof key, "%s.%s", arch, keys[k]);
            assert_int_equal(ss_gguf_get_int(a, key, -1), ss_gguf_get_int(b, key, -2));
        }
        char key[128];
        snprintf(key, sizeof key, "%s.rope.freq_base", arch);
        assert_true(ss_gguf_get_float(a, key, -1) == ss_gguf_get_float(b, key, -2));
        snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
        assert_true(ss_gguf_get_float(a, key, -1) == ss_gguf_get_float(b, key, -2));
        assert_int_equal(ss_gguf_get_int(a, "general.file_type", -1), ss_gguf_get_int(b, "general.file_type", -2));
        assert_int_equal(ss_gguf_find(a, "tokenizer.ggml.tokens")->arr_n, ss_gguf_find(b, "tokenizer.ggml.tokens")->arr_n);
        ss_gguf_close(a);
        ss_gguf_close(b);
    }
}

static void test_gen_model_bad_args(void **state) {
    char out[300];
    tmp_path(out, sizeof out, "never.gguf");
    const char *vocab = "../shared/models/stories260K-f32.gguf";
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, "--bogus", "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "gpt5", "--type", "q8_0", "--vocab-from", vocab, "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q3_k", "--vocab-from", vocab, "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", vocab, "--seed", "-1", "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--shape-from", vocab, "--type", "q8_0", "-o", out, NULL), 2);
    assert_int_equal(run_gen("--like", "tiny", "--type", "q8_0", "--vocab-from", "/nonexistent.gguf", "-o", out, NULL), 1);
    // a vocab-only file has no model shape
    assert_int_equal(run_gen("--shape-from", "../shared/tokenizers/ggml-vocab-qwen2.gguf", "--type", "q8_0", "-o", out, NULL), 1);
    assert_int_equal(access(out, F_OK), -1);
}

static int teardown_tmp(void **state) {
    if (tmpdir[0]) {
        DIR *d = opendir(tmpdir);
        struct dirent *e;
        char p[600];
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        if (d) closedir(d);
        rmdir(tmpdir);
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_valid),
        cmocka_unit_test(test_bad_magic_and_versions),
        cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_tensor_infos),
        cmocka_unit_test(test_duplicate_keys_and_alignment),
        cmocka_unit_test(test_nested_arrays),
        cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_many_names),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_real_models),
        cmocka_unit_test(test_gen_model_tiny),
        cmocka_unit_test(test_gen_model_matches_llama_quantize),
        cmocka_unit_test(test_gen_model_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_tmp);
}
