// cmd_serve.c — `slotswift serve -m MODEL [--host 127.0.0.1] [--port 8080] [-c CTX] [-t THREADS]
//                 [--parallel N] [--queue N] [--swift NAME=HEAD.gguf ...] [--api-key KEY]
//                 [--timeout SECONDS] [--max-body BYTES] [--chat-template FAMILY] [--log text|json]
//                 [sampling flags: the defaults of requests that leave them out]`
// An OpenAI-compatible HTTP server (see serve.h for its parts). Listens first (so /health answers
// 503 while the model loads), then prints one ready line on stdout:
//   slotswift serve: listening on http://HOST:PORT (model NAME, context C, parallel P)
// SIGTERM / SIGINT: stop accepting, end queued requests with 503, give running ones 10 s, exit 0.
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include <cjson/cJSON.h>
#include "serve.h"

static void serve_usage(void) {
    printf("usage: slotswift serve -m MODEL [--host 127.0.0.1] [--port 8080] [-c CTX] [-t THREADS] [--parallel N]\n"
           "                       [--queue N] [--swift NAME=HEAD.gguf ...] [--api-key KEY] [--timeout SECONDS]\n"
           "                       [--max-body BYTES] [--chat-template FAMILY] [--log text|json] [sampling flags]\n\n"
           "  --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 = every interface)\n"
           "  --port N             port (default 8080; 0 = any free port, printed in the ready line)\n"
           "  -c CTX               KV cache size in tokens, shared by all running sequences (and the longest request);\n"
           "                       default: the model's trained context (beyond it: a warning)\n"
           "  --parallel N         sequences decoding at once (a request's n / best_of candidates count; default 4)\n"
           "  --queue N            requests waiting beyond that get 503 + Retry-After (default 64)\n"
           "  --swift NAME=FILE    a SWIFT reward head requests can name in \"swift_head\" (repeatable)\n"
           "  --api-key KEY        require 'Authorization: Bearer KEY' on every endpoint but /health\n"
           "  --timeout S          end a request after S seconds (finish_reason length; 408 if nothing was generated)\n"
           "  --max-body BYTES     larger request bodies get 413 (default 1048576)\n"
           "  --chat-template F    chat template family when the model's is unknown (chatml, llama3, ...)\n"
           "  --log text|json      one line per request on stderr (default text)\n"
           "sampling flags (--temp, --top-k, --top-p, --min-p, --repeat-penalty, ...) set the defaults of\n"
           "requests that leave those fields out (the defaults of `slotswift generate`).\n\n");
    args_print_common_help();
}

int cmd_serve(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    // requests' JSON is parsed and built by cJSON: out of memory there ends the server as everywhere else
    cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = tool_malloc, .free_fn = free });
    serve_http_opts ho = { .host = "127.0.0.1", .port = 8080, .max_body = 1 << 20 };
    int parallel = 4, queue = 64, n_heads = 0, port_given = 8080;
    float timeout = 0;
    const char *head_spec[SERVE_MAX_HEADS], *tmpl_family = NULL, *log = "text";
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *f = argv[i], *v;
        int mb = 0;
        if (!strcmp(f, "--host")) { if (args_need(argc, argv, &i, &ho.host)) return 2; }
        else if (!strcmp(f, "--port")) { if (args_int(argc, argv, &i, 0, 65535, &port_given)) return 2; }
        else if (!strcmp(f, "--parallel")) { if (args_int(argc, argv, &i, 1, 1024, &parallel)) return 2; }
        else if (!strcmp(f, "--queue")) { if (args_int(argc, argv, &i, 0, 1 << 20, &queue)) return 2; }
        else if (!strcmp(f, "--api-key")) { if (args_need(argc, argv, &i, &ho.api_key)) return 2; }
        else if (!strcmp(f, "--timeout")) { if (args_float(argc, argv, &i, 0, 1e7, &timeout)) return 2; }
        else if (!strcmp(f, "--max-body")) { if (args_int(argc, argv, &i, 64, 1 << 30, &mb)) return 2; ho.max_body = mb; }
        else if (!strcmp(f, "--chat-template")) { if (args_need(argc, argv, &i, &tmpl_family)) return 2; }
        else if (!strcmp(f, "--log")) { if (args_need(argc, argv, &i, &log)) return 2; }
        else if (!strcmp(f, "--swift")) {
            if (args_need(argc, argv, &i, &v)) return 2;
            if (n_heads == SERVE_MAX_HEADS) { fprintf(stderr, "slotswift serve: --swift: at most %d heads\n", SERVE_MAX_HEADS); return 2; }
            if (!strchr(v, '=') || v[0] == '=' || !strchr(v, '=')[1]) { fprintf(stderr, "slotswift serve: --swift: '%s' is not NAME=HEAD.gguf\n", v); return 2; }
            head_spec[n_heads++] = v;
        }
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) { serve_usage(); return 0; }
        else { fprintf(stderr, "slotswift serve: unknown flag '%s'\n", f); return 2; }
        i++;
    }
    if (strcmp(log, "text") && strcmp(log, "json")) { fprintf(stderr, "slotswift serve: --log: '%s' is not text or json\n", log); return 2; }
    if (ho.api_key && !*ho.api_key) { fprintf(stderr, "slotswift serve: --api-key: empty key\n"); return 2; }
    int tmpl_fam = SS_CHAT_UNKNOWN;
    if (tmpl_family && (tmpl_fam = ss_chat_family_from_name(tmpl_family)) == SS_CHAT_UNKNOWN) {
        fprintf(stderr, "slotswift serve: --chat-template: unknown family '%s'\n", tmpl_family);
        return 2;
    }
    if (!a.model) { fprintf(stderr, "slotswift serve: no model: give -m MODEL.gguf\n"); return 2; }
    ho.port = port_given;
    ho.log_json = !strcmp(log, "json");

    // signals: every thread blocks them; the main thread waits for them with sigwait
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    serve_metrics metrics;
    serve_metrics_init(&metrics);
    serve_cfg cfg = { .metrics = &metrics, .parallel = parallel, .timeout = timeout, .defaults = a, .chat_family = SS_CHAT_UNKNOWN };
    char err[SS_ERRLEN];
    int port = 0, rc = 1;
    serve_http *h = serve_http_start(&ho, &cfg, &port, err, sizeof err);
    if (!h) { fprintf(stderr, "slotswift serve: %s\n", err); return 1; }
    if (tool_load_kv(&a, 0, parallel, true, &cfg.model, &cfg.ctx)) goto done;
    cfg.model_id = ss_model_name(cfg.model);
    { const char *t = ss_model_chat_template(cfg.model); cfg.chat_tmpl = t ? ss_strdup(t) : NULL; }
    cfg.chat_family = tmpl_fam != SS_CHAT_UNKNOWN ? tmpl_fam : ss_chat_detect(cfg.chat_tmpl);
    for (int k = 0; k < n_heads; k++) {
        char *name = ss_strdup(head_spec[k]);
        *strchr(name, '=') = 0;
        cfg.head_name[k] = name;
        if (tool_load_head(cfg.model, strchr(head_spec[k], '=') + 1, &cfg.head[k])) goto done;
        cfg.n_heads++;
    }
    if (!(cfg.sched = serve_sched_new(cfg.ctx, parallel, queue, &metrics))) { fprintf(stderr, "slotswift serve: cannot start the worker thread\n"); goto done; }
    serve_http_set_ready(h, true);
    printf("slotswift serve: listening on http://%s%s%s:%d (model %s, context %d, parallel %d, chat template %s)\n",
           strchr(ho.host, ':') ? "[" : "", ho.host, strchr(ho.host, ':') ? "]" : "", port, cfg.model_id,
           ss_ctx_n_ctx(cfg.ctx), parallel, ss_chat_family_name(cfg.chat_family));
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "slotswift serve: %s: stopping (queued requests get 503, running ones 10 s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;
done:
    serve_http_quiesce(h);
    if (cfg.sched) serve_sched_stop(cfg.sched, 10.0);
    serve_http_stop(h);
    serve_sched_free(cfg.sched);
    for (int k = 0; k < cfg.n_heads; k++) ss_swift_head_free(&cfg.head[k]);
    for (int k = 0; k < n_heads; k++) free((char *)cfg.head_name[k]);
    free(cfg.chat_tmpl);
    ss_ctx_free(cfg.ctx);
    ss_model_free(cfg.model);
    return rc;
}
