// evalres.h — eval's results file: its settings record, the reader (resume, summary,
// swift-combine) and the summary.
//
// Format (JSON lines): line 1 is the settings record
//   {"slotswift_eval":1,"data_path":"...","settings":{...settings.h...}}
// and every further line one question:
//   {"index":Q,"reference":..,"selected":J,"select":..,"answer":..,"correct":bool,"tokens":T,
//    "seconds":S,"n_prompt":P,["slot_loss":[..],]"text":..,"candidates":[{"answer":..,"correct":bool,
//    "tokens":T,"logprob_mean":x|null,"logprob_min":..,"swift":x|null,"votes":V[,"text":..]},..]}
// Reading: a file whose first line is not a settings record is refused (an older results file
// without one, or not a results file at all); a bad line is an error naming its number; only a
// last line without its newline (a killed writer) is dropped, and only after the first line
// showed the file is eval's own.
#ifndef SS_EVALRES_H
#define SS_EVALRES_H
#include <stdbool.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "slotswift.h"

#define EVALRES_KEY "slotswift_eval"

typedef struct {
    int          index, line;
    bool         correct;          // the selected candidate's
    double       seconds, tokens;
    int          n;                // candidates
    char       **ans;              // [n] extracted answers (NULL = none)
    bool        *ok;               // [n]
    bool         has_swift;        // every candidate has a numeric "swift"
    ss_gen_cand *c;                // [n] n_tokens 1, logprob_sum = logprob_mean (-inf if null), swift
} evalres_q;

typedef struct {
    cJSON     *settings;           // the record's "settings" object
    evalres_q *q;
    int        n;
    size_t     keep;               // bytes of complete lines (a torn last line starts here)
} evalres_file;

// Parse a results file held in buf[0..len) (need not be NUL-terminated). An empty buffer is a
// new file (no settings, no questions). Errors name PATH and the line. 0 / -1.
int  evalres_parse(evalres_file *f, const char *path, const char *buf, size_t len, char *err, size_t errlen);
void evalres_free(evalres_file *f);
// the settings record line (with its newline), malloc'ed
char *evalres_header(const char *data_path, const cJSON *settings);
// The summary over the questions with index < n_items: one JSON line on `out`, a table on stderr.
// pass@k / vote@k / selected@k / logprob@k on the first k candidates and averaged over `subsets`
// random k-subsets (seeded by seed). Returns -1 (message printed) if there are no questions.
int  evalres_summary(const evalres_file *f, int n_items, int N, int method, int subsets, uint64_t seed, FILE *out);

#endif
