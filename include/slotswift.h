// slotswift.h — the public C API of libslotswift (link: `pkg-config --cflags --libs slotswift`).
//
// Where a token goes (file names under src/, by layer: base -> kernels -> model -> text -> methods):
//   text  --ss_tokenize (text/vocab.c, pre-tokenizer text/vocab_pre.c)-->  token ids
//         [chat: ss_model_chat_render (text/chat.c) renders messages into the text first]
//   ids   --ss_batch_add-->  ss_batch (seq, pos, token, outputs)  --ss_decode (model/forward.c)-->
//         embedding -> n_layer x [RMSNorm, attention over the paged KV cache (model/kv.c),
//         RMSNorm, SwiGLU] (matrix products kernels/matmul.c, formats kernels/quant.c, SIMD leaves
//         kernels/x86/*_avx2.c) -> output RMSNorm -> (+ the sequence's SLOT delta, methods/slot.c)
//         -> LM head -> logits (ss_get_logits)
//   logits --ss_sampler_sample (methods/sampling.c)--> next token  --ss_detok_push (text/vocab.c)--> text
//   N candidates from one prompt: the step-wise engine (methods/engine.c, ss_engine_* below, with
//   ss_gen_run in methods/gen.c); best of them: ss_select_pick
//   (methods/select.c) with answers (methods/answer.c) or a SWIFT head (methods/swift.c).
//
// Conventions (the whole API):
//   - Errors: functions return 0 (or a count / length) on success and a negative value on error,
//     with a one-line message: constructors (and calls without a context) write it into a caller
//     buffer `char *err, size_t errlen` (may be NULL); calls on a context leave it in
//     ss_ctx_error(c). Functions returning a pointer return NULL on error.
//   - Caller buffers: a function that fills a caller buffer (out, cap) returns the FULL length it
//     needs (tokens or bytes, >= 0). When that exceeds cap, the call has no other effect (no state
//     is consumed; the buffer's contents are unspecified): call again with a buffer of the returned
//     length. Negative = error. (ss_tokenize, ss_token_to_piece, ss_detok_push, ss_detok_flush,
//     ss_model_meta_str.)
//   - Strings the library allocates (chat rendering, answers) are freed with ss_free.
//   - Out of memory is an error like any other (never an abort); the library never prints and
//     keeps no mutable global state: every tunable is a field of a parameter struct.
//   - Threads: a model (and its vocab) is read-only after loading and may be shared by any number
//     of contexts and threads; a context is used by one thread at a time.
//   - Types are plain C (ints, floats, pointers, fixed-size structs; handles are opaque), so the
//     API is usable from ctypes / other FFIs.
#ifndef SLOTSWIFT_H
#define SLOTSWIFT_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SS_API_VERSION 2   // 2: the generation API (ss_gen_*); ss_ctx_params (kv_type_k, kv_type_v), ss_slot_params (kl_max, safe, min_gain), ss_slot_result (kl, scale, steps_done), ss_swift_spec (conf), ss_swift_train_params (init, select) grew

// exported symbols of libslotswift.so (the library is built with -fvisibility=hidden)
#ifndef SS_API
#  if defined(__GNUC__) || defined(__clang__)
#    define SS_API __attribute__((visibility("default")))
#  else
#    define SS_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t ss_token;
typedef struct ss_model   ss_model;
typedef struct ss_ctx     ss_ctx;
typedef struct ss_vocab   ss_vocab;
typedef struct ss_sampler ss_sampler;

SS_API int  ss_api_version(void);          // SS_API_VERSION of the library that is linked
SS_API void ss_free(void *p);              // frees a string / array the library allocated

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

SS_API ss_model *ss_model_load(const char *path, char *err, size_t errlen);
SS_API void      ss_model_free(ss_model *m);
SS_API const ss_hparams *ss_model_hparams(const ss_model *m);
SS_API const char *ss_model_name(const ss_model *m);          // general.name or the file's basename
SS_API const char *ss_model_path(const ss_model *m);
SS_API const char *ss_model_arch_name(const ss_model *m);     // "llama" / "qwen2"
SS_API uint64_t    ss_model_file_size(const ss_model *m);     // bytes of the GGUF file
// fingerprint of the model's tensors (names, types, shapes, and a hash of the LM head data):
// a SWIFT head records it and refuses other models
SS_API uint64_t  ss_model_fingerprint(const ss_model *m);
// GGUF metadata of the model file: a string value (buffer convention above, the length counts the
// terminating NUL; -1 if the key is missing or not a string) and an integer (dflt if missing)
SS_API int     ss_model_meta_str(const ss_model *m, const char *key, char *buf, size_t cap);
SS_API int64_t ss_model_meta_int(const ss_model *m, const char *key, int64_t dflt);
// the model's tokenizer (owned by the model)
SS_API const ss_vocab *ss_model_vocab(const ss_model *m);

// ---------------------------------------------------------------- context
typedef struct {
    int   n_ctx;          // KV cache size in tokens over all sequences (0: min(n_ctx_train, 4096))
    int   n_seq_max;      // max live sequences (default 64)
    int   n_batch;        // max entries per ss_decode call (default 512)
    int   n_threads;      // <= 0: all cores
    int   kv_f16;         // store K/V as F16 (default 1, as llama.cpp; 0 = F32)
    int   force_scalar;   // 1: the scalar reference kernels even where the CPU has SIMD ones (default 0)
    int   kv_type_k;      // K cache type (SS_KV_*; SS_KV_DEFAULT: F16, or F32 when kv_f16 = 0)
    int   kv_type_v;      // V cache type (the same)
} ss_ctx_params;
// KV cache types (llama.cpp's -ctk / -ctv): Q8_0 = 34 bytes per 32 values (about half of F16's
// memory), needs a head dim that is a multiple of 32
enum { SS_KV_DEFAULT = 0, SS_KV_F32 = 1, SS_KV_F16 = 2, SS_KV_Q8_0 = 3 };

SS_API void    ss_ctx_params_default(ss_ctx_params *p);
SS_API ss_ctx *ss_ctx_new(ss_model *m, const ss_ctx_params *p, char *err, size_t errlen);
SS_API void    ss_ctx_free(ss_ctx *c);
SS_API const char *ss_ctx_error(const ss_ctx *c);              // message of the last failed call
SS_API const ss_model *ss_ctx_model(const ss_ctx *c);
SS_API int     ss_ctx_n_ctx(const ss_ctx *c);
SS_API int     ss_ctx_n_threads(const ss_ctx *c);              // worker threads actually used
SS_API const ss_ctx_params *ss_ctx_get_params(const ss_ctx *c); // as resolved (defaults filled in)

// ---------------------------------------------------------------- sequences
// A sequence is an independent token stream with its own KV entries. A fork shares the parent's
// KV cache pages (copy-on-write, no copy of the prompt) and inherits its SLOT delta.
SS_API int  ss_seq_new(ss_ctx *c);                  // new empty sequence id, or -1 (too many)
SS_API int  ss_seq_fork(ss_ctx *c, int seq);        // new sequence that continues `seq`'s tokens
SS_API void ss_seq_free(ss_ctx *c, int seq);
SS_API int  ss_seq_len(const ss_ctx *c, int seq);   // tokens in the cache (= next position)
// per-sequence vector added to the final hidden state (after the output norm) before the LM head;
// NULL clears it. delta has n_embd floats (copied).
SS_API int  ss_seq_set_delta(ss_ctx *c, int seq, const float *delta);
SS_API const float *ss_seq_delta(const ss_ctx *c, int seq);   // NULL when none
SS_API int  ss_kv_pages_used(const ss_ctx *c);
SS_API int  ss_kv_pages_total(const ss_ctx *c);

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
    int       cap;          // allocated entries (0 after a failed ss_batch_new: out of memory)
    int32_t  *seq;          // sequence id
    int32_t  *pos;          // position (must equal ss_seq_len at that point: tokens of one sequence in order)
    ss_token *tok;
    uint8_t  *out;          // enum ss_out_flags
} ss_batch;

SS_API ss_batch ss_batch_new(int cap);
SS_API void     ss_batch_free(ss_batch *b);
SS_API void     ss_batch_clear(ss_batch *b);
// append an entry (the arrays grow as needed); 0, or -1 when out of memory
SS_API int      ss_batch_add(ss_batch *b, int seq, int pos, ss_token tok, int out_flags);

// Layers to capture with SS_OUT_LAYERS, numbered as Hugging Face's output_hidden_states:
// 0 = embedding output, i = output of block i (1..n_layer-1), n_layer = the final normed state.
// layers == NULL / n == 0: none. norm: apply the final RMSNorm to each captured layer (not to 0..n_layer-1 otherwise).
SS_API int  ss_ctx_set_layers(ss_ctx *c, const int *layers, int n, bool norm);
SS_API int  ss_ctx_layers_dim(const ss_ctx *c);      // n * n_embd

// Run the forward pass for every entry (appends their K/V to the sequences' caches).
// Returns 0, or -1 with ss_ctx_error() set (bad sequence, position, token, cache full: the
// cache is left as before the call).
SS_API int  ss_decode(ss_ctx *c, const ss_batch *b);
// outputs of entry i of the last ss_decode (NULL if not requested)
SS_API const float *ss_get_logits(const ss_ctx *c, int i);
SS_API const float *ss_get_hidden(const ss_ctx *c, int i);
SS_API const float *ss_get_layers(const ss_ctx *c, int i);   // ss_ctx_layers_dim floats, layers in the order given
// logits[n, n_vocab] = x[n, n_embd] · W^T with the model's LM head (e.g. hidden rows + a SLOT delta);
// 0 or -1 + ss_ctx_error
SS_API int  ss_lm_head(ss_ctx *c, const float *x, int n, float *logits);

// ---------------------------------------------------------------- tokenizer
enum ss_vocab_kind { SS_VOCAB_SPM = 1, SS_VOCAB_BPE = 2 };

// only the tokenizer of a GGUF file (no weights are read); free with ss_vocab_free
SS_API ss_vocab   *ss_vocab_load_file(const char *path, char *err, size_t errlen);
SS_API void        ss_vocab_free(ss_vocab *v);
SS_API int         ss_vocab_n_tokens(const ss_vocab *v);
SS_API int         ss_vocab_kind(const ss_vocab *v);               // enum ss_vocab_kind
SS_API const char *ss_vocab_model_name(const ss_vocab *v);         // "gpt2" / "llama"
SS_API const char *ss_vocab_pre_name(const ss_vocab *v);           // tokenizer.ggml.pre or "default"
SS_API ss_token    ss_vocab_bos(const ss_vocab *v);                // -1 if none
SS_API ss_token    ss_vocab_eos(const ss_vocab *v);                // -1 if none
SS_API ss_token    ss_vocab_eot(const ss_vocab *v);                // end-of-turn (<|im_end|>, <|eot_id|>, ...), -1 if none
SS_API bool        ss_vocab_add_bos(const ss_vocab *v);            // the model's default BOS handling
SS_API bool        ss_vocab_add_eos(const ss_vocab *v);            // tokenizer.ggml.add_eos_token (never added by ss_tokenize)
SS_API bool        ss_vocab_is_eog(const ss_vocab *v, ss_token id);   // ends generation: eos, eot, <|im_end|>, ...
SS_API bool        ss_vocab_is_control(const ss_vocab *v, ss_token id);
SS_API const char *ss_vocab_token_text(const ss_vocab *v, ss_token id);  // raw vocab string; NULL if out of range
SS_API ss_token    ss_vocab_find(const ss_vocab *v, const char *text);   // exact token text -> id, or -1

// Tokenize text[0..len). add_bos: prepend BOS (pass ss_vocab_add_bos(v) for the model's default);
// parse_special: control token texts written in the text are those tokens (user-defined tokens
// are always matched, as llama.cpp does). Invalid UTF-8 never fails: BPE reads an invalid byte
// as U+FFFD, SPM gives it its <0xXX> byte token. Returns the token count (buffer convention),
// or -1 when out of memory.
SS_API int ss_tokenize(const ss_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special,
                       ss_token *out, int cap);
// A prompt as llama.cpp tokenizes it: control tokens parsed and the model's default BOS, not added
// a second time when the text already starts with the BOS text (a chat template printed it).
SS_API int ss_tokenize_prompt(const ss_vocab *v, const char *text, ss_token *out, int cap);

// The bytes a token stands for (byte-level decoded / U+2581 -> ' ' / <0xXX> -> byte). Control
// tokens give their text when render_special, else nothing. Returns the byte count (buffer
// convention; no NUL is written); 0 for an id out of range.
SS_API int ss_token_to_piece(const ss_vocab *v, ss_token id, char *buf, int cap, bool render_special);

// Streaming detokenizer: holds back incomplete UTF-8 sequences so a stream never prints half a
// character. Control tokens print nothing (use ss_token_to_piece to show them).
// A zero-initialized ss_detok continues a text (every piece verbatim: use it for generated tokens).
// ss_detok_begin() starts a text from its first token as llama.cpp's llama_detokenize does: for SPM
// vocabs (add_space_prefix) one leading space of the first token's piece is dropped, so detokenizing
// ss_tokenize(text, add_bos = false) gives back `text`; when the first token is BOS it consumes
// that rule and the space of the next piece stays (as llama.cpp).
typedef struct { char pending[8]; int n_pending; int lstrip; } ss_detok;
SS_API void ss_detok_begin(ss_detok *d, const ss_vocab *v);
// Bytes of `id` that complete characters: written to out, count returned. Buffer convention: when
// the result would not fit (it needs at most 4 + piece bytes), nothing is consumed and the needed
// size (> cap) is returned.
SS_API int  ss_detok_push(ss_detok *d, const ss_vocab *v, ss_token id, char *out, int cap);
SS_API int  ss_detok_flush(ss_detok *d, char *out, int cap);   // remaining bytes at end of stream

// ---------------------------------------------------------------- chat templates
// A model's tokenizer.chat_template (Jinja source) is recognised as one of these families and
// rendered byte-exactly as the Jinja template would (Hugging Face settings).
enum ss_chat_family {
    SS_CHAT_UNKNOWN = 0,
    SS_CHAT_CHATML,        // <|im_start|>role\n...<|im_end|>\n  (Qwen2/2.5: default system prompt)
    SS_CHAT_LLAMA3,        // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
    SS_CHAT_LLAMA2,        // [INST] <<SYS>> ... [/INST]
    SS_CHAT_MISTRAL,       // [INST] ... [/INST] (v3 / Nemo style)
    SS_CHAT_GEMMA,         // <start_of_turn>user\n...<end_of_turn>\n
    SS_CHAT_PHI3,          // <|user|>\n...<|end|>\n<|assistant|>\n
    SS_CHAT_DEEPSEEK_R1,   // <｜User｜>...<｜Assistant｜>
};

typedef struct { const char *role; const char *content; } ss_chat_msg;

SS_API int         ss_chat_detect(const char *tmpl_src);         // family of a Jinja source (NULL -> UNKNOWN)
SS_API const char *ss_chat_family_name(int family);              // "chatml", "llama3", ... / "unknown"
SS_API int         ss_chat_family_from_name(const char *name);   // inverse; SS_CHAT_UNKNOWN if unknown
// the detected variant ("qwen2.5", "chatml", "llama3.1", "mistral-nemo", ...) or NULL when unknown
SS_API const char *ss_chat_detect_variant(const char *tmpl_src);

// Render msgs (+ the assistant generation prompt when add_gen) as the family's template does.
// bos/eos: the model's BOS/EOS token texts (templates that print bos_token use them).
// Conversations accepted: an optional system message first, then user/assistant alternating,
// starting with user. If tmpl_src is NULL or not of `family`, the family's reference template is
// used. Returns a string (ss_free), or NULL + err (unknown family, bad role order, ...).
SS_API char *ss_chat_render(int family, const char *tmpl_src, const ss_chat_msg *msgs, int n_msgs,
                            bool add_gen, const char *bos, const char *eos, char *err, size_t errlen);
// the model's own template: its family (SS_CHAT_UNKNOWN when it has none or it is not recognised)
SS_API int   ss_model_chat_family(const ss_model *m);
SS_API const char *ss_model_chat_template(const ss_model *m);   // Jinja source or NULL
// Render with the model's template (family 0) or the named family's reference template, with the
// model's BOS/EOS texts. The text may start with BOS: tokenize it with ss_tokenize_prompt.
SS_API char *ss_model_chat_render(const ss_model *m, int family, const ss_chat_msg *msgs, int n_msgs,
                                  bool add_gen, char *err, size_t errlen);

// ---------------------------------------------------------------- sampling
// Order (llama.cpp's default chain): penalties -> top-k -> top-p -> min-p -> temperature -> draw.
typedef struct {
    float    temp;            // 0 = greedy (argmax)
    int      top_k;           // <= 0: off
    float    top_p;           // 1.0: off
    float    min_p;           // 0: off
    float    repeat_penalty;  // 1.0: off (applied to the last repeat_last_n tokens)
    int      repeat_last_n;   // 64
    float    presence_penalty, frequency_penalty;  // 0: off
    uint64_t seed;
} ss_sampling_params;

SS_API void ss_sampling_params_default(ss_sampling_params *p);  // temp 0.8, top_k 40, top_p 0.95, min_p 0.05, rp 1.0, seed 0

// NULL when n_vocab <= 0 or out of memory. Values that switch a stage off are normalised:
// repeat_penalty <= 0 / NaN -> 1, top_p >= 1 / NaN -> 1, min_p <= 0 / NaN -> 0, temp NaN -> 0.
SS_API ss_sampler *ss_sampler_new(const ss_sampling_params *p, int n_vocab);
SS_API void        ss_sampler_free(ss_sampler *s);
SS_API void        ss_sampler_reseed(ss_sampler *s, uint64_t seed);
// the token history the penalties see (call for every accepted token, prompt included if wanted)
SS_API void        ss_sampler_accept(ss_sampler *s, ss_token tok);
SS_API void        ss_sampler_reset(ss_sampler *s);   // forget the history and restart the RNG at the seed
// pick a token from logits[n_vocab] (logits are not modified); *logprob (optional) receives
// log softmax(raw logits)[tok] — the model's own log-probability, before any transformation.
SS_API ss_token    ss_sampler_sample(ss_sampler *s, const float *logits, float *logprob);
SS_API ss_token    ss_argmax(const float *x, int n);   // first maximum (lowest id); NaN ignored
// The distribution the next ss_sampler_sample would draw from (all transformations applied):
// writes up to `max` (token id, probability) pairs in draw order; returns the number of
// candidates. temp <= 0: the single argmax with probability 1. Does not advance the RNG.
SS_API int         ss_sampler_dist(ss_sampler *s, const float *logits, ss_token *ids, float *probs, int max);

// random numbers (the samplers' generator): xoshiro256** seeded through splitmix64
typedef struct { uint64_t s[4]; } ss_rng;
SS_API uint64_t ss_splitmix64(uint64_t *state);       // advance *state, return 64 random bits
SS_API void     ss_rng_seed(ss_rng *r, uint64_t seed);
SS_API uint64_t ss_rng_u64(ss_rng *r);
SS_API double   ss_rng_uniform(ss_rng *r);            // [0,1)

// ---------------------------------------------------------------- SLOT
// SLOT (arXiv 2505.12392): one vector delta[n_embd] added to a sequence's final hidden states,
// optimized with AdamW (PyTorch's definition) so that the prompt predicts itself better:
//   logits_t = (h_t + delta) · W^T      loss = mean_{t in S} CE(logits_t, tokens[t+1])
// S = positions 0..T-2, optionally masked. Set the result on a sequence with ss_seq_set_delta.
struct ss_slot_ws;
struct ss_kernels;
typedef struct {
    int   steps;          // default 3 (0 = SLOT off where a caller treats it as an option)
    float lr;             // 0.1
    float beta1, beta2;   // 0.9, 0.999
    float eps;            // 1e-5
    float wd;             // 1e-8 (decoupled: delta *= 1 - lr*wd before the Adam update)
    bool  no_loss_after;  // true: skip the loss at the final delta (res->loss_after = NAN; ~5% faster)
    // bound on the logits z[T, n_vocab] (f32) kept between steps (0: 256 MB); beyond it, positions
    // are processed in chunks and z is recomputed chunk by chunk at every step
    size_t max_bytes;
    // SLOT keeps E = exp(z_t - max_v z_t) instead of z until max_v u - min_v u (u = W·delta) exceeds
    // this range (0: 40); negative: never (z kept from the start)
    float e_range;
    struct ss_slot_ws *ws;           // library-internal storage: leave NULL (ss_slot_run uses the context's)
    const struct ss_kernels *kern;   // library-internal kernel table: leave NULL (ss_slot_run uses the context's)
    // Trust region (safe SLOT; off by default, where SLOT is exactly the reference's AdamW): with
    // p_t = softmax(z_t) at delta = 0 and q_t at delta, for each loss position t
    //   KL(p_t || q_t) = lse(z_t + u) - lse(z_t) - sum_v p_t[v] u[v]      u = W·delta
    // After each AdamW step from delta_prev to delta_prev + D, if mean_t KL > kl_max the step is
    // backtracked: delta = delta_prev + s·D with s = 1/2, 1/4, ... (at most SS_SLOT_MAX_BACKTRACK
    // halvings, then s = 0) until mean KL <= kl_max. AdamW's moments keep the gradients as computed
    // (at the delta actually used); only the update is scaled. So mean KL never exceeds kl_max.
    float kl_max;         // 0 = off; > 0: the bound
    bool  safe;           // kl_max 0 and safe: kl_max = SS_SLOT_SAFE_KL_MAX (the recommended bound)
    // stop before step k >= 2 when loss_{k-1} - loss_k < min_gain·|loss_{k-1}| (0 = off): the loss at
    // the delta reached (loss_k) is then the final loss, and fewer than `steps` steps are done
    float min_gain;
} ss_slot_params;

#define SS_SLOT_SAFE_KL_MAX 0.05f   // the bound of `safe` (chosen on tuning problems, README)
#define SS_SLOT_MAX_BACKTRACK 12    // halvings of a step before it is dropped (s = 0)

SS_API void ss_slot_params_default(ss_slot_params *p);

typedef struct {
    float  *loss_before;  // caller's [steps] floats (or NULL): the loss before each update (per-step report)
    float   loss_after;   // loss at the final delta (NAN with no_loss_after)
    double  seconds;
    size_t  peak_bytes;   // SLOT's own extra memory at its peak
    // per-step report, caller's [steps] floats each (or NULL); entries past steps_done untouched
    float  *kl;           // mean KL(p||q) at the delta after each step (NAN: not evaluated, i.e. the
                          // last step of a run without kl_max and with no_loss_after)
    float  *scale;        // the step scale s used (1 without kl_max)
    int     steps_done;   // steps taken (< steps when min_gain stopped the run)
} ss_slot_result;

// Optimize delta[n_embd] (output; starts from zero) for H[T, n_embd] (final hidden rows after the
// output norm, as SS_OUT_HIDDEN gives them) and tokens[T], with the context's model (LM head) and
// threads. mask: NULL = every position 0..T-2; else mask[t] != 0 selects position t (predicting
// tokens[t+1]). Returns 0, or -1 + ss_ctx_error (T < 2, no position selected, bad token, ...).
SS_API int ss_slot_run(ss_ctx *c, const ss_slot_params *p, const float *H, int T, const ss_token *tokens,
                       const uint8_t *mask, float *delta, ss_slot_result *res);

// ---------------------------------------------------------------- SWIFT
// SWIFT (arXiv 2505.12225): a linear reward head over hidden-state features of response tokens.
//   [g_t, r_t] = W x_t + b        W: [2, F], x_t: features of response token t
//   R = sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)      (no_gate: mean_t r_t)

// which features a head reads
typedef struct {
    char   layers[256];   // spec as given: "all", "last4", "12,16,20,24", or "logits"
    int    n_layers;      // resolved list (HF numbering, see ss_ctx_set_layers)
    int    layer[256];
    bool   norm;          // final norm applied to each layer
    bool   logits;        // features are the logits
    int    dim;           // feature dimension F (the layers' or logits' values, + 2 with conf)
    // confidence features (swift-conf): two more values per token after the layers' (or logits'):
    // the sampled token's log-probability and the entropy -sum_v p_v log p_v of the raw model
    // distribution it was drawn from (natural log; the distribution logprob_mean uses)
    bool   conf;
} ss_swift_spec;
#define SS_SWIFT_CONF_DIM 2

// resolve a layer spec for a model with n_layer blocks and n_embd, n_vocab; -1 + err if bad
// (conf false: set it with ss_swift_spec_set_conf)
SS_API int ss_swift_spec_parse(ss_swift_spec *s, const char *spec, bool norm, bool logits,
                               int n_layer, int n_embd, int n_vocab, char *err, size_t errlen);
// add (conf true) or remove the confidence features; dim follows
SS_API void ss_swift_spec_set_conf(ss_swift_spec *s, bool conf);

// a head: caller-owned struct, weights allocated by ss_swift_head_init / _load, freed by _free
typedef struct ss_swift_head {
    ss_swift_spec spec;
    int     dim;
    float  *W;            // [2, dim]: row 0 = gate, row 1 = reward
    float   b[2];
    bool    no_gate;
    // provenance (written into / read from the head file)
    char    model_name[256];
    uint64_t model_fingerprint;
    char    train_info[2048];   // JSON text: data dir, loss, lr, wd, epochs, best epoch, seed, ...
    char    val_metrics[1024];  // JSON text: val loss, accuracy, ...
} ss_swift_head;

// zero weights for spec; 0 or -1 (out of memory)
SS_API int  ss_swift_head_init(ss_swift_head *h, const ss_swift_spec *spec);
SS_API void ss_swift_head_free(ss_swift_head *h);     // frees W (the struct is the caller's)
// head file: a small GGUF (tensors swift.W [dim,2] F32, swift.b [2] F32; keys swift.*); atomic write
SS_API int  ss_swift_head_save(const ss_swift_head *h, const char *path, char *err, size_t errlen);
SS_API int  ss_swift_head_load(ss_swift_head *h, const char *path, char *err, size_t errlen);
// 0 if the head was trained for this model (same fingerprint; its layer spec resolves to the same
// layers and dimension for these shapes), else -1 with a one-line error naming both models.
SS_API int  ss_swift_head_check_model(const ss_swift_head *h, const char *model_name, uint64_t fingerprint,
                                      int n_layer, int n_embd, int n_vocab, char *err, size_t errlen);
// the same check against a loaded model
SS_API int  ss_model_check_head(const ss_model *m, const ss_swift_head *h, char *err, size_t errlen);

// running reward: add one token's features at a time; the reward is available at every token
typedef struct { double sum_gr, sum_g, sum_r; int n; } ss_swift_acc;
SS_API void  ss_swift_acc_reset(ss_swift_acc *a);
SS_API void  ss_swift_acc_add(ss_swift_acc *a, const ss_swift_head *h, const float *x);
SS_API float ss_swift_acc_reward(const ss_swift_acc *a, const ss_swift_head *h);
// batch formula over a whole response X[T, dim] (the definition; tests compare the two)
SS_API float ss_swift_reward(const ss_swift_head *h, const float *X, int T);

// ---- training (BCE / hinge / pairwise, AdamW, validation split by question, early stopping) ----
typedef struct {
    const void *X;        // [T, dim] features, F32 or F16 (x_f16)
    bool   x_f16;
    int    T;
    float  label;         // 1 correct, 0 wrong
    int    question;      // for the split and pairwise loss
} ss_swift_example;

enum ss_swift_loss { SS_SWIFT_BCE = 0, SS_SWIFT_HINGE = 1, SS_SWIFT_PAIRWISE = 2 };
// the starting point: nn.Linear's uniform init, or the confidence solution (needs spec.conf): gate
// W_g = 0, b_g = 0 (a constant gate), W_r = e_logprob, b_r = 0, so R = the mean token log-probability
// (what `--select logprob` ranks by); its weight decay pulls toward that init instead of toward 0
enum ss_swift_init { SS_SWIFT_INIT_UNIFORM = 0, SS_SWIFT_INIT_CONF = 1 };
// the epoch kept: lowest validation loss, or highest validation best-of-N accuracy (the mean label of
// each held-out question's highest-reward candidate; epoch 0 = the init is a candidate; ties keep the
// earlier epoch)
enum ss_swift_select { SS_SWIFT_SELECT_LOSS = 0, SS_SWIFT_SELECT_BON = 1 };

typedef struct {
    int   loss;           // enum ss_swift_loss
    float lr, wd;         // 1e-4, 1e-5 (AdamW, betas 0.9/0.999, eps 1e-8)
    int   epochs;         // 40 (0: the init itself)
    float val_frac;       // 0.2 (split by question)
    int   patience;       // 3
    uint64_t seed;
    int   batch;          // examples per step (default 16)
    bool  no_gate;
    bool  standardize;    // train on z-scored features (stats of the training split), folded back into W, b
    // optional reports (the library prints nothing): after every epoch (val_* are NAN without a
    // validation set) ...
    void (*on_epoch)(void *ud, int epoch, double train_loss, double train_acc, double val_loss, double val_acc);
    void *on_epoch_ud;
    // ... after every optimizer step (done of total steps over all epochs) ...
    void (*on_step)(void *ud, int epoch, long done, long total);
    // ... and one-line notes (data summary, early stop, best-of-N on the validation questions)
    void (*on_note)(void *ud, const char *line);
    void *ud;             // for on_step and on_note
    // (API version 2: fields added at the end, as the structs' rule is)
    int   init;           // enum ss_swift_init (default uniform)
    int   select;         // enum ss_swift_select (default loss)
} ss_swift_train_params;

SS_API void ss_swift_train_params_default(ss_swift_train_params *p);
// "bce" / "hinge" / "pairwise" <-> enum ss_swift_loss; -1 / NULL when unknown
SS_API int         ss_swift_loss_parse(const char *name);
SS_API const char *ss_swift_loss_name(int loss);

typedef struct {
    int    best_epoch, epochs_run;                     // 1-based
    // at the best epoch: train_* are the running means over that epoch's steps, val_* are
    // computed after the epoch (NAN without validation data)
    double train_loss, val_loss, train_acc, val_acc;
} ss_swift_train_result;

// the validation split used by ss_swift_train (distinct question ids shuffled by seed; the first
// round(val_frac * n_questions) are validation). Fills is_val[n]; returns the number of val questions
// (-1 when out of memory).
SS_API int ss_swift_split(const ss_swift_example *ex, int n, float val_frac, uint64_t seed, bool *is_val);
// Train h (initialised with its spec) on ex[n]: weights initialised from the seed like torch's
// nn.Linear, the best validation epoch's weights kept; fills h->train_info / val_metrics.
SS_API int ss_swift_train(ss_swift_head *h, const ss_swift_example *ex, int n, const ss_swift_train_params *p,
                          ss_swift_train_result *res, char *err, size_t errlen);
// loss over examples (and gradient wrt W,b if gW/gb non-NULL; NAN when out of memory) — for the
// finite-difference test
SS_API double ss_swift_loss_grad(const ss_swift_head *h, const ss_swift_example *ex, int n, int loss,
                                 float *gW, float *gb);
// combining with an external score per candidate: "ranking" (a candidate's combined rank is the
// worse of its two ranks, ties broken by swift), "scaling" (min-max normalise both, average) or
// "swift" (swift alone). Returns the chosen index.
SS_API int ss_swift_combine(const float *swift, const float *ext, int n, const char *method);

// ---------------------------------------------------------------- answers (GSM8K / MATH)
// The answer in a response: the content of the last \boxed{...} (balanced braces) if any, else the
// last number (commas inside digits allowed, optional sign/decimals). String (ss_free), or NULL when
// there is none (or out of memory; ss_answer_equal / _number then answer false).
SS_API char *ss_answer_extract(const char *text);
// The reference answer of a GSM8K row's answer field ("... #### N" -> "N"), or NULL.
SS_API char *ss_answer_reference_gsm8k(const char *answer_field);
// Equal as answers: numerically when both parse as numbers ("1,000" == "1000.0" == "$1000",
// "3/4" == "0.75" == "\frac{3}{4}", "50\%" == "50"; within 1e-6 relative and 0.005 absolute),
// else as strings after normalising whitespace, \left, \right, \!, \text{...} and surrounding $.
SS_API bool  ss_answer_equal(const char *a, const char *b);
// parse a number with the rules above; false if `s` is not a number
SS_API bool  ss_answer_number(const char *s, double *out);
// the numeric half of ss_answer_equal: two answers that parse as numbers x, y are equal iff this
// holds (within 1e-6 relative and 0.005 absolute); a number never equals a non-number
SS_API bool  ss_answer_number_equal(double x, double y);

// ---------------------------------------------------------------- Best-of-N selection
enum ss_select {
    SS_SELECT_FIRST = 0,    // candidate idx[0]
    SS_SELECT_VOTE = 1,     // self-consistency: the answer shared by most candidates (ties: the one
                            // that appears first), its first candidate; no answer at all -> idx[0]
    SS_SELECT_LOGPROB = 2,  // the highest mean token log-probability (first on ties)
    SS_SELECT_SWIFT = 3,    // the highest SWIFT reward (first on ties)
};
SS_API int         ss_select_parse(const char *name);   // "first" / "vote" / "logprob" / "swift"; -1 if unknown
SS_API const char *ss_select_name(int method);          // "?" if unknown

// votes[i] = how many of the n candidates have an answer equal (ss_answer_equal) to candidate
// i's (0 when answers[i] is NULL)
SS_API void ss_select_votes(const char *const *answers, int n, int *votes);
// The chosen candidate among idx[0..k) (idx NULL: 0..k-1) of arrays indexed by candidate:
// answers (vote; NULL entries = no answer), logprob_mean (logprob), swift (swift); arrays the
// method does not read may be NULL. Returns the candidate index, or -1 if k < 1 or an array the
// method needs is NULL.
SS_API int  ss_select_pick(int method, const char *const *answers, const double *logprob_mean,
                           const float *swift, const int *idx, int k);
// The confidence-weighted vote over n candidates (adaptive sampling with adaptive_margin): candidate i
// weighs w_i = exp(gamma * logprob_mean[i]) (its geometric-mean token probability to the power gamma;
// 0 without an answer or with logprob_mean -inf/NaN), an answer class the sum of its candidates'
// weights. Returns the first candidate of the heaviest class (ties: the class whose first candidate
// comes first), *margin (may be NULL) = its weight minus the next heaviest class's (0 when none);
// -1 and *margin 0 when no candidate has an answer, or on bad arguments / out of memory.
SS_API int  ss_select_weighted_vote(const char *const *answers, const double *logprob_mean, int n,
                                    double gamma, double *margin);


// ---------------------------------------------------------------- generation
// N candidates from one prompt: prefill the prompt once, optionally run SLOT on its hidden states
// (the delta then applies to every candidate), fork into N candidates that share the prompt's KV
// pages and decode together in one batch per step, sample (candidate i draws with seed samp.seed + i),
// stop (end-of-generation token, stop string, n_predict, context end), and optionally capture the
// SWIFT features of every generated token (the end-of-generation token is fed once more for its
// features) for a head's reward. The same parameters and seed give the same tokens, text,
// log-probabilities and SLOT losses whatever else runs beside them (see the engine below).
//
// Both structs are plain C (usable from FFIs). Always start from ss_gen_params_default(): fields
// may be added (at the end, with defaults that keep today's behaviour) in a later API version.

// Per-token callback (ss_gen_params.on_token): candidate `cand` of request `req` (0 in ss_gen_run,
// the prompt's index in ss_gen_run_multi, the engine's request id in ss_engine_*) sampled `tok`
// with log-probability `logprob`; piece[0..n) is the text it completed (may be empty, e.g. inside
// a UTF-8 character or a partial stop string; not NUL-terminated). Non-zero return cancels the
// whole request (its candidates finish with SS_FINISH_CANCEL; ss_gen_run still returns 0).
typedef int (*ss_token_cb)(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float logprob);

typedef struct ss_gen_params {
    int   n_predict;                  // max new tokens per candidate (default 256; 0: none)
    int   n_cand;                     // N candidates (default 1 = plain generation)
    bool  ignore_eos;                 // do not stop at end-of-generation tokens
    const char *const *stops; int n_stops;   // stop strings (cut off the text when matched)
    ss_sampling_params samp;          // candidate i draws with seed samp.seed + i
    ss_slot_params slot;              // SLOT on the prompt; slot.steps 0 = off (the default)
    const uint8_t *slot_mask;         // [prompt length]: positions SLOT's loss counts; NULL = all
    const ss_swift_spec *feat;        // features to capture (NULL = none)
    const ss_swift_head *head;        // reward head (needs feat = &head->spec)
    bool  keep_features;              // keep each candidate's feature rows (ss_gen_cand.features)
    bool  features_f16;               // ... stored as F16
    void (*on_piece)(void *ud, int cand, const char *s, int n);   // streaming text (s[0..n))
    ss_token_cb on_token;             // per sampled token; non-zero return cancels
    void *ud;                         // for on_piece, on_token and on_logits
    void (*on_logits)(void *ud, int cand, const float *logits);  // raw logits[n_vocab] each token is sampled from
    bool  early_stop;                 // exact early stop of the vote: once the finished candidates'
                                      // answers decide the majority, the others stop (ss_gen_cand.stopped)
    // adaptive sampling (vote; after Adaptive-Consistency and Early-Stopping Self-Consistency): the
    // first `adaptive` candidates start (0 = off: all N at once), later waves of max(1, n/2) more are
    // forked from the prompt, up to n_cand. When a wave is done (n started, the leading answer with a
    // votes, the second with b), sampling stops when (1) the vote over all n_cand is decided whatever
    // the others would answer, or (2) P(Binomial(a+b+1, 1/2) <= a) (the Beta(a+1, b+1) posterior that
    // the leader beats the runner-up) > adaptive_conf and a >= adaptive_agree * n, or (3) a > b and a
    // candidate with the leading answer has a geometric-mean token probability > adaptive_tokp, or
    // (4, adaptive_margin > 0) in the confidence-weighted vote (ss_select_weighted_vote, weights
    // exp(adaptive_gamma * logprob_mean)) the heaviest answer outweighs the next by > adaptive_margin;
    // with (4) the selected answer is that weighted vote's (the caller picks with
    // ss_select_weighted_vote; bon and eval do).
    // Candidates never started are stopped (no tokens). Candidate i still samples with seed + i.
    int   adaptive;
    float adaptive_agree;             // [0, 1]; 0: no share needed (the default)
    float adaptive_conf;              // [0, 1]; 0: SS_ADAPTIVE_CONF (1: rule 2 off)
    float adaptive_tokp;              // [0, 1]; 0: SS_ADAPTIVE_TOKP (1: rule 3 off)
    float adaptive_margin;            // >= 0; 0: rule 4 off and the plain vote (the default)
    float adaptive_gamma;             // > 0 with a margin; 0: SS_ADAPTIVE_GAMMA
} ss_gen_params;
#define SS_ADAPTIVE_WAVE 1
#define SS_ADAPTIVE_CONF 0.9f
#define SS_ADAPTIVE_TOKP 0.95f   // (chosen on swift_train.jsonl problems: README "Adaptive sampling")
#define SS_ADAPTIVE_GAMMA 24.0f  // the weighted vote's exponent (chosen the same way)

SS_API void ss_gen_params_default(ss_gen_params *p);

enum ss_finish { SS_FINISH_LENGTH = 0, SS_FINISH_EOG = 1, SS_FINISH_STOP = 2, SS_FINISH_CTX = 3, SS_FINISH_CANCEL = 4 };

typedef struct {
    char    *text;                    // generated text, NUL-terminated (a matched stop string is cut off)
    int32_t *tokens; int n_tokens;    // sampled tokens (incl. the end-of-generation token)
    float   *logprobs;                // [n_tokens] log p(token) under the raw model distribution
    double   logprob_sum;             // Σ logprobs (in double, in token order)
    float    logprob_min;             // min of logprobs (0 if none)
    int      finish;                  // enum ss_finish
    float    swift;                   // reward (head given)
    void    *features; int n_feat_rows;   // [n_feat_rows, dim] F32 or F16 (keep_features)
    bool     stopped;                 // stopped by early_stop / adaptive (finish SS_FINISH_CANCEL; text partial)
} ss_gen_cand;

typedef struct ss_gen_result {
    int      n_prompt;                // prompt tokens
    ss_gen_cand *cand; int n_cand;
    double   t_prompt, t_slot, t_gen, t_swift;   // seconds
    int      n_gen_tokens;            // tokens decoded after the prompt (all candidates)
    float   *slot_losses;             // [slot.steps] SLOT's loss before each step (NULL without SLOT)
    float    slot_loss_after;         // loss at the final delta (NAN with slot.no_loss_after)
    size_t   slot_peak_bytes;
    int      n_reused;                // prompt tokens whose KV came from the engine's prefix cache
    float   *slot_kl, *slot_scale;    // [slot.steps] mean KL after each step, step scale (one block with slot_losses)
    int      slot_steps;              // SLOT steps done (< slot.steps when slot.min_gain stopped it)
} ss_gen_result;

// Generate from prompt[0..n_prompt) on fresh sequences of c (freed before returning). Fills *r
// (free it with ss_gen_result_free, also after an error). Returns 0, or -1 + err (empty prompt or
// prompt over the context, bad parameters, out of memory, ...). Callbacks run on the calling thread.
SS_API int  ss_gen_run(ss_ctx *c, const ss_token *prompt, int n_prompt, const ss_gen_params *p,
                       ss_gen_result *r, char *err, size_t errlen);
// P prompts at once: their prefills share batches, each gets its own SLOT delta, and all their
// candidates decode together. params[q] may differ per prompt (seed, N, SLOT, mask) except the
// captured features. Timings in each result are those of the whole run; n_gen_tokens counts all
// prompts' tokens. Same results as running each prompt alone. res[0..P) as in ss_gen_run.
SS_API int  ss_gen_run_multi(ss_ctx *c, int P, const ss_token *const *prompts, const int *lens,
                             const ss_gen_params *const *params, ss_gen_result *res, char *err, size_t errlen);
SS_API void ss_gen_result_free(ss_gen_result *r);   // frees what *r holds and zeroes it

// ---------------------------------------------------------------- step-wise engine
// The scheduler that generation runs on (ss_gen_run, the CLI, the server): requests join and
// leave one running batch at every step. One ss_engine_step does, for every admitted request,
//   (a) one chunk of prompt prefill (at most prefill_chunk prompt tokens per step, all requests;
//       a prompt whose prefill ends in the chunk and that has no SLOT gets its first token too),
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
typedef struct ss_engine ss_engine;

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

SS_API void       ss_engine_params_default(ss_engine_params *p);
// The engine uses c (its sequences, captured layers and SLOT workspace) exclusively until freed.
SS_API ss_engine *ss_engine_new(ss_ctx *c, const ss_engine_params *p, char *err, size_t errlen);
SS_API void       ss_engine_free(ss_engine *e);         // cancels everything, frees every sequence it made
// Queue a request: prompt[0..n) (copied), n_cand candidates etc. from *p (copied; pointers inside
// it, e.g. stops, slot_mask, feat, head, callbacks' ud, must stay valid until the result is taken).
// Returns the request id (>= 0), or -1 + err: empty prompt or prompt over the context, bad
// parameters, more candidates than max_running, queue full.
SS_API int  ss_engine_submit(ss_engine *e, const ss_token *prompt, int n, const ss_gen_params *p, char *err, size_t errlen);
// One scheduler step (see above). Returns the number of requests still queued or active
// (0: idle), or -1 + err on an error that is not a single request's (a request's own error makes it
// SS_REQ_FAILED and the engine goes on).
SS_API int  ss_engine_step(ss_engine *e, char *err, size_t errlen);
// Cancel a request: its sequences are freed now; unfinished candidates get SS_FINISH_CANCEL.
// 0, or -1 for an unknown id.
SS_API int  ss_engine_cancel(ss_engine *e, int id);
SS_API int  ss_engine_poll(const ss_engine *e, int id);  // enum ss_req_state, or -1 for an unknown id
// Take the result of a DONE or CANCELLED request (caller frees it with ss_gen_result_free) and
// forget the request; r == NULL just forgets it (also for a queued/running one: cancelled first).
// Returns 1 taken, 0 not finished yet (nothing done), -1 unknown id or FAILED (err has its message;
// the request is forgotten).
SS_API int  ss_engine_take(ss_engine *e, int id, ss_gen_result *r, char *err, size_t errlen);
SS_API void ss_engine_state_get(const ss_engine *e, ss_engine_state *s);

#ifdef __cplusplus
}
#endif
#endif
