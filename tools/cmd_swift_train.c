// cmd_swift_train.c — `slotswift swift-train --in DIR --out HEAD.gguf [flags]`: train a SWIFT reward
// head on a feature store written by swift-collect (format: src/ss_featstore.h) and write it as a
// small GGUF with its provenance (model name / fingerprint / layer spec from DIR/meta.json, the
// training settings, the validation metrics). Progress and per-epoch lines on stderr, a one-line
// summary on stdout. Exit codes: 0 ok, 1 bad data / training failure / write error, 2 bad flags.
// Under mpirun / srun (ssmpi.h) each rank reads its part of the store (ss_swift_train_dist) and
// rank 0 writes the head.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cmds.h"
#include "outfile.h"
#include "args.h"
#include "train_report.h"
#include "ss_common.h"
#include "ss_featstore.h"
#include "ss_swift.h"
#include "ssmpi.h"

static void swift_train_usage(FILE *f) {
    fprintf(f,
"usage: slotswift swift-train --in DIR --out HEAD.gguf [flags]\n"
"  --in DIR            feature store written by swift-collect (meta.json, index.jsonl, features.bin)\n"
"  --out FILE          the head file to write (GGUF, written atomically)\n"
"  --loss L            bce (default) | hinge | pairwise\n"
"  --lr LR             AdamW learning rate (default 1e-4)\n"
"  --wd WD             AdamW decoupled weight decay (default 1e-5)\n"
"  --epochs N          maximum epochs (default 40; 0: the init itself, e.g. with --init conf)\n"
"  --val F             fraction of questions held out for validation (default 0.2; 0 = none)\n"
"  --patience N        stop after N epochs without a better validation loss / best-of-N (default 3; 0 = never)\n"
"  --batch B           examples (pairs for pairwise) per step (default 16)\n"
"  --swift-layers SPEC train on a subset of the stored layers (e.g. last4 of a store collected with all)\n"
"  --swift-conf        the store has the confidence features (swift-collect --swift-conf): required with\n"
"                      such a store, refused without; the head records them and bon / eval compute them\n"
"  --seed S            seed of the init, the split and the shuffles (default 42)\n"
"  --no-gate           plain mean of the token rewards (no gate)\n"
"  --standardize       train on z-scored features (training-split statistics), folded back into the head\n"
"  --init I            uniform (default: nn.Linear's) | conf: start from the confidence solution, R = the\n"
"                      mean token log-prob (what --select logprob ranks by; needs --swift-conf); --wd then\n"
"                      pulls the weights toward that init instead of toward 0\n"
"  --select-epoch S    loss (default): keep the epoch with the lowest validation loss | bon: the highest\n"
"                      validation best-of-N accuracy (the init, epoch 0, included; ties keep the earlier)\n"
"  -q, --quiet         no progress / per-epoch lines\n");
}

static int swift_train_seed(int argc, char **argv, int *i, uint64_t *out) {
    const char *flag = argv[*i], *v;
    if (args_need(argc, argv, i, &v)) return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') {
        fprintf(stderr, "slotswift: %s: '%s' is not a non-negative integer\n", flag, v);
        return -1;
    }
    *out = x;
    return 0;
}

// train_info + {"data": DIR, "dtype": ...} when it fits the head's buffer
static void swift_train_add_provenance(ss_swift_head *h, const char *dir, const ss_featstore_data *d) {
    cJSON *o = cJSON_Parse(h->train_info);
    if (!o) return;
    cJSON_AddStringToObject(o, "data", dir);
    cJSON_AddStringToObject(o, "dtype", d->meta.f16 ? "f16" : "f32");
    char *s = cJSON_PrintUnformatted(o);
    if (s && strlen(s) < sizeof h->train_info) strcpy(h->train_info, s);
    free(s);
    cJSON_Delete(o);
}

// --swift-layers SPEC: train on a subset of the stored layers (e.g. last4 out of all): the examples'
// feature rows are rebuilt with only those layers' columns (same dtype); d->meta.spec becomes SPEC.
// Only the examples [lo, hi) are read (under MPI, this rank's part); the others' X become NULL.
// The confidence features (conf) stay at the end of each row.
static int select_layers(ss_featstore_data *d, const char *spec, int lo, int hi, void ***bufs, char *err, size_t errlen) {
    const ss_swift_spec *have = &d->meta.spec;
    if (have->logits || have->n_layers < 1) return ss_err(err, errlen, "the store holds logits, not layers");
    const int nc = have->conf ? SS_SWIFT_CONF_DIM : 0;
    int D = (have->dim - nc) / have->n_layers, top = have->layer[have->n_layers - 1];
    ss_swift_spec want;
    if (ss_swift_spec_parse(&want, spec, have->norm, false, top, D, 1, err, errlen)) return -1;
    ss_swift_spec_set_conf(&want, have->conf);
    int col[256];
    for (int k = 0; k < want.n_layers; k++) {
        col[k] = -1;
        for (int j = 0; j < have->n_layers; j++) if (have->layer[j] == want.layer[k]) col[k] = j;
        if (col[k] < 0) return ss_err(err, errlen, "layer %d is not in the store (stored: '%s')", want.layer[k], have->layers);
    }
    size_t esz = d->meta.f16 ? 2 : 4;
    *bufs = tool_calloc(d->n, sizeof(void *));
    for (int i = 0; i < d->n; i++) {
        ss_swift_example *e = &d->examples[i];
        if (i < lo || i >= hi) { e->X = NULL; continue; }
        char *dst = tool_malloc((size_t)e->T * want.dim * esz + 1);
        const char *src = e->X;
        for (int t = 0; t < e->T; t++)
            for (int k = 0; k < want.n_layers; k++)
                memcpy(dst + ((size_t)t * want.dim + (size_t)k * D) * esz, src + ((size_t)t * have->dim + (size_t)col[k] * D) * esz, D * esz);
        if (nc)
            for (int t = 0; t < e->T; t++)
                memcpy(dst + ((size_t)t * want.dim + (size_t)want.dim - nc) * esz, src + ((size_t)t * have->dim + (size_t)have->dim - nc) * esz, nc * esz);
        e->X = dst;
        (*bufs)[i] = dst;
    }
    d->meta.spec = want;
    return 0;
}

int cmd_swift_train(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *loss = "bce", *subset = NULL, *init = "uniform", *select = "loss";
    ss_swift_train_params p;
    ss_swift_train_params_default(&p);
    bool progress = true, conf = false;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        int r = 0;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { swift_train_usage(stdout); return 0; }
        else if (!strcmp(f, "--in")) r = args_need(argc, argv, &i, &in);
        else if (!strcmp(f, "--out")) r = args_need(argc, argv, &i, &out);
        else if (!strcmp(f, "--loss")) r = args_need(argc, argv, &i, &loss);
        else if (!strcmp(f, "--lr")) r = args_float(argc, argv, &i, 1e-12, 10, &p.lr);
        else if (!strcmp(f, "--wd")) r = args_float(argc, argv, &i, 0, 10, &p.wd);
        else if (!strcmp(f, "--epochs")) r = args_int(argc, argv, &i, 0, 1000000, &p.epochs);
        else if (!strcmp(f, "--val")) r = args_float(argc, argv, &i, 0, 0.95, &p.val_frac);
        else if (!strcmp(f, "--patience")) r = args_int(argc, argv, &i, 0, 1000000, &p.patience);
        else if (!strcmp(f, "--batch")) r = args_int(argc, argv, &i, 1, 1 << 20, &p.batch);
        else if (!strcmp(f, "--seed")) r = swift_train_seed(argc, argv, &i, &p.seed);
        else if (!strcmp(f, "--no-gate")) p.no_gate = true;
        else if (!strcmp(f, "--standardize")) p.standardize = true;
        else if (!strcmp(f, "--swift-conf")) conf = true;
        else if (!strcmp(f, "--swift-layers")) r = args_need(argc, argv, &i, &subset);
        else if (!strcmp(f, "--init")) r = args_need(argc, argv, &i, &init);
        else if (!strcmp(f, "--select-epoch")) r = args_need(argc, argv, &i, &select);
        else if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) progress = false;
        else { fprintf(stderr, "slotswift: swift-train: unknown flag '%s' (see --help)\n", f); return 2; }
        if (r) return 2;
    }
    if (!in) { fprintf(stderr, "slotswift: swift-train: missing --in DIR (a feature store from swift-collect)\n"); return 2; }
    if (!out) { fprintf(stderr, "slotswift: swift-train: missing --out HEAD.gguf\n"); return 2; }
    p.loss = ss_swift_loss_parse(loss);
    if (p.loss < 0) { fprintf(stderr, "slotswift: --loss: '%s' is not bce, hinge or pairwise\n", loss); return 2; }
    if (!strcmp(init, "uniform")) p.init = SS_SWIFT_INIT_UNIFORM;
    else if (!strcmp(init, "conf")) p.init = SS_SWIFT_INIT_CONF;
    else { fprintf(stderr, "slotswift: --init: '%s' is not uniform or conf\n", init); return 2; }
    if (!strcmp(select, "loss")) p.select = SS_SWIFT_SELECT_LOSS;
    else if (!strcmp(select, "bon")) p.select = SS_SWIFT_SELECT_BON;
    else { fprintf(stderr, "slotswift: --select-epoch: '%s' is not loss or bon\n", select); return 2; }
    if (p.init == SS_SWIFT_INIT_CONF && !conf) {
        fprintf(stderr, "slotswift: --init conf: needs the confidence features (--swift-conf)\n");
        return 2;
    }

    // fail before training when the head cannot be written: its directory must exist and be writable
    // (under MPI, rank 0 writes it)
    bool writer = ssmpi_rank() == 0;
    char *odir = tool_strdup(out), *slash = strrchr(odir, '/');
    if (slash) slash[slash == odir ? 1 : 0] = 0;
    int ok = !writer || access(slash ? odir : ".", W_OK) == 0;
    if (!ok) fprintf(stderr, "slotswift: --out %s: directory '%s' does not exist or is not writable\n", out, slash ? odir : ".");
    free(odir);
    if (!ok || (writer && outfile_guard("swift-train", out))) return 1;

    char err[SS_ERRLEN];
    ss_featstore_data d;
    if (ss_featstore_read(&d, in, err, sizeof err)) { fprintf(stderr, "slotswift: %s\n", err); return 1; }
    if (d.n == 0) {
        fprintf(stderr, "slotswift: %s: the feature store holds no candidates\n", in);
        ss_featstore_data_free(&d);
        return 1;
    }
    if (d.meta.spec.conf != conf) {   // the head records it; bon / eval then capture them too
        fprintf(stderr, "slotswift: swift-train: %s was collected %s --swift-conf; train %s it (--swift-conf)\n", in,
                d.meta.spec.conf ? "with" : "without", d.meta.spec.conf ? "with" : "without");
        ss_featstore_data_free(&d);
        return 1;
    }
    // under MPI each rank reads its part of the store: contiguous examples of about equal token counts
    ss_swift_dist dist = { 0, 1, 0, d.n, NULL, NULL };
    if (ssmpi_active()) ssmpi_train_dist(&dist, d.examples, d.n);
    void **sub_bufs = NULL;
    if (subset && select_layers(&d, subset, dist.lo, dist.hi, &sub_bufs, err, sizeof err)) {
        fprintf(stderr, "slotswift: --swift-layers: %s\n", err);
        ss_featstore_data_free(&d);
        return 1;
    }
    long tokens = 0;
    int n_correct = 0;
    for (int i = 0; i < d.n; i++) { tokens += d.examples[i].T; n_correct += d.examples[i].label > 0.5; }
    // a degenerate store trains to a meaningless head with a perfect score: refuse it
    const char *why = tokens == 0 ? "no candidate has token features (0 tokens per candidate)"
                    : n_correct == 0 ? "every candidate is labelled 0 (wrong): nothing to learn"
                    : n_correct == d.n ? "every candidate is labelled 1 (correct): nothing to learn" : NULL;
    if (why) {
        fprintf(stderr, "slotswift: swift-train: %s: %s\n", in, why);
        if (sub_bufs) { for (int i = 0; i < d.n; i++) free(sub_bufs[i]); free(sub_bufs); }
        ss_featstore_data_free(&d);
        return 1;
    }
    progress &= writer;
    if (progress)
        fprintf(stderr, "swift-train: %s: %d candidates of %d questions (%.1f%% correct), %ld tokens, model '%s', layers '%s'%s%s, dim %d, %s\n",
                in, d.n, d.n_questions, 100.0 * n_correct / d.n, tokens, d.meta.model_name, d.meta.spec.layers,
                d.meta.spec.norm ? " (normed)" : "", d.meta.spec.conf ? " + confidence" : "", d.meta.spec.dim, d.meta.f16 ? "f16" : "f32");

    ss_swift_head h;
    ss_swift_head_init(&h, &d.meta.spec);
    snprintf(h.model_name, sizeof h.model_name, "%s", d.meta.model_name);
    h.model_fingerprint = d.meta.model_fingerprint;
    ss_swift_train_result res;
    train_report rep;
    if (progress) train_report_attach(&rep, &p);
    double t0 = ss_time();
    int rc = 1;
    if (ss_swift_train_dist(&h, d.examples, d.n, &p, ssmpi_active() ? &dist : NULL, &res, err, sizeof err)) {
        fprintf(stderr, "slotswift: %s\n", err);
        goto done;
    }
    swift_train_add_provenance(&h, in, &d);
    if (!writer) { rc = 0; goto done; }
    if (ss_swift_head_save(&h, out, err, sizeof err)) {
        fprintf(stderr, "slotswift: %s\n", err);
        goto done;
    }
    char vl[32], va[32];
    if (isfinite(res.val_loss)) snprintf(vl, sizeof vl, "%.5f", res.val_loss); else snprintf(vl, sizeof vl, "n/a");
    if (isfinite(res.val_acc)) snprintf(va, sizeof va, "%.4f", res.val_acc); else snprintf(va, sizeof va, "n/a");
    printf("swift-train: wrote %s: loss %s, best epoch %d of %d run, train loss %.5f acc %.4f, val loss %s acc %s, dim %d, %.1fs\n",
           out, ss_swift_loss_name(p.loss), res.best_epoch, res.epochs_run, res.train_loss, res.train_acc, vl, va,
           h.dim, ss_time() - t0);
    rc = 0;
done:
    ss_swift_head_free(&h);
    if (sub_bufs) { for (int i = 0; i < d.n; i++) free(sub_bufs[i]); free(sub_bufs); }
    ss_featstore_data_free(&d);
    return rc;
}
