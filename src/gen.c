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

int ss_gen_run(ss_ctx *c, const int32_t *prompt, int T, const ss_gen_params *p,
               ss_gen_result *r, char *err, size_t errlen) {
    const ss_model *m = c->model;
    const ss_hparams *hp = &m->hp;
    int D = hp->n_embd, V = hp->n_vocab, N = p->n_cand;
    memset(r, 0, sizeof *r);
    if (T < 1) return ss_err(err, errlen, "empty prompt");
    if (N < 1) return ss_err(err, errlen, "need at least one candidate");
    if (T >= ss_ctx_n_ctx(c))
        return ss_err(err, errlen, "prompt of %d tokens does not fit the context of %d tokens (use a larger -c)", T, ss_ctx_n_ctx(c));
    bool slot = p->slot.steps > 0;
    bool want_feat = p->feat != NULL;
    const ss_swift_head *head = p->head;
    if (head && !want_feat) return ss_err(err, errlen, "a SWIFT head needs its feature spec");
    int fdim = want_feat ? p->feat->dim : 0;
    if (want_feat && !p->feat->logits) {
        if (ss_ctx_set_layers(c, p->feat->layer, p->feat->n_layers, p->feat->norm))
            return ss_err(err, errlen, "%s", ss_ctx_error(c));
    }
    int feat_flag = !want_feat ? 0 : p->feat->logits ? SS_OUT_LOGITS : SS_OUT_LAYERS;

    r->n_prompt = T;
    r->n_cand = N;
    r->cand = ss_calloc(N, sizeof(ss_gen_cand));
    gen_state *g = ss_calloc(N, sizeof(gen_state));
    float *H = NULL, *logits0 = NULL, *feat_tmp = NULL;
    int rc = -1;
    ss_batch b = ss_batch_new(c->params.n_batch);
    for (int i = 0; i < N; i++) g[i].seq = -1;

    // ---- prefill tokens 0..T-2 (hidden rows kept for SLOT), then the last token with logits ----
    double t0 = ss_time();
    int seq0 = ss_seq_new(c);
    if (seq0 < 0) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
    g[0].seq = seq0;
    if (slot) H = ss_calloc((size_t)T * D, sizeof(float));
    for (int s = 0; s < T - 1; s += c->params.n_batch) {
        int n = T - 1 - s < c->params.n_batch ? T - 1 - s : c->params.n_batch;
        ss_batch_clear(&b);
        for (int i = 0; i < n; i++) ss_batch_add(&b, seq0, s + i, prompt[s + i], slot ? SS_OUT_HIDDEN : 0);
        if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        if (slot) for (int i = 0; i < n; i++) memcpy(H + (size_t)(s + i) * D, ss_get_hidden(c, i), sizeof(float) * D);
    }
    r->t_prompt = ss_time() - t0;
    if (slot) {
        // SLOT on positions 0..T-2 (row T-1 is not used by the loss); delta then applies to every logit
        float *delta = ss_calloc(D, sizeof(float));
        r->slot_losses = ss_calloc(p->slot.steps, sizeof(float));
        ss_slot_result sr = { .loss_before = r->slot_losses };
        if (T < 2 || ss_slot_optimize(&p->slot, c->pool, H, T, D, prompt, p->slot_mask, &m->output, delta, &sr, err, errlen)) {
            if (T < 2) ss_err(err, errlen, "SLOT needs a prompt of at least 2 tokens");
            free(delta); goto done;
        }
        r->slot_loss_after = sr.loss_after;
        r->slot_peak_bytes = sr.peak_bytes;
        r->t_slot = sr.seconds;
        ss_seq_set_delta(c, seq0, delta);
        free(delta);
    }
    t0 = ss_time();
    ss_batch_clear(&b);
    ss_batch_add(&b, seq0, T - 1, prompt[T - 1], SS_OUT_LOGITS);
    if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
    logits0 = ss_malloc(sizeof(float) * V);
    memcpy(logits0, ss_get_logits(c, 0), sizeof(float) * V);
    r->t_prompt += ss_time() - t0;

    // ---- N candidates share the prompt's cache ----
    for (int i = 0; i < N; i++) {
        if (i > 0 && (g[i].seq = ss_seq_fork(c, seq0)) < 0) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        ss_sampling_params sp = p->samp;
        sp.seed = p->samp.seed + (uint64_t)i;
        g[i].smp = ss_sampler_new(&sp, V);
        for (int t = 0; t < T; t++) ss_sampler_accept(g[i].smp, prompt[t]);
        g[i].pending = -1;
        r->cand[i].tokens = ss_malloc(sizeof(int32_t) * (p->n_predict + 1));
        g[i].text = ss_calloc(1, 1); g[i].cap = 1;
        if (head) ss_swift_acc_reset(&g[i].acc);
    }
    feat_tmp = want_feat ? ss_malloc(sizeof(float) * fdim) : NULL;
    t0 = ss_time();
    double t_swift = 0;
    for (int i = 0; i < N; i++) {
        if (p->n_predict <= 0) { g[i].done = true; continue; }
        gen_sample(c, p, &g[i], &r->cand[i], i, logits0, want_feat);
    }
    for (;;) {
        ss_batch_clear(&b);
        int map[4096];
        int nb = 0;
        for (int i = 0; i < N && nb < 4096; i++) {
            if (g[i].done) continue;
            int fl = g[i].final_feed ? feat_flag : (SS_OUT_LOGITS | feat_flag);
            ss_batch_add(&b, g[i].seq, ss_seq_len(c, g[i].seq), g[i].pending, fl);
            map[nb++] = i;
        }
        if (nb == 0) break;
        if (ss_decode(c, &b)) { ss_err(err, errlen, "%s", ss_ctx_error(c)); goto done; }
        r->n_gen_tokens += nb;
        for (int k = 0; k < nb; k++) {
            int i = map[k];
            if (want_feat) {
                double ts = ss_time();
                const float *x = p->feat->logits ? ss_get_logits(c, k) : ss_get_layers(c, k);
                if (head) ss_swift_acc_add(&g[i].acc, head, x);
                if (p->keep_features) keep_row(&r->cand[i], &g[i], x, fdim, p->features_f16);
                t_swift += ss_time() - ts;
            }
            if (g[i].final_feed) { g[i].done = true; continue; }
            gen_sample(c, p, &g[i], &r->cand[i], i, ss_get_logits(c, k), want_feat);
        }
    }
    r->t_gen = ss_time() - t0;
    r->t_swift = t_swift;
    for (int i = 0; i < N; i++) {
        r->cand[i].text = g[i].text; g[i].text = NULL;
        if (head) r->cand[i].swift = ss_swift_acc_reward(&g[i].acc, head);
    }
    rc = 0;
done:
    for (int i = 0; i < N; i++) {
        if (g[i].seq >= 0) ss_seq_free(c, g[i].seq);
        if (g[i].smp) ss_sampler_free(g[i].smp);
        free(g[i].text);
    }
    if (want_feat && !p->feat->logits) ss_ctx_set_layers(c, NULL, 0, false);
    free(g); free(H); free(logits0); free(feat_tmp);
    ss_batch_free(&b);
    if (rc) ss_gen_result_free(r);
    return rc;
}

void ss_gen_result_free(ss_gen_result *r) {
    if (r->cand)
        for (int i = 0; i < r->n_cand; i++) { free(r->cand[i].text); free(r->cand[i].tokens); free(r->cand[i].features); }
    free(r->cand); free(r->slot_losses);
    memset(r, 0, sizeof *r);
}
