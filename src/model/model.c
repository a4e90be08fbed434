// model.c — load a GGUF llama / qwen2 model: hyperparameters from metadata, weights mapped (not copied).
#include "ss_model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

// Look up tensor `name`; check type is supported and shape is [cols, rows] (ne0 = cols).
// rows < 0 means "any" (returned through the weight).
static int model_weight(ss_model *m, ss_weight *w, const char *name, int64_t cols, int64_t rows,
                        bool optional, char *err, size_t errlen) {
    const ss_gguf_tensor *t = ss_gguf_find_tensor(m->gguf, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (optional) return 0;
        return ss_err(err, errlen, "%s: missing tensor '%s'", m->path, name);
    }
    if (!ss_type_supported(t->type))
        return ss_err(err, errlen, "%s: tensor '%s': unsupported tensor type %s (id %u)", m->path, name,
                      ss_type_name(t->type), t->type);
    int64_t r = t->n_dims >= 2 ? t->ne[1] : 1;
    if (t->n_dims > 2 || t->ne[0] != cols || (rows >= 0 && r != rows))
        return ss_err(err, errlen, "%s: tensor '%s': shape [%lld, %lld] but expected [%lld, %lld]", m->path, name,
                      (long long)t->ne[0], (long long)r, (long long)cols, (long long)rows);
    w->type = t->type; w->rows = r; w->cols = cols; w->data = t->data;
    w->row_bytes = ss_row_size(t->type, cols);
    return 0;
}

// a 1-D vector tensor converted to f32 (norm weights, biases): small, copied
static int model_vec(ss_model *m, float **out, const char *name, int64_t n, bool optional, char *err, size_t errlen) {
    ss_weight w;
    *out = NULL;
    const ss_gguf_tensor *t = ss_gguf_find_tensor(m->gguf, name);
    if (!t) {
        if (optional) return 0;
        return ss_err(err, errlen, "%s: missing tensor '%s'", m->path, name);
    }
    if (t->n_dims != 1) return ss_err(err, errlen, "%s: tensor '%s': expected a vector of %lld", m->path, name, (long long)n);
    if (model_weight(m, &w, name, n, 1, false, err, errlen)) return -1;
    *out = ss_malloc(sizeof(float) * n);
    if (!*out) return ss_err(err, errlen, "%s: tensor '%s': out of memory", m->path, name);
    ss_dequant_row(w.type, w.data, *out, n);
    return 0;
}

// the block of a "blk.N.rest" tensor name (rest in *rest), -1 for other names
static int model_block_of(const char *name, const char **rest) {
    if (strncmp(name, "blk.", 4)) return -1;
    char *end;
    long b = strtol(name + 4, &end, 10);
    if (end == name + 4 || *end != '.' || b < 0 || b > INT32_MAX) return -1;
    *rest = end + 1;
    return (int)b;
}

// Every tensor of the file is one the model uses: a renamed, foreign or extra-block tensor would
// otherwise be ignored in silence (and the model computed without it). The blocks present must be
// 0 .. block_count-1 exactly.
static int model_check_tensors(const ss_model *m, const char *arch, char *err, size_t errlen) {
    static const char *const top[] = { "token_embd.weight", "output.weight", "output_norm.weight", "rope_freqs.weight" };
    static const char *const blk[] = { "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
        "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
        "attn_q.bias", "attn_k.bias", "attn_v.bias" };
    int n_blocks = 0;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const char *name = m->gguf->tensors[i].name, *rest = NULL;
        int b = model_block_of(name, &rest);
        bool known = false;
        for (size_t k = 0; b < 0 && k < sizeof top / sizeof top[0]; k++) known |= !strcmp(name, top[k]);
        for (size_t k = 0; b >= 0 && k < sizeof blk / sizeof blk[0]; k++) known |= !strcmp(rest, blk[k]);
        if (!known)
            return ss_err(err, errlen, "%s: tensor '%s': not a tensor of a %s model (renamed or foreign)", m->path, name, arch);
        if (b >= n_blocks) n_blocks = b + 1;
    }
    if (n_blocks != m->hp.n_layer)
        return ss_err(err, errlen, "%s: %s.block_count is %d but the file has the tensors of %d blocks", m->path, arch,
                      m->hp.n_layer, n_blocks);
    return 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ULL; }
    return h;
}

// fingerprint: names, types and shapes of all tensors + samples of the LM head's bytes
static uint64_t model_fingerprint(const ss_model *m) {
    uint64_t h = 1469598103934665603ULL;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const ss_gguf_tensor *t = &m->gguf->tensors[i];
        h = fnv1a(h, t->name, strlen(t->name));
        h = fnv1a(h, &t->type, sizeof t->type);
        h = fnv1a(h, t->ne, sizeof t->ne);
    }
    const ss_weight *w = &m->output;
    size_t total = (size_t)w->rows * w->row_bytes;
    size_t chunk = 4096, step = total / 64 + 1;
    for (size_t off = 0; off < total; off += step)
        h = fnv1a(h, (const uint8_t *)w->data + off, off + chunk <= total ? chunk : total - off);
    return h;
}

ss_model *ss_model_load(const char *path, char *err, size_t errlen) {
    ss_model *m = ss_calloc(1, sizeof *m);
    if (m) m->path = ss_strdup(path);
    if (!m || !m->path) { ss_model_free(m); ss_err(err, errlen, "%s: out of memory", path); return NULL; }
    if (ss_gguf_open(&m->gguf, path, err, errlen)) goto fail;
    const ss_gguf *g = m->gguf;
    ss_hparams *hp = &m->hp;

    char *arch;
    if (ss_gguf_get_str_opt(g, "general.architecture", &arch)) { ss_err(err, errlen, "%s: out of memory", path); goto fail; }
    if (!arch) { ss_err(err, errlen, "%s: missing key general.architecture", path); goto fail; }
    if (!strcmp(arch, "llama")) hp->arch = SS_ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2")) hp->arch = SS_ARCH_QWEN2;
    else {
        ss_err(err, errlen, "%s: general.architecture: unsupported architecture '%s' (supported: llama, qwen2)", path, arch);
        free(arch); goto fail;
    }
    if (ss_gguf_get_str_opt(g, "general.name", &m->name)) { ss_err(err, errlen, "%s: out of memory", path); free(arch); goto fail; }
    if (!m->name) {
        const char *base = strrchr(path, '/');
        m->name = ss_strdup(base ? base + 1 : path);
    }
    if (!m->name) { ss_err(err, errlen, "%s: out of memory", path); free(arch); goto fail; }

    hp->n_embd      = (int)ss_gguf_get_arch_int(g, arch, "embedding_length", -1);
    hp->n_layer     = (int)ss_gguf_get_arch_int(g, arch, "block_count", -1);
    hp->n_ff        = (int)ss_gguf_get_arch_int(g, arch, "feed_forward_length", -1);
    hp->n_head      = (int)ss_gguf_get_arch_int(g, arch, "attention.head_count", -1);
    hp->n_head_kv   = (int)ss_gguf_get_arch_int(g, arch, "attention.head_count_kv", hp->n_head);
    hp->n_ctx_train = (int)ss_gguf_get_arch_int(g, arch, "context_length", 2048);
    hp->rms_eps     = (float)ss_gguf_get_arch_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5);
    hp->rope_base   = (float)ss_gguf_get_arch_float(g, arch, "rope.freq_base", 10000.0);
    hp->rope_neox   = hp->arch == SS_ARCH_QWEN2;
    hp->rope_scale  = 1.0f;
    {
        char key[256];
        snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
        char *st;
        if (ss_gguf_get_str_opt(g, key, &st)) { ss_err(err, errlen, "%s: out of memory", path); free(arch); goto fail; }
        double factor = ss_gguf_get_arch_float(g, arch, "rope.scaling.factor", 0.0);
        if (st && strcmp(st, "none") && strcmp(st, "linear") && strcmp(st, "llama3")) {
            ss_err(err, errlen, "%s: %s: unsupported rope scaling '%s'", path, key, st);
            free(st); free(arch); goto fail;
        }
        if (st && !strcmp(st, "linear") && factor > 0) hp->rope_scale = (float)(1.0 / factor);
        free(st);
    }
    struct { const char *what; int v; } req[] = {
        {"embedding_length", hp->n_embd}, {"block_count", hp->n_layer}, {"feed_forward_length", hp->n_ff},
        {"attention.head_count", hp->n_head}, {"attention.head_count_kv", hp->n_head_kv},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (req[i].v <= 0 || req[i].v > (1 << 20)) {
            ss_err(err, errlen, "%s: %s.%s: missing or invalid (%d)", path, arch, req[i].what, req[i].v);
            free(arch); goto fail;
        }
    if (hp->n_embd % hp->n_head || hp->n_head % hp->n_head_kv) {
        ss_err(err, errlen, "%s: %s.attention.head_count: %d heads / %d kv heads do not divide embedding %d",
               path, arch, hp->n_head, hp->n_head_kv, hp->n_embd);
        free(arch); goto fail;
    }
    hp->head_dim = (int)ss_gguf_get_arch_int(g, arch, "attention.key_length", hp->n_embd / hp->n_head);
    m->n_rot = (int)ss_gguf_get_arch_int(g, arch, "rope.dimension_count", hp->head_dim);
    if (hp->n_head / hp->n_head_kv > 16 || hp->head_dim > 256) {
        ss_err(err, errlen, "%s: %s: %d query heads per KV head / head dim %d not supported (max 16 / 256)", path, arch,
               hp->n_head / hp->n_head_kv, hp->head_dim);
        free(arch); goto fail;
    }
    if (hp->head_dim <= 0 || hp->head_dim % 2 || m->n_rot <= 0 || m->n_rot > hp->head_dim || m->n_rot % 2) {
        ss_err(err, errlen, "%s: %s: invalid head dim %d / rope dims %d", path, arch, hp->head_dim, m->n_rot);
        free(arch); goto fail;
    }
    if (!(hp->rms_eps > 0) || !(hp->rope_base > 0)) {
        ss_err(err, errlen, "%s: %s: invalid rms epsilon or rope base", path, arch);
        free(arch); goto fail;
    }
    if (model_check_tensors(m, arch, err, errlen)) { free(arch); goto fail; }
    free(arch);

    int D = hp->n_embd, HD = hp->n_head * hp->head_dim, KVD = hp->n_head_kv * hp->head_dim, F = hp->n_ff;
    if (model_weight(m, &m->tok_embd, "token_embd.weight", D, -1, false, err, errlen)) goto fail;
    hp->n_vocab = (int)m->tok_embd.rows;
    if (model_weight(m, &m->output, "output.weight", D, hp->n_vocab, true, err, errlen)) goto fail;
    hp->tied_output = m->output.data == NULL;
    if (hp->tied_output) m->output = m->tok_embd;
    if (model_vec(m, &m->output_norm, "output_norm.weight", D, false, err, errlen)) goto fail;
    if (ss_gguf_find_tensor(g, "rope_freqs.weight")) {
        if (model_vec(m, &m->rope_freqs, "rope_freqs.weight", m->n_rot / 2, false, err, errlen)) goto fail;
        hp->rope_llama3 = 1;
    }

    m->layers = ss_calloc(hp->n_layer, sizeof(ss_layer));
    if (!m->layers) { ss_err(err, errlen, "%s: out of memory (%d layers)", path, hp->n_layer); goto fail; }
    for (int l = 0; l < hp->n_layer; l++) {
        ss_layer *L = &m->layers[l];
        char n[128];
#define W(field, suffix, cols, rows) snprintf(n, sizeof n, "blk.%d." suffix, l); \
        if (model_weight(m, &L->field, n, cols, rows, false, err, errlen)) goto fail;
#define V(field, suffix, len, opt) snprintf(n, sizeof n, "blk.%d." suffix, l); \
        if (model_vec(m, &L->field, n, len, opt, err, errlen)) goto fail;
        V(attn_norm, "attn_norm.weight", D, false)
        W(wq, "attn_q.weight", D, HD)
        W(wk, "attn_k.weight", D, KVD)
        W(wv, "attn_v.weight", D, KVD)
        W(wo, "attn_output.weight", HD, D)
        V(ffn_norm, "ffn_norm.weight", D, false)
        W(w_gate, "ffn_gate.weight", D, F)
        W(w_up, "ffn_up.weight", D, F)
        W(w_down, "ffn_down.weight", F, D)
        bool need_bias = hp->arch == SS_ARCH_QWEN2;
        V(bq, "attn_q.bias", HD, !need_bias)
        V(bk, "attn_k.bias", KVD, !need_bias)
        V(bv, "attn_v.bias", KVD, !need_bias)
#undef W
#undef V
        if (!L->bq != !L->bk || !L->bq != !L->bv) {   // the forward pass adds all three or none
            ss_err(err, errlen, "%s: block %d: attn_q/k/v.bias: either all three or none", path, l);
            goto fail;
        }
        if (L->bq) hp->has_qkv_bias = 1;
    }

    if (ss_vocab_load(&m->vocab, g, err, errlen)) goto fail;
    if (ss_gguf_get_str_opt(g, "tokenizer.chat_template", &m->chat_template)) {   // NULL when none
        ss_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (ss_vocab_n_tokens(m->vocab) != hp->n_vocab) {   // every row a token, every token a row
        ss_err(err, errlen, "%s: tokenizer has %d tokens but token_embd.weight has %d rows", path,
               ss_vocab_n_tokens(m->vocab), hp->n_vocab);
        goto fail;
    }
    m->fingerprint = model_fingerprint(m);
    return m;
fail:
    ss_model_free(m);
    return NULL;
}

void ss_model_free(ss_model *m) {
    if (!m) return;
    if (m->layers) {
        for (int l = 0; l < m->hp.n_layer; l++) {
            ss_layer *L = &m->layers[l];
            free(L->attn_norm); free(L->ffn_norm); free(L->bq); free(L->bk); free(L->bv);
        }
        free(m->layers);
    }
    free(m->output_norm); free(m->rope_freqs);
    if (m->vocab) ss_vocab_free(m->vocab);
    if (m->gguf) ss_gguf_close(m->gguf);
    free(m->path); free(m->name); free(m->chat_template);
    free(m);
}

const ss_hparams *ss_model_hparams(const ss_model *m) { return &m->hp; }
const char *ss_model_name(const ss_model *m) { return m->name; }
const char *ss_model_path(const ss_model *m) { return m->path; }
const char *ss_model_arch_name(const ss_model *m) { return m->hp.arch == SS_ARCH_QWEN2 ? "qwen2" : "llama"; }
uint64_t ss_model_fingerprint(const ss_model *m) { return m->fingerprint; }
const ss_vocab *ss_model_vocab(const ss_model *m) { return m->vocab; }
const char *ss_model_chat_template(const ss_model *m) { return m->chat_template; }
uint64_t ss_model_file_size(const ss_model *m) { return m->gguf->size; }

int ss_model_meta_str(const ss_model *m, const char *key, char *buf, size_t cap) {
    const ss_gguf_kv *kv = ss_gguf_find(m->gguf, key);
    if (!kv || kv->type != SS_GGUF_STRING) return -1;
    size_t n = (size_t)kv->v.s.len;
    if (n + 1 > (size_t)INT32_MAX) return -1;
    if (n + 1 <= cap) { memcpy(buf, kv->v.s.ptr, n); buf[n] = 0; }
    return (int)(n + 1);                                  // bytes needed, NUL included
}

int64_t ss_model_meta_int(const ss_model *m, const char *key, int64_t dflt) { return ss_gguf_get_int(m->gguf, key, dflt); }
