// serve_http.c — the HTTP side of `slotswift serve` on libmicrohttpd, in its thread-per-connection
// mode: each connection's thread parses its request, submits the jobs and then waits on them
// (a condition variable, woken at every token), so a blocking wait is the whole concurrency model.
// Streams are chunked responses (MHD_create_response_from_callback) whose reader blocks until the
// next SSE events are ready. A client that goes away is noticed by poll(POLLRDHUP) on its socket
// while waiting, and its jobs are cancelled (their sequences freed at the next step).
// Errors are OpenAI's {"error":{"message","type","param","code"}} with their status.
#define _GNU_SOURCE   // POLLRDHUP
#include "serve.h"
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct serve_http {
    struct MHD_Daemon *d;
    serve_http_opts o;
    serve_cfg *cfg;
    int ready;                 // atomic: the model is loaded
    uint64_t next_id;          // atomic: request ids for the log
    int listen_fd;             // after MHD_quiesce_daemon: ours to close after MHD_stop_daemon
};

typedef struct {
    serve_http *h;
    uint64_t id;
    char method[16], path[128];
    char *body; size_t len; bool too_big;
    double t0;
    int status;                // answered with (0 = not yet)
    bool stream, gone, timed_out, known;   // known: the path is an endpoint (else logged as "-")
    serve_call call; bool have_call;
    char *sbuf; size_t slen, soff;   // stream bytes not yet given to MHD
    int sock;
} http_req;

// ---------------------------------------------------------------- responses
static enum MHD_Result send_text(http_req *r, struct MHD_Connection *conn, int status, const char *ctype,
                                 char *body, const char *retry_after, const char *allow) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (retry_after) MHD_add_response_header(resp, "Retry-After", retry_after);
    if (allow) MHD_add_response_header(resp, "Allow", allow);
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

static enum MHD_Result send_json(http_req *r, struct MHD_Connection *conn, int status, char *json) {
    return send_text(r, conn, status, "application/json", json, NULL, NULL);
}

static enum MHD_Result send_err(http_req *r, struct MHD_Connection *conn, const serve_err *e) {
    return send_text(r, conn, e->status, "application/json", serve_api_error_json(e),
                     e->status == 503 ? "1" : NULL, NULL);
}

static enum MHD_Result fail(http_req *r, struct MHD_Connection *conn, int status, const char *type, const char *code,
                            const char *msg, const char *allow) {
    serve_err e;
    serve_err_set(&e, status, type, NULL, code, "%s", msg);
    return send_text(r, conn, status, "application/json", serve_api_error_json(&e), status == 503 ? "1" : NULL, allow);
}

// ---------------------------------------------------------------- waiting on jobs
static bool client_gone(int sock) {
    if (sock < 0) return false;
    struct pollfd p = { .fd = sock, .events = POLLRDHUP };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void cancel_call(http_req *r) {
    for (int q = 0; q < r->call.n_jobs; q++) serve_sched_cancel(r->h->cfg->sched, r->call.jobs[q]);
}

// wait (at most 50 ms: then the client and the deadline are checked) until job j has more than
// `seen` tokens (seen < 0: tokens do not count) or is done; a token that came after the caller
// looked is not waited for
static void wait_news(http_req *r, serve_job *j, int seen) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&j->mu);
    int state = j->state;
    if (state != JOB_DONE && (seen < 0 || j->n_gen == seen)) pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    state = j->state;
    pthread_mutex_unlock(&j->mu);
    if (state == JOB_DONE) return;
    if (!r->gone && client_gone(r->sock)) { r->gone = true; cancel_call(r); }
    if (state == JOB_QUEUED && j->deadline > 0 && ss_time() > j->deadline) { r->timed_out = true; cancel_call(r); }
}

static bool call_done(http_req *r) {
    for (int q = 0; q < r->call.n_jobs; q++) {
        serve_job *j = r->call.jobs[q];
        pthread_mutex_lock(&j->mu);
        bool d = j->state == JOB_DONE;
        pthread_mutex_unlock(&j->mu);
        if (!d) return false;
    }
    return true;
}

static bool call_started(http_req *r) {   // a token exists, or everything is done
    for (int q = 0; q < r->call.n_jobs; q++) {
        serve_job *j = r->call.jobs[q];
        pthread_mutex_lock(&j->mu);
        bool s = j->n_gen > 0 || j->state == JOB_DONE;
        pthread_mutex_unlock(&j->mu);
        if (s) return true;
    }
    return false;
}

// the error of a call with a job that did not end JOB_OK (false when every job is fine)
static bool call_error(http_req *r, serve_err *e) {
    for (int q = 0; q < r->call.n_jobs; q++) {
        serve_job *j = r->call.jobs[q];
        pthread_mutex_lock(&j->mu);
        int end = j->state == JOB_DONE ? j->end : JOB_OK;
        char msg[SS_ERRLEN];
        snprintf(msg, sizeof msg, "%s", j->err);
        pthread_mutex_unlock(&j->mu);
        if (end == JOB_OK) continue;
        if (end == JOB_SHUTDOWN) serve_err_set(e, 503, "server_error", NULL, "server_shutting_down", "the server is shutting down");
        else if (end == JOB_TIMEOUT_QUEUED || (end == JOB_CANCELLED && r->timed_out))
            serve_err_set(e, 408, "timeout_error", NULL, "timeout", "the request waited longer than the server's --timeout of %g s", r->h->cfg->timeout);
        else if (end == JOB_CANCELLED) serve_err_set(e, 499, "server_error", NULL, "cancelled", "the client went away");
        else serve_err_set(e, 500, "server_error", NULL, NULL, "generation failed: %s", msg);
        return true;
    }
    return false;
}

// SSE reader: hands out what is buffered, else blocks until new events (or the end)
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    http_req *r = cls;
    for (;;) {
        if (r->soff < r->slen) {
            size_t n = r->slen - r->soff < max ? r->slen - r->soff : max;
            memcpy(buf, r->sbuf + r->soff, n);
            r->soff += n;
            return (ssize_t)n;
        }
        r->slen = r->soff = 0;
        if (r->call.stream_done) return MHD_CONTENT_READER_END_OF_STREAM;
        if (r->gone) return MHD_CONTENT_READER_END_WITH_ERROR;
        serve_job *w = NULL;   // the first unfinished job and its tokens before the events are made
        int seen = 0;
        for (int q = 0; q < r->call.n_jobs && !w; q++) {
            serve_job *j = r->call.jobs[q];
            pthread_mutex_lock(&j->mu);
            if (j->state != JOB_DONE) { w = j; seen = j->n_gen; }
            pthread_mutex_unlock(&j->mu);
        }
        serve_api_stream(r->h->cfg, &r->call, &r->sbuf, &r->slen);
        if (r->slen == 0 && !r->call.stream_done && w) wait_news(r, w, seen);
    }
}

// ---------------------------------------------------------------- endpoints
static enum MHD_Result completions(http_req *r, struct MHD_Connection *conn, int kind) {
    serve_http *h = r->h;
    serve_err e;
    if (serve_api_parse(h->cfg, kind, r->body ? r->body : "", r->len, &r->call, &e)) return send_err(r, conn, &e);
    r->have_call = true;
    r->stream = r->call.stream;
    for (int q = 0; q < r->call.n_jobs; q++) {
        serve_job *j = r->call.jobs[q];
        if (h->cfg->timeout > 0) j->deadline = ss_time() + h->cfg->timeout;
        if (serve_sched_submit(h->cfg->sched, j)) {
            cancel_call(r);
            return fail(r, conn, 503, "server_error", "queue_full", "the server is busy (queue full or shutting down); retry later", NULL);
        }
    }
    // wait: until everything is done (plain), or until the first token (stream: the status is
    // decided before the headers go out, so an error before any token keeps its status)
    for (;;) {
        if (r->stream ? call_started(r) : call_done(r)) break;
        for (int q = 0; q < r->call.n_jobs; q++) {
            serve_job *j = r->call.jobs[q];
            pthread_mutex_lock(&j->mu);
            bool d = j->state == JOB_DONE;
            pthread_mutex_unlock(&j->mu);
            if (!d) { wait_news(r, j, r->stream ? 0 : -1); break; }   // (stream: until its first token)
        }
        if (r->gone) return MHD_NO;    // closes the connection; logged as 499
    }
    if (call_done(r) && call_error(r, &e)) return send_err(r, conn, &e);
    if (!r->stream) return send_json(r, conn, 200, serve_api_response(h->cfg, &r->call));
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, r, NULL);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    return ret;
}

static bool authorized(serve_http *h, struct MHD_Connection *conn) {
    if (!h->o.api_key) return true;
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!a || strncmp(a, "Bearer ", 7)) return false;
    // constant-time comparison of the key
    const char *k = a + 7;
    size_t kl = strlen(k), el = strlen(h->o.api_key);
    unsigned diff = kl != el;
    for (size_t i = 0; i < el; i++) diff |= (unsigned char)h->o.api_key[i] ^ (unsigned char)(i < kl ? k[i] : 0);
    return diff == 0;
}

static enum MHD_Result route(http_req *r, struct MHD_Connection *conn) {
    serve_http *h = r->h;
    const char *p = r->path, *m = r->method;
    static const struct { const char *path, *method; } routes[] = {
        {"/health", "GET"}, {"/v1/models", "GET"}, {"/metrics", "GET"}, {"/v1/chat/completions", "POST"},
        {"/v1/completions", "POST"}, {"/tokenize", "POST"}, {"/detokenize", "POST"},
    };
    int k = -1;
    for (int i = 0; i < (int)(sizeof routes / sizeof routes[0]); i++) if (!strcmp(p, routes[i].path)) k = i;
    if (k < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "unknown endpoint %.*s %.*s", 16, m, 120, p);
        return fail(r, conn, 404, "invalid_request_error", "not_found", msg, NULL);
    }
    r->known = true;
    if (strcmp(m, routes[k].method)) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s does not accept %.*s (use %s)", p, 16, m, routes[k].method);
        return fail(r, conn, 405, "invalid_request_error", "method_not_allowed", msg, routes[k].method);
    }
    bool ready = __atomic_load_n(&h->ready, __ATOMIC_ACQUIRE);
    if (k == 0) {
        if (!ready) return fail(r, conn, 503, "server_error", "loading", "the model is loading", NULL);
        return send_json(r, conn, 200, tool_strdup("{\"status\":\"ok\"}"));
    }
    if (!authorized(h, conn))
        return fail(r, conn, 401, "invalid_request_error", "invalid_api_key",
                    "missing or incorrect API key: send the header 'Authorization: Bearer KEY'", NULL);
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than the server's limit of %zu bytes (--max-body)", h->o.max_body);
        return fail(r, conn, 413, "invalid_request_error", "request_too_large", msg, NULL);
    }
    if (!ready) return fail(r, conn, 503, "server_error", "loading", "the model is loading", NULL);
    serve_err e;
    char *out;
    switch (k) {
    case 1: return send_json(r, conn, 200, serve_api_models(h->cfg));
    case 2: return send_text(r, conn, 200, "text/plain; version=0.0.4", serve_metrics_text(h->cfg->metrics, h->cfg->model_id), NULL, NULL);
    case 3: return completions(r, conn, API_CHAT);
    case 4: return completions(r, conn, API_COMPLETION);
    case 5: out = serve_api_tokenize(h->cfg, r->body ? r->body : "", r->len, &e); break;
    default: out = serve_api_detokenize(h->cfg, r->body ? r->body : "", r->len, &e); break;
    }
    return out ? send_json(r, conn, 200, out) : send_err(r, conn, &e);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    serve_http *h = cls;
    http_req *r = *con_cls;
    if (!r) {   // first call: headers only
        r = tool_calloc(1, sizeof *r);
        r->h = h;
        r->id = __atomic_add_fetch(&h->next_id, 1, __ATOMIC_RELAXED);
        r->t0 = ss_time();
        r->sock = -1;
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) r->sock = ci->connect_fd;
        *con_cls = r;
        // a declared length far over the limit is refused before reading the body
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > h->o.max_body + (64u << 20)) {
            r->too_big = true;
            char msg[128];
            snprintf(msg, sizeof msg, "the request body is larger than the server's limit of %zu bytes (--max-body)", h->o.max_body);
            return fail(r, conn, 413, "invalid_request_error", "request_too_large", msg, NULL);
        }
        return MHD_YES;
    }
    if (*upload_size) {   // body bytes: kept up to the limit, the rest read and dropped
        if (!r->too_big && r->len + *upload_size > h->o.max_body) { r->too_big = true; free(r->body); r->body = NULL; r->len = 0; }
        if (!r->too_big) {
            r->body = tool_realloc(r->body, r->len + *upload_size + 1);
            memcpy(r->body + r->len, upload, *upload_size);
            r->len += *upload_size;
            r->body[r->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->status) return MHD_YES;   // already answered
    return route(r, conn);
}

static void log_request(http_req *r) {
    int pt = 0, ct = 0;
    double queue = 0, ttft = 0;
    for (int q = 0; q < r->call.n_jobs; q++) {
        serve_job *j = r->call.jobs[q];
        pthread_mutex_lock(&j->mu);
        pt += j->n_prompt;
        ct += j->n_gen;
        if (j->t_start > 0 && j->t_start - j->t_submit > queue) queue = j->t_start - j->t_submit;
        if (j->t_first > 0 && j->t_first - j->t_submit > ttft) ttft = j->t_first - j->t_submit;
        pthread_mutex_unlock(&j->mu);
    }
    double total = ss_time() - r->t0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (r->h->o.log_json)
        fprintf(stderr, "{\"time\":\"%s\",\"id\":%llu,\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"prompt_tokens\":%d,"
                "\"completion_tokens\":%d,\"queue_s\":%.4f,\"ttft_s\":%.4f,\"total_s\":%.4f}\n",
                ts, (unsigned long long)r->id, r->known ? r->method : "-", r->known ? r->path : "-", r->status, pt, ct, queue, ttft, total);
    else
        fprintf(stderr, "%s req=%llu %s %s %d prompt=%d gen=%d queue=%.3fs ttft=%.3fs total=%.3fs\n", ts,
                (unsigned long long)r->id, r->known ? r->method : "-", r->known ? r->path : "-", r->status, pt, ct, queue, ttft, total);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    http_req *r = *con_cls;
    if (!r) return;
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->gone;
    if (r->have_call && (!ok || !call_done(r))) { cancel_call(r); if (r->status == 0 || r->status == 200) r->status = 499; }
    if (!ok && r->status == 0) r->status = 499;
    if (r->status == 200 && r->stream && !r->call.stream_done) r->status = 499;
    serve_metrics_status(r->h->cfg->metrics, r->status);
    log_request(r);
    serve_api_call_free(&r->call);
    free(r->body); free(r->sbuf);
    free(r);
    *con_cls = NULL;
}

// ---------------------------------------------------------------- daemon
serve_http *serve_http_start(const serve_http_opts *o, serve_cfg *cfg, int *port, char *err, size_t errlen) {
    serve_http *h = tool_calloc(1, sizeof *h);
    h->o = *o; h->cfg = cfg;
    h->listen_fd = -1;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", o->port);
    int g = getaddrinfo(o->host, ps, &hints, &ai);
    if (g || !ai) { ss_err(err, errlen, "--host %s: %s", o->host, gai_strerror(g)); free(h); return NULL; }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, h,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            // idle keep-alive connections close after an hour (a connection
                            // thread that waits on a long generation is not idle for MHD)
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)3600,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) { ss_err(err, errlen, "cannot listen on %s:%d (in use, or not an address of this machine)", o->host, o->port); free(h); return NULL; }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : o->port;
    return h;
}

void serve_http_set_ready(serve_http *h, bool ready) { __atomic_store_n(&h->ready, ready, __ATOMIC_RELEASE); }

void serve_http_quiesce(serve_http *h) { h->listen_fd = MHD_quiesce_daemon(h->d); }

void serve_http_stop(serve_http *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    if (h->listen_fd >= 0) close(h->listen_fd);
    free(h);
}
