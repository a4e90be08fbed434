// featstore.c — SWIFT feature store (format and crash-safety rules in ss_featstore.h).
#include "ss_featstore.h"
#include "ss_quant.h"
#include "ss_outfile.h"
#include "settings.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <cjson/cJSON.h>

#define FS_FORMAT "slotswift-swift-features"
#define FS_MAX_QUESTION (1 << 24)
#define FS_MAX_CAND (1 << 16)
#define FS_MAX_TOKENS (1 << 24)

static char *fs_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = tool_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static uint64_t fs_align(uint64_t x) { return (x + SS_FEATSTORE_ALIGN - 1) / SS_FEATSTORE_ALIGN * SS_FEATSTORE_ALIGN; }

static size_t fs_elt(const ss_featstore_meta *m) { return m->f16 ? 2 : 4; }

// bytes of a candidate's features, 0 on overflow (T * dim * elt)
static uint64_t fs_bytes(const ss_featstore_meta *m, int64_t T) {
    if (T < 0 || T > FS_MAX_TOKENS) return 0;
    return (uint64_t)T * (uint64_t)m->spec.dim * fs_elt(m);
}

static int fs_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

// ---------------------------------------------------------------- meta.json

static char *fs_meta_json(const ss_featstore_meta *m, char *err, size_t errlen) {
    cJSON *o = cJSON_CreateObject();
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)m->model_fingerprint);
    cJSON_AddStringToObject(o, "format", FS_FORMAT);
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "model_name", m->model_name);
    cJSON_AddStringToObject(o, "model_fingerprint", fp);
    cJSON_AddStringToObject(o, "layers", m->spec.layers);
    cJSON *ll = cJSON_AddArrayToObject(o, "layer_list");
    for (int i = 0; i < m->spec.n_layers; i++) cJSON_AddItemToArray(ll, cJSON_CreateNumber(m->spec.layer[i]));
    cJSON_AddBoolToObject(o, "norm", m->spec.norm);
    cJSON_AddBoolToObject(o, "logits", m->spec.logits);
    cJSON_AddNumberToObject(o, "dim", m->spec.dim);
    if (m->spec.conf) cJSON_AddBoolToObject(o, "conf", true);   // + log p and entropy per row (absent: none)
    cJSON_AddStringToObject(o, "dtype", m->f16 ? "f16" : "f32");
    cJSON_AddNumberToObject(o, "row_align", SS_FEATSTORE_ALIGN);
    cJSON *c = m->collect[0] ? cJSON_Parse(m->collect) : cJSON_CreateObject();
    if (!c || !cJSON_IsObject(c)) {
        cJSON_Delete(c);
        cJSON_Delete(o);
        ss_err(err, errlen, "feature store meta: 'collect' settings are not a JSON object");
        return NULL;
    }
    cJSON_AddItemToObject(o, "collect", c);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

static bool fs_get_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) return false;
    *out = (int64_t)d;
    return true;
}

static bool fs_get_str(const cJSON *o, const char *key, char *buf, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) return false;
    strcpy(buf, v->valuestring);
    return true;
}

static bool fs_get_bool(const cJSON *o, const char *key, bool *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(v)) return false;
    *out = cJSON_IsTrue(v);
    return true;
}

int ss_featstore_meta_read(ss_featstore_meta *m, const char *dir, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    char *path = fs_path(dir, "meta.json");
    size_t len;
    char *text = ss_read_file(path, &len, err, errlen);
    int rc = text ? ss_featstore_meta_parse(m, text, len, path, err, errlen) : -1;
    free(text);
    free(path);
    return rc;
}

int ss_featstore_meta_parse(ss_featstore_meta *m, const char *text, size_t len, const char *path, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    int rc = -1;
    cJSON *o = cJSON_ParseWithLength(text, len);
    char fmt[64], fp[32], dtype[8];
    int64_t ver, dim;
    ss_swift_spec *s = &m->spec;
    if (!o) { ss_err(err, errlen, "%s: invalid JSON (truncated or corrupt): repair it or move the store away", path); goto done; }
    if (!cJSON_IsObject(o)) { ss_err(err, errlen, "%s: not a JSON object", path); goto done; }
    if (!fs_get_str(o, "format", fmt, sizeof fmt) || strcmp(fmt, FS_FORMAT)) { ss_err(err, errlen, "%s: format is not '%s'", path, FS_FORMAT); goto done; }
    if (!fs_get_int(o, "version", 1, 1, &ver)) { ss_err(err, errlen, "%s: unsupported version", path); goto done; }
    if (!fs_get_str(o, "model_name", m->model_name, sizeof m->model_name)) { ss_err(err, errlen, "%s: model_name: missing", path); goto done; }
    if (!fs_get_str(o, "model_fingerprint", fp, sizeof fp) || strlen(fp) != 16 || strspn(fp, "0123456789abcdefABCDEF") != 16) {
        ss_err(err, errlen, "%s: model_fingerprint: expected 16 hex digits", path); goto done;
    }
    m->model_fingerprint = strtoull(fp, NULL, 16);
    if (!fs_get_str(o, "layers", s->layers, sizeof s->layers) || !s->layers[0]) { ss_err(err, errlen, "%s: layers: missing", path); goto done; }
    if (!fs_get_bool(o, "norm", &s->norm) || !fs_get_bool(o, "logits", &s->logits)) { ss_err(err, errlen, "%s: norm / logits: missing", path); goto done; }
    if (!fs_get_int(o, "dim", 1, 1 << 28, &dim)) { ss_err(err, errlen, "%s: dim: missing or out of range", path); goto done; }
    s->dim = (int)dim;
    const cJSON *ll = cJSON_GetObjectItemCaseSensitive(o, "layer_list");
    if (!cJSON_IsArray(ll) || cJSON_GetArraySize(ll) > 256) { ss_err(err, errlen, "%s: layer_list: missing", path); goto done; }
    const cJSON *it;
    cJSON_ArrayForEach(it, ll) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 0 || it->valuedouble > 255 ||
            (s->n_layers > 0 && it->valuedouble <= s->layer[s->n_layers - 1])) {
            ss_err(err, errlen, "%s: layer_list: bad entry %d", path, s->n_layers); goto done;
        }
        s->layer[s->n_layers++] = (int)it->valuedouble;
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "conf") && !fs_get_bool(o, "conf", &s->conf)) { ss_err(err, errlen, "%s: conf: not a bool", path); goto done; }
    const int fdim = s->dim - (s->conf ? SS_SWIFT_CONF_DIM : 0);   // the layers' part
    if (fdim <= 0 || (s->logits ? s->n_layers != 0 : (s->n_layers == 0 || fdim % s->n_layers))) {
        ss_err(err, errlen, "%s: dim %d does not fit %d layers%s%s", path, s->dim, s->n_layers, s->logits ? " (logits)" : "",
               s->conf ? " + 2 confidence features" : ""); goto done;
    }
    if (!fs_get_str(o, "dtype", dtype, sizeof dtype) || (strcmp(dtype, "f16") && strcmp(dtype, "f32"))) {
        ss_err(err, errlen, "%s: dtype: expected \"f16\" or \"f32\"", path); goto done;
    }
    m->f16 = !strcmp(dtype, "f16");
    int64_t al;
    if (!fs_get_int(o, "row_align", 1, 1 << 20, &al) || al != SS_FEATSTORE_ALIGN) { ss_err(err, errlen, "%s: row_align: expected %d", path, SS_FEATSTORE_ALIGN); goto done; }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "collect");
    if (c) {
        if (!cJSON_IsObject(c)) { ss_err(err, errlen, "%s: collect: not an object", path); goto done; }
        char *cs = cJSON_PrintUnformatted(c);
        if (strlen(cs) >= sizeof m->collect) { free(cs); ss_err(err, errlen, "%s: collect: too long", path); goto done; }
        strcpy(m->collect, cs);
        free(cs);
    }
    rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}

// 0 if equal, else -1 with the first differing field in msg ("dtype", "collect: --temp was 0.8, now 0")
static int fs_meta_diff(const ss_featstore_meta *a, const ss_featstore_meta *b, char *msg, size_t msglen) {
    if (a->model_fingerprint != b->model_fingerprint) return ss_err(msg, msglen, "model_fingerprint");
    if (strcmp(a->model_name, b->model_name)) return ss_err(msg, msglen, "model_name");
    if (strcmp(a->spec.layers, b->spec.layers)) return ss_err(msg, msglen, "layers");
    if (a->spec.n_layers != b->spec.n_layers || memcmp(a->spec.layer, b->spec.layer, a->spec.n_layers * sizeof(int))) return ss_err(msg, msglen, "layer_list");
    if (a->spec.norm != b->spec.norm) return ss_err(msg, msglen, "norm");
    if (a->spec.logits != b->spec.logits) return ss_err(msg, msglen, "logits");
    if (a->spec.conf != b->spec.conf) return ss_err(msg, msglen, "conf (--swift-conf)");
    if (a->spec.dim != b->spec.dim) return ss_err(msg, msglen, "dim");
    if (a->f16 != b->f16) return ss_err(msg, msglen, "dtype");
    cJSON *ca = a->collect[0] ? cJSON_Parse(a->collect) : cJSON_CreateObject();
    cJSON *cb = b->collect[0] ? cJSON_Parse(b->collect) : cJSON_CreateObject();
    char d[SS_ERRLEN] = "";
    int rc = !ca || !cb ? -1 : settings_diff(ca, cb, d, sizeof d);
    if (rc) ss_err(msg, msglen, "collect%s%s", d[0] ? ": " : "", d);
    cJSON_Delete(ca);
    cJSON_Delete(cb);
    return rc;
}

// ---------------------------------------------------------------- index lines

// parse one index line (without its '\n'); strings are copied only if want_strings
static int fs_parse_line(const char *line, size_t len, ss_featstore_entry *e, bool want_strings, char *why, size_t whylen) {
    memset(e, 0, sizeof *e);
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o || !cJSON_IsObject(o)) { cJSON_Delete(o); return ss_err(why, whylen, "not a JSON object"); }
    int64_t q, c, nc, T, off, lab;
    int rc = -1;
    if (!fs_get_int(o, "q", 0, FS_MAX_QUESTION - 1, &q)) { ss_err(why, whylen, "q: missing or out of range"); goto done; }
    if (!fs_get_int(o, "n_cand", 1, FS_MAX_CAND, &nc)) { ss_err(why, whylen, "n_cand: missing or out of range"); goto done; }
    if (!fs_get_int(o, "c", 0, nc - 1, &c)) { ss_err(why, whylen, "c: missing or not in [0, n_cand)"); goto done; }
    if (!fs_get_int(o, "label", 0, 1, &lab)) { ss_err(why, whylen, "label: expected 0 or 1"); goto done; }
    if (!fs_get_int(o, "n_tokens", 0, FS_MAX_TOKENS, &T)) { ss_err(why, whylen, "n_tokens: missing or out of range"); goto done; }
    if (!fs_get_int(o, "offset", 0, (int64_t)1 << 53, &off)) { ss_err(why, whylen, "offset: missing or out of range"); goto done; }
    if (off % SS_FEATSTORE_ALIGN) { ss_err(why, whylen, "offset %lld is not %d-byte aligned", (long long)off, SS_FEATSTORE_ALIGN); goto done; }
    e->question = (int)q; e->candidate = (int)c; e->n_cand = (int)nc; e->label = (float)lab;
    e->n_tokens = (int)T; e->offset = (uint64_t)off;
    if (want_strings) {
        const char *keys[3] = { "answer", "reference", "text" };
        char **dst[3] = { &e->answer, &e->reference, &e->text };
        for (int k = 0; k < 3; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            if (v && !cJSON_IsString(v)) { ss_err(why, whylen, "%s: not a string", keys[k]); goto done; }
            *dst[k] = tool_strdup(v ? v->valuestring : "");
        }
    }
    rc = 0;
done:
    if (rc) { free(e->answer); free(e->reference); free(e->text); e->answer = e->reference = e->text = NULL; }
    cJSON_Delete(o);
    return rc;
}

static void fs_entry_free(ss_featstore_entry *e) { free(e->answer); free(e->reference); free(e->text); }

// ---------------------------------------------------------------- writer

typedef struct { int n_cand, count; uint8_t *seen; } fs_question;

struct ss_featstore {
    char *dir, *index_path, *data_path;
    ss_featstore_meta meta;
    int fd_data, fd_index, fd_lock;   // fd_lock: the directory, flocked while open
    uint64_t data_end, index_size;
    int count;
    fs_question *qs;
    int n_qs;
    uint8_t *buf;
    size_t buf_cap;
};

static fs_question *fs_question_get(ss_featstore *fs, int q) {
    if (q >= fs->n_qs) {
        int n = fs->n_qs ? fs->n_qs : 256;
        while (n <= q) n *= 2;
        fs->qs = tool_realloc(fs->qs, n * sizeof *fs->qs);
        memset(fs->qs + fs->n_qs, 0, (n - fs->n_qs) * sizeof *fs->qs);
        fs->n_qs = n;
    }
    return &fs->qs[q];
}

// record candidate (q, c) of a question with n_cand candidates; -1 + why on inconsistency
static int fs_note(ss_featstore *fs, int q, int c, int n_cand, char *why, size_t whylen) {
    fs_question *Q = fs_question_get(fs, q);
    if (!Q->seen) {
        Q->n_cand = n_cand;
        Q->seen = tool_calloc(n_cand, 1);
    } else if (Q->n_cand != n_cand) {
        return ss_err(why, whylen, "question %d: n_cand %d differs from the earlier %d", q, n_cand, Q->n_cand);
    }
    if (Q->seen[c]) return ss_err(why, whylen, "question %d: candidate %d stored twice", q, c);
    Q->seen[c] = 1;
    Q->count++;
    return 0;
}

static void fs_forget_all(ss_featstore *fs) {
    for (int i = 0; i < fs->n_qs; i++) free(fs->qs[i].seen);
    if (fs->qs) memset(fs->qs, 0, fs->n_qs * sizeof *fs->qs);
    fs->count = 0;
}

static int fs_write_all(int fd, const void *p, size_t n, uint64_t off, bool positioned) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = positioned ? pwrite(fd, b, n, (off_t)off) : write(fd, b, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        b += w; n -= (size_t)w; off += (uint64_t)w;
    }
    return 0;
}

// Repair an interrupted store (see ss_featstore.h) and load its question bookkeeping.
static int fs_resume(ss_featstore *fs, char *err, size_t errlen) {
    struct stat st;
    if (stat(fs->data_path, &st) != 0) return ss_err(err, errlen, "%s: cannot stat: %s", fs->data_path, strerror(errno));
    uint64_t data_size = (uint64_t)st.st_size;
    size_t len = 0;
    char e2[SS_ERRLEN], why[256];
    char *text;
    if (access(fs->index_path, F_OK) != 0) {
        text = tool_strdup("");   // meta.json written, nothing appended yet
    } else if (!(text = ss_read_file(fs->index_path, &len, e2, sizeof e2))) {
        return ss_err(err, errlen, "%s", e2);
    }
    // pass 1: the complete, valid lines whose features are in features.bin
    typedef struct { size_t start, len; ss_featstore_entry e; bool keep; } line_t;
    int nl = 0, cap = 256, dropped = 0;
    line_t *L = tool_malloc(cap * sizeof *L);
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        char *nlp = memchr(text + pos, '\n', len - pos);
        if (!nlp) { dropped++; break; }   // partial last line: the crash happened while writing it
        size_t ll = (size_t)(nlp - (text + pos));
        lineno++;
        ss_featstore_entry e;
        if (fs_parse_line(text + pos, ll, &e, false, why, sizeof why)) {
            free(L); free(text);
            return ss_err(err, errlen, "%s:%d: %s (a corrupt line in the middle: repair or remove the store)", fs->index_path, lineno, why);
        }
        uint64_t nb = fs_bytes(&fs->meta, e.n_tokens);
        if (e.offset + nb > data_size) {
            dropped++;   // its features did not reach the disk
        } else {
            if (nl == cap) { cap *= 2; L = tool_realloc(L, cap * sizeof *L); }
            L[nl++] = (line_t){ pos, ll + 1, e, true };
        }
        pos += ll + 1;
    }
    // pass 2: per-question counts; drop questions without all their candidates
    for (int i = 0; i < nl; i++) {
        if (fs_note(fs, L[i].e.question, L[i].e.candidate, L[i].e.n_cand, why, sizeof why)) {
            free(L); free(text);
            return ss_err(err, errlen, "%s: %s", fs->index_path, why);
        }
    }
    for (int i = 0; i < nl; i++) {
        fs_question *Q = &fs->qs[L[i].e.question];
        if (Q->count < Q->n_cand) { L[i].keep = false; dropped++; }
    }
    // rebuild the bookkeeping from the kept lines only, and the end of the data
    fs_forget_all(fs);
    uint64_t end = 0;
    size_t out_len = 0;
    for (int i = 0; i < nl; i++) {
        if (!L[i].keep) continue;
        fs_note(fs, L[i].e.question, L[i].e.candidate, L[i].e.n_cand, why, sizeof why);
        fs->count++;
        uint64_t e_end = L[i].e.offset + fs_bytes(&fs->meta, L[i].e.n_tokens);
        if (e_end > end) end = e_end;
        out_len += L[i].len;
    }
    int rc = 0;
    if (dropped) {
        // rewrite index.jsonl with the kept lines (atomically)
        char *out = tool_malloc(out_len + 1);
        size_t o = 0;
        for (int i = 0; i < nl; i++)
            if (L[i].keep) { memcpy(out + o, text + L[i].start, L[i].len); o += L[i].len; }
        rc = ss_write_file_atomic(fs->index_path, out, o, err, errlen);
        free(out);
        if (!rc) fs_fsync_dir(fs->dir);
    }
    fs->index_size = out_len;
    free(L);
    free(text);
    if (rc) return rc;
    // the features of dropped / unindexed candidates go
    if (data_size != end) {
        if (truncate(fs->data_path, (off_t)end) != 0)
            return ss_err(err, errlen, "%s: cannot truncate to %llu bytes: %s", fs->data_path, (unsigned long long)end, strerror(errno));
    }
    fs->data_end = end;
    return 0;
}

int ss_featstore_open(ss_featstore **out, const char *dir, const ss_featstore_meta *meta, bool resume,
                      char *err, size_t errlen) {
    *out = NULL;
    if (meta->spec.dim <= 0) return ss_err(err, errlen, "%s: feature store: bad feature dimension %d", dir, meta->spec.dim);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ss_err(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return ss_err(err, errlen, "%s: not a directory", dir);

    ss_featstore *fs = tool_calloc(1, sizeof *fs);
    fs->dir = tool_strdup(dir);
    fs->index_path = fs_path(dir, "index.jsonl");
    fs->data_path = fs_path(dir, "features.bin");
    fs->meta = *meta;
    fs->fd_data = fs->fd_index = fs->fd_lock = -1;
    char *meta_path = fs_path(dir, "meta.json");
    int rc = -1;
    // one writer at a time: an exclusive lock on the directory, held until ss_featstore_close
    fs->fd_lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->fd_lock < 0) { ss_err(err, errlen, "%s: cannot open: %s", dir, strerror(errno)); goto done; }
    if (ss_out_lock(fs->fd_lock, dir, err, errlen)) goto done;
    bool have_meta = access(meta_path, F_OK) == 0;

    if (have_meta && resume) {
        ss_featstore_meta old;
        if (ss_featstore_meta_read(&old, dir, err, errlen)) goto done;
        char d[SS_ERRLEN];
        if (fs_meta_diff(&old, meta, d, sizeof d)) { ss_err(err, errlen, "%s: resume with other settings: %s", dir, d); goto done; }
        if (access(fs->data_path, F_OK) != 0) {   // meta written, nothing else yet
            int fd = open(fs->data_path, O_WRONLY | O_CREAT, 0644);
            if (fd >= 0) close(fd);
        }
        if (fs_resume(fs, err, errlen)) goto done;
    } else {
        // a new store: refuse to overwrite collected data
        struct stat si, sd;
        bool idx = stat(fs->index_path, &si) == 0 && si.st_size > 0;
        bool dat = stat(fs->data_path, &sd) == 0 && sd.st_size > 0;
        if (idx || dat || have_meta) {
            ss_err(err, errlen, "%s: already holds a feature store: resume it or choose another directory", dir);
            goto done;
        }
        char *mj = fs_meta_json(meta, err, errlen);
        if (!mj) goto done;
        int w = ss_write_file_atomic(meta_path, mj, strlen(mj), err, errlen);
        free(mj);
        if (w) goto done;
        for (int k = 0; k < 2; k++) {
            const char *p = k ? fs->data_path : fs->index_path;
            int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) { ss_err(err, errlen, "%s: cannot create: %s", p, strerror(errno)); goto done; }
            close(fd);
        }
        fs_fsync_dir(dir);
    }
    fs->fd_data = open(fs->data_path, O_RDWR);
    if (fs->fd_data < 0) { ss_err(err, errlen, "%s: cannot open: %s", fs->data_path, strerror(errno)); goto done; }
    fs->fd_index = open(fs->index_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fs->fd_index < 0) { ss_err(err, errlen, "%s: cannot open: %s", fs->index_path, strerror(errno)); goto done; }
    rc = 0;
done:
    free(meta_path);
    if (rc) ss_featstore_close(fs);
    else *out = fs;
    return rc;
}

bool ss_featstore_has_question(const ss_featstore *fs, int q) {
    if (q < 0 || q >= fs->n_qs) return false;
    const fs_question *Q = &fs->qs[q];
    return Q->seen && Q->count >= Q->n_cand;
}

int ss_featstore_count(const ss_featstore *fs) { return fs->count; }

int ss_featstore_append(ss_featstore *fs, const ss_featstore_rec *rec, const float *X, int T,
                        char *err, size_t errlen) {
    const char *ip = fs->index_path;
    if (rec->question < 0 || rec->question >= FS_MAX_QUESTION) return ss_err(err, errlen, "%s: question %d out of range", ip, rec->question);
    if (rec->n_cand < 1 || rec->n_cand > FS_MAX_CAND) return ss_err(err, errlen, "%s: n_cand %d out of range", ip, rec->n_cand);
    if (rec->candidate < 0 || rec->candidate >= rec->n_cand) return ss_err(err, errlen, "%s: candidate %d not in [0, %d)", ip, rec->candidate, rec->n_cand);
    if (rec->label != 0 && rec->label != 1) return ss_err(err, errlen, "%s: label %g is not 0 or 1", ip, rec->label);
    if (T < 0 || T > FS_MAX_TOKENS || (T > 0 && !X)) return ss_err(err, errlen, "%s: bad token count %d", ip, T);
    fs_question *Q = fs_question_get(fs, rec->question);
    if (Q->seen && Q->n_cand != rec->n_cand)
        return ss_err(err, errlen, "%s: question %d: n_cand %d differs from the earlier %d", ip, rec->question, rec->n_cand, Q->n_cand);
    if (Q->seen && Q->seen[rec->candidate])
        return ss_err(err, errlen, "%s: question %d: candidate %d is already stored", ip, rec->question, rec->candidate);

    // 1. features at the next aligned offset, then fsync
    size_t dim = (size_t)fs->meta.spec.dim, nb = (size_t)fs_bytes(&fs->meta, T);
    uint64_t off = fs_align(fs->data_end);
    if (nb > fs->buf_cap) { fs->buf_cap = nb; fs->buf = tool_realloc(fs->buf, nb); }
    if (fs->meta.f16) {
        uint16_t *h = (uint16_t *)fs->buf;
        for (size_t i = 0; i < (size_t)T * dim; i++) h[i] = ss_fp32_to_fp16(X[i]);
    } else if (nb) {
        memcpy(fs->buf, X, nb);
    }
    if (fs_write_all(fs->fd_data, fs->buf, nb, off, true) || fdatasync(fs->fd_data))
        return ss_err(err, errlen, "%s: write failed: %s", fs->data_path, strerror(errno));

    // 2. the index line, then fsync; on failure the index is cut back to its previous size
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "q", rec->question);
    cJSON_AddNumberToObject(o, "c", rec->candidate);
    cJSON_AddNumberToObject(o, "n_cand", rec->n_cand);
    cJSON_AddNumberToObject(o, "label", rec->label);
    cJSON_AddNumberToObject(o, "n_tokens", T);
    cJSON_AddNumberToObject(o, "offset", (double)off);
    cJSON_AddStringToObject(o, "answer", rec->answer ? rec->answer : "");
    cJSON_AddStringToObject(o, "reference", rec->reference ? rec->reference : "");
    cJSON_AddStringToObject(o, "text", rec->text ? rec->text : "");
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t ll = strlen(line);
    line = tool_realloc(line, ll + 2);
    line[ll++] = '\n';
    line[ll] = 0;
    int w = fs_write_all(fs->fd_index, line, ll, 0, false);
    if (!w) w = fdatasync(fs->fd_index);
    free(line);
    if (w) {
        int e = errno;
        if (ftruncate(fs->fd_index, (off_t)fs->index_size) != 0) { /* the next resume drops the partial line */ }
        return ss_err(err, errlen, "%s: write failed: %s", ip, strerror(e));
    }
    fs->index_size += ll;
    fs->data_end = off + nb;
    char why[128];
    fs_note(fs, rec->question, rec->candidate, rec->n_cand, why, sizeof why);
    fs->count++;
    return 0;
}

void ss_featstore_close(ss_featstore *fs) {
    if (!fs) return;
    if (fs->fd_data >= 0) close(fs->fd_data);
    if (fs->fd_index >= 0) close(fs->fd_index);
    if (fs->fd_lock >= 0) close(fs->fd_lock);
    fs_forget_all(fs);
    free(fs->qs);
    free(fs->buf);
    free(fs->dir);
    free(fs->index_path);
    free(fs->data_path);
    free(fs);
}

// ---------------------------------------------------------------- reader

typedef struct { uint64_t start, end; int line; } fs_span;

static int fs_span_cmp(const void *a, const void *b) {
    const fs_span *x = a, *y = b;
    return x->start != y->start ? (x->start < y->start ? -1 : 1) : x->line - y->line;
}

// whole-store checks of the reader: every question complete, no two candidates' features overlapping
static int fs_read_check(const ss_featstore_data *d, const fs_question *qs, int n_qs, const char *ip, char *err, size_t errlen) {
    for (int q = 0; q < n_qs; q++)
        if (qs[q].seen && qs[q].count < qs[q].n_cand)
            return ss_err(err, errlen, "%s: question %d has %d of its %d candidates (an interrupted swift-collect: rerun it to complete the store)",
                          ip, q, qs[q].count, qs[q].n_cand);
    fs_span *sp = ss_malloc(sizeof(fs_span) * (d->n + 1));
    int n = 0;
    for (int i = 0; i < d->n; i++) {
        uint64_t nb = fs_bytes(&d->meta, d->entries[i].n_tokens);
        if (nb) sp[n++] = (fs_span){ d->entries[i].offset, d->entries[i].offset + nb, i + 1 };
    }
    qsort(sp, n, sizeof *sp, fs_span_cmp);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (sp[i].start < sp[i - 1].end)
            rc = ss_err(err, errlen, "%s:%d: features [%llu, %llu) overlap those of line %d", ip, sp[i].line,
                        (unsigned long long)sp[i].start, (unsigned long long)sp[i].end, sp[i - 1].line);
    free(sp);
    return rc;
}

int ss_featstore_read(ss_featstore_data *d, const char *dir, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (ss_featstore_meta_read(&d->meta, dir, err, errlen)) return -1;
    char *ip = fs_path(dir, "index.jsonl"), *dp = fs_path(dir, "features.bin"), e2[SS_ERRLEN], why[256];
    size_t len = 0;
    char *text = NULL;
    int rc = -1, fd = -1;
    fs_question *qs = NULL;
    int n_qs = 0;
    fd = open(dp, O_RDONLY);
    if (fd < 0) { ss_err(err, errlen, "%s: cannot open: %s", dp, strerror(errno)); goto done; }
    struct stat st;
    if (fstat(fd, &st) != 0) { ss_err(err, errlen, "%s: cannot stat: %s", dp, strerror(errno)); goto done; }
    d->map_size = (size_t)st.st_size;
    if (d->map_size > 0) {
        void *m = mmap(NULL, d->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) { ss_err(err, errlen, "%s: cannot map: %s", dp, strerror(errno)); d->map_size = 0; goto done; }
        d->map = m;
    }
    text = ss_read_file(ip, &len, e2, sizeof e2);
    if (!text) { ss_err(err, errlen, "%s", e2); goto done; }
    int cap = 0, lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        char *nlp = memchr(text + pos, '\n', len - pos);
        if (!nlp) break;   // a partial last line (interrupted append) is not a candidate
        size_t ll = (size_t)(nlp - (text + pos));
        lineno++;
        if (d->n == cap) {
            cap = cap ? 2 * cap : 256;
            d->entries = tool_realloc(d->entries, cap * sizeof *d->entries);
        }
        ss_featstore_entry *e = &d->entries[d->n];
        if (fs_parse_line(text + pos, ll, e, true, why, sizeof why)) { ss_err(err, errlen, "%s:%d: %s", ip, lineno, why); goto done; }
        d->n++;
        uint64_t nb = fs_bytes(&d->meta, e->n_tokens);
        if (e->offset + nb > d->map_size) {
            ss_err(err, errlen, "%s:%d: features [%llu, %llu) lie beyond the end of features.bin (%zu bytes)", ip, lineno,
                   (unsigned long long)e->offset, (unsigned long long)(e->offset + nb), d->map_size);
            goto done;
        }
        // duplicates and n_cand consistency
        if (e->question >= n_qs) {
            int n = n_qs ? n_qs : 256;
            while (n <= e->question) n *= 2;
            qs = tool_realloc(qs, n * sizeof *qs);
            memset(qs + n_qs, 0, (n - n_qs) * sizeof *qs);
            n_qs = n;
        }
        fs_question *Q = &qs[e->question];
        if (!Q->seen) { Q->n_cand = e->n_cand; Q->seen = tool_calloc(e->n_cand, 1); d->n_questions++; }
        else if (Q->n_cand != e->n_cand) { ss_err(err, errlen, "%s:%d: question %d: n_cand %d differs from the earlier %d", ip, lineno, e->question, e->n_cand, Q->n_cand); goto done; }
        if (Q->seen[e->candidate]) { ss_err(err, errlen, "%s:%d: question %d: candidate %d appears twice", ip, lineno, e->question, e->candidate); goto done; }
        Q->seen[e->candidate] = 1;
        Q->count++;
        pos += ll + 1;
    }
    if (fs_read_check(d, qs, n_qs, ip, err, errlen)) goto done;
    d->examples = tool_calloc(d->n > 0 ? d->n : 1, sizeof *d->examples);
    for (int i = 0; i < d->n; i++) {
        const ss_featstore_entry *e = &d->entries[i];
        d->examples[i] = (ss_swift_example){
            .X = e->n_tokens ? d->map + e->offset : NULL, .x_f16 = d->meta.f16, .T = e->n_tokens,
            .label = e->label, .question = e->question,
        };
    }
    rc = 0;
done:
    for (int i = 0; i < n_qs; i++) free(qs[i].seen);
    free(qs);
    if (fd >= 0) close(fd);
    free(text);
    free(ip);
    free(dp);
    if (rc) ss_featstore_data_free(d);
    return rc;
}

void ss_featstore_data_free(ss_featstore_data *d) {
    for (int i = 0; i < d->n; i++) fs_entry_free(&d->entries[i]);
    free(d->entries);
    free(d->examples);
    if (d->map) munmap((void *)d->map, d->map_size);
    memset(d, 0, sizeof *d);
}
