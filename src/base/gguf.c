// gguf.c — GGUF v2/v3 reader (mmap, every field validated before use) and writer (v3, atomic,
// streaming tensor data).
//
// File layout (all little-endian):
//   "GGUF" u32 version  u64 n_tensors  u64 n_kv
//   n_kv x      { string key, u32 type, value }
//   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
//   padding to general.alignment (default 32)
//   tensor data (each tensor at data_offset + offset, offset a multiple of the alignment)
// string = u64 len + bytes (no NUL); array value = u32 elem_type + u64 n + n elements.
// Version 1 used u32 counts and lengths and is refused; 2 and 3 have the same layout.
//
// Hostile input: every count and length is checked against the bytes left in the file before
// anything is allocated or read, so a small file can never cause a large allocation, and the
// work done is linear in the file size.
#include "ss_gguf.h"
#include "ss_outfile.h"
#include "ss_quant.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define GGUF_MAGIC            0x46554747u   // "GGUF" read as a little-endian u32
#define GGUF_DEFAULT_ALIGN    32
#define GGUF_MAX_NAME         64            // ggml's GGML_MAX_NAME: tensor names are < 64 bytes
#define GGUF_MAX_KEY          65535
#define GGUF_MAX_ARRAY_DEPTH  8
#define GGUF_MAX_ALIGN        (1u << 30)

// ---------------------------------------------------------------- value types

static const struct { const char *name; size_t size; } gguf_vtypes[] = {
    [SS_GGUF_UINT8]  = {"u8", 1},  [SS_GGUF_INT8]    = {"i8", 1},
    [SS_GGUF_UINT16] = {"u16", 2}, [SS_GGUF_INT16]   = {"i16", 2},
    [SS_GGUF_UINT32] = {"u32", 4}, [SS_GGUF_INT32]   = {"i32", 4},
    [SS_GGUF_FLOAT32]= {"f32", 4}, [SS_GGUF_BOOL]    = {"bool", 1},
    [SS_GGUF_STRING] = {"string", 0}, [SS_GGUF_ARRAY] = {"array", 0},
    [SS_GGUF_UINT64] = {"u64", 8}, [SS_GGUF_INT64]   = {"i64", 8},
    [SS_GGUF_FLOAT64]= {"f64", 8},
};
#define GGUF_N_VTYPES (sizeof gguf_vtypes / sizeof gguf_vtypes[0])

const char *ss_gguf_vtype_name(uint32_t t) { return t < GGUF_N_VTYPES ? gguf_vtypes[t].name : "?"; }
size_t ss_gguf_vtype_size(uint32_t t) { return t < GGUF_N_VTYPES ? gguf_vtypes[t].size : 0; }

static bool gguf_vtype_is_int(uint32_t t) {
    return t <= SS_GGUF_INT32 || t == SS_GGUF_UINT64 || t == SS_GGUF_INT64;
}
static bool gguf_vtype_is_signed(uint32_t t) {
    return t == SS_GGUF_INT8 || t == SS_GGUF_INT16 || t == SS_GGUF_INT32 || t == SS_GGUF_INT64;
}

static uint16_t gguf_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t gguf_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t gguf_le64(const uint8_t *p) { return (uint64_t)gguf_le32(p) | (uint64_t)gguf_le32(p + 4) << 32; }

// decode one scalar of type t at p into the kv's union (integers widened, floats to double)
static void gguf_decode_scalar(ss_gguf_kv *kv, uint32_t t, const uint8_t *p) {
    switch (t) {
    case SS_GGUF_UINT8:   kv->v.u64 = p[0]; break;
    case SS_GGUF_INT8:    kv->v.i64 = (int8_t)p[0]; break;
    case SS_GGUF_UINT16:  kv->v.u64 = gguf_le16(p); break;
    case SS_GGUF_INT16:   kv->v.i64 = (int16_t)gguf_le16(p); break;
    case SS_GGUF_UINT32:  kv->v.u64 = gguf_le32(p); break;
    case SS_GGUF_INT32:   kv->v.i64 = (int32_t)gguf_le32(p); break;
    case SS_GGUF_UINT64:  kv->v.u64 = gguf_le64(p); break;
    case SS_GGUF_INT64:   kv->v.i64 = (int64_t)gguf_le64(p); break;
    case SS_GGUF_BOOL:    kv->v.b = p[0] != 0; break;
    case SS_GGUF_FLOAT32: { uint32_t u = gguf_le32(p); float f; memcpy(&f, &u, 4); kv->v.f64 = f; break; }
    case SS_GGUF_FLOAT64: { uint64_t u = gguf_le64(p); memcpy(&kv->v.f64, &u, 8); break; }
    }
}

// ---------------------------------------------------------------- name index
// ss_gguf_kv and ss_gguf_tensor both start with their NUL-terminated name (char *), so one
// comparator sorts either kind of pointer array by name.

static int gguf_cmp_name(const void *a, const void *b) {
    const char *x = **(char *const *const *)a, *y = **(char *const *const *)b;
    return strcmp(x, y);
}

// binary search in `sorted` (n pointers to structs whose first field is the name)
static const void *gguf_index_find(void *const *sorted, uint64_t n, const char *name) {
    if (!sorted || !name) return NULL;
    size_t lo = 0, hi = (size_t)n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(*(char *const *)sorted[mid], name);
        if (c == 0) return sorted[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

// ---------------------------------------------------------------- reader

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    const char *name;       // used in messages
    char *err; size_t errlen;
} gguf_rd;

static int gguf_fail(gguf_rd *r, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int gguf_fail(gguf_rd *r, size_t off, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ss_err(r->err, r->errlen, "%s: offset %zu: %s", r->name, off, msg);
}

// printable copy of a hostile name for messages (non-printable bytes as \xNN, at most ~64 chars)
static void gguf_printable(char *out, size_t outlen, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 64) { memcpy(out + o, "...", 3); o += 3; break; }
        if (c >= 0x20 && c < 0x7f && c != '\'') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    out[o] = 0;
}

static int gguf_tfail(gguf_rd *r, const char *tname, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int gguf_tfail(gguf_rd *r, const char *tname, const char *fmt, ...) {
    char msg[384], nm[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gguf_printable(nm, sizeof nm, tname, strlen(tname));
    return ss_err(r->err, r->errlen, "%s: tensor '%s': %s", r->name, nm, msg);
}

static size_t gguf_left(const gguf_rd *r) { return r->size - r->pos; }

static int gguf_need(gguf_rd *r, size_t n, const char *what) {
    if (gguf_left(r) < n)
        return gguf_fail(r, r->pos, "unexpected end of file reading %s (%zu bytes needed, %zu left)",
                         what, n, gguf_left(r));
    return 0;
}

static int gguf_u32(gguf_rd *r, uint32_t *v, const char *what) {
    if (gguf_need(r, 4, what)) return -1;
    *v = gguf_le32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

static int gguf_u64(gguf_rd *r, uint64_t *v, const char *what) {
    if (gguf_need(r, 8, what)) return -1;
    *v = gguf_le64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

static int gguf_str(gguf_rd *r, ss_gguf_str *s, const char *what) {
    size_t off = r->pos;
    uint64_t len;
    if (gguf_u64(r, &len, what)) return -1;
    if (len > gguf_left(r))
        return gguf_fail(r, off, "%s length %llu exceeds the %zu bytes left in the file",
                         what, (unsigned long long)len, gguf_left(r));
    s->len = len;
    s->ptr = (const char *)r->p + r->pos;
    r->pos += (size_t)len;
    return 0;
}

// validate and skip one array body (elem type, count, elements); used for nested arrays
static int gguf_skip_array(gguf_rd *r, int depth) {
    size_t off = r->pos;
    uint32_t t;
    uint64_t n;
    if (depth > GGUF_MAX_ARRAY_DEPTH)
        return gguf_fail(r, off, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    if (gguf_u32(r, &t, "array element type") || gguf_u64(r, &n, "array length")) return -1;
    if (t >= GGUF_N_VTYPES) return gguf_fail(r, off, "unknown array element type %u", t);
    if (t == SS_GGUF_STRING) {
        if (n > gguf_left(r) / 8)
            return gguf_fail(r, off, "array of %llu strings exceeds the %zu bytes left in the file",
                             (unsigned long long)n, gguf_left(r));
        for (uint64_t i = 0; i < n; i++) {
            ss_gguf_str s;
            if (gguf_str(r, &s, "string")) return -1;
        }
    } else if (t == SS_GGUF_ARRAY) {
        if (n > gguf_left(r) / 12)
            return gguf_fail(r, off, "array of %llu arrays exceeds the %zu bytes left in the file",
                             (unsigned long long)n, gguf_left(r));
        for (uint64_t i = 0; i < n; i++)
            if (gguf_skip_array(r, depth + 1)) return -1;
    } else {
        size_t es = gguf_vtypes[t].size;
        if (n > gguf_left(r) / es)
            return gguf_fail(r, off, "array of %llu %s exceeds the %zu bytes left in the file",
                             (unsigned long long)n, gguf_vtypes[t].name, gguf_left(r));
        r->pos += (size_t)n * es;
    }
    return 0;
}

// read the value of kv (its type already read)
static int gguf_read_value(gguf_rd *r, ss_gguf_kv *kv) {
    size_t off = r->pos;
    uint32_t t = kv->type;
    char key[300];   // printable key for messages
    gguf_printable(key, sizeof key, kv->key, strlen(kv->key));
    if (t >= GGUF_N_VTYPES) return gguf_fail(r, off - 4, "key '%s': unknown value type %u", key, t);
    if (t == SS_GGUF_STRING) return gguf_str(r, &kv->v.s, "string value");
    if (t != SS_GGUF_ARRAY) {
        if (gguf_need(r, gguf_vtypes[t].size, "value")) return -1;
        gguf_decode_scalar(kv, t, r->p + r->pos);
        r->pos += gguf_vtypes[t].size;
        return 0;
    }
    uint64_t n;
    if (gguf_u32(r, &kv->arr_type, "array element type") || gguf_u64(r, &n, "array length")) return -1;
    uint32_t at = kv->arr_type;
    if (at >= GGUF_N_VTYPES) return gguf_fail(r, off, "key '%s': unknown array element type %u", key, at);
    kv->arr_n = n;
    kv->arr_data = r->p + r->pos;
    size_t start = r->pos;
    if (at == SS_GGUF_STRING) {
        if (n > gguf_left(r) / 8)
            return gguf_fail(r, off, "key '%s': array of %llu strings exceeds the %zu bytes left in the file",
                             key, (unsigned long long)n, gguf_left(r));
        kv->arr_str = ss_malloc((size_t)(n ? n : 1) * sizeof(ss_gguf_str));
        if (!kv->arr_str) return gguf_fail(r, r->pos, "out of memory");
        for (uint64_t i = 0; i < n; i++)
            if (gguf_str(r, &kv->arr_str[i], "array string")) return -1;
    } else if (at == SS_GGUF_ARRAY) {
        // arrays of arrays: validated and skipped (no reader needs them); raw bytes kept for copies
        if (n > gguf_left(r) / 12)
            return gguf_fail(r, off, "key '%s': array of %llu arrays exceeds the %zu bytes left in the file",
                             key, (unsigned long long)n, gguf_left(r));
        for (uint64_t i = 0; i < n; i++)
            if (gguf_skip_array(r, 2)) return -1;
    } else {
        size_t es = gguf_vtypes[at].size;
        if (n > gguf_left(r) / es)
            return gguf_fail(r, off, "key '%s': array of %llu %s exceeds the %zu bytes left in the file",
                             key, (unsigned long long)n, gguf_vtypes[at].name, gguf_left(r));
        r->pos += (size_t)n * es;
    }
    kv->arr_bytes = r->pos - start;
    return 0;
}

static void gguf_free_contents(ss_gguf *g) {
    if (g->kv) {
        for (uint64_t i = 0; i < g->n_kv; i++) { free(g->kv[i].key); free(g->kv[i].arr_str); }
        free(g->kv);
    }
    if (g->tensors) {
        for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
        free(g->tensors);
    }
    free(g->kv_sorted);
    free(g->t_sorted);
}

void ss_gguf_close(ss_gguf *g) {
    if (!g) return;
    gguf_free_contents(g);
    if (g->owns_map && g->map && g->size) munmap((void *)g->map, g->size);
    free(g->path);
    free(g);
}

static int gguf_cmp_offset(const void *a, const void *b) {
    const ss_gguf_tensor *x = *(ss_gguf_tensor *const *)a, *y = *(ss_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

// checked a*b for non-negative values; false on overflow
static bool gguf_mul(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

// parse and validate the whole file held in g->map / g->size
static int gguf_parse(ss_gguf *g, char *err, size_t errlen) {
    gguf_rd rd = { g->map, g->size, 0, g->path, err, errlen }, *r = &rd;
    uint32_t magic, version;

    if (r->size < 4) return gguf_fail(r, 0, "file too small to be GGUF (%zu bytes)", r->size);
    magic = gguf_le32(r->p);
    if (magic != GGUF_MAGIC) {
        char m[32];
        gguf_printable(m, sizeof m, (const char *)r->p, 4);
        return gguf_fail(r, 0, "not a GGUF file (magic '%s', expected 'GGUF')", m);
    }
    r->pos = 4;
    if (gguf_u32(r, &version, "version")) return -1;
    if (version == 1) return gguf_fail(r, 4, "unsupported GGUF version 1 (only versions 2 and 3 are supported)");
    if (version != 2 && version != 3) {
        if ((version & 0xffff) == 0 && version)
            return gguf_fail(r, 4, "unsupported GGUF version %u (big-endian file?)", version);
        return gguf_fail(r, 4, "unsupported GGUF version %u", version);
    }
    g->version = version;

    uint64_t n_tensors, n_kv;
    size_t off_nt = r->pos;
    if (gguf_u64(r, &n_tensors, "tensor count")) return -1;
    size_t off_nkv = r->pos;
    if (gguf_u64(r, &n_kv, "key/value count")) return -1;
    // a key/value takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8
    if (n_kv > gguf_left(r) / 13)
        return gguf_fail(r, off_nkv, "key/value count %llu exceeds what the %zu bytes left in the file can hold",
                         (unsigned long long)n_kv, gguf_left(r));
    if (n_tensors > gguf_left(r) / 32)
        return gguf_fail(r, off_nt, "tensor count %llu exceeds what the %zu bytes left in the file can hold",
                         (unsigned long long)n_tensors, gguf_left(r));

    // ---- key/values
    g->kv = ss_calloc((size_t)(n_kv ? n_kv : 1), sizeof(ss_gguf_kv));
    if (!g->kv) return gguf_fail(r, r->pos, "out of memory");
    for (uint64_t i = 0; i < n_kv; i++) {
        ss_gguf_kv *kv = &g->kv[i];
        size_t off = r->pos;
        ss_gguf_str key;
        if (gguf_str(r, &key, "key")) return -1;
        g->n_kv = i + 1;   // from here on kv[i] owns memory to free
        if (key.len == 0) return gguf_fail(r, off, "empty key");
        if (key.len > GGUF_MAX_KEY) return gguf_fail(r, off, "key length %llu exceeds %d", (unsigned long long)key.len, GGUF_MAX_KEY);
        if (memchr(key.ptr, 0, (size_t)key.len)) {
            char nm[300];
            gguf_printable(nm, sizeof nm, key.ptr, (size_t)key.len);
            return gguf_fail(r, off, "key '%s' contains a NUL byte", nm);
        }
        kv->key = ss_strndup(key.ptr, (size_t)key.len);
        if (!kv->key) return gguf_fail(r, r->pos, "out of memory");
        kv->offset = off;
        if (gguf_u32(r, &kv->type, "value type") || gguf_read_value(r, kv)) return -1;
    }
    // keys sorted by name: duplicates are neighbours (reported at the later occurrence)
    g->kv_sorted = ss_malloc((size_t)(n_kv ? n_kv : 1) * sizeof *g->kv_sorted);
    if (!g->kv_sorted) return gguf_fail(r, r->pos, "out of memory");
    for (uint64_t i = 0; i < n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, (size_t)n_kv, sizeof *g->kv_sorted, gguf_cmp_name);
    for (uint64_t i = 0; i + 1 < n_kv; i++)
        if (!strcmp(g->kv_sorted[i]->key, g->kv_sorted[i + 1]->key)) {
            const ss_gguf_kv *a = g->kv_sorted[i], *b = g->kv_sorted[i + 1];
            char nm[300];
            gguf_printable(nm, sizeof nm, a->key, strlen(a->key));
            return gguf_fail(r, a->offset > b->offset ? a->offset : b->offset, "duplicate key '%s'", nm);
        }

    // ---- general.alignment
    g->alignment = GGUF_DEFAULT_ALIGN;
    const ss_gguf_kv *al = ss_gguf_find(g, "general.alignment");
    if (al) {
        if (!gguf_vtype_is_int(al->type))
            return gguf_fail(r, al->offset, "general.alignment: must be an integer, not %s", ss_gguf_vtype_name(al->type));
        bool neg = gguf_vtype_is_signed(al->type) && al->v.i64 < 0;
        uint64_t a = al->v.u64;
        if (neg || a == 0 || (a & (a - 1)) || a > GGUF_MAX_ALIGN)
            return gguf_fail(r, al->offset, "general.alignment: %lld is not a power of two between 1 and %u",
                             (long long)al->v.i64, GGUF_MAX_ALIGN);
        g->alignment = (size_t)a;
    }

    // ---- tensor infos
    g->tensors = ss_calloc((size_t)(n_tensors ? n_tensors : 1), sizeof(ss_gguf_tensor));
    if (!g->tensors) return gguf_fail(r, r->pos, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++) {
        ss_gguf_tensor *t = &g->tensors[i];
        size_t off = r->pos;
        ss_gguf_str name;
        if (gguf_str(r, &name, "tensor name")) return -1;
        char nm[300];
        gguf_printable(nm, sizeof nm, name.ptr, (size_t)name.len);
        if (name.len == 0) return gguf_fail(r, off, "tensor %llu has an empty name", (unsigned long long)i);
        if (name.len >= GGUF_MAX_NAME)
            return gguf_fail(r, off, "tensor name '%s' is %llu bytes long (limit %d)", nm,
                             (unsigned long long)name.len, GGUF_MAX_NAME - 1);
        if (memchr(name.ptr, 0, (size_t)name.len)) return gguf_fail(r, off, "tensor name '%s' contains a NUL byte", nm);
        t->name = ss_strndup(name.ptr, (size_t)name.len);
        if (!t->name) return gguf_fail(r, r->pos, "out of memory");
        g->n_tensors = i + 1;
        if (gguf_u32(r, &t->n_dims, "tensor n_dims")) return -1;
        if (t->n_dims < 1 || t->n_dims > 4)
            return gguf_tfail(r, t->name, "n_dims %u is not in 1..4 (offset %zu)", t->n_dims, r->pos - 4);
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            if (gguf_u64(r, &ne, "tensor dimension")) return -1;
            if (ne == 0 || ne > (uint64_t)INT64_MAX)
                return gguf_tfail(r, t->name, "dimension %u is %lld (must be > 0)", d, (long long)ne);
            t->ne[d] = (int64_t)ne;
        }
        if (gguf_u32(r, &t->type, "tensor type")) return -1;
        if (gguf_u64(r, &t->offset, "tensor offset")) return -1;

        const ss_type_info_t *ti = ss_type_info(t->type);
        if (!ti || !ti->name || ti->blck <= 0 || ti->type_size == 0)
            return gguf_tfail(r, t->name, "unknown tensor type %u", t->type);
        // element count ne0*ne1*ne2*ne3 must fit in int64
        uint64_t nel = 1;
        for (int d = 0; d < 4; d++)
            if (!gguf_mul(nel, (uint64_t)t->ne[d], &nel) || nel > (uint64_t)INT64_MAX)
                return gguf_tfail(r, t->name, "element count overflows (shape %lld x %lld x %lld x %lld)",
                                  (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
        if (t->ne[0] % ti->blck)
            return gguf_tfail(r, t->name, "row length %lld is not a multiple of the %s block size %d",
                              (long long)t->ne[0], ti->name, ti->blck);
        uint64_t row_bytes, nbytes;
        if (!gguf_mul((uint64_t)(t->ne[0] / ti->blck), ti->type_size, &row_bytes) ||
            !gguf_mul(row_bytes, nel / (uint64_t)t->ne[0], &nbytes) || nbytes > SIZE_MAX)
            return gguf_tfail(r, t->name, "data size overflows");
        t->nbytes = (size_t)nbytes;
        if (t->offset % g->alignment)
            return gguf_tfail(r, t->name, "data offset %llu is not a multiple of the alignment %zu",
                              (unsigned long long)t->offset, g->alignment);
    }

    // tensor names sorted: duplicates are neighbours
    g->t_sorted = ss_malloc((size_t)(n_tensors ? n_tensors : 1) * sizeof *g->t_sorted);
    if (!g->t_sorted) return gguf_fail(r, r->pos, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++) g->t_sorted[i] = &g->tensors[i];
    qsort(g->t_sorted, (size_t)n_tensors, sizeof *g->t_sorted, gguf_cmp_name);
    for (uint64_t i = 0; i + 1 < n_tensors; i++)
        if (!strcmp(g->t_sorted[i]->name, g->t_sorted[i + 1]->name))
            return gguf_tfail(r, g->t_sorted[i]->name, "duplicate tensor name");

    // ---- data section
    size_t end_infos = r->pos;
    size_t data_offset = end_infos + (g->alignment - end_infos % g->alignment) % g->alignment;
    if (data_offset < end_infos) return gguf_fail(r, end_infos, "data offset overflows");
    g->data_offset = data_offset;
    for (uint64_t i = 0; i < n_tensors; i++) {
        ss_gguf_tensor *t = &g->tensors[i];
        uint64_t begin = (uint64_t)data_offset + t->offset, end = begin + t->nbytes;
        if (begin < t->offset || end < begin || end > g->size)
            return gguf_tfail(r, t->name, "data [%llu, +%zu) lies outside the file (%zu bytes; truncated file?)",
                              (unsigned long long)t->offset, t->nbytes, g->size);
        t->data = g->map + begin;
    }
    // tensors must not overlap: sort by offset and compare neighbours
    if (n_tensors > 1) {
        ss_gguf_tensor **order = ss_malloc((size_t)n_tensors * sizeof *order);
        if (!order) return gguf_fail(r, r->pos, "out of memory");
        for (uint64_t i = 0; i < n_tensors; i++) order[i] = &g->tensors[i];
        qsort(order, (size_t)n_tensors, sizeof *order, gguf_cmp_offset);
        for (uint64_t i = 0; i + 1 < n_tensors; i++)
            if (order[i]->offset + order[i]->nbytes > order[i + 1]->offset) {
                char other[300];
                gguf_printable(other, sizeof other, order[i + 1]->name, strlen(order[i + 1]->name));
                int rc = gguf_tfail(r, order[i]->name, "data overlaps tensor '%s'", other);
                free(order);
                return rc;
            }
        free(order);
    }
    return 0;
}

int ss_gguf_open_mem(ss_gguf **out, const void *data, size_t size, const char *name, char *err, size_t errlen) {
    *out = NULL;
    ss_gguf *g = ss_calloc(1, sizeof *g);
    if (g) g->path = ss_strdup(name ? name : "<memory>");
    if (!g || !g->path) { ss_gguf_close(g); return ss_err(err, errlen, "%s: out of memory", name ? name : "<memory>"); }
    g->map = data;
    g->size = size;
    g->owns_map = 0;
    if (!data && size) { ss_gguf_close(g); return ss_err(err, errlen, "%s: no data", name ? name : "<memory>"); }
    if (gguf_parse(g, err, errlen)) { ss_gguf_close(g); return -1; }
    *out = g;
    return 0;
}

int ss_gguf_open(ss_gguf **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ss_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ss_err(err, errlen, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) { close(fd); return ss_err(err, errlen, "%s: not a regular file", path); }
    if (st.st_size == 0) { close(fd); return ss_err(err, errlen, "%s: offset 0: file is empty", path); }
    if ((uint64_t)st.st_size > SIZE_MAX) { close(fd); return ss_err(err, errlen, "%s: file too large", path); }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return ss_err(err, errlen, "%s: cannot mmap: %s", path, strerror(e));
    ss_gguf *g = ss_calloc(1, sizeof *g);
    if (g) g->path = ss_strdup(path);
    if (!g || !g->path) {
        if (g) free(g);
        munmap(map, (size_t)st.st_size);
        return ss_err(err, errlen, "%s: out of memory", path);
    }
    g->map = map;
    g->size = (size_t)st.st_size;
    g->owns_map = 1;
    if (gguf_parse(g, err, errlen)) { ss_gguf_close(g); return -1; }
    *out = g;
    return 0;
}

// ---------------------------------------------------------------- getters

const ss_gguf_kv *ss_gguf_find(const ss_gguf *g, const char *key) {
    return gguf_index_find((void *const *)g->kv_sorted, g->n_kv, key);
}

const ss_gguf_tensor *ss_gguf_find_tensor(const ss_gguf *g, const char *name) {
    return gguf_index_find((void *const *)g->t_sorted, g->n_tensors, name);
}

int64_t ss_gguf_tensor_nelements(const ss_gguf_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

int64_t ss_gguf_get_int(const ss_gguf *g, const char *key, int64_t def) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv || !gguf_vtype_is_int(kv->type)) return def;
    if (gguf_vtype_is_signed(kv->type)) return kv->v.i64;
    return kv->v.u64 > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)kv->v.u64;
}

double ss_gguf_get_float(const ss_gguf *g, const char *key, double def) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv) return def;
    if (kv->type == SS_GGUF_FLOAT32 || kv->type == SS_GGUF_FLOAT64) return kv->v.f64;
    if (!gguf_vtype_is_int(kv->type)) return def;
    return gguf_vtype_is_signed(kv->type) ? (double)kv->v.i64 : (double)kv->v.u64;
}

bool ss_gguf_get_bool(const ss_gguf *g, const char *key, bool def) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    return kv && kv->type == SS_GGUF_BOOL ? kv->v.b : def;
}

char *ss_gguf_get_str(const ss_gguf *g, const char *key) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv || kv->type != SS_GGUF_STRING) return NULL;
    return ss_strndup(kv->v.s.ptr, (size_t)kv->v.s.len);
}

int ss_gguf_get_str_opt(const ss_gguf *g, const char *key, char **out) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    *out = NULL;
    if (!kv || kv->type != SS_GGUF_STRING) return 0;
    *out = ss_strndup(kv->v.s.ptr, (size_t)kv->v.s.len);
    return *out ? 0 : -1;
}

// ---------------------------------------------------------------- writer

typedef struct { uint8_t *p; size_t n, cap; bool oom; } gguf_buf;   // oom: a growth failed (bytes lost)

static void gbuf_put(gguf_buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = ss_realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void gbuf_u32(gguf_buf *b, uint32_t v) {
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    gbuf_put(b, x, 4);
}
static void gbuf_u64(gguf_buf *b, uint64_t v) { gbuf_u32(b, (uint32_t)v); gbuf_u32(b, (uint32_t)(v >> 32)); }
static void gbuf_str(gguf_buf *b, const char *s, uint64_t len) { gbuf_u64(b, len); gbuf_put(b, s, (size_t)len); }

// scalar of type t from its C value to little-endian bytes
static void gbuf_scalar(gguf_buf *b, uint32_t t, const void *value) {
    uint8_t x[8];
    switch (t) {
    case SS_GGUF_UINT8: case SS_GGUF_INT8: memcpy(x, value, 1); gbuf_put(b, x, 1); break;
    case SS_GGUF_BOOL: x[0] = *(const bool *)value ? 1 : 0; gbuf_put(b, x, 1); break;
    case SS_GGUF_UINT16: case SS_GGUF_INT16: { uint16_t v; memcpy(&v, value, 2); x[0] = (uint8_t)v; x[1] = (uint8_t)(v >> 8); gbuf_put(b, x, 2); break; }
    case SS_GGUF_UINT32: case SS_GGUF_INT32: case SS_GGUF_FLOAT32: { uint32_t v; memcpy(&v, value, 4); gbuf_u32(b, v); break; }
    case SS_GGUF_UINT64: case SS_GGUF_INT64: case SS_GGUF_FLOAT64: { uint64_t v; memcpy(&v, value, 8); gbuf_u64(b, v); break; }
    }
}

typedef struct {
    char *key;
    uint32_t type;
    gguf_buf val;               // encoded value (after the type)
} gguf_wkv;

typedef struct {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    uint8_t *data;              // copied data, or NULL when produced by fn
    size_t nbytes;
    ss_gguf_rows_fn fn;
    void *user;
    uint64_t offset;
} gguf_wtensor;

struct ss_gguf_writer {
    gguf_wkv *kv;       size_t n_kv, cap_kv;
    gguf_wtensor *t;    size_t n_t, cap_t;
    char err[SS_ERRLEN];        // first invalid input (reported by write)
    int bad;
};

ss_gguf_writer *ss_gguf_writer_new(void) { return ss_calloc(1, sizeof(ss_gguf_writer)); }

void ss_gguf_writer_free(ss_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) { free(w->kv[i].key); free(w->kv[i].val.p); }
    for (size_t i = 0; i < w->n_t; i++) { free(w->t[i].name); free(w->t[i].data); }
    free(w->kv);
    free(w->t);
    free(w);
}

static void gguf_wfail(ss_gguf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gguf_wfail(ss_gguf_writer *w, const char *fmt, ...) {
    if (w->bad) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->bad = 1;
}

// the entry for key (replacing the value of an existing key, keeping its position)
static gguf_wkv *gguf_wkv_slot(ss_gguf_writer *w, const char *key, uint32_t type) {
    if (!key || !*key || strlen(key) > GGUF_MAX_KEY) { gguf_wfail(w, "invalid key '%s'", key ? key : "(null)"); return NULL; }
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) {
            w->kv[i].type = type;
            w->kv[i].val.n = 0;
            return &w->kv[i];
        }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        gguf_wkv *kv = ss_realloc(w->kv, cap * sizeof *w->kv);
        if (!kv) { gguf_wfail(w, "key '%s': out of memory", key); return NULL; }
        w->kv = kv;
        w->cap_kv = cap;
    }
    char *k = ss_strdup(key);
    if (!k) { gguf_wfail(w, "key '%s': out of memory", key); return NULL; }
    gguf_wkv *kv = &w->kv[w->n_kv++];
    memset(kv, 0, sizeof *kv);
    kv->key = k;
    kv->type = type;
    return kv;
}

void ss_gguf_writer_set_val(ss_gguf_writer *w, const char *key, uint32_t type, const void *value) {
    if (type >= GGUF_N_VTYPES || type == SS_GGUF_ARRAY) { gguf_wfail(w, "key '%s': bad scalar type %u", key, type); return; }
    gguf_wkv *kv = gguf_wkv_slot(w, key, type);
    if (!kv) return;
    if (type == SS_GGUF_STRING) {
        const ss_gguf_str *s = value;
        gbuf_str(&kv->val, s->ptr, s->len);
    } else {
        gbuf_scalar(&kv->val, type, value);
    }
}

void ss_gguf_writer_set_u32(ss_gguf_writer *w, const char *key, uint32_t v) { ss_gguf_writer_set_val(w, key, SS_GGUF_UINT32, &v); }
void ss_gguf_writer_set_i32(ss_gguf_writer *w, const char *key, int32_t v)  { ss_gguf_writer_set_val(w, key, SS_GGUF_INT32, &v); }
void ss_gguf_writer_set_u64(ss_gguf_writer *w, const char *key, uint64_t v) { ss_gguf_writer_set_val(w, key, SS_GGUF_UINT64, &v); }
void ss_gguf_writer_set_f32(ss_gguf_writer *w, const char *key, float v)    { ss_gguf_writer_set_val(w, key, SS_GGUF_FLOAT32, &v); }
void ss_gguf_writer_set_bool(ss_gguf_writer *w, const char *key, bool v)    { ss_gguf_writer_set_val(w, key, SS_GGUF_BOOL, &v); }
void ss_gguf_writer_set_str(ss_gguf_writer *w, const char *key, const char *v) {
    ss_gguf_str s = { strlen(v), v };
    ss_gguf_writer_set_val(w, key, SS_GGUF_STRING, &s);
}

void ss_gguf_writer_set_arr(ss_gguf_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t n) {
    size_t es = ss_gguf_vtype_size(elem_type);
    if (!es) { gguf_wfail(w, "key '%s': array element type %u is not a numeric type", key, elem_type); return; }
    gguf_wkv *kv = gguf_wkv_slot(w, key, SS_GGUF_ARRAY);
    if (!kv) return;
    gbuf_u32(&kv->val, elem_type);
    gbuf_u64(&kv->val, n);
    const uint8_t *p = data;
    for (uint64_t i = 0; i < n; i++) gbuf_scalar(&kv->val, elem_type, p + i * es);
}

void ss_gguf_writer_set_arr_str(ss_gguf_writer *w, const char *key, const ss_gguf_str *strs, uint64_t n) {
    gguf_wkv *kv = gguf_wkv_slot(w, key, SS_GGUF_ARRAY);
    if (!kv) return;
    gbuf_u32(&kv->val, SS_GGUF_STRING);
    gbuf_u64(&kv->val, n);
    for (uint64_t i = 0; i < n; i++) gbuf_str(&kv->val, strs[i].ptr, strs[i].len);
}

void ss_gguf_writer_copy_kv(ss_gguf_writer *w, const ss_gguf_kv *src) {
    gguf_wkv *kv = gguf_wkv_slot(w, src->key, src->type);
    if (!kv) return;
    switch (src->type) {
    case SS_GGUF_STRING: gbuf_str(&kv->val, src->v.s.ptr, src->v.s.len); break;
    case SS_GGUF_ARRAY:
        // the raw encoding read from the file is already little-endian GGUF
        gbuf_u32(&kv->val, src->arr_type);
        gbuf_u64(&kv->val, src->arr_n);
        gbuf_put(&kv->val, src->arr_data, src->arr_bytes);
        break;
    case SS_GGUF_BOOL: gbuf_scalar(&kv->val, src->type, &src->v.b); break;
    case SS_GGUF_FLOAT32: { float f = (float)src->v.f64; gbuf_scalar(&kv->val, src->type, &f); break; }
    case SS_GGUF_FLOAT64: gbuf_scalar(&kv->val, src->type, &src->v.f64); break;
    default: {
        // integers: narrow the widened value back to its width (little-endian host)
        uint8_t x[8];
        uint64_t u = src->v.u64;
        for (int i = 0; i < 8; i++) x[i] = (uint8_t)(u >> (8 * i));
        gbuf_put(&kv->val, x, ss_gguf_vtype_size(src->type));
    }
    }
}

static gguf_wtensor *gguf_wtensor_new(ss_gguf_writer *w, const char *name, uint32_t type,
                                      uint32_t n_dims, const int64_t *ne) {
    if (!name || !*name || strlen(name) >= GGUF_MAX_NAME) {
        gguf_wfail(w, "tensor '%s': name must be 1..%d bytes", name ? name : "(null)", GGUF_MAX_NAME - 1);
        return NULL;
    }
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) { gguf_wfail(w, "tensor '%s': duplicate tensor name", name); return NULL; }
    const ss_type_info_t *ti = ss_type_info(type);
    if (!ti || !ti->name || ti->blck <= 0) { gguf_wfail(w, "tensor '%s': unknown tensor type %u", name, type); return NULL; }
    if (n_dims < 1 || n_dims > 4) { gguf_wfail(w, "tensor '%s': n_dims %u is not in 1..4", name, n_dims); return NULL; }
    for (uint32_t d = 0; d < n_dims; d++)
        if (ne[d] <= 0) { gguf_wfail(w, "tensor '%s': dimension %u is %lld", name, d, (long long)ne[d]); return NULL; }
    if (ne[0] % ti->blck) {
        gguf_wfail(w, "tensor '%s': row length %lld is not a multiple of the %s block size %d",
                   name, (long long)ne[0], ti->name, ti->blck);
        return NULL;
    }
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        gguf_wtensor *nt = ss_realloc(w->t, cap * sizeof *w->t);
        if (!nt) { gguf_wfail(w, "tensor '%s': out of memory", name); return NULL; }
        w->t = nt;
        w->cap_t = cap;
    }
    char *nm = ss_strdup(name);
    if (!nm) { gguf_wfail(w, "tensor '%s': out of memory", name); return NULL; }
    gguf_wtensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++) t->ne[d] = d < (int)n_dims ? ne[d] : 1;
    t->nbytes = ss_row_size(type, t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
    return t;
}

void ss_gguf_writer_add_tensor(ss_gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const int64_t *ne, const void *data, size_t nbytes) {
    gguf_wtensor *t = gguf_wtensor_new(w, name, type, n_dims, ne);
    if (!t) return;
    if (nbytes != t->nbytes) {
        gguf_wfail(w, "tensor '%s': %zu data bytes given, its shape and type need %zu", name, nbytes, t->nbytes);
        return;
    }
    t->data = ss_malloc(nbytes);
    if (!t->data) { gguf_wfail(w, "tensor '%s': out of memory (%zu bytes)", name, nbytes); return; }
    memcpy(t->data, data, nbytes);
}

void ss_gguf_writer_add_tensor_rows(ss_gguf_writer *w, const char *name, uint32_t type,
                                    uint32_t n_dims, const int64_t *ne, ss_gguf_rows_fn fn, void *user) {
    gguf_wtensor *t = gguf_wtensor_new(w, name, type, n_dims, ne);
    if (!t) return;
    t->fn = fn;
    t->user = user;
}

static size_t gguf_pad(size_t n) { return (GGUF_DEFAULT_ALIGN - n % GGUF_DEFAULT_ALIGN) % GGUF_DEFAULT_ALIGN; }

// encode the header (magic .. tensor infos, without the padding) and assign tensor offsets
static void gguf_writer_header(ss_gguf_writer *w, gguf_buf *h, uint64_t *data_size) {
    gbuf_u32(h, GGUF_MAGIC);
    gbuf_u32(h, 3);
    gbuf_u64(h, w->n_t);
    gbuf_u64(h, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        gbuf_str(h, w->kv[i].key, strlen(w->kv[i].key));
        gbuf_u32(h, w->kv[i].type);
        gbuf_put(h, w->kv[i].val.p, w->kv[i].val.n);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        gguf_wtensor *t = &w->t[i];
        gbuf_str(h, t->name, strlen(t->name));
        gbuf_u32(h, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) gbuf_u64(h, (uint64_t)t->ne[d]);
        gbuf_u32(h, t->type);
        gbuf_u64(h, off);
        t->offset = off;
        off += t->nbytes + gguf_pad(t->nbytes);
    }
    *data_size = off;
}

uint64_t ss_gguf_writer_file_size(ss_gguf_writer *w) {
    if (w->bad) return 0;
    gguf_buf h = {0};
    uint64_t data_size;
    gguf_writer_header(w, &h, &data_size);
    uint64_t total = h.oom ? 0 : h.n + gguf_pad(h.n) + data_size;
    free(h.p);
    return total;
}

static int gguf_write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) { if (errno == EINTR) continue; return -1; }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int ss_gguf_writer_write(ss_gguf_writer *w, const char *path, char *err, size_t errlen) {
    if (w->bad) return ss_err(err, errlen, "%s: %s", path, w->err);
    gguf_buf h = {0};
    uint64_t data_size;
    gguf_writer_header(w, &h, &data_size);
    static const uint8_t zeros[GGUF_DEFAULT_ALIGN];
    gbuf_put(&h, zeros, gguf_pad(h.n));
    bool oom = h.oom;
    for (size_t i = 0; i < w->n_kv; i++) oom |= w->kv[i].val.oom;
    if (oom) { free(h.p); return ss_err(err, errlen, "%s: out of memory encoding the header", path); }
    // the output rules of ss_outfile.h: a regular file or a new path, a symlink's target
    char *res = ss_out_resolve(path, err, errlen), *tmp = NULL;
    int fd = res ? ss_out_tmp_open(res, &tmp, err, errlen) : -1;
    if (fd < 0) { free(res); free(h.p); return -1; }
    int rc = 0;
    uint8_t *chunk = NULL;
    if (gguf_write_all(fd, h.p, h.n)) { rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno)); goto done; }
    for (size_t i = 0; i < w->n_t; i++) {
        gguf_wtensor *t = &w->t[i];
        if (t->data) {
            if (gguf_write_all(fd, t->data, t->nbytes)) { rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno)); goto done; }
        } else {
            // stream the rows in chunks of about 16 MB
            size_t row_bytes = ss_row_size(t->type, t->ne[0]);
            int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
            int64_t per = (int64_t)((16u << 20) / row_bytes);
            if (per < 1) per = 1;
            if (per > rows) per = rows;
            free(chunk);
            chunk = ss_malloc((size_t)per * row_bytes);
            if (!chunk) { rc = ss_err(err, errlen, "%s: tensor '%s': out of memory", path, t->name); goto done; }
            for (int64_t r0 = 0; r0 < rows; r0 += per) {
                int64_t nr = rows - r0 < per ? rows - r0 : per;
                char msg[SS_ERRLEN] = "";
                if (t->fn(t->user, t->name, r0, nr, chunk, msg, sizeof msg)) {
                    rc = ss_err(err, errlen, "%s: tensor '%s': %s", path, t->name, msg[0] ? msg : "data generation failed");
                    goto done;
                }
                if (gguf_write_all(fd, chunk, (size_t)nr * row_bytes)) {
                    rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
                    goto done;
                }
            }
        }
        if (gguf_write_all(fd, zeros, gguf_pad(t->nbytes))) { rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno)); goto done; }
    }
done:
    if (rc == 0) rc = ss_out_commit(fd, tmp, res, err, errlen);
    else { close(fd); unlink(tmp); }
    free(chunk);
    free(tmp);
    free(res);
    free(h.p);
    return rc;
}

int64_t ss_gguf_get_arch_int(const ss_gguf *g, const char *arch, const char *suffix, int64_t def) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return ss_gguf_get_int(g, key, def);
}

double ss_gguf_get_arch_float(const ss_gguf *g, const char *arch, const char *suffix, double def) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return ss_gguf_get_float(g, key, def);
}
