// serve.h — `slotswift serve`: an OpenAI-compatible HTTP server. Four parts, one file each:
//   serve_http.c    routing, auth, body limits, errors, SSE (libmicrohttpd, one thread per connection)
//   serve_api.c     request JSON -> validated job; responses and stream chunks in OpenAI's shapes
//   serve_sched.c   the generation adapter: a queue + a worker thread that steps the library's engine
//   serve_metrics.c counters and histograms, Prometheus text
// The HTTP side only submits jobs, waits on them and reads what they produced; everything about
// how generation runs (batching, KV pages, cancellation) is behind serve_sched_*.
#ifndef SS_SERVE_H
#define SS_SERVE_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "tool.h"
#include "xalloc.h"   // the server's allocations: out of memory ends it with one line (exit 1), never a crash
#include "slotswift.h"

#define SERVE_MAX_TOP 20          // top_logprobs limit (OpenAI's)
#define SERVE_MAX_HEADS 8         // --swift NAME=HEAD.gguf

// ---------------------------------------------------------------- metrics
#define SERVE_HIST_N 12
typedef struct {
    uint64_t count[SERVE_HIST_N + 1];   // per bucket (last = +Inf)
    double   sum; uint64_t n;
} serve_hist;

typedef struct {
    pthread_mutex_t mu;
    int      status[600];                       // requests by HTTP status (499 = client went away)
    uint64_t prompt_tokens, gen_tokens;
    int      queue_len, running_seqs, kv_used, kv_total, cached_prefixes;
    double   slot_seconds;
    serve_hist ttft, itl;                       // time to first token, per-token latency (seconds)
} serve_metrics;

void  serve_metrics_init(serve_metrics *m);
void  serve_metrics_status(serve_metrics *m, int status);
void  serve_metrics_observe(serve_metrics *m, serve_hist *h, double seconds);   // takes m->mu
char *serve_metrics_text(serve_metrics *m, const char *model);                 // malloc'ed

// ---------------------------------------------------------------- jobs
typedef struct {                  // one sampled token with its log-probabilities
    int32_t tok;
    float   lp;
    int     n_top;
    int32_t top_id[SERVE_MAX_TOP];
    float   top_lp[SERVE_MAX_TOP];
} serve_tok;

typedef struct {                  // what one candidate produced so far (grows while it runs)
    char     *text; size_t len, cap;
    serve_tok *toks; int n_toks, cap_toks;
} serve_cand_out;

enum serve_job_state { JOB_QUEUED = 0, JOB_RUNNING = 1, JOB_DONE = 2 };
enum serve_job_end { JOB_OK = 0, JOB_ERROR = 1, JOB_TIMEOUT_QUEUED = 2, JOB_CANCELLED = 3, JOB_SHUTDOWN = 4 };

typedef struct serve_job {
    // input: set before serve_sched_submit, read-only afterwards
    int32_t *prompt; int n_prompt;
    ss_gen_params gp;             // n_cand, n_predict, samp, stops, slot (+ slot_mask), feat/head
    uint8_t *slot_mask;
    int      top_logprobs;        // -1: no per-token log-probabilities, else 0..SERVE_MAX_TOP
    double   deadline;            // ss_time() after which the job ends (0 = none)
    // output: under mu; cv is signalled on every token, piece and at the end
    pthread_mutex_t mu; pthread_cond_t cv;
    int      state, end;          // enum serve_job_state, enum serve_job_end
    serve_cand_out *out;          // [gp.n_cand]
    ss_gen_result res;            // valid when state == JOB_DONE && end == JOB_OK
    char     err[SS_ERRLEN];
    double   t_submit, t_start, t_first, t_last, t_done;
    int      n_gen;               // tokens sampled (all candidates)
    int      cancel;              // set by serve_sched_cancel (atomic)
    int      refs;                // HTTP side + scheduler (atomic); freed at 0
    struct serve_job *next;       // queue link (scheduler)
    void    *priv; int eng_id;    // the scheduler's own state and engine request id
} serve_job;

serve_job *serve_job_new(void);                    // refs = 1 (the caller's)
void       serve_job_unref(serve_job *j);

// ---------------------------------------------------------------- scheduler (the adapter)
typedef struct serve_sched serve_sched;
serve_sched *serve_sched_new(ss_ctx *c, int parallel, int queue_max, serve_metrics *m);
// Free KV room for one job (tokens), so that the HTTP side can refuse what can never fit.
int  serve_sched_kv_tokens(const serve_sched *s);
// tokens of KV cache a job needs at most: its prompt once, and each candidate's generated tokens
int  serve_sched_job_tokens(int n_prompt, int n_cand, int n_predict);
// Queue a job (takes a reference). Returns 0, or -1 when the queue is full or shutting down.
int  serve_sched_submit(serve_sched *s, serve_job *j);
// Ask a job to end: taken out of the queue when still waiting (ends JOB_CANCELLED), otherwise its
// candidates end at their next token and their sequences are freed.
void serve_sched_cancel(serve_sched *s, serve_job *j);
// Stop: refuse new jobs, queued ones end JOB_SHUTDOWN, running ones get `grace` seconds then are
// cancelled (JOB_SHUTDOWN); returns when the worker has exited. Cancel stays callable until free.
void serve_sched_stop(serve_sched *s, double grace);
void serve_sched_free(serve_sched *s);

// ---------------------------------------------------------------- the served model
typedef struct {
    ss_model *model; ss_ctx *ctx;
    const char *model_id;               // the `model` name /v1/models lists
    int   chat_family; char *chat_tmpl; // SS_CHAT_UNKNOWN: /v1/chat/completions answers 400
    int   n_heads;                      // --swift NAME=HEAD.gguf
    const char *head_name[SERVE_MAX_HEADS];
    ss_swift_head head[SERVE_MAX_HEADS];
    int   parallel;
    double timeout;                     // seconds per request, 0 = none
    ss_args defaults;                   // sampling defaults (the CLI's) for fields a request leaves out
    serve_sched *sched;
    serve_metrics *metrics;
} serve_cfg;

// ---------------------------------------------------------------- API (request <-> job)
enum serve_kind { API_CHAT = 0, API_COMPLETION = 1 };
#define SERVE_MAX_PROMPTS 16

typedef struct {                 // an error in OpenAI's shape
    int status;
    char message[512];
    const char *type, *param, *code;
} serve_err;

typedef struct {                 // stream progress of one returned choice
    size_t sent;                 // text bytes sent
    int    sent_toks;            // tokens whose log-probabilities were sent
    bool   role_sent, finished;
} serve_stream_choice;

typedef struct {
    int   kind;
    int   n_jobs;                 // one per prompt (completions may give an array of prompts)
    serve_job *jobs[SERVE_MAX_PROMPTS];
    int   n;                      // choices returned per prompt
    int   best_of;                // candidates per prompt (0 = not asked: n candidates, all returned)
    int   select;                 // SEL_* when best_of is given
    bool  early_stop;             // "early_stop" (select vote): stop candidates once the vote is decided
    int   adaptive;               // "adaptive" (select vote): first wave (true = SS_ADAPTIVE_WAVE; 0 off)
    float adaptive_agree;         // "adaptive_agree" (default 0: no share needed)
    float adaptive_conf;          // "adaptive_conf" (default SS_ADAPTIVE_CONF)
    float adaptive_tokp;          // "adaptive_tokp" (default SS_ADAPTIVE_TOKP)
    float adaptive_margin;        // "adaptive_margin" (default 0: off; set: the weighted vote selects)
    float adaptive_gamma;         // "adaptive_gamma" (default SS_ADAPTIVE_GAMMA)
    int   head;                   // index into cfg->head or -1
    int   logprobs;               // -1: none; chat: top_logprobs; completions: the `logprobs` count
    bool  stream, include_usage, extensions;
    char *model;
    char  id[48]; long created;
    serve_stream_choice *sc;      // [n_jobs * n] while streaming
    bool  stream_done;
} serve_call;

// Parse and validate a request body into call (jobs ready to submit). Returns 0, or -1 with e set.
int   serve_api_parse(const serve_cfg *cfg, int kind, const char *body, size_t len, serve_call *call, serve_err *e);
void  serve_api_call_free(serve_call *call);
// the whole response of a finished call (every job JOB_DONE with JOB_OK); malloc'ed JSON
char *serve_api_response(const serve_cfg *cfg, serve_call *call);
// Append the stream events that are ready to *out (SSE: "data: {...}\n\n"), job mutexes taken
// inside. When every job is done, the final events too ([DONE], or an error event); returns 1 then.
int   serve_api_stream(const serve_cfg *cfg, serve_call *call, char **out, size_t *len);
// {"error":{...}} (malloc'ed)
char *serve_api_error_json(const serve_err *e);
void  serve_err_set(serve_err *e, int status, const char *type, const char *param, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
// /tokenize and /detokenize bodies -> response JSON, or NULL with e set
char *serve_api_tokenize(const serve_cfg *cfg, const char *body, size_t len, serve_err *e);
char *serve_api_detokenize(const serve_cfg *cfg, const char *body, size_t len, serve_err *e);
char *serve_api_models(const serve_cfg *cfg);
// bytes [0, len) are well-formed UTF-8
bool  serve_utf8_valid(const char *s, size_t len);

// ---------------------------------------------------------------- HTTP
typedef struct {
    const char *host; int port;
    const char *api_key;
    size_t max_body;
    bool log_json;
} serve_http_opts;
typedef struct serve_http serve_http;
// listen (prints nothing); *port receives the bound port. NULL on error (err set).
serve_http *serve_http_start(const serve_http_opts *o, serve_cfg *cfg, int *port, char *err, size_t errlen);
void serve_http_set_ready(serve_http *h, bool ready);
void serve_http_quiesce(serve_http *h);   // stop accepting connections
void serve_http_stop(serve_http *h);      // close everything, join the connection threads
#endif
