// gen.c — prefill, SLOT, fork into N candidates, batched sampling with SWIFT feature capture.
#include "ss_gen.h"
#include "ss_model.h"
#include "ss_vocab.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ss_gen_params_default(ss_gen_params *p) {
    memset(p, 0, sizeof *p);
    p->n_predict = 256;
    p->n_cand = 1;
    ss_sampling_params_default(&p->samp);
    ss_slot_params_default(&p->slot);
    p->slot.steps = 0;
}

typedef struct {
    int seq;
    ss_sampler *smp;
    ss_detok detok;
    char *text; size_t len, cap;
    int32_t pending;          // sampled token to feed next, -1 none
    bool done, final_feed;    // final_feed: feed `pending` once more only for its features
    ss_swift_acc acc;
    size_t feat_cap;
} gen_state;

static void text_append(gen_state *g, const char *s, int n) {
    if (g->len + n + 1 > g->cap) { g->cap = (g->len + n + 1) * 2; g->text = ss_realloc(g->text, g->cap); }
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = 0;
}

// returns true if the text now contains a stop string (text is cut at its start)
static bool check_stops(gen_state *g, const ss_gen_params *p) {
    for (int k = 0; k < p->n_stops; k++) {
        char *hit = strstr(g->text, p->stops[k]);
        if (hit) { g->len = hit - g->text; g->text[g->len] = 0; return true; }
    }
    return false;
}

static void keep_row(ss_gen_cand *cd, gen_state *g, const float *x, int dim, bool f16) {
    size_t esz = f16 ? 2 : 4;
    if ((size_t)(cd->n_feat_rows + 1) > g->feat_cap) {
        g->feat_cap = g->feat_cap ? g->feat_cap * 2 : 64;
        cd->features = ss_realloc(cd->features, g->feat_cap * dim * esz);
    }
    if (f16) {
        uint16_t *d = (uint16_t *)cd->features + (size_t)cd->n_feat_rows * dim;
        for (int i = 0; i < dim; i++) d[i] = ss_fp32_to_fp16(x[i]);
    } else memcpy((float *)cd->features + (size_t)cd->n_feat_rows * dim, x, sizeof(float) * dim);
    cd->n_feat_rows++;
}

// sample the next token for candidate i from logits; decide whether it finishes
static void gen_sample(ss_ctx *c, const ss_gen_params *p, gen_state *g, ss_gen_cand *cd, int i,
                       const float *logits, bool want_feat) {
    const ss_vocab *v = c->model->vocab;
    float lp = 0;
    int32_t tok = ss_sampler_sample(g->smp, logits, &lp);
    ss_sampler_accept(g->smp, tok);
    cd->tokens[cd->n_tokens++] = tok;
    cd->logprob_sum += lp;
    if (cd->n_tokens == 1 || lp < cd->logprob_min) cd->logprob_min = lp;
    bool eog = ss_vocab_is_eog(v, tok) && !p->ignore_eos;
    int finish = -1;
    if (eog) finish = SS_FINISH_EOG;
    else {
        char buf[512];
        int n = ss_detok_push(&g->detok, v, tok, buf, sizeof buf);
        if (n > 0 && n <= (int)sizeof buf) {
            size_t before = g->len;
            text_append(g, buf, n);
            bool stop = p->n_stops && check_stops(g, p);
            if (p->on_piece && g->len > before) p->on_piece(p->ud, i, g->text + before, (int)(g->len - before));
            if (stop) finish = SS_FINISH_STOP;
        }
        if (finish < 0 && cd->n_tokens >= p->n_predict) finish = SS_FINISH_LENGTH;
        if (finish < 0 && ss_seq_len(c, g->seq) + 1 >= ss_ctx_n_ctx(c)) finish = SS_FINISH_CTX;
    }
    g->pending = tok;
    if (finish >= 0) {
        cd->finish = finish;
        if (finish != SS_FINISH_STOP) {
            char buf[64];
            int n = ss_detok_flush(&g->detok, buf, sizeof buf);
            if (n > 0 && n <= (int)sizeof buf) {
                text_append(g, buf, n);
                if (p->on_piece) p->on_piece(p->ud, i, buf, n);
            }
        }
        // the last token still has to be fed once to read its features (if there is room)
        if (want_feat && finish != SS_FINISH_CTX && ss_seq_len(c, g->seq) < ss_ctx_n_ctx(c)) g->final_feed = true;
        else g->done = true;
    }
}

static bool same_spec(const ss_swift_spec *a, const ss_swift_spec *b) {
    if (!a || !b) return a == b;
    return a->logits == b->logits && a->norm == b->norm && a->n_layers == b->n_layers && a->dim == b->dim &&
           !memcmp(a->layer, b->layer, sizeof(int) * a->n_layers);
}

int ss_gen_run_multi(ss_ctx *c, int P, const int32_t *const *prompts, const int *lens,
                     const ss_gen_params *const *ps, ss_gen_result *rs, char *err, size_t errlen) {
    const ss_model *m = c->model;
    const ss_hparams *hp = &m->hp;
    int D = hp->n_embd, V = hp->n_vocab;
    if (P < 1) return ss_err(err, errlen, "no prompt");
    int NC = 0;
    for (int q = 0; q < P; q++) {
        memset(&rs[q], 0, sizeof rs[q]);
        if (lens[q] < 1) return ss_err(err, errlen, "prompt %d is empty", q);
        if (ps[q]->n_cand < 1) return ss_err(err, errlen, "need at least one candidate");
        if (lens[q] >= ss_ctx_n_ctx(c))
            return ss_err(err, errlen, "prompt of %d tokens does not fit the context of %d tokens (use a larger -c)", lens[q], ss_ctx_n_ctx(c));
        if (ps[q]->slot.steps > 0 && lens[q] < 2) return ss_err(err, errlen, "SLOT needs a prompt of at least 2 tokens");
        if (ps[q]->head && !ps[q]->feat) return ss_err(err, errlen, "a SWIFT head needs its feature spec");
        if (!same_spec(ps[q]->feat, ps[0]->feat)) return ss_err(err, errlen, "prompts of one run must capture the same features");
        NC += ps[q]->n_cand;
    }
    if (NC > c->params.n_seq_max) return ss_err(err, errlen, "%d candidates exceed the context's %d sequences", NC, c->params.n_seq_max);
    const ss_swift_spec *feat = ps[0]->feat;
    bool want_feat = feat != NULL;
    int fdim = want_feat ? feat->dim : 0;
    if (want_feat && !feat->logits && ss_ctx_set_layers(c, feat->layer, feat->n_layers, feat->norm))
        return ss_err(err, errlen, "%s", ss_ctx_error(c));
    int feat_flag = !want_feat ? 0 : feat->logits ? SS_OUT_LOGITS : SS_OUT_LAYERS;

    // candidate k belongs to prompt owner[k]; first[q] is prompt q's first candidate
    gen_state *g = ss_calloc(NC, sizeof(gen_state));
    int *owner = ss_malloc(sizeof(int) * NC), *first = ss_malloc(sizeof(int) * (P + 1)), *map = ss_malloc(sizeof(int) * NC);
    float **H = ss_calloc(P, sizeof(float *));
    float *logits0 = ss_malloc(sizeof(float) * (size_t)V * P);
    int rc = -1;
    ss_batch b = ss_batch_new(c->params.n_batch);
    for (int q = 0, k = 0; q < P; q++) {
        first[q] = k;
        rs[q].n_prompt = lens[q];
        rs[q].n_cand = ps[q]->n_cand;
        rs[q].cand = ss_calloc(ps[q]->n_cand, sizeof(ss_gen_cand));
        for (int i = 0; i < ps[q]->n_cand; i++, k++) { owner[k] = q; g[k].seq = -1; }
    }
    first[P] = NC;

    // ---- prefill: tokens 0..T-2 of every prompt, batched together (hidden rows kept for SLOT) ----
    double t0 = ss_time();
    for (int q = 0; q < P; q++) {
        if ((g[first[q]].seq = ss_seq_new(c)) < 0) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        if (ps[q]->slot.steps > 0) H[q] = ss_calloc((size_t)lens[q] * D, sizeof(float));
    }
    for (int q = 0, t = 0; q < P;) {
        ss_batch_clear(&b);
        int q_start = q, t_start = t;
        while (q < P && b.n < c->params.n_batch) {
            if (t >= lens[q] - 1) { q++; t = 0; continue; }
            ss_batch_add(&b, g[first[q]].seq, t, prompts[q][t], H[q] ? SS_OUT_HIDDEN : 0);
            t++;
        }
        if (b.n == 0) break;
        if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        for (int e = 0, qq = q_start, tt = t_start; e < b.n; e++) {      // walk the entries again
            while (tt >= lens[qq] - 1) { qq++; tt = 0; }
            if (H[qq]) memcpy(H[qq] + (size_t)tt * D, ss_get_hidden(c, e), sizeof(float) * D);
            tt++;
        }
    }
    double t_prefill = ss_time() - t0;
    // ---- SLOT per prompt: delta from positions 0..T-2 (row T-1 is not used by the loss) ----
    for (int q = 0; q < P; q++) {
        if (!H[q]) continue;
        const ss_gen_params *p = ps[q];
        float *delta = ss_calloc(D, sizeof(float));
        rs[q].slot_losses = ss_calloc(p->slot.steps, sizeof(float));
        ss_slot_result sr = { .loss_before = rs[q].slot_losses };
        ss_slot_params sp = p->slot;
        sp.ws = &c->slot_ws;   // the context keeps the stored logits' memory for the next prompt
        sp.kern = c->kern;     // the context's kernels (its force_scalar choice)
        if (ss_slot_optimize(&sp, c->pool, H[q], lens[q], D, prompts[q], p->slot_mask, &m->output, delta, &sr, err, errlen)) {
            free(delta); goto done;
        }
        rs[q].slot_loss_after = sr.loss_after;
        rs[q].slot_peak_bytes = sr.peak_bytes;
        rs[q].t_slot = sr.seconds;
        ss_seq_set_delta(c, g[first[q]].seq, delta);
        free(delta);
    }
    // ---- the last prompt token of every prompt, with logits (delta applied) ----
    t0 = ss_time();
    ss_batch_clear(&b);
    for (int q = 0; q < P; q++) ss_batch_add(&b, g[first[q]].seq, lens[q] - 1, prompts[q][lens[q] - 1], SS_OUT_LOGITS);
    if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
    for (int q = 0; q < P; q++) memcpy(logits0 + (size_t)q * V, ss_get_logits(c, q), sizeof(float) * V);
    t_prefill += ss_time() - t0;
    for (int q = 0; q < P; q++) rs[q].t_prompt = t_prefill;

    // ---- each prompt's candidates share its cache (forks) ----
    for (int k = 0; k < NC; k++) {
        int q = owner[k], i = k - first[q];
        const ss_gen_params *p = ps[q];
        if (i > 0 && (g[k].seq = ss_seq_fork(c, g[first[q]].seq)) < 0) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        ss_sampling_params sp = p->samp;
        sp.seed = p->samp.seed + (uint64_t)i;
        g[k].smp = ss_sampler_new(&sp, V);
        for (int t = 0; t < lens[q]; t++) ss_sampler_accept(g[k].smp, prompts[q][t]);
        g[k].pending = -1;
        rs[q].cand[i].tokens = ss_malloc(sizeof(int32_t) * (p->n_predict + 1));
        g[k].text = ss_calloc(1, 1); g[k].cap = 1;
        if (p->head) ss_swift_acc_reset(&g[k].acc);
    }
    t0 = ss_time();
    double t_swift = 0;
    int n_gen = 0;
    for (int k = 0; k < NC; k++) {
        int q = owner[k];
        if (ps[q]->n_predict <= 0) { g[k].done = true; continue; }
        gen_sample(c, ps[q], &g[k], &rs[q].cand[k - first[q]], k - first[q], logits0 + (size_t)q * V, want_feat);
    }
    for (;;) {
        ss_batch_clear(&b);
        int nb = 0;
        for (int k = 0; k < NC; k++) {
            if (g[k].done) continue;
            int fl = g[k].final_feed ? feat_flag : (SS_OUT_LOGITS | feat_flag);
            ss_batch_add(&b, g[k].seq, ss_seq_len(c, g[k].seq), g[k].pending, fl);
            map[nb++] = k;
        }
        if (nb == 0) break;
        if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        n_gen += nb;
        for (int e = 0; e < nb; e++) {
            int k = map[e], q = owner[k], i = k - first[q];
            const ss_gen_params *p = ps[q];
            if (want_feat) {
                double ts = ss_time();
                const float *x = feat->logits ? ss_get_logits(c, e) : ss_get_layers(c, e);
                if (p->head) ss_swift_acc_add(&g[k].acc, p->head, x);
                if (p->keep_features) keep_row(&rs[q].cand[i], &g[k], x, fdim, p->features_f16);
                t_swift += ss_time() - ts;
            }
            if (g[k].final_feed) { g[k].done = true; continue; }
            gen_sample(c, p, &g[k], &rs[q].cand[i], i, ss_get_logits(c, e), want_feat);
        }
    }
    double t_gen = ss_time() - t0;
    for (int k = 0; k < NC; k++) {
        int q = owner[k], i = k - first[q];
        rs[q].cand[i].text = g[k].text; g[k].text = NULL;
        if (ps[q]->head) rs[q].cand[i].swift = ss_swift_acc_reward(&g[k].acc, ps[q]->head);
    }
    for (int q = 0; q < P; q++) { rs[q].t_gen = t_gen; rs[q].t_swift = t_swift; rs[q].n_gen_tokens = n_gen; }
    rc = 0;
done:
    for (int k = 0; k < NC; k++) {
        if (g[k].seq >= 0) ss_seq_free(c, g[k].seq);
        if (g[k].smp) ss_sampler_free(g[k].smp);
        free(g[k].text);
    }
    if (want_feat && !feat->logits) ss_ctx_set_layers(c, NULL, 0, false);
    for (int q = 0; q < P; q++) free(H[q]);
    free(H); free(g); free(owner); free(first); free(map); free(logits0);
    ss_batch_free(&b);
    if (rc) for (int q = 0; q < P; q++) ss_gen_result_free(&rs[q]);
    return rc;
}

int ss_gen_run(ss_ctx *c, const int32_t *prompt, int T, const ss_gen_params *p,
               ss_gen_result *r, char *err, size_t errlen) {
    return ss_gen_run_multi(c, 1, &prompt, &T, &p, r, err, errlen);
}

void ss_gen_result_free(ss_gen_result *r) {
    if (r->cand)
        for (int i = 0; i < r->n_cand; i++) { free(r->cand[i].text); free(r->cand[i].tokens); free(r->cand[i].features); }
    free(r->cand); free(r->slot_losses);
    memset(r, 0, sizeof *r);
}
