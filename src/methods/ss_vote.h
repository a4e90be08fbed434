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

// adaptive sampling's stopping rule: the leading answer among answers[n] (NULL = none) has at least
// agree * n votes (ss_select_votes), and at least one
bool ss_vote_agree(const char *const *answers, int n, float agree);

#endif
