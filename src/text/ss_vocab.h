// ss_vocab.h — tokenizers read from GGUF `tokenizer.*` metadata:
//   gpt2  : byte-level BPE with the pre-tokenizer named by tokenizer.ggml.pre
//           (qwen2, llama-bpe, gpt2/default, deepseek-llm, deepseek-coder, starcoder, falcon, ...)
//   llama : SentencePiece-style BPE (scores, U+2581 space marker, <0xXX> byte fallback, BOS)
#ifndef SS_VOCAB_H
#define SS_VOCAB_H
#include "ss_gguf.h"

// The public part (tokenize, pieces, streaming detokenizer, special tokens) is in slotswift.h;
// internal: loading from an open GGUF.

// load from an open GGUF; -1 + err ("PATH: tokenizer.ggml.xxx: reason") on bad/missing data.
// Everything is copied: the GGUF may be closed afterwards. Special token ids outside the vocab
// are ignored (the default stays), as llama.cpp does. The vocab is read-only after loading:
// any number of threads may tokenize with it at once.
int  ss_vocab_load(ss_vocab **out, const ss_gguf *g, char *err, size_t errlen);

#endif
