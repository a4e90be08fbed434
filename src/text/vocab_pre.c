// vocab_pre.c — byte-level BPE pre-tokenizers: the regex lists llama.cpp (llama-vocab.cpp,
// unicode.cpp) uses for each `tokenizer.ggml.pre` value, run with PCRE2 in UTF + UCP mode.
//
// How llama.cpp splits, and how this file reproduces it:
//   * the text is decoded to code points; an invalid UTF-8 byte becomes U+FFFD;
//   * the pieces start as [whole text]; each regex of the list splits every piece into its
//     matches AND the unmatched gaps between them (both kept), searching each piece as if it were
//     the whole subject (so `$` and `(?!\S)` see the piece's end);
//   * llama.cpp runs regexes that use \p{..} on a "collapsed" text (every non-ASCII code point
//     replaced by one byte naming its category) and the others with std::wregex; in both cases
//     non-ASCII whitespace is first replaced by U+000B. PCRE2 with PCRE2_UCP gives the same
//     categories, so we only reproduce the whitespace replacement (plus U+180E, which PCRE2's
//     \s counts as space and llama.cpp does not);
//   * the words are rebuilt from the code points and each byte mapped to GPT-2's byte alphabet.
// gpt2 and llama3 have hand-written splitters in llama.cpp that implement the same regexes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include "ss_vocab_pre.h"

#define PRE_MAX_RE 6

struct ss_vocab_pre {
    int n_re;
    pcre2_code *re[PRE_MAX_RE];
};

// ---------------------------------------------------------------------------------------------
// regex lists (strings as in llama.cpp; non-ASCII characters written as \x{..} escapes)

#define RE_GPT2   "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTR  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3 RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2  RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
// CJK ideographs 4E00-9FA5, U+0800-U+4E00, Hangul AC00-D7FF
#define RE_CJK    "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
// deepseek-llm's letter class: the runs of cased letters (Lu, Ll, Lt) of an older Unicode
#define RE_DS_LETTERS \
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}" \
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}" \
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}" \
    "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}" \
    "\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}" \
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}" \
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}" \
    "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}" \
    "\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}" \
    "\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}" \
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}" \
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}" \
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}" \
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}" \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}" \
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}" \
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}" \
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"
// ASCII punctuation, fullwidth forms FF01-FF0F FF1A-FF5E, quotes 2018-201F, 3000-3002
#define RE_DS_PUNCT "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"
// " ?[^(\s|.,!?…。，、।۔،)]+"
#define RE_PORO   " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"
#define RE_TEKKEN "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O  "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" RE_CONTR "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" RE_CONTR "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct {
    const char *names;              // '|'-separated tokenizer.ggml.pre values
    const char *re[PRE_MAX_RE];
    ss_vocab_pre_info info;
} pre_def;

static const pre_def pre_defs[] = {
    {"default",
        {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, {0}},
    {"llama3|llama-v3|llama-bpe|falcon3|pixtral",
        {RE_LLAMA3}, {.ignore_merges = true, .add_bos = true}},
    {"dbrx|smaug-bpe", {RE_LLAMA3}, {0}},
    {"chatglm-bpe|glm4", {RE_LLAMA3}, {.no_bos = true}},
    {"deepseek-llm",
        {"[\r\n]", RE_DS_LETTERS, RE_DS_PUNCT, "\\s+$", RE_CJK, "\\p{N}+"}, {0}},
    {"deepseek-coder",
        {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}"}, {0}},
    {"deepseek-v3",
        {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
         "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
        {0}},
    {"falcon",
        {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}, {0}},
    {"starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b",
        {"\\p{N}", RE_GPT2}, {0}},
    {"gpt-2|phi-2|mpt|olmo|jais|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|roberta-bpe|trillion|exaone4",
        {RE_GPT2}, {0}},
    {"qwen2|deepseek-r1-qwen|megrez|stablelm2|hunyuan", {RE_QWEN2}, {0}},
    {"poro-chat|bloom|gpt3-finnish", {RE_PORO}, {0}},
    {"viking", {RE_PORO, "\\p{N}"}, {0}},
    {"tekken", {RE_TEKKEN}, {.ignore_merges = true, .add_bos = true}},
    {"gpt-4o|llama4", {RE_GPT4O}, {0}},
    {"seed-coder",
        {RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, {0}},
    {"bailingmoe|bailingmoe2|llada-moe",
        {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}, {0}},
};

static bool pre_name_in(const char *names, const char *name) {
    size_t n = strlen(name);
    for (const char *p = names; *p; ) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !memcmp(p, name, n)) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

int ss_vocab_pre_create(ss_vocab_pre **out, const char *name, ss_vocab_pre_info *info,
                        char *err, size_t errlen) {
    *out = NULL;
    if (!name || !*name) name = "default";
    const pre_def *d = NULL;
    for (size_t i = 0; i < sizeof(pre_defs) / sizeof(pre_defs[0]) && !d; i++)
        if (pre_name_in(pre_defs[i].names, name)) d = &pre_defs[i];
    if (!d) return ss_err(err, errlen, "unknown pre-tokenizer '%s'", name);

    ss_vocab_pre *p = ss_calloc(1, sizeof *p);
    if (!p) return ss_err(err, errlen, "pre-tokenizer '%s': out of memory", name);
    for (int i = 0; i < PRE_MAX_RE && d->re[i]; i++) {
        int ec; PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)d->re[i], PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            ss_vocab_pre_free(p);
            return ss_err(err, errlen, "pre-tokenizer '%s': regex %d: %s at offset %zu", name, i, (char *)msg, (size_t)eo);
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   // optional: falls back to the interpreter
        p->re[p->n_re++] = re;
    }
    if (info) *info = d->info;
    *out = p;
    return 0;
}

void ss_vocab_pre_free(ss_vocab_pre *p) {
    if (!p) return;
    for (int i = 0; i < p->n_re; i++) pcre2_code_free(p->re[i]);
    free(p);
}

void ss_vocab_pre_words_free(ss_vocab_pre_words *w) {
    free(w->bytes); free(w->ends); free(w->cpts); free(w->mtext); free(w->mstart);
    free(w->seg[0]); free(w->seg[1]);
    if (w->match_data) pcre2_match_data_free(w->match_data);
    memset(w, 0, sizeof *w);
}

// ---------------------------------------------------------------------------------------------
// UTF-8 and the GPT-2 byte alphabet

int ss_vocab_utf8_len(unsigned char c) {
    static const int lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

uint32_t ss_vocab_utf8_decode(const char *text, size_t len, size_t *i) {
    const unsigned char *s = (const unsigned char *)text + *i;
    size_t rem = len - *i;
    unsigned char c = s[0];
    uint32_t cpt;
    int n;
    if (c < 0x80) { *i += 1; return c; }
    if (!(c & 0x40)) goto invalid;                                   // stray continuation byte
    if (!(c & 0x20))      { n = 2; cpt = c & 0x1f; }
    else if (!(c & 0x10)) { n = 3; cpt = c & 0x0f; }
    else if (!(c & 0x08)) { n = 4; cpt = c & 0x07; }
    else goto invalid;
    if (rem < (size_t)n) goto invalid;
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) goto invalid;
        cpt = (cpt << 6) | (s[k] & 0x3f);
    }
    // llama.cpp cannot re-encode code points above U+10FFFF (it throws); treat them as invalid
    if (cpt > 0x10FFFF) goto invalid;
    *i += n;
    return cpt;
invalid:
    *i += 1;
    return 0xFFFD;
}

int ss_vocab_utf8_encode(uint32_t cpt, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cpt <= 0x7f)   { o[0] = cpt; return 1; }
    if (cpt <= 0x7ff)  { o[0] = 0xc0 | (cpt >> 6); o[1] = 0x80 | (cpt & 0x3f); return 2; }
    if (cpt <= 0xffff) { o[0] = 0xe0 | (cpt >> 12); o[1] = 0x80 | ((cpt >> 6) & 0x3f); o[2] = 0x80 | (cpt & 0x3f); return 3; }
    o[0] = 0xf0 | ((cpt >> 18) & 0x07); o[1] = 0x80 | ((cpt >> 12) & 0x3f);
    o[2] = 0x80 | ((cpt >> 6) & 0x3f);  o[3] = 0x80 | (cpt & 0x3f);
    return 4;
}

// GPT-2: bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF stand for themselves; the other 68 bytes, in
// increasing order, for U+0100, U+0101, ...
static bool byte_is_printable(int b) {
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

uint32_t ss_vocab_byte_to_cpt(uint8_t b) {
    if (byte_is_printable(b)) return b;
    if (b <= 0x20) return 256 + b;                       // 0x00..0x20 -> U+0100..U+0120
    if (b <= 0xa0) return 256 + 33 + (b - 0x7f);         // 0x7F..0xA0 -> U+0121..U+0142
    return 256 + 67;                                     // 0xAD       -> U+0143
}

int ss_vocab_cpt_to_byte(uint32_t cpt) {
    if (cpt < 256) return byte_is_printable((int)cpt) ? (int)cpt : -1;
    if (cpt <= 256 + 32) return (int)(cpt - 256);
    if (cpt <= 256 + 66) return (int)(cpt - 256 - 33 + 0x7f);
    if (cpt == 256 + 67) return 0xad;
    return -1;
}

// Unicode White_Space (what llama.cpp's unicode_cpt_flags.is_whitespace says)
static bool cpt_is_whitespace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

// ---------------------------------------------------------------------------------------------
// splitting

void *ss_vocab_grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = ss_realloc(p, c * elem);
    if (q) *cap = c;
    return q;                                  // NULL: out of memory (p is still allocated)
}
// grow a words array; false (w->oom set, array unchanged) when out of memory
static bool pre_grow(ss_vocab_pre_words *w, void **p, size_t *cap, size_t need, size_t elem) {
    void *q = w->oom ? NULL : ss_vocab_grow(*p, cap, need, elem);
    if (!q) { w->oom = true; return false; }
    *p = q;
    return true;
}
#define GROW(w, ptr, cap, need) pre_grow((w), (void **)&(ptr), &(cap), (need), sizeof(*(ptr)))

// one regex over the pieces `in` (lengths in code points) -> `out`
static size_t pre_apply_regex(const pcre2_code *re, ss_vocab_pre_words *w,
                              const uint32_t *in, size_t n_in, uint32_t **out, size_t *cap_out) {
    size_t n_out = 0;
    size_t cpt0 = 0;                          // first code point of the current piece
    pcre2_match_data *md = w->match_data;
    for (size_t k = 0; k < n_in; k++) {
        size_t cpt1 = cpt0 + in[k];
        const char *subj = w->mtext + w->mstart[cpt0];
        size_t slen = w->mstart[cpt1] - w->mstart[cpt0];
        size_t pos = 0, last = 0;             // byte offsets inside the piece
        size_t last_cpt = cpt0;
        while (pos <= slen) {
            int rc = pcre2_match(re, (PCRE2_SPTR)subj, slen, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
                rc = pcre2_match(re, (PCRE2_SPTR)subj, slen, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
            if (rc < 0) break;                // no match (or a resource limit): rest is a gap
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            // byte offsets -> code point indices (binary search in mstart)
            size_t lo = cpt0, hi = cpt1;
            while (lo < hi) { size_t mid = (lo + hi) / 2; if (w->mstart[mid] - w->mstart[cpt0] < ms) lo = mid + 1; else hi = mid; }
            size_t ms_cpt = lo;
            lo = ms_cpt; hi = cpt1;
            while (lo < hi) { size_t mid = (lo + hi) / 2; if (w->mstart[mid] - w->mstart[cpt0] < me) lo = mid + 1; else hi = mid; }
            size_t me_cpt = lo;
            if (!GROW(w, *out, *cap_out, n_out + 2)) return 0;
            if (ms_cpt > last_cpt) (*out)[n_out++] = (uint32_t)(ms_cpt - last_cpt);
            if (me_cpt > ms_cpt) (*out)[n_out++] = (uint32_t)(me_cpt - ms_cpt);
            last = me; last_cpt = me_cpt;
            if (me > ms) pos = me;
            else {                            // empty match: step over one character
                if (me >= slen) break;
                pos = me + ss_vocab_utf8_len((unsigned char)subj[me]);
            }
        }
        (void)last;
        if (cpt1 > last_cpt) {
            if (!GROW(w, *out, *cap_out, n_out + 1)) return 0;
            (*out)[n_out++] = (uint32_t)(cpt1 - last_cpt);
        }
        cpt0 = cpt1;
    }
    return n_out;
}

void ss_vocab_pre_split(const ss_vocab_pre *p, const char *text, size_t len, ss_vocab_pre_words *w) {
    w->n_bytes = 0;
    w->n_words = 0;
    w->oom = false;
    if (len == 0) return;
    if (!w->match_data) w->match_data = pcre2_match_data_create(1, NULL);
    if (!w->match_data) { w->oom = true; return; }

    // code points (invalid bytes -> U+FFFD) and the text the regexes see
    if (!GROW(w, w->cpts, w->cap_cpts, len) || !GROW(w, w->mstart, w->cap_mstart, len + 1) ||
        !GROW(w, w->mtext, w->cap_mtext, 4 * len + 1)) return;
    size_t n = 0, mlen = 0;
    for (size_t i = 0; i < len; ) {
        uint32_t c = ss_vocab_utf8_decode(text, len, &i);
        uint32_t m = c;
        if (c >= 0x80 && cpt_is_whitespace(c)) m = 0x0b;     // as llama.cpp: non-ASCII space -> VT
        else if (c == 0x180e) m = 0x200b;                    // Mongolian vowel separator: not a space
        else if (c >= 0xd800 && c <= 0xdfff) m = 0xe000;     // surrogate (PCRE2 rejects it): a Co char
        w->cpts[n] = c;
        w->mstart[n] = (uint32_t)mlen;
        mlen += ss_vocab_utf8_encode(m, w->mtext + mlen);
        n++;
    }
    w->mstart[n] = (uint32_t)mlen;

    // pieces, regex after regex
    int cur = 0;
    if (!GROW(w, w->seg[0], w->cap_seg[0], 1)) return;
    w->seg[0][0] = (uint32_t)n;
    size_t n_seg = 1;
    for (int r = 0; r < p->n_re; r++) {
        n_seg = pre_apply_regex(p->re[r], w, w->seg[cur], n_seg, &w->seg[1 - cur], &w->cap_seg[1 - cur]);
        if (w->oom) return;
        cur = 1 - cur;
    }

    // words: code points -> UTF-8 (surrogates included, as llama.cpp) -> GPT-2 byte alphabet
    if (!GROW(w, w->ends, w->cap_words, n_seg) || !GROW(w, w->bytes, w->cap_bytes, 8 * n + 8)) return;   // <= 4 bytes per cpt, 2 per byte
    size_t ci = 0;
    for (size_t k = 0; k < n_seg; k++) {
        for (uint32_t j = 0; j < w->seg[cur][k]; j++, ci++) {
            char u[4];
            int nb = ss_vocab_utf8_encode(w->cpts[ci], u);
            for (int b = 0; b < nb; b++)
                w->n_bytes += ss_vocab_utf8_encode(ss_vocab_byte_to_cpt((uint8_t)u[b]), w->bytes + w->n_bytes);
        }
        w->ends[w->n_words++] = (uint32_t)w->n_bytes;
    }
}
