// select.h — choosing one of N candidates: first, vote (self-consistency), logprob, swift.
#ifndef SS_SELECT_H
#define SS_SELECT_H
#include "ss_gen.h"

enum { SEL_FIRST = 0, SEL_VOTE = 1, SEL_LOGPROB = 2, SEL_SWIFT = 3 };
int  select_parse(const char *name);          // -1 if unknown
const char *select_name(int method);

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
