// ss_model.h — internal structs of the model (weights), the paged KV cache and the context.
#ifndef SS_MODEL_H
#define SS_MODEL_H
#include "slotswift.h"
#include "ss_gguf.h"
#include "ss_matmul.h"
#include "ss_slot.h"
#include "ss_vocab.h"

typedef struct {
    float    *attn_norm;              // [D]
    ss_weight wq, wk, wv, wo;         // [H*hd, D], [Hkv*hd, D], [Hkv*hd, D], [D, H*hd]
    float    *bq, *bk, *bv;           // qwen2 only, else NULL
    float    *ffn_norm;               // [D]
    ss_weight w_gate, w_up, w_down;   // [F, D], [F, D], [D, F]
} ss_layer;

struct ss_model {
    char       *path, *name;
    char       *chat_template;        // tokenizer.chat_template or NULL
    ss_gguf    *gguf;
    ss_vocab   *vocab;
    ss_hparams  hp;
    int         n_rot;                // rotary dims (= head_dim unless rope.dimension_count says less)
    ss_weight   tok_embd;             // [V, D]
    ss_weight   output;               // [V, D] (= tok_embd when tied)
    float      *output_norm;          // [D]
    float      *rope_freqs;           // [n_rot/2] llama3 frequency factors, or NULL
    ss_layer   *layers;
    uint64_t    fingerprint;
};

// ---- paged KV cache ----
// Pages of SS_KV_PAGE tokens hold K and V of every layer: page layout [layer][K, V][kv head][SS_KV_PAGE]
// rows, a row = one token's head_dim values of one head, of its type (F32, F16 or Q8_0 blocks of 32):
// the attention of one head reads its block of a page as one contiguous run.
// A sequence is a list of pages; fork shares pages (refcount), the partially filled last page
// is copied on the first write (copy-on-write).
#define SS_KV_PAGE 32

typedef struct {
    int      n_pages, n_layer, n_head_kv, head_dim;
    uint32_t type[2];                 // K, V: SS_TYPE_F32, SS_TYPE_F16 or SS_TYPE_Q8_0
    size_t   row_bytes[2];            // one token's K (V) row of one head
    size_t   page_bytes;              // n_layer * SS_KV_PAGE * n_head_kv * (row_bytes[0] + row_bytes[1])
    void    *data;                    // n_pages * page_bytes
    void    *map;                     // the mapping data lies in (kv_map), map_bytes long
    size_t   map_bytes;
    int     *refcnt;                  // [n_pages]
    int     *free_list; int n_free;
} ss_kv;

typedef struct {
    bool   live;
    int    len;                       // tokens stored
    int   *pages; int n_pages, cap_pages;
    float *delta;                     // [D] SLOT vector or NULL
} ss_seq;

// floats of attention scratch per thread for a context of n_ctx tokens (forward.c)
size_t ss_attn_scratch_floats(const ss_hparams *hp, int n_ctx);

// bytes of a row of n values of a KV type (0: not a KV type, or n not a multiple of its block)
size_t ss_kv_row_bytes(uint32_t type, int n);
int   ss_kv_init(ss_kv *kv, int n_pages, int n_layer, int n_head_kv, int head_dim, uint32_t type_k, uint32_t type_v);
void  ss_kv_free(ss_kv *kv);
int   ss_kv_alloc_page(ss_kv *kv);            // -1 if none free
void  ss_kv_unref(ss_kv *kv, int page);
// the K (which=0) or V (which=1) rows of kv head h in layer l of page p: SS_KV_PAGE rows, token slot
// t's at + t * row_bytes[which]
static inline char *ss_kv_rows(const ss_kv *kv, int p, int l, int which, int h) {
    const size_t layer = (size_t)SS_KV_PAGE * kv->n_head_kv * (kv->row_bytes[0] + kv->row_bytes[1]);
    return (char *)kv->data + (size_t)p * kv->page_bytes + (size_t)l * layer
         + (which ? (size_t)SS_KV_PAGE * kv->n_head_kv * kv->row_bytes[0] : 0) + (size_t)h * SS_KV_PAGE * kv->row_bytes[which];
}
// pages a sequence needs to grow from len to len+n (including a copy-on-write of a shared last page)
int   ss_kv_pages_needed(const ss_kv *kv, const ss_seq *s, int n);
// room in s->pages for n_pages page ids; 0, or -1 (out of memory, s unchanged)
int   ss_kv_seq_reserve(ss_seq *s, int n_pages);
// make room for n more tokens (allocates pages, does copy-on-write); caller checked availability.
// 0, or -1 when the page list cannot grow (out of memory; nothing changed)
int   ss_kv_seq_grow(ss_kv *kv, ss_seq *s, int n);
void  ss_kv_seq_release(ss_kv *kv, ss_seq *s);
// dst continues src's pages (shared); 0 or -1 (out of memory, nothing changed)
int   ss_kv_seq_fork(ss_kv *kv, const ss_seq *src, ss_seq *dst);
// keep the first len tokens (pages past them are released; a kept shared page is copied on write)
void  ss_kv_seq_truncate(ss_kv *kv, ss_seq *s, int len);

// ---- context ----
// sequence seq keeps its first len tokens (0, or -1 for a bad sequence); the step-wise engine uses
// it to continue a cached prompt prefix
int   ss_seq_truncate(ss_ctx *c, int seq, int len);
struct ss_ctx {
    ss_model     *model;
    ss_ctx_params params;
    const ss_kernels *kern;           // the kernels (ss_kernels_get(params.force_scalar)), for every product
    ss_pool      *pool;
    ss_kv         kv;
    ss_seq       *seqs;               // [n_seq_max]
    char          err[SS_ERRLEN];
    ss_slot_ws    slot_ws;            // SLOT's stored logits, kept between runs (src/slot.c)
    // captured layers
    int          *cap_layers; int n_cap; bool cap_norm;
    // scratch (sized for n_batch entries)
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2;   // [B,D] [B,D] [B,H*hd] [B,kvd] [B,kvd] [B,H*hd] [B,F] [B,F]
    float *att_scores;                // [n_threads, ss_attn_scratch_floats] attention scratch
    int   *tmp_idx;                   // [B]
    // outputs of the last decode
    int    n_out_entries;             // entries of the last batch
    int   *out_logits_row;            // [cap] row into logits or -1
    int   *out_hidden_row;            // [cap]
    int   *out_layers_row;            // [cap]
    float *logits;  size_t logits_cap;   // rows × V
    float *hidden;  size_t hidden_cap;   // rows × D
    float *layers;  size_t layers_cap;   // rows × n_cap*D
    int    out_cap;
    float *lm_in;   size_t lm_in_cap;    // rows × D (normed + delta) for the LM head
    // the first non-finite value of the last decode among the rows that produce an output:
    // nf_stage -1 token embedding, 0..n_layer-1 after that block, n_layer the output norm,
    // n_layer+1 the logits; SS_NF_NONE when every value was finite
    int    nf_stage, nf_entry;
};
#define SS_NF_NONE (-1000)

#endif
