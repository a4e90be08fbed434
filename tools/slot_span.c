// slot_span.c — build the SLOT loss mask from --slot-span.
#include "slot_span.h"
#include <stdlib.h>
#include <string.h>
#include <errno.h>

uint8_t *slot_span_mask(const ss_model *m, const ss_args *a, const char *user_text, const char *prompt,
                        const int32_t *toks, int T, char *err, size_t errlen) {
    (void)prompt;
    if (err && errlen) err[0] = 0;
    if (!a->slot_span) return NULL;
    uint8_t *mask = tool_calloc(T, 1);
    int n_on = 0;
    if (!strcmp(a->slot_span, "user")) {
        // detokenize the prompt, remembering where each token's bytes start; find the user text in it
        const ss_vocab *v = ss_model_vocab(m);
        size_t cap = 256, len = 0;
        char *s = tool_malloc(cap);
        size_t *start = tool_malloc(sizeof(size_t) * (T + 1));
        char piece[256];
        for (int t = 0; t < T; t++) {
            start[t] = len;
            int k = ss_token_to_piece(v, toks[t], piece, sizeof piece, true);
            if (k < 0 || k > (int)sizeof piece) k = 0;
            if (len + k + 1 > cap) { cap = (len + k + 1) * 2; s = tool_realloc(s, cap); }
            memcpy(s + len, piece, k);
            len += k;
        }
        start[T] = len;
        s[len] = 0;
        const char *hit = NULL, *p = s;
        size_t ul = strlen(user_text);
        while (ul && (p = strstr(p, user_text))) { hit = p; p++; }
        if (!hit) {
            free(s); free(start); free(mask);
            ss_err(err, errlen, "'user': the user's text was not found in the prompt's tokens");
            return NULL;
        }
        size_t b0 = hit - s, b1 = b0 + ul;
        for (int t = 0; t + 1 < T; t++) {
            size_t tb = start[t + 1], te = start[t + 2 <= T ? t + 2 : T];
            if (te > b0 && tb < b1) { mask[t] = 1; n_on++; }
        }
        free(s); free(start);
    } else {
        const char *p = a->slot_span;
        while (*p) {
            char *end;
            errno = 0;
            long lo = strtol(p, &end, 10);
            if (end == p || *end != ':') goto bad;
            p = end + 1;
            long hi = strtol(p, &end, 10);
            if (end == p || errno || lo < 0 || hi < lo) goto bad;
            if (hi > T) hi = T;
            for (long t = lo; t < hi; t++) if (t >= 1) { if (!mask[t - 1]) n_on++; mask[t - 1] = 1; }
            p = end;
            if (*p == ',') p++;
            else if (*p) goto bad;
        }
    }
    if (n_on == 0) {
        free(mask);
        ss_err(err, errlen, "'%s' selects no prompt token to predict", a->slot_span);
        return NULL;
    }
    return mask;
bad:
    free(mask);
    ss_err(err, errlen, "'%s': expected 'user' or token ranges like 5:20,30:40", a->slot_span);
    return NULL;
}
