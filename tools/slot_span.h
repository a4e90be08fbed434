// slot_span.h — --slot-span: restrict SLOT's loss to chosen prompt tokens.
//   "user"      : positions predicting a token of the user's message (not the chat-template tokens)
//   "A:B[,C:D]" : positions predicting prompt tokens A..B-1 (token indices, 0-based, B exclusive)
#ifndef SS_SLOT_SPAN_H
#define SS_SLOT_SPAN_H
#include "tool.h"
// Returns mask[T] (mask[t] = 1: position t, predicting token t+1, counts) or NULL when a->slot_span
// is not set; NULL with err set on a bad spec.
uint8_t *slot_span_mask(const ss_model *m, const ss_args *a, const char *user_text, const char *prompt,
                        const int32_t *toks, int T, char *err, size_t errlen);
#endif
