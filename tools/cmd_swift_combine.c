// cmd_swift_combine.c — `slotswift swift-combine --results RESULTS --scores SCORES.jsonl
//                         --method ranking|scaling [--out OUT.jsonl]`
// Combines SWIFT rewards with an external score per candidate (e.g. a text reward model's), as the
// SWIFT reference defines it: `ranking` (a candidate's combined rank is the worse of its two ranks),
// `scaling` (min-max normalise both within the candidates, average).
//   RESULTS: an `eval --swift` results file (every question; evalres.h) or one `bon --json` object
//   SCORES:  one line per question: {"index": Q, "scores": [s_0, ..., s_{N-1}]} (for bon: index 0)
// Every line of both inputs is checked first (a bad or missing score, a line without swift rewards:
// an error naming the file and line); then one line per question {"index", "selected", "correct"}
// goes to stdout or, written atomically, to --out; on stderr the
// accuracy of the combined choice, of SWIFT alone and of the external score alone (when graded).
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "tool.h"
#include "slotswift.h"
#include "evalres.h"
#include "outfile.h"

typedef struct { int index; int n; float *scores; } ext_row;

static void free_scores(ext_row *r, int n) {
    for (int i = 0; i < n; i++) free(r[i].scores);
    free(r);
}

// SCORES: every line {"index": Q, "scores": [numbers]}; anything else is an error naming the line
static int read_scores(const char *path, ext_row **rows) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift swift-combine: %s\n", err); return -1; }
    int n = 0, cap = 64, line = 0;
    ext_row *r = ss_malloc(sizeof(ext_row) * cap);
    char why[160];
    for (size_t pos = 0; pos < len;) {
        char *p = buf + pos, *e = memchr(p, '\n', len - pos);
        size_t ll = e ? (size_t)(e - p) : len - pos;
        pos += ll + 1;
        line++;
        if (ll == 0 || strspn(p, " \t\r") == ll) continue;   // blank line
        cJSON *o = cJSON_ParseWithLength(p, ll);
        cJSON *ix = o ? cJSON_GetObjectItemCaseSensitive(o, "index") : NULL, *sc = o ? cJSON_GetObjectItemCaseSensitive(o, "scores") : NULL;
        why[0] = 0;
        if (!cJSON_IsObject(o)) snprintf(why, sizeof why, "not a JSON object");
        else if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble != floor(ix->valuedouble) || ix->valuedouble > 1 << 30)
            snprintf(why, sizeof why, "index: missing or not a question number");
        else if (!cJSON_IsArray(sc) || cJSON_GetArraySize(sc) < 1) snprintf(why, sizeof why, "scores: missing or not a non-empty array");
        for (int k = 0; k < n && !why[0]; k++)
            if (r[k].index == ix->valueint) snprintf(why, sizeof why, "question %d has scores twice", ix->valueint);
        if (!why[0]) {
            if (n == cap) { cap *= 2; r = ss_realloc(r, sizeof(ext_row) * cap); }
            r[n].index = ix->valueint;
            r[n].n = cJSON_GetArraySize(sc);
            r[n].scores = ss_malloc(sizeof(float) * (r[n].n + 1));
            for (int k = 0; k < r[n].n && !why[0]; k++) {
                cJSON *v = cJSON_GetArrayItem(sc, k);
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !isfinite((float)v->valuedouble))
                    snprintf(why, sizeof why, "scores[%d] is not a finite number", k);
                else r[n].scores[k] = (float)v->valuedouble;
            }
            n++;
        }
        cJSON_Delete(o);
        if (why[0]) {
            fprintf(stderr, "slotswift swift-combine: %s: line %d: %s (expected {\"index\": Q, \"scores\": [numbers]})\n", path, line, why);
            free(buf);
            free_scores(r, n);
            return -1;
        }
    }
    free(buf);
    *rows = r;
    return n;
}

// RESULTS as questions: eval's results file (evalres.h), or one bon --json object (question 0)
static int read_results(const char *path, evalres_file *f, int *graded) {
    char err[SS_ERRLEN];
    size_t len;
    char *buf = ss_read_file(path, &len, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift swift-combine: %s\n", err); return -1; }
    const char *end = NULL;
    cJSON *whole = cJSON_ParseWithOpts(buf, &end, true);   // the whole file one object: bon --json
    int rc = 0;
    if (whole && cJSON_IsObject(whole) && cJSON_GetObjectItemCaseSensitive(whole, "candidates")) {
        memset(f, 0, sizeof *f);
        cJSON *cs = cJSON_GetObjectItemCaseSensitive(whole, "candidates"), *c;
        int n = cJSON_GetArraySize(cs), j = 0;
        if (!cJSON_IsArray(cs) || n < 1) { fprintf(stderr, "slotswift swift-combine: %s: candidates: missing or empty\n", path); rc = -1; }
        else {
            f->q = ss_calloc(1, sizeof(evalres_q));
            f->n = 1;
            evalres_q *q = f->q;
            q->n = n; q->line = 1; q->has_swift = true;
            q->ok = ss_calloc(n, sizeof(bool));
            q->ans = ss_calloc(n, sizeof(char *));
            q->c = ss_calloc(n, sizeof(ss_gen_cand));
            *graded = 1;   // graded only if every candidate has "correct"
            cJSON_ArrayForEach(c, cs) {
                cJSON *sw = cJSON_GetObjectItemCaseSensitive(c, "swift"), *cr = cJSON_GetObjectItemCaseSensitive(c, "correct");
                if (cJSON_IsNumber(sw)) q->c[j].swift = (float)sw->valuedouble; else q->has_swift = false;
                if (cJSON_IsBool(cr)) q->ok[j] = cJSON_IsTrue(cr); else *graded = 0;
                j++;
            }
        }
    } else if (evalres_parse(f, path, buf, len, err, sizeof err)) {
        fprintf(stderr, "slotswift swift-combine: %s\n", err);
        rc = -1;
    } else {
        *graded = 1;   // eval grades every candidate
        if (f->keep < len) { fprintf(stderr, "slotswift swift-combine: %s: the last line is incomplete (is eval still running?)\n", path); evalres_free(f); rc = -1; }
        else if (f->n == 0) { fprintf(stderr, "slotswift swift-combine: %s: no results\n", path); evalres_free(f); rc = -1; }
    }
    cJSON_Delete(whole);
    free(buf);
    return rc;
}

int cmd_swift_combine(int argc, char **argv) {
    const char *results = NULL, *scores = NULL, *method = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        int r = 0;
        if (!strcmp(f, "--results")) r = args_need(argc, argv, &i, &results);
        else if (!strcmp(f, "--scores")) r = args_need(argc, argv, &i, &scores);
        else if (!strcmp(f, "--method")) r = args_need(argc, argv, &i, &method);
        else if (!strcmp(f, "--out")) r = args_need(argc, argv, &i, &out);
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            printf("usage: slotswift swift-combine --results RESULTS.jsonl --scores SCORES.jsonl --method ranking|scaling [--out OUT.jsonl]\n");
            return 0;
        } else { fprintf(stderr, "slotswift swift-combine: unknown flag '%s'\n", f); return 2; }
        if (r) return 2;
    }
    if (!results || !scores || !method) { fprintf(stderr, "slotswift swift-combine: --results, --scores and --method are required\n"); return 2; }
    if (strcmp(method, "ranking") && strcmp(method, "scaling")) { fprintf(stderr, "slotswift swift-combine: --method: '%s' is not ranking or scaling\n", method); return 2; }
    if (out && outfile_guard("swift-combine", out)) return 1;
    ext_row *ext;
    int n_ext = read_scores(scores, &ext);
    if (n_ext < 0) return 1;
    evalres_file rf;
    int graded = 0;
    if (read_results(results, &rf, &graded)) { free_scores(ext, n_ext); return 1; }
    // every input is checked before anything is written: the lines go to memory first
    char *text = NULL;
    size_t text_len = 0;
    FILE *fo = open_memstream(&text, &text_len);
    int rc = 1, nq = 0, n_comb = 0, n_sw = 0, n_ex = 0;
    for (int i = 0; i < rf.n; i++) {
        const evalres_q *qr = &rf.q[i];
        int q = qr->index, n = qr->n;
        ext_row *er = NULL;
        for (int k = 0; k < n_ext; k++) if (ext[k].index == q) er = &ext[k];
        if (!er || er->n != n) {
            fprintf(stderr, "slotswift swift-combine: %s: question %d: need %d external scores, found %d\n", scores, q, n, er ? er->n : 0);
            goto done;
        }
        if (!qr->has_swift) {
            fprintf(stderr, "slotswift swift-combine: %s: line %d: question %d: a candidate has no swift reward (run eval with --swift HEAD)\n", results, qr->line, q);
            goto done;
        }
        float *sw = ss_malloc(sizeof(float) * n);
        for (int k = 0; k < n; k++) sw[k] = qr->c[k].swift;
        int sel = ss_swift_combine(sw, er->scores, n, method);
        int s_sw = ss_swift_combine(sw, NULL, n, "swift"), s_ex = ss_swift_combine(er->scores, NULL, n, "swift");
        fprintf(fo, "{\"index\":%d,\"selected\":%d", q, sel);
        if (graded) fprintf(fo, ",\"correct\":%s", qr->ok[sel] ? "true" : "false");
        fprintf(fo, "}\n");
        nq++; n_comb += qr->ok[sel]; n_sw += qr->ok[s_sw]; n_ex += qr->ok[s_ex];
        free(sw);
    }
    fclose(fo); fo = NULL;
    if (out) { if (outfile_write("swift-combine", out, text, text_len)) goto done; }
    else if (fwrite(text, 1, text_len, stdout) != text_len || fflush(stdout) != 0) {
        fprintf(stderr, "slotswift swift-combine: stdout: write failed: %s\n", strerror(errno));
        goto done;
    }
    if (graded && nq)
        fprintf(stderr, "swift-combine (%s): %d questions: combined %.4f, swift alone %.4f, external alone %.4f\n",
                method, nq, (double)n_comb / nq, (double)n_sw / nq, (double)n_ex / nq);
    rc = 0;
done:
    if (fo) fclose(fo);
    free(text);
    evalres_free(&rf);
    free_scores(ext, n_ext);
    return rc;
}
