// ss_sampling.h — turn logits into a token: penalties, top-k, top-p, min-p, temperature, seed.
// Order (llama.cpp's default chain): penalties -> top-k -> top-p -> min-p -> temperature -> draw.
// The whole API (ss_sampling_params, ss_sampler_*, ss_rng_*) is public: see slotswift.h.
#ifndef SS_SAMPLING_H
#define SS_SAMPLING_H
#include "ss_common.h"
// entropy -sum_v p_v log p_v (natural log, double) of softmax(logits[V]) (SWIFT's confidence feature)
double ss_logits_entropy(const float *logits, int V);
#endif
