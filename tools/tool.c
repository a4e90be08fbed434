// tool.c — helpers shared by the commands.
#include "tool.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

int tool_load(const ss_args *a, int n_seq, ss_model **m, ss_ctx **c) {
    char err[SS_ERRLEN];
    *m = NULL; *c = NULL;
    if (!a->model) { fprintf(stderr, "slotswift: no model: give -m MODEL.gguf\n"); return -1; }
    *m = ss_model_load(a->model, err, sizeof err);
    if (!*m) { fprintf(stderr, "slotswift: %s\n", err); return -1; }
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = a->n_ctx;
    p.n_threads = a->threads;
    p.kv_f16 = a->kv_f16;
    if (n_seq + 2 > p.n_seq_max) p.n_seq_max = n_seq + 2;
    *c = ss_ctx_new(*m, &p, err, sizeof err);
    if (!*c) { fprintf(stderr, "slotswift: %s\n", err); ss_model_free(*m); *m = NULL; return -1; }
    return 0;
}

char *tool_render_prompt(const ss_model *m, const ss_args *a, const char *user) {
    if (!a->chat) {
        if (a->system) fprintf(stderr, "slotswift: warning: --system is ignored without --chat\n");
        return ss_strdup(user);
    }
    char err[SS_ERRLEN];
    char *tmpl = ss_gguf_get_str(m->gguf, "tokenizer.chat_template");
    int fam = ss_chat_detect(tmpl);
    if (fam == SS_CHAT_UNKNOWN) {
        fprintf(stderr, "slotswift: %s: %s; give the prompt raw (without --chat)\n", m->path,
                tmpl ? "unknown chat template in tokenizer.chat_template" : "the model has no tokenizer.chat_template");
        free(tmpl);
        return NULL;
    }
    ss_chat_msg msgs[2];
    int n = 0;
    if (a->system) msgs[n++] = (ss_chat_msg){ "system", a->system };
    msgs[n++] = (ss_chat_msg){ "user", user };
    const ss_vocab *v = m->vocab;
    const char *bos = ss_vocab_bos(v) >= 0 ? ss_vocab_token_text(v, ss_vocab_bos(v)) : "";
    const char *eos = ss_vocab_eos(v) >= 0 ? ss_vocab_token_text(v, ss_vocab_eos(v)) : "";
    char *out = ss_chat_render(fam, tmpl, msgs, n, true, bos, eos, err, sizeof err);
    free(tmpl);
    if (!out) fprintf(stderr, "slotswift: chat template: %s\n", err);
    return out;
}

int32_t *tool_tokenize_prompt(const ss_model *m, const char *text, int *n) {
    const ss_vocab *v = m->vocab;
    bool add_bos = ss_vocab_add_bos(v);
    if (add_bos && ss_vocab_bos(v) >= 0) {
        const char *bt = ss_vocab_token_text(v, ss_vocab_bos(v));
        if (bt && *bt && !strncmp(text, bt, strlen(bt))) add_bos = false;   // template already printed it
    }
    size_t len = strlen(text);
    int cap = (int)len + 8;
    int32_t *toks = ss_malloc(sizeof(int32_t) * cap);
    int k = ss_tokenize(v, text, len, add_bos, true, toks, cap);
    if (k > cap) {
        toks = ss_realloc(toks, sizeof(int32_t) * k);
        k = ss_tokenize(v, text, len, add_bos, true, toks, k);
    }
    *n = k;
    return toks;
}

void tool_json_float(FILE *f, double x) {
    if (isnan(x) || isinf(x)) fputs("null", f);
    else fprintf(f, "%.9g", x);
}
