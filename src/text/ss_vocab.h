// ss_vocab.h — tokenizers read from GGUF `tokenizer.*` metadata:
//   gpt2  : byte-level BPE with the pre-tokenizer named by tokenizer.ggml.pre
//           (qwen2, llama-bpe, gpt2/default, deepseek-llm, deepseek-coder, starcoder, falcon, ...)
//   llama : SentencePiece-style BPE (scores, U+2581 space marker, <0xXX> byte fallback, BOS)
#ifndef SS_VOCAB_H
#define SS_VOCAB_H
#include "ss_gguf.h"

typedef struct ss_vocab ss_vocab;

enum ss_vocab_kind { SS_VOCAB_SPM = 1, SS_VOCAB_BPE = 2 };

// load from an open GGUF; -1 + err ("PATH: tokenizer.ggml.xxx: reason") on bad/missing data.
// Everything is copied: the GGUF may be closed afterwards. Special token ids outside the vocab
// are ignored (the default stays), as llama.cpp does. The vocab is read-only after loading:
// any number of threads may tokenize with it at once.
int  ss_vocab_load(ss_vocab **out, const ss_gguf *g, char *err, size_t errlen);
void ss_vocab_free(ss_vocab *v);

int         ss_vocab_n_tokens(const ss_vocab *v);
int         ss_vocab_kind(const ss_vocab *v);
const char *ss_vocab_model_name(const ss_vocab *v);   // "gpt2" / "llama"
const char *ss_vocab_pre_name(const ss_vocab *v);     // tokenizer.ggml.pre or "default"
int32_t     ss_vocab_bos(const ss_vocab *v);          // -1 if none
int32_t     ss_vocab_eos(const ss_vocab *v);          // -1 if none
bool        ss_vocab_add_bos(const ss_vocab *v);      // the model's default BOS handling
bool        ss_vocab_add_eos(const ss_vocab *v);      // tokenizer.ggml.add_eos_token (ss_tokenize never adds EOS)
int32_t     ss_vocab_eot(const ss_vocab *v);          // end-of-turn token (key or text such as <|im_end|>), -1 if none
bool        ss_vocab_is_eog(const ss_vocab *v, int32_t id);   // eos, eot, <|im_end|>, <|eot_id|>, ...
bool        ss_vocab_is_control(const ss_vocab *v, int32_t id);
const char *ss_vocab_token_text(const ss_vocab *v, int32_t id);  // raw vocab string (NUL-terminated)
int32_t     ss_vocab_find(const ss_vocab *v, const char *text);  // exact token text -> id, or -1

// Tokenize text[0..len). add_bos: prepend BOS (callers pass ss_vocab_add_bos(v) for the default);
// parse_special: control token texts written in the text are those tokens (user-defined tokens
// are always matched, as llama.cpp does). Invalid UTF-8 never fails: BPE reads an invalid byte
// as U+FFFD, SPM gives it its <0xXX> byte token.
// Returns the number of tokens (may exceed max: then only the first max are written, call again).
int  ss_tokenize(const ss_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special,
                 int32_t *out, int max);

// The bytes a token stands for (byte-level decoded / U+2581 -> ' ' / <0xXX> -> byte).
// Control tokens give their text when render_special, else nothing. Returns byte count
// (may exceed buflen: then nothing is written).
int  ss_token_to_piece(const ss_vocab *v, int32_t id, char *buf, int buflen, bool render_special);

// Streaming detokenizer: holds back incomplete UTF-8 sequences so a stream never prints half
// a character. Control tokens print nothing (use ss_token_to_piece to show them).
// A zero-initialized ss_detok continues a text (every piece verbatim: use it for generated tokens).
// ss_detok_begin() starts a text from its first token as llama.cpp's llama_detokenize does:
// for SPM vocabs (add_space_prefix) one leading space of the first token's piece is dropped, so
// detokenizing ss_tokenize(text, add_bos = false) gives back `text`; when the first token is BOS
// it consumes that rule and the space of the next piece stays (as llama.cpp).
typedef struct { char pending[8]; int n_pending; int lstrip; } ss_detok;
void ss_detok_begin(ss_detok *d, const ss_vocab *v);
// append the bytes of `id` that complete characters to out and return their count. If outlen is
// too small (it must hold 4 + piece bytes), nothing is consumed and -(bytes needed) is returned.
int  ss_detok_push(ss_detok *d, const ss_vocab *v, int32_t id, char *out, int outlen);
int  ss_detok_flush(ss_detok *d, char *out, int outlen);   // remaining bytes at end of stream

#endif
