// args.h — flags shared by the commands (model, prompt, sampling, SLOT, threads), parsed with
// validation: a bad value is one line naming the flag, and exit code 2.
#ifndef SS_ARGS_H
#define SS_ARGS_H
#include <stdbool.h>
#include "slotswift.h"
#include "ss_common.h"
#include "xalloc.h"

#define ARGS_MAX_STOPS 16

typedef struct {
    const char *model;          // -m
    const char *prompt;         // -p
    const char *prompt_file;    // -f
    bool  chat;                 // --chat
    const char *system;         // --system
    int   n_predict;            // -n (default 256; -1 = until end of generation / context)
    int   threads;              // -t (0 = all cores)
    int   n_ctx;                // -c (0 = model default)
    bool  kv_f32;               // --kv-f32 (default: F16 K/V cache, as llama.cpp)
    int   kv_type_k, kv_type_v;  // -ctk / -ctv: SS_KV_* (SS_KV_DEFAULT: as --kv-f32 says)
    ss_sampling_params samp;    // --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n
                                // --presence-penalty --frequency-penalty --seed
    bool  seed_given;           // --seed was given (else settings_pick_seed draws one for sampling runs)
    bool  ignore_eos;           // --ignore-eos
    const char *stops[ARGS_MAX_STOPS]; int n_stops;   // --stop STRING (repeatable)
    ss_slot_params slot;        // --slot-steps --slot-lr --slot-beta1 --slot-beta2 --slot-eps --slot-wd
    const char *slot_span;      // --slot-span (see slot span syntax in cmd_generate)
    bool  verbose;              // -v
} ss_args;

void args_init(ss_args *a);     // defaults: llama.cpp's sampling defaults, SLOT off (steps 0)
// Try to parse argv[*i] as a common flag. Returns 1 if consumed (advancing *i past its value),
// 0 if not a common flag, -1 on a bad value (message printed to stderr).
int  args_common(ss_args *a, int argc, char **argv, int *i);
// value helpers for a command's own flags (print "slotswift: FLAG: ..." and return -1 on error)
int  args_need(int argc, char **argv, int *i, const char **out);      // string value
int  args_int(int argc, char **argv, int *i, long lo, long hi, int *out);
int  args_float(int argc, char **argv, int *i, double lo, double hi, float *out);
// the vote's stopping flags of bon and eval: --early-stop, --adaptive, --adaptive-wave K,
// --adaptive-agree A, --adaptive-conf P, --adaptive-tokp Q, --adaptive-margin T, --adaptive-gamma G
// (ss_gen_params' fields; 0 = the default)
typedef struct { bool early_stop; int wave; float agree, conf, tokp, margin, gamma; } args_vote;
// 1 consumed (advancing *i past its value), 0 not a vote flag, -1 bad value (printed)
int  args_vote_flag(args_vote *v, int argc, char **argv, int *i);
void args_vote_apply(const args_vote *v, ss_gen_params *gp);
void args_print_vote_help(void);
// the common help text for the flags above
void args_print_common_help(void);
// the prompt text from -p or -f (malloc'ed), with an error message on failure
char *args_prompt_text(const ss_args *a, int *rc);   // NULL + *rc: 2 bad flags, 1 the file (printed)

#endif
