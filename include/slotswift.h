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
    // what the entry is, for the choice of matmul kernels (results of an entry never depend on
    // the other entries of the batch when every entry has one of these):
    SS_ROW_PROMPT = 8,      // a prompt token: the prefill kernels (same bits at any row count)
    SS_ROW_GEN = 16,        // a generated token (or the prompt's last): the decode kernels
    // neither: chosen by the batch's row count (prefill kernels from SS_GEMM_PANEL_MIN_T rows)
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


// ---------------------------------------------------------------- step-wise engine
// The scheduler that generation runs on (ss_gen_run, the CLI, the server): requests join and
// leave one running batch at every step. One ss_engine_step does, for every admitted request,
//   (a) one chunk of prompt prefill (at most prefill_chunk prompt tokens per step, all requests),
//   (b) ONE SLOT AdamW step (one request optimizes at a time; other SLOT requests wait their turn),
//   (c) one decode step for every running candidate of every request (one batched ss_decode).
// Batch invariance: a request's tokens, text, logprobs and SLOT losses depend only on its prompt
// and parameters (seed included), never on what else runs, how its prompt is chunked or whether
// its prefix came from the cache: prompt rows always use the prefill kernels (SS_ROW_PROMPT),
// the last prompt token and generated tokens the decode kernels (SS_ROW_GEN).
// Prefix reuse: the KV pages of earlier prompts (up to their last token) are kept in a small LRU
// cache; a prompt that starts with the same tokens forks them instead of recomputing them.
// Not thread-safe: one thread calls every ss_engine_* function of an engine (a server serializes
// them with a lock); callbacks run inside ss_engine_step.
// ss_gen_params / ss_gen_result: the generation parameters and result (src/methods/ss_gen.h).
typedef struct ss_engine ss_engine;
typedef struct ss_gen_params ss_gen_params;
typedef struct ss_gen_result ss_gen_result;

// Per-token callback (ss_gen_params.on_token): candidate `cand` of request `req` sampled `tok`
// with log-probability `logprob`; piece[0..n) is the text it completed (may be empty, e.g. inside
// a UTF-8 character or a partial stop string). Non-zero return cancels the whole request.
typedef int (*ss_token_cb)(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float logprob);

typedef struct {
    int  max_running;     // sequences decoding at once over all requests (0: the context's n_seq_max)
    int  max_queue;       // requests waiting to be admitted (0: 256); submit beyond it fails
    int  prefill_chunk;   // prompt tokens prefilled per step over all requests (0: the context's n_batch)
    bool prefix_reuse;    // keep prompts' KV pages for later prompts that start alike (default true)
    int  prefix_slots;    // cached prompts kept (LRU; 0: 8); each holds one sequence of the context
} ss_engine_params;

enum ss_req_state {
    SS_REQ_QUEUED = 0, SS_REQ_PREFILL = 1, SS_REQ_SLOT = 2, SS_REQ_DECODE = 3,
    SS_REQ_DONE = 4,      // finished: result ready for ss_engine_take
    SS_REQ_CANCELLED = 5, // cancelled (ss_engine_cancel or a callback): partial result ready
    SS_REQ_FAILED = 6,    // error (message from ss_engine_error): no result
};

typedef struct {
    int    n_queued;          // requests waiting for admission
    int    n_active;          // requests admitted and not finished (prefill, SLOT or decode)
    int    n_prefill, n_slot; // ... of which prefilling / in their SLOT phase
    int    n_running_seqs;    // candidate sequences decoding
    int    n_finished;        // finished requests whose result was not taken yet
    int    n_cached_prefixes; // prompts kept for prefix reuse
    int    kv_pages_used, kv_pages_total;
    long long steps;              // ss_engine_step calls so far
    long long prompt_tokens;      // prompt tokens computed (not counting reused ones)
    long long reused_tokens;      // prompt tokens taken from the prefix cache
    long long gen_tokens;         // tokens decoded
} ss_engine_state;

void       ss_engine_params_default(ss_engine_params *p);
// The engine uses c (its sequences, captured layers and SLOT workspace) exclusively until freed.
ss_engine *ss_engine_new(ss_ctx *c, const ss_engine_params *p, char *err, size_t errlen);
void       ss_engine_free(ss_engine *e);         // cancels everything, frees every sequence it made
// Queue a request: prompt[0..n) (copied), n_cand candidates etc. from *p (copied; pointers inside
// it, e.g. stops, slot_mask, feat, head, callbacks' ud, must stay valid until the result is taken).
// Returns the request id (>= 0), or -1 + err: empty prompt or prompt over the context, bad
// parameters, more candidates than max_running, queue full.
int  ss_engine_submit(ss_engine *e, const ss_token *prompt, int n, const ss_gen_params *p, char *err, size_t errlen);
// One scheduler step (see above). Returns the number of requests still queued or active
// (0: idle), or -1 + err on an error that is not a single request's (a request's own error makes it
// SS_REQ_FAILED and the engine goes on).
int  ss_engine_step(ss_engine *e, char *err, size_t errlen);
// Cancel a request: its sequences are freed now; unfinished candidates get SS_FINISH_CANCEL.
// 0, or -1 for an unknown id.
int  ss_engine_cancel(ss_engine *e, int id);
int  ss_engine_poll(const ss_engine *e, int id);  // enum ss_req_state, or -1 for an unknown id
// Take the result of a DONE or CANCELLED request (caller frees it with ss_gen_result_free) and
// forget the request; r == NULL just forgets it (also for a queued/running one: cancelled first).
// Returns 1 taken, 0 not finished yet (nothing done), -1 unknown id or FAILED (err has its message;
// the request is forgotten).
int  ss_engine_take(ss_engine *e, int id, ss_gen_result *r, char *err, size_t errlen);
void ss_engine_state_get(const ss_engine *e, ss_engine_state *s);

#ifdef __cplusplus
}
#endif
#endif
