// ss_sampling.h — turn logits into a token: penalties, top-k, top-p, min-p, temperature, seed.
// Order (llama.cpp's default chain): penalties -> top-k -> top-p -> min-p -> temperature -> draw.
#ifndef SS_SAMPLING_H
#define SS_SAMPLING_H
#include "ss_common.h"

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

void ss_sampling_params_default(ss_sampling_params *p);  // temp 0.8, top_k 40, top_p 0.95, min_p 0.05, rp 1.0, seed 0

// splitmix64: advance *state and return the next 64 random bits (seeds ss_rng; used by swift-train)
uint64_t ss_splitmix64(uint64_t *state);

typedef struct { uint64_t s[4]; } ss_rng;     // xoshiro256**
void     ss_rng_seed(ss_rng *r, uint64_t seed);
uint64_t ss_rng_u64(ss_rng *r);
double   ss_rng_uniform(ss_rng *r);           // [0,1)

typedef struct ss_sampler ss_sampler;
ss_sampler *ss_sampler_new(const ss_sampling_params *p, int n_vocab);
void        ss_sampler_free(ss_sampler *s);
void        ss_sampler_reseed(ss_sampler *s, uint64_t seed);
// the token history the penalties see (call for every accepted token, prompt included if wanted)
void        ss_sampler_accept(ss_sampler *s, int32_t tok);
void        ss_sampler_reset(ss_sampler *s);   // forget the history and restart the RNG at the seed
// pick a token from logits[n_vocab] (logits are not modified); *logprob (optional) receives
// log softmax(raw logits)[tok] — the model's own log-probability, before any transformation.
int32_t     ss_sampler_sample(ss_sampler *s, const float *logits, float *logprob);
int32_t     ss_argmax(const float *x, int n);   // first maximum (lowest id); NaN ignored

// The distribution the next ss_sampler_sample would draw from (penalties, top-k, top-p, min-p,
// temperature applied): writes up to `max` (token id, probability) pairs, in draw order
// (descending logit when top-k is on; otherwise by id, except that with top-p the tokens of the
// cut's boundary bucket come last, by descending logit); returns the number of candidates.
// temp <= 0: the single argmax with probability 1. Does not advance the RNG.
int         ss_sampler_dist(ss_sampler *s, const float *logits, int32_t *ids, float *probs, int max);

#endif
