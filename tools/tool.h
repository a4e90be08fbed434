// tool.h — helpers shared by the commands: load model + context from flags, build the prompt
// (raw or through the chat template) and tokenize it, print JSON numbers.
#ifndef SS_TOOL_H
#define SS_TOOL_H
#include <stdio.h>
#include "args.h"
#include "slotswift.h"
#include "ss_common.h"

// load the model of a->model and a context sized for n_seq sequences; prints the error and returns -1
int  tool_load(const ss_args *a, int n_seq, ss_model **m, ss_ctx **c);
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

// generation parameters from the shared flags: n candidates, SLOT mask, seed (seed_offset added)
void tool_gen_params(const ss_args *a, const ss_ctx *c, int n_cand, const uint8_t *slot_mask,
                     uint64_t seed_offset, ss_gen_params *gp);
// load a SWIFT head file and check it was trained for model m (prints the error)
int tool_load_head(const ss_model *m, const char *path, ss_swift_head *head);
// one dataset question: GSM8K (question, answer "... #### N") or MATH (problem, answer)
typedef struct { char *question; char *reference; } tool_item;
// read a jsonl dataset; returns count or -1 (error printed naming the file and line)
int  tool_read_dataset(const char *path, tool_item **items);
void tool_free_dataset(tool_item *items, int n);
// progress bar with ETA on stderr: "label [=====>   ] done/total  extra  ETA 1m02s"
void tool_progress(const char *label, int done, int total, double t_start, const char *extra);
#endif
