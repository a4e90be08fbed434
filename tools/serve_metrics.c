// serve_metrics.c — the server's counters and histograms, rendered in Prometheus' text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "serve.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// histogram bucket upper bounds (seconds), shared by time-to-first-token and per-token latency
static const double hist_le[SERVE_HIST_N] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 };

void serve_metrics_init(serve_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void serve_metrics_status(serve_metrics *m, int status) {
    if (status < 0 || status >= 600) return;
    pthread_mutex_lock(&m->mu);
    m->status[status]++;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_observe(serve_metrics *m, serve_hist *h, double s) {
    int b = 0;
    while (b < SERVE_HIST_N && s > hist_le[b]) b++;
    pthread_mutex_lock(&m->mu);
    h->count[b]++;
    h->sum += s;
    h->n++;
    pthread_mutex_unlock(&m->mu);
}

typedef struct { char *s; size_t len, cap; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->len + n < b->cap) { b->len += n; return; }
        b->cap = (b->cap + n + 1) * 2;
        b->s = tool_realloc(b->s, b->cap);
    }
}

static void hist_text(sbuf *b, const char *name, const char *help, const serve_hist *h) {
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < SERVE_HIST_N; i++) {
        cum += h->count[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, hist_le[i], (unsigned long long)cum);
    }
    cum += h->count[SERVE_HIST_N];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum,
              name, h->sum, name, (unsigned long long)h->n);
}

char *serve_metrics_text(serve_metrics *m, const char *model) {
    sbuf b = { tool_malloc(4096), 0, 4096 };
    b.s[0] = 0;
    pthread_mutex_lock(&m->mu);
    sb_printf(&b, "# HELP slotswift_requests_total HTTP requests answered, by status (499: the client went away)\n"
                  "# TYPE slotswift_requests_total counter\n");
    for (int s = 0; s < 600; s++)
        if (m->status[s]) sb_printf(&b, "slotswift_requests_total{status=\"%d\"} %d\n", s, m->status[s]);
    sb_printf(&b, "# HELP slotswift_prompt_tokens_total prompt tokens of accepted requests\n"
                  "# TYPE slotswift_prompt_tokens_total counter\nslotswift_prompt_tokens_total %llu\n",
              (unsigned long long)m->prompt_tokens);
    sb_printf(&b, "# HELP slotswift_generated_tokens_total tokens sampled (all candidates)\n"
                  "# TYPE slotswift_generated_tokens_total counter\nslotswift_generated_tokens_total %llu\n",
              (unsigned long long)m->gen_tokens);
    sb_printf(&b, "# HELP slotswift_queue_length requests waiting\n# TYPE slotswift_queue_length gauge\n"
                  "slotswift_queue_length %d\n", m->queue_len);
    sb_printf(&b, "# HELP slotswift_running_sequences sequences decoding\n# TYPE slotswift_running_sequences gauge\n"
                  "slotswift_running_sequences %d\n", m->running_seqs);
    sb_printf(&b, "# HELP slotswift_kv_pages_used KV cache pages in use\n# TYPE slotswift_kv_pages_used gauge\n"
                  "slotswift_kv_pages_used %d\n", m->kv_used);
    sb_printf(&b, "# HELP slotswift_kv_pages_total KV cache pages\n# TYPE slotswift_kv_pages_total gauge\n"
                  "slotswift_kv_pages_total %d\n", m->kv_total);
    sb_printf(&b, "# HELP slotswift_cached_prefixes prompts whose KV pages are kept for prefix reuse\n"
                  "# TYPE slotswift_cached_prefixes gauge\nslotswift_cached_prefixes %d\n", m->cached_prefixes);
    sb_printf(&b, "# HELP slotswift_slot_seconds_total seconds spent optimizing SLOT deltas\n"
                  "# TYPE slotswift_slot_seconds_total counter\nslotswift_slot_seconds_total %.6f\n", m->slot_seconds);
    hist_text(&b, "slotswift_time_to_first_token_seconds", "from the request's arrival to its first token", &m->ttft);
    hist_text(&b, "slotswift_inter_token_latency_seconds", "between consecutive tokens of a request's first choice", &m->itl);
    pthread_mutex_unlock(&m->mu);
    sb_printf(&b, "# HELP slotswift_model_info the model served\n# TYPE slotswift_model_info gauge\n"
                  "slotswift_model_info{model=\"%s\"} 1\n", model);
    return b.s;
}
