// cmd_gen_model.c — `slotswift gen-model`: write a random-weight GGUF with the exact tensor
// names, shapes and per-tensor types a real model has after llama.cpp's converter and quantizer.
//
//   slotswift gen-model --like qwen2.5-0.5b|qwen2.5-1.5b|qwen2.5-7b|llama3.2-1b|tiny
//                       --type f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q4_k_m|q5_k_m|q6_k
//                       --vocab-from GGUF [--seed S] [-t N] [--dry-run] [-v] -o OUT.gguf
//
// Weights: matrices and biases ~ N(0, 0.02^2) (so activations stay O(1)), norms 1 + N(0, 0.02^2),
// rope_freqs (llama3) the real frequency factors. Every row is generated from its own seeded
// PRNG stream (seed, tensor name, row), so the file depends only on the arguments, not on -t.
// Data are produced and written tensor by tensor in chunks (ss_gguf_writer_add_tensor_rows):
// memory stays at a few tens of MB even for a 7B model.
//
// Per-tensor types follow llama.cpp's llama_tensor_get_type (src/llama-quant.cpp) for the
// ftypes offered here:
//   - only 2-D `*.weight` tensors other than `*_norm.weight` are quantized; the rest stay F32
//   - output.weight (or token_embd.weight when the embeddings are tied): Q8_0 if its rows are
//     not a multiple of the default type's block, else Q6_K unless the default is Q8_0
//   - Q4_K_M / Q5_K_M: attn_v and ffn_down of the layers where use_more_bits(i, n) holds
//     (the first and last eighth and every third layer between) become Q6_K
//   - a K-quant whose rows are not a multiple of 256 falls back: Q4_K -> Q5_0, Q5_K -> Q5_1,
//     Q6_K -> Q8_0 (F16 if even that block does not divide the row)
// Tensors are written in llama.cpp's order (by layer, then by name), as llama-quantize does.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include "cmds.h"
#include "outfile.h"
#include "args.h"
#include "ss_gguf.h"
#include "ss_quant.h"

// ---------------------------------------------------------------- model shapes

typedef struct {
    const char *like, *arch, *name;
    const char *vocab_pre;      // tokenizer.ggml.pre of the real model (vocab padding is done only for it)
    int n_vocab;                // 0: whatever --vocab-from has
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    double rope_base, rms_eps;
    int tied, qkv_bias;
    int llama3_rope;            // rope_freqs.weight with these llama3 scaling parameters:
    double rope_factor, rope_low, rope_high;
    int rope_orig_ctx;
    int head_dim;               // 0: n_embd / n_head
    const float *rope_freqs;    // --shape-from: the source file's rope_freqs.weight (F32), else NULL
} gm_shape;

static const gm_shape gm_shapes[] = {
    { .like = "qwen2.5-0.5b", .arch = "qwen2", .name = "Qwen2.5-0.5B", .vocab_pre = "qwen2", .n_vocab = 151936,
      .n_embd = 896, .n_layer = 24, .n_head = 14, .n_head_kv = 2, .n_ff = 4864, .n_ctx = 32768,
      .rope_base = 1e6, .rms_eps = 1e-6, .tied = 1, .qkv_bias = 1 },
    { .like = "qwen2.5-1.5b", .arch = "qwen2", .name = "Qwen2.5-1.5B", .vocab_pre = "qwen2", .n_vocab = 151936,
      .n_embd = 1536, .n_layer = 28, .n_head = 12, .n_head_kv = 2, .n_ff = 8960, .n_ctx = 32768,
      .rope_base = 1e6, .rms_eps = 1e-6, .tied = 1, .qkv_bias = 1 },
    { .like = "qwen2.5-7b", .arch = "qwen2", .name = "Qwen2.5-7B", .vocab_pre = "qwen2", .n_vocab = 152064,
      .n_embd = 3584, .n_layer = 28, .n_head = 28, .n_head_kv = 4, .n_ff = 18944, .n_ctx = 32768,
      .rope_base = 1e6, .rms_eps = 1e-6, .tied = 0, .qkv_bias = 1 },
    { .like = "llama3.2-1b", .arch = "llama", .name = "Llama-3.2-1B", .vocab_pre = "llama-bpe", .n_vocab = 128256,
      .n_embd = 2048, .n_layer = 16, .n_head = 32, .n_head_kv = 8, .n_ff = 8192, .n_ctx = 131072,
      .rope_base = 500000, .rms_eps = 1e-5, .tied = 1, .qkv_bias = 0,
      .llama3_rope = 1, .rope_factor = 32, .rope_low = 1, .rope_high = 4, .rope_orig_ctx = 8192 },
    // small qwen2 for tests; the vocab size is whatever --vocab-from has
    { .like = "tiny", .arch = "qwen2", .name = "tiny-qwen2", .vocab_pre = NULL, .n_vocab = 0,
      .n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 128, .n_ctx = 2048,
      .rope_base = 1e6, .rms_eps = 1e-6, .tied = 1, .qkv_bias = 1 },
};
#define GM_N_SHAPES (int)(sizeof gm_shapes / sizeof gm_shapes[0])

// --type NAME -> llama_ftype id (general.file_type) and the default tensor type
typedef struct { const char *name; uint32_t ftype; uint32_t def; int kquant_mix; } gm_ftype;
enum { GM_MIX_NONE = 0, GM_MIX_Q4_K_M, GM_MIX_Q5_K_M };
static const gm_ftype gm_ftypes[] = {
    { "f32",    0,  SS_TYPE_F32,  0 },
    { "f16",    1,  SS_TYPE_F16,  0 },
    { "bf16",   32, SS_TYPE_BF16, 0 },
    { "q8_0",   7,  SS_TYPE_Q8_0, 0 },
    { "q4_0",   2,  SS_TYPE_Q4_0, 0 },
    { "q4_1",   3,  SS_TYPE_Q4_1, 0 },
    { "q5_0",   8,  SS_TYPE_Q5_0, 0 },
    { "q5_1",   9,  SS_TYPE_Q5_1, 0 },
    { "q4_k_m", 15, SS_TYPE_Q4_K, GM_MIX_Q4_K_M },
    { "q5_k_m", 17, SS_TYPE_Q5_K, GM_MIX_Q5_K_M },
    { "q6_k",   18, SS_TYPE_Q6_K, 0 },
};
#define GM_N_FTYPES (int)(sizeof gm_ftypes / sizeof gm_ftypes[0])

static int gm_head_dim(const gm_shape *s) { return s->head_dim ? s->head_dim : s->n_embd / s->n_head; }

static bool gm_is_quantized(uint32_t t) { return t != SS_TYPE_F32 && t != SS_TYPE_F16 && t != SS_TYPE_BF16; }

static int gm_blck(uint32_t t) {
    const ss_type_info_t *ti = ss_type_info(t);
    return ti && ti->blck > 0 ? ti->blck : 1;
}

// llama.cpp: more bits for the first and last eighth of the layers and every third one between
static bool gm_use_more_bits(int i_layer, int n_layer) {
    return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

static bool gm_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

// The type llama.cpp gives tensor `name` (n_dims, row length ne0, layer index or -1) for ftype ft.
// Returns -1 (+err) when llama.cpp would refuse the shape.
static int gm_tensor_type(const gm_shape *s, const gm_ftype *ft, const char *name, int n_dims,
                          int64_t ne0, int layer, char *err, size_t errlen) {
    bool quantize = gm_ends_with(name, "weight") && n_dims >= 2 && !strstr(name, "_norm.weight");
    if (!quantize) return SS_TYPE_F32;
    uint32_t t = ft->def;
    if (!gm_is_quantized(t)) return (int)t;
    bool is_output = !strcmp(name, "output.weight") || (s->tied && !strcmp(name, "token_embd.weight"));
    if (is_output) {
        if (ne0 % gm_blck(t)) t = SS_TYPE_Q8_0;
        else if (t != SS_TYPE_Q8_0) t = SS_TYPE_Q6_K;
    } else if (!strcmp(name, "token_embd.weight")) {
        // unchanged for the ftypes offered here
    } else if (strstr(name, "attn_v.weight") || strstr(name, "ffn_down")) {
        if (ft->kquant_mix && gm_use_more_bits(layer, s->n_layer)) t = SS_TYPE_Q6_K;
    }
    if (ne0 % gm_blck(t)) {
        switch (t) {
        case SS_TYPE_Q4_K: t = SS_TYPE_Q5_0; break;
        case SS_TYPE_Q5_K: t = SS_TYPE_Q5_1; break;
        case SS_TYPE_Q6_K: t = SS_TYPE_Q8_0; break;
        default:
            return ss_err(err, errlen, "tensor '%s': rows of %lld are not a multiple of the %s block %d",
                          name, (long long)ne0, ss_type_name(t), gm_blck(t));
        }
        if (ne0 % gm_blck(t)) t = SS_TYPE_F16;
    }
    return (int)t;
}

// ---------------------------------------------------------------- tensor plan

enum { GM_MATRIX, GM_NORM, GM_BIAS, GM_ROPE_FREQS };

typedef struct {
    char name[64];
    int kind, layer;
    uint32_t n_dims, type;
    int64_t ne[2];
    // generation parameters (shared by all tensors)
    uint64_t seed;
    const gm_shape *shape;
    int n_threads;
} gm_tensor;

typedef struct { gm_tensor *t; int n, cap; } gm_plan;

static void gm_add(gm_plan *p, const char *name, int kind, int layer, int64_t ne0, int64_t ne1) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->t = tool_realloc(p->t, (size_t)p->cap * sizeof *p->t);
    }
    gm_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->layer = layer;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->n_dims = ne1 > 0 ? 2 : 1;
    if (ne1 <= 0) t->ne[1] = 1;
}

// tensors in llama.cpp's order: the global ones by name, then each layer's by name.
// Shapes are ggml's: ne[0] = input (row length), ne[1] = output.
static void gm_make_plan(gm_plan *p, const gm_shape *s, int64_t n_vocab) {
    int64_t D = s->n_embd, hd = gm_head_dim(s), Q = s->n_head * hd, KV = s->n_head_kv * hd, F = s->n_ff;
    if (!s->tied) gm_add(p, "output.weight", GM_MATRIX, -1, D, n_vocab);
    gm_add(p, "output_norm.weight", GM_NORM, -1, D, 0);
    if (s->llama3_rope) gm_add(p, "rope_freqs.weight", GM_ROPE_FREQS, -1, hd / 2, 0);
    gm_add(p, "token_embd.weight", GM_MATRIX, -1, D, n_vocab);
    for (int l = 0; l < s->n_layer; l++) {
        char n[64];
#define GM_T(suffix, kind, ne0, ne1) snprintf(n, sizeof n, "blk.%d." suffix, l); gm_add(p, n, kind, l, ne0, ne1)
        if (s->qkv_bias) { GM_T("attn_k.bias", GM_BIAS, KV, 0); }
        GM_T("attn_k.weight", GM_MATRIX, D, KV);
        GM_T("attn_norm.weight", GM_NORM, D, 0);
        GM_T("attn_output.weight", GM_MATRIX, Q, D);
        if (s->qkv_bias) { GM_T("attn_q.bias", GM_BIAS, Q, 0); }
        GM_T("attn_q.weight", GM_MATRIX, D, Q);
        if (s->qkv_bias) { GM_T("attn_v.bias", GM_BIAS, KV, 0); }
        GM_T("attn_v.weight", GM_MATRIX, D, KV);
        GM_T("ffn_down.weight", GM_MATRIX, F, D);
        GM_T("ffn_gate.weight", GM_MATRIX, D, F);
        GM_T("ffn_norm.weight", GM_NORM, D, 0);
        GM_T("ffn_up.weight", GM_MATRIX, D, F);
#undef GM_T
    }
}

// ---------------------------------------------------------------- random numbers

static uint64_t gm_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct { uint64_t s[4]; } gm_rng;   // xoshiro256+

static void gm_rng_seed(gm_rng *r, uint64_t seed, const char *name, int64_t row) {
    uint64_t h = 1469598103934665603ull;   // FNV-1a of the tensor name
    for (const char *c = name; *c; c++) { h ^= (uint8_t)*c; h *= 1099511628211ull; }
    uint64_t x = seed ^ (h * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)row * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++) r->s[i] = gm_splitmix64(&x);
}

static uint64_t gm_rng_next(gm_rng *r) {
    uint64_t *s = r->s, res = s[0] + s[3], t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}

// approximately standard normal: Irwin-Hall sum of 4 uniforms (16 bits each from one draw),
// z = (u1+u2+u3+u4 - 2) * sqrt(3): mean 0, variance 1, |z| <= 2*sqrt(3)
static float gm_normal(gm_rng *r) {
    uint64_t x = gm_rng_next(r);
    float sum = 0;
    for (int i = 0; i < 4; i++) sum += ((float)((x >> (16 * i)) & 0xffff) + 0.5f) * (1.0f / 65536.0f);
    return (sum - 2.0f) * 1.7320508f;
}

// llama3 rope frequency factors (as convert_hf_to_gguf.py computes rope_freqs.weight):
// freq_i = base^(-2i/hd); wavelen = 2 pi / freq; factor 1 for short wavelengths, `factor` for long,
// a smooth interpolation between
static void gm_rope_freqs(const gm_shape *s, float *out, int64_t n) {
    if (s->rope_freqs) { memcpy(out, s->rope_freqs, (size_t)n * sizeof(float)); return; }
    int hd = gm_head_dim(s);
    double low_wavelen = s->rope_orig_ctx / s->rope_low, high_wavelen = s->rope_orig_ctx / s->rope_high;
    for (int64_t i = 0; i < n; i++) {
        double freq = 1.0 / pow(s->rope_base, (double)(2 * i) / hd);
        double wavelen = 2 * M_PI / freq;
        if (wavelen < high_wavelen) out[i] = 1.0f;
        else if (wavelen > low_wavelen) out[i] = (float)s->rope_factor;
        else {
            double smooth = (s->rope_orig_ctx / wavelen - s->rope_low) / (s->rope_high - s->rope_low);
            out[i] = (float)(1.0 / ((1 - smooth) / s->rope_factor + smooth));
        }
    }
}

// one row of floats -> the tensor's type
static void gm_convert_row(uint32_t type, const float *x, void *y, int64_t n) {
    switch (type) {
    case SS_TYPE_F32: memcpy(y, x, (size_t)n * sizeof(float)); break;
    case SS_TYPE_F16: for (int64_t i = 0; i < n; i++) ((uint16_t *)y)[i] = ss_fp32_to_fp16(x[i]); break;
    case SS_TYPE_BF16: for (int64_t i = 0; i < n; i++) ((uint16_t *)y)[i] = ss_fp32_to_bf16(x[i]); break;
    default: ss_quant_row(type, x, y, n); break;
    }
}

static void gm_gen_row(const gm_tensor *t, int64_t row, float *x) {
    int64_t n = t->ne[0];
    if (t->kind == GM_ROPE_FREQS) { gm_rope_freqs(t->shape, x, n); return; }
    gm_rng r;
    gm_rng_seed(&r, t->seed, t->name, row);
    for (int64_t i = 0; i < n; i++) x[i] = 0.02f * gm_normal(&r);
    if (t->kind == GM_NORM) for (int64_t i = 0; i < n; i++) x[i] += 1.0f;
}

typedef struct {
    const gm_tensor *t;
    int64_t row0, row1;     // rows of this worker (absolute)
    int64_t base;           // first row of dst
    uint8_t *dst;
} gm_job;

static void *gm_worker(void *arg) {
    gm_job *j = arg;
    const gm_tensor *t = j->t;
    size_t rs = ss_row_size(t->type, t->ne[0]);
    float *x = tool_malloc((size_t)t->ne[0] * sizeof(float));
    for (int64_t r = j->row0; r < j->row1; r++) {
        gm_gen_row(t, r, x);
        gm_convert_row(t->type, x, j->dst + (size_t)(r - j->base) * rs, t->ne[0]);
    }
    free(x);
    return NULL;
}

// ss_gguf_rows_fn: rows [row0, row0 + nrows) split over the threads
static int gm_rows(void *user, const char *name, int64_t row0, int64_t nrows, void *dst, char *err, size_t errlen) {
    const gm_tensor *t = user;
    int nt = t->n_threads;
    if (nt > nrows) nt = (int)nrows;
    if (nt < 1) nt = 1;
    gm_job jobs[64];
    pthread_t th[64];
    if (nt > 64) nt = 64;
    for (int k = 0; k < nt; k++) {
        jobs[k] = (gm_job){ t, row0 + nrows * k / nt, row0 + nrows * (k + 1) / nt, row0, dst };
    }
    int started = 0;
    for (int k = 1; k < nt; k++) {
        if (pthread_create(&th[k], NULL, gm_worker, &jobs[k]) != 0) break;
        started = k;
    }
    gm_worker(&jobs[0]);
    for (int k = started + 1; k < nt; k++) gm_worker(&jobs[k]);   // threads that failed to start
    for (int k = 1; k <= started; k++) pthread_join(th[k], NULL);
    return 0;
}

// ---------------------------------------------------------------- command

static void gm_usage(FILE *f) {
    fprintf(f,
        "usage: slotswift gen-model --like SHAPE|--shape-from GGUF --type TYPE --vocab-from GGUF -o OUT.gguf [flags]\n"
        "  write a random-weight GGUF with the tensor names, shapes and per-tensor types of a real model\n"
        "  --like SHAPE       ");
    for (int i = 0; i < GM_N_SHAPES; i++) fprintf(f, "%s%s", i ? "|" : "", gm_shapes[i].like);
    fprintf(f, "\n  --type TYPE        ");
    for (int i = 0; i < GM_N_FTYPES; i++) fprintf(f, "%s%s", i ? "|" : "", gm_ftypes[i].name);
    fprintf(f,
        "\n  --vocab-from GGUF  copy the tokenizer (tokenizer.* keys) from this file; it sets the vocab size\n"
        "  --seed S           PRNG seed (default 1)\n"
        "  -t, --threads N    threads (default: all cores)\n"
        "  -o, --output FILE  output path (written atomically)\n"
        "  --dry-run          print the tensors and the file size, write nothing\n"
        "  -v                 also print the tensor list\n");
}

// --shape-from: the hyperparameters and tensor layout of an existing llama/qwen2 GGUF
static int gm_shape_from(gm_shape *s, const ss_gguf *g, char **name, char *err, size_t errlen) {
    char *arch;
    memset(s, 0, sizeof *s);
    if (ss_gguf_get_str_opt(g, "general.architecture", &arch)) return ss_err(err, errlen, "%s: out of memory", g->path);
    if (!arch || (strcmp(arch, "llama") && strcmp(arch, "qwen2"))) {
        ss_err(err, errlen, "%s: general.architecture: %s%s%s (supported: llama, qwen2)", g->path,
               arch ? "unsupported architecture '" : "missing", arch ? arch : "", arch ? "'" : "");
        free(arch);
        return -1;
    }
    s->arch = !strcmp(arch, "llama") ? "llama" : "qwen2";
    free(arch);
    char key[160];
#define GM_INT(suffix, def) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), ss_gguf_get_int(g, key, def))
#define GM_FLT(suffix, def) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), ss_gguf_get_float(g, key, def))
    int64_t v[6] = { GM_INT("embedding_length", -1), GM_INT("block_count", -1), GM_INT("attention.head_count", -1),
                     GM_INT("feed_forward_length", -1), GM_INT("context_length", 2048), 0 };
    v[5] = GM_INT("attention.head_count_kv", v[2]);
    for (int i = 0; i < 6; i++)
        if (v[i] <= 0 || v[i] > (1 << 24)) return ss_err(err, errlen, "%s: %s: missing or invalid hyperparameters", g->path, s->arch);
    s->n_embd = (int)v[0]; s->n_layer = (int)v[1]; s->n_head = (int)v[2]; s->n_ff = (int)v[3];
    s->n_ctx = (int)v[4]; s->n_head_kv = (int)v[5];
    int64_t hd = GM_INT("attention.key_length", s->n_embd / s->n_head);
    s->rope_base = GM_FLT("rope.freq_base", 10000.0);
    s->rms_eps = GM_FLT("attention.layer_norm_rms_epsilon", 1e-5);
#undef GM_INT
#undef GM_FLT
    if (s->n_head % s->n_head_kv || hd <= 0 || hd > 4096)
        return ss_err(err, errlen, "%s: %s: invalid head counts", g->path, s->arch);
    s->head_dim = (int)hd;
    const ss_gguf_tensor *emb = ss_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->ne[0] != s->n_embd) return ss_err(err, errlen, "%s: tensor 'token_embd.weight': missing or wrong shape", g->path);
    s->n_vocab = (int)emb->ne[1];
    s->tied = ss_gguf_find_tensor(g, "output.weight") == NULL;
    s->qkv_bias = ss_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    const ss_gguf_tensor *rf = ss_gguf_find_tensor(g, "rope_freqs.weight");
    if (rf) {
        if (rf->type != SS_TYPE_F32 || rf->ne[0] != hd / 2 || rf->n_dims != 1)
            return ss_err(err, errlen, "%s: tensor 'rope_freqs.weight': expected F32 [%lld]", g->path, (long long)(hd / 2));
        s->llama3_rope = 1;
        s->rope_freqs = rf->data;
    }
    if (ss_gguf_get_str_opt(g, "general.name", name)) return ss_err(err, errlen, "%s: out of memory", g->path);
    s->name = *name ? *name : "model";
    s->like = "shape-from";
    return 0;
}

int cmd_gen_model(int argc, char **argv) {
    const char *like = NULL, *shape_path = NULL, *type = NULL, *vocab_path = NULL, *out = NULL;
    uint64_t seed = 1;
    int threads = 0, dry_run = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { gm_usage(stdout); return 0; }
        else if (!strcmp(f, "--like")) { if (args_need(argc, argv, &i, &like)) return 2; }
        else if (!strcmp(f, "--shape-from")) { if (args_need(argc, argv, &i, &shape_path)) return 2; }
        else if (!strcmp(f, "--type")) { if (args_need(argc, argv, &i, &type)) return 2; }
        else if (!strcmp(f, "--vocab-from")) { if (args_need(argc, argv, &i, &vocab_path)) return 2; }
        else if (!strcmp(f, "-o") || !strcmp(f, "--output")) { if (args_need(argc, argv, &i, &out)) return 2; }
        else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) { if (args_int(argc, argv, &i, 0, 1024, &threads)) return 2; }
        else if (!strcmp(f, "--dry-run")) dry_run = 1;
        else if (!strcmp(f, "-v")) verbose = 1;
        else if (!strcmp(f, "--seed")) {
            const char *v;
            if (args_need(argc, argv, &i, &v)) return 2;
            char *end;
            errno = 0;
            unsigned long long x = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') {
                fprintf(stderr, "slotswift: --seed: '%s' is not a non-negative integer\n", v);
                return 2;
            }
            seed = x;
        } else {
            fprintf(stderr, "slotswift: gen-model: unknown flag '%s' (try slotswift gen-model --help)\n", f);
            return 2;
        }
    }
    if (!like == !shape_path) {
        fprintf(stderr, "slotswift: gen-model: give exactly one of --like and --shape-from (try --help)\n");
        return 2;
    }
    if (!vocab_path) vocab_path = shape_path;
    if (!type || !vocab_path || (!out && !dry_run)) {
        fprintf(stderr, "slotswift: gen-model: --type, --vocab-from and -o are required (try --help)\n");
        return 2;
    }
    if (out && !dry_run && outfile_guard("gen-model", out)) return 1;   // a regular file or a new path
    const gm_shape *s = NULL;
    const gm_ftype *ft = NULL;
    if (like) {
        for (int i = 0; i < GM_N_SHAPES; i++) if (!strcmp(like, gm_shapes[i].like)) s = &gm_shapes[i];
        if (!s) { fprintf(stderr, "slotswift: --like: unknown shape '%s' (try --help)\n", like); return 2; }
    }
    for (int i = 0; i < GM_N_FTYPES; i++) if (!strcmp(type, gm_ftypes[i].name)) ft = &gm_ftypes[i];
    if (!ft) { fprintf(stderr, "slotswift: --type: unknown type '%s' (try --help)\n", type); return 2; }
    char err[SS_ERRLEN];
    ss_gguf *sg = NULL;          // --shape-from file (kept open: rope_freqs points into it)
    gm_shape custom;
    char *custom_name = NULL;
    if (shape_path) {
        if (ss_gguf_open(&sg, shape_path, err, sizeof err) ||
            gm_shape_from(&custom, sg, &custom_name, err, sizeof err)) {
            fprintf(stderr, "slotswift: %s\n", err);
            ss_gguf_close(sg);
            return 1;
        }
        s = &custom;
    }
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)(n < 64 ? n : 64) : 1;
    }

    ss_gguf *vg = NULL;
    if (ss_gguf_open(&vg, vocab_path, err, sizeof err)) {
        fprintf(stderr, "slotswift: %s\n", err);
        ss_gguf_close(sg);
        free(custom_name);
        return 1;
    }
    const ss_gguf_kv *tok = ss_gguf_find(vg, "tokenizer.ggml.tokens");
    if (!tok || tok->type != SS_GGUF_ARRAY || tok->arr_type != SS_GGUF_STRING || tok->arr_n == 0 || tok->arr_n > (1u << 24)) {
        fprintf(stderr, "slotswift: %s: tokenizer.ggml.tokens: missing or not a non-empty string array\n", vocab_path);
        ss_gguf_close(vg);
        ss_gguf_close(sg);
        free(custom_name);
        return 1;
    }
    int64_t n_tok = (int64_t)tok->arr_n, n_vocab = n_tok;
    char *pre;
    if (ss_gguf_get_str_opt(vg, "tokenizer.ggml.pre", &pre)) {
        fprintf(stderr, "slotswift: %s: out of memory\n", vocab_path);
        ss_gguf_close(vg);
        ss_gguf_close(sg);
        free(custom_name);
        return 1;
    }
    int64_t n_pad = 0;   // [PAD] tokens appended (convert_hf_to_gguf pads the vocab up to the embedding rows)
    if (s->n_vocab && s->n_vocab != n_tok) {
        if (n_tok < s->n_vocab && s->vocab_pre && pre && !strcmp(pre, s->vocab_pre)) {
            n_pad = s->n_vocab - n_tok;
            n_vocab = s->n_vocab;
        } else {
            fprintf(stderr, "slotswift: warning: %s has %lld tokens, %s has %d: using %lld\n",
                    vocab_path, (long long)n_tok, s->like, s->n_vocab, (long long)n_tok);
        }
    }
    free(pre);

    // ---- metadata, in the converter's order
    ss_gguf_writer *w = ss_gguf_writer_new();
    if (!w) {
        fprintf(stderr, "slotswift: gen-model: out of memory\n");
        ss_gguf_close(vg);
        ss_gguf_close(sg);
        free(custom_name);
        return 1;
    }
    char key[128], desc[256];
#define GM_KEY(suffix) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), key)
    ss_gguf_writer_set_str(w, "general.architecture", s->arch);
    ss_gguf_writer_set_str(w, "general.type", "model");
    ss_gguf_writer_set_str(w, "general.name", s->name);
    snprintf(desc, sizeof desc, "random weights: slotswift gen-model --like %s --type %s --seed %llu",
             s->like, ft->name, (unsigned long long)seed);
    ss_gguf_writer_set_str(w, "general.description", desc);
    ss_gguf_writer_set_u32(w, GM_KEY("block_count"), (uint32_t)s->n_layer);
    ss_gguf_writer_set_u32(w, GM_KEY("context_length"), (uint32_t)s->n_ctx);
    ss_gguf_writer_set_u32(w, GM_KEY("embedding_length"), (uint32_t)s->n_embd);
    ss_gguf_writer_set_u32(w, GM_KEY("feed_forward_length"), (uint32_t)s->n_ff);
    ss_gguf_writer_set_u32(w, GM_KEY("attention.head_count"), (uint32_t)s->n_head);
    ss_gguf_writer_set_u32(w, GM_KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
    ss_gguf_writer_set_f32(w, GM_KEY("rope.freq_base"), (float)s->rope_base);
    ss_gguf_writer_set_f32(w, GM_KEY("attention.layer_norm_rms_epsilon"), (float)s->rms_eps);
    if (!strcmp(s->arch, "llama")) {
        int hd = gm_head_dim(s);
        ss_gguf_writer_set_u32(w, GM_KEY("attention.key_length"), (uint32_t)hd);
        ss_gguf_writer_set_u32(w, GM_KEY("attention.value_length"), (uint32_t)hd);
        ss_gguf_writer_set_u32(w, GM_KEY("vocab_size"), (uint32_t)n_vocab);
        ss_gguf_writer_set_u32(w, GM_KEY("rope.dimension_count"), (uint32_t)hd);
    }
#undef GM_KEY
    ss_gguf_writer_set_u32(w, "general.file_type", ft->ftype);

    // tokenizer.* copied; tokens / token_type / scores padded when the embedding has more rows
    ss_gguf_str *pad_strs = NULL;
    char *pad_text = NULL;
    for (uint64_t i = 0; i < vg->n_kv; i++) {
        const ss_gguf_kv *kv = &vg->kv[i];
        if (strncmp(kv->key, "tokenizer.", 10)) continue;
        bool per_token = kv->type == SS_GGUF_ARRAY && kv->arr_n == (uint64_t)n_tok;
        if (n_pad && per_token && kv->arr_type == SS_GGUF_STRING) {
            // "[PAD{i}]" tokens as convert_hf_to_gguf.py writes them
            pad_strs = tool_malloc((size_t)n_vocab * sizeof *pad_strs);
            memcpy(pad_strs, kv->arr_str, (size_t)n_tok * sizeof *pad_strs);
            pad_text = tool_malloc((size_t)n_pad * 24);
            for (int64_t k = 0; k < n_pad; k++) {
                char *p = pad_text + k * 24;
                int len = snprintf(p, 24, "[PAD%lld]", (long long)(n_tok + k));
                pad_strs[n_tok + k] = (ss_gguf_str){ (uint64_t)len, p };
            }
            ss_gguf_writer_set_arr_str(w, kv->key, pad_strs, (uint64_t)n_vocab);
        } else if (n_pad && per_token && (kv->arr_type == SS_GGUF_INT32 || kv->arr_type == SS_GGUF_FLOAT32)) {
            // token_type: UNUSED (5) for the padding; scores: 0
            uint8_t *buf = tool_calloc((size_t)n_vocab, 4);
            memcpy(buf, kv->arr_data, (size_t)n_tok * 4);
            if (kv->arr_type == SS_GGUF_INT32)
                for (int64_t k = n_tok; k < n_vocab; k++) { int32_t v = 5; memcpy(buf + 4 * k, &v, 4); }
            ss_gguf_writer_set_arr(w, kv->key, kv->arr_type, buf, (uint64_t)n_vocab);
            free(buf);
        } else {
            ss_gguf_writer_copy_kv(w, kv);
        }
    }
    ss_gguf_writer_set_u32(w, "general.quantization_version", 2);

    // ---- tensors
    gm_plan plan = {0};
    gm_make_plan(&plan, s, n_vocab);
    int rc = 0;
    int64_t n_params = 0;
    for (int i = 0; i < plan.n; i++) {
        gm_tensor *t = &plan.t[i];
        int ty = gm_tensor_type(s, ft, t->name, (int)t->n_dims, t->ne[0], t->layer, err, sizeof err);
        if (ty < 0) { fprintf(stderr, "slotswift: gen-model: %s\n", err); rc = 1; goto done; }
        t->type = (uint32_t)ty;
        t->seed = seed;
        t->shape = s;
        t->n_threads = threads;
        n_params += t->ne[0] * t->ne[1];
        ss_gguf_writer_add_tensor_rows(w, t->name, t->type, t->n_dims, t->ne, gm_rows, t);
    }
    uint64_t fsize = ss_gguf_writer_file_size(w);   // (0: the writer ran out of memory)
    if (!fsize) { fprintf(stderr, "slotswift: gen-model: out of memory (the file's metadata)\n"); rc = 1; goto done; }
    if (dry_run || verbose) {
        for (int i = 0; i < plan.n; i++) {
            gm_tensor *t = &plan.t[i];
            if (t->n_dims == 1) printf("%-28s %-5s [%lld]\n", t->name, ss_type_name(t->type), (long long)t->ne[0]);
            else printf("%-28s %-5s [%lld, %lld]\n", t->name, ss_type_name(t->type), (long long)t->ne[0], (long long)t->ne[1]);
        }
        printf("total: %d tensors, %lld parameters, %llu bytes (%.1f MB)\n", plan.n, (long long)n_params,
               (unsigned long long)fsize, fsize / 1e6);
        fflush(stdout);
    }
    if (!dry_run) {
        if (ss_gguf_writer_write(w, out, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); rc = 1; goto done; }
        fprintf(stderr, "slotswift: wrote %s: %s %s, %d tensors, %lld parameters, %.1f MB\n", out, s->like, ft->name,
                plan.n, (long long)n_params, fsize / 1e6);
    }
done:
    ss_gguf_writer_free(w);
    free(plan.t);
    free(pad_strs);
    free(pad_text);
    ss_gguf_close(vg);
    ss_gguf_close(sg);
    free(custom_name);
    return rc;
}
