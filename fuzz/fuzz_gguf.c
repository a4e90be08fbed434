// fuzz_gguf.c — libFuzzer target for the GGUF reader: parse from memory, then walk every key
// (through the hash lookup and every typed getter) and every tensor (first and last data byte).
// Any accepted file must be safe to use in full; any refused one must leave a one-line message.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ss_gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[SS_ERRLEN];
    ss_gguf *g = NULL;
    if (ss_gguf_open_mem(&g, data, size, "fuzz.gguf", err, sizeof err) != 0) {
        if (g || strncmp(err, "fuzz.gguf: ", 11) || strchr(err, '\n')) abort();
        return 0;
    }
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const ss_gguf_kv *kv = ss_gguf_find(g, g->kv[i].key);
        if (kv != &g->kv[i]) abort();
        sink += (uint64_t)ss_gguf_get_int(g, kv->key, 0);
        sink += (uint64_t)ss_gguf_get_float(g, kv->key, 0);
        sink += ss_gguf_get_bool(g, kv->key, false);
        char *s = ss_gguf_get_str(g, kv->key);
        if (s) { sink += strlen(s); free(s); }
        if (kv->type == SS_GGUF_ARRAY) {
            const uint8_t *p = kv->arr_data;
            for (size_t b = 0; b < kv->arr_bytes; b++) sink += p[b];
            if (kv->arr_type == SS_GGUF_STRING)
                for (uint64_t k = 0; k < kv->arr_n; k++)
                    if (kv->arr_str[k].len) sink += (uint8_t)kv->arr_str[k].ptr[kv->arr_str[k].len - 1];
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ss_gguf_tensor *t = &g->tensors[i];
        if (ss_gguf_find_tensor(g, t->name) != t) abort();
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size || t->nbytes == 0) abort();
        sink += p[0] + p[t->nbytes - 1] + (uint64_t)ss_gguf_tensor_nelements(t);
    }
    (void)sink;
    ss_gguf_close(g);
    return 0;
}
