// gen.c — whole-prompt generation (prefill, SLOT, N candidates, SWIFT capture) on the step-wise engine (engine.c).
#include "ss_common.h"
#include "ss_model.h"
#include "ss_vocab.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ss_gen_params_default(ss_gen_params *p) {
    memset(p, 0, sizeof *p);
    p->n_predict = 256;
    p->n_cand = 1;
    ss_sampling_params_default(&p->samp);
    ss_slot_params_default(&p->slot);
    p->slot.steps = 0;
}

// P prompts on one engine (no prefix cache: nothing is kept after the call), stepped until all are
// finished; the engine admits them as the context's sequences and pages allow.
int ss_gen_run_multi(ss_ctx *c, int P, const int32_t *const *prompts, const int *lens,
                     const ss_gen_params *const *ps, ss_gen_result *rs, char *err, size_t errlen) {
    if (P < 1) return ss_err(err, errlen, "no prompt");
    for (int q = 0; q < P; q++) memset(&rs[q], 0, sizeof rs[q]);
    ss_engine_params ep;
    ss_engine_params_default(&ep);
    ep.prefix_reuse = false;
    ep.max_queue = P;
    ss_engine *e = ss_engine_new(c, &ep, err, errlen);
    if (!e) return -1;
    int *ids = ss_malloc(sizeof(int) * P);
    if (!ids) { ss_engine_free(e); return ss_err(err, errlen, "generation: out of memory (%d prompts)", P); }
    int rc = 0, q = 0;
    for (; q < P && rc == 0; q++)
        if ((ids[q] = ss_engine_submit(e, prompts[q], lens[q], ps[q], err, errlen)) < 0) rc = -1;
    while (rc == 0) {
        int n = ss_engine_step(e, err, errlen);
        if (n < 0) rc = -1;
        if (n <= 0) break;
    }
    for (int k = 0; k < P && rc == 0; k++)
        if (ss_engine_take(e, ids[k], &rs[k], err, errlen) != 1) rc = -1;
    if (rc) for (int k = 0; k < P; k++) ss_gen_result_free(&rs[k]);
    ss_engine_free(e);
    free(ids);
    return rc;
}

int ss_gen_run(ss_ctx *c, const int32_t *prompt, int T, const ss_gen_params *p,
               ss_gen_result *r, char *err, size_t errlen) {
    return ss_gen_run_multi(c, 1, &prompt, &T, &p, r, err, errlen);
}

void ss_gen_result_free(ss_gen_result *r) {
    if (!r) return;
    if (r->cand)
        for (int i = 0; i < r->n_cand; i++) {
            free(r->cand[i].text); free(r->cand[i].tokens); free(r->cand[i].logprobs); free(r->cand[i].features);
        }
    free(r->cand); free(r->slot_losses);
    memset(r, 0, sizeof *r);
}
