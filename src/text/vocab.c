// vocab.c — tokenizers read from GGUF `tokenizer.*` metadata, reproducing llama.cpp
// (llama-vocab.cpp) token for token:
//   SPM ("llama"): the text (with a leading space, ' ' -> U+2581) starts as one symbol per UTF-8
//        character; the adjacent pair whose concatenation is the vocab token of highest score is
//        merged, repeatedly (ties: leftmost); symbols that are no token become <0xXX> byte tokens.
//   BPE ("gpt2"): the pre-tokenizer (vocab_pre.c) splits the text into words in GPT-2's byte
//        alphabet; in each word the adjacent pair of lowest merge rank is merged, repeatedly.
//   Special tokens: before either, the text is cut at the control / user-defined token texts it
//        contains (longest token first, as llama.cpp's tokenizer_st_partition).
#define _GNU_SOURCE   // memmem
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ss_vocab.h"
#include "ss_vocab_pre.h"

// token attributes (llama.cpp's llama_token_attr bits) + our EOG mark
enum {
    ATTR_UNKNOWN = 1 << 0, ATTR_UNUSED = 1 << 1, ATTR_NORMAL = 1 << 2, ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4, ATTR_BYTE = 1 << 5, ATTR_LSTRIP = 1 << 7, ATTR_RSTRIP = 1 << 8,
    ATTR_EOG = 1 << 15,
};

// hash table slot: id (-1 = empty) and the hash's upper 32 bits (compared before the text)
typedef struct { int32_t id; uint32_t tag; } ht_slot;

struct ss_vocab {
    int kind;                                   // SS_VOCAB_SPM / SS_VOCAB_BPE
    char *model_name, *pre_name;
    int32_t n;                                  // number of tokens
    char *text; uint32_t *text_off, *text_len;  // token strings (NUL-terminated inside `text`)
    float *score;
    uint16_t *attr;
    char *piece; uint32_t *piece_off, *piece_len;   // bytes of each token (control text included)
    ht_slot *tok_ht; uint32_t tok_mask;         // open addressing: text -> id
    // BPE merges "left right", rank = index
    int32_t n_merges;
    char *merge_text; uint32_t *merge_off, *merge_llen, *merge_rlen;
    ht_slot *merge_ht; uint32_t merge_mask;
    int32_t bos, eos, eot, eom, unk, sep, pad;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    int32_t *special; int n_special;            // control / user-defined / unknown, longest first
    int32_t byte_tok[256];                      // SPM byte fallback: byte -> token (-1: none)
    ss_vocab_pre *pre;                          // BPE pre-tokenizer
};

// ---------------------------------------------------------------------------------------------
// hashing (FNV-1a 64) and the two open-addressing tables

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}
#define HASH_SEED 0xcbf29ce484222325ULL

static uint32_t hash_slot(uint64_t h, uint32_t mask) { return (uint32_t)(h ^ (h >> 29) ^ (h >> 47)) & mask; }

static uint32_t table_size(size_t n) {           // power of two >= 2n
    uint32_t s = 16;
    while (s < 2 * n) s *= 2;
    return s;
}

static int32_t tok_find(const ss_vocab *v, const char *s, size_t n) {
    uint64_t h = hash_bytes(HASH_SEED, s, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = hash_slot(h, v->tok_mask);; i = (i + 1) & v->tok_mask) {
        ht_slot e = v->tok_ht[i];
        if (e.id < 0) return -1;
        if (e.tag == tag && v->text_len[e.id] == n && !memcmp(v->text + v->text_off[e.id], s, n)) return e.id;
    }
}

static uint64_t merge_hash(const char *l, size_t ln, const char *r, size_t rn) {
    uint64_t h = hash_bytes(HASH_SEED, l, ln);
    h = (h ^ 0xff) * 0x100000001b3ULL;                  // separator, so ("ab","c") != ("a","bc")
    return hash_bytes(h, r, rn);
}

// rank of the merge (l, r), or -1
static bool merge_is(const ss_vocab *v, int32_t m, const char *l, size_t ln, const char *r, size_t rn) {
    const char *t = v->merge_text + v->merge_off[m];
    return v->merge_llen[m] == ln && v->merge_rlen[m] == rn && !memcmp(t, l, ln) && !memcmp(t + ln + 1, r, rn);
}

static int32_t merge_find(const ss_vocab *v, const char *l, size_t ln, const char *r, size_t rn) {
    uint64_t h = merge_hash(l, ln, r, rn);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = hash_slot(h, v->merge_mask);; i = (i + 1) & v->merge_mask) {
        ht_slot e = v->merge_ht[i];
        if (e.id < 0) return -1;
        if (e.tag == tag && merge_is(v, e.id, l, ln, r, rn)) return e.id;
    }
}

// Insert `id` with hash h unless an equal key is there (same(v, other id, id) says so): returns
// the id already present, or -1 after inserting. Hashes are computed in a first pass so that the
// slots can be prefetched a few entries ahead (the tables are MBs: the probes are cache misses).
static int32_t ht_insert(ht_slot *ht, uint32_t mask, uint64_t h, int32_t id,
                         bool (*same)(const ss_vocab *, int32_t, int32_t), const ss_vocab *v) {
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = hash_slot(h, mask);; i = (i + 1) & mask) {
        if (ht[i].id < 0) { ht[i] = (ht_slot){id, tag}; return -1; }
        if (ht[i].tag == tag && same(v, ht[i].id, id)) return ht[i].id;
    }
}

static bool same_token(const ss_vocab *v, int32_t a, int32_t b) {
    return v->text_len[a] == v->text_len[b] && !memcmp(v->text + v->text_off[a], v->text + v->text_off[b], v->text_len[a]);
}

static bool same_merge(const ss_vocab *v, int32_t a, int32_t b) {
    const char *t = v->merge_text + v->merge_off[b];
    return merge_is(v, a, t, v->merge_llen[b], t + v->merge_llen[b] + 1, v->merge_rlen[b]);
}

static ht_slot *ht_new(uint32_t size) {
    ht_slot *ht = ss_malloc((size_t)size * sizeof(ht_slot));
    if (!ht) return NULL;
    for (uint32_t i = 0; i < size; i++) ht[i] = (ht_slot){-1, 0};
    return ht;
}

// ---------------------------------------------------------------------------------------------
// accessors

int         ss_vocab_n_tokens(const ss_vocab *v) { return v->n; }
int         ss_vocab_kind(const ss_vocab *v) { return v->kind; }
const char *ss_vocab_model_name(const ss_vocab *v) { return v->model_name; }
const char *ss_vocab_pre_name(const ss_vocab *v) { return v->pre_name; }
int32_t     ss_vocab_bos(const ss_vocab *v) { return v->bos; }
int32_t     ss_vocab_eos(const ss_vocab *v) { return v->eos; }
int32_t     ss_vocab_eot(const ss_vocab *v) { return v->eot; }
bool        ss_vocab_add_bos(const ss_vocab *v) { return v->add_bos; }
bool        ss_vocab_add_eos(const ss_vocab *v) { return v->add_eos; }
bool ss_vocab_is_eog(const ss_vocab *v, int32_t id) { return id >= 0 && id < v->n && (v->attr[id] & ATTR_EOG); }
bool ss_vocab_is_control(const ss_vocab *v, int32_t id) { return id >= 0 && id < v->n && (v->attr[id] & ATTR_CONTROL); }
const char *ss_vocab_token_text(const ss_vocab *v, int32_t id) {
    return id >= 0 && id < v->n ? v->text + v->text_off[id] : NULL;
}
int32_t ss_vocab_find(const ss_vocab *v, const char *text) { return tok_find(v, text, strlen(text)); }

void ss_vocab_free(ss_vocab *v) {
    if (!v) return;
    free(v->model_name); free(v->pre_name);
    free(v->text); free(v->text_off); free(v->text_len); free(v->score); free(v->attr);
    free(v->piece); free(v->piece_off); free(v->piece_len); free(v->tok_ht);
    free(v->merge_text); free(v->merge_off); free(v->merge_llen); free(v->merge_rlen); free(v->merge_ht);
    free(v->special);
    ss_vocab_pre_free(v->pre);
    free(v);
}

// ---------------------------------------------------------------------------------------------
// loading

static bool vtype_is_int(uint32_t t) {
    return t <= SS_GGUF_INT32 || t == SS_GGUF_UINT64 || t == SS_GGUF_INT64;
}
static bool vtype_is_signed(uint32_t t) {
    return t == SS_GGUF_INT8 || t == SS_GGUF_INT16 || t == SS_GGUF_INT32 || t == SS_GGUF_INT64;
}

// optional token id: out of range -> ignored (the default stays), as llama.cpp does
static int load_id(const ss_gguf *g, const char *key, int32_t n, int32_t *id, char *err, size_t errlen) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv) return 0;
    if (!vtype_is_int(kv->type))
        return ss_err(err, errlen, "%s: %s: expected an integer, got %s", g->path, key, ss_gguf_vtype_name(kv->type));
    // an id outside the token list is refused (falling back to a default id would start or stop
    // generation on the wrong token); -1 (written as 2^32-1 by llama.cpp's converter) means "not
    // set": the default stays, as before
    uint64_t x = vtype_is_signed(kv->type) ? (uint64_t)kv->v.i64 : kv->v.u64;
    if ((vtype_is_signed(kv->type) && kv->v.i64 < 0) || x == UINT32_MAX || x == UINT64_MAX) return 0;
    if (x >= (uint64_t)n)
        return ss_err(err, errlen, "%s: %s: %llu is not a token id (the tokenizer has %d tokens)", g->path, key,
                      (unsigned long long)x, (int)n);
    *id = (int32_t)x;
    return 0;
}

static int load_bool(const ss_gguf *g, const char *key, bool *b, char *err, size_t errlen) {
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type == SS_GGUF_BOOL) *b = kv->v.b;
    else if (vtype_is_int(kv->type)) *b = kv->v.u64 != 0;
    else return ss_err(err, errlen, "%s: %s: expected a bool, got %s", g->path, key, ss_gguf_vtype_name(kv->type));
    return 0;
}

// optional string key: NULL if missing, -1 if not a string
static int load_str(const ss_gguf *g, const char *key, char **out, char *err, size_t errlen) {
    *out = NULL;
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != SS_GGUF_STRING)
        return ss_err(err, errlen, "%s: %s: expected a string, got %s", g->path, key, ss_gguf_vtype_name(kv->type));
    *out = ss_strndup(kv->v.s.ptr, kv->v.s.len);
    return *out ? 0 : ss_err(err, errlen, "%s: %s: out of memory", g->path, key);
}

// array of n >= n_min elements of one of two types (t2 may equal t1); NULL if missing (and !required)
static int load_arr(const ss_gguf *g, const char *key, uint32_t t1, uint32_t t2, uint64_t n_min, bool required,
                    const ss_gguf_kv **out, char *err, size_t errlen) {
    *out = NULL;
    const ss_gguf_kv *kv = ss_gguf_find(g, key);
    if (!kv) return required ? ss_err(err, errlen, "%s: %s: missing", g->path, key) : 0;
    if (kv->type != SS_GGUF_ARRAY || (kv->arr_type != t1 && kv->arr_type != t2))
        return ss_err(err, errlen, "%s: %s: expected an array of %s, got %s%s", g->path, key, ss_gguf_vtype_name(t1),
                      kv->type == SS_GGUF_ARRAY ? "array of " : "",
                      ss_gguf_vtype_name(kv->type == SS_GGUF_ARRAY ? kv->arr_type : kv->type));
    if (kv->arr_n < n_min)
        return ss_err(err, errlen, "%s: %s: %llu entries for %llu tokens", g->path, key,
                      (unsigned long long)kv->arr_n, (unsigned long long)n_min);
    *out = kv;
    return 0;
}

static int32_t rd_i32(const void *base, uint64_t i) { int32_t x; memcpy(&x, (const char *)base + 4 * i, 4); return x; }
static float   rd_f32(const void *base, uint64_t i) { float x; memcpy(&x, (const char *)base + 4 * i, 4); return x; }

// special tokens in matching order: longest text first, then by id (a total order, so any sort
// gives the same result); sorted as (length, id) pairs with plain qsort (no qsort_r: not portable)
typedef struct { uint32_t len; int32_t id; } special_key;

static int cmp_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

// 0, or -1 when out of memory
static int sort_special(ss_vocab *v) {
    if (v->n_special < 2) return 0;
    special_key *k = malloc(sizeof *k * (size_t)v->n_special);
    if (!k) return -1;
    for (int32_t i = 0; i < v->n_special; i++) k[i] = (special_key){ v->text_len[v->special[i]], v->special[i] };
    qsort(k, (size_t)v->n_special, sizeof *k, cmp_special);
    for (int32_t i = 0; i < v->n_special; i++) v->special[i] = k[i].id;
    free(k);
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// byte of a <0xXX> token (llama.cpp: strtol of the 2 characters after "<0x")
static int byte_token_value(const char *t, size_t n) {
    int v = 0;
    for (size_t i = 3; i < 5 && i < n; i++) {
        int h = hexval(t[i]);
        if (h < 0) break;
        v = v * 16 + h;
    }
    return v & 0xff;
}

// piece of token `id` as llama.cpp's token_to_piece(special = true) gives it, appended to *buf
// (0, or -1 when *buf cannot grow: out of memory, *buf unchanged)
static int build_piece(const ss_vocab *v, int32_t id, char **buf, size_t *len, size_t *cap) {
    const char *t = v->text + v->text_off[id];
    size_t n = v->text_len[id];
    uint16_t a = v->attr[id];
    char *nb = ss_vocab_grow(*buf, cap, *len + n * (n + 24) + 64, 1);   // worst case: [UNK_BYTE..] per char
    if (!nb) return -1;
    *buf = nb;
    char *o = *buf + *len;
    size_t k = 0;
    if (a & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) {
        memcpy(o, t, n); k = n;
    } else if (a & ATTR_NORMAL) {
        if (v->kind == SS_VOCAB_SPM) {                       // U+2581 -> ' '
            for (size_t i = 0; i < n; ) {
                if (i + 3 <= n && !memcmp(t + i, "\xe2\x96\x81", 3)) { o[k++] = ' '; i += 3; }
                else o[k++] = t[i++];
            }
        } else {                                             // GPT-2 byte alphabet -> bytes
            for (size_t i = 0; i < n; ) {
                size_t i0 = i;
                uint32_t c = ss_vocab_utf8_decode(t, n, &i);
                int b = ss_vocab_cpt_to_byte(c);
                if (b >= 0) { o[k++] = (char)b; continue; }
                // not a byte symbol: llama.cpp writes "[UNK_BYTE_0x<utf8 hex><token text>]"
                char u[4];
                int nu = ss_vocab_utf8_encode(c, u);
                (void)i0;
                k += sprintf(o + k, "[UNK_BYTE_0x");
                for (int j = 0; j < nu; j++) k += sprintf(o + k, "%02x", (unsigned char)u[j]);
                memcpy(o + k, t, n); k += n;
                o[k++] = ']';
            }
        }
    } else if (a & ATTR_BYTE) {
        o[k++] = (char)byte_token_value(t, n);
    }
    *len += k;
    return 0;
}

int ss_vocab_load(ss_vocab **out, const ss_gguf *g, char *err, size_t errlen) {
    *out = NULL;
    const char *path = g->path ? g->path : "(gguf)";
    ss_vocab *v = ss_calloc(1, sizeof *v);
    if (!v) return ss_err(err, errlen, "%s: tokenizer: out of memory", path);
    const ss_gguf_kv *kt, *ks, *ky, *km = NULL;
    char *gname = NULL;
    uint64_t *hashes = NULL;

    // tokenizer kind and pre-tokenizer
    if (load_str(g, "tokenizer.ggml.model", &v->model_name, err, errlen)) goto fail;
    if (!v->model_name) { ss_err(err, errlen, "%s: tokenizer.ggml.model: missing (no tokenizer in this file)", path); goto fail; }
    if (!strcmp(v->model_name, "llama")) v->kind = SS_VOCAB_SPM;
    else if (!strcmp(v->model_name, "gpt2")) v->kind = SS_VOCAB_BPE;
    else { ss_err(err, errlen, "%s: tokenizer.ggml.model: unsupported tokenizer '%s' (supported: llama, gpt2)", path, v->model_name); goto fail; }
    if (load_str(g, "tokenizer.ggml.pre", &v->pre_name, err, errlen)) goto fail;
    if (!v->pre_name || !*v->pre_name) { free(v->pre_name); v->pre_name = ss_strdup("default"); }
    if (!v->pre_name) goto oom;

    // token strings, scores, types
    if (load_arr(g, "tokenizer.ggml.tokens", SS_GGUF_STRING, SS_GGUF_STRING, 0, true, &kt, err, errlen)) goto fail;
    if (kt->arr_n == 0) { ss_err(err, errlen, "%s: tokenizer.ggml.tokens: empty", path); goto fail; }
    if (kt->arr_n > (1u << 30)) { ss_err(err, errlen, "%s: tokenizer.ggml.tokens: %llu tokens is too many", path, (unsigned long long)kt->arr_n); goto fail; }
    v->n = (int32_t)kt->arr_n;
    if (load_arr(g, "tokenizer.ggml.scores", SS_GGUF_FLOAT32, SS_GGUF_INT32, kt->arr_n, false, &ks, err, errlen)) goto fail;
    if (load_arr(g, "tokenizer.ggml.token_type", SS_GGUF_INT32, SS_GGUF_INT32, kt->arr_n, false, &ky, err, errlen)) goto fail;

    int32_t n = v->n;
    v->text_off = ss_malloc(n * sizeof(uint32_t));
    v->text_len = ss_malloc(n * sizeof(uint32_t));
    v->score = ss_malloc(n * sizeof(float));
    v->attr = ss_malloc(n * sizeof(uint16_t));
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) total += (kt->arr_str[i].len ? kt->arr_str[i].len : 24) + 1;
    if (total > UINT32_MAX) { ss_err(err, errlen, "%s: tokenizer.ggml.tokens: strings too large", path); goto fail; }
    v->text = ss_malloc(total);
    v->tok_mask = table_size(n) - 1;
    v->tok_ht = ht_new(v->tok_mask + 1);
    hashes = ss_malloc((size_t)n * sizeof(uint64_t));
    if (!v->text_off || !v->text_len || !v->score || !v->attr || !v->text || !v->tok_ht || !hashes) goto oom;
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        const ss_gguf_str *s = &kt->arr_str[i];
        size_t len = s->len;
        v->text_off[i] = (uint32_t)off;
        if (len == 0) len = (size_t)sprintf(v->text + off, "[EMPTY_%d]", (int)i);   // as llama.cpp
        else memcpy(v->text + off, s->ptr, len);
        v->text[off + len] = 0;
        v->text_len[i] = (uint32_t)len;
        hashes[i] = hash_bytes(HASH_SEED, v->text + off, len);
        off += len + 1;
        v->score[i] = !ks ? 0.0f : ks->arr_type == SS_GGUF_FLOAT32 ? rd_f32(ks->arr_data, i) : (float)rd_i32(ks->arr_data, i);
        uint16_t a = ATTR_NORMAL;
        if (ky) {
            switch (rd_i32(ky->arr_data, i)) {
            case 1: a = ATTR_NORMAL; break;
            case 2: a = ATTR_UNKNOWN; break;
            case 3: a = ATTR_CONTROL; break;
            case 4: a = ATTR_USER_DEFINED; break;
            case 5: a = ATTR_UNUSED; break;
            case 6: a = ATTR_BYTE; break;
            default: a = 0; break;                          // undefined
            }
        }
        v->attr[i] = a;
    }
    // text -> id; a duplicate is an error (llama.cpp refuses it too)
    for (int32_t i = 0; i < n; i++) {
        if (i + 8 < n) __builtin_prefetch(&v->tok_ht[hash_slot(hashes[i + 8], v->tok_mask)]);
        int32_t other = ht_insert(v->tok_ht, v->tok_mask, hashes[i], i, same_token, v);
        if (other >= 0) {
            ss_err(err, errlen, "%s: tokenizer.ggml.tokens[%d]: duplicate token '%.64s' (also id %d)",
                   path, (int)i, v->text + v->text_off[i], (int)other);
            goto fail;
        }
    }

    // BPE merges and pre-tokenizer
    ss_vocab_pre_info pinfo = {0};
    if (v->kind == SS_VOCAB_BPE) {
        if (load_arr(g, "tokenizer.ggml.merges", SS_GGUF_STRING, SS_GGUF_STRING, 0, true, &km, err, errlen)) goto fail;
        if (km->arr_n > (1u << 30)) { ss_err(err, errlen, "%s: tokenizer.ggml.merges: too many entries", path); goto fail; }
        v->n_merges = (int32_t)km->arr_n;
        size_t mt = 0;
        for (int32_t i = 0; i < v->n_merges; i++) mt += km->arr_str[i].len + 1;
        if (mt > UINT32_MAX) { ss_err(err, errlen, "%s: tokenizer.ggml.merges: strings too large", path); goto fail; }
        v->merge_text = ss_malloc(mt + 1);
        v->merge_off = ss_malloc((v->n_merges + 1) * sizeof(uint32_t));
        v->merge_llen = ss_malloc((v->n_merges + 1) * sizeof(uint32_t));
        v->merge_rlen = ss_malloc((v->n_merges + 1) * sizeof(uint32_t));
        v->merge_mask = table_size(v->n_merges) - 1;
        v->merge_ht = ht_new(v->merge_mask + 1);
        uint64_t *mh = ss_realloc(hashes, (size_t)(v->n_merges + 1) * sizeof(uint64_t));
        if (mh) hashes = mh;
        if (!mh || !v->merge_text || !v->merge_off || !v->merge_llen || !v->merge_rlen || !v->merge_ht) goto oom;
        size_t mo = 0;
        for (int32_t i = 0; i < v->n_merges; i++) {
            const ss_gguf_str *s = &km->arr_str[i];
            // "left right": split at the first space after the first byte (as llama.cpp)
            const char *sp = s->len > 1 ? memchr(s->ptr + 1, ' ', s->len - 1) : NULL;
            if (!sp) {
                ss_err(err, errlen, "%s: tokenizer.ggml.merges[%d]: '%.64s' is not two strings separated by a space",
                       path, (int)i, s->len ? s->ptr : "");
                goto fail;
            }
            size_t ln = (size_t)(sp - s->ptr), rn = s->len - ln - 1;
            memcpy(v->merge_text + mo, s->ptr, s->len);
            v->merge_text[mo + s->len] = 0;
            v->merge_off[i] = (uint32_t)mo;
            v->merge_llen[i] = (uint32_t)ln;
            v->merge_rlen[i] = (uint32_t)rn;
            const char *l = v->merge_text + mo, *r = l + ln + 1;
            mo += s->len + 1;
            hashes[i] = merge_hash(l, ln, r, rn);
        }
        // (left, right) -> rank; a repeated pair keeps its first rank (as std::map::emplace)
        for (int32_t i = 0; i < v->n_merges; i++) {
            if (i + 8 < v->n_merges) __builtin_prefetch(&v->merge_ht[hash_slot(hashes[i + 8], v->merge_mask)]);
            ht_insert(v->merge_ht, v->merge_mask, hashes[i], i, same_merge, v);
        }
        char perr[256];
        if (ss_vocab_pre_create(&v->pre, v->pre_name, &pinfo, perr, sizeof perr)) {
            ss_err(err, errlen, "%s: tokenizer.ggml.pre: %s", path, perr);
            goto fail;
        }
        v->ignore_merges = pinfo.ignore_merges;
    }

    // special token ids: llama.cpp's defaults, then the file's keys
    v->eot = v->eom = v->sep = v->pad = -1;
    v->fim_pre = v->fim_suf = v->fim_mid = v->fim_pad = v->fim_rep = v->fim_sep = -1;
    if (v->kind == SS_VOCAB_SPM) {
        v->bos = 1; v->eos = 2; v->unk = 0;
        v->add_bos = true; v->add_space_prefix = true;
    } else {
        v->bos = pinfo.no_bos ? -1 : 11; v->eos = 11; v->unk = -1;
        v->add_bos = pinfo.add_bos; v->add_space_prefix = false;
    }
    if (v->bos >= n) v->bos = -1;
    if (v->eos >= n) v->eos = -1;
    if (v->unk >= n) v->unk = -1;
    static const struct { const char *key; size_t off; } id_keys[] = {
        {"tokenizer.ggml.bos_token_id", offsetof(ss_vocab, bos)},
        {"tokenizer.ggml.eos_token_id", offsetof(ss_vocab, eos)},
        {"tokenizer.ggml.eot_token_id", offsetof(ss_vocab, eot)},
        {"tokenizer.ggml.eom_token_id", offsetof(ss_vocab, eom)},
        {"tokenizer.ggml.unknown_token_id", offsetof(ss_vocab, unk)},
        {"tokenizer.ggml.seperator_token_id", offsetof(ss_vocab, sep)},
        {"tokenizer.ggml.padding_token_id", offsetof(ss_vocab, pad)},
        {"tokenizer.ggml.fim_pre_token_id", offsetof(ss_vocab, fim_pre)},
        {"tokenizer.ggml.fim_suf_token_id", offsetof(ss_vocab, fim_suf)},
        {"tokenizer.ggml.fim_mid_token_id", offsetof(ss_vocab, fim_mid)},
        {"tokenizer.ggml.fim_pad_token_id", offsetof(ss_vocab, fim_pad)},
        {"tokenizer.ggml.fim_rep_token_id", offsetof(ss_vocab, fim_rep)},
        {"tokenizer.ggml.fim_sep_token_id", offsetof(ss_vocab, fim_sep)},
        {"tokenizer.ggml.prefix_token_id", offsetof(ss_vocab, fim_pre)},
        {"tokenizer.ggml.suffix_token_id", offsetof(ss_vocab, fim_suf)},
        {"tokenizer.ggml.middle_token_id", offsetof(ss_vocab, fim_mid)},
    };
    for (size_t k = 0; k < sizeof(id_keys) / sizeof(id_keys[0]); k++)
        if (load_id(g, id_keys[k].key, n, (int32_t *)((char *)v + id_keys[k].off), err, errlen)) goto fail;
    if (load_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos, err, errlen)) goto fail;
    if (load_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos, err, errlen)) goto fail;
    if (load_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err, errlen)) goto fail;
    if (v->add_bos && v->bos < 0) { ss_err(err, errlen, "%s: tokenizer.ggml.add_bos_token is true, but there is no valid tokenizer.ggml.bos_token_id", path); goto fail; }
    if (v->add_eos && v->eos < 0) { ss_err(err, errlen, "%s: tokenizer.ggml.add_eos_token is true, but there is no valid tokenizer.ggml.eos_token_id", path); goto fail; }

    // tokens recognized by their text (llama.cpp's workaround for older conversions): they
    // become control tokens; EOT / EOM / FIM ids are taken from them when the keys are absent
    {
        static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<EOT>", "_<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", NULL};
        static const char *const eom_texts[] = {"<|eom_id|>", NULL};
        static const char *const pre_texts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>", "\xe2\x96\x81<PRE>", NULL};
        static const char *const suf_texts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>", NULL};
        static const char *const mid_texts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>", "\xe2\x96\x81<MID>", NULL};
        static const char *const pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", NULL};
        static const char *const rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL};
        static const char *const sep_texts[] = {"<|file_sep|>", NULL};
        static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", NULL};
        struct { const char *const *texts; int32_t *id; } finds[] = {
            {eot_texts, &v->eot}, {eom_texts, &v->eom}, {pre_texts, &v->fim_pre}, {suf_texts, &v->fim_suf},
            {mid_texts, &v->fim_mid}, {pad_texts, &v->fim_pad}, {rep_texts, &v->fim_rep}, {sep_texts, &v->fim_sep},
        };
        // the first text of each list present in the vocab (llama.cpp takes whichever its hash
        // map yields first; is_eog does not depend on the choice)
        for (int k = 0; k < 8; k++) {
            if (*finds[k].id >= 0) continue;
            for (int j = 0; finds[k].texts[j] && *finds[k].id < 0; j++) {
                int32_t id = tok_find(v, finds[k].texts[j], strlen(finds[k].texts[j]));
                if (id >= 0) { *finds[k].id = id; v->attr[id] |= ATTR_CONTROL; }
            }
        }
        for (int j = 0; eog_texts[j]; j++) {
            int32_t id = tok_find(v, eog_texts[j], strlen(eog_texts[j]));
            if (id >= 0) v->attr[id] |= ATTR_EOG | ATTR_CONTROL;
        }
        // control tokens named "unused..." are unused
        for (int32_t i = 0; i < n; i++)
            if ((v->attr[i] & ATTR_CONTROL) && strstr(v->text + v->text_off[i], "unused")) v->attr[i] |= ATTR_UNUSED;
        int32_t eog_ids[] = {v->fim_pad, v->fim_rep, v->fim_sep, v->eos, v->eot, v->eom};
        for (size_t k = 0; k < sizeof(eog_ids) / sizeof(eog_ids[0]); k++)
            if (eog_ids[k] >= 0) v->attr[eog_ids[k]] |= ATTR_EOG;
    }

    // special tokens for the text partition, longest first
    v->special = ss_malloc(n * sizeof(int32_t));
    if (!v->special) goto oom;
    for (int32_t i = 0; i < n; i++)
        if (v->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) v->special[v->n_special++] = i;
    if (sort_special(v)) { ss_err(err, errlen, "vocab: out of memory sorting %d special tokens", v->n_special); goto fail; }

    // per-model attributes (llama.cpp sets them by model / pre-tokenizer name)
    if (load_str(g, "general.name", &gname, err, errlen)) goto fail;
    if (gname) {
        for (char *p = gname; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (strstr(gname, "phi-3") || strstr(gname, "phi3")) {
            for (int k = 0; k < v->n_special; k++) v->attr[v->special[k]] |= ATTR_RSTRIP;
            int32_t id = tok_find(v, "</s>", 4);
            if (id >= 0) v->attr[id] |= ATTR_RSTRIP;
            static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
            for (int k = 0; k < 3; k++) {
                id = tok_find(v, keep[k], strlen(keep[k]));
                if (id >= 0) v->attr[id] &= (uint16_t)~ATTR_RSTRIP;
            }
        }
        free(gname);
        gname = NULL;
    }
    if (strstr(v->pre_name, "jina-v2-de") || strstr(v->pre_name, "jina-v2-es") || strstr(v->pre_name, "jina-v2-code")) {
        int32_t id = tok_find(v, "<mask>", 6);
        if (id >= 0) v->attr[id] |= ATTR_LSTRIP;
    }

    // SPM byte fallback: <0xXX>, else the one-byte token
    for (int b = 0; b < 256; b++) {
        char hx[8];
        snprintf(hx, sizeof hx, "<0x%02X>", b);
        v->byte_tok[b] = tok_find(v, hx, 6);
        if (v->byte_tok[b] < 0) { char c = (char)b; v->byte_tok[b] = tok_find(v, &c, 1); }
    }

    // pieces
    {
        size_t plen = 0, pcap = 0;
        v->piece_off = ss_malloc(n * sizeof(uint32_t));
        v->piece_len = ss_malloc(n * sizeof(uint32_t));
        if (!v->piece_off || !v->piece_len) goto oom;
        for (int32_t i = 0; i < n; i++) {
            size_t before = plen;
            if (build_piece(v, i, &v->piece, &plen, &pcap)) goto oom;
            if (plen > UINT32_MAX) { ss_err(err, errlen, "%s: tokenizer.ggml.tokens: pieces too large", path); goto fail; }
            v->piece_off[i] = (uint32_t)before;
            v->piece_len[i] = (uint32_t)(plen - before);
        }
        if (!v->piece) v->piece = ss_malloc(1);
        if (!v->piece) goto oom;
    }

    free(hashes);
    *out = v;
    return 0;
oom:
    ss_err(err, errlen, "%s: tokenizer: out of memory", path);
fail:
    free(hashes);
    free(gname);
    ss_vocab_free(v);
    return -1;
}

// ---------------------------------------------------------------------------------------------
// tokenizing: shared scratch of one ss_tokenize call

typedef struct { int prev, next; uint32_t start, n; } tok_symbol;   // a run of bytes of the word
typedef struct { int left, right; float score; int32_t rank; uint32_t ln, rn; } tok_bigram;

typedef struct { int32_t token; size_t off, len; } tok_fragment;   // token >= 0, or raw text

typedef struct {
    const ss_vocab *v;
    int32_t *out; int max; int n;               // output (count may exceed max)
    tok_symbol *sym; size_t cap_sym;
    tok_bigram *heap; size_t n_heap, cap_heap;
    char *buf; size_t cap_buf;
    tok_fragment *frag[2]; size_t cap_frag[2];
    ss_vocab_pre_words words;
    bool oom;                                   // a scratch array could not grow: the call fails
} tok_session;

// grow a session array; false (s->oom set, array unchanged) when out of memory
static bool tok_grow(tok_session *s, void **p, size_t *cap, size_t need, size_t elem) {
    void *q = s->oom ? NULL : ss_vocab_grow(*p, cap, need, elem);
    if (!q) { s->oom = true; return false; }
    *p = q;
    return true;
}

static void emit(tok_session *s, int32_t id) {
    if (s->n < s->max) s->out[s->n] = id;
    s->n++;
}

// heap order: SPM = highest score first, BPE = lowest rank first; ties: leftmost first
static bool bigram_before(const tok_session *s, const tok_bigram *a, const tok_bigram *b) {
    if (s->v->kind == SS_VOCAB_SPM) {
        if (a->score != b->score) return a->score > b->score;
    } else if (a->rank != b->rank) return a->rank < b->rank;
    return a->left < b->left;
}

static void heap_push(tok_session *s, tok_bigram b) {
    if (!tok_grow(s, (void **)&s->heap, &s->cap_heap, s->n_heap + 1, sizeof(tok_bigram))) return;
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_before(s, &b, &s->heap[p])) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = b;
}

static tok_bigram heap_pop(tok_session *s) {
    tok_bigram top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bigram_before(s, &s->heap[c + 1], &s->heap[c])) c++;
        if (!bigram_before(s, &s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

// split text[0..len) into one symbol per UTF-8 character (llama.cpp: length from the first byte)
static int make_symbols(tok_session *s, const char *text, size_t len) {
    if (!tok_grow(s, (void **)&s->sym, &s->cap_sym, len + 1, sizeof(tok_symbol))) return 0;
    int k = 0;
    for (size_t off = 0; off < len; k++) {
        size_t cl = (size_t)ss_vocab_utf8_len((unsigned char)text[off]);
        if (cl > len - off) cl = len - off;
        s->sym[k] = (tok_symbol){k - 1, off + cl == len ? -1 : k + 1, (uint32_t)off, (uint32_t)cl};
        off += cl;
    }
    return k;
}

// ---- SPM: merge the pair that is the vocab token of highest score

static void spm_try_bigram(tok_session *s, const char *text, int l, int r) {
    if (l < 0 || r < 0) return;
    int32_t id = tok_find(s->v, text + s->sym[l].start, s->sym[l].n + s->sym[r].n);
    if (id < 0) return;
    heap_push(s, (tok_bigram){l, r, s->v->score[id], 0, s->sym[l].n + s->sym[r].n, 0});
}

static void spm_tokenize(tok_session *s, const char *text, size_t len) {
    const ss_vocab *v = s->v;
    int n_sym = make_symbols(s, text, len);
    if (n_sym == 0) return;
    s->n_heap = 0;
    for (int i = 1; i < n_sym; i++) spm_try_bigram(s, text, i - 1, i);
    while (s->n_heap) {
        tok_bigram b = heap_pop(s);
        tok_symbol *L = &s->sym[b.left], *R = &s->sym[b.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.ln) continue;   // stale (ln holds the size)
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) s->sym[R->next].prev = b.left;
        spm_try_bigram(s, text, L->prev, b.left);
        spm_try_bigram(s, text, b.left, L->next);
    }
    for (int i = 0; i != -1; i = s->sym[i].next) {
        const tok_symbol *y = &s->sym[i];
        int32_t id = tok_find(v, text + y->start, y->n);
        if (id >= 0) { emit(s, id); continue; }
        for (uint32_t j = 0; j < y->n; j++) {                // byte fallback
            int32_t bt = v->byte_tok[(unsigned char)text[y->start + j]];
            if (bt < 0) bt = v->unk;
            if (bt >= 0) emit(s, bt);
        }
    }
}

// ---- BPE: in each pre-tokenized word, merge the pair of lowest rank

static void bpe_try_bigram(tok_session *s, const char *w, int l, int r) {
    if (l < 0 || r < 0) return;
    const tok_symbol *L = &s->sym[l], *R = &s->sym[r];
    int32_t rank = merge_find(s->v, w + L->start, L->n, w + R->start, R->n);
    if (rank < 0) return;
    heap_push(s, (tok_bigram){l, r, 0.0f, rank, L->n, R->n});
}

static void bpe_word(tok_session *s, const char *w, size_t len) {
    const ss_vocab *v = s->v;
    if (v->ignore_merges) {
        int32_t id = tok_find(v, w, len);
        if (id >= 0) { emit(s, id); return; }
    }
    int n_sym = make_symbols(s, w, len);
    s->n_heap = 0;
    for (int i = 1; i < n_sym; i++) bpe_try_bigram(s, w, i - 1, i);
    while (s->n_heap) {
        tok_bigram b = heap_pop(s);
        tok_symbol *L = &s->sym[b.left], *R = &s->sym[b.right];
        // stale unless both symbols still have the lengths they had (= same text, adjacent)
        if (L->n == 0 || R->n == 0 || L->n != b.ln || R->n != b.rn) continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) s->sym[R->next].prev = b.left;
        bpe_try_bigram(s, w, L->prev, b.left);
        bpe_try_bigram(s, w, b.left, L->next);
    }
    for (int i = 0; i < n_sym; i++) {
        const tok_symbol *y = &s->sym[i];
        if (y->n == 0) continue;
        int32_t id = tok_find(v, w + y->start, y->n);
        if (id >= 0) { emit(s, id); continue; }
        for (uint32_t j = 0; j < y->n; j++) {                // llama.cpp: look up each byte alone
            int32_t bt = tok_find(v, w + y->start + j, 1);
            if (bt >= 0) emit(s, bt);
        }
    }
}

static void bpe_tokenize(tok_session *s, const char *text, size_t len) {
    ss_vocab_pre_split(s->v->pre, text, len, &s->words);
    if (s->words.oom) { s->oom = true; return; }
    size_t start = 0;
    for (size_t k = 0; k < s->words.n_words; k++) {
        size_t end = s->words.ends[k];
        if (end > start) bpe_word(s, s->words.bytes + start, end - start);
        start = end;
    }
}

// ---- special tokens: cut the raw fragments at every occurrence of each special token text

static size_t partition(tok_session *s, const char *text, size_t len, bool parse_special, int *which) {
    const ss_vocab *v = s->v;
    int cur = 0;
    size_t nf = 0;
    if (len > 0) {
        if (!tok_grow(s, (void **)&s->frag[0], &s->cap_frag[0], 1, sizeof(tok_fragment))) return 0;
        s->frag[0][nf++] = (tok_fragment){-1, 0, len};
    }
    for (int k = 0; k < v->n_special && nf; k++) {
        int32_t id = v->special[k];
        uint16_t a = v->attr[id];
        if (!parse_special && (a & (ATTR_CONTROL | ATTR_UNKNOWN))) continue;
        const char *t = v->text + v->text_off[id];
        size_t tl = v->text_len[id];
        size_t no = 0;
        tok_fragment *in = s->frag[cur];
        for (size_t f = 0; f < nf; f++) {
            tok_fragment fr = in[f];
            if (fr.token >= 0) {
                if (!tok_grow(s, (void **)&s->frag[1 - cur], &s->cap_frag[1 - cur], no + 1, sizeof(tok_fragment))) return 0;
                s->frag[1 - cur][no++] = fr;
                continue;
            }
            size_t off = fr.off, rem = fr.len;
            while (rem > 0) {
                const char *m = memmem(text + off, rem, t, tl);
                if (!tok_grow(s, (void **)&s->frag[1 - cur], &s->cap_frag[1 - cur], no + 3, sizeof(tok_fragment))) return 0;
                tok_fragment *o = s->frag[1 - cur];
                if (!m) { o[no++] = (tok_fragment){-1, off, rem}; break; }
                size_t mpos = (size_t)(m - text);
                size_t left = mpos - off;
                if (a & ATTR_LSTRIP)
                    while (left > 0 && isspace((unsigned char)text[off + left - 1])) left--;
                if (left > 0) o[no++] = (tok_fragment){-1, off, left};
                o[no++] = (tok_fragment){id, 0, 0};
                size_t roff = mpos + tl, rlen = off + rem - roff;
                if (a & ATTR_RSTRIP)
                    while (rlen > 0 && isspace((unsigned char)text[roff])) { roff++; rlen--; }
                off = roff;
                rem = rlen;
            }
        }
        cur = 1 - cur;
        nf = no;
    }
    *which = cur;
    return nf;
}

int ss_tokenize(const ss_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special,
                int32_t *out, int max) {
    tok_session s = {.v = v, .out = out, .max = max < 0 ? 0 : max};
    if (add_bos && v->bos >= 0) emit(&s, v->bos);
    int cur;
    size_t nf = partition(&s, text, len, parse_special, &cur);
    bool prev_special = true;                    // SPM: a space before the first text fragment
    for (size_t f = 0; f < nf && !s.oom; f++) {
        tok_fragment fr = s.frag[cur][f];
        if (fr.token >= 0) { emit(&s, fr.token); prev_special = true; continue; }
        if (v->kind == SS_VOCAB_SPM) {
            // (' ' +) fragment with every ' ' replaced by U+2581
            if (!tok_grow(&s, (void **)&s.buf, &s.cap_buf, 3 * (fr.len + 1), 1)) break;
            size_t bl = 0;
            if (v->add_space_prefix && prev_special) { memcpy(s.buf, "\xe2\x96\x81", 3); bl = 3; }
            for (size_t i = 0; i < fr.len; i++) {
                char c = text[fr.off + i];
                if (c == ' ') { memcpy(s.buf + bl, "\xe2\x96\x81", 3); bl += 3; }
                else s.buf[bl++] = c;
            }
            spm_tokenize(&s, s.buf, bl);
        } else {
            bpe_tokenize(&s, text + fr.off, fr.len);
        }
        prev_special = false;
    }
    free(s.sym); free(s.heap); free(s.buf); free(s.frag[0]); free(s.frag[1]);
    ss_vocab_pre_words_free(&s.words);
    return s.oom ? -1 : s.n;
}

// ---------------------------------------------------------------------------------------------
// detokenizing

static const char *piece_of(const ss_vocab *v, int32_t id, bool render_special, size_t *len) {
    *len = 0;
    if (id < 0 || id >= v->n) return "";
    if (!render_special && (v->attr[id] & (ATTR_UNKNOWN | ATTR_CONTROL))) return "";
    *len = v->piece_len[id];
    return v->piece + v->piece_off[id];
}

int ss_token_to_piece(const ss_vocab *v, int32_t id, char *buf, int buflen, bool render_special) {
    size_t n;
    const char *p = piece_of(v, id, render_special, &n);
    if (buflen >= 0 && (size_t)buflen >= n && n) memcpy(buf, p, n);
    return (int)n;
}

void ss_detok_begin(ss_detok *d, const ss_vocab *v) {
    memset(d, 0, sizeof *d);
    d->lstrip = v->kind == SS_VOCAB_SPM && v->add_space_prefix;
}

// number of bytes at the end of s[0..n) that start a UTF-8 character still missing bytes
static int utf8_incomplete_tail(const char *s, int n) {
    for (int k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xc0) == 0x80) continue;                    // continuation byte: look further back
        if (c >= 0xc2 && c <= 0xf4 && ss_vocab_utf8_len(c) > k) return k;
        return 0;
    }
    return 0;
}

int ss_detok_push(ss_detok *d, const ss_vocab *v, int32_t id, char *out, int outlen) {
    size_t n;
    const char *p = piece_of(v, id, false, &n);
    if (d->lstrip && n > 0 && p[0] == ' ') { p++; n--; }
    int total = d->n_pending + (int)n;
    if (total > outlen) return total;                        // too small: nothing consumed, size needed
    d->lstrip = 0;
    memcpy(out, d->pending, d->n_pending);
    memcpy(out + d->n_pending, p, n);
    int hold = utf8_incomplete_tail(out, total);
    d->n_pending = hold;
    memcpy(d->pending, out + total - hold, hold);
    return total - hold;
}

int ss_detok_flush(ss_detok *d, char *out, int outlen) {
    int n = d->n_pending;
    if (n > outlen) return n;
    memcpy(out, d->pending, n);
    d->n_pending = 0;
    return n;
}
