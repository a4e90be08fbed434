// cmd_bench.c — `slotswift bench -m MODEL [-p 128,512] [-n 64] [-d 0,2048] [-b 1,8] [-t 2] [-r 3] [-ctk q8_0] [--json]
//                [--slot-steps S [--slot-prompt 150] [--slot-gen 256]]`
// Prompt processing (ppP), generation (tgN) and batched generation (tgNxbB: B sequences decoding
// together after one shared prompt) in tokens/s, mean ± sd and median over repeats. -p, -n, -d and -b
// take lists; every test runs at every depth D of -d (as llama-bench's -d: the timed part starts
// with D tokens already in the cache, untimed). A batched test's shared prompt is the depth, or the
// first -p length at depth 0. The context is sized for the largest test. In the same run the
// machine's streaming read bandwidth and FMA peak, and what each test achieves as a fraction of
// them; peak RSS. With --slot-steps: SLOT's overhead on a generation, as a ratio.
// FLOPs count the weight matrices (2 per multiply-add; attention not included): for pp the LM head
// once per prompt (only the last position's logits are computed), for tg once per token.
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include "cmds.h"
#include "tool.h"
#include "ss_bench.h"
#include "slotswift.h"

typedef struct { const char *name; int depth; double mean, sd, median; double gbs, gflops; double cores; } brow;

// process CPU time (all threads), seconds
static double cpu_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *ftype_name(int64_t ft) {
    switch (ft) {
    case 0: return "F32"; case 1: return "F16"; case 2: return "Q4_0"; case 3: return "Q4_1";
    case 7: return "Q8_0"; case 8: return "Q5_0"; case 9: return "Q5_1"; case 10: return "Q2_K";
    case 11: return "Q3_K_S"; case 12: return "Q3_K_M"; case 13: return "Q3_K_L"; case 14: return "Q4_K_S";
    case 15: return "Q4_K_M"; case 16: return "Q5_K_S"; case 17: return "Q5_K_M"; case 18: return "Q6_K";
    case 32: return "BF16"; default: return "?";
    }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// mean, sample standard deviation and median of x[0..n) (x is sorted in place)
static void stats(double *x, int n, double *mean, double *sd, double *median) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    *median = n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static uint64_t bench_rng = 88172645463325252ULL;
static int32_t rand_tok(int V) {   // xorshift: reproducible random prompt tokens
    bench_rng ^= bench_rng << 13; bench_rng ^= bench_rng >> 7; bench_rng ^= bench_rng << 17;
    return (int32_t)(bench_rng % (uint64_t)V);
}

// append positions [from, to) of sequence s with random tokens (logits for the last one if `last`)
// and decode them; 0 or -1
static int fill(ss_ctx *c, ss_batch *b, int s, int from, int to, int V, bool last) {
    if (to <= from) return 0;
    ss_batch_clear(b);
    for (int i = from; i < to; i++) ss_batch_add(b, s, i, rand_tok(V), last && i == to - 1 ? SS_OUT_LOGITS : 0);
    return ss_decode(c, b) ? -1 : 0;
}

// prefill p tokens in one sequence after d tokens already in its cache (untimed); returns the
// seconds of the p tokens (sequence freed); *cpu += the process CPU seconds of the timed part
static double run_pp(ss_ctx *c, ss_batch *b, int d, int p, int V, double *cpu) {
    int s = ss_seq_new(c);
    if (fill(c, b, s, 0, d, V, false)) return -1;
    double t = ss_time(), c0 = cpu_time();
    int r = fill(c, b, s, d, d + p, V, true);
    t = ss_time() - t;
    *cpu += cpu_time() - c0;
    ss_seq_free(c, s);
    return r ? -1 : t;
}

// B sequences forked after a shared prompt of p tokens (untimed; p = 0: from an empty context),
// n decode steps together; seconds
static double run_tg(ss_ctx *c, ss_batch *b, int p, int n, int B, int V, double *cpu) {
    int seqs[1024];
    seqs[0] = ss_seq_new(c);
    if (fill(c, b, seqs[0], 0, p, V, false)) return -1;
    for (int k = 1; k < B; k++) seqs[k] = ss_seq_fork(c, seqs[0]);
    int32_t tok[1024];
    for (int k = 0; k < B; k++) tok[k] = rand_tok(V);
    double t = ss_time(), c0 = cpu_time();
    for (int step = 0; step < n; step++) {
        ss_batch_clear(b);
        for (int k = 0; k < B; k++) ss_batch_add(b, seqs[k], p + step, tok[k], SS_OUT_LOGITS);
        if (ss_decode(c, b)) return -1;
        for (int k = 0; k < B; k++) tok[k] = ss_argmax(ss_get_logits(c, k), V);
    }
    t = ss_time() - t;
    *cpu += cpu_time() - c0;
    for (int k = 0; k < B; k++) ss_seq_free(c, seqs[k]);
    return t;
}

// a comma-separated list of integers in [lo, hi], at most cap of them: `-p 128,512,2048`; -1 on a
// bad list (one line on stderr naming the flag)
static int parse_list(const char *flag, const char *v, long lo, long hi, int *out, int cap) {
    int n = 0;
    for (const char *p = v;;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < lo || x > hi || n == cap || (*end && *end != ',')) {
            fprintf(stderr, "slotswift bench: %s: expected a list of at most %d integers in [%ld, %ld] like 1,8, got '%s'\n", flag, cap, lo, hi, v);
            return -1;
        }
        out[n++] = (int)x;
        if (!*end) return n;
        p = end + 1;
    }
}

int cmd_bench(int argc, char **argv) {
    ss_args a;
    args_init(&a);
    int reps = 3, slot_prompt = 150, slot_gen = 256;
    int pps[16] = { 128 }, npp = 1, tgs[16] = { 64 }, ntg = 1, ds[16] = { 0 }, nd = 1, bs[16] = { 1, 8 }, nbs = 2;
    bool json = false;
    for (int i = 1; i < argc;) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-p") || !strcmp(f, "-n") || !strcmp(f, "-d") || !strcmp(f, "-b")) {
            if (args_need(argc, argv, &i, &v)) return 2;
            int *dst = f[1] == 'p' ? pps : f[1] == 'n' ? tgs : f[1] == 'd' ? ds : bs;
            int n = parse_list(f, v, f[1] == 'b' ? 1 : 0, f[1] == 'b' ? 1000 : f[1] == 'd' ? 1 << 20 : 1 << 16, dst, 16);
            if (n < 0) return 2;
            *(f[1] == 'p' ? &npp : f[1] == 'n' ? &ntg : f[1] == 'd' ? &nd : &nbs) = n;
        }
        else if (!strcmp(f, "-r")) { if (args_int(argc, argv, &i, 1, 1000, &reps)) return 2; }
        else if (!strcmp(f, "--slot-prompt")) { if (args_int(argc, argv, &i, 2, 1 << 16, &slot_prompt)) return 2; }
        else if (!strcmp(f, "--slot-gen")) { if (args_int(argc, argv, &i, 1, 1 << 16, &slot_gen)) return 2; }
        else if (!strcmp(f, "--json")) json = true;
        else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            printf("usage: slotswift bench -m MODEL [-p 128,512] [-n 64] [-d 0,2048] [-b 1,8] [-t THREADS] [-r 3] [-ctk f16|q8_0] [-ctv f16|q8_0] [--json]\n"
                   "                        [--slot-steps S [--slot-lr LR] [--slot-prompt 150] [--slot-gen 256]]\n");
            return 0;
        }
        else {
            int r = args_common(&a, argc, argv, &i);
            if (r < 0) return 2;
            if (r == 0) { fprintf(stderr, "slotswift bench: unknown flag '%s'\n", f); return 2; }
            continue;
        }
        i++;
    }
    int maxb = 1, maxp = 0, maxn = 0, maxd = 0;
    for (int k = 0; k < nbs; k++) if (bs[k] > maxb) maxb = bs[k];
    for (int k = 0; k < npp; k++) if (pps[k] > maxp) maxp = pps[k];
    for (int k = 0; k < ntg; k++) if (tgs[k] > maxn) maxn = tgs[k];
    for (int k = 0; k < nd; k++) if (ds[k] > maxd) maxd = ds[k];
    // a batched test's shared prompt: the depth, or at depth 0 the first prompt length
    const int p0 = pps[0];
    enum { MAX_ROWS = 128 };
    if (nd * (npp + ntg * nbs) > MAX_ROWS) {
        fprintf(stderr, "slotswift bench: %d tests (-d × (-p + -n × -b)); at most %d\n", nd * (npp + ntg * nbs), MAX_ROWS);
        return 2;
    }
    if (a.n_ctx == 0) {   // the largest test: depth + prompt, shared prompt + B × generated, SLOT's run
        long need = (long)maxd + maxp;
        const long shared = maxd > p0 ? maxd : p0;
        if (shared + (long)maxn * maxb > need) need = shared + (long)maxn * maxb;
        if (slot_prompt + slot_gen > need) need = slot_prompt + slot_gen;
        need += 64;
        if (need > (1 << 22)) { fprintf(stderr, "slotswift bench: the tests need a context of %ld tokens (at most %d)\n", need, 1 << 22); return 2; }
        a.n_ctx = (int)need;
    }
    ss_model *m; ss_ctx *c;
    if (tool_load_kv(&a, a.n_ctx, maxb, false, &m, &c)) return 1;   // speed only: -c is the bench's KV cache, no warning
    const ss_hparams *hp = ss_model_hparams(m);
    int V = hp->n_vocab;
    const char *type = ftype_name(ss_model_meta_int(m, "general.file_type", -1));
    int threads = ss_ctx_n_threads(c);
    int bcap = maxb;
    if (maxp > bcap) bcap = maxp;
    if (maxd > bcap) bcap = maxd;
    if (p0 > bcap) bcap = p0;
    ss_batch b = ss_batch_new(bcap);

    double wb = (double)ss_bench_weight_bytes(m), fpt = 2 * ss_bench_flops_per_token(m);
    const double lm_flops = 2.0 * (double)hp->n_vocab * (double)hp->n_embd;   // LM head [V, D]

    brow rows[MAX_ROWS];
    int nr = 0;
    double *x = tool_malloc(sizeof(double) * reps);
    char names[MAX_ROWS][32];
    for (int di = 0; di < nd; di++) {
        const int d = ds[di];
        for (int pi = 0; pi < npp; pi++) {
            const int pp = pps[pi];
            if (pp <= 0) continue;
            // prompt processing computes logits for the last position only: per prompt token, the
            // layers' FLOPs plus 1/p of the LM head's
            const double fpt_pp = fpt - lm_flops + lm_flops / pp;
            double cpu = 0, wall = 0;
            run_pp(c, &b, 0, pp < 16 ? pp : 16, V, &cpu);   // warm-up
            cpu = 0;
            for (int r = 0; r < reps; r++) { double t = run_pp(c, &b, d, pp, V, &cpu); if (t < 0) goto fail; x[r] = pp / t; wall += t; }
            snprintf(names[nr], 32, "pp%d", pp);
            brow *row = &rows[nr]; row->name = names[nr]; row->depth = d; nr++;
            stats(x, reps, &row->mean, &row->sd, &row->median);
            row->gflops = row->mean * fpt_pp / 1e9; row->gbs = 0;
            row->cores = cpu / wall;
        }
        for (int ti = 0; ti < ntg; ti++) {
            const int tg = tgs[ti];
            if (tg <= 0) continue;
            for (int k = 0; k < nbs; k++) {
                const int B = bs[k], p = d > 0 ? d : B > 1 ? p0 : 0;
                double cpu = 0, wall = 0;
                run_tg(c, &b, B > 1 && p0 < 16 ? p0 : 0, 4, B, V, &cpu);   // warm-up
                cpu = 0;
                for (int r = 0; r < reps; r++) { double t = run_tg(c, &b, p, tg, B, V, &cpu); if (t < 0) goto fail; x[r] = (double)B * tg / t; wall += t; }
                if (B == 1) snprintf(names[nr], 32, "tg%d", tg); else snprintf(names[nr], 32, "tg%dxb%d", tg, B);
                brow *row = &rows[nr]; row->name = names[nr]; row->depth = p; nr++;
                stats(x, reps, &row->mean, &row->sd, &row->median);
                row->gbs = row->mean / B * wb / 1e9;      // weights are read once per step
                row->gflops = row->mean * fpt / 1e9;
                row->cores = cpu / wall;
            }
        }
    }
    double slot_ratio = -1, t_base = 0, t_slot = 0, slot_mb = 0, slot_own = 0;   // slot_own: SLOT's own time (mean)
    if (a.slot.steps > 0) {
        // same prompt and greedy generation with and without SLOT, alternating, median of reps
        int32_t *prompt = tool_malloc(sizeof(int32_t) * slot_prompt);
        for (int i = 0; i < slot_prompt; i++) prompt[i] = rand_tok(V);
        double *tb = tool_malloc(sizeof(double) * reps), *ts = tool_malloc(sizeof(double) * reps);
        char err[SS_ERRLEN];
        for (int r = 0; r < reps; r++) {
            for (int with = 0; with < 2; with++) {
                ss_gen_params gp;
                ss_gen_params_default(&gp);
                gp.n_predict = slot_gen; gp.ignore_eos = true; gp.samp.temp = 0;
                if (with) { gp.slot = a.slot; gp.slot.no_loss_after = true; }   // as generate: no loss at the final delta
                ss_gen_result res;
                double t = ss_time();
                if (ss_gen_run(c, prompt, slot_prompt, &gp, &res, err, sizeof err)) { fprintf(stderr, "slotswift bench: %s\n", err); goto fail; }
                t = ss_time() - t;
                if (with) { ts[r] = t; slot_mb = res.slot_peak_bytes / 1e6; slot_own += res.t_slot / reps; } else tb[r] = t;
                ss_gen_result_free(&res);
            }
        }
        double mean, sd;
        stats(tb, reps, &mean, &sd, &t_base);
        stats(ts, reps, &mean, &sd, &t_slot);
        slot_ratio = (t_slot - t_base) / t_base;
        free(prompt); free(tb); free(ts);
    }
    size_t rss = ss_bench_peak_rss();   // before the bandwidth test's 512 MB buffer
    // the machine, measured in the same run with the same threads
    double bw = ss_bench_read_bw(c, (size_t)512 << 20, 5);
    double peak = ss_bench_fma_peak(c);
    double core_peak = ss_bench_fma_core_peak();   // one core, per CPU-second (robust to load)
    for (int i = 0; i < nr; i++) if (rows[i].gbs > 0 && rows[i].gbs < 1e-9) rows[i].gbs = 0;
    const char *mname = ss_model_name(m);
    static const char *const kv_names[] = { "f16", "f32", "f16", "q8_0" };   // SS_KV_* (default: f16 or --kv-f32)
    const char *kv_name[2] = { a.kv_f32 && !a.kv_type_k ? "f32" : kv_names[a.kv_type_k], a.kv_f32 && !a.kv_type_v ? "f32" : kv_names[a.kv_type_v] };
    if (json) {
        for (int i = 0; i < nr; i++) {
            printf("{\"model\":"); tool_json_str(stdout, mname);
            printf(",\"type\":\"%s\",\"type_k\":\"%s\",\"type_v\":\"%s\",\"threads\":%d,\"test\":\"%s\",\"depth\":%d,\"t_s_mean\":%.3f,\"t_s_sd\":%.3f,\"t_s_median\":%.3f", type, kv_name[0], kv_name[1], threads, rows[i].name,
                   rows[i].depth, rows[i].mean, rows[i].sd, rows[i].median);
            printf(",\"gb_s\":%.3f,\"bw_frac\":%.4f,\"gflop_s\":%.3f,\"flop_frac\":%.4f,\"machine_bw_gb_s\":%.3f,\"machine_fma_gflop_s\":%.3f,\"peak_rss_mb\":%.1f",
                   rows[i].gbs, bw > 0 ? rows[i].gbs / bw : 0, rows[i].gflops, peak > 0 ? rows[i].gflops / peak : 0, bw, peak, rss / 1e6);
            printf(",\"cores_used\":%.3f,\"gflop_per_cpu_s\":%.3f,\"core_fma_gflop_s\":%.3f}\n",
                   rows[i].cores, rows[i].cores > 0 ? rows[i].gflops / rows[i].cores : 0, core_peak);
        }
        if (slot_ratio > -1) {
            printf("{\"model\":"); tool_json_str(stdout, mname);
            printf(",\"type\":\"%s\",\"threads\":%d,\"test\":\"slot%d_p%d_g%d\",\"t_base_s\":%.4f,\"t_slot_s\":%.4f,\"slot_overhead\":%.4f,\"t_slot_own_s\":%.4f,\"slot_own_ratio\":%.4f,\"slot_extra_mb\":%.1f}\n",
                   type, threads, a.slot.steps, slot_prompt, slot_gen, t_base, t_slot, slot_ratio, slot_own, slot_own / t_base, slot_mb);
        }
    } else {
        char label[MAX_ROWS][48];   // as llama-bench: "tg64 @ d2048"
        for (int i = 0; i < nr; i++)
            if (rows[i].depth) snprintf(label[i], sizeof label[i], "%s @ d%d", rows[i].name, rows[i].depth);
            else snprintf(label[i], sizeof label[i], "%s", rows[i].name);
        printf("| %-24s | %8s | %-7s | %7s | %-18s | %16s | %8s | %8s |\n", "model", "size MB", "type", "threads", "test", "t/s", "GB/s", "GFLOP/s");
        printf("|%.26s|%.10s|%.9s|%.9s|%.20s|%.18s|%.10s|%.10s|\n", "--------------------------", "----------", "---------", "---------",
               "--------------------", "------------------", "----------", "----------");
        for (int i = 0; i < nr; i++)
            printf("| %-24.24s | %8.1f | %-7s | %7d | %-18s | %8.2f ± %5.2f | %8.2f | %8.1f |\n", mname, (double)ss_model_file_size(m) / 1e6, type,
                   threads, label[i], rows[i].mean, rows[i].sd, rows[i].gbs, rows[i].gflops);
        printf("\nKV cache K %s, V %s\n", kv_name[0], kv_name[1]);
        printf("machine: streaming read %.1f GB/s, FMA peak %.1f GFLOP/s (%d threads); one core %.1f GFLOP/s per CPU-second\n",
               bw, peak, threads, core_peak);
        for (int i = 0; i < nr; i++) {
            printf("  %-18s median %.2f t/s; ", label[i], rows[i].median);
            if (rows[i].gbs > 0) printf("%.1f%% of read bandwidth (%.1f MB of weights per step)", 100 * rows[i].gbs / bw, wb / 1e6);
            else printf("%.1f%% of FMA peak", 100 * rows[i].gflops / peak);
            // CPU the process actually got (the machine may be shared) and the work per CPU-second
            if (rows[i].cores > 0)
                printf("; %.2f of %d cores obtained, %.1f GFLOP per CPU-second = %.1f%% of one core's FMA peak\n", rows[i].cores, threads,
                       rows[i].gflops / rows[i].cores, core_peak > 0 ? 100 * rows[i].gflops / rows[i].cores / core_peak : 0);
            else printf("\n");
        }
        if (slot_ratio > -1)
            printf("SLOT %d steps, prompt %d, generate %d: %.3f s vs %.3f s without: overhead %.2f%%; SLOT's own time %.3f s = %.2f%% "
                   "of the generation without it (the steadier figure on a shared machine); extra memory %.1f MB\n",
                   a.slot.steps, slot_prompt, slot_gen, t_slot, t_base, 100 * slot_ratio, slot_own, 100 * slot_own / t_base, slot_mb);
        printf("peak RSS %.1f MB (model file %.1f MB)\n", rss / 1e6, (double)ss_model_file_size(m) / 1e6);
    }
    free(x);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
    return 0;
fail:
    fprintf(stderr, "slotswift bench: %s\n", ss_ctx_error(c));
    free(x);
    ss_batch_free(&b);
    ss_ctx_free(c); ss_model_free(m);
    return 1;
}
