// engine.c — the step-wise generation engine (continuous batching; API in slotswift.h).
//
// A request goes QUEUED -> PREFILL -> [SLOT] -> LAST -> DECODE -> DONE:
//   PREFILL: prompt positions 0..T-2 in chunks (SS_ROW_PROMPT rows; hidden rows kept for SLOT);
//            its KV pages are then kept as a cached prefix (a sequence forked at length T-1);
//   SLOT:    one AdamW step per engine step (ss_slot_step), one request at a time, then delta;
//   LAST:    the last prompt token with logits (SS_ROW_GEN, delta applied), then the fork into
//            N candidates (sharing the prompt's pages) and their first tokens; without SLOT in
//            the batch of the last prefill chunk, after the prompt rows (one step sooner);
//   DECODE:  one token per running candidate per step; a finished candidate with SWIFT features
//            is fed once more for the features of its last token.
// One step builds one batch: prefill rows first (at most prefill_chunk; the LAST row of a prompt
// that ends there and has no SLOT right after its rows), then the other LAST rows and
// every running candidate's row, and runs one ss_decode; then one SLOT step. The row kinds make
// every row's numerics independent of the batch (see SS_ROW_PROMPT in slotswift.h), and the
// attention of a row reads every key/value, its own included, from the cache, so a request's
// results do not depend on the other requests, on the chunking or on a reused prefix.
// Admission (FIFO): its candidates fit max_running and the context's sequences, its worst-case
// KV pages fit beside the active requests' (a request alone is always admitted, as ss_gen_run
// always ran), and its captured features equal the active requests' (one set per context).
#include "ss_common.h"
#include "ss_slot.h"
#include "ss_model.h"
#include "ss_vocab.h"
#include "ss_vote.h"
#include "ss_sampling.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_QUEUED, R_PREFILL, R_SLOT, R_LAST, R_DECODE, R_DONE, R_CANCELLED, R_FAILED };

typedef struct {              // one candidate
    int seq;                  // -1: none (not forked yet, or freed)
    ss_sampler *smp;
    ss_detok detok;
    char *text; size_t len, cap;
    int32_t pending;          // sampled token to feed next
    bool done, final_feed;    // final_feed: feed `pending` once more only for its features
    char *answer;             // early_stop: the answer of a finished candidate (extracted once)
    bool answered;            // ... extracted
    ss_swift_acc acc;
    size_t feat_cap;
    float conf[2];            // feat->conf: log p and entropy of the distribution `pending` was drawn from
    float *xrow;              // feat->conf: [feat->dim] the features of one row (captured + conf)
    bool started;             // forked and sampling (adaptive: later waves start later)
} eng_cand;

typedef struct {
    int id, state;
    int32_t *prompt; int T;
    ss_gen_params p;          // copy; p.stops and p.slot_mask point to the request's own copies
    char **stops;
    uint8_t *mask;
    int need_pages;           // worst-case KV pages (admission)
    int n_past;               // prompt positions in the cache (PREFILL: up to T-1)
    float *H;                 // [T, D] hidden rows of the prompt (SLOT)
    ss_slot_stepper *slot;
    int slot_k;               // SLOT steps done
    eng_cand *cand;
    ss_gen_result res;
    bool cancel;              // a callback asked for it (done at the end of the step)
    bool vote_check;          // early_stop: a candidate finished in this step
    float *first_logits;      // adaptive: the last prompt token's logits [n_vocab] (first tokens)
    int n_started;            // candidates started
    double t_admit, t_first;
    char err[SS_ERRLEN];
} eng_req;

typedef struct {              // a cached prompt prefix: a sequence holding tokens[0..n)
    int seq;
    int32_t *tok; int n;
    long long used;           // step of the last use (LRU)
} eng_prefix;

struct ss_engine {
    ss_ctx *c;
    ss_engine_params p;
    eng_req **req; int n_req, cap_req;     // known requests in id order (queue order)
    int next_id;
    eng_prefix *pre; int n_pre;
    ss_batch b;
    int *map_req, *map_cand; int map_cap;  // per batch entry: request index, candidate (-1: prompt row)
    int feat_mode;                         // features captured for the active requests: 0 none,
                                           // 1 logits, 2 layers (set with ss_ctx_set_layers)
    eng_req *slot_owner;                   // the request running SLOT
    ss_engine_state st;
};

void ss_engine_params_default(ss_engine_params *p) {
    memset(p, 0, sizeof *p);
    p->prefix_reuse = true;
}

ss_engine *ss_engine_new(ss_ctx *c, const ss_engine_params *pp, char *err, size_t errlen) {
    ss_engine_params p;
    if (pp) p = *pp; else ss_engine_params_default(&p);
    if (!c) { ss_err(err, errlen, "engine: no context"); return NULL; }
    if (p.max_running < 0 || p.max_queue < 0 || p.prefill_chunk < 0 || p.prefix_slots < 0) {
        ss_err(err, errlen, "engine: negative parameter (max_running %d, max_queue %d, prefill_chunk %d, prefix_slots %d)",
               p.max_running, p.max_queue, p.prefill_chunk, p.prefix_slots);
        return NULL;
    }
    if (p.max_running == 0 || p.max_running > c->params.n_seq_max) p.max_running = c->params.n_seq_max;
    if (p.max_queue == 0) p.max_queue = 256;
    if (p.prefill_chunk == 0) p.prefill_chunk = c->params.n_batch;
    if (p.prefix_slots == 0) p.prefix_slots = 8;
    ss_engine *e = ss_calloc(1, sizeof *e);
    if (!e) { ss_err(err, errlen, "engine: out of memory"); return NULL; }
    e->c = c;
    e->p = p;
    e->b = ss_batch_new(c->params.n_batch);
    e->pre = ss_calloc(p.prefix_slots, sizeof(eng_prefix));
    if (!e->b.cap || !e->pre) {
        ss_engine_free(e);
        ss_err(err, errlen, "engine: out of memory (batch of %d entries, %d prefix slots)", c->params.n_batch, p.prefix_slots);
        return NULL;
    }
    return e;
}

// ---------------------------------------------------------------- helpers

static bool same_spec(const ss_swift_spec *a, const ss_swift_spec *b) {
    if (!a || !b) return a == b;
    return a->logits == b->logits && a->norm == b->norm && a->n_layers == b->n_layers && a->dim == b->dim && a->conf == b->conf &&
           !memcmp(a->layer, b->layer, sizeof(int) * a->n_layers);
}

static bool req_active(const eng_req *r) { return r->state >= R_PREFILL && r->state <= R_DECODE; }

static eng_req *find_req(const ss_engine *e, int id) {
    for (int i = 0; i < e->n_req; i++) if (e->req[i]->id == id) return e->req[i];
    return NULL;
}

// false when out of memory (the text is unchanged)
static bool text_append(eng_cand *g, const char *s, int n) {
    if (g->len + n + 1 > g->cap) {
        char *t = ss_realloc(g->text, (g->len + n + 1) * 2);
        if (!t) return false;
        g->text = t;
        g->cap = (g->len + n + 1) * 2;
    }
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = 0;
    return true;
}

// true if the text now contains a stop string (text is cut at its start)
static bool check_stops(eng_cand *g, const ss_gen_params *p) {
    for (int k = 0; k < p->n_stops; k++) {
        char *hit = strstr(g->text, p->stops[k]);
        if (hit) { g->len = hit - g->text; g->text[g->len] = 0; return true; }
    }
    return false;
}

// false when out of memory (the rows kept so far are unchanged)
static bool keep_row(ss_gen_cand *cd, eng_cand *g, const float *x, int dim, bool f16) {
    size_t esz = f16 ? 2 : 4;
    if ((size_t)(cd->n_feat_rows + 1) > g->feat_cap) {
        const size_t cap = g->feat_cap ? g->feat_cap * 2 : 64;
        void *f = ss_realloc(cd->features, cap * dim * esz);
        if (!f) return false;
        cd->features = f;
        g->feat_cap = cap;
    }
    if (f16) {
        uint16_t *d = (uint16_t *)cd->features + (size_t)cd->n_feat_rows * dim;
        for (int i = 0; i < dim; i++) d[i] = ss_fp32_to_fp16(x[i]);
    } else memcpy((float *)cd->features + (size_t)cd->n_feat_rows * dim, x, sizeof(float) * dim);
    cd->n_feat_rows++;
    return true;
}

// sample candidate i's next token from logits; decide whether it finishes; stream it.
// false when out of memory (the caller fails the request)
static bool cand_sample(ss_engine *e, eng_req *r, int i, const float *logits) {
    ss_ctx *c = e->c;
    const ss_vocab *v = c->model->vocab;
    const ss_gen_params *p = &r->p;
    eng_cand *g = &r->cand[i];
    ss_gen_cand *cd = &r->res.cand[i];
    const bool want_feat = p->feat != NULL;
    float lp = 0;
    int32_t tok = ss_sampler_sample(g->smp, logits, &lp);
    if (want_feat && p->feat->conf) {   // the confidence features of the row that will feed tok
        g->conf[0] = lp;
        g->conf[1] = (float)ss_logits_entropy(logits, c->model->hp.n_vocab);
    }
    if (p->on_logits) p->on_logits(p->ud, i, logits);
    ss_sampler_accept(g->smp, tok);
    cd->logprobs[cd->n_tokens] = lp;
    cd->tokens[cd->n_tokens++] = tok;
    cd->logprob_sum += lp;
    if (cd->n_tokens == 1 || lp < cd->logprob_min) cd->logprob_min = lp;
    const size_t start = g->len;
    bool eog = ss_vocab_is_eog(v, tok) && !p->ignore_eos;
    int finish = -1;
    if (eog) finish = SS_FINISH_EOG;
    else {
        char buf[512];
        int n = ss_detok_push(&g->detok, v, tok, buf, sizeof buf);
        if (n > 0 && n <= (int)sizeof buf) {
            size_t before = g->len;
            if (!text_append(g, buf, n)) return false;
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
        r->vote_check = p->early_stop;
        if (finish != SS_FINISH_STOP) {
            char buf[64];
            int n = ss_detok_flush(&g->detok, buf, sizeof buf);
            if (n > 0 && n <= (int)sizeof buf) {
                if (!text_append(g, buf, n)) return false;
                if (p->on_piece) p->on_piece(p->ud, i, buf, n);
            }
        }
        // the last token still has to be fed once to read its features (if there is room)
        if (want_feat && finish != SS_FINISH_CTX && ss_seq_len(c, g->seq) < ss_ctx_n_ctx(c)) g->final_feed = true;
        else g->done = true;
    }
    // (a stop string cut the text: start may be past the new end)
    const size_t from = start < g->len ? start : g->len;
    if (p->on_token && p->on_token(p->ud, r->id, i, tok, g->text + from, (int)(g->len - from), lp)) r->cancel = true;
    return true;
}

// ---------------------------------------------------------------- prefix cache

static void prefix_drop(ss_engine *e, int k) {
    ss_seq_free(e->c, e->pre[k].seq);
    free(e->pre[k].tok);
    e->pre[k] = e->pre[--e->n_pre];
}

static bool prefix_evict_lru(ss_engine *e) {
    if (e->n_pre == 0) return false;
    int k = 0;
    for (int j = 1; j < e->n_pre; j++) if (e->pre[j].used < e->pre[k].used) k = j;
    prefix_drop(e, k);
    return true;
}

static int prefix_pages(const ss_engine *e) {
    int n = 0;
    for (int k = 0; k < e->n_pre; k++) n += (e->pre[k].n + SS_KV_PAGE - 1) / SS_KV_PAGE;
    return n;
}

// the longest cached prefix of prompt[0..n): its index and length (0: none)
static int prefix_find(const ss_engine *e, const int32_t *prompt, int n, int *len) {
    int best = -1, bl = 0;
    for (int k = 0; k < e->n_pre; k++) {
        const eng_prefix *q = &e->pre[k];
        int l = 0, lim = q->n < n ? q->n : n;
        while (l < lim && q->tok[l] == prompt[l]) l++;
        if (l > bl) { bl = l; best = k; }
    }
    *len = bl;
    return best;
}

// keep r's prompt positions 0..T-2 (just prefilled) as a cached prefix
static void prefix_keep(ss_engine *e, eng_req *r, int seqs_reserved) {
    const int n = r->T - 1;
    if (!e->p.prefix_reuse || n < 1) return;
    for (int k = 0; k < e->n_pre;) {           // a cached prefix of this prompt is now redundant
        const eng_prefix *q = &e->pre[k];
        if (q->n <= n && !memcmp(q->tok, r->prompt, sizeof(int32_t) * q->n)) prefix_drop(e, k);
        else k++;
    }
    if (e->n_pre == e->p.prefix_slots) prefix_evict_lru(e);
    if (seqs_reserved + e->n_pre + 1 > e->c->params.n_seq_max) return;   // no sequence to spare
    const int seq = ss_seq_fork(e->c, r->cand[0].seq);
    if (seq < 0) return;
    ss_seq_truncate(e->c, seq, n);   // (the last prompt token may be in the cache too: same batch)
    int32_t *tok = ss_malloc(sizeof(int32_t) * n);
    if (!tok) { ss_seq_free(e->c, seq); return; }   // out of memory: the prefix is just not kept
    eng_prefix *q = &e->pre[e->n_pre++];
    q->seq = seq;
    q->n = n;
    q->tok = tok;
    memcpy(q->tok, r->prompt, sizeof(int32_t) * n);
    q->used = e->st.steps;
}

// ---------------------------------------------------------------- requests

// worst-case KV pages of a request: its prompt, then per candidate its tokens (and a copied page)
static int req_pages(const ss_ctx *c, int T, const ss_gen_params *p) {
    int gen = p->n_predict + 1 < c->params.n_ctx - T ? p->n_predict + 1 : c->params.n_ctx - T;
    if (gen < 0) gen = 0;
    return (T + SS_KV_PAGE - 1) / SS_KV_PAGE + p->n_cand * ((gen + SS_KV_PAGE - 1) / SS_KV_PAGE + 1);
}

static void req_free_seqs(ss_engine *e, eng_req *r) {
    if (!r->cand) return;
    for (int i = 0; i < r->p.n_cand; i++) {
        eng_cand *g = &r->cand[i];
        if (g->seq >= 0) ss_seq_free(e->c, g->seq);
        g->seq = -1;
        if (g->smp) ss_sampler_free(g->smp);
        g->smp = NULL;
        free(g->answer);
        g->answer = NULL;
        free(g->xrow);
        g->xrow = NULL;
    }
}

// r leaves the active set: sequences, SLOT run, hidden rows and the feature users are released
static void req_leave(ss_engine *e, eng_req *r, int state) {
    const bool was_active = req_active(r);
    req_free_seqs(e, r);
    if (r->slot) { ss_slot_stepper_free(r->slot); r->slot = NULL; }
    if (e->slot_owner == r) e->slot_owner = NULL;
    free(r->H); r->H = NULL;
    r->state = state;
    if (was_active && e->feat_mode) {      // the last feature user gone: no capture
        bool any = false;
        for (int i = 0; i < e->n_req; i++) any |= req_active(e->req[i]) && e->req[i]->p.feat;
        if (!any) {
            if (e->feat_mode == 2) ss_ctx_set_layers(e->c, NULL, 0, false);
            e->feat_mode = 0;
        }
    }
}

static void req_fail(ss_engine *e, eng_req *r, const char *msg);

// texts, rewards and timings into the result; DONE or CANCELLED (FAILED when out of memory)
static void req_finish(ss_engine *e, eng_req *r, int state) {
    double now = ss_time();
    for (int i = 0; i < r->p.n_cand; i++) {
        eng_cand *g = &r->cand[i];
        ss_gen_cand *cd = &r->res.cand[i];
        if (!g->done) cd->finish = SS_FINISH_CANCEL;
        if (!g->text && !(g->text = ss_calloc(1, 1))) { req_fail(e, r, "generation: out of memory"); return; }
        cd->text = g->text;
        g->text = NULL;
        if (r->p.head) cd->swift = ss_swift_acc_reward(&g->acc, r->p.head);
    }
    if (r->t_first > 0) r->res.t_gen = now - r->t_first;
    else if (r->t_admit > 0) r->res.t_prompt = now - r->t_admit - r->res.t_slot;
    req_leave(e, r, state);
}

static void req_fail(ss_engine *e, eng_req *r, const char *msg) {
    snprintf(r->err, sizeof r->err, "%s", msg);
    req_leave(e, r, R_FAILED);
}

static void req_destroy(eng_req *r) {
    if (r->cand) for (int i = 0; i < r->p.n_cand; i++) free(r->cand[i].text);
    free(r->cand);
    ss_gen_result_free(&r->res);
    if (r->stops) for (int k = 0; k < r->p.n_stops; k++) free(r->stops[k]);
    free(r->stops); free(r->mask); free(r->prompt); free(r->H); free(r->first_logits);
    free(r);
}

int ss_engine_submit(ss_engine *e, const ss_token *prompt, int n, const ss_gen_params *p, char *err, size_t errlen) {
    ss_ctx *c = e->c;
    const int V = c->model->hp.n_vocab;
    if (!p) return ss_err(err, errlen, "no generation parameters");
    if (!prompt || n < 1) return ss_err(err, errlen, "the prompt is empty");
    if (n >= ss_ctx_n_ctx(c))
        return ss_err(err, errlen, "prompt of %d tokens does not fit the context of %d tokens (use a larger -c)", n, ss_ctx_n_ctx(c));
    for (int t = 0; t < n; t++)
        if (prompt[t] < 0 || prompt[t] >= V) return ss_err(err, errlen, "prompt token %d at position %d out of range [0, %d)", prompt[t], t, V);
    if (p->n_cand < 1) return ss_err(err, errlen, "need at least one candidate");
    if (p->n_cand > e->p.max_running)
        return ss_err(err, errlen, "%d candidates exceed the engine's %d running sequences", p->n_cand, e->p.max_running);
    if (p->n_predict < 0) return ss_err(err, errlen, "negative number of tokens to predict (%d)", p->n_predict);
    if (p->adaptive < 0 || !(p->adaptive_agree >= 0 && p->adaptive_agree <= 1) || !(p->adaptive_conf >= 0 && p->adaptive_conf <= 1)
        || !(p->adaptive_tokp >= 0 && p->adaptive_tokp <= 1))
        return ss_err(err, errlen, "adaptive sampling: first wave %d must be >= 0, agreement %g, confidence %g and token probability %g in [0, 1]",
                      p->adaptive, p->adaptive_agree, p->adaptive_conf, p->adaptive_tokp);
    if (!(p->adaptive_margin >= 0 && p->adaptive_margin < INFINITY) || !(p->adaptive_gamma >= 0 && p->adaptive_gamma < INFINITY))
        return ss_err(err, errlen, "adaptive sampling: weighted margin %g and exponent %g must be finite and >= 0",
                      p->adaptive_margin, p->adaptive_gamma);
    if (p->n_stops < 0 || (p->n_stops && !p->stops)) return ss_err(err, errlen, "bad stop strings");
    if (p->slot.steps > 0 && n < 2) return ss_err(err, errlen, "SLOT needs a prompt of at least 2 tokens");
    if (p->head && !p->feat) return ss_err(err, errlen, "a SWIFT head needs its feature spec");
    if (p->feat && !p->feat->logits) {
        for (int i = 0; i < p->feat->n_layers; i++)
            if (p->feat->layer[i] < 0 || p->feat->layer[i] > c->model->hp.n_layer)
                return ss_err(err, errlen, "feature layer %d out of range 0..%d", p->feat->layer[i], c->model->hp.n_layer);
    }
    int queued = 0;
    for (int i = 0; i < e->n_req; i++) queued += e->req[i]->state == R_QUEUED;
    if (queued >= e->p.max_queue) return ss_err(err, errlen, "queue full (%d requests waiting)", queued);

    eng_req *r = ss_calloc(1, sizeof *r);
    if (!r) return ss_err(err, errlen, "generation: out of memory");
    r->state = R_QUEUED;
    r->T = n;
    r->p = *p;
    r->p.n_stops = 0;          // (until the copies exist: req_destroy frees what is set)
    r->prompt = ss_malloc(sizeof(int32_t) * n);
    if (!r->prompt) goto oom;
    memcpy(r->prompt, prompt, sizeof(int32_t) * n);
    // (a sequence ends at the context's size first: the same results, a bounded token array)
    if (r->p.n_predict > ss_ctx_n_ctx(c)) r->p.n_predict = ss_ctx_n_ctx(c);
    if (p->n_stops) {
        if (!(r->stops = ss_calloc(p->n_stops, sizeof(char *)))) goto oom;
        r->p.n_stops = p->n_stops;
        for (int k = 0; k < p->n_stops; k++)
            if (!(r->stops[k] = ss_strdup(p->stops[k] ? p->stops[k] : ""))) goto oom;
        r->p.stops = (const char *const *)r->stops;
    }
    if (p->slot_mask) {
        if (!(r->mask = ss_malloc(n))) goto oom;
        memcpy(r->mask, p->slot_mask, n);
        r->p.slot_mask = r->mask;
    }
    r->need_pages = req_pages(c, n, &r->p);
    r->res.n_prompt = n;
    r->res.n_cand = p->n_cand;
    r->res.cand = ss_calloc(p->n_cand, sizeof(ss_gen_cand));
    r->cand = ss_calloc(p->n_cand, sizeof(eng_cand));
    if (!r->res.cand || !r->cand) goto oom;
    for (int i = 0; i < p->n_cand; i++) { r->cand[i].seq = -1; r->cand[i].pending = -1; }
    if (e->n_req == e->cap_req) {
        const int cap = e->cap_req ? 2 * e->cap_req : 16;
        eng_req **q = ss_realloc(e->req, sizeof(eng_req *) * cap);
        if (!q) goto oom;
        e->req = q;
        e->cap_req = cap;
    }
    r->id = e->next_id++;
    e->req[e->n_req++] = r;
    return r->id;
oom:
    req_destroy(r);
    return ss_err(err, errlen, "generation: out of memory (prompt of %d tokens, %d candidates)", n, p->n_cand);
}

// admit r if it fits beside the active requests (evicting cached prefixes as needed); true if admitted
static bool req_admit(ss_engine *e, eng_req *r) {
    ss_ctx *c = e->c;
    int n_active = 0, cands = 0, pages = 0;
    const ss_swift_spec *feat = NULL;
    for (int i = 0; i < e->n_req; i++) {
        const eng_req *a = e->req[i];
        if (!req_active(a)) continue;
        n_active++;
        cands += a->p.n_cand;
        pages += a->need_pages;
        if (a->p.feat) feat = a->p.feat;
    }
    if (cands + r->p.n_cand > e->p.max_running) return false;
    if (r->p.feat && feat && !same_spec(r->p.feat, feat)) return false;
    if (n_active && pages + r->need_pages > c->kv.n_pages) return false;
    // a prefix to reuse (not with SLOT: it needs the hidden rows of every prompt position), forked
    // first so that its pages stay with r if the cached prefix is evicted below
    int seq = -1, len = 0;
    if (e->p.prefix_reuse && r->p.slot.steps <= 0) {
        const int k = prefix_find(e, r->prompt, r->T - 1, &len);
        if (k >= 0 && (seq = ss_seq_fork(c, e->pre[k].seq)) >= 0) {
            ss_seq_truncate(c, seq, len);
            e->pre[k].used = e->st.steps;
            r->n_past = r->res.n_reused = len;
            e->st.reused_tokens += len;
        }
    }
    // sequences: every active candidate's and the cached prefixes'; pages: the active requests'
    // worst case and the cached prefixes'
    while (e->n_pre && (cands + r->p.n_cand + e->n_pre > c->params.n_seq_max ||
                        pages + r->need_pages + prefix_pages(e) > c->kv.n_pages)) prefix_evict_lru(e);
    if (seq < 0 && (seq = ss_seq_new(c)) < 0) {   // (not reached: sequences were counted)
        req_fail(e, r, ss_ctx_error(c));
        return true;
    }
    r->cand[0].seq = seq;
    if (r->p.feat && !e->feat_mode) {
        if (!r->p.feat->logits && ss_ctx_set_layers(c, r->p.feat->layer, r->p.feat->n_layers, r->p.feat->norm)) {
            req_fail(e, r, ss_ctx_error(c));
            return true;
        }
        e->feat_mode = r->p.feat->logits ? 1 : 2;
    }
    if (r->p.slot.steps > 0) {
        r->H = ss_calloc((size_t)r->T * c->model->hp.n_embd, sizeof(float));
        r->res.slot_losses = ss_calloc((size_t)r->p.slot.steps * 3, sizeof(float));
        if (!r->H || !r->res.slot_losses) {
            req_fail(e, r, "SLOT: out of memory (hidden rows of the prompt)");
            return true;
        }
        r->res.slot_kl = r->res.slot_losses + r->p.slot.steps;
        r->res.slot_scale = r->res.slot_kl + r->p.slot.steps;
    }
    r->t_admit = ss_time();
    r->state = r->n_past == r->T - 1 ? (r->p.slot.steps > 0 ? R_SLOT : R_LAST) : R_PREFILL;
    return true;
}

// start candidates [i0, i1): forks of candidate 0's sequence cut to the prompt (candidate 0 keeps
// the prompt's own sequence; adaptive's later waves: its generated tokens are cut off, so a wave
// needs no sequence beyond the candidates'), samplers seeded seed + i, first tokens from logits;
// false when the request failed
static bool cands_start(ss_engine *e, eng_req *r, int i0, int i1, const float *logits) {
    ss_ctx *c = e->c;
    const int V = c->model->hp.n_vocab;
    for (int i = i0; i < i1; i++) {
        eng_cand *g = &r->cand[i];
        if (i > 0 && ((g->seq = ss_seq_fork(c, r->cand[0].seq)) < 0 || ss_seq_truncate(c, g->seq, r->T))) {
            req_fail(e, r, ss_ctx_error(c));
            return false;
        }
        ss_sampling_params sp = r->p.samp;
        sp.seed = r->p.samp.seed + (uint64_t)i;
        g->smp = ss_sampler_new(&sp, V);
        r->res.cand[i].tokens = ss_malloc(sizeof(int32_t) * (r->p.n_predict + 1));
        r->res.cand[i].logprobs = ss_malloc(sizeof(float) * (r->p.n_predict + 1));
        g->text = ss_calloc(1, 1); g->cap = 1;
        if (!g->smp || !r->res.cand[i].tokens || !r->res.cand[i].logprobs || !g->text) {
            req_fail(e, r, "generation: out of memory (candidates)");
            return false;
        }
        for (int t = 0; t < r->T; t++) ss_sampler_accept(g->smp, r->prompt[t]);
        if (r->p.head) ss_swift_acc_reset(&g->acc);
        g->started = true;
    }
    r->n_started = i1;
    for (int i = i0; i < i1; i++) {
        if (r->p.n_predict <= 0) { r->cand[i].done = true; continue; }
        if (!cand_sample(e, r, i, logits)) { req_fail(e, r, "generation: out of memory (text)"); return false; }
    }
    return true;
}

// the last prompt token's logits: fork into the candidates (adaptive: the first wave; the logits
// kept for the later ones), first tokens
static void req_start_decode(ss_engine *e, eng_req *r, const float *logits) {
    ss_ctx *c = e->c;
    const int V = c->model->hp.n_vocab;
    r->res.t_prompt = ss_time() - r->t_admit - r->res.t_slot;
    r->t_first = ss_time();
    int n0 = r->p.n_cand;
    if (r->p.adaptive > 0 && r->p.adaptive < r->p.n_cand) {
        n0 = r->p.adaptive;
        r->first_logits = ss_malloc(sizeof(float) * V);
        if (!r->first_logits) { req_fail(e, r, "generation: out of memory (adaptive)"); return; }
        memcpy(r->first_logits, logits, sizeof(float) * V);
    }
    r->state = R_DECODE;
    cands_start(e, r, 0, n0, logits);
}

// adaptive: when every started candidate is done, stop (ss_vote_adaptive_stop on their answers and
// mean token log-probabilities: the others never start) or start the next wave of max(1, n/2) more
static void adaptive_wave(ss_engine *e, eng_req *r) {
    const int n = r->n_started, N = r->p.n_cand;
    for (int i = 0; i < n; i++) if (!r->cand[i].done) return;
    if (n >= N) return;
    char **ans = ss_calloc(n, sizeof(char *));
    double *lp = ss_malloc(sizeof(double) * n);
    if (!ans || !lp) { free(ans); free(lp); req_fail(e, r, "generation: out of memory (adaptive)"); return; }
    for (int i = 0; i < n; i++) {   // (a candidate stopped by early_stop has no answer)
        const ss_gen_cand *cd = &r->res.cand[i];
        ans[i] = cd->stopped ? NULL : ss_answer_extract(r->cand[i].text ? r->cand[i].text : "");
        lp[i] = cd->n_tokens > 0 && !cd->stopped ? cd->logprob_sum / cd->n_tokens : -INFINITY;
    }
    const ss_vote_rule rule = { r->p.adaptive_conf > 0 ? r->p.adaptive_conf : SS_ADAPTIVE_CONF,
                                r->p.adaptive_agree,
                                r->p.adaptive_tokp > 0 ? r->p.adaptive_tokp : SS_ADAPTIVE_TOKP,
                                r->p.adaptive_margin,
                                r->p.adaptive_gamma > 0 ? r->p.adaptive_gamma : SS_ADAPTIVE_GAMMA };
    const int stop = ss_vote_adaptive_stop((const char *const *)ans, lp, n, N, &rule);
    for (int i = 0; i < n; i++) free(ans[i]);
    free(ans); free(lp);
    if (stop < 0) { req_fail(e, r, "generation: out of memory (adaptive)"); return; }
    if (!stop) {
        const int w = n / 2 > 1 ? n / 2 : 1;
        cands_start(e, r, n, n + w < N ? n + w : N, r->first_logits);
        return;
    }
    for (int i = n; i < N; i++) {   // decided: the rest never start
        r->cand[i].done = true;
        r->res.cand[i].finish = SS_FINISH_CANCEL;
        r->res.cand[i].stopped = true;
    }
    r->n_started = N;
}

// one SLOT step of the request that owns the optimizer (the first waiting one gets it)
static void slot_step(ss_engine *e) {
    ss_ctx *c = e->c;
    if (!e->slot_owner)
        for (int i = 0; i < e->n_req && !e->slot_owner; i++)
            if (e->req[i]->state == R_SLOT) e->slot_owner = e->req[i];
    eng_req *r = e->slot_owner;
    if (!r) return;
    const int D = c->model->hp.n_embd;
    char err[SS_ERRLEN];
    if (!r->slot) {
        ss_slot_params sp = r->p.slot;
        sp.ws = &c->slot_ws;   // the context keeps the stored logits' memory (one SLOT run at a time)
        sp.kern = c->kern;     // the context's kernels (its force_scalar choice)
        r->slot = ss_slot_begin(&sp, c->pool, r->H, r->T, D, r->prompt, r->p.slot_mask, &c->model->output, err, sizeof err);
        if (!r->slot) { req_fail(e, r, err); return; }
    }
    int rc = ss_slot_step(r->slot, &r->res.slot_losses[r->slot_k++], err, sizeof err);
    if (rc < 0) { req_fail(e, r, err); return; }
    if (rc > 0) return;
    float *delta = ss_malloc(sizeof(float) * D);
    if (!delta) { req_fail(e, r, "SLOT: out of memory"); return; }
    ss_slot_result sr = { .kl = r->res.slot_kl, .scale = r->res.slot_scale };
    int frc = ss_slot_finish(r->slot, delta, &sr, err, sizeof err);
    r->slot = NULL;
    e->slot_owner = NULL;
    if (frc) { free(delta); req_fail(e, r, err); return; }
    r->res.slot_loss_after = sr.loss_after;
    r->res.slot_steps = sr.steps_done;
    r->res.slot_peak_bytes = sr.peak_bytes;
    r->res.t_slot = sr.seconds;
    const int drc = ss_seq_set_delta(c, r->cand[0].seq, delta);
    free(delta);
    if (drc) { req_fail(e, r, ss_ctx_error(c)); return; }
    free(r->H); r->H = NULL;
    r->state = R_LAST;
}

// early_stop: once the finished candidates decide the vote (ss_vote_decided), the unfinished ones
// stop now (their sequences are freed; finish SS_FINISH_CANCEL, stopped)
static void vote_early_stop(ss_engine *e, eng_req *r) {
    r->vote_check = false;
    const int n = r->p.n_cand;
    const char **ans = ss_calloc(n, sizeof(char *));
    bool *fin = ss_calloc(n, sizeof(bool));
    if (!ans || !fin) { free(ans); free(fin); return; }   // no early stop: the full vote
    for (int i = 0; i < n; i++) {
        eng_cand *g = &r->cand[i];
        fin[i] = g->done || g->final_feed;
        if (fin[i] && !g->answered) { g->answer = ss_answer_extract(g->text ? g->text : ""); g->answered = true; }
        ans[i] = fin[i] ? g->answer : NULL;
    }
    int w;
    if (ss_vote_decided(ans, fin, n, &w) == 1)
        for (int i = 0; i < n; i++) {
            eng_cand *g = &r->cand[i];
            if (fin[i]) continue;
            g->done = true;
            r->res.cand[i].finish = SS_FINISH_CANCEL;
            r->res.cand[i].stopped = true;
            if (g->seq >= 0) ss_seq_free(e->c, g->seq);
            g->seq = -1;
        }
    free(ans); free(fin);
}

// ---------------------------------------------------------------- the step

// append a batch entry and its request / candidate; false when out of memory
static bool batch_add(ss_engine *e, int ri, int cand, int seq, int pos, int32_t tok, int flags) {
    if (e->b.n + 1 > e->map_cap) {
        const int cap = (e->b.n + 1) * 2;
        int *q = ss_realloc(e->map_req, sizeof(int) * cap);
        if (!q) return false;
        e->map_req = q;
        if (!(q = ss_realloc(e->map_cand, sizeof(int) * cap))) return false;
        e->map_cand = q;
        e->map_cap = cap;
    }
    if (ss_batch_add(&e->b, seq, pos, tok, flags)) return false;
    e->map_req[e->b.n - 1] = ri;
    e->map_cand[e->b.n - 1] = cand;
    return true;
}

// outputs of batch entry k for its request
static void entry_done(ss_engine *e, int k) {
    ss_ctx *c = e->c;
    eng_req *r = e->req[e->map_req[k]];
    const int i = e->map_cand[k];
    if (!req_active(r)) return;                   // failed earlier in this step
    if (r->state == R_PREFILL) {                  // a prompt row
        if (r->H) memcpy(r->H + (size_t)r->n_past * c->model->hp.n_embd, ss_get_hidden(c, k), sizeof(float) * c->model->hp.n_embd);
        if (++r->n_past == r->T - 1) {
            int reserved = 0;
            for (int j = 0; j < e->n_req; j++) if (req_active(e->req[j])) reserved += e->req[j]->p.n_cand;
            prefix_keep(e, r, reserved);
            r->state = r->p.slot.steps > 0 ? R_SLOT : R_LAST;
        }
        return;
    }
    if (r->state == R_LAST) { req_start_decode(e, r, ss_get_logits(c, k)); return; }
    // a candidate's token
    eng_cand *g = &r->cand[i];
    ss_gen_cand *cd = &r->res.cand[i];
    r->res.n_gen_tokens++;
    e->st.gen_tokens++;
    if (r->p.feat) {
        double ts = ss_time();
        const float *x = r->p.feat->logits ? ss_get_logits(c, k) : ss_get_layers(c, k);
        if (r->p.feat->conf) {   // [captured values, log p, entropy]
            const int fd = r->p.feat->dim - SS_SWIFT_CONF_DIM;
            if (!g->xrow) g->xrow = ss_malloc(sizeof(float) * r->p.feat->dim);
            memcpy(g->xrow, x, sizeof(float) * fd);
            memcpy(g->xrow + fd, g->conf, sizeof g->conf);
            x = g->xrow;
        }
        if (r->p.head) ss_swift_acc_add(&g->acc, r->p.head, x);
        if (r->p.keep_features && !keep_row(cd, g, x, r->p.feat->dim, r->p.features_f16)) {
            req_fail(e, r, "generation: out of memory (features)");
            return;
        }
        r->res.t_swift += ss_time() - ts;
    }
    if (g->final_feed) { g->done = true; return; }
    if (!r->cancel && !cand_sample(e, r, i, ss_get_logits(c, k))) req_fail(e, r, "generation: out of memory (text)");
}

int ss_engine_step(ss_engine *e, char *err, size_t errlen) {
    ss_ctx *c = e->c;
    e->st.steps++;
    // admission, in queue order (the first that does not fit waits, and so do the later ones)
    for (int i = 0; i < e->n_req; i++)
        if (e->req[i]->state == R_QUEUED && !req_admit(e, e->req[i])) break;
    // the batch: prompt rows (at most prefill_chunk), then last prompt tokens and candidates
    ss_batch *b = &e->b;
    ss_batch_clear(b);
    int budget = e->p.prefill_chunk;
    for (int ri = 0; ri < e->n_req && budget > 0; ri++) {
        eng_req *r = e->req[ri];
        if (r->state != R_PREFILL) continue;
        const int seq = r->cand[0].seq;
        int t = r->n_past;
        for (; t < r->T - 1 && budget > 0; t++, budget--) {
            if (!batch_add(e, ri, -1, seq, t, r->prompt[t], SS_ROW_PROMPT | (r->H ? SS_OUT_HIDDEN : 0))) goto oom;
            e->st.prompt_tokens++;
        }
        // the prefill ends in this batch and no SLOT comes between: the last prompt token (LAST)
        // joins the same batch, after its prompt rows (its first token one step sooner)
        if (t == r->T - 1 && r->p.slot.steps <= 0) {
            if (!batch_add(e, ri, -1, seq, t, r->prompt[t], SS_ROW_GEN | SS_OUT_LOGITS)) goto oom;
            e->st.prompt_tokens++;
        }
    }
    for (int ri = 0; ri < e->n_req; ri++) {
        eng_req *r = e->req[ri];
        if (r->state == R_LAST) {
            if (!batch_add(e, ri, -1, r->cand[0].seq, r->T - 1, r->prompt[r->T - 1], SS_ROW_GEN | SS_OUT_LOGITS)) goto oom;
            e->st.prompt_tokens++;
        } else if (r->state == R_DECODE) {
            const int ff = !r->p.feat ? 0 : r->p.feat->logits ? SS_OUT_LOGITS : SS_OUT_LAYERS;
            for (int i = 0; i < r->p.n_cand; i++) {
                const eng_cand *g = &r->cand[i];
                if (g->done || !g->started) continue;
                if (!batch_add(e, ri, i, g->seq, ss_seq_len(c, g->seq), g->pending, SS_ROW_GEN | ff | (g->final_feed ? 0 : SS_OUT_LOGITS)))
                    goto oom;
            }
        }
    }
    if (b->n > 0) {
        int rc = ss_decode(c, b);
        if (rc && e->n_pre) {                      // out of pages: give up the cached prefixes, once
            while (e->n_pre) prefix_drop(e, 0);
            rc = ss_decode(c, b);
        }
        if (rc) {                                  // the requests of this batch fail with the message
            for (int k = 0; k < b->n; k++) {
                eng_req *r = e->req[e->map_req[k]];
                if (req_active(r)) req_fail(e, r, ss_ctx_error(c));
            }
        } else {
            for (int k = 0; k < b->n; k++) entry_done(e, k);
        }
    }
    slot_step(e);
    // requests whose candidates all finished (or stopped early), or that a callback cancelled
    for (int ri = 0; ri < e->n_req; ri++) {
        eng_req *r = e->req[ri];
        if (r->state == R_DECODE && r->vote_check) vote_early_stop(e, r);
        if (r->state == R_DECODE && r->p.adaptive > 0) adaptive_wave(e, r);
        if (r->state != R_DECODE && !(r->cancel && req_active(r))) continue;
        bool all = true;
        for (int i = 0; i < r->p.n_cand; i++) all &= r->cand[i].done;
        if (all) req_finish(e, r, R_DONE);
        else if (r->cancel) req_finish(e, r, R_CANCELLED);
    }
    int n = 0;
    for (int i = 0; i < e->n_req; i++) n += e->req[i]->state <= R_DECODE;
    return n;
oom: {   // the batch could not be built: nothing was decoded in this step
    const int n_entries = b->n + 1;
    ss_batch_clear(b);
    return ss_err(err, errlen, "generation: out of memory (batch of %d entries)", n_entries);
}
}

// ---------------------------------------------------------------- control and state

int ss_engine_cancel(ss_engine *e, int id) {
    eng_req *r = find_req(e, id);
    if (!r) return -1;
    if (r->state <= R_DECODE) req_finish(e, r, R_CANCELLED);
    return 0;
}

int ss_engine_poll(const ss_engine *e, int id) {
    const eng_req *r = find_req(e, id);
    if (!r) return -1;
    static const int pub[] = { SS_REQ_QUEUED, SS_REQ_PREFILL, SS_REQ_SLOT, SS_REQ_PREFILL, SS_REQ_DECODE,
                               SS_REQ_DONE, SS_REQ_CANCELLED, SS_REQ_FAILED };
    return pub[r->state];
}

int ss_engine_take(ss_engine *e, int id, ss_gen_result *res, char *err, size_t errlen) {
    int idx = -1;
    for (int i = 0; i < e->n_req; i++) if (e->req[i]->id == id) idx = i;
    if (idx < 0) return ss_err(err, errlen, "no request %d", id);
    eng_req *r = e->req[idx];
    if (!res && r->state <= R_DECODE) req_finish(e, r, R_CANCELLED);
    if (r->state <= R_DECODE) return 0;
    int rc = 1;
    if (r->state == R_FAILED) rc = ss_err(err, errlen, "%s", r->err);
    else if (res) { *res = r->res; memset(&r->res, 0, sizeof r->res); }
    req_destroy(r);
    memmove(e->req + idx, e->req + idx + 1, sizeof(eng_req *) * (e->n_req - idx - 1));
    e->n_req--;
    return rc;
}

void ss_engine_state_get(const ss_engine *e, ss_engine_state *s) {
    *s = e->st;
    s->n_queued = s->n_active = s->n_prefill = s->n_slot = s->n_running_seqs = s->n_finished = 0;
    for (int i = 0; i < e->n_req; i++) {
        const eng_req *r = e->req[i];
        s->n_queued += r->state == R_QUEUED;
        s->n_active += req_active(r);
        s->n_prefill += r->state == R_PREFILL || r->state == R_LAST;
        s->n_slot += r->state == R_SLOT;
        s->n_finished += r->state >= R_DONE;
        if (r->state == R_DECODE)
            for (int k = 0; k < r->p.n_cand; k++) s->n_running_seqs += r->cand[k].started && !r->cand[k].done;
    }
    s->n_cached_prefixes = e->n_pre;
    s->kv_pages_used = ss_kv_pages_used(e->c);
    s->kv_pages_total = ss_kv_pages_total(e->c);
}

void ss_engine_free(ss_engine *e) {
    if (!e) return;
    for (int i = 0; i < e->n_req; i++) {
        if (e->req[i]->state <= R_DECODE) req_leave(e, e->req[i], R_CANCELLED);
        req_destroy(e->req[i]);
    }
    while (e->n_pre) prefix_drop(e, 0);
    free(e->req); free(e->pre); free(e->map_req); free(e->map_cand);
    ss_batch_free(&e->b);
    free(e);
}
