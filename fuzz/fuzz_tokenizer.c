// fuzz_tokenizer.c — libFuzzer target for the tokenizers (src/vocab.c, src/vocab_pre.c).
// Loads two vocabs once (the Qwen2 byte-level BPE and the Llama SentencePiece one; paths relative
// to the project root, where CI runs) and, for every input, tokenizes it with and without special
// parsing and with/without BOS, detokenizes (stream + flush), and checks the invariants:
//   - ids are in range, the count does not depend on the output size;
//   - the stream never emits an incomplete UTF-8 character unless the text itself was invalid;
//   - for valid UTF-8 without special parsing the detokenized text is the input again
//     (SPM: except when the input contains U+2581, which is how SPM writes spaces).
#define _GNU_SOURCE   // memmem
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ss_vocab.h"
#include "../tests/ref_utf8.h"

typedef struct { ss_gguf *g; ss_vocab *v; } fuzz_vocab;
static fuzz_vocab vocabs[2];

static void fuzz_load(fuzz_vocab *fv, const char *path) {
    char err[SS_ERRLEN];
    if (ss_gguf_open(&fv->g, path, err, sizeof err) || ss_vocab_load(&fv->v, fv->g, err, sizeof err)) {
        fprintf(stderr, "fuzz_tokenizer: %s (run from the project root)\n", err);
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_load(&vocabs[0], "../shared/tokenizers/ggml-vocab-qwen2.gguf");
    fuzz_load(&vocabs[1], "../shared/tokenizers/ggml-vocab-llama-spm.gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    bool valid = ref_utf8_valid(data, size);
    bool has_2581 = memmem(data, size, "\xe2\x96\x81", 3) != NULL;
    for (int vi = 0; vi < 2; vi++) {
        const ss_vocab *v = vocabs[vi].v;
        for (int mode = 0; mode < 4; mode++) {
            bool special = mode & 1, bos = mode & 2;
            // at most 3 tokens per input byte (an invalid byte is U+FFFD = 3 bytes) + BOS
            int max = (int)(3 * size + 2);
            int32_t *ids = malloc((size_t)max * sizeof *ids);
            int n = ss_tokenize(v, text, size, bos, special, ids, max);
            if (n < 0 || n > max) abort();
            if (mode == 0 && ss_tokenize(v, text, size, bos, special, NULL, 0) != n) abort();
            for (int i = 0; i < n; i++)
                if (ids[i] < 0 || ids[i] >= ss_vocab_n_tokens(v)) abort();
            // stream
            size_t cap = size + 64 * (size_t)n + 64, m = 0;
            char *out = malloc(cap), chunk[4096];
            ss_detok d;
            ss_detok_begin(&d, v);
            for (int i = 0; i < n; i++) {
                int c = ss_detok_push(&d, v, ids[i], chunk, sizeof chunk);
                if (c < 0 || m + (size_t)c > cap) abort();
                if (valid && !special && !ref_utf8_valid((const unsigned char *)chunk, (size_t)c)) abort();
                memcpy(out + m, chunk, (size_t)c);
                m += (size_t)c;
            }
            int c = ss_detok_flush(&d, chunk, sizeof chunk);
            if (c < 0) abort();
            memcpy(out + m, chunk, (size_t)c);
            m += (size_t)c;
            if (valid && !special && !bos && !(vi == 1 && has_2581))
                if (m != size || memcmp(out, text, size)) abort();   // round trip
            free(out);
            free(ids);
        }
    }
    return 0;
}
