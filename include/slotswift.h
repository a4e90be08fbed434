// slotswift.h — the public C API of libslotswift.
//
// A token's path from text to logits:
//   ss_tokenize (src/vocab.c) -> ss_batch entries -> ss_decode (src/forward.c):
//   embedding -> n_layer x [RMSNorm, attention over the paged KV cache (src/kv.c), RMSNorm, SwiGLU]
//   -> output RMSNorm -> (+ the sequence's SLOT delta) -> LM head (src/matmul.c) -> logits
//   -> ss_sampler_sample (src/sampling.c).
// Errors: functions return 0 / a count on success and -1 on error with a one-line message
// in err (or ss_ctx_error() for context calls).
#ifndef SLOTSWIFT_H
#define SLOTSWIFT_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t ss_token;
typedef struct ss_model ss_model;
typedef struct ss_ctx   ss_ctx;

// ---------------------------------------------------------------- model
enum ss_arch { SS_ARCH_LLAMA = 1, SS_ARCH_QWEN2 = 2 };

typedef struct {
    int   arch;                 // enum ss_arch
    int   n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float rms_eps;
    float rope_base;            // rope.freq_base
    float rope_scale;           // 1 / rope.scaling.factor for linear scaling (1 = none)
    int   rope_neox;            // 1: rotate halves (qwen2), 0: rotate adjacent pairs (llama)
    int   rope_llama3;          // llama3-style frequency scaling (rope_freqs.weight present)
    int   has_qkv_bias, tied_output;
} ss_hparams;

ss_model *ss_model_load(const char *path, char *err, size_t errlen);
void      ss_model_free(ss_model *m);
const ss_hparams *ss_model_hparams(const ss_model *m);
const char *ss_model_name(const ss_model *m);          // general.name or the file's basename
const char *ss_model_path(const ss_model *m);
const char *ss_model_arch_name(const ss_model *m);     // "llama" / "qwen2"
// fingerprint of the model's tensors (names, types, shapes, and a hash of the LM head data):
// a SWIFT head records it and refuses other models
uint64_t  ss_model_fingerprint(const ss_model *m);
struct ss_vocab;
const struct ss_vocab *ss_model_vocab(const ss_model *m);
struct ss_gguf;
const struct ss_gguf *ss_model_gguf(const ss_model *m);

// ---------------------------------------------------------------- context
typedef struct {
    int   n_ctx;          // KV cache size in tokens over all sequences (0: min(n_ctx_train, 4096))
    int   n_seq_max;      // max live sequences (default 64)
    int   n_batch;        // max entries per ss_decode call (default 512)
    int   n_threads;      // <= 0: all cores
    int   kv_f16;         // store K/V as F16 (default 1, as llama.cpp; 0 = F32)
    int   force_scalar;   // 1: the scalar reference kernels even where the CPU has SIMD ones (default 0)
} ss_ctx_params;

void    ss_ctx_params_default(ss_ctx_params *p);
ss_ctx *ss_ctx_new(ss_model *m, const ss_ctx_params *p, char *err, size_t errlen);
void    ss_ctx_free(ss_ctx *c);
const char *ss_ctx_error(const ss_ctx *c);              // message of the last failed call
const ss_model *ss_ctx_model(const ss_ctx *c);
int     ss_ctx_n_ctx(const ss_ctx *c);
struct ss_pool;
struct ss_pool *ss_ctx_pool(ss_ctx *c);

// ---------------------------------------------------------------- sequences
// A sequence is an independent token stream with its own KV entries. A fork shares the parent's
// KV cache pages (copy-on-write, no copy of the prompt) and inherits its SLOT delta.
int  ss_seq_new(ss_ctx *c);                  // new empty sequence id, or -1 (too many)
int  ss_seq_fork(ss_ctx *c, int seq);        // new sequence that continues `seq`'s tokens
void ss_seq_free(ss_ctx *c, int seq);
int  ss_seq_len(const ss_ctx *c, int seq);   // tokens in the cache (= next position)
// per-sequence vector added to the final hidden state (after the output norm) before the LM head;
// NULL clears it. delta has n_embd floats (copied).
int  ss_seq_set_delta(ss_ctx *c, int seq, const float *delta);
const float *ss_seq_delta(const ss_ctx *c, int seq);   // NULL when none
int  ss_kv_pages_used(const ss_ctx *c);
int  ss_kv_pages_total(const ss_ctx *c);

// ---------------------------------------------------------------- batch + forward
enum ss_out_flags {
    SS_OUT_LOGITS = 1,      // logits[n_vocab] (with the sequence's delta applied)
    SS_OUT_HIDDEN = 2,      // final hidden state after the output norm, without delta [n_embd]
    SS_OUT_LAYERS = 4,      // the hidden states of the layers chosen by ss_ctx_set_layers
};

typedef struct {
    int       n;            // entries
    int       cap;
    int32_t  *seq;          // sequence id
    int32_t  *pos;          // position (must equal ss_seq_len at that point: tokens of one sequence in order)
    ss_token *tok;
    uint8_t  *out;          // enum ss_out_flags
} ss_batch;

ss_batch ss_batch_new(int cap);
void     ss_batch_free(ss_batch *b);
void     ss_batch_clear(ss_batch *b);
void     ss_batch_add(ss_batch *b, int seq, int pos, ss_token tok, int out_flags);

// Layers to capture with SS_OUT_LAYERS, numbered as Hugging Face's output_hidden_states:
// 0 = embedding output, i = output of block i (1..n_layer-1), n_layer = the final normed state.
// layers == NULL / n == 0: none. norm: apply the final RMSNorm to each captured layer (not to 0..n_layer-1 otherwise).
int  ss_ctx_set_layers(ss_ctx *c, const int *layers, int n, bool norm);
int  ss_ctx_layers_dim(const ss_ctx *c);      // n * n_embd

// Run the forward pass for every entry (appends their K/V to the sequences' caches).
// Returns 0, or -1 with ss_ctx_error() set (bad sequence, position, token, cache full: the
// cache is left as before the call).
int  ss_decode(ss_ctx *c, const ss_batch *b);
// outputs of entry i of the last ss_decode (NULL if not requested)
const float *ss_get_logits(const ss_ctx *c, int i);
const float *ss_get_hidden(const ss_ctx *c, int i);
const float *ss_get_layers(const ss_ctx *c, int i);   // ss_ctx_layers_dim floats, layers in the order given

// LM head of the model as a weight matrix [n_vocab, n_embd] (for SLOT); layout in src/ss_matmul.h
typedef struct ss_weight ss_weight;
const ss_weight *ss_model_lm_head(const ss_model *m);

#ifdef __cplusplus
}
#endif
#endif
