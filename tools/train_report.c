// train_report.c — swift-train's progress bar and notes on stderr.
#include "train_report.h"
#include "ss_common.h"
#include <stdio.h>
#include <math.h>
#include <unistd.h>

static void train_fmt_eta(char *buf, size_t n, double sec) {
    if (!isfinite(sec) || sec < 0) { snprintf(buf, n, "?"); return; }
    long s = (long)(sec + 0.5);
    if (s >= 3600) snprintf(buf, n, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else snprintf(buf, n, "%lds", s);
}

// "swift-train [=====>    ] 120/800 epoch 3/40 ETA 1m02s" (only on a terminal, at most 5 per second)
static void train_on_step(void *ud, int epoch, long done, long total) {
    train_report *r = ud;
    if (!isatty(2) || total <= 0 || ss_time() - r->last_draw <= 0.2) return;
    r->last_draw = ss_time();
    double el = ss_time() - r->t0;
    char eta[32];
    train_fmt_eta(eta, sizeof eta, done > 0 ? el / done * (total - done) : NAN);
    int w = 30, fill = (int)((double)done / total * w);
    char bar[40];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[w] = 0;
    fprintf(stderr, "\rswift-train [%s] %ld/%ld epoch %d/%d ETA %s   ", bar, done, total, epoch, r->epochs, eta);
    fflush(stderr);
}

// a note; on a terminal it first clears the progress bar's line
static void train_on_note(void *ud, const char *line) {
    (void)ud;
    fprintf(stderr, "%s%s\n", isatty(2) ? "\r\033[K" : "", line);
}

void train_report_attach(train_report *r, ss_swift_train_params *p) {
    r->t0 = ss_time();
    r->last_draw = 0;
    r->epochs = p->epochs;
    p->on_step = train_on_step;
    p->on_note = train_on_note;
    p->ud = r;
}
