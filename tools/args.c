// args.c — shared flag parsing for the slotswift commands.
#include "args.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include "ss_common.h"

void args_init(ss_args *a) {
    memset(a, 0, sizeof *a);
    a->n_predict = 256;
    ss_sampling_params_default(&a->samp);
    ss_slot_params_default(&a->slot);
    a->slot.steps = 0;   // SLOT is off unless --slot-steps is given
}

int args_need(int argc, char **argv, int *i, const char **out) {
    if (*i + 1 >= argc) { fprintf(stderr, "slotswift: %s: missing value\n", argv[*i]); return -1; }
    *out = argv[++*i];
    return 0;
}

int args_int(int argc, char **argv, int *i, long lo, long hi, int *out) {
    const char *flag = argv[*i], *v;
    if (args_need(argc, argv, i, &v)) return -1;
    char *end; errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) { fprintf(stderr, "slotswift: %s: '%s' is not an integer\n", flag, v); return -1; }
    if (x < lo || x > hi) { fprintf(stderr, "slotswift: %s: %ld is out of range [%ld, %ld]\n", flag, x, lo, hi); return -1; }
    *out = (int)x;
    return 0;
}

int args_float(int argc, char **argv, int *i, double lo, double hi, float *out) {
    const char *flag = argv[*i], *v;
    if (args_need(argc, argv, i, &v)) return -1;
    char *end; errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) { fprintf(stderr, "slotswift: %s: '%s' is not a number\n", flag, v); return -1; }
    if (x < lo || x > hi) { fprintf(stderr, "slotswift: %s: %g is out of range [%g, %g]\n", flag, x, lo, hi); return -1; }
    *out = (float)x;
    return 0;
}

int args_vote_flag(args_vote *v, int argc, char **argv, int *i) {
    const char *f = argv[*i];
    int rc = 0;
    if (!strcmp(f, "--early-stop")) v->early_stop = true;
    else if (!strcmp(f, "--adaptive")) { if (!v->wave) v->wave = SS_ADAPTIVE_WAVE; }
    else if (!strcmp(f, "--adaptive-wave")) rc = args_int(argc, argv, i, 1, 1024, &v->wave);
    else if (!strcmp(f, "--adaptive-agree")) rc = args_float(argc, argv, i, 0, 1, &v->agree);
    else if (!strcmp(f, "--adaptive-conf")) rc = args_float(argc, argv, i, 0.01, 1, &v->conf);
    else if (!strcmp(f, "--adaptive-tokp")) rc = args_float(argc, argv, i, 0.01, 1, &v->tokp);
    else if (!strcmp(f, "--adaptive-margin")) rc = args_float(argc, argv, i, 0, 1e6, &v->margin);
    else if (!strcmp(f, "--adaptive-gamma")) rc = args_float(argc, argv, i, 0.01, 1e6, &v->gamma);
    else return 0;
    return rc ? -1 : 1;
}

void args_vote_apply(const args_vote *v, ss_gen_params *gp) {
    gp->early_stop = v->early_stop;
    gp->adaptive = v->wave;
    gp->adaptive_agree = v->agree;
    gp->adaptive_conf = v->conf > 0 ? v->conf : SS_ADAPTIVE_CONF;
    gp->adaptive_tokp = v->tokp > 0 ? v->tokp : SS_ADAPTIVE_TOKP;
    gp->adaptive_margin = v->margin;
    gp->adaptive_gamma = v->gamma > 0 ? v->gamma : SS_ADAPTIVE_GAMMA;
}

void args_print_vote_help(void) {
    printf("  --early-stop: (vote) stop the unfinished candidates once the finished ones decide the vote\n"
           "      (same answer as the full vote; stopped candidates are marked \"stopped\": true)\n"
           "  --adaptive: (vote) start %d candidate(s), then waves of max(1, n/2) more while undecided, up to N;\n"
           "      after each wave, stop when the vote over N is decided, or the Beta posterior that the leading\n"
           "      answer beats the second exceeds P with >= A of the votes, or a leading candidate's geometric-mean\n"
           "      token probability exceeds Q, or (with --adaptive-margin T) in the vote weighted by\n"
           "      exp(G * mean token log-probability) the heaviest answer outweighs the next by more than T;\n"
           "      with T the selected answer is that weighted vote's (README \"Adaptive sampling\")\n"
           "  --adaptive-wave K (%d) first wave, --adaptive-conf P (%g), --adaptive-agree A (0),\n"
           "      --adaptive-tokp Q (%g; 1 = off), --adaptive-margin T (0 = off), --adaptive-gamma G (%g)\n\n",
           SS_ADAPTIVE_WAVE, SS_ADAPTIVE_WAVE, SS_ADAPTIVE_CONF, SS_ADAPTIVE_TOKP, SS_ADAPTIVE_GAMMA);
}

static int args_u64(int argc, char **argv, int *i, uint64_t *out) {
    const char *flag = argv[*i], *v;
    if (args_need(argc, argv, i, &v)) return -1;
    char *end; errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') { fprintf(stderr, "slotswift: %s: '%s' is not a non-negative integer\n", flag, v); return -1; }
    *out = x;
    return 0;
}

// -ctk / -ctv TYPE: f32, f16 or q8_0 (llama.cpp's names) → SS_KV_*
static int args_kv_type(int argc, char **argv, int *i, int *out) {
    const char *v;
    if (args_need(argc, argv, i, &v)) return -1;
    static const char *const names[] = { "f32", "f16", "q8_0" };
    for (int k = 0; k < 3; k++)
        if (!strcmp(v, names[k])) { *out = SS_KV_F32 + k; return 0; }
    fprintf(stderr, "slotswift: %s: unknown KV cache type '%s' (f32, f16, q8_0)\n", argv[*i - 1], v);
    return -1;
}

#define IS(s) (!strcmp(f, s))
int args_common(ss_args *a, int argc, char **argv, int *i) {
    const char *f = argv[*i];
    int r = 0;
    if (IS("-m") || IS("--model"))          r = args_need(argc, argv, i, &a->model);
    else if (IS("-p") || IS("--prompt"))    r = args_need(argc, argv, i, &a->prompt);
    else if (IS("-f") || IS("--file"))      r = args_need(argc, argv, i, &a->prompt_file);
    else if (IS("--chat"))                  a->chat = true;
    else if (IS("--system"))                r = args_need(argc, argv, i, &a->system);
    else if (IS("-n") || IS("--n-predict")) r = args_int(argc, argv, i, -1, 1 << 20, &a->n_predict);
    else if (IS("-t") || IS("--threads"))   r = args_int(argc, argv, i, 0, 1024, &a->threads);
    else if (IS("-c") || IS("--ctx-size"))  r = args_int(argc, argv, i, 0, 1 << 22, &a->n_ctx);
    else if (IS("--kv-f32"))                a->kv_f32 = true;
    else if (IS("--kv-f16"))                a->kv_f32 = false;
    else if (IS("-ctk") || IS("--cache-type-k")) r = args_kv_type(argc, argv, i, &a->kv_type_k);
    else if (IS("-ctv") || IS("--cache-type-v")) r = args_kv_type(argc, argv, i, &a->kv_type_v);
    else if (IS("--temp"))                  r = args_float(argc, argv, i, 0, 100, &a->samp.temp);
    else if (IS("--top-k"))                 r = args_int(argc, argv, i, 0, 1 << 30, &a->samp.top_k);
    else if (IS("--top-p"))                 r = args_float(argc, argv, i, 0, 1, &a->samp.top_p);
    else if (IS("--min-p"))                 r = args_float(argc, argv, i, 0, 1, &a->samp.min_p);
    else if (IS("--repeat-penalty"))        r = args_float(argc, argv, i, 0, 100, &a->samp.repeat_penalty);
    else if (IS("--repeat-last-n"))         r = args_int(argc, argv, i, 0, 1 << 20, &a->samp.repeat_last_n);
    else if (IS("--presence-penalty"))      r = args_float(argc, argv, i, -100, 100, &a->samp.presence_penalty);
    else if (IS("--frequency-penalty"))     r = args_float(argc, argv, i, -100, 100, &a->samp.frequency_penalty);
    else if (IS("--seed"))                { r = args_u64(argc, argv, i, &a->samp.seed); a->seed_given = true; }
    else if (IS("--ignore-eos"))            a->ignore_eos = true;
    else if (IS("--stop")) {
        const char *s;
        r = args_need(argc, argv, i, &s);
        if (!r) {
            if (a->n_stops >= ARGS_MAX_STOPS) { fprintf(stderr, "slotswift: --stop: at most %d stop strings\n", ARGS_MAX_STOPS); return -1; }
            if (!*s) { fprintf(stderr, "slotswift: --stop: empty stop string\n"); return -1; }
            a->stops[a->n_stops++] = s;
        }
    }
    else if (IS("--slot-steps"))            r = args_int(argc, argv, i, 0, 1000, &a->slot.steps);
    else if (IS("--slot-lr"))               r = args_float(argc, argv, i, 0, 1e3, &a->slot.lr);
    else if (IS("--slot-beta1"))            r = args_float(argc, argv, i, 0, 0.999999, &a->slot.beta1);
    else if (IS("--slot-beta2"))            r = args_float(argc, argv, i, 0, 0.999999, &a->slot.beta2);
    else if (IS("--slot-eps"))              r = args_float(argc, argv, i, 1e-30, 1, &a->slot.eps);
    else if (IS("--slot-wd"))               r = args_float(argc, argv, i, 0, 1e3, &a->slot.wd);
    else if (IS("--slot-kl-max"))           r = args_float(argc, argv, i, 1e-9, 1e3, &a->slot.kl_max);
    else if (IS("--slot-safe"))             a->slot.safe = true;
    else if (IS("--slot-min-gain"))         r = args_float(argc, argv, i, 0, 0.999999, &a->slot.min_gain);
    else if (IS("--slot-span")) {
        r = args_need(argc, argv, i, &a->slot_span);
        if (!r && strcmp(a->slot_span, "user")) {        // else token ranges A:B[,C:D...]
            const char *p = a->slot_span;
            for (;;) {
                char *end;
                long lo = strtol(p, &end, 10);
                if (end == p || *end != ':' || lo < 0) break;
                p = end + 1;
                long hi = strtol(p, &end, 10);
                if (end == p || hi < lo) break;
                p = end;
                if (!*p) { (*i)++; return 1; }      // well formed
                if (*p++ != ',') break;
            }
            fprintf(stderr, "slotswift: --slot-span: '%s': expected 'user' or token ranges like 5:20,30:40\n", a->slot_span);
            return -1;
        }
    }
    else if (IS("-v") || IS("--verbose"))   a->verbose = true;
    else return 0;
    if (r) return -1;
    (*i)++;
    return 1;
}
#undef IS

void args_print_common_help(void) {
    printf(
"model / prompt:\n"
"  -m, --model FILE        GGUF model\n"
"  -p, --prompt TEXT       prompt text        -f, --file FILE   prompt from a file\n"
"  --chat                  wrap the prompt in the model's chat template (user message + generation prompt)\n"
"  --system TEXT           system message (with --chat)\n"
"  -n, --n-predict N       tokens to generate (default 256, -1 = until end of generation)\n"
"  -t, --threads N         threads (default: all cores)\n"
"  -c, --ctx-size N        context: tokens of one sequence, prompt + generation (default: the model's\n"
"                          trained context; beyond it warns); the KV cache is sized for all candidates\n"
"  --kv-f32                keep the KV cache in F32 (default F16, as llama.cpp)\n"
"  -ctk, -ctv TYPE         K / V cache type: f16 (default), q8_0 (about half the memory), f32\n"
"sampling (llama.cpp names):\n"
"  --temp T (0 = greedy)  --top-k K  --top-p P  --min-p P  --repeat-penalty R  --repeat-last-n N\n"
"  --presence-penalty P  --frequency-penalty P  --seed S  --ignore-eos  --stop STRING (repeatable)\n"
"SLOT (off unless --slot-steps > 0):\n"
"  --slot-steps S (e.g. 3)  --slot-lr LR (0.1)  --slot-beta1 B (0.9)  --slot-beta2 B (0.999)\n"
"  --slot-eps E (1e-5)  --slot-wd W (1e-8)  --slot-span SPANS (loss only on these prompt spans:\n"
"      'user' = the user message's tokens, or token ranges 'A:B,C:D')\n"
"  --slot-kl-max X  trust region: each step is halved until the mean KL(p||q) over the loss positions\n"
"      between the prompt's next-token distributions without and with delta is <= X\n"
"  --slot-safe      the trust region at the recommended bound (X = 0.05 unless --slot-kl-max)\n"
"  --slot-min-gain G  stop SLOT early when a step lowers the loss by less than G (relative)\n");
}

char *args_prompt_text(const ss_args *a, int *rc) {
    char err[SS_ERRLEN];
    *rc = 2;   // a usage error, unless the file cannot be read
    if (a->prompt && a->prompt_file) { fprintf(stderr, "slotswift: give -p or -f, not both\n"); return NULL; }
    if (a->prompt) return tool_strdup(a->prompt);
    if (a->prompt_file) {
        char *t = ss_read_text(a->prompt_file, SS_PROMPT_MAX_BYTES, NULL, err, sizeof err);
        if (!t) { fprintf(stderr, "slotswift: %s\n", err); *rc = 1; }
        return t;
    }
    fprintf(stderr, "slotswift: no prompt: give -p TEXT or -f FILE\n");
    return NULL;
}
