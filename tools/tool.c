// tool.c — helpers shared by the commands.
#include "tool.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <cjson/cJSON.h>

int tool_load(const ss_args *a, int n_seq, ss_model **m, ss_ctx **c) {
    char err[SS_ERRLEN];
    *m = NULL; *c = NULL;
    if (!a->model) { fprintf(stderr, "slotswift: no model: give -m MODEL.gguf\n"); return -1; }
    if (a->slot_span && a->slot.steps <= 0) { fprintf(stderr, "slotswift: --slot-span needs --slot-steps N (SLOT is off without it)\n"); return -1; }
    *m = ss_model_load(a->model, err, sizeof err);
    if (!*m) { fprintf(stderr, "slotswift: %s\n", err); return -1; }
    ss_ctx_params p;
    ss_ctx_params_default(&p);
    p.n_ctx = a->n_ctx;
    p.n_threads = a->threads;
    p.kv_f16 = !a->kv_f32;
    p.kv_type_k = a->kv_type_k;
    p.kv_type_v = a->kv_type_v;
    if (n_seq + 2 > p.n_seq_max) p.n_seq_max = n_seq + 2;
    *c = ss_ctx_new(*m, &p, err, sizeof err);
    if (!*c) { fprintf(stderr, "slotswift: %s\n", err); ss_model_free(*m); *m = NULL; return -1; }
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
    char *buf = ss_read_file(path, &len, err, sizeof err);
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

void tool_gen_params(const ss_args *a, const ss_ctx *c, int n_cand, const uint8_t *slot_mask,
                     uint64_t seed_offset, ss_gen_params *gp) {
    ss_gen_params_default(gp);
    gp->n_predict = a->n_predict < 0 ? ss_ctx_n_ctx(c) : a->n_predict;
    gp->n_cand = n_cand;
    gp->ignore_eos = a->ignore_eos;
    gp->stops = a->stops;
    gp->n_stops = a->n_stops;
    gp->samp = a->samp;
    gp->samp.seed = a->samp.seed + seed_offset;
    gp->slot = a->slot;
    gp->slot_mask = slot_mask;
}
