// serve_sched.c — the server's generation adapter over the library's step-wise engine (ss_engine):
// one worker thread owns the engine. Each turn it hands the newly queued jobs to the engine
// (ss_engine_submit), cancels the ones whose client went away or that waited past their deadline,
// runs one ss_engine_step (a chunk of prefill, one SLOT step, one decode step for every running
// candidate: requests join and leave the batch at every step) and takes the finished results.
// Tokens (with their log-probabilities and text) are copied into the job as they are sampled, and
// the job's condition variable wakes its HTTP thread. A request's output does not depend on what
// else runs (the engine's batch invariance).
#include "serve.h"
#include "ss_model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct serve_sched {
    ss_ctx *c;
    ss_engine *e;
    int parallel, queue_max;
    serve_metrics *m;
    pthread_mutex_t mu; pthread_cond_t cv;
    serve_job *head, *tail; int n_queued;        // submitted by HTTP threads, not yet in the engine
    int eng_queued;                              // in the engine's queue (updated by the worker)
    serve_job **act; int n_act, cap_act;         // in the engine (worker thread only)
    serve_job **done; int cap_done;              // finished in this step (worker thread only)
    bool stop;
    double cancel_at;                            // shutdown: cancel what runs after this time (0 = no)
    pthread_t worker;
};

typedef struct {                                 // the adapter's part of a job in the engine
    serve_sched *s;
    serve_job *j;
    serve_tok *top;                              // [n_cand] top log-probs of the token being sampled
    bool queue_timeout;                          // cancelled while waiting, past its deadline
} job_ud;

serve_job *serve_job_new(void) {
    serve_job *j = tool_calloc(1, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->top_logprobs = -1;
    ss_gen_params_default(&j->gp);
    return j;
}

void serve_job_unref(serve_job *j) {
    if (!j || __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    if (j->out)
        for (int i = 0; i < j->gp.n_cand; i++) { free(j->out[i].text); free(j->out[i].toks); }
    free(j->out);
    ss_gen_result_free(&j->res);
    free(j->prompt); free(j->slot_mask);
    for (int k = 0; k < j->gp.n_stops; k++) free((char *)j->gp.stops[k]);
    free((void *)j->gp.stops);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

int serve_sched_kv_tokens(const serve_sched *s) { return ss_kv_pages_total(s->c) * SS_KV_PAGE; }

// pages are SS_KV_PAGE tokens; a fork copies the prompt's last, partly filled page on its first write
int serve_sched_job_tokens(int n_prompt, int n_cand, int n_predict) {
    long pr = ((long)n_prompt + SS_KV_PAGE - 1) / SS_KV_PAGE * SS_KV_PAGE;
    long gen = ((long)n_predict + 1 + SS_KV_PAGE - 1) / SS_KV_PAGE * SS_KV_PAGE + SS_KV_PAGE;
    long t = pr + n_cand * gen;
    return t > 1L << 30 ? 1 << 30 : (int)t;
}

// ---- callbacks from ss_engine_step (worker thread) ----
static void out_text(serve_cand_out *o, const char *s, int n) {
    if (o->len + n + 1 > o->cap) { o->cap = (o->len + n + 1) * 2; o->text = tool_realloc(o->text, o->cap); }
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = 0;
}

// top-k of log softmax(logits): k largest logits (ties: lower id first), minus log Σ exp
static int top_logprobs(const float *logits, int V, int k, int32_t *ids, float *lps) {
    double mx = -INFINITY, se = 0;
    for (int v = 0; v < V; v++) if (logits[v] > mx) mx = logits[v];
    for (int v = 0; v < V; v++) se += exp((double)logits[v] - mx);
    double lse = mx + log(se);
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (n == k && !(logits[v] > logits[ids[n - 1]])) continue;
        int p = n < k ? n++ : n - 1;
        while (p > 0 && logits[v] > logits[ids[p - 1]]) { ids[p] = ids[p - 1]; p--; }
        ids[p] = v;
    }
    for (int i = 0; i < n; i++) lps[i] = (float)(logits[ids[i]] - lse);
    return n;
}

static void on_logits(void *ud, int cand, const float *logits) {
    job_ud *u = ud;
    int V = ss_model_hparams(ss_ctx_model(u->s->c))->n_vocab;
    serve_tok *t = &u->top[cand];
    t->n_top = u->j->top_logprobs > 0 ? top_logprobs(logits, V, u->j->top_logprobs, t->top_id, t->top_lp) : 0;
}

static int on_token(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float lp) {
    job_ud *u = ud;
    serve_job *j = u->j;
    serve_sched *s = u->s;
    double now = ss_time();
    serve_tok t = u->top[cand];
    t.tok = tok; t.lp = lp;
    for (int k = 0; k < t.n_top; k++) if (t.top_id[k] == tok) t.top_lp[k] = lp;   // the sampler's own value
    bool stop = __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) || (j->deadline > 0 && now > j->deadline);
    pthread_mutex_lock(&s->mu);
    if (s->cancel_at > 0 && now > s->cancel_at) { stop = true; __atomic_store_n(&j->cancel, 2, __ATOMIC_RELEASE); }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&j->mu);
    serve_cand_out *o = &j->out[cand];
    if (o->n_toks == o->cap_toks) { o->cap_toks = o->cap_toks ? o->cap_toks * 2 : 64; o->toks = tool_realloc(o->toks, sizeof(serve_tok) * o->cap_toks); }
    o->toks[o->n_toks++] = t;
    if (n > 0) out_text(o, piece, n);
    bool first = j->n_gen == 0;
    double itl = now - j->t_last;
    j->n_gen++;
    if (first) j->t_first = now;
    j->t_last = now;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    serve_metrics *m = s->m;
    if (first) serve_metrics_observe(m, &m->ttft, now - j->t_submit);
    else if (cand == 0) serve_metrics_observe(m, &m->itl, itl);
    pthread_mutex_lock(&m->mu);
    m->gen_tokens++;
    pthread_mutex_unlock(&m->mu);
    return stop;
}

static void job_finish(serve_job *j, int end, const char *err) {
    pthread_mutex_lock(&j->mu);
    j->state = JOB_DONE;
    j->end = end;
    j->t_done = ss_time();
    if (err) snprintf(j->err, sizeof j->err, "%s", err);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    serve_job_unref(j);   // the scheduler's reference
}

static void act_remove(serve_sched *s, int k) {
    job_ud *u = s->act[k]->priv;
    free(u->top); free(u);
    s->act[k]->priv = NULL;
    memmove(s->act + k, s->act + k + 1, sizeof(serve_job *) * (s->n_act - k - 1));
    s->n_act--;
}

// hand the waiting jobs to the engine (s->mu held; the engine is the worker's alone)
static void submit_waiting(serve_sched *s, double now) {
    char err[SS_ERRLEN];
    while (s->head) {
        serve_job *j = s->head;
        s->head = j->next;
        if (!s->head) s->tail = NULL;
        s->n_queued--;
        bool expired = j->deadline > 0 && now > j->deadline;
        if (__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) || expired) {
            job_finish(j, expired ? JOB_TIMEOUT_QUEUED : JOB_CANCELLED, NULL);
            continue;
        }
        job_ud *u = tool_calloc(1, sizeof *u);
        u->s = s; u->j = j;
        u->top = tool_calloc(j->gp.n_cand, sizeof(serve_tok));
        j->priv = u;
        j->gp.on_token = on_token;
        j->gp.on_logits = j->top_logprobs > 0 ? on_logits : NULL;
        j->gp.ud = u;
        j->eng_id = ss_engine_submit(s->e, j->prompt, j->n_prompt, &j->gp, err, sizeof err);
        if (s->n_act == s->cap_act) { s->cap_act = s->cap_act ? 2 * s->cap_act : 16; s->act = tool_realloc(s->act, sizeof(serve_job *) * s->cap_act); }
        s->act[s->n_act++] = j;
        if (j->eng_id < 0) { act_remove(s, s->n_act - 1); job_finish(j, JOB_ERROR, err); }
    }
}

static void *worker(void *arg) {
    serve_sched *s = arg;
    char err[SS_ERRLEN];
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && s->n_act == 0 && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop && !s->head && s->n_act == 0) break;
        double now = ss_time();
        submit_waiting(s, now);
        bool shutdown = s->cancel_at > 0 && now > s->cancel_at, stopping = s->stop;
        pthread_mutex_unlock(&s->mu);

        // cancellations: the client went away, a waiting job passed its deadline, shutdown
        for (int k = 0; k < s->n_act; k++) {
            serve_job *j = s->act[k];
            job_ud *u = j->priv;
            int st = ss_engine_poll(s->e, j->eng_id);
            int cancel = __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE);
            if (st == SS_REQ_QUEUED && j->deadline > 0 && now > j->deadline) { u->queue_timeout = true; ss_engine_cancel(s->e, j->eng_id); }
            else if (shutdown || (stopping && st == SS_REQ_QUEUED)) { __atomic_store_n(&j->cancel, 2, __ATOMIC_RELEASE); ss_engine_cancel(s->e, j->eng_id); }
            else if (cancel) ss_engine_cancel(s->e, j->eng_id);
            if (st != SS_REQ_QUEUED && j->state == JOB_QUEUED) {
                pthread_mutex_lock(&j->mu);
                j->state = JOB_RUNNING;
                j->t_start = j->t_last = now;
                pthread_mutex_unlock(&j->mu);
            }
        }
        int rc = ss_engine_step(s->e, err, sizeof err);
        // results (the jobs are finished after the metrics are updated, so that a client that
        // reads /metrics after its answer sees its sequences gone)
        int n_done = 0;
        for (int k = 0; k < s->n_act;) {
            serve_job *j = s->act[k];
            job_ud *u = j->priv;
            int st = ss_engine_poll(s->e, j->eng_id);
            if (rc >= 0 && st < SS_REQ_DONE) { k++; continue; }
            ss_gen_result res;
            char jerr[SS_ERRLEN];
            int t = ss_engine_take(s->e, j->eng_id, rc >= 0 ? &res : NULL, jerr, sizeof jerr);
            int cancel = __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE);   // 1 client, 2 shutdown
            int end = rc < 0 ? JOB_ERROR : t < 0 ? JOB_ERROR : u->queue_timeout ? JOB_TIMEOUT_QUEUED :
                      cancel == 1 ? JOB_CANCELLED : cancel == 2 ? JOB_SHUTDOWN : JOB_OK;
            if (t == 1) {
                pthread_mutex_lock(&j->mu);
                j->res = res;
                pthread_mutex_unlock(&j->mu);
                pthread_mutex_lock(&s->m->mu);
                s->m->slot_seconds += res.t_slot;
                pthread_mutex_unlock(&s->m->mu);
            }
            act_remove(s, k);
            pthread_mutex_lock(&j->mu);   // (read by job_finish below, after the metrics)
            j->end = end;
            snprintf(j->err, sizeof j->err, "%s", rc < 0 ? err : t < 0 ? jerr : end == JOB_SHUTDOWN ? "the server is shutting down" : "");
            pthread_mutex_unlock(&j->mu);
            if (n_done == s->cap_done) { s->cap_done = s->cap_done ? 2 * s->cap_done : 16; s->done = tool_realloc(s->done, sizeof(serve_job *) * s->cap_done); }
            s->done[n_done++] = j;
        }
        ss_engine_state st;
        ss_engine_state_get(s->e, &st);
        pthread_mutex_lock(&s->mu);
        s->eng_queued = st.n_queued;
        pthread_mutex_lock(&s->m->mu);
        s->m->queue_len = s->n_queued + st.n_queued;
        s->m->running_seqs = st.n_running_seqs;
        s->m->kv_used = st.kv_pages_used;
        s->m->kv_total = st.kv_pages_total;
        s->m->cached_prefixes = st.n_cached_prefixes;
        pthread_mutex_unlock(&s->m->mu);
        for (int k = 0; k < n_done; k++) job_finish(s->done[k], s->done[k]->end, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

serve_sched *serve_sched_new(ss_ctx *c, int parallel, int queue_max, serve_metrics *m) {
    serve_sched *s = tool_calloc(1, sizeof *s);
    s->c = c; s->parallel = parallel; s->queue_max = queue_max; s->m = m;
    ss_engine_params ep;
    ss_engine_params_default(&ep);
    ep.max_running = parallel;
    ep.max_queue = queue_max + 1;   // the adapter counts waiting requests itself (its queue + the engine's)
    char err[SS_ERRLEN];
    if (!(s->e = ss_engine_new(c, &ep, err, sizeof err))) { fprintf(stderr, "slotswift serve: %s\n", err); free(s); return NULL; }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_lock(&m->mu);
    m->kv_total = ss_kv_pages_total(c);
    m->kv_used = ss_kv_pages_used(c);
    pthread_mutex_unlock(&m->mu);
    if (pthread_create(&s->worker, NULL, worker, s)) { ss_engine_free(s->e); free(s); return NULL; }
    return s;
}

int serve_sched_submit(serve_sched *s, serve_job *j) {
    pthread_mutex_lock(&s->mu);
    if (s->stop || s->n_queued + s->eng_queued >= s->queue_max) { pthread_mutex_unlock(&s->mu); return -1; }
    j->out = tool_calloc(j->gp.n_cand, sizeof(serve_cand_out));
    j->state = JOB_QUEUED;
    j->t_submit = ss_time();
    j->next = NULL;
    __atomic_add_fetch(&j->refs, 1, __ATOMIC_ACQ_REL);
    if (s->tail) s->tail->next = j; else s->head = j;
    s->tail = j;
    s->n_queued++;
    pthread_mutex_lock(&s->m->mu);
    s->m->queue_len = s->n_queued + s->eng_queued;
    s->m->prompt_tokens += j->n_prompt;
    pthread_mutex_unlock(&s->m->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void serve_sched_cancel(serve_sched *s, serve_job *j) {
    pthread_mutex_lock(&s->mu);
    __atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
    serve_job **pp = &s->head, *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp != j) continue;
        *pp = j->next;
        if (s->tail == j) s->tail = prev;
        s->n_queued--;
        job_finish(j, JOB_CANCELLED, NULL);
        break;
    }
    pthread_mutex_unlock(&s->mu);
}

void serve_sched_stop(serve_sched *s, double grace) {
    pthread_mutex_lock(&s->mu);
    if (s->stop) { pthread_mutex_unlock(&s->mu); return; }
    s->stop = true;
    s->cancel_at = ss_time() + grace;
    while (s->head) {
        serve_job *j = s->head;
        s->head = j->next;
        job_finish(j, JOB_SHUTDOWN, "the server is shutting down");
    }
    s->tail = NULL; s->n_queued = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->worker, NULL);
}

void serve_sched_free(serve_sched *s) {
    if (!s) return;
    serve_sched_stop(s, 0);
    ss_engine_free(s->e);
    free(s->act); free(s->done);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
