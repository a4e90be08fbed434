// fuzz_results.c — libFuzzer target for eval's results-file reader (resume, summary, swift-combine):
// parse from memory; a refused file must leave one line naming it; an accepted one must have a
// settings object (or be empty), sane questions, and survive the summary.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evalres.h"
#include "select.h"
#include "ss_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *null_out;
    if (!null_out) null_out = fopen("/dev/null", "w");
    char err[SS_ERRLEN];
    evalres_file f;
    if (evalres_parse(&f, "fuzz.jsonl", (const char *)data, size, err, sizeof err) != 0) {
        if (f.q || f.settings || strncmp(err, "fuzz.jsonl: ", 12) || strchr(err, '\n')) abort();
        return 0;
    }
    if (size > 0 && !cJSON_IsObject(f.settings)) abort();
    if (f.keep > size) abort();
    for (int i = 0; i < f.n; i++) {
        const evalres_q *q = &f.q[i];
        if (q->index < 0 || q->n < 1 || q->line < 2) abort();
        for (int j = 0; j < q->n; j++) if (q->ans[j]) (void)strlen(q->ans[j]);
    }
    if (f.n > 0) {
        FILE *saved = stderr;   // the summary's table goes to stderr: keep the fuzzer's output clean
        stderr = null_out;
        evalres_summary(&f, 1 << 30, 4, SS_SELECT_VOTE, 2, 1, null_out);
        stderr = saved;
    }
    char *h = evalres_header("x", f.settings ? f.settings : NULL);
    free(h);
    evalres_free(&f);
    return 0;
}
