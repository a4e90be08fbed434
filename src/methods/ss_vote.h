// ss_vote.h — exact early stop of Best-of-N's vote (src/methods/vote.c): the engine stops the
// unfinished candidates of a request with early_stop once the finished ones decide the vote.
#ifndef SS_VOTE_H
#define SS_VOTE_H
#include "slotswift.h"
#include <stdbool.h>

// answers[n] (NULL = no answer; only finished candidates' are read), finished[n]. Returns 1 when
// the vote over all n candidates (ss_select_pick SS_SELECT_VOTE) selects the same answer whatever
// the unfinished candidates answer, with *winner = the first finished candidate holding it; 0 when
// undecided; -1 on bad arguments or out of memory. With every candidate finished: 1 and the vote.
int ss_vote_decided(const char *const *answers, const bool *finished, int n, int *winner);

// adaptive sampling's stopping rule (the engine applies it when a wave of candidates is done)
typedef struct {
    float conf;    // Beta posterior threshold P: stop when P(leader beats runner-up) > conf ...
    float agree;   // ... and the leader has >= agree * n of the n started candidates' votes
    float tokp;    // stop when a candidate of the leading answer (which has more votes than any
                   // other) has a geometric-mean token probability exp(logprob_mean) > tokp (1: off)
    float margin;  // stop when the confidence-weighted vote's heaviest answer outweighs the next by
                   // more than margin (ss_select_weighted_vote; 0: off) ...
    float gamma;   // ... with weights exp(gamma * logprob_mean)
} ss_vote_rule;

// P(p_1 > p_2) under Beta(a + 1, b + 1) for a leader with a votes and a runner-up with b:
// P(Binomial(a + b + 1, 1/2) <= a). NAN for negative counts.
double ss_vote_beta_conf(int a, int b);

// the first n of N candidates are done with answers[n] (NULL = none) and mean token log-probabilities
// lp_mean[n]: 1 = stop (the others never start), 0 = start more, -1 bad arguments / out of memory.
// Stop when (1) the vote over all N is decided whatever the N - n others answer (ss_vote_decided),
// or (2) ss_vote_beta_conf(a, b) > rule->conf and a >= rule->agree * n (a, b: the leading and the
// second answer's votes), or (3) a > b and a candidate with the leading answer has lp_mean >
// log(rule->tokp), or (4) rule->margin > 0 and the weighted vote's margin > rule->margin. No answer
// at all: 0.
int ss_vote_adaptive_stop(const char *const *answers, const double *lp_mean, int n, int N, const ss_vote_rule *rule);

#endif
