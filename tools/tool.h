// tool.h — helpers shared by the commands: load model + context from flags, build the prompt
// (raw or through the chat template) and tokenize it, print JSON numbers.
#ifndef SS_TOOL_H
#define SS_TOOL_H
#include <stdio.h>
#include "args.h"
#include "slotswift.h"
#include "ss_common.h"

// The context of one sequence (prompt + generated tokens): -c, else the model's trained context
// (every command alike; -c beyond the trained context warns once, at load).
#define TOOL_CTX_MAX (1 << 22)
int  tool_ctx_seq(const ss_args *a, const ss_model *m);
// Load the model of a->model and a context for n_prompts prompts of n_cand candidates each that
// decode together: the KV cache holds every sequence at its longest (prompt + -n tokens, at most
// the context; the page each fork copies counted). Prints the error and returns -1.
int  tool_load(const ss_args *a, int n_prompts, int n_cand, ss_model **m, ss_ctx **c);
// tool_load, then every dataset question rendered and tokenized: one that does not fit the context
// is refused before the run starts ("slotswift CMD: question I: ..."; m and c freed)
typedef struct tool_item tool_item;
int  tool_load_data(const ss_args *a, int n_prompts, int n_cand, const tool_item *items, int n_items, const char *cmd,
                    ss_model **m, ss_ctx **c);
// the same with a KV cache of kv_tokens (at least the context) for n_seq sequences, warning about -c
// when `warn` (serve: -c is the KV cache that requests share and the longest request's context;
// bench: a speed test, no warning)
int  tool_load_kv(const ss_args *a, int64_t kv_tokens, int n_seq, bool warn, ss_model **m, ss_ctx **c);
// Render `user` (+ a->system) with the model's chat template when a->chat, else use it raw.
// Returns malloc'ed text, NULL on error (printed).
char *tool_render_prompt(const ss_model *m, const ss_args *a, const char *user);
// Tokenize a prompt as llama.cpp does for the golden files: control tokens parsed, the model's
// default BOS (not added twice when the text already starts with it). *n receives the count.
int32_t *tool_tokenize_prompt(const ss_model *m, const char *text, int *n);
// %.9g with JSON-safe non-finite values
void tool_json_float(FILE *f, double x);
// a JSON string literal (quotes and escapes; invalid UTF-8 bytes become U+FFFD)
void tool_json_str(FILE *f, const char *s);

// the per-step SLOT report as a JSON object (loss before, mean KL after and scale of each step done;
// seconds < 0: left out, as in bon --json whose output is otherwise deterministic)
void tool_json_slot(FILE *f, const ss_slot_params *p, int steps_done, const float *loss, const float *kl,
                    const float *scale, float loss_after, double seconds);
// generation parameters from the shared flags for a prompt of T tokens: n candidates, SLOT mask,
// seed (seed_offset added), -n bounded by the context; -1 + err when the prompt does not fit it
int  tool_gen_params(const ss_args *a, const ss_ctx *c, int T, int n_cand, const uint8_t *slot_mask,
                     uint64_t seed_offset, ss_gen_params *gp, char *err, size_t errlen);
// load a SWIFT head file and check it was trained for model m (prints the error)
int tool_load_head(const ss_model *m, const char *path, ss_swift_head *head);
// one dataset question: GSM8K (question, answer "... #### N") or MATH (problem, answer)
struct tool_item { char *question; char *reference; };
// read a jsonl dataset; returns count or -1 (error printed naming the file and line)
int  tool_read_dataset(const char *path, tool_item **items);
void tool_free_dataset(tool_item *items, int n);
// progress bar with ETA on stderr: "label [=====>   ] done/total  extra  ETA 1m02s"
void tool_progress(const char *label, int done, int total, double t_start, const char *extra);
#endif
