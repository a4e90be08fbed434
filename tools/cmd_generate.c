// cmd_generate.c — `slotswift generate -m MODEL (-p PROMPT | -f FILE) [--chat] [--system TEXT] [-n N]
//                   [sampling flags] [SLOT flags] [-t THREADS]`
// Streams the generated text to stdout; prompt and generation speed (and SLOT's losses) to stderr.
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "tool.h"
#include "slot_span.h"
#include "slotswift.h"

static void gen_usage(void) {
    printf("usage: slotswift generate -m MODEL (-p PROMPT | -f FILE) [--chat] [--system TEXT] [-n N] [flags]\n\n");
    args_print_common_help();
}

static void print_piece(void *ud, int cand, const char *s, int n) {
    (void)cand;
    *(bool *)ud = true;
    fwrite(s, 1, n, stdout);
    fflush(stdout);
}

int cmd_generate(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { gen_usage(); return 0; }
        fprintf(stderr, "slotswift generate: unknown flag '%s'\n", argv[i]);
        return 2;
    }
    char *text = args_prompt_text(&a);
    if (!text) return 2;
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, 1, &m, &c)) { free(text); return 1; }
    int rc = 1, T = 0;
    int32_t *toks = NULL;
    uint8_t *mask = NULL;
    char err[SS_ERRLEN];
    char *prompt = tool_render_prompt(m, &a, text);
    if (!prompt) goto done;
    toks = tool_tokenize_prompt(m, prompt, &T);
    if (T >= ss_ctx_n_ctx(c)) {
        fprintf(stderr, "slotswift generate: prompt of %d tokens exceeds the context of %d tokens (use -c)\n", T, ss_ctx_n_ctx(c));
        goto done;
    }
    if (a.slot.steps > 0) {
        mask = slot_span_mask(m, &a, text, prompt, toks, T, err, sizeof err);
        if (a.slot_span && !mask) { fprintf(stderr, "slotswift generate: --slot-span: %s\n", err); goto done; }
    }
    ss_gen_params gp;
    tool_gen_params(&a, c, 1, mask, 0, &gp);
    gp.slot.no_loss_after = true;   // generate prints the loss before each step, not after the last
    bool printed = false;
    gp.on_piece = print_piece;
    gp.ud = &printed;
    ss_gen_result res;
    if (ss_gen_run(c, toks, T, &gp, &res, err, sizeof err)) {
        if (printed) { printf("\n"); fflush(stdout); }   // (ends the streamed text's line)
        fprintf(stderr, "slotswift generate: %s\n", err);
        goto done;
    }
    printf("\n");
    fflush(stdout);
    if (a.slot.steps > 0) {
        for (int s = 0; s < a.slot.steps; s++) fprintf(stderr, "slot: step %d loss %.6f\n", s + 1, res.slot_losses[s]);
        fprintf(stderr, "slot: %d steps, %.3f s, %.1f MB extra\n", a.slot.steps, res.t_slot, res.slot_peak_bytes / 1e6);
    }
    int ng = res.cand[0].n_tokens;
    fprintf(stderr, "prompt: %d tokens, %.3f s, %.1f tok/s | generation: %d tokens, %.3f s, %.1f tok/s\n",
            T, res.t_prompt, res.t_prompt > 0 ? T / res.t_prompt : 0.0,
            ng, res.t_gen, res.t_gen > 0 ? res.n_gen_tokens / res.t_gen : 0.0);
    ss_gen_result_free(&res);
    rc = 0;
done:
    free(text); free(prompt); free(toks); free(mask);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
