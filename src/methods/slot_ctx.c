// slot_ctx.c — SLOT on a context: ss_slot_optimize (slot.c) with the context's thread pool, its
// model's LM head and the context's stored-logits workspace (kept between runs).
#include "ss_model.h"
#include <string.h>

int ss_slot_run(ss_ctx *c, const ss_slot_params *p, const float *H, int T, const ss_token *tokens,
                const uint8_t *mask, float *delta, ss_slot_result *res) {
    const ss_hparams *hp = &c->model->hp;
    if (!p || !H || !tokens || !delta) return ss_err(c->err, sizeof c->err, "slot: missing argument");
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= hp->n_vocab)
            return ss_err(c->err, sizeof c->err, "slot: token %d at position %d is outside the vocabulary (0..%d)",
                          tokens[t], t, hp->n_vocab - 1);
    ss_slot_params sp = *p;
    sp.ws = &c->slot_ws;      // the context keeps the stored logits' memory for the next run
    sp.kern = c->kern;        // and its kernel table (force_scalar)
    memset(delta, 0, sizeof(float) * hp->n_embd);
    return ss_slot_optimize(&sp, c->pool, H, T, hp->n_embd, tokens, mask, &c->model->output, delta, res,
                            c->err, sizeof c->err);
}
