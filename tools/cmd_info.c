// cmd_info.c — `slotswift info [--json] MODEL`: describe a GGUF model from its metadata alone
// (architecture, hyperparameters, tensors by type, parameter count, tokenizer, chat template).
// Hyperparameters are read directly from the `{arch}.*` keys and printed; then the model loader
// checks the file as generate would (tensors, shapes, token ids): a file it refuses is exit 1 after
// the metadata. A SWIFT head file (general.architecture "swift-head") is described as a head.
// Exit codes: 0 ok, 1 unreadable / invalid file or unsupported architecture, 2 bad flags.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "xalloc.h"
// a GGUF inspector: keys, tensors and their types through the library's internal GGUF reader (the
// public header loads models; it does not offer a raw GGUF reader); the tokenizer through the API
#include "ss_gguf.h"
#include "ss_quant.h"
#include "ss_vocab.h"
#include "ss_chat.h"
#include "slotswift.h"

// llama.cpp's llama_ftype names (general.file_type)
static const char *info_ftype_name(int64_t ft) {
    switch (ft) {
    case 0: return "F32";     case 1: return "F16";     case 2: return "Q4_0";   case 3: return "Q4_1";
    case 7: return "Q8_0";    case 8: return "Q5_0";    case 9: return "Q5_1";   case 10: return "Q2_K";
    case 11: return "Q3_K_S"; case 12: return "Q3_K_M"; case 13: return "Q3_K_L"; case 14: return "Q4_K_S";
    case 15: return "Q4_K_M"; case 16: return "Q5_K_S"; case 17: return "Q5_K_M"; case 18: return "Q6_K";
    case 32: return "BF16";
    default: return "unknown";
    }
}

typedef struct {
    const char *arch;
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_rot, n_ff, n_ctx;
    double rope_base, rope_factor, rms_eps;
    char rope_scaling[32];
    int tied, qkv_bias;
    int64_t file_type;
    uint64_t n_params, tensor_bytes;
    uint64_t type_count[SS_TYPE_COUNT + 1];   // last slot: ids outside the table
} info_model;


// read + check the hyperparameters; -1 with a one-line message
static int info_read(const ss_gguf *g, info_model *m, char *err, size_t errlen) {
    const char *path = g->path;
    const ss_gguf_kv *akv = ss_gguf_find(g, "general.architecture");
    if (!akv || akv->type != SS_GGUF_STRING) return ss_err(err, errlen, "%s: missing key general.architecture", path);
    if (akv->v.s.len == 5 && !memcmp(akv->v.s.ptr, "llama", 5)) m->arch = "llama";
    else if (akv->v.s.len == 5 && !memcmp(akv->v.s.ptr, "qwen2", 5)) m->arch = "qwen2";
    else {
        char a[64];
        size_t n = akv->v.s.len < 40 ? (size_t)akv->v.s.len : 40;
        for (size_t i = 0; i < n; i++) a[i] = (akv->v.s.ptr[i] >= 0x20 && akv->v.s.ptr[i] < 0x7f) ? akv->v.s.ptr[i] : '?';
        a[n] = 0;
        return ss_err(err, errlen, "%s: general.architecture: unsupported architecture '%s' (supported: llama, qwen2)", path, a);
    }
    const char *arch = m->arch;
    m->n_embd    = ss_gguf_get_arch_int(g, arch, "embedding_length", -1);
    m->n_layer   = ss_gguf_get_arch_int(g, arch, "block_count", -1);
    m->n_ff      = ss_gguf_get_arch_int(g, arch, "feed_forward_length", -1);
    m->n_head    = ss_gguf_get_arch_int(g, arch, "attention.head_count", -1);
    m->n_head_kv = ss_gguf_get_arch_int(g, arch, "attention.head_count_kv", m->n_head);
    m->n_ctx     = ss_gguf_get_arch_int(g, arch, "context_length", -1);
    struct { const char *key; int64_t v; } req[] = {
        {"embedding_length", m->n_embd}, {"block_count", m->n_layer}, {"feed_forward_length", m->n_ff},
        {"attention.head_count", m->n_head}, {"attention.head_count_kv", m->n_head_kv}, {"context_length", m->n_ctx},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (req[i].v <= 0 || req[i].v > (1 << 24))
            return ss_err(err, errlen, "%s: %s.%s: %s", path, arch, req[i].key,
                          req[i].v == -1 ? "missing" : "invalid value");
    if (m->n_embd % m->n_head || m->n_head % m->n_head_kv)
        return ss_err(err, errlen, "%s: %s.attention.head_count: %lld heads / %lld kv heads do not divide embedding %lld",
                      path, arch, (long long)m->n_head, (long long)m->n_head_kv, (long long)m->n_embd);
    m->head_dim  = ss_gguf_get_arch_int(g, arch, "attention.key_length", m->n_embd / m->n_head);
    m->n_rot     = ss_gguf_get_arch_int(g, arch, "rope.dimension_count", m->head_dim);
    m->rope_base = ss_gguf_get_arch_float(g, arch, "rope.freq_base", 10000.0);
    m->rms_eps   = ss_gguf_get_arch_float(g, arch, "attention.layer_norm_rms_epsilon", -1);
    if (m->head_dim <= 0 || m->n_rot <= 0 || m->n_rot > m->head_dim)
        return ss_err(err, errlen, "%s: %s: invalid head dim %lld / rope dims %lld", path, arch,
                      (long long)m->head_dim, (long long)m->n_rot);
    if (!(m->rms_eps > 0)) return ss_err(err, errlen, "%s: %s.attention.layer_norm_rms_epsilon: missing or invalid", path, arch);
    if (!(m->rope_base > 0)) return ss_err(err, errlen, "%s: %s.rope.freq_base: invalid", path, arch);

    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    char *st;
    if (ss_gguf_get_str_opt(g, key, &st)) return ss_err(err, errlen, "%s: out of memory", path);
    m->rope_factor = ss_gguf_get_arch_float(g, arch, "rope.scaling.factor", 0);
    if (ss_gguf_find_tensor(g, "rope_freqs.weight")) snprintf(m->rope_scaling, sizeof m->rope_scaling, "llama3");
    else if (st) snprintf(m->rope_scaling, sizeof m->rope_scaling, "%.31s", st);
    else snprintf(m->rope_scaling, sizeof m->rope_scaling, "none");
    free(st);

    const ss_gguf_tensor *emb = ss_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->ne[0] != m->n_embd)
        return ss_err(err, errlen, "%s: tensor 'token_embd.weight': %s", path,
                      emb ? "shape does not match the embedding length" : "missing");
    m->n_vocab = emb->ne[1];
    m->tied = ss_gguf_find_tensor(g, "output.weight") == NULL;
    m->qkv_bias = ss_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    m->file_type = ss_gguf_get_int(g, "general.file_type", -1);

    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ss_gguf_tensor *t = &g->tensors[i];
        m->n_params += (uint64_t)ss_gguf_tensor_nelements(t);
        m->tensor_bytes += t->nbytes;
        m->type_count[t->type < SS_TYPE_COUNT ? t->type : SS_TYPE_COUNT]++;
    }
    return 0;
}

// a SWIFT head file (`swift-train --out`): what it scores and what it was trained for
static int info_head(const char *path, int json) {
    char err[SS_ERRLEN];
    ss_swift_head h;
    if (ss_swift_head_load(&h, path, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); return 1; }
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)h.model_fingerprint);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddStringToObject(o, "kind", "swift-head");
        cJSON_AddStringToObject(o, "model_name", h.model_name);
        cJSON_AddStringToObject(o, "model_fingerprint", fp);
        cJSON_AddStringToObject(o, "layers", h.spec.layers);
        cJSON_AddItemToObject(o, "layer_list", cJSON_CreateIntArray(h.spec.layer, h.spec.n_layers));
        cJSON_AddBoolToObject(o, "norm", h.spec.norm);
        cJSON_AddBoolToObject(o, "logits", h.spec.logits);
        cJSON_AddNumberToObject(o, "dim", h.dim);
        cJSON_AddBoolToObject(o, "gate", !h.no_gate);
        cJSON *ti = cJSON_Parse(h.train_info), *vm = cJSON_Parse(h.val_metrics);
        cJSON_AddItemToObject(o, "train_info", ti ? ti : cJSON_CreateString(h.train_info));
        cJSON_AddItemToObject(o, "val_metrics", vm ? vm : cJSON_CreateString(h.val_metrics));
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("file:            %s (SWIFT reward head)\n", path);
        printf("for model:       %s (fingerprint %s)\n", h.model_name, fp);
        printf("features:        %s, layers", h.spec.logits ? "logits" : h.spec.layers);
        for (int i = 0; i < h.spec.n_layers; i++) printf("%s%d", i ? "," : " ", h.spec.layer[i]);
        printf("%s, dim %d\n", h.spec.norm ? ", final norm applied" : "", h.dim);
        printf("gate:            %s\n", h.no_gate ? "none (mean reward)" : "learned");
        printf("training:        %s\n", h.train_info[0] ? h.train_info : "(not recorded)");
        printf("validation:      %s\n", h.val_metrics[0] ? h.val_metrics : "(not recorded)");
    }
    ss_swift_head_free(&h);
    return 0;
}

static void info_usage(FILE *f) {
    fprintf(f, "usage: slotswift info [--json] MODEL.gguf   (or -m MODEL.gguf)\n"
               "  print a model's architecture, hyperparameters, tensor types, tokenizer and chat template\n");
}

int cmd_info(int argc, char **argv) {
    // cJSON allocates through the tools' allocator: out of memory exits with one line (instead of
    // fields silently left out and a NULL printed)
    cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = tool_malloc, .free_fn = free });
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { info_usage(stdout); return 0; }
        else if (!strcmp(f, "--json")) json = 1;
        else if (!strcmp(f, "-m") || !strcmp(f, "--model")) {
            if (i + 1 >= argc) { fprintf(stderr, "slotswift: %s: missing value\n", f); return 2; }
            if (path) { fprintf(stderr, "slotswift: info: more than one model given\n"); return 2; }
            path = argv[++i];
        } else if (f[0] == '-' && f[1]) {
            fprintf(stderr, "slotswift: info: unknown flag '%s' (try slotswift info --help)\n", f);
            return 2;
        } else {
            if (path) { fprintf(stderr, "slotswift: info: more than one model given\n"); return 2; }
            path = f;
        }
    }
    if (!path) { fprintf(stderr, "slotswift: info: no model given (usage: slotswift info [--json] MODEL)\n"); return 2; }

    char err[SS_ERRLEN];
    ss_gguf *g = NULL;
    if (ss_gguf_open(&g, path, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); return 1; }
    const ss_gguf_kv *akv = ss_gguf_find(g, "general.architecture");
    if (akv && akv->type == SS_GGUF_STRING && akv->v.s.len == 10 && !memcmp(akv->v.s.ptr, "swift-head", 10)) {
        ss_gguf_close(g);
        return info_head(path, json);
    }
    info_model m;
    memset(&m, 0, sizeof m);
    if (info_read(g, &m, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); ss_gguf_close(g); return 1; }
    ss_vocab *v = NULL;
    if (!(v = ss_vocab_load_file(path, err, sizeof err))) { fprintf(stderr, "slotswift: %s\n", err); ss_gguf_close(g); return 1; }
    char *tmpl, *name = NULL;   // (NULL: not in the file)
    if (ss_gguf_get_str_opt(g, "tokenizer.chat_template", &tmpl) || ss_gguf_get_str_opt(g, "general.name", &name)) {
        fprintf(stderr, "slotswift: %s: out of memory\n", path);
        free(tmpl); ss_vocab_free(v); ss_gguf_close(g);
        return 1;
    }
    const char *chat = tmpl ? ss_chat_family_name(ss_chat_detect(tmpl)) : "none";

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddNumberToObject(o, "file_size", (double)g->size);
        cJSON_AddNumberToObject(o, "gguf_version", g->version);
        cJSON_AddStringToObject(o, "architecture", m.arch);
        cJSON_AddStringToObject(o, "name", name ? name : "");
        cJSON_AddNumberToObject(o, "file_type", (double)m.file_type);
        cJSON_AddStringToObject(o, "file_type_name", info_ftype_name(m.file_type));
        cJSON_AddNumberToObject(o, "n_vocab", (double)m.n_vocab);
        cJSON_AddNumberToObject(o, "n_embd", (double)m.n_embd);
        cJSON_AddNumberToObject(o, "n_layer", (double)m.n_layer);
        cJSON_AddNumberToObject(o, "n_head", (double)m.n_head);
        cJSON_AddNumberToObject(o, "n_head_kv", (double)m.n_head_kv);
        cJSON_AddNumberToObject(o, "head_dim", (double)m.head_dim);
        cJSON_AddNumberToObject(o, "n_rot", (double)m.n_rot);
        cJSON_AddNumberToObject(o, "n_ff", (double)m.n_ff);
        cJSON_AddNumberToObject(o, "context_length", (double)m.n_ctx);
        cJSON_AddNumberToObject(o, "rope_freq_base", m.rope_base);
        cJSON_AddStringToObject(o, "rope_scaling", m.rope_scaling);
        cJSON_AddNumberToObject(o, "rope_scaling_factor", m.rope_factor);
        cJSON_AddNumberToObject(o, "rms_eps", m.rms_eps);
        cJSON_AddBoolToObject(o, "tied_embeddings", m.tied);
        cJSON_AddBoolToObject(o, "qkv_bias", m.qkv_bias);
        cJSON_AddNumberToObject(o, "n_tensors", (double)g->n_tensors);
        cJSON_AddNumberToObject(o, "n_params", (double)m.n_params);
        cJSON *types = cJSON_AddObjectToObject(o, "tensor_types");
        for (int t = 0; t <= SS_TYPE_COUNT; t++)
            if (m.type_count[t]) cJSON_AddNumberToObject(types, t < SS_TYPE_COUNT ? ss_type_name((uint32_t)t) : "?", (double)m.type_count[t]);
        cJSON *tk = cJSON_AddObjectToObject(o, "tokenizer");
        cJSON_AddStringToObject(tk, "model", ss_vocab_model_name(v));
        cJSON_AddStringToObject(tk, "pre", ss_vocab_pre_name(v));
        cJSON_AddNumberToObject(tk, "n_tokens", ss_vocab_n_tokens(v));
        cJSON_AddNumberToObject(tk, "bos", ss_vocab_bos(v));
        cJSON_AddNumberToObject(tk, "eos", ss_vocab_eos(v));
        cJSON_AddBoolToObject(tk, "add_bos", ss_vocab_add_bos(v));
        cJSON_AddStringToObject(o, "chat_template", chat);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("file:            %s (%.2f MB, GGUF v%u)\n", path, g->size / 1e6, g->version);
        printf("name:            %s\n", name ? name : "(none)");
        printf("architecture:    %s\n", m.arch);
        if (m.file_type < 0) printf("file type:       not set\n");
        else printf("file type:       %s (%lld)\n", info_ftype_name(m.file_type), (long long)m.file_type);
        printf("n_vocab:         %lld\n", (long long)m.n_vocab);
        printf("n_embd:          %lld\n", (long long)m.n_embd);
        printf("n_layer:         %lld\n", (long long)m.n_layer);
        printf("n_head:          %lld\n", (long long)m.n_head);
        printf("n_head_kv:       %lld\n", (long long)m.n_head_kv);
        printf("head_dim:        %lld (rope dims %lld)\n", (long long)m.head_dim, (long long)m.n_rot);
        printf("n_ff:            %lld\n", (long long)m.n_ff);
        printf("context length:  %lld\n", (long long)m.n_ctx);
        printf("rope:            base %g, scaling %s", m.rope_base, m.rope_scaling);
        if (m.rope_factor > 0) printf(" (factor %g)", m.rope_factor);
        printf("\n");
        printf("rms eps:         %g\n", m.rms_eps);
        printf("output:          %s\n", m.tied ? "tied to token_embd.weight" : "output.weight");
        printf("qkv bias:        %s\n", m.qkv_bias ? "yes" : "no");
        printf("parameters:      %llu (%.2f M)\n", (unsigned long long)m.n_params, m.n_params / 1e6);
        printf("tensors:         %llu (", (unsigned long long)g->n_tensors);
        int first = 1;
        for (int t = 0; t <= SS_TYPE_COUNT; t++)
            if (m.type_count[t]) {
                printf("%s%s %llu", first ? "" : ", ", t < SS_TYPE_COUNT ? ss_type_name((uint32_t)t) : "?",
                       (unsigned long long)m.type_count[t]);
                first = 0;
            }
        printf("), %.2f MB of data\n", m.tensor_bytes / 1e6);
        printf("tokenizer:       %s (pre %s), %d tokens, bos %d, eos %d\n", ss_vocab_model_name(v),
               ss_vocab_pre_name(v), ss_vocab_n_tokens(v), ss_vocab_bos(v), ss_vocab_eos(v));
        printf("chat template:   %s\n", chat);
    }
    free(name);
    free(tmpl);
    ss_vocab_free(v);
    ss_gguf_close(g);
    // what the file says is printed; whether it loads is the loader's word (the same checks as
    // generate: every tensor, shape and token id)
    fflush(stdout);
    ss_model *model = ss_model_load(path, err, sizeof err);
    if (!model) { fprintf(stderr, "slotswift: %s\n", err); return 1; }
    ss_model_free(model);
    return 0;
}
