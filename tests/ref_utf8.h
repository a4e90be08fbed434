// ref_utf8.h — an independent strict UTF-8 check for the tokenizer tests and fuzzer (not the
// library's own decoder): no overlong forms, no surrogates, no code points above U+10FFFF.
#ifndef SS_REF_UTF8_H
#define SS_REF_UTF8_H
#include <stdbool.h>
#include <stddef.h>

static inline bool ref_utf8_valid(const void *p, size_t n) {
    const unsigned char *u = p;
    for (size_t i = 0; i < n; ) {
        unsigned c = u[i], cp, min;
        size_t k;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) { k = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { k = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { k = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (i + k > n) return false;
        for (size_t j = 1; j < k; j++) {
            if ((u[i + j] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (u[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += k;
    }
    return true;
}
#endif
