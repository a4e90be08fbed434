// kv.c — paged KV cache: fixed pool of pages of SS_KV_PAGE tokens, refcounted so that forked
// sequences share their common prefix; the partially filled last page is copied on write.
#include "ss_model.h"
#include "ss_quant.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

size_t ss_kv_row_bytes(uint32_t type, int n) {
    switch (type) {
    case SS_TYPE_F32: return (size_t)n * 4;
    case SS_TYPE_F16: return (size_t)n * 2;
    case SS_TYPE_Q8_0: return n % 32 ? 0 : (size_t)n / 32 * sizeof(ss_block_q8_0);
    default: return 0;
    }
}

// the pages' memory, n bytes: anonymous and zero, committed as it is touched, on 2 MB boundaries with
// transparent huge pages asked for (decoding at depth streams through all of it every step: 2 MB
// pages spare the TLB a miss every 4 KB). The mapping is 2 MB longer than n to align the start.
#define KV_HUGE ((size_t)2 << 20)
static int kv_map(ss_kv *kv, size_t n) {
    kv->map_bytes = n + KV_HUGE;
    kv->map = mmap(NULL, kv->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (kv->map == MAP_FAILED) { kv->map = NULL; return -1; }
    kv->data = (void *)(((uintptr_t)kv->map + KV_HUGE - 1) & ~(uintptr_t)(KV_HUGE - 1));
#ifdef MADV_HUGEPAGE
    madvise(kv->data, n, MADV_HUGEPAGE);   // advice: without THP the 4 KB pages work the same
#endif
    return 0;
}

int ss_kv_init(ss_kv *kv, int n_pages, int n_layer, int n_head_kv, int head_dim, uint32_t type_k, uint32_t type_v) {
    memset(kv, 0, sizeof *kv);
    kv->n_pages = n_pages; kv->n_layer = n_layer; kv->n_head_kv = n_head_kv; kv->head_dim = head_dim;
    kv->type[0] = type_k; kv->type[1] = type_v;
    kv->row_bytes[0] = ss_kv_row_bytes(type_k, head_dim);
    kv->row_bytes[1] = ss_kv_row_bytes(type_v, head_dim);
    if (!kv->row_bytes[0] || !kv->row_bytes[1]) return -1;
    kv->page_bytes = (size_t)n_layer * SS_KV_PAGE * n_head_kv * (kv->row_bytes[0] + kv->row_bytes[1]);
    if (n_pages <= 0 || kv->page_bytes > SIZE_MAX / 2 / (size_t)n_pages || kv_map(kv, (size_t)n_pages * kv->page_bytes)) return -1;
    kv->refcnt = ss_calloc(n_pages, sizeof(int));
    kv->free_list = ss_malloc(sizeof(int) * n_pages);
    if (!kv->refcnt || !kv->free_list) { ss_kv_free(kv); return -1; }
    // free list as a stack, lowest page on top
    for (int i = 0; i < n_pages; i++) kv->free_list[i] = n_pages - 1 - i;
    kv->n_free = n_pages;
    return 0;
}

void ss_kv_free(ss_kv *kv) {
    if (kv->map) munmap(kv->map, kv->map_bytes);
    free(kv->refcnt); free(kv->free_list);
    memset(kv, 0, sizeof *kv);
}

int ss_kv_alloc_page(ss_kv *kv) {
    if (kv->n_free == 0) return -1;
    int p = kv->free_list[--kv->n_free];
    kv->refcnt[p] = 1;
    return p;
}

void ss_kv_unref(ss_kv *kv, int page) {
    if (--kv->refcnt[page] == 0) kv->free_list[kv->n_free++] = page;
}

int ss_kv_pages_needed(const ss_kv *kv, const ss_seq *s, int n) {
    if (n <= 0) return 0;
    int have = s->n_pages;                                   // pages covering [0, len)
    int need = (s->len + n + SS_KV_PAGE - 1) / SS_KV_PAGE;   // pages covering [0, len+n)
    int extra = need - have;
    // writing into a shared, partially filled last page requires a private copy
    if (s->len % SS_KV_PAGE && kv->refcnt[s->pages[have - 1]] > 1) extra++;
    return extra;
}

int ss_kv_seq_reserve(ss_seq *s, int n_pages) {
    if (n_pages <= s->cap_pages) return 0;
    int cap = s->cap_pages ? s->cap_pages : 8;
    while (cap < n_pages) cap *= 2;
    int *pages = ss_realloc(s->pages, sizeof(int) * cap);
    if (!pages) return -1;
    s->pages = pages;
    s->cap_pages = cap;
    return 0;
}

int ss_kv_seq_grow(ss_kv *kv, ss_seq *s, int n) {
    if (n <= 0) return 0;
    int need = (s->len + n + SS_KV_PAGE - 1) / SS_KV_PAGE;
    if (ss_kv_seq_reserve(s, need)) return -1;               // before any change
    if (s->len % SS_KV_PAGE) {
        int last = s->pages[s->n_pages - 1];
        if (kv->refcnt[last] > 1) {                          // copy-on-write
            int p = ss_kv_alloc_page(kv);
            memcpy((char *)kv->data + (size_t)p * kv->page_bytes, (char *)kv->data + (size_t)last * kv->page_bytes, kv->page_bytes);
            ss_kv_unref(kv, last);
            s->pages[s->n_pages - 1] = p;
        }
    }
    while (s->n_pages < need) s->pages[s->n_pages++] = ss_kv_alloc_page(kv);
    return 0;
}

void ss_kv_seq_release(ss_kv *kv, ss_seq *s) {
    for (int i = 0; i < s->n_pages; i++) ss_kv_unref(kv, s->pages[i]);
    s->n_pages = 0;
    s->len = 0;
}

int ss_kv_seq_fork(ss_kv *kv, const ss_seq *src, ss_seq *dst) {
    if (ss_kv_seq_reserve(dst, dst->n_pages + src->n_pages)) return -1;
    for (int i = 0; i < src->n_pages; i++) {
        kv->refcnt[src->pages[i]]++;
        dst->pages[dst->n_pages++] = src->pages[i];
    }
    dst->len = src->len;
    return 0;
}

void ss_kv_seq_truncate(ss_kv *kv, ss_seq *s, int len) {
    if (len < 0) len = 0;
    if (len >= s->len) return;
    const int keep = (len + SS_KV_PAGE - 1) / SS_KV_PAGE;     // pages covering [0, len)
    for (int i = keep; i < s->n_pages; i++) ss_kv_unref(kv, s->pages[i]);
    s->n_pages = keep;
    s->len = len;
}
