// serve_sched.c — the server's generation adapter: a FIFO queue and one worker thread.
// The worker takes the oldest waiting job plus the next ones that fit beside it (their candidates
// within --parallel sequences, their KV need within the cache, the same SWIFT features) and runs
// them together with ss_gen_run_multi (prefills share batches, all candidates decode in one batch
// per step; each request's results are those it would get alone). Tokens and text pieces are
// copied into the job as they come, and the job's condition variable wakes its HTTP thread.
// Cancellation and deadlines are checked at every sampled token (on_token returns nonzero), which
// frees that candidate's sequence at once.
// The whole interface is serve_sched_* in serve.h: switching to a step-wise engine (jobs joining
// a running batch at every step) changes only this file.
#include "serve.h"
#include "ss_model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct serve_sched {
    ss_ctx *c;
    int parallel, queue_max;
    serve_metrics *m;
    pthread_mutex_t mu; pthread_cond_t cv;
    serve_job *head, *tail; int n_queued;
    bool stop;
    double cancel_at;                            // shutdown: cancel what runs after this time (0 = no)
    pthread_t worker;
};

serve_job *serve_job_new(void) {
    serve_job *j = ss_calloc(1, sizeof *j);
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

// ---- callbacks from ss_gen_run_multi (worker thread) ----
static void out_text(serve_cand_out *o, const char *s, int n) {
    if (o->len + n + 1 > o->cap) { o->cap = (o->len + n + 1) * 2; o->text = ss_realloc(o->text, o->cap); }
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

typedef struct { serve_sched *s; serve_job *j; serve_tok *top; } run_ud;   // top[n_cand]: from on_logits

static void on_logits(void *ud, int cand, const float *logits) {
    run_ud *u = ud;
    int V = ss_model_hparams(ss_ctx_model(u->s->c))->n_vocab;
    serve_tok *t = &u->top[cand];
    t->n_top = u->j->top_logprobs > 0 ? top_logprobs(logits, V, u->j->top_logprobs, t->top_id, t->top_lp) : 0;
}

static int on_token(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float lp) {
    run_ud *u = ud;
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
    if (o->n_toks == o->cap_toks) { o->cap_toks = o->cap_toks ? o->cap_toks * 2 : 64; o->toks = ss_realloc(o->toks, sizeof(serve_tok) * o->cap_toks); }
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
    m->kv_used = ss_kv_pages_used(s->c);
    if (stop) m->running_seqs--;
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

static bool same_feat(const serve_job *a, const serve_job *b) { return a->gp.feat == b->gp.feat; }

// take the jobs of the next run out of the queue (s->mu held)
static int pick_run(serve_sched *s, serve_job **run, double now) {
    int n = 0, seqs = 0, toks = 0, kv = serve_sched_kv_tokens(s);
    serve_job **pp = &s->head, *prev = NULL;
    while (*pp) {
        serve_job *j = *pp;
        bool expired = j->deadline > 0 && now > j->deadline;
        if (__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) || expired) {   // ends without running
            *pp = j->next;
            if (s->tail == j) s->tail = prev;
            s->n_queued--;
            job_finish(j, expired ? JOB_TIMEOUT_QUEUED : JOB_CANCELLED, NULL);
            continue;
        }
        int need = serve_sched_job_tokens(j->n_prompt, j->gp.n_cand, j->gp.n_predict);
        if (n > 0 && (seqs + j->gp.n_cand > s->parallel || toks + need > kv || !same_feat(j, run[0]))) break;
        *pp = j->next;
        if (s->tail == j) s->tail = prev;
        s->n_queued--;
        run[n++] = j;
        seqs += j->gp.n_cand; toks += need;
    }
    return n;
}

static void *worker(void *arg) {
    serve_sched *s = arg;
    serve_job **run = ss_malloc(sizeof(serve_job *) * s->parallel);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop && !s->head) break;
        int n = pick_run(s, run, ss_time());
        pthread_mutex_lock(&s->m->mu);
        s->m->queue_len = s->n_queued;
        pthread_mutex_unlock(&s->m->mu);
        if (n == 0) continue;
        pthread_mutex_unlock(&s->mu);

        const int32_t **prompts = ss_malloc(sizeof(int32_t *) * n);
        int *lens = ss_malloc(sizeof(int) * n), seqs = 0;
        const ss_gen_params **ps = ss_malloc(sizeof(ss_gen_params *) * n);
        ss_gen_result *res = ss_calloc(n, sizeof(ss_gen_result));
        run_ud *uds = ss_malloc(sizeof(run_ud) * n);
        double t0 = ss_time();
        for (int q = 0; q < n; q++) {
            serve_job *j = run[q];
            pthread_mutex_lock(&j->mu);
            j->state = JOB_RUNNING;
            j->t_start = j->t_last = t0;
            pthread_mutex_unlock(&j->mu);
            uds[q] = (run_ud){ s, j, ss_calloc(j->gp.n_cand, sizeof(serve_tok)) };
            j->gp.on_token = on_token; j->gp.ud = &uds[q];
            j->gp.on_logits = j->top_logprobs > 0 ? on_logits : NULL;
            prompts[q] = j->prompt; lens[q] = j->n_prompt; ps[q] = &j->gp;
            seqs += j->gp.n_cand;
        }
        pthread_mutex_lock(&s->m->mu);
        s->m->running_seqs += seqs;
        pthread_mutex_unlock(&s->m->mu);
        char err[SS_ERRLEN];
        int rc = ss_gen_run_multi(s->c, n, prompts, lens, ps, res, err, sizeof err);
        pthread_mutex_lock(&s->m->mu);
        s->m->running_seqs = 0;
        s->m->kv_used = ss_kv_pages_used(s->c);
        for (int q = 0; q < n && rc == 0; q++) s->m->slot_seconds += res[q].t_slot;
        pthread_mutex_unlock(&s->m->mu);
        for (int q = 0; q < n; q++) {
            serve_job *j = run[q];
            if (rc == 0) {
                pthread_mutex_lock(&j->mu);
                j->res = res[q];
                pthread_mutex_unlock(&j->mu);
            }
            int cancel = __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE);   // 1 client, 2 shutdown
            job_finish(j, rc ? JOB_ERROR : cancel == 1 ? JOB_CANCELLED : cancel == 2 ? JOB_SHUTDOWN : JOB_OK,
                       rc ? err : cancel == 2 ? "the server is shutting down" : NULL);
        }
        for (int q = 0; q < n; q++) free(uds[q].top);
        free(prompts); free(lens); free(ps); free(res); free(uds);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    free(run);
    return NULL;
}

serve_sched *serve_sched_new(ss_ctx *c, int parallel, int queue_max, serve_metrics *m) {
    serve_sched *s = ss_calloc(1, sizeof *s);
    s->c = c; s->parallel = parallel; s->queue_max = queue_max; s->m = m;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_lock(&m->mu);
    m->kv_total = ss_kv_pages_total(c);
    m->kv_used = ss_kv_pages_used(c);
    pthread_mutex_unlock(&m->mu);
    if (pthread_create(&s->worker, NULL, worker, s)) { free(s); return NULL; }
    return s;
}

int serve_sched_submit(serve_sched *s, serve_job *j) {
    pthread_mutex_lock(&s->mu);
    if (s->stop || s->n_queued >= s->queue_max) { pthread_mutex_unlock(&s->mu); return -1; }
    j->out = ss_calloc(j->gp.n_cand, sizeof(serve_cand_out));
    j->state = JOB_QUEUED;
    j->t_submit = ss_time();
    j->next = NULL;
    __atomic_add_fetch(&j->refs, 1, __ATOMIC_ACQ_REL);
    if (s->tail) s->tail->next = j; else s->head = j;
    s->tail = j;
    s->n_queued++;
    pthread_mutex_lock(&s->m->mu);
    s->m->queue_len = s->n_queued;
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
        pthread_mutex_lock(&s->m->mu);
        s->m->queue_len = s->n_queued;
        pthread_mutex_unlock(&s->m->mu);
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
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
