// cmd_bon.c — `slotswift bon -m MODEL (-p PROMPT | -f FILE) [--chat] -N 8 [sampling flags]
//              [--select swift|vote|first|logprob] [--swift HEAD.gguf] [--json] [SLOT flags]`
// Prefills the prompt once (SLOT optimizes delta once on it), forks N candidates that decode
// together, captures SWIFT features while generating, and picks one answer.
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "tool.h"
#include "settings.h"
#include "slot_span.h"
#include "select.h"
#include "slotswift.h"

static void bon_usage(void) {
    printf("usage: slotswift bon -m MODEL (-p PROMPT | -f FILE) [--chat] -N 8 [--select swift|vote|first|logprob]\n"
           "                     [--swift HEAD.gguf] [--json] [--early-stop] [--adaptive ...] [flags]\n");
    args_print_vote_help();
    args_print_common_help();
}

// load a SWIFT head and check it was trained for this model
int tool_load_head(const ss_model *m, const char *path, ss_swift_head *head) {
    char err[SS_ERRLEN];
    if (ss_swift_head_load(head, path, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); return -1; }
    if (ss_model_check_head(m, head, err, sizeof err)) {
        fprintf(stderr, "slotswift: %s: %s\n", path, err);
        ss_swift_head_free(head);
        return -1;
    }
    return 0;
}

int cmd_bon(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int N = 8, method = SS_SELECT_VOTE;
    bool json = false, method_given = false;
    args_vote vote = { 0 };
    const char *head_path = NULL;
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if ((r = args_vote_flag(&vote, argc, argv, &i)) < 0) return 2;
        if (r > 0) { i++; continue; }
        const char *f = argv[i], *v;
        if (!strcmp(f, "-N")) { if (args_int(argc, argv, &i, 1, 1024, &N)) return 2; }
        else if (!strcmp(f, "--select")) {
            if (args_need(argc, argv, &i, &v)) return 2;
            if ((method = ss_select_parse(v)) < 0) { fprintf(stderr, "slotswift bon: --select: unknown method '%s' (swift, vote, first, logprob)\n", v); return 2; }
            method_given = true;
        }
        else if (!strcmp(f, "--swift")) { if (args_need(argc, argv, &i, &head_path)) return 2; }
        else if (!strcmp(f, "--json")) json = true;
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) { bon_usage(); return 0; }
        else { fprintf(stderr, "slotswift bon: unknown flag '%s'\n", f); return 2; }
        i++;
    }
    if (head_path && !method_given) method = SS_SELECT_SWIFT;
    if (method == SS_SELECT_SWIFT && !head_path) { fprintf(stderr, "slotswift bon: --select swift needs --swift HEAD.gguf\n"); return 2; }
    if ((vote.early_stop || vote.wave) && method != SS_SELECT_VOTE) { fprintf(stderr, "slotswift bon: --early-stop and --adaptive need --select vote\n"); return 2; }
    int prc;
    char *text = args_prompt_text(&a, &prc);
    if (!text) return prc;
    ss_model *m; ss_ctx *c;
    if (tool_load(&a, 1, N, &m, &c)) { free(text); return 1; }
    int rc = 1, T = 0;
    int32_t *toks = NULL;
    uint8_t *mask = NULL;
    char err[SS_ERRLEN];
    ss_swift_head head;
    bool have_head = false;
    char *prompt = tool_render_prompt(m, &a, text);
    if (!prompt) goto done;
    if (head_path) { if (tool_load_head(m, head_path, &head)) goto done; have_head = true; }
    toks = tool_tokenize_prompt(m, prompt, &T);
    if (a.slot.steps > 0) {
        mask = slot_span_mask(m, &a, text, prompt, toks, T, err, sizeof err);
        if (a.slot_span && !mask) { fprintf(stderr, "slotswift bon: --slot-span: %s\n", err); goto done; }
    }
    ss_gen_params gp;
    if (tool_gen_params(&a, c, T, N, mask, 0, &gp, err, sizeof err)) { fprintf(stderr, "slotswift bon: %s\n", err); goto done; }
    settings_pick_seed(&a, NULL, NULL, "bon");   // the inputs are good: the run's seed
    gp.samp.seed = a.samp.seed;
    if (have_head) { gp.feat = &head.spec; gp.head = &head; }
    args_vote_apply(&vote, &gp);
    ss_gen_result res;
    if (ss_gen_run(c, toks, T, &gp, &res, err, sizeof err)) { fprintf(stderr, "slotswift bon: %s\n", err); goto done; }
    cand_info ci;
    cand_info_fill(&ci, res.cand, N);
    int sel = select_pick_gen(method, res.cand, &ci, N, &gp);
    if (json) {
        printf("{\"selected\":%d,\"select\":\"%s\",\"candidates\":[", sel, ss_select_name(method));
        for (int i = 0; i < N; i++) {
            printf(i ? ",\n{\"text\":" : "\n{\"text\":");
            tool_json_str(stdout, res.cand[i].text);
            printf(",\"answer\":"); tool_json_str(stdout, ci.answer[i]);
            printf(",\"tokens\":%d,\"logprob_mean\":", res.cand[i].n_tokens);
            tool_json_float(stdout, ci.logprob_mean[i]);
            printf(",\"logprob_min\":"); tool_json_float(stdout, res.cand[i].logprob_min);
            printf(",\"swift\":");
            if (have_head) tool_json_float(stdout, res.cand[i].swift); else printf("null");
            printf(",\"votes\":%d", ci.votes[i]);
            printf(res.cand[i].stopped ? ",\"stopped\":true}" : "}");
        }
        printf("]");
        if (a.slot.steps > 0) {
            printf(",\n\"slot\":");
            tool_json_slot(stdout, &a.slot, res.slot_steps, res.slot_losses, res.slot_kl, res.slot_scale, res.slot_loss_after, -1);
        }
        printf("}\n");
    } else {
        for (int i = 0; i < N; i++) {
            fprintf(stderr, "candidate %d: %d tokens, answer %s, votes %d, logprob %.4f", i, res.cand[i].n_tokens,
                    ci.answer[i] ? ci.answer[i] : "-", ci.votes[i], ci.logprob_mean[i]);
            if (have_head) fprintf(stderr, ", swift %.4f", res.cand[i].swift);
            fprintf(stderr, "%s\n", i == sel ? "   <- selected" : "");
        }
        printf("%s\n", res.cand[sel].text);
    }
    if (a.slot.steps > 0)
        fprintf(stderr, "slot: %d steps, loss %.6f -> %.6f, KL %.4g, %.3f s\n", res.slot_steps, res.slot_losses[0], res.slot_loss_after,
                res.slot_steps > 0 ? res.slot_kl[res.slot_steps - 1] : 0.0, res.t_slot);
    fprintf(stderr, "prompt: %d tokens, %.3f s | generation: %d tokens in %d candidates, %.3f s, %.1f tok/s | swift scoring %.4f s\n",
            T, res.t_prompt, res.n_gen_tokens, N, res.t_gen, res.t_gen > 0 ? res.n_gen_tokens / res.t_gen : 0.0, res.t_swift);
    cand_info_free(&ci, N);
    ss_gen_result_free(&res);
    rc = 0;
done:
    if (have_head) ss_swift_head_free(&head);
    free(text); free(prompt); free(toks); free(mask);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
