// select.h — Best-of-N selection over the generation loop's candidates (ss_gen_cand): the rules
// themselves are the library's (ss_select_pick, src/methods/select.c); this adapts the candidates.
#ifndef SS_SELECT_H
#define SS_SELECT_H
#include "slotswift.h"
#include "xalloc.h"

typedef struct {
    char **answer;     // [n] extracted answers (NULL = none)
    int   *votes;      // [n] candidates sharing the answer (0 when no answer)
    float *logprob_mean;
} cand_info;

void cand_info_fill(cand_info *ci, const ss_gen_cand *c, int n);
void cand_info_free(cand_info *ci, int n);
// index chosen among candidates [0, n) (the first n of a larger set: selected@k uses the first k)
int  select_pick(int method, const ss_gen_cand *c, const cand_info *ci, int n);
// the selected candidate of a run with the vote fields of gp: adaptive sampling with a weighted
// margin (gp->adaptive, gp->adaptive_margin > 0) selects by the confidence-weighted vote
// (ss_select_weighted_vote; no answer at all: select_pick's), anything else as select_pick
int  select_pick_gen(int method, const ss_gen_cand *c, const cand_info *ci, int n, const ss_gen_params *gp);
// the same on an arbitrary subset idx[0..k)
int  select_pick_subset(int method, const ss_gen_cand *c, char **answer, const int *idx, int k);

// Answer classes for counting votes with a table instead of comparing every pair:
// cls[j] = class of answer[j] (0 .. n_classes-1; candidates j, j' share a class when
// ss_answer_equal says their answers are equal, judged against the class's first member),
// -1 when answer[j] is NULL, -2 when it equals nothing (not even itself: an empty answer).
// Distinct strings are found with a hash table. Returns the number of classes.
int  select_classes(char *const *answer, int n, int *cls);
// select_pick_subset on candidates idx[0..k) (any order) in O(k), from the classes above:
// the same choice (ties go to the lowest candidate index). count: scratch of n_classes ints, zeroed.
int  select_pick_classes(int method, const ss_gen_cand *c, const int *cls, int *count, const int *idx, int k);

#endif
