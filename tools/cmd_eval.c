// cmd_eval.c — `slotswift eval -m MODEL --data FILE.jsonl [--chat] [--system TEXT] [--limit K]
//     [sampling flags, --seed] [SLOT flags] [-N N --select ... --swift HEAD.gguf] --out RESULTS.jsonl`
// One result line per question is appended (and fsynced) as it finishes; a rerun resumes after the
// last complete line. Question i draws with seed (--seed + i*1000003) + candidate index, so results
// do not depend on resuming. At the end: a table on stderr and one JSON summary line on stdout.
// Under mpirun / srun (ssmpi.h) rank 0 hands the questions out and alone writes the file, the same bytes.
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "tool.h"
#include "slot_span.h"
#include "select.h"
#include "evalres.h"
#include "settings.h"
#include "outfile.h"
#include "work.h"
#include "ssmpi.h"
#include "slotswift.h"

static void eval_usage(void) {
    printf("usage: slotswift eval -m MODEL --data FILE.jsonl --out RESULTS.jsonl [--chat] [--system TEXT] [--limit K]\n"
           "                      [-N N] [--select swift|vote|first|logprob] [--swift HEAD.gguf] [--subsets S] [--parallel P]\n"
           "                      [--early-stop] [--adaptive ...] [flags]\n"
           "  --parallel P: P questions decode together (default 1); results are the same as one at a time\n"
           "  greedy with --temp 0; with N > 1 the N candidates of a question decode together.\n"
           "  (stopped candidates have no answer: pass@k and vote@k for k < N see fewer answers; vote@N is unchanged)\n");
    args_print_vote_help();
    args_print_common_help();
}

// ---- resume: the results file must be eval's own (settings record on line 1) and made with the
// same settings; its complete lines are kept, a torn last line (a killed run) is cut off ----
static int eval_resume(int fd, const char *path, const char *data, ss_args *a, cJSON *settings, bool *done, int n_items) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift eval: %s\n", err); return -1; }
    evalres_file f;
    int rc = evalres_parse(&f, path, buf, len, err, sizeof err);
    free(buf);
    if (rc) { fprintf(stderr, "slotswift eval: %s\n", err); return -1; }
    int n_done = 0;
    // without --seed: the resumed run's, or random (under MPI this is rank 0, which sends it to the others)
    settings_pick_seed(a, f.settings, settings, "eval");
    if (!f.settings) {   // a new file: its first line is the settings record
        char *h = evalres_header(data, settings);
        ssize_t w = write(fd, h, strlen(h));
        rc = w == (ssize_t)strlen(h) && fsync(fd) == 0 ? 0 : -1;
        if (rc) fprintf(stderr, "slotswift eval: %s: write failed: %s\n", path, w < 0 || w == (ssize_t)strlen(h) ? strerror(errno) : "short write");
        free(h);
    } else if (settings_diff(f.settings, settings, err, sizeof err)) {
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(f.settings, "--seed");
        fprintf(stderr, "slotswift eval: %s: resume with other settings: %s%s%s%s\n", path, err,
                strncmp(err, "--seed ", 7) || !cJSON_IsString(seed) ? "" : " (give --seed ",
                strncmp(err, "--seed ", 7) || !cJSON_IsString(seed) ? "" : seed->valuestring,
                strncmp(err, "--seed ", 7) || !cJSON_IsString(seed) ? "" : " to resume)");
        rc = -1;
    } else {
        if (f.keep < len) {
            if (ftruncate(fd, (off_t)f.keep) != 0) { fprintf(stderr, "slotswift eval: %s: cannot cut off a torn last line: %s\n", path, strerror(errno)); rc = -1; }
            else fprintf(stderr, "slotswift eval: %s: dropped an incomplete last line (an interrupted run)\n", path);
        }
        for (int i = 0; i < f.n; i++)
            if (f.q[i].index < n_items && !done[f.q[i].index]) { done[f.q[i].index] = true; n_done++; }
    }
    evalres_free(&f);
    return rc ? -1 : n_done;
}

// ---- summary over the result file ----
static int eval_summary(const char *path, int N, int method, int n_items, int subsets, uint64_t seed) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift eval: %s\n", err); return -1; }
    evalres_file f;
    int rc = evalres_parse(&f, path, buf, len, err, sizeof err);
    free(buf);
    if (rc) { fprintf(stderr, "slotswift eval: %s\n", err); return -1; }
    rc = evalres_summary(&f, n_items, N, method, subsets, seed, stdout);
    evalres_free(&f);
    return rc;
}

// ---- one run's questions: computed in groups of --parallel P (work.h), one result line each ----
typedef struct {
    ss_args *a;
    ss_model *m;
    ss_ctx *c;
    tool_item *items;
    int N, method;
    ss_swift_head *head;          // NULL without --swift
    int fd;                       // the results file (the writer only)
    const char *out;
    int n_ok, n_run;              // stored by this run: correct, all
    int *lens;                    // [P] work arrays of a group
    int32_t **toks;
    uint8_t **masks;
    ss_gen_params *gps;
    const ss_gen_params **gpp;
    ss_gen_result *res;
    args_vote vote;               // --early-stop, --adaptive ...
} eval_run;

// question qi's result line (one JSON object and its newline); *correct: the selected answer's grade
static char *eval_line(const eval_run *ev, int qi, const ss_gen_result *r, double secs, size_t *line_len, bool *correct) {
    int N = ev->N;
    cand_info ci;
    cand_info_fill(&ci, r->cand, N);
    ss_gen_params vp = { 0 };   // (the vote fields)
    args_vote_apply(&ev->vote, &vp);
    int sel = select_pick_gen(ev->method, r->cand, &ci, N, &vp);
    int total_tokens = 0;
    for (int j = 0; j < N; j++) total_tokens += r->cand[j].n_tokens;
    bool sel_ok = ci.answer[sel] && ss_answer_equal(ci.answer[sel], ev->items[qi].reference);
    char *line = NULL;
    FILE *mf = open_memstream(&line, line_len);
    fprintf(mf, "{\"index\":%d,\"reference\":", qi); tool_json_str(mf, ev->items[qi].reference);
    fprintf(mf, ",\"selected\":%d,\"select\":\"%s\",\"answer\":", sel, ss_select_name(ev->method)); tool_json_str(mf, ci.answer[sel]);
    fprintf(mf, ",\"correct\":%s,\"tokens\":%d,\"seconds\":", sel_ok ? "true" : "false", total_tokens);
    tool_json_float(mf, secs);
    fprintf(mf, ",\"n_prompt\":%d", r->n_prompt);
    if (ev->a->slot.steps > 0) { fprintf(mf, ",\"slot_loss\":["); tool_json_float(mf, r->slot_losses[0]); fprintf(mf, ","); tool_json_float(mf, r->slot_loss_after); fprintf(mf, "]"); }
    if (ev->a->slot.steps > 0) {
        fprintf(mf, ",\"slot\":");
        tool_json_slot(mf, &ev->a->slot, r->slot_steps, r->slot_losses, r->slot_kl, r->slot_scale, r->slot_loss_after, r->t_slot);
    }
    fprintf(mf, ",\"text\":"); tool_json_str(mf, r->cand[sel].text);
    fprintf(mf, ",\"candidates\":[");
    for (int j = 0; j < N; j++) {
        bool ok = ci.answer[j] && ss_answer_equal(ci.answer[j], ev->items[qi].reference);
        fprintf(mf, j ? ",{\"answer\":" : "{\"answer\":"); tool_json_str(mf, ci.answer[j]);
        fprintf(mf, ",\"correct\":%s,\"tokens\":%d,\"logprob_mean\":", ok ? "true" : "false", r->cand[j].n_tokens);
        tool_json_float(mf, ci.logprob_mean[j]);
        fprintf(mf, ",\"logprob_min\":"); tool_json_float(mf, r->cand[j].logprob_min);
        fprintf(mf, ",\"swift\":"); if (ev->head) tool_json_float(mf, r->cand[j].swift); else fprintf(mf, "null");
        fprintf(mf, ",\"votes\":%d", ci.votes[j]);
        if (r->cand[j].stopped) fprintf(mf, ",\"stopped\":true");
        if (N > 1) { fprintf(mf, ",\"text\":"); tool_json_str(mf, r->cand[j].text); }
        fprintf(mf, "}");
    }
    fprintf(mf, "]}\n");
    fclose(mf);
    cand_info_free(&ci, N);
    *correct = sel_ok;
    return line;
}

// work.h run(): questions grp[0..ng) decode together (prefills and candidates); out[g] = grp[g]'s line
static int eval_group(void *ud, const int *grp, int ng, work_result *out) {
    eval_run *ev = ud;
    ss_args *a = ev->a;
    char err[SS_ERRLEN];
    double tq = ss_time();
    bool bad = false;
    for (int g = 0; g < ng && !bad; g++) {
        int qi = grp[g];
        char *prompt = tool_render_prompt(ev->m, a, ev->items[qi].question);
        if (!prompt) { bad = true; break; }
        ev->toks[g] = tool_tokenize_prompt(ev->m, prompt, &ev->lens[g]);
        if (a->slot.steps > 0) {
            ev->masks[g] = slot_span_mask(ev->m, a, ev->items[qi].question, prompt, ev->toks[g], ev->lens[g], err, sizeof err);
            if (a->slot_span && !ev->masks[g]) { fprintf(stderr, "slotswift eval: question %d: --slot-span: %s\n", qi, err); bad = true; }
        }
        free(prompt);
        if (!bad && tool_gen_params(a, ev->c, ev->lens[g], ev->N, ev->masks[g], (uint64_t)qi * 1000003ULL, &ev->gps[g], err, sizeof err)) {   // per-question seed
            fprintf(stderr, "slotswift eval: question %d: %s\n", qi, err);
            bad = true;
        }
        if (ev->head) { ev->gps[g].feat = &ev->head->spec; ev->gps[g].head = ev->head; }
        args_vote_apply(&ev->vote, &ev->gps[g]);
        ev->gpp[g] = &ev->gps[g];
    }
    int r = bad ? -1 : ss_gen_run_multi(ev->c, ng, (const int32_t *const *)ev->toks, ev->lens, ev->gpp, ev->res, err, sizeof err);
    for (int g = 0; g < ng; g++) { free(ev->toks[g]); free(ev->masks[g]); ev->toks[g] = NULL; ev->masks[g] = NULL; }
    if (r) { if (!bad) fprintf(stderr, "\nslotswift eval: question %d: %s\n", grp[0], err); return -1; }
    double secs = (ss_time() - tq) / ng;
    for (int g = 0; g < ng; g++) {
        bool ok;
        out[g].data = eval_line(ev, grp[g], &ev->res[g], secs, &out[g].len, &ok);
        out[g].stat[0] = ok;
        ss_gen_result_free(&ev->res[g]);
    }
    return 0;
}

// work.h store(): one line, written with a single write() and fsynced: a crash leaves at most a torn last line
static int eval_store(void *ud, int q, const work_result *r) {
    eval_run *ev = ud;
    ssize_t w = write(ev->fd, r->data, r->len);
    if (w != (ssize_t)r->len || fsync(ev->fd) != 0) {
        fprintf(stderr, "\nslotswift eval: %s: write failed: %s\n", ev->out, w >= 0 && w != (ssize_t)r->len ? "short write" : strerror(errno));
        return -1;
    }
    ev->n_ok += r->stat[0] != 0;
    ev->n_run++;
    return 0;
}

static void eval_extra(void *ud, char *buf, size_t n) {
    const eval_run *ev = ud;
    snprintf(buf, n, "acc %.3f", ev->n_run ? (double)ev->n_ok / ev->n_run : 0.0);
}

int cmd_eval(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int N = 1, method = -1, limit = -1, subsets = 64, par = 1;
    args_vote vote = { 0 };
    const char *data = NULL, *out = NULL, *head_path = NULL, *v;
    for (int i = 1; i < argc;) {
        int r = args_common(&a, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if ((r = args_vote_flag(&vote, argc, argv, &i)) < 0) return 2;
        if (r > 0) { i++; continue; }
        const char *f = argv[i];
        if (!strcmp(f, "-N")) { if (args_int(argc, argv, &i, 1, 1024, &N)) return 2; }
        else if (!strcmp(f, "--data")) { if (args_need(argc, argv, &i, &data)) return 2; }
        else if (!strcmp(f, "--out")) { if (args_need(argc, argv, &i, &out)) return 2; }
        else if (!strcmp(f, "--limit")) { if (args_int(argc, argv, &i, 0, 1 << 30, &limit)) return 2; }
        else if (!strcmp(f, "--parallel")) { if (args_int(argc, argv, &i, 1, 256, &par)) return 2; }
        else if (!strcmp(f, "--subsets")) { if (args_int(argc, argv, &i, 1, 1 << 20, &subsets)) return 2; }
        else if (!strcmp(f, "--swift")) { if (args_need(argc, argv, &i, &head_path)) return 2; }
        else if (!strcmp(f, "--select")) {
            if (args_need(argc, argv, &i, &v)) return 2;
            if ((method = ss_select_parse(v)) < 0) { fprintf(stderr, "slotswift eval: --select: unknown method '%s' (swift, vote, first, logprob)\n", v); return 2; }
        }
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) { eval_usage(); return 0; }
        else { fprintf(stderr, "slotswift eval: unknown flag '%s'\n", f); return 2; }
        i++;
    }
    if (!data || !out) { fprintf(stderr, "slotswift eval: --data FILE.jsonl and --out RESULTS.jsonl are required\n"); return 2; }
    if (a.prompt || a.prompt_file) { fprintf(stderr, "slotswift eval: prompts come from --data, not -p/-f\n"); return 2; }
    if (method < 0) method = head_path ? SS_SELECT_SWIFT : N > 1 ? SS_SELECT_VOTE : SS_SELECT_FIRST;
    if (method == SS_SELECT_SWIFT && !head_path) { fprintf(stderr, "slotswift eval: --select swift needs --swift HEAD.gguf\n"); return 2; }
    if ((vote.early_stop || vote.wave) && method != SS_SELECT_VOTE) { fprintf(stderr, "slotswift eval: --early-stop and --adaptive need --select vote\n"); return 2; }
    tool_item *items;
    int n_items = tool_read_dataset(data, &items);
    if (n_items < 0) return 1;
    if (n_items == 0) { fprintf(stderr, "slotswift eval: %s: no questions\n", data); tool_free_dataset(items, 0); return 1; }
    int n_read = n_items, n_ctx_flag = a.n_ctx;
    if (limit >= 0 && limit < n_items) n_items = limit;
    bool *done = tool_calloc(n_items + 1, sizeof(bool));
    // the results file, locked for this run; not yet read (its settings need the model)
    struct stat st_out;
    bool out_new = stat(out, &st_out) != 0;   // created by this run: removed if it stays empty
    bool writer = ssmpi_rank() == 0;   // under MPI, rank 0 alone reads and writes the results file
    int fd = writer ? outfile_open_append("eval", out) : -1;
    if (writer && fd < 0) { tool_free_dataset(items, n_read); free(done); return 1; }
    ss_model *m; ss_ctx *c;
    if (tool_load_data(&a, par, N, items, n_items, "eval", &m, &c)) {
        if (writer && out_new) unlink(out);
        tool_free_dataset(items, n_read); free(done); if (fd >= 0) close(fd); return 1;
    }
    // questions run in groups of --parallel P: their prefills and candidates decode together
    int *lens = tool_malloc(sizeof(int) * par);
    int32_t **toks = tool_calloc(par, sizeof(int32_t *));
    uint8_t **masks = tool_calloc(par, sizeof(uint8_t *));
    ss_gen_params *gps = tool_malloc(sizeof(ss_gen_params) * par);
    const ss_gen_params **gpp = tool_malloc(sizeof(ss_gen_params *) * par);
    ss_gen_result *res = tool_calloc(par, sizeof(ss_gen_result));
    int rc = 1;
    ss_swift_head head;
    bool have_head = false;
    int n_done = 0;
    if (head_path) { if (tool_load_head(m, head_path, &head)) goto done; have_head = true; }
    {
        char err[SS_ERRLEN];
        cJSON *settings = settings_build(&a, m, data, N, n_ctx_flag, err, sizeof err);
        if (!settings) { fprintf(stderr, "slotswift eval: %s\n", err); goto done; }
        char *hid = head_path ? settings_file_id(head_path, err, sizeof err) : NULL;
        cJSON_AddItemToObject(settings, "--swift", hid ? cJSON_CreateString(hid) : cJSON_CreateNull());
        cJSON_AddStringToObject(settings, "--select", ss_select_name(method));
        if (vote.early_stop) cJSON_AddBoolToObject(settings, "--early-stop", true);   // only when set: older files resume
        if (vote.wave) {
            ss_gen_params vp;
            args_vote_apply(&vote, &vp);
            cJSON_AddNumberToObject(settings, "--adaptive-wave", vp.adaptive);
            cJSON_AddNumberToObject(settings, "--adaptive-agree", vp.adaptive_agree);
            cJSON_AddNumberToObject(settings, "--adaptive-conf", vp.adaptive_conf);
            cJSON_AddNumberToObject(settings, "--adaptive-tokp", vp.adaptive_tokp);
            if (vp.adaptive_margin > 0) {   // (only when set: older files resume)
                cJSON_AddNumberToObject(settings, "--adaptive-margin", vp.adaptive_margin);
                cJSON_AddNumberToObject(settings, "--adaptive-gamma", vp.adaptive_gamma);
            }
        }
        free(hid);
        n_done = writer ? eval_resume(fd, out, data, &a, settings, done, n_items) : 0;
        cJSON_Delete(settings);
        if (n_done < 0) goto done;
        ssmpi_bcast_u64(&a.samp.seed);   // rank 0's seed (random without --seed) on every rank
    }
    if (n_done) fprintf(stderr, "slotswift eval: resuming: %d of %d questions already in %s\n", n_done, n_items, out);
    {
        eval_run ev = { &a, m, c, items, N, method, have_head ? &head : NULL, fd, out, 0, 0, lens, toks, masks, gps, gpp, res,
                        vote };
        work_job job = { "eval", n_items, done, par, eval_group, eval_store, eval_extra, &ev, NULL };
        if (ssmpi_active() ? ssmpi_work_run(&job) : work_run_local(&job)) goto done;
    }
    if (ssmpi_rank() > 0) { rc = 0; goto done; }   // the writer (rank 0) prints the summary
    if (eval_summary(out, N, method, n_items, subsets, a.samp.seed) == 0) rc = 0;
done:
    if (res) for (int g = 0; g < par; g++) ss_gen_result_free(&res[g]);
    free(lens); free(toks); free(masks); free(gps); free(gpp); free(res);
    if (fd >= 0) {
        if (rc && out_new && fstat(fd, &st_out) == 0 && st_out.st_size == 0) unlink(out);
        close(fd);
    }
    if (have_head) ss_swift_head_free(&head);
    tool_free_dataset(items, n_read);
    free(done);
    ss_ctx_free(c); ss_model_free(m);
    return rc;
}
