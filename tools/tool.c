// tool.c — helpers shared by the commands.
#include "tool.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "ss_model.h"

int tool_ctx_seq(const ss_args *a, const ss_model *m) {
    int train = ss_model_hparams(m)->n_ctx_train;
    if (a->n_ctx > 0) return a->n_ctx;
    return train > 0 && train < TOOL_CTX_MAX ? train : TOOL_CTX_MAX;
}

// KV tokens for n_prompts prompts of n_cand candidates each, counted as the engine admits a request
// (engine.c req_pages): per prompt, the worst over its length T in [1, ctx) of the prompt's pages plus,
// per candidate, the pages of its min(-n, ctx - T) + 1 tokens and the page its fork copies
static int64_t tool_kv_need(int ctx, int n_predict, int n_cand, int n_prompts) {
    int64_t worst = 0;
    for (int T = 1; T < ctx; T++) {
        int64_t gen = n_predict < 0 || n_predict > ctx - T ? ctx - T : n_predict;
        int64_t p = (T + SS_KV_PAGE - 1) / SS_KV_PAGE + (int64_t)n_cand * ((gen + 1 + SS_KV_PAGE - 1) / SS_KV_PAGE + 1);
        if (p > worst) worst = p;
    }
    return worst * n_prompts * SS_KV_PAGE;
}

// the model of a->model (the flags checked first)
static ss_model *tool_load_model(const ss_args *a) {
    char err[SS_ERRLEN];
    if (!a->model) { fprintf(stderr, "slotswift: no model: give -m MODEL.gguf\n"); return NULL; }
    if (a->slot_span && a->slot.steps <= 0) { fprintf(stderr, "slotswift: --slot-span needs --slot-steps N (SLOT is off without it)\n"); return NULL; }
    if ((a->slot.kl_max > 0 || a->slot.safe || a->slot.min_gain > 0) && a->slot.steps <= 0) {
        fprintf(stderr, "slotswift: --slot-kl-max, --slot-safe and --slot-min-gain need --slot-steps N (SLOT is off without it)\n");
        return NULL;
    }
    ss_model *m = ss_model_load(a->model, err, sizeof err);
    if (!m) { fprintf(stderr, "slotswift: %s\n", err); return NULL; }
    return m;
}

// the one warning when -c (a sequence's context) is beyond the model's trained context
static void ctx_warn(const ss_args *a, const ss_model *m) {
    const int train = ss_model_hparams(m)->n_ctx_train;
    if (a->n_ctx > train)
        fprintf(stderr, "slotswift: warning: -c %d is beyond the model's trained context of %d tokens: "
                "output past position %d may be wrong\n", a->n_ctx, train, train);
}

// a context of kv_tokens KV tokens (at least the sequence context) for n_seq sequences
static ss_ctx *tool_new_ctx(const ss_args *a, ss_model *m, int64_t kv_tokens, int n_seq) {
    char err[SS_ERRLEN];
    const int ctx = tool_ctx_seq(a, m);
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = kv_tokens > ctx ? (int)kv_tokens : ctx;
    p.n_threads = a->threads;
    p.kv_f16 = !a->kv_f32;
    p.kv_type_k = a->kv_type_k;
    p.kv_type_v = a->kv_type_v;
    if (n_seq + 2 > p.n_seq_max) p.n_seq_max = n_seq + 2;
    ss_ctx *c = ss_ctx_new(m, &p, err, sizeof err);
    if (!c) fprintf(stderr, "slotswift: %s\n", err);
    return c;
}

int tool_load_data(const ss_args *a, int n_prompts, int n_cand, const tool_item *items, int n_items, const char *cmd,
                   ss_model **m, ss_ctx **c) {
    if (tool_load(a, n_prompts, n_cand, m, c)) return -1;
    const int ctx = tool_ctx_seq(a, *m);
    for (int i = 0; i < n_items; i++) {   // every question before the first: none fails hours into a run
        char *prompt = tool_render_prompt(*m, a, items[i].question);
        int T = 0;
        int32_t *toks = prompt ? tool_tokenize_prompt(*m, prompt, &T) : NULL;
        free(prompt); free(toks);
        if (prompt && T < ctx) continue;
        if (prompt) fprintf(stderr, "slotswift %s: question %d: prompt of %d tokens does not fit the context of %d tokens (-c)\n",
                            cmd, i, T, ctx);
        ss_ctx_free(*c); ss_model_free(*m); *c = NULL; *m = NULL;
        return -1;
    }
    return 0;
}

int tool_load_kv(const ss_args *a, int64_t kv_tokens, int n_seq, bool warn, ss_model **m, ss_ctx **c) {
    *c = NULL;
    if (!(*m = tool_load_model(a))) return -1;
    if (warn) ctx_warn(a, *m);
    if (!(*c = tool_new_ctx(a, *m, kv_tokens, n_seq))) { ss_model_free(*m); *m = NULL; return -1; }
    return 0;
}

int tool_load(const ss_args *a, int n_prompts, int n_cand, ss_model **m, ss_ctx **c) {
    *c = NULL;
    if (!(*m = tool_load_model(a))) return -1;
    const int ctx = tool_ctx_seq(a, *m);
    ctx_warn(a, *m);
    const int64_t kv = tool_kv_need(ctx, a->n_predict, n_cand, n_prompts);
    if (kv > TOOL_CTX_MAX)
        fprintf(stderr, "slotswift: %d prompt%s x %d candidate%s of up to %d tokens each (the context; -n %d) need a KV cache "
                "of %lld tokens, more than the maximum %d: lower -N%s or -n\n", n_prompts, n_prompts > 1 ? "s" : "", n_cand,
                n_cand > 1 ? "s" : "", ctx, a->n_predict, (long long)kv, TOOL_CTX_MAX, n_prompts > 1 ? ", --parallel" : "");
    else *c = tool_new_ctx(a, *m, kv, n_prompts * n_cand);
    if (!*c) { ss_model_free(*m); *m = NULL; return -1; }
    return 0;
}

char *tool_render_prompt(const ss_model *m, const ss_args *a, const char *user) {
    if (!a->chat) {
        if (a->system) fprintf(stderr, "slotswift: warning: --system is ignored without --chat\n");
        return tool_strdup(user);
    }
    char err[SS_ERRLEN];
    if (ss_model_chat_family(m) == SS_CHAT_UNKNOWN) {
        fprintf(stderr, "slotswift: %s: %s; give the prompt raw (without --chat)\n", ss_model_path(m),
                ss_model_chat_template(m) ? "unknown chat template in tokenizer.chat_template" : "the model has no tokenizer.chat_template");
        return NULL;
    }
    ss_chat_msg msgs[2];
    int n = 0;
    if (a->system) msgs[n++] = (ss_chat_msg){ "system", a->system };
    msgs[n++] = (ss_chat_msg){ "user", user };
    char *out = ss_model_chat_render(m, SS_CHAT_UNKNOWN, msgs, n, true, err, sizeof err);
    if (!out) fprintf(stderr, "slotswift: chat template: %s\n", err);
    return out;
}

int32_t *tool_tokenize_prompt(const ss_model *m, const char *text, int *n) {
    const ss_vocab *v = ss_model_vocab(m);
    int cap = (int)strlen(text) + 8;
    int32_t *toks = tool_malloc(sizeof(int32_t) * cap);
    int k = ss_tokenize_prompt(v, text, toks, cap);
    if (k > cap) {   // buffer convention: call again with the length needed
        toks = tool_realloc(toks, sizeof(int32_t) * k);
        k = ss_tokenize_prompt(v, text, toks, k);
    }
    if (k < 0) { fprintf(stderr, "slotswift: tokenizer: out of memory\n"); exit(1); }
    *n = k;
    return toks;
}

void tool_json_float(FILE *f, double x) {
    if (isnan(x) || isinf(x)) fputs("null", f);
    else fprintf(f, "%.9g", x);
}

void tool_json_str(FILE *f, const char *s) {
    if (!s) { fputs("null", f); return; }
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') { fputc('\\', f); fputc(ch, f); p++; }
        else if (ch == '\n') { fputs("\\n", f); p++; }
        else if (ch == '\t') { fputs("\\t", f); p++; }
        else if (ch == '\r') { fputs("\\r", f); p++; }
        else if (ch < 0x20) { fprintf(f, "\\u%04x", ch); p++; }
        else if (ch < 0x80) { fputc(ch, f); p++; }
        else {
            // copy a well-formed UTF-8 sequence, else emit U+FFFD for the byte
            int n = ch >= 0xF0 && ch < 0xF5 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 && ch < 0xE0 ? 2 : 0;
            int ok = n > 0;
            for (int k = 1; ok && k < n; k++) ok = (p[k] & 0xC0) == 0x80;
            if (ok) { fwrite(p, 1, n, f); p += n; }
            else { fputs("\\ufffd", f); p++; }
        }
    }
    fputc('"', f);
}

int tool_read_dataset(const char *path, tool_item **items) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_text(path, SS_DATA_MAX_BYTES, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift: %s\n", err); return -1; }
    int n = 0, cap = 256, line = 0;
    tool_item *it = tool_malloc(sizeof(tool_item) * cap);
    char *p = buf;
    while (*p) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        line++;
        char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q) {
            cJSON *o = cJSON_Parse(q);
            cJSON *qq = o ? cJSON_GetObjectItem(o, "question") : NULL;
            if (!qq && o) qq = cJSON_GetObjectItem(o, "problem");
            cJSON *aa = o ? cJSON_GetObjectItem(o, "answer") : NULL;
            if (!o || !cJSON_IsString(qq) || !cJSON_IsString(aa)) {
                fprintf(stderr, "slotswift: %s: line %d: %s\n", path, line,
                        !o ? "invalid JSON" : "expected string fields 'question' (or 'problem') and 'answer'");
                cJSON_Delete(o);
                tool_free_dataset(it, n); free(buf);
                return -1;
            }
            bool gsm = cJSON_GetObjectItem(o, "question") != NULL;
            char *ref = gsm ? ss_answer_reference_gsm8k(aa->valuestring) : tool_strdup(aa->valuestring);
            if (!ref) {
                fprintf(stderr, "slotswift: %s: line %d: field 'answer' has no '#### N' final answer\n", path, line);
                cJSON_Delete(o); tool_free_dataset(it, n); free(buf);
                return -1;
            }
            if (n == cap) { cap *= 2; it = tool_realloc(it, sizeof(tool_item) * cap); }
            it[n].question = tool_strdup(qq->valuestring);
            it[n].reference = ref;
            n++;
            cJSON_Delete(o);
        }
        if (!e) break;
        p = e + 1;
    }
    free(buf);
    *items = it;
    return n;
}

void tool_free_dataset(tool_item *items, int n) {
    for (int i = 0; i < n; i++) { free(items[i].question); free(items[i].reference); }
    free(items);
}

void tool_progress(const char *label, int done, int total, double t_start, const char *extra) {
    if (total <= 0) return;
    double el = ss_time() - t_start;
    double eta = done > 0 ? el / done * (total - done) : 0;
    int w = 30, fill = (int)((double)done / total * w);
    char bar[64];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[w] = 0;
    fprintf(stderr, "\r%s [%s] %d/%d %s ETA %dm%02ds   ", label, bar, done, total, extra ? extra : "",
            (int)eta / 60, (int)eta % 60);
    if (done == total) fprintf(stderr, "\n");
    fflush(stderr);
}

int tool_gen_params(const ss_args *a, const ss_ctx *c, int T, int n_cand, const uint8_t *slot_mask,
                    uint64_t seed_offset, ss_gen_params *gp, char *err, size_t errlen) {
    const int ctx = tool_ctx_seq(a, ss_ctx_model(c));
    if (T < 1) return ss_err(err, errlen, "the prompt is empty (no tokens)");
    if (T >= ctx)
        return ss_err(err, errlen, "prompt of %d tokens does not fit the context of %d tokens (-c)", T, ctx);
    ss_gen_params_default(gp);
    // one sequence holds at most the context: -n (or -1: until the end of generation) stops there
    gp->n_predict = a->n_predict < 0 || a->n_predict > ctx - T ? ctx - T : a->n_predict;
    gp->n_cand = n_cand;
    gp->ignore_eos = a->ignore_eos;
    gp->stops = a->stops;
    gp->n_stops = a->n_stops;
    gp->samp = a->samp;
    gp->samp.seed = a->samp.seed + seed_offset;
    gp->slot = a->slot;
    gp->slot_mask = slot_mask;
    return 0;
}

// the per-step SLOT report: {"steps":S,"lr":..,"kl_max":..,"steps_done":n,"loss":[..],"kl":[..],"scale":[..],
// "loss_after":..,"seconds":..}; kl_max is the bound in force (0: no trust region)
void tool_json_slot(FILE *f, const ss_slot_params *p, int steps_done, const float *loss, const float *kl,
                    const float *scale, float loss_after, double seconds) {
    const float kl_max = p->kl_max > 0 ? p->kl_max : p->safe ? SS_SLOT_SAFE_KL_MAX : 0;
    fprintf(f, "{\"steps\":%d,\"lr\":", p->steps); tool_json_float(f, p->lr);
    fprintf(f, ",\"kl_max\":"); tool_json_float(f, kl_max);
    fprintf(f, ",\"min_gain\":"); tool_json_float(f, p->min_gain);
    fprintf(f, ",\"steps_done\":%d", steps_done);
    const char *name[3] = { "loss", "kl", "scale" };
    const float *v[3] = { loss, kl, scale };
    for (int j = 0; j < 3; j++) {
        fprintf(f, ",\"%s\":[", name[j]);
        for (int s = 0; s < steps_done; s++) { if (s) fputc(',', f); tool_json_float(f, v[j][s]); }
        fputc(']', f);
    }
    fprintf(f, ",\"loss_after\":"); tool_json_float(f, loss_after);
    if (seconds >= 0) { fprintf(f, ",\"seconds\":"); tool_json_float(f, seconds); }
    fputc('}', f);
}
