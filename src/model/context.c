// context.c — inference context: thread pool, paged KV cache, sequences, scratch and output buffers.
#include "ss_model.h"
#include "ss_pool.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ss_ctx_params_default(ss_ctx_params *p) {
    memset(p, 0, sizeof *p);
    p->n_seq_max = 64;
    p->n_batch = 512;
    p->kv_f16 = 1;        // as llama.cpp: F16 K/V (half the memory; products rounded like ggml's)
}

// an upper bound of the activation scratch of every product of the forward pass with at most T rows
// (Q/K/V, output, gate/up, down per layer; the LM head)
static size_t ctx_matmul_scratch(const ss_model *m, const ss_kernels *k, int64_t T) {
    const ss_weight *out[1] = { &m->output };
    size_t most = ss_matmul_scratch_bound(k, T, 1, out);
    for (int l = 0; l < m->hp.n_layer; l++) {
        const ss_layer *L = &m->layers[l];
        const ss_weight *qkv[3] = { &L->wq, &L->wk, &L->wv }, *wo[1] = { &L->wo };
        const ss_weight *gu[2] = { &L->w_gate, &L->w_up }, *down[1] = { &L->w_down };
        const size_t b[4] = { ss_matmul_scratch_bound(k, T, 3, qkv), ss_matmul_scratch_bound(k, T, 1, wo),
                              ss_matmul_scratch_bound(k, T, 2, gu), ss_matmul_scratch_bound(k, T, 1, down) };
        for (int i = 0; i < 4; i++) most = b[i] > most ? b[i] : most;
    }
    return most;
}

ss_ctx *ss_ctx_new(ss_model *m, const ss_ctx_params *pp, char *err, size_t errlen) {
    ss_ctx_params p;
    if (pp) p = *pp; else ss_ctx_params_default(&p);
    const ss_hparams *hp = &m->hp;
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_seq_max <= 0) p.n_seq_max = 64;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_ctx > (1 << 22) || p.n_seq_max > 4096 || p.n_batch > 65536) {
        ss_err(err, errlen, "context parameters out of range (n_ctx %d, n_seq_max %d, n_batch %d)", p.n_ctx, p.n_seq_max, p.n_batch);
        return NULL;
    }
    // the cache's types: SS_KV_* → SS_TYPE_*
    uint32_t types[2];
    for (int w = 0; w < 2; w++) {
        const int t = w ? p.kv_type_v : p.kv_type_k;
        if (t < SS_KV_DEFAULT || t > SS_KV_Q8_0) { ss_err(err, errlen, "unknown KV cache type %d for %s", t, w ? "V" : "K"); return NULL; }
        types[w] = t == SS_KV_F32 ? SS_TYPE_F32 : t == SS_KV_Q8_0 ? SS_TYPE_Q8_0 : t == SS_KV_F16 || p.kv_f16 ? SS_TYPE_F16 : SS_TYPE_F32;
        if (types[w] == SS_TYPE_Q8_0 && hp->head_dim % 32) {
            ss_err(err, errlen, "KV cache type q8_0 needs a head dim that is a multiple of 32 (this model: %d); use f16", hp->head_dim);
            return NULL;
        }
    }
    ss_ctx *c = ss_calloc(1, sizeof *c);
    if (!c) { ss_err(err, errlen, "out of memory allocating the context"); return NULL; }
    c->model = m;
    c->params = p;
    const int kvd = hp->n_head_kv * hp->head_dim;
    int n_pages = (p.n_ctx + SS_KV_PAGE - 1) / SS_KV_PAGE + p.n_seq_max;
    if (ss_kv_init(&c->kv, n_pages, hp->n_layer, hp->n_head_kv, hp->head_dim, types[0], types[1])) {
        ss_err(err, errlen, "out of memory for the KV cache (%d tokens)", p.n_ctx);
        free(c); return NULL;
    }
    c->kern = ss_kernels_get(p.force_scalar != 0);
    c->pool = ss_pool_new(p.n_threads);
    c->seqs = ss_calloc(p.n_seq_max, sizeof(ss_seq));
    if (!c->pool || !c->seqs) goto oom;
    c->params.n_threads = ss_pool_n_threads(c->pool);
    size_t B = p.n_batch, D = hp->n_embd, HD = (size_t)hp->n_head * hp->head_dim, F = hp->n_ff;
    size_t DF = D > HD ? D : HD;
    c->x   = ss_malloc(sizeof(float) * B * D);
    c->xb  = ss_malloc(sizeof(float) * B * DF);
    c->q   = ss_malloc(sizeof(float) * B * HD);
    c->k   = ss_malloc(sizeof(float) * B * kvd);
    c->v   = ss_malloc(sizeof(float) * B * kvd);
    c->att = ss_malloc(sizeof(float) * B * HD);
    c->hb  = ss_malloc(sizeof(float) * B * F);
    c->hb2 = ss_malloc(sizeof(float) * B * F);
    c->att_scores = ss_malloc(sizeof(float) * (size_t)c->params.n_threads * ss_attn_scratch_floats(hp, p.n_ctx));
    c->tmp_idx = ss_malloc(sizeof(int) * (p.n_seq_max > (int)B ? p.n_seq_max : (int)B));
    if (!c->x || !c->xb || !c->q || !c->k || !c->v || !c->att || !c->hb || !c->hb2 || !c->att_scores || !c->tmp_idx) goto oom;
    // the products' activation scratch for n_batch rows, reserved now: the forward pass's products
    // (and ss_lm_head, n_batch rows at a time) then never allocate, so they cannot fail
    const size_t mm_bytes = ctx_matmul_scratch(m, c->kern, B);
    if (mm_bytes && !ss_pool_scratch(c->pool, 0, mm_bytes)) goto oom;
    return c;
oom:
    ss_err(err, errlen, "out of memory allocating the context's buffers (n_ctx %d, n_batch %d)", p.n_ctx, p.n_batch);
    ss_ctx_free(c);
    return NULL;
}

void ss_ctx_free(ss_ctx *c) {
    if (!c) return;
    for (int i = 0; c->seqs && i < c->params.n_seq_max; i++) { free(c->seqs[i].pages); free(c->seqs[i].delta); }
    free(c->seqs);
    ss_kv_free(&c->kv);
    ss_pool_free(c->pool);
    free(c->x); free(c->xb); free(c->q); free(c->k); free(c->v); free(c->att); free(c->hb); free(c->hb2);
    free(c->att_scores); free(c->tmp_idx);
    free(c->out_logits_row); free(c->out_hidden_row); free(c->out_layers_row);
    free(c->logits); free(c->hidden); free(c->layers); free(c->lm_in);
    free(c->cap_layers);
    ss_slot_ws_free(&c->slot_ws);
    free(c);
}

const char *ss_ctx_error(const ss_ctx *c) { return c->err; }
const ss_model *ss_ctx_model(const ss_ctx *c) { return c->model; }
int ss_ctx_n_ctx(const ss_ctx *c) { return c->params.n_ctx; }
int ss_ctx_n_threads(const ss_ctx *c) { return c->params.n_threads; }
const ss_ctx_params *ss_ctx_get_params(const ss_ctx *c) { return &c->params; }

int ss_lm_head(ss_ctx *c, const float *x, int n, float *logits) {
    if (n < 0 || (n > 0 && (!x || !logits))) return ss_err(c->err, sizeof c->err, "lm_head: bad arguments (n %d)", n);
    // logits[n, V] = x[n, D] · W^T, n_batch rows at a time (the scratch reserved for them), with the
    // kernels ss_matmul picks for all n rows (SS_MM_PROMPT's are those of SS_GEMM_PANEL_MIN_T rows
    // and more, SS_MM_GEN's those of fewer), so the chunks do not change any result
    const int V = c->model->hp.n_vocab, D = c->model->hp.n_embd, B = c->params.n_batch;
    const int kind = n >= SS_GEMM_PANEL_MIN_T ? SS_MM_PROMPT : SS_MM_GEN;
    const ss_weight *const ws[1] = { &c->model->output };
    const int64_t lds[1] = { V };
    for (int r = 0; r < n; r += B) {
        float *const outs[1] = { logits + (size_t)r * V };
        if (ss_matmul_multi_k(c->kern, c->pool, kind, 1, outs, lds, x + (size_t)r * D, n - r < B ? n - r : B, ws))
            return ss_err(c->err, sizeof c->err, "lm_head: out of memory");
    }
    return 0;
}

// ---- sequences ----
static ss_seq *ctx_seq(const ss_ctx *c, int seq) {
    if (seq < 0 || seq >= c->params.n_seq_max || !c->seqs[seq].live) return NULL;
    return &c->seqs[seq];
}

int ss_seq_new(ss_ctx *c) {
    for (int i = 0; i < c->params.n_seq_max; i++)
        if (!c->seqs[i].live) {
            ss_seq *s = &c->seqs[i];
            s->live = true; s->len = 0; s->n_pages = 0;
            free(s->delta); s->delta = NULL;
            return i;
        }
    ss_err(c->err, sizeof c->err, "too many sequences (max %d)", c->params.n_seq_max);
    return -1;
}

int ss_seq_fork(ss_ctx *c, int seq) {
    ss_seq *src = ctx_seq(c, seq);
    if (!src) { ss_err(c->err, sizeof c->err, "fork: no sequence %d", seq); return -1; }
    int id = ss_seq_new(c);
    if (id < 0) return -1;
    src = &c->seqs[seq];
    ss_seq *dst = &c->seqs[id];
    if (src->delta) {
        size_t n = sizeof(float) * c->model->hp.n_embd;
        dst->delta = ss_malloc(n);
        if (dst->delta) memcpy(dst->delta, src->delta, n);
    }
    if ((src->delta && !dst->delta) || ss_kv_seq_fork(&c->kv, src, dst)) {
        ss_seq_free(c, id);
        ss_err(c->err, sizeof c->err, "fork: out of memory");
        return -1;
    }
    return id;
}

void ss_seq_free(ss_ctx *c, int seq) {
    ss_seq *s = ctx_seq(c, seq);
    if (!s) return;
    ss_kv_seq_release(&c->kv, s);
    free(s->delta); s->delta = NULL;
    s->live = false;
}

int ss_seq_truncate(ss_ctx *c, int seq, int len) {
    ss_seq *s = ctx_seq(c, seq);
    if (!s) return ss_err(c->err, sizeof c->err, "truncate: no sequence %d", seq);
    ss_kv_seq_truncate(&c->kv, s, len);
    return 0;
}

int ss_seq_len(const ss_ctx *c, int seq) {
    ss_seq *s = ctx_seq(c, seq);
    return s ? s->len : -1;
}

int ss_seq_set_delta(ss_ctx *c, int seq, const float *delta) {
    ss_seq *s = ctx_seq(c, seq);
    if (!s) return ss_err(c->err, sizeof c->err, "set_delta: no sequence %d", seq);
    if (!delta) { free(s->delta); s->delta = NULL; return 0; }
    size_t n = sizeof(float) * c->model->hp.n_embd;
    if (!s->delta) s->delta = ss_malloc(n);
    if (!s->delta) return ss_err(c->err, sizeof c->err, "set_delta: out of memory");
    memcpy(s->delta, delta, n);
    return 0;
}

const float *ss_seq_delta(const ss_ctx *c, int seq) {
    ss_seq *s = ctx_seq(c, seq);
    return s ? s->delta : NULL;
}

int ss_kv_pages_used(const ss_ctx *c) { return c->kv.n_pages - c->kv.n_free; }
int ss_kv_pages_total(const ss_ctx *c) { return c->kv.n_pages; }

// ---- layer capture ----
int ss_ctx_set_layers(ss_ctx *c, const int *layers, int n, bool norm) {
    for (int i = 0; i < n; i++)
        if (layers[i] < 0 || layers[i] > c->model->hp.n_layer)
            return ss_err(c->err, sizeof c->err, "layer %d out of range 0..%d", layers[i], c->model->hp.n_layer);
    int *cap = n ? ss_malloc(sizeof(int) * n) : NULL;
    if (n && !cap) return ss_err(c->err, sizeof c->err, "set_layers: out of memory");
    free(c->cap_layers);
    c->cap_layers = cap;
    if (n) memcpy(c->cap_layers, layers, sizeof(int) * n);
    c->n_cap = n;
    c->cap_norm = norm;
    return 0;
}

int ss_ctx_layers_dim(const ss_ctx *c) { return c->n_cap * c->model->hp.n_embd; }

// ---- batch ----
ss_batch ss_batch_new(int cap) {
    ss_batch b;
    memset(&b, 0, sizeof b);
    int n = cap > 0 ? cap : 1;
    b.seq = ss_malloc(sizeof(int32_t) * n);
    b.pos = ss_malloc(sizeof(int32_t) * n);
    b.tok = ss_malloc(sizeof(ss_token) * n);
    b.out = ss_malloc(n);
    if (b.seq && b.pos && b.tok && b.out) b.cap = n;
    else { ss_batch_free(&b); memset(&b, 0, sizeof b); }   // cap 0: ss_batch_add grows or fails
    return b;
}

void ss_batch_free(ss_batch *b) {
    free(b->seq); free(b->pos); free(b->tok); free(b->out);
    memset(b, 0, sizeof *b);
}

void ss_batch_clear(ss_batch *b) { b->n = 0; }

// grow one array of the batch to cap entries of `size` bytes; false (array unchanged) on out of memory
static bool batch_grow(void **a, int cap, size_t size) {
    void *q = ss_realloc(*a, size * cap);
    if (!q) return false;
    *a = q;
    return true;
}

int ss_batch_add(ss_batch *b, int seq, int pos, ss_token tok, int out_flags) {
    if (b->n == b->cap) {
        int cap = b->cap > 0 ? 2 * b->cap : 16;
        if (!batch_grow((void **)&b->seq, cap, sizeof(int32_t)) || !batch_grow((void **)&b->pos, cap, sizeof(int32_t)) ||
            !batch_grow((void **)&b->tok, cap, sizeof(ss_token)) || !batch_grow((void **)&b->out, cap, 1)) return -1;
        b->cap = cap;
    }
    b->seq[b->n] = seq; b->pos[b->n] = pos; b->tok[b->n] = tok; b->out[b->n] = (uint8_t)out_flags;
    b->n++;
    return 0;
}

// ---- outputs ----
const float *ss_get_logits(const ss_ctx *c, int i) {
    if (i < 0 || i >= c->n_out_entries || c->out_logits_row[i] < 0) return NULL;
    return c->logits + (size_t)c->out_logits_row[i] * c->model->hp.n_vocab;
}
const float *ss_get_hidden(const ss_ctx *c, int i) {
    if (i < 0 || i >= c->n_out_entries || c->out_hidden_row[i] < 0) return NULL;
    return c->hidden + (size_t)c->out_hidden_row[i] * c->model->hp.n_embd;
}
const float *ss_get_layers(const ss_ctx *c, int i) {
    if (i < 0 || i >= c->n_out_entries || c->out_layers_row[i] < 0) return NULL;
    return c->layers + (size_t)c->out_layers_row[i] * c->n_cap * c->model->hp.n_embd;
}
