// forward.c — the transformer forward pass over a batch of (sequence, position, token) entries.
//
// For B entries (any mix of sequences, prefill and decode), shapes per layer:
//   x[B,D] += Wo · attention(rope(Wq·n1(x)+bq), rope(Wk·n1(x)+bk), Wv·n1(x)+bv)
//   x[B,D] += Wdown · (silu(Wgate·n2(x)) * (Wup·n2(x)))
// then h = norm_out(x) [B,D] and, for entries that ask for logits, logits = (h + delta_seq) · Wout^T.
// n1, n2, norm_out are RMSNorms: y = x / sqrt(mean(x²) + eps) * w.
#include "ss_model.h"
#include "ss_attn.h"
#include "ss_pool.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdatomic.h>

// y[D] = x[D] / sqrt(mean(x²) + eps) * w[D]   (sum in double, as ggml does)
static void rmsnorm(float *y, const float *x, const float *w, int D, float eps) {
    double ss = 0;
    for (int i = 0; i < D; i++) ss += (double)x[i] * x[i];
    float scale = 1.0f / sqrtf((float)(ss / D) + eps);
    for (int i = 0; i < D; i++) y[i] = x[i] * scale * w[i];
}

// Rotary embedding of one head vector v[hd] at position pos.
// theta_i = pos * base^(-2i/n_rot) * freq_scale / freq_factor_i   (i = 0 .. n_rot/2-1)
// neox: rotates pairs (v[i], v[i + n_rot/2]); normal (llama): pairs (v[2i], v[2i+1]).
static void rope_head(float *v, const float *cs, const float *sn, int n_rot, bool neox) {
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs[i] - x1 * sn[i];
        v[b] = x0 * sn[i] + x1 * cs[i];
    }
}

// cos/sin table for one position, computed like ggml (theta advanced by repeated multiplication in float)
static void rope_table(const ss_model *m, int pos, float *cs, float *sn) {
    const ss_hparams *hp = &m->hp;
    float theta_scale = powf(hp->rope_base, -2.0f / m->n_rot);
    float theta = (float)pos;
    for (int i = 0; i < m->n_rot / 2; i++) {
        float th = theta * hp->rope_scale;
        if (m->rope_freqs) th /= m->rope_freqs[i];
        cs[i] = cosf(th);
        sn[i] = sinf(th);
        theta *= theta_scale;
    }
}

// ---- attention: query windows × key blocks (KV pages), softmax normalizer online ----
// The chunk's entries are cut into windows of up to ATT_QB consecutive entries (the positions of a
// prompt, or the candidates of one decode step); an item is (window, kv head). An item walks the key
// blocks j = 0, 1, ... twice (pass 1: online max and sum; pass 2: Σ p_t v_t with the normalized
// weights; ss_attn.h) (page j of each entry's sequence, keys [32j, 32j+32)): the entries that see
// block j (causal: position >= 32j; blocks past an entry's position are skipped whole) and whose
// sequences hold the same physical page there are one tile (ss_attn_block), so a page is read and
// converted once for all of them: once per window of a prompt, once for all forks sharing a prompt
// page. Each query's result depends only on its own position and keys (the blocks are aligned to
// absolute positions and the kernel treats rows independently), never on the window, the tiles or
// the threads. Items are handed out from an atomic counter, latest windows (the longest) first.
//
// With an F16 cache, products are done as llama.cpp does them: q is rounded to F16 before q·k (F16
// K), and the softmax weights are rounded to F16 before Σ p_t v_t (F16 V) (ggml converts the
// activation operand of an F16 product to F16). Q8_0 K/V rows are dequantized to F32.
#define ATT_QB 16

_Static_assert(SS_ATTN_BLOCK == SS_KV_PAGE, "an attention key block is one KV page");

// the score cache of a thread: the raw scores of ATT_SC entries at full context (decoding reads K once)
#define ATT_SC 4
static size_t sc_floats(const ss_hparams *hp, int n_ctx) {
    return (size_t)ATT_SC * (hp->n_head / hp->n_head_kv) * ((size_t)n_ctx + SS_ATTN_BLOCK);
}

size_t ss_attn_scratch_floats(const ss_hparams *hp, int n_ctx) {
    const size_t G = hp->n_head / hp->n_head_kv, hd = hp->head_dim;
    // q copies, m and l, block buffer, score cache
    return ATT_QB * G * hd + 2 * ATT_QB * G + 2 * SS_ATTN_BLOCK * hd + sc_floats(hp, n_ctx) + 16;
}

typedef struct {
    ss_ctx *c;
    const ss_batch *b;
    int i0, n, layer, win, n_win;   // windows of `win` entries: [w*win, min(n, (w+1)*win))
    atomic_int next;
} attn_job;

static void attn_worker(void *arg, int ith, int nth) {
    (void)nth;
    attn_job *j = arg;
    ss_ctx *c = j->c;
    const ss_hparams *hp = &c->model->hp;
    const ss_kv *kv = &c->kv;
    const int Hkv = hp->n_head_kv, hd = hp->head_dim, G = hp->n_head / Hkv, HD = hp->n_head * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    float *qr = c->att_scores + (size_t)ith * ss_attn_scratch_floats(hp, c->params.n_ctx);   // [ATT_QB][G][hd]
    float *ms = qr + (size_t)ATT_QB * G * hd, *ls = ms + ATT_QB * G, *buf = ls + ATT_QB * G;
    float *scache = buf + 2 * SS_ATTN_BLOCK * hd;
    const size_t sc_cap = sc_floats(hp, c->params.n_ctx);
    ss_attn_rows rows[ATT_QB];
    const ss_seq *seq[ATT_QB];
    int pos[ATT_QB];
    for (;;) {
        const int item = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (item >= j->n_win * Hkv) break;
        const int w = j->n_win - 1 - item / Hkv, kvh = item % Hkv;
        const int r0 = w * j->win, ne = j->n - r0 < j->win ? j->n - r0 : j->win;
        int jmax = 0;
        for (int e = 0; e < ne; e++) {
            const int row = r0 + e, entry = j->i0 + row;
            const float *q = c->q + (size_t)row * HD + (size_t)kvh * G * hd;
            float *o = c->att + (size_t)row * HD + (size_t)kvh * G * hd, *qe = qr + (size_t)e * G * hd;
            if (kv->type[0] == SS_TYPE_F16) c->kern->round_f16(q, qe, G * hd);
            else memcpy(qe, q, sizeof(float) * G * hd);
            memset(o, 0, sizeof(float) * G * hd);
            for (int g = 0; g < G; g++) { ms[e * G + g] = -INFINITY; ls[e * G + g] = 0; }
            seq[e] = &c->seqs[j->b->seq[entry]];
            pos[e] = j->b->pos[entry];
            if (pos[e] / SS_KV_PAGE > jmax) jmax = pos[e] / SS_KV_PAGE;
            rows[e] = (ss_attn_rows){ qe, o, ms + e * G, ls + e * G, 0, NULL };
        }
        // the scores of pass 1 kept for pass 2 when they fit (decoding: few entries): entry e's block
        // jb at scache[(e*(jmax+1) + jb)*G*32]
        const size_t per_e = (size_t)(jmax + 1) * G * SS_ATTN_BLOCK;
        const bool cache = (size_t)ne * per_e <= sc_cap;
        // pass 1: the softmax normalizers; pass 2: the weighted sums of V (ss_attn.h)
        for (int pass = 1; pass <= 2; pass++) {
            if (pass == 2) for (int r = 0; r < ne * G; r++) ls[r] = 1.0f / ls[r];
            for (int jb = 0; jb <= jmax; jb++) {
                const int t0 = jb * SS_KV_PAGE;
                bool done[ATT_QB] = { false }, fetched = false;
                for (int e = 0; e < ne; e++) {
                    if (done[e] || pos[e] < t0) continue;
                    // the tile: entries that see block jb in the same physical page
                    const int page = seq[e]->pages[jb];
                    ss_attn_rows tile[ATT_QB];
                    int nt = 0;
                    for (int e2 = e; e2 < ne; e2++) {
                        if (done[e2] || pos[e2] < t0 || seq[e2]->pages[jb] != page) continue;
                        done[e2] = true;
                        tile[nt] = rows[e2];
                        tile[nt].sc = cache ? scache + e2 * per_e + (size_t)jb * G * SS_ATTN_BLOCK : NULL;
                        tile[nt++].nk = pos[e2] - t0 + 1 < SS_KV_PAGE ? pos[e2] - t0 + 1 : SS_KV_PAGE;
                    }
                    // head kvh's 32 K and V rows in this page (hd values each, or hd/32 Q8_0 blocks)
                    const char *k = ss_kv_rows(kv, page, j->layer, 0, kvh), *v = ss_kv_rows(kv, page, j->layer, 1, kvh);
                    // the next block of this head (K in pass 1, V in pass 2) into the cache while this one is
                    // computed: the hardware prefetcher restarts at every page
                    if (!fetched && pos[e] >= t0 + SS_KV_PAGE) {
                        fetched = true;
                        const char *nx = ss_kv_rows(kv, seq[e]->pages[jb + 1], j->layer, pass - 1, kvh);
                        for (size_t off = 0; off < SS_KV_PAGE * kv->row_bytes[pass - 1]; off += 64) __builtin_prefetch(nx + off);
                    }
                    c->kern->attn_block(tile, nt, G, hd, scale, k, v, kv->row_bytes[0], kv->row_bytes[1], kv->type[0], kv->type[1], pass, buf);
                }
            }
        }
    }
}

// attention of chunk rows [0, n) (entries i0..i0+n-1) at layer l: c->att[n, HD]
static void attention(ss_ctx *c, const ss_batch *b, int i0, int n, int layer) {
    const int Hkv = c->model->hp.n_head_kv, nth = ss_pool_n_threads(c->pool);
    // windows of ATT_QB entries, smaller when that leaves threads idle (few decode entries)
    int win = (n * Hkv + nth - 1) / nth;
    win = win < 1 ? 1 : win > ATT_QB ? ATT_QB : win;
    attn_job job = { c, b, i0, n, layer, win, (n + win - 1) / win, 0 };
    atomic_init(&job.next, 0);
    ss_pool_run(job.n_win * Hkv > 1 ? c->pool : NULL, attn_worker, &job);
}

// store k, v rows of entries [i0, i0+n) into their sequences' pages, converted to the cache's types
// (Q8_0 rounded as ggml's x86 quantize_row_q8_0, which llama.cpp's copy into its cache uses)
static void kv_store(ss_ctx *c, const ss_batch *b, int i0, int n, int layer) {
    ss_kv *kv = &c->kv;
    const int kvd = kv->n_head_kv * kv->head_dim, hd = kv->head_dim;
    for (int i = 0; i < n; i++) {
        const ss_seq *s = &c->seqs[b->seq[i0 + i]];
        const int t = b->pos[i0 + i], page = s->pages[t / SS_KV_PAGE];
        for (int which = 0; which < 2; which++) {
            const float *src = (which ? c->v : c->k) + (size_t)i * kvd;
            for (int h = 0; h < kv->n_head_kv; h++) {   // head h's row: hd values (Q8_0: hd/32 blocks)
                char *dst = ss_kv_rows(kv, page, layer, which, h) + (size_t)(t % SS_KV_PAGE) * kv->row_bytes[which];
                const float *x = src + (size_t)h * hd;
                switch (kv->type[which]) {
                case SS_TYPE_F16: c->kern->f32_to_f16(x, (uint16_t *)dst, hd); break;
                case SS_TYPE_Q8_0: c->kern->quant_act(SS_TYPE_Q8_0, x, dst, hd); break;
                default: memcpy(dst, x, sizeof(float) * hd);
                }
            }
        }
    }
}

// copy layer `hf_index` (HF numbering) of entries that want layers, from x[n,D] (normed if asked)
static void capture_layer(ss_ctx *c, const ss_batch *b, int i0, int n, int hf_index, const float *x, bool already_normed) {
    const ss_model *m = c->model;
    int D = m->hp.n_embd;
    for (int k = 0; k < c->n_cap; k++) {
        if (c->cap_layers[k] != hf_index) continue;
        for (int i = 0; i < n; i++) {
            int row = c->out_layers_row[i0 + i];
            if (row < 0) continue;
            float *dst = c->layers + ((size_t)row * c->n_cap + k) * D;
            if (c->cap_norm && !already_normed) rmsnorm(dst, x + (size_t)i * D, m->output_norm, D, m->hp.rms_eps);
            else memcpy(dst, x + (size_t)i * D, sizeof(float) * D);
        }
    }
}

// The row kind of entry e (ss_matmul_multi_k's SS_MM_*): what the entry is (SS_ROW_PROMPT /
// SS_ROW_GEN flags), so that its matmul kernels do not depend on the batch around it.
static int row_kind(const ss_batch *b, int e) {
    return (b->out[e] & SS_ROW_PROMPT) ? SS_MM_PROMPT : (b->out[e] & SS_ROW_GEN) ? SS_MM_GEN : SS_MM_AUTO;
}

// the run of entries of one kind starting at chunk row r0: rows [r0, *r1); returns the kind
static int kind_run(const ss_batch *b, int i0, int n, int r0, int *r1) {
    const int kind = row_kind(b, i0 + r0);
    int r = r0 + 1;
    while (r < n && row_kind(b, i0 + r) == kind) r++;
    *r1 = r;
    return kind;
}

// out[n, W->rows] (rows ld_out apart) = x[n, ldx] · W^T, one product per run of one row kind
static void fw_matmul(ss_ctx *c, const ss_batch *b, int i0, int n, float *out, int64_t ld_out,
                      const float *x, int64_t ldx, const ss_weight *W) {
    for (int r0 = 0, r1; r0 < n; r0 = r1) {
        const int kind = kind_run(b, i0, n, r0, &r1);
        float *const outs[1] = { out + (size_t)r0 * ld_out };
        const int64_t lds[1] = { ld_out };
        const ss_weight *const ws[1] = { W };
        ss_matmul_multi_k(c->kern, c->pool, kind, 1, outs, lds, x + (size_t)r0 * ldx, r1 - r0, ws);
    }
}

// Non-finite values (NaN / inf weights, an overflow) are caught where they first reach a row that
// produces an output: its residual stream after each block, its normed state, its logits. A check
// costs one multiply-add per value (v*0 is NaN exactly when v is not finite): D per output row per
// block, nothing beside the matmuls. The first stage and entry are kept for ss_decode's error.
static bool fw_row_finite(const float *v, size_t n) {
    float acc = 0.0f;
    for (size_t z = 0; z < n; z++) acc += v[z] * 0.0f;
    return acc == acc;
}

static void fw_check_rows(ss_ctx *c, int i0, int n, const float *x, size_t ld, size_t len, int stage) {
    if (c->nf_stage != SS_NF_NONE) return;
    for (int i = 0; i < n; i++) {
        int e = i0 + i;
        if (c->out_logits_row[e] < 0 && c->out_hidden_row[e] < 0 && c->out_layers_row[e] < 0) continue;
        if (!fw_row_finite(x + (size_t)i * ld, len)) { c->nf_stage = stage; c->nf_entry = e; return; }
    }
}

static void forward_chunk(ss_ctx *c, const ss_batch *b, int i0, int n) {
    const ss_model *m = c->model;
    const ss_hparams *hp = &m->hp;
    int D = hp->n_embd, hd = hp->head_dim, H = hp->n_head, Hkv = hp->n_head_kv;
    int HD = H * hd, KVD = Hkv * hd, F = hp->n_ff;
    float *x = c->x, *xb = c->xb;
    // cos/sin tables of the n positions, computed once for all layers: [n][n_rot/2] each
    // (grow-only pool scratch; slot 0 belongs to ss_matmul)
    const int nr2 = m->n_rot / 2;
    float *rope_cs = ss_pool_scratch(c->pool, 1, sizeof(float) * 2 * (size_t)n * nr2);   // reserved by ss_decode
    float *rope_sn = rope_cs + (size_t)n * nr2;
    for (int i = 0; i < n; i++) rope_table(m, b->pos[i0 + i], rope_cs + (size_t)i * nr2, rope_sn + (size_t)i * nr2);

    // x[i] = token embedding
    for (int i = 0; i < n; i++) ss_weight_row(c->kern, &m->tok_embd, b->tok[i0 + i], x + (size_t)i * D);
    capture_layer(c, b, i0, n, 0, x, false);
    for (int i = 0; i < n && c->nf_stage == SS_NF_NONE; i++)   // every row: its K/V reach the outputs
        if (!fw_row_finite(x + (size_t)i * D, D)) { c->nf_stage = -1; c->nf_entry = i0 + i; }

    for (int l = 0; l < hp->n_layer; l++) {
        const ss_layer *L = &m->layers[l];
        // ---- attention block ----
        for (int i = 0; i < n; i++) rmsnorm(xb + (size_t)i * D, x + (size_t)i * D, L->attn_norm, D, hp->rms_eps);
        for (int r0 = 0, r1; r0 < n; r0 = r1) {   // q[n,HD] = xb[n,D] · Wq[HD,D]^T, k[n,KVD], v[n,KVD] in one pass
            const int kind = kind_run(b, i0, n, r0, &r1);
            float *const outs[3] = { c->q + (size_t)r0 * HD, c->k + (size_t)r0 * KVD, c->v + (size_t)r0 * KVD };
            const int64_t lds[3] = { HD, KVD, KVD };
            const ss_weight *const ws[3] = { &L->wq, &L->wk, &L->wv };
            ss_matmul_multi_k(c->kern, c->pool, kind, 3, outs, lds, xb + (size_t)r0 * D, r1 - r0, ws);
        }
        for (int i = 0; i < n; i++) {
            float *q = c->q + (size_t)i * HD, *k = c->k + (size_t)i * KVD, *v = c->v + (size_t)i * KVD;
            if (L->bq) {
                for (int z = 0; z < HD; z++) q[z] += L->bq[z];
                for (int z = 0; z < KVD; z++) k[z] += L->bk[z];
                for (int z = 0; z < KVD; z++) v[z] += L->bv[z];
            }
            const float *cs = rope_cs + (size_t)i * nr2, *sn = rope_sn + (size_t)i * nr2;
            for (int h = 0; h < H; h++) rope_head(q + h * hd, cs, sn, m->n_rot, hp->rope_neox);
            for (int h = 0; h < Hkv; h++) rope_head(k + h * hd, cs, sn, m->n_rot, hp->rope_neox);
        }
        kv_store(c, b, i0, n, l);
        attention(c, b, i0, n, l);
        fw_matmul(c, b, i0, n, xb, D, c->att, HD, &L->wo);   // xb[n,D] = att[n,HD] · Wo[D,HD]^T
        for (size_t z = 0; z < (size_t)n * D; z++) x[z] += xb[z];

        // ---- feed-forward block (SwiGLU) ----
        for (int i = 0; i < n; i++) rmsnorm(xb + (size_t)i * D, x + (size_t)i * D, L->ffn_norm, D, hp->rms_eps);
        // hb[n,F] = silu(xb · Wgate^T) * (xb · Wup^T)
        for (int r0 = 0, r1; r0 < n; r0 = r1) {
            const int kind = kind_run(b, i0, n, r0, &r1);
            ss_matmul_swiglu_k(c->kern, c->pool, kind, c->hb + (size_t)r0 * F, F, c->hb2 + (size_t)r0 * F, F, xb + (size_t)r0 * D,
                               r1 - r0, &L->w_gate, &L->w_up);
        }
        fw_matmul(c, b, i0, n, xb, D, c->hb, F, &L->w_down);  // xb[n,D] = h[n,F] · Wdown[D,F]^T
        for (size_t z = 0; z < (size_t)n * D; z++) x[z] += xb[z];
        if (l + 1 < hp->n_layer) capture_layer(c, b, i0, n, l + 1, x, false);
        fw_check_rows(c, i0, n, x, D, D, l);
    }

    // ---- output norm, hidden outputs, LM head for the entries that want logits ----
    for (int i = 0; i < n; i++) rmsnorm(xb + (size_t)i * D, x + (size_t)i * D, m->output_norm, D, hp->rms_eps);
    capture_layer(c, b, i0, n, hp->n_layer, xb, true);
    fw_check_rows(c, i0, n, xb, D, D, hp->n_layer);
    for (int r0 = 0, r1; r0 < n; r0 = r1) {      // per run of one row kind
        const int kind = kind_run(b, i0, n, r0, &r1);
        int n_lm = 0;
        for (int i = r0; i < r1; i++) {
            int e = i0 + i;
            const float *h = xb + (size_t)i * D;
            if (c->out_hidden_row[e] >= 0) memcpy(c->hidden + (size_t)c->out_hidden_row[e] * D, h, sizeof(float) * D);
            if (c->out_logits_row[e] >= 0) {
                // lm_in row = h + delta (SLOT) ; rows collected densely, then one matmul
                float *dst = c->lm_in + (size_t)n_lm * D;
                const float *delta = c->seqs[b->seq[e]].delta;
                for (int z = 0; z < D; z++) dst[z] = h[z] + (delta ? delta[z] : 0.0f);
                c->tmp_idx[n_lm++] = c->out_logits_row[e];
            }
        }
        if (n_lm) {
            // logits rows of this run are consecutive (assigned in entry order)
            float *out = c->logits + (size_t)c->tmp_idx[0] * hp->n_vocab;
            float *const outs[1] = { out };
            const int64_t lds[1] = { hp->n_vocab };
            const ss_weight *const ws[1] = { &m->output };
            ss_matmul_multi_k(c->kern, c->pool, kind, 1, outs, lds, c->lm_in, n_lm, ws);   // logits[n_lm,V] = lm_in · Wout^T
            for (int i = r0, k = 0; i < r1 && c->nf_stage == SS_NF_NONE; i++)
                if (c->out_logits_row[i0 + i] >= 0 && !fw_row_finite(out + (size_t)k++ * hp->n_vocab, hp->n_vocab)) {
                    c->nf_stage = hp->n_layer + 1; c->nf_entry = i0 + i;
                }
        }
    }
}

// grow-only output buffer (contents not kept); false on out of memory (*p freed, *cap 0)
static bool grow(float **p, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    free(*p);
    *p = ss_malloc(need);
    *cap = *p ? need : 0;
    return *p != NULL;
}

// grow-only int array; false on out of memory (*p unchanged)
static bool grow_rows(int **p, int n) {
    int *q = ss_realloc(*p, sizeof(int) * n);
    if (q) *p = q;
    return q != NULL;
}

// the error of a decode that met a non-finite value (the tokens are in the cache; the outputs are not usable)
static int fw_nonfinite_error(ss_ctx *c, const ss_batch *b) {
    const int L = c->model->hp.n_layer, e = c->nf_entry, s = b->seq[e];
    char where[128];
    if (c->nf_stage < 0) snprintf(where, sizeof where, "in the token embedding of token %d (token_embd.weight)", b->tok[e]);
    else if (c->nf_stage < L) snprintf(where, sizeof where, "in the hidden state after layer %d (blk.%d)", c->nf_stage, c->nf_stage);
    else if (c->nf_stage == L) snprintf(where, sizeof where, "after the output norm (output_norm.weight)");
    else snprintf(where, sizeof where, "in the logits (output.weight%s)", c->seqs[s].delta ? " or the SLOT delta" : "");
    return ss_err(c->err, sizeof c->err, "non-finite values (NaN or inf) %s, sequence %d position %d: broken weights "
                  "or an overflow", where, s, b->pos[e]);
}

int ss_decode(ss_ctx *c, const ss_batch *b) {
    const ss_model *m = c->model;
    const ss_hparams *hp = &m->hp;
    int nseq = c->params.n_seq_max;
    c->err[0] = 0;
    if (b->n <= 0) return ss_err(c->err, sizeof c->err, "decode: empty batch");
    // validate: live sequences, tokens in range, positions continue each sequence in order
    int *next = c->tmp_idx;  // reuse as per-sequence next position (size >= n_seq_max)
    for (int s = 0; s < nseq; s++) next[s] = c->seqs[s].live ? c->seqs[s].len : -1;
    for (int i = 0; i < b->n; i++) {
        int s = b->seq[i];
        if (s < 0 || s >= nseq || !c->seqs[s].live) return ss_err(c->err, sizeof c->err, "decode: entry %d: no sequence %d", i, s);
        if (b->tok[i] < 0 || b->tok[i] >= hp->n_vocab)
            return ss_err(c->err, sizeof c->err, "decode: entry %d: token %d out of range [0, %d)", i, b->tok[i], hp->n_vocab);
        if (b->pos[i] != next[s])
            return ss_err(c->err, sizeof c->err, "decode: entry %d: sequence %d expects position %d, got %d", i, s, next[s], b->pos[i]);
        if (next[s] + 1 > c->params.n_ctx)
            return ss_err(c->err, sizeof c->err, "context full: sequence %d would exceed %d tokens (use a larger -c)", s, c->params.n_ctx);
        next[s]++;
    }
    int pages = 0;
    for (int s = 0; s < nseq; s++)
        if (next[s] >= 0 && next[s] > c->seqs[s].len) pages += ss_kv_pages_needed(&c->kv, &c->seqs[s], next[s] - c->seqs[s].len);
    if (pages > c->kv.n_free)
        return ss_err(c->err, sizeof c->err, "KV cache full: %d more pages needed, %d free (use a larger -c)", pages, c->kv.n_free);

    // every allocation before the cache changes: output rows and buffers, RoPE tables, page lists
    if (b->n > c->out_cap) {
        if (!grow_rows(&c->out_logits_row, b->n) || !grow_rows(&c->out_hidden_row, b->n) || !grow_rows(&c->out_layers_row, b->n))
            return ss_err(c->err, sizeof c->err, "decode: out of memory (%d entries)", b->n);
        c->out_cap = b->n;
    }
    int nl = 0, nh = 0, ny = 0;
    for (int i = 0; i < b->n; i++) {
        c->out_logits_row[i] = (b->out[i] & SS_OUT_LOGITS) ? nl++ : -1;
        c->out_hidden_row[i] = (b->out[i] & SS_OUT_HIDDEN) ? nh++ : -1;
        c->out_layers_row[i] = ((b->out[i] & SS_OUT_LAYERS) && c->n_cap) ? ny++ : -1;
    }
    c->n_out_entries = b->n;
    size_t D = hp->n_embd, V = hp->n_vocab;
    size_t lm_rows = nl < c->params.n_batch ? nl : c->params.n_batch;
    size_t chunk = b->n < c->params.n_batch ? b->n : c->params.n_batch;
    bool ok = grow(&c->logits, &c->logits_cap, sizeof(float) * V * nl) && grow(&c->hidden, &c->hidden_cap, sizeof(float) * D * nh) &&
              grow(&c->layers, &c->layers_cap, sizeof(float) * D * c->n_cap * ny) && grow(&c->lm_in, &c->lm_in_cap, sizeof(float) * D * lm_rows) &&
              ss_pool_scratch(c->pool, 1, sizeof(float) * 2 * chunk * (m->n_rot / 2 > 0 ? m->n_rot / 2 : 1)) != NULL;
    for (int s = 0; ok && s < nseq; s++)
        if (next[s] >= 0 && next[s] > c->seqs[s].len) ok = !ss_kv_seq_reserve(&c->seqs[s], (next[s] + SS_KV_PAGE - 1) / SS_KV_PAGE);
    if (!ok) {
        c->n_out_entries = 0;
        return ss_err(c->err, sizeof c->err, "decode: out of memory (%d entries, %d with logits)", b->n, nl);
    }
    for (int s = 0; s < nseq; s++)
        if (next[s] >= 0 && next[s] > c->seqs[s].len) ss_kv_seq_grow(&c->kv, &c->seqs[s], next[s] - c->seqs[s].len);

    c->nf_stage = SS_NF_NONE;
    for (int i0 = 0; i0 < b->n; i0 += c->params.n_batch) {
        int n = b->n - i0 < c->params.n_batch ? b->n - i0 : c->params.n_batch;
        forward_chunk(c, b, i0, n);
    }
    for (int i = 0; i < b->n; i++) c->seqs[b->seq[i]].len = b->pos[i] + 1;
    if (c->nf_stage != SS_NF_NONE) return fw_nonfinite_error(c, b);
    return 0;
}
