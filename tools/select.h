// select.h — Best-of-N selection over the generation loop's candidates (ss_gen_cand): the rules
// themselves are the library's (ss_select_pick, src/methods/select.c); this adapts the candidates.
#ifndef SS_SELECT_H
#define SS_SELECT_H
#include "ss_gen.h"
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
// the same on an arbitrary subset idx[0..k)
int  select_pick_subset(int method, const ss_gen_cand *c, char **answer, const int *idx, int k);

#endif
