// sampling.c — logits -> token, with llama.cpp's semantics and default chain:
//   penalties -> top-k -> top-p -> min-p -> temperature -> seeded draw (temp <= 0: argmax).
//
//   penalties   for each token t seen c_t > 0 times in the last repeat_last_n accepted tokens:
//                 l_t = l_t > 0 ? l_t / repeat_penalty : l_t * repeat_penalty
//                 l_t -= c_t * frequency_penalty + presence_penalty
//   top-k       keep the k largest logits (ties: lower token id first)
//   top-p       p = softmax(kept logits); keep the shortest prefix of the descending order whose
//               cumulative p reaches top_p (the token that crosses top_p is kept; at least 1)
//   min-p       keep l_t >= l_max + log(min_p)   (i.e. p_t >= min_p * p_max)
//   temperature p_t = softmax(l_t / temp) over what is left; draw u ~ U[0,1) (xoshiro256**)
//
// All scratch buffers are sized n_vocab and allocated once in ss_sampler_new: sampling a token
// allocates nothing. top-k uses a size-k min-heap (O(V log k)); top-p without top-k buckets the
// tokens by logit (1/16 nat wide bins below the maximum), finds the bucket where the cumulative
// mass reaches top_p and sorts only that bucket; min-p alone is one threshold pass. A full sort of
// the vocabulary never happens.
#include "ss_common.h"
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

void ss_sampling_params_default(ss_sampling_params *p) {
    memset(p, 0, sizeof *p);
    p->temp = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->presence_penalty = 0.0f;
    p->frequency_penalty = 0.0f;
    p->seed = 0;
}

// ---------------------------------------------------------------------------------------------
// RNG: xoshiro256** (Blackman & Vigna), state seeded by splitmix64

uint64_t ss_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t smp_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ss_rng_seed(ss_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = ss_splitmix64(&x);
}

uint64_t ss_rng_u64(ss_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = smp_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = smp_rotl(s[3], 45);
    return result;
}

// the top 53 bits as a double in [0, 1)
double ss_rng_uniform(ss_rng *r) { return (double)(ss_rng_u64(r) >> 11) * 0x1.0p-53; }

// ---------------------------------------------------------------------------------------------

int32_t ss_argmax(const float *x, int n) {
    int32_t best = 0;
    float bv = -INFINITY;
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        if (!any || x[i] > bv) { bv = x[i]; best = i; any = true; }
    }
    return best;
}

typedef struct { float l; int32_t id; } smp_cand;

struct ss_sampler {
    ss_sampling_params p;
    int n_vocab;
    ss_rng rng;
    // penalty window: ring of the last repeat_last_n accepted tokens (repeat_last_n < 0: all)
    int32_t *ring;  int ring_cap, ring_head, ring_n;
    int32_t *count;                  // [V] occurrences in the window
    int32_t *distinct;  int n_distinct;   // tokens with count > 0
    int32_t *distinct_pos;           // [V] index in distinct, or -1
    // per-call scratch
    float *work;                     // [V] penalized logits
    smp_cand *cand;                  // [V] candidates
    float *prob;                     // [V] final probabilities of cand[0..n_cand)
    int n_cand;
    float *wtok;                     // [V] exp(l - max) per token (top-p without top-k)
    double *bin_mass;                // [SMP_NBIN] top-p buckets
    int32_t *bin_n;
};

#define SMP_NBIN 4096                // buckets of 1/16 nat: 256 nats below the maximum, then one more
#define SMP_BIN_SCALE 16.0f

static bool smp_penalties_on(const ss_sampling_params *p) {
    return p->repeat_last_n != 0 &&
           (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f);
}

ss_sampler *ss_sampler_new(const ss_sampling_params *p, int n_vocab) {
    if (!p || n_vocab <= 0) return NULL;
    ss_sampler *s = ss_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    if (!(s->p.repeat_penalty > 0.0f) || !isfinite(s->p.repeat_penalty)) s->p.repeat_penalty = 1.0f;  // 0, <0, NaN: off
    if (!(s->p.top_p < 1.0f)) s->p.top_p = 1.0f;          // >= 1 or NaN: off
    if (!(s->p.min_p > 0.0f)) s->p.min_p = 0.0f;          // <= 0 or NaN: off
    if (isnan(s->p.temp)) s->p.temp = 0.0f;
    if (!isfinite(s->p.frequency_penalty)) s->p.frequency_penalty = 0.0f;
    if (!isfinite(s->p.presence_penalty)) s->p.presence_penalty = 0.0f;
    s->n_vocab = n_vocab;
    ss_rng_seed(&s->rng, p->seed);
    if (s->p.repeat_last_n > 0) {
        s->ring_cap = s->p.repeat_last_n;
        s->ring = ss_malloc((size_t)s->ring_cap * sizeof *s->ring);
    }
    s->count = ss_calloc((size_t)n_vocab, sizeof *s->count);
    s->distinct = ss_malloc((size_t)n_vocab * sizeof *s->distinct);
    s->distinct_pos = ss_malloc((size_t)n_vocab * sizeof *s->distinct_pos);
    s->work = ss_malloc((size_t)n_vocab * sizeof *s->work);
    s->cand = ss_malloc((size_t)n_vocab * sizeof *s->cand);
    s->prob = ss_malloc((size_t)n_vocab * sizeof *s->prob);
    s->wtok = ss_malloc((size_t)n_vocab * sizeof *s->wtok);
    s->bin_mass = ss_malloc(SMP_NBIN * sizeof *s->bin_mass);
    s->bin_n = ss_malloc(SMP_NBIN * sizeof *s->bin_n);
    if ((s->ring_cap && !s->ring) || !s->count || !s->distinct || !s->distinct_pos || !s->work || !s->cand ||
        !s->prob || !s->wtok || !s->bin_mass || !s->bin_n) { ss_sampler_free(s); return NULL; }
    for (int i = 0; i < n_vocab; i++) s->distinct_pos[i] = -1;
    return s;
}

void ss_sampler_free(ss_sampler *s) {
    if (!s) return;
    free(s->ring); free(s->count); free(s->distinct); free(s->distinct_pos);
    free(s->work); free(s->cand); free(s->prob);
    free(s->wtok); free(s->bin_mass); free(s->bin_n);
    free(s);
}

void ss_sampler_reseed(ss_sampler *s, uint64_t seed) {
    s->p.seed = seed;
    ss_rng_seed(&s->rng, seed);
}

static void smp_count_add(ss_sampler *s, int32_t t) {
    if (s->count[t]++ == 0) { s->distinct_pos[t] = s->n_distinct; s->distinct[s->n_distinct++] = t; }
}

static void smp_count_remove(ss_sampler *s, int32_t t) {
    if (--s->count[t] == 0) {
        int i = s->distinct_pos[t];
        int32_t last = s->distinct[--s->n_distinct];
        s->distinct[i] = last;
        s->distinct_pos[last] = i;
        s->distinct_pos[t] = -1;
    }
}

void ss_sampler_accept(ss_sampler *s, int32_t tok) {
    if (!s || tok < 0 || tok >= s->n_vocab || s->p.repeat_last_n == 0) return;
    if (s->p.repeat_last_n < 0) { smp_count_add(s, tok); return; }   // the whole history
    if (s->ring_n == s->ring_cap) {                                  // evict the oldest
        smp_count_remove(s, s->ring[s->ring_head]);
        s->ring[s->ring_head] = tok;
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
    } else {
        s->ring[(s->ring_head + s->ring_n) % s->ring_cap] = tok;
        s->ring_n++;
    }
    smp_count_add(s, tok);
}

void ss_sampler_reset(ss_sampler *s) {
    if (!s) return;
    for (int i = 0; i < s->n_distinct; i++) { s->count[s->distinct[i]] = 0; s->distinct_pos[s->distinct[i]] = -1; }
    s->n_distinct = 0;
    s->ring_head = s->ring_n = 0;
    ss_rng_seed(&s->rng, s->p.seed);
}

// ---------------------------------------------------------------------------------------------
// the steps of the chain

// penalties: returns the logits to use (s->work when something changed, else the input)
static const float *smp_apply_penalties(ss_sampler *s, const float *logits) {
    if (!smp_penalties_on(&s->p) || s->n_distinct == 0) return logits;
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *logits);
    const float rp = s->p.repeat_penalty, fp = s->p.frequency_penalty, pp = s->p.presence_penalty;
    for (int i = 0; i < s->n_distinct; i++) {
        int32_t t = s->distinct[i];
        float l = s->work[t];
        l = l <= 0.0f ? l * rp : l / rp;
        l -= (float)s->count[t] * fp + pp;
        s->work[t] = l;
    }
    return s->work;
}

// candidate order: logit descending, then token id ascending
static inline bool smp_before(smp_cand a, smp_cand b) { return a.l > b.l || (a.l == b.l && a.id < b.id); }

static int smp_cmp(const void *pa, const void *pb) {
    smp_cand a = *(const smp_cand *)pa, b = *(const smp_cand *)pb;
    return smp_before(a, b) ? -1 : smp_before(b, a) ? 1 : 0;
}

// sift-down in a min-heap (by smp_before: the root is the candidate that comes last)
static void smp_heap_down(smp_cand *h, int n, int i) {
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && smp_before(h[c], h[c + 1])) c++;    // the child that comes later
        if (!smp_before(h[i], h[c])) return;
        smp_cand t = h[i]; h[i] = h[c]; h[c] = t;
        i = c;
    }
}

// top-k: the k best of the V logits into cand[0..k), sorted. NaN logits are never candidates.
static int smp_top_k(ss_sampler *s, const float *l, int k) {
    smp_cand *h = s->cand;
    int n = 0;
    for (int i = 0; i < s->n_vocab; i++) {
        if (isnan(l[i])) continue;
        smp_cand c = {l[i], i};
        if (n < k) {
            // sift-up
            int j = n++;
            h[j] = c;
            while (j > 0) {
                int up = (j - 1) / 2;
                if (!smp_before(h[up], h[j])) break;
                smp_cand t = h[up]; h[up] = h[j]; h[j] = t;
                j = up;
            }
        } else if (smp_before(c, h[0])) {
            h[0] = c;
            smp_heap_down(h, n, 0);
        }
    }
    qsort(h, (size_t)n, sizeof *h, smp_cmp);
    return n;
}

// all non-NaN logits >= thr into cand (unsorted, in id order)
static int smp_collect(ss_sampler *s, const float *l, float thr) {
    int n = 0;
    for (int i = 0; i < s->n_vocab; i++)
        if (l[i] >= thr) { s->cand[n].l = l[i]; s->cand[n].id = i; n++; }
    return n;
}

static float smp_max(const float *l, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) if (l[i] > m) m = l[i];
    return m;
}

// exp(l - m), with exp(+inf - +inf) taken as 1
static inline double smp_expd(float l, float m) { return l == m ? 1.0 : exp((double)l - (double)m); }

// top-p over the sorted candidates cand[0..n): the shortest prefix reaching mass top_p,
// where the mass of candidate i is exp(l_i - l_0) / z (z: the normalizer of the whole set).
static int smp_top_p_sorted(const smp_cand *c, int n, double z, float top_p) {
    double cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += smp_expd(c[i].l, c[0].l) / z;
        if (cum >= (double)top_p) return i + 1;
    }
    return n;
}

// exp(l - m) in float (m: the maximum; exp(+inf - +inf) taken as 1)
static inline float smp_expf(float l, float m) { return l == m ? 1.0f : expf(l - m); }

// top-p over the whole vocabulary without sorting it. Every token goes to bucket
// b = floor((l_max - l) * 16) (clamped), which preserves the descending order between buckets;
// the bucket where the cumulative mass reaches top_p is the only one sorted. The kept tokens go to
// cand[] by bucket (ids ascending inside a bucket), the boundary bucket in sorted order.
static int smp_top_p_all(ss_sampler *s, const float *l, float top_p) {
    const int V = s->n_vocab;
    float m = smp_max(l, V);
    if (m == -INFINITY) return 0;                    // all -inf or NaN
    double z = 0.0;
    memset(s->bin_mass, 0, SMP_NBIN * sizeof *s->bin_mass);
    memset(s->bin_n, 0, SMP_NBIN * sizeof *s->bin_n);
    for (int i = 0; i < V; i++) {
        if (isnan(l[i])) { s->wtok[i] = -1.0f; continue; }
        float w = smp_expf(l[i], m);
        s->wtok[i] = w;
        z += w;
        float d = (m - l[i]) * SMP_BIN_SCALE;
        int b = (l[i] == m) ? 0 : (d < (float)(SMP_NBIN - 1) ? (int)d : SMP_NBIN - 1);
        s->bin_mass[b] += w;
        s->bin_n[b]++;
    }
    // the boundary bucket: the first where the cumulative mass reaches top_p
    double target = (double)top_p * z, cum = 0.0;
    int bb = SMP_NBIN - 1;
    for (int b = 0; b < SMP_NBIN; b++) {
        if (cum + s->bin_mass[b] >= target) { bb = b; break; }
        cum += s->bin_mass[b];
    }
    // tokens above the boundary bucket (all kept), then the boundary bucket's tokens
    int n_above = 0;
    for (int b = 0; b < bb; b++) n_above += s->bin_n[b];
    int na = 0, nb = n_above;
    for (int i = 0; i < V; i++) {
        if (s->wtok[i] < 0.0f) continue;
        float d = (m - l[i]) * SMP_BIN_SCALE;
        int b = (l[i] == m) ? 0 : (d < (float)(SMP_NBIN - 1) ? (int)d : SMP_NBIN - 1);
        if (b < bb) { s->cand[na].l = l[i]; s->cand[na].id = i; na++; }
        else if (b == bb) { s->cand[nb].l = l[i]; s->cand[nb].id = i; nb++; }
    }
    qsort(s->cand + n_above, (size_t)(nb - n_above), sizeof *s->cand, smp_cmp);
    for (int i = n_above; i < nb; i++) {
        cum += s->wtok[s->cand[i].id];
        if (cum >= target) return i + 1;
    }
    return nb;
}

// ---------------------------------------------------------------------------------------------

// Build the final distribution: cand[0..n_cand) with prob[0..n_cand) (temp > 0 only).
static void smp_build(ss_sampler *s, const float *l) {
    const ss_sampling_params *p = &s->p;
    const int V = s->n_vocab;
    int n;
    if (p->top_k > 0 && p->top_k < V) {
        n = smp_top_k(s, l, p->top_k);                       // sorted
        if (p->top_p < 1.0f && n > 0) {
            double z = 0.0;
            for (int i = 0; i < n; i++) z += smp_expd(s->cand[i].l, s->cand[0].l);
            n = smp_top_p_sorted(s->cand, n, z, p->top_p);
        }
    } else if (p->top_p < 1.0f) {
        n = smp_top_p_all(s, l, p->top_p);
    } else {
        float m = smp_max(l, V);
        float thr = -INFINITY;
        if (p->min_p > 0.0f) thr = m + logf(p->min_p);        // min-p folded into the collection
        n = smp_collect(s, l, thr);
        if (n == 0) n = smp_collect(s, l, -INFINITY);
    }
    // min-p: keep l >= l_max + log(min_p), in place (the maximum always stays)
    if (p->min_p > 0.0f && n > 0) {
        float m = -INFINITY;
        for (int i = 0; i < n; i++) if (s->cand[i].l > m) m = s->cand[i].l;
        const float thr = m + logf(p->min_p);
        int k = 0;
        for (int i = 0; i < n; i++) if (s->cand[i].l >= thr) s->cand[k++] = s->cand[i];
        n = k;
    }
    // temperature, softmax: p_i = exp((l_i - l_max) / temp) / z
    float m = -INFINITY;
    for (int i = 0; i < n; i++) if (s->cand[i].l > m) m = s->cand[i].l;
    const float inv_t = 1.0f / p->temp;
    double z = 0.0;
    for (int i = 0; i < n; i++) {
        float w = s->cand[i].l == m ? 1.0f : expf((s->cand[i].l - m) * inv_t);
        s->prob[i] = w;
        z += w;
    }
    const float inv_z = (float)(1.0 / z);
    for (int i = 0; i < n; i++) s->prob[i] *= inv_z;
    s->n_cand = n;
}

static double smp_log_softmax_at(const float *l, int V, int32_t tok) {
    float m = smp_max(l, V);
    if (!isfinite(m)) return (l[tok] == m) ? 0.0 : -INFINITY;
    double z = 0.0;
    for (int i = 0; i < V; i++) if (!isnan(l[i])) z += expf(l[i] - m);
    return ((double)l[tok] - (double)m) - log(z);
}

double ss_logits_entropy(const float *l, int V) {
    // H = -sum_v p_v log p_v = log S - sum_v e_v (l_v - m) / S,  e_v = exp(l_v - m), S = sum_v e_v
    float m = smp_max(l, V);
    if (!isfinite(m)) return 0.0;
    double S = 0.0, A = 0.0;
    for (int i = 0; i < V; i++) {
        if (!isfinite(l[i])) continue;   // -inf: probability 0, no contribution
        double d = (double)l[i] - (double)m, e = exp(d);
        S += e;
        A += e * d;
    }
    return log(S) - A / S;
}

int32_t ss_sampler_sample(ss_sampler *s, const float *logits, float *logprob) {
    const int V = s->n_vocab;
    const float *l = smp_apply_penalties(s, logits);
    int32_t tok;
    if (!(s->p.temp > 0.0f)) {
        tok = ss_argmax(l, V);                       // greedy (after the penalties)
    } else {
        smp_build(s, l);
        if (s->n_cand == 0) tok = ss_argmax(l, V);   // nothing finite: fall back
        else {
            // inverse CDF over the candidates in their order
            double u = ss_rng_uniform(&s->rng), cum = 0.0;
            tok = s->cand[s->n_cand - 1].id;
            for (int i = 0; i < s->n_cand; i++) {
                cum += (double)s->prob[i];
                if (u < cum) { tok = s->cand[i].id; break; }
            }
        }
    }
    if (logprob) *logprob = (float)smp_log_softmax_at(logits, V, tok);
    return tok;
}

int ss_sampler_dist(ss_sampler *s, const float *logits, int32_t *ids, float *probs, int max) {
    const float *l = smp_apply_penalties(s, logits);
    if (!(s->p.temp > 0.0f)) {
        if (max > 0) { ids[0] = ss_argmax(l, s->n_vocab); probs[0] = 1.0f; }
        return 1;
    }
    smp_build(s, l);
    int n = s->n_cand < max ? s->n_cand : max;
    for (int i = 0; i < n; i++) { ids[i] = s->cand[i].id; probs[i] = s->prob[i]; }
    return s->n_cand;
}
