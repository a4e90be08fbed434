// cmd_generate.c — `slotswift generate -m MODEL (-p PROMPT | -f FILE) [--chat] [--system TEXT] [-n N]
//                   [sampling flags] [SLOT flags] [-t THREADS]`
// Streams the generated text to stdout; prompt and generation speed (and SLOT's losses) to stderr.
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "tool.h"
#include "settings.h"
#include "slot_span.h"
#include "slotswift.h"

static void gen_usage(void) {
    printf("usage: slotswift generate -m MODEL (-p PROMPT | -f FILE) [--chat] [--system TEXT] [-n N] [flags]\n\n");
    args_print_common_help();
}

static void print_piece(void *ud, int cand, const char *s, int n) {
    (void)cand;
    *(bool *)ud = true;              // text printed: an error after it starts a new line
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
    int prc;
    char *text = args_prompt_text(&a, &prc);
    if (!text) return prc;
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, 1, 1, &m, &c)) { free(text); return 1; }
    int rc = 1, T = 0;
    int32_t *toks = NULL;
    uint8_t *mask = NULL;
    char err[SS_ERRLEN];
    char *prompt = tool_render_prompt(m, &a, text);
    if (!prompt) goto done;
    toks = tool_tokenize_prompt(m, prompt, &T);
    if (a.slot.steps > 0) {
        mask = slot_span_mask(m, &a, text, prompt, toks, T, err, sizeof err);
        if (a.slot_span && !mask) { fprintf(stderr, "slotswift generate: --slot-span: %s\n", err); goto done; }
    }
    ss_gen_params gp;
    if (tool_gen_params(&a, c, T, 1, mask, 0, &gp, err, sizeof err)) { fprintf(stderr, "slotswift generate: %s\n", err); goto done; }
    settings_pick_seed(&a, NULL, NULL, "generate");   // the inputs are good: the run's seed
    gp.samp.seed = a.samp.seed;
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
        const bool tr = a.slot.kl_max > 0 || a.slot.safe;   // trust region: each step's KL and scale too
        for (int s = 0; s < res.slot_steps; s++) {
            fprintf(stderr, "slot: step %d loss %.6f", s + 1, res.slot_losses[s]);
            if (tr) fprintf(stderr, " (KL %.4g, scale %g)", res.slot_kl[s], res.slot_scale[s]);
            fputc('\n', stderr);
        }
        fprintf(stderr, "slot: %d steps, %.3f s, %.1f MB extra\n", res.slot_steps, res.t_slot, res.slot_peak_bytes / 1e6);
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
