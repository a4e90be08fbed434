// cmd_swift_combine.c — `slotswift swift-combine --results RESULTS --scores SCORES.jsonl
//                         --method ranking|scaling [--out OUT.jsonl]`
// Combines SWIFT rewards with an external score per candidate (e.g. a text reward model's), as the
// SWIFT reference defines it: `ranking` (a candidate's combined rank is the worse of its two ranks),
// `scaling` (min-max normalise both within the candidates, average).
//   RESULTS: `eval` result lines (index, candidates[].swift, candidates[].correct) or one `bon --json` object
//   SCORES:  one line per question: {"index": Q, "scores": [s_0, ..., s_{N-1}]} (for bon: index 0)
// Prints one line per question {"index", "selected", "correct"} (to --out or stdout) and on stderr the
// accuracy of the combined choice, of SWIFT alone and of the external score alone (when graded).
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "tool.h"
#include "slotswift.h"

typedef struct { int index; int n; float *scores; } ext_row;

static int read_scores(const char *path, ext_row **rows) {
    char err[SS_ERRLEN];
    char *buf = ss_read_file(path, NULL, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift swift-combine: %s\n", err); return -1; }
    int n = 0, cap = 64, line = 0;
    ext_row *r = tool_malloc(sizeof(ext_row) * cap);
    for (char *p = buf, *e; *p; p = e + 1) {
        e = strchr(p, '\n');
        if (e) *e = 0;
        line++;
        if (*p) {
            cJSON *o = cJSON_Parse(p);
            cJSON *ix = o ? cJSON_GetObjectItem(o, "index") : NULL, *sc = o ? cJSON_GetObjectItem(o, "scores") : NULL;
            if (!cJSON_IsNumber(ix) || !cJSON_IsArray(sc)) {
                fprintf(stderr, "slotswift swift-combine: %s: line %d: expected {\"index\": Q, \"scores\": [...]}\n", path, line);
                cJSON_Delete(o); free(buf);
                for (int i = 0; i < n; i++) free(r[i].scores);
                free(r);
                return -1;
            }
            if (n == cap) { cap *= 2; r = tool_realloc(r, sizeof(ext_row) * cap); }
            r[n].index = ix->valueint;
            r[n].n = cJSON_GetArraySize(sc);
            r[n].scores = tool_malloc(sizeof(float) * (r[n].n + 1));
            for (int k = 0; k < r[n].n; k++) {
                cJSON *v = cJSON_GetArrayItem(sc, k);
                r[n].scores[k] = cJSON_IsNumber(v) ? (float)v->valuedouble : NAN;
            }
            n++;
            cJSON_Delete(o);
        }
        if (!e) break;
    }
    free(buf);
    *rows = r;
    return n;
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
    ext_row *ext;
    int n_ext = read_scores(scores, &ext);
    if (n_ext < 0) return 1;
    char err[SS_ERRLEN];
    char *buf = ss_read_file(results, NULL, err, sizeof err);
    if (!buf) { fprintf(stderr, "slotswift swift-combine: %s\n", err); return 1; }
    FILE *fo = out ? fopen(out, "w") : stdout;
    if (!fo) { fprintf(stderr, "slotswift swift-combine: %s: cannot write\n", out); free(buf); return 1; }
    int rc = 1, nq = 0, n_comb = 0, n_sw = 0, n_ex = 0, graded = 1, line = 0;
    // a bon --json object spans lines: parse the whole file as one object first
    cJSON *whole = cJSON_Parse(buf);
    for (char *p = buf, *e; *p; p = e + 1) {
        e = whole ? NULL : strchr(p, '\n');
        if (e) *e = 0;
        line++;
        cJSON *o = whole ? whole : (*p ? cJSON_Parse(p) : NULL);
        if (o) {
            cJSON *ix = cJSON_GetObjectItem(o, "index"), *cs = cJSON_GetObjectItem(o, "candidates");
            int q = cJSON_IsNumber(ix) ? ix->valueint : 0;
            int n = cJSON_GetArraySize(cs);
            ext_row *er = NULL;
            for (int k = 0; k < n_ext; k++) if (ext[k].index == q) er = &ext[k];
            if (!cJSON_IsArray(cs) || n == 0) { fprintf(stderr, "slotswift swift-combine: %s: line %d: no candidates\n", results, line); goto done; }
            if (!er || er->n != n) { fprintf(stderr, "slotswift swift-combine: %s: question %d: need %d external scores\n", scores, q, n); goto done; }
            float *sw = tool_malloc(sizeof(float) * n);
            bool *ok = tool_calloc(n, sizeof(bool));
            for (int k = 0; k < n; k++) {
                cJSON *c = cJSON_GetArrayItem(cs, k), *s = cJSON_GetObjectItem(c, "swift"), *cr = cJSON_GetObjectItem(c, "correct");
                if (!cJSON_IsNumber(s)) { fprintf(stderr, "slotswift swift-combine: %s: question %d: candidate %d has no swift reward (run with --swift HEAD)\n", results, q, k); free(sw); free(ok); goto done; }
                sw[k] = (float)s->valuedouble;
                if (cJSON_IsBool(cr)) ok[k] = cJSON_IsTrue(cr); else graded = 0;
            }
            int sel = ss_swift_combine(sw, er->scores, n, method);
            int s_sw = ss_swift_combine(sw, NULL, n, "swift"), s_ex = ss_swift_combine(er->scores, NULL, n, "swift");
            fprintf(fo, "{\"index\":%d,\"selected\":%d", q, sel);
            if (graded) fprintf(fo, ",\"correct\":%s", ok[sel] ? "true" : "false");
            fprintf(fo, "}\n");
            nq++; n_comb += ok[sel]; n_sw += ok[s_sw]; n_ex += ok[s_ex];
            free(sw); free(ok);
            if (!whole) cJSON_Delete(o);
        }
        if (whole || !e) break;
    }
    if (graded && nq)
        fprintf(stderr, "swift-combine (%s): %d questions: combined %.4f, swift alone %.4f, external alone %.4f\n",
                method, nq, (double)n_comb / nq, (double)n_sw / nq, (double)n_ex / nq);
    rc = 0;
done:
    cJSON_Delete(whole);
    if (out) fclose(fo);
    free(buf);
    for (int k = 0; k < n_ext; k++) free(ext[k].scores);
    free(ext);
    return rc;
}
