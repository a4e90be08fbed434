// ss_gen.h — the generation loop shared by generate, bon, eval and swift-collect:
// prefill the prompt once, optionally run SLOT on its hidden states, fork into N candidates that
// decode together in one batch per step, sample, stop, and capture SWIFT features of every
// generated token while generating (the end-of-generation token is fed once more for its features).
#ifndef SS_GEN_H
#define SS_GEN_H
#include "slotswift.h"
#include "ss_sampling.h"
#include "ss_slot.h"
#include "ss_swift.h"

typedef struct ss_gen_params {
    int   n_predict;                  // max new tokens per candidate
    int   n_cand;                     // N candidates (1 = plain generation)
    bool  ignore_eos;
    const char *const *stops; int n_stops;
    ss_sampling_params samp;          // candidate i draws with seed samp.seed + i
    ss_slot_params slot;              // steps 0 = SLOT off
    const uint8_t *slot_mask;         // NULL = every prompt position
    const ss_swift_spec *feat;        // features to capture (NULL = none)
    const ss_swift_head *head;        // reward head (needs feat = &head->spec)
    bool  keep_features;              // keep each candidate's feature rows (swift-collect)
    bool  features_f16;               // ... stored as F16
    void (*on_piece)(void *ud, int cand, const char *s, int n);   // streaming text
    ss_token_cb on_token;             // per sampled token (slotswift.h); non-zero return cancels
    void *ud;                         // for on_piece, on_token and on_logits
    void (*on_logits)(void *ud, int cand, const float *logits);  // raw logits[n_vocab] each token is sampled from (top log-probs)
    bool  early_stop;                 // exact early stop of the vote (src/methods/vote.c): once the finished
                                      // candidates' answers decide the majority, the others stop (stopped)
    // adaptive sampling (vote): candidates start in waves of `adaptive` (0 = off: all N at once), forked
    // from the prompt; after each wave, stop when the leading answer has >= adaptive_agree of the
    // started candidates' votes (ss_vote_agree), else start the next wave, up to n_cand; candidates never
    // started are stopped (no tokens). Candidate i still samples with seed + i.
    int   adaptive;
    float adaptive_agree;             // (0, 1]; 0: SS_ADAPTIVE_AGREE
} ss_gen_params;
#define SS_ADAPTIVE_AGREE 0.75f

void ss_gen_params_default(ss_gen_params *p);

enum ss_finish { SS_FINISH_LENGTH = 0, SS_FINISH_EOG = 1, SS_FINISH_STOP = 2, SS_FINISH_CTX = 3, SS_FINISH_CANCEL = 4 };

typedef struct {
    char    *text;                    // generated text (a matched stop string is cut off)
    int32_t *tokens; int n_tokens;    // sampled tokens (incl. the end-of-generation token)
    double   logprob_sum;             // Σ log p(token) under the raw model distribution
    float    logprob_min;             // min log p(token) over the sampled tokens (0 if none)
    int      finish;                  // enum ss_finish
    float    swift;                   // reward (head given)
    void    *features; int n_feat_rows;   // [n_feat_rows, dim] F32 or F16 (keep_features)
    bool     stopped;                 // stopped by early_stop (finish SS_FINISH_CANCEL; its text is partial)
} ss_gen_cand;

typedef struct ss_gen_result {
    int      n_prompt;
    ss_gen_cand *cand; int n_cand;
    double   t_prompt, t_slot, t_gen, t_swift;   // seconds
    int      n_gen_tokens;            // tokens decoded after the prompt (all candidates)
    float   *slot_losses;             // [slot.steps] loss before each step (one block with the next two)
    float   *slot_kl, *slot_scale;    // [slot.steps] mean KL after each step, step scale (ss_slot_result)
    int      slot_steps;              // SLOT steps done (< slot.steps when slot.min_gain stopped it)
    float    slot_loss_after;
    size_t   slot_peak_bytes;
    int      n_reused;                // prompt tokens whose KV came from the engine's prefix cache
} ss_gen_result;

// Runs on fresh sequences of c (freed before returning). Returns 0, or -1 + err.
int  ss_gen_run(ss_ctx *c, const int32_t *prompt, int n_prompt, const ss_gen_params *p,
                ss_gen_result *r, char *err, size_t errlen);
// P prompts at once: their prefills share batches, each gets its own SLOT delta (per sequence, never
// shared), and all their candidates decode together. Params may differ per prompt (seed, N, SLOT,
// mask) except the captured features. Timings in each result are those of the whole run;
// n_gen_tokens counts all prompts' tokens. Same results as running each prompt alone.
int  ss_gen_run_multi(ss_ctx *c, int P, const int32_t *const *prompts, const int *lens,
                      const ss_gen_params *const *params, ss_gen_result *res, char *err, size_t errlen);
void ss_gen_result_free(ss_gen_result *r);

#endif
