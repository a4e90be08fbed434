// ss_vocab_pre.h — byte-level BPE pre-tokenizer (internal to the vocab module: vocab.c uses it).
// A pre-tokenizer is the list of regexes llama.cpp applies for a `tokenizer.ggml.pre` value.
// Each regex splits every current piece into its matches and the unmatched gaps between them
// (gaps are kept as pieces too), as llama.cpp's unicode_regex_split does. The words are then
// mapped byte-by-byte to GPT-2's printable "byte-to-unicode" alphabet.
#ifndef SS_VOCAB_PRE_H
#define SS_VOCAB_PRE_H
#include "ss_common.h"

typedef struct ss_vocab_pre ss_vocab_pre;

// the flags llama.cpp attaches to a pre-tokenizer name
typedef struct {
    bool ignore_merges;   // a word that is already a token is emitted as is (llama3, tekken)
    bool add_bos;         // default for tokenizer.ggml.add_bos_token
    bool no_bos;          // the model has no BOS (chatglm4): default bos id = none
} ss_vocab_pre_info;

// Compile the regexes for `name` (NULL or "" = "default"). -1 + err if the name is unknown.
int  ss_vocab_pre_create(ss_vocab_pre **out, const char *name, ss_vocab_pre_info *info,
                         char *err, size_t errlen);
void ss_vocab_pre_free(ss_vocab_pre *p);

// Growable output/scratch of one split (reuse across calls; free with ss_vocab_pre_words_free).
typedef struct {
    char     *bytes;  size_t n_bytes, cap_bytes;     // all words, byte-level encoded, back to back
    uint32_t *ends;   size_t n_words, cap_words;     // word w = bytes[ends[w-1] .. ends[w])
    // scratch
    uint32_t *cpts;   size_t cap_cpts;               // code points of the text
    char     *mtext;  size_t cap_mtext;              // text the regexes run on (UTF-8)
    uint32_t *mstart; size_t cap_mstart;             // byte offset in mtext of each code point (+ end)
    uint32_t *seg[2]; size_t cap_seg[2];             // piece lengths in code points (double buffer)
    void     *match_data;                            // pcre2_match_data
    bool      oom;                                   // the last split ran out of memory (words incomplete)
} ss_vocab_pre_words;

// Split text[0..len) into byte-level-encoded words (appended after clearing `w`).
void ss_vocab_pre_split(const ss_vocab_pre *p, const char *text, size_t len, ss_vocab_pre_words *w);
void ss_vocab_pre_words_free(ss_vocab_pre_words *w);

// UTF-8 helpers shared with vocab.c (llama.cpp's rules, which the reference outputs follow):
// length of a UTF-8 sequence from its first byte (continuation / invalid bytes count as 1)
int      ss_vocab_utf8_len(unsigned char c);
// decode one code point at text[*i] (advancing *i); an invalid sequence gives U+FFFD and
// advances by one byte. Overlong forms are accepted (as llama.cpp does).
uint32_t ss_vocab_utf8_decode(const char *text, size_t len, size_t *i);
// encode a code point (<= 0x10FFFF) into out[0..4); returns its byte count
int      ss_vocab_utf8_encode(uint32_t cpt, char *out);
// GPT-2 byte-to-unicode: the code point standing for byte b, and the inverse (-1 if none)
uint32_t ss_vocab_byte_to_cpt(uint8_t b);
int      ss_vocab_cpt_to_byte(uint32_t cpt);
// grow an array to hold `need` elements (capacity doubles); returns the (moved) array, or NULL when
// out of memory (p is then unchanged and still allocated)
void    *ss_vocab_grow(void *p, size_t *cap, size_t need, size_t elem);

#endif
