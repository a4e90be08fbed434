// chat.c — chat templates: recognise tokenizer.chat_template (Jinja source) as one of the known
// families and render a conversation byte-exactly as the Jinja template would (Hugging Face
// settings: trim_blocks, lstrip_blocks, tools=None, no date_string).
//
// Detection works on a canonical form of the template, so that whitespace inside tags, quote
// style and `x['key']` vs `x.key` do not matter:
//   - whitespace control is applied (trim_blocks, lstrip_blocks, `-` / `+` modifiers) and every
//     piece of raw text that would be printed becomes an output statement {{'text'}};
//   - inside tags, tokens are joined without whitespace (one space between two words);
//   - string literals are unescaped and re-emitted as '...' (escapes \\ \' \n \r \t);
//   - x['key'] / x["key"] becomes x.key;
//   - adjacent literals joined by + are folded: 'a'+'b' -> 'ab' (where precedence allows);
//   - comments are dropped.
// Small templates are matched whole (one slot for a default system prompt); large templates
// with tool-use branches are matched by the snippets of every statement that prints something
// when no tools are given. Anything else is reported unknown: never a guess.
#include "ss_chat.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <time.h>

// ---------------------------------------------------------------------------------------------
// growable byte string

typedef struct { char *p; size_t n, cap; } sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        b->p = ss_realloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_putc(sbuf *b, char c) { sb_putn(b, &c, 1); }
static char *sb_take(sbuf *b) { if (!b->p) sb_putn(b, "", 0); char *p = b->p; b->p = NULL; b->n = b->cap = 0; return p; }

// ---------------------------------------------------------------------------------------------
// Python's str.strip() (what Jinja's |trim and .strip() call) on UTF-8 text.
// str.isspace() is true for U+0009..U+000D, U+001C..U+001F, U+0020, U+0085, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.

static bool chat_py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

// decode one UTF-8 sequence at s[0..n); returns its length (1 for an invalid byte, cp = 0xFFFD)
static size_t chat_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    size_t len; uint32_t v;
    if (c < 0x80) { *cp = c; return 1; }
    else if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; }
    else { *cp = 0xFFFD; return 1; }
    if (len > n) { *cp = 0xFFFD; return 1; }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

// [*b, *e) of s[0..n) with leading/trailing Python whitespace removed
static void chat_strip(const char *s, size_t n, size_t *b, size_t *e) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp; size_t l = chat_utf8_decode(u + i, n - i, &cp);
        if (!chat_py_isspace(cp)) break;
        i += l;
    }
    size_t j = n;
    while (j > i) {
        size_t k = j - 1;                                   // start of the last character
        while (k > i && (u[k] & 0xC0) == 0x80 && j - k < 4) k--;
        uint32_t cp; size_t l = chat_utf8_decode(u + k, j - k, &cp);
        if (l != j - k) { k = j - 1; cp = 0xFFFD; }         // not one valid character: a lone byte
        if (!chat_py_isspace(cp)) break;
        j = k;
    }
    *b = i; *e = j;
}

static void sb_put_stripped(sbuf *b, const char *s) {
    size_t i, j;
    chat_strip(s, strlen(s), &i, &j);
    sb_putn(b, s + i, j - i);
}

// ---------------------------------------------------------------------------------------------
// canonical form of a Jinja template (see the top of the file)

enum { TK_WORD, TK_STR, TK_OP };
typedef struct { int type; char *s; size_t n; } chat_tok;   // TK_STR: unescaped value
typedef struct { chat_tok *v; int n, cap; } chat_toks;

static void toks_push(chat_toks *t, int type, const char *s, size_t n) {
    if (t->n == t->cap) { t->cap = t->cap ? 2 * t->cap : 32; t->v = ss_realloc(t->v, t->cap * sizeof *t->v); }
    t->v[t->n].type = type;
    t->v[t->n].s = ss_strndup(s, n);
    t->v[t->n].n = n;
    t->n++;
}
static void toks_clear(chat_toks *t) { for (int i = 0; i < t->n; i++) free(t->v[i].s); t->n = 0; }

static bool tok_is(const chat_tok *t, const char *s) { return t->type != TK_STR && strcmp(t->s, s) == 0; }

static bool chat_is_ident(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++) if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

// append the UTF-8 encoding of cp
static void sb_put_utf8(sbuf *b, uint32_t cp) {
    char o[4];
    if (cp < 0x80) { o[0] = (char)cp; sb_putn(b, o, 1); }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); sb_putn(b, o, 2); }
    else if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); sb_putn(b, o, 3); }
    else { o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); sb_putn(b, o, 4); }
}

static int chat_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Lex the inside of one tag starting at src[*pos]; stops after the closing delimiter `close`
// ("}}" or "%}"), recording whether it was "-}}"/"-%}" (strip) or "+%}" (plus).
// Returns false on an unterminated tag or string.
static bool chat_lex_tag(const char *src, size_t len, size_t *pos, const char *close,
                         chat_toks *out, bool *strip, bool *plus) {
    size_t i = *pos;
    *strip = *plus = false;
    sbuf lit = {0};
    while (i < len) {
        char c = src[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') { i++; continue; }
        if ((c == '-' || c == '+') && i + 2 < len && strncmp(src + i + 1, close, 2) == 0) {
            *strip = (c == '-'); *plus = (c == '+');
            *pos = i + 3; free(lit.p); return true;
        }
        if (strncmp(src + i, close, 2) == 0) { *pos = i + 2; free(lit.p); return true; }
        if (c == '\'' || c == '"') {
            char q = c; size_t j = i + 1;
            lit.n = 0; sb_putn(&lit, "", 0);
            for (;;) {
                if (j >= len) { free(lit.p); return false; }
                char d = src[j];
                if (d == q) break;
                if (d == '\\' && j + 1 < len) {
                    char e = src[j + 1];
                    int hx = 0; uint32_t v = 0; bool okx = true;
                    switch (e) {
                    case 'n': sb_putc(&lit, '\n'); j += 2; continue;
                    case 't': sb_putc(&lit, '\t'); j += 2; continue;
                    case 'r': sb_putc(&lit, '\r'); j += 2; continue;
                    case '\\': sb_putc(&lit, '\\'); j += 2; continue;
                    case '\'': sb_putc(&lit, '\''); j += 2; continue;
                    case '"': sb_putc(&lit, '"'); j += 2; continue;
                    case '\n': j += 2; continue;                  // line continuation
                    case 'x': hx = 2; break;
                    case 'u': hx = 4; break;
                    case 'U': hx = 8; break;
                    default: break;
                    }
                    if (hx) {
                        if (j + 2 + hx > len) okx = false;
                        for (int k = 0; okx && k < hx; k++) {
                            int h = chat_hexval(src[j + 2 + k]);
                            if (h < 0) okx = false; else v = v * 16 + (uint32_t)h;
                        }
                        if (okx && v <= 0x10FFFF) { sb_put_utf8(&lit, v); j += 2 + hx; continue; }
                    }
                    sb_putc(&lit, '\\'); j += 1; continue;        // unknown escape: kept as is
                }
                sb_putc(&lit, d); j++;
            }
            toks_push(out, TK_STR, lit.p, lit.n);
            i = j + 1;
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_') {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)src[j]) || src[j] == '_')) j++;
            toks_push(out, TK_WORD, src + i, j - i);
            i = j; continue;
        }
        if (isdigit((unsigned char)c)) {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)src[j]) || src[j] == '.' || src[j] == '_')) j++;
            toks_push(out, TK_WORD, src + i, j - i);
            i = j; continue;
        }
        static const char *two[] = {"==", "!=", "<=", ">=", "//", "**"};
        size_t l = 1;
        for (int k = 0; k < 6; k++) if (i + 1 < len && src[i] == two[k][0] && src[i + 1] == two[k][1]) l = 2;
        toks_push(out, TK_OP, src + i, l);
        i += l;
    }
    free(lit.p);
    return false;
}

// x['key'] -> x.key ; 'a'+'b' -> 'ab' (only where the result is the same expression)
static void chat_normalize_toks(chat_toks *t) {
    static const char *kw[] = {"in", "and", "or", "not", "if", "else", "elif", "is", "for", "set",
                               "return", "do", "with", "recursive", "print", NULL};
    for (int i = 1; i + 2 < t->n; i++) {
        chat_tok *a = &t->v[i - 1], *b = &t->v[i], *c = &t->v[i + 1], *d = &t->v[i + 2];
        if (!tok_is(b, "[") || c->type != TK_STR || !tok_is(d, "]") || !chat_is_ident(c->s, c->n)) continue;
        bool ok = tok_is(a, "]") || tok_is(a, ")") || a->type == TK_WORD;
        if (a->type == TK_WORD) for (int k = 0; kw[k]; k++) if (strcmp(a->s, kw[k]) == 0) ok = false;
        if (a->type == TK_WORD && isdigit((unsigned char)a->s[0])) ok = false;
        if (!ok) continue;
        free(b->s); b->s = ss_strdup("."); b->n = 1;
        c->type = TK_WORD;
        free(d->s);
        memmove(d, d + 1, (size_t)(t->n - (i + 3)) * sizeof *d);
        t->n--;
    }
    static const char *prev_ok[] = {"+", "(", ",", "=", "~", "[", NULL};
    static const char *next_bad[] = {"|", ".", "[", "(", "*", "/", "%", "**", "//", "is", NULL};
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i + 2 < t->n; i++) {
            chat_tok *a = &t->v[i], *p = &t->v[i + 1], *b = &t->v[i + 2];
            if (a->type != TK_STR || !tok_is(p, "+") || b->type != TK_STR) continue;
            bool ok = (i == 0);
            for (int k = 0; !ok && prev_ok[k]; k++) if (tok_is(&t->v[i - 1], prev_ok[k])) ok = true;
            if (i + 3 < t->n) for (int k = 0; next_bad[k]; k++) if (tok_is(&t->v[i + 3], next_bad[k])) ok = false;
            if (!ok) continue;
            char *s = ss_malloc(a->n + b->n + 1);
            memcpy(s, a->s, a->n); memcpy(s + a->n, b->s, b->n); s[a->n + b->n] = 0;
            free(a->s); a->s = s; a->n += b->n;
            free(p->s); free(b->s);
            memmove(p, p + 2, (size_t)(t->n - (i + 3)) * sizeof *p);
            t->n -= 2;
            changed = true;
        }
    }
}

static void chat_put_lit(sbuf *b, const char *s, size_t n) {
    sb_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') sb_puts(b, "\\\\");
        else if (c == '\'') sb_puts(b, "\\'");
        else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c == '\t') sb_puts(b, "\\t");
        else sb_putc(b, c);
    }
    sb_putc(b, '\'');
}

static void chat_put_toks(sbuf *b, const chat_toks *t) {
    for (int i = 0; i < t->n; i++) {
        const chat_tok *k = &t->v[i];
        if (k->type == TK_STR) { chat_put_lit(b, k->s, k->n); continue; }
        if (i > 0 && k->type == TK_WORD && t->v[i - 1].type == TK_WORD) sb_putc(b, ' ');
        sb_putn(b, k->s, k->n);
    }
}

char *ss_chat_canonical(const char *src) {
    if (!src) return NULL;
    size_t len = strlen(src), pos = 0;
    sbuf out = {0};
    chat_toks toks = {0};
    bool prev_strip = false;      // the previous tag ended with '-': strip leading whitespace
    bool line_starting = true;    // text starts at the beginning of a line (lstrip_blocks)
    for (;;) {
        // next tag
        size_t t = pos;
        const char *open = NULL;
        while (t + 1 < len) {
            if (src[t] == '{' && (src[t + 1] == '{' || src[t + 1] == '%' || src[t + 1] == '#')) { open = src + t; break; }
            t++;
        }
        size_t tend = open ? t : len;
        char kind = open ? open[1] : 0;
        bool open_strip = open && t + 2 < len && src[t + 2] == '-';
        bool open_plus = open && t + 2 < len && src[t + 2] == '+';
        // the raw text before it, with whitespace control applied
        size_t a = pos, b = tend;
        if (prev_strip) {                       // "-%}" also ate the whitespace after it
            while (a < b && isspace((unsigned char)src[a])) a++;
            if (a > pos && src[a - 1] == '\n') line_starting = true;
        }
        if (open && open_strip) while (b > a && isspace((unsigned char)src[b - 1])) b--;
        else if (open && (kind == '%' || kind == '#') && !open_plus) {
            // lstrip_blocks: blanks between the start of the line and a block/comment tag go
            size_t l = b;
            while (l > a && src[l - 1] != '\n') l--;
            bool only_blank = true;
            for (size_t k = l; k < b; k++) if (src[k] != ' ' && src[k] != '\t') only_blank = false;
            if ((l > a || line_starting) && only_blank) b = l;
        }
        if (b > a) { sb_puts(&out, "{{"); chat_put_lit(&out, src + a, b - a); sb_puts(&out, "}}"); }
        if (!open) break;
        pos = t + 2 + ((open_strip || open_plus) ? 1 : 0);
        bool strip = false, plus = false;
        if (kind == '#') {
            const char *e = strstr(src + pos, "#}");
            if (!e) goto bad;
            strip = (e > src + pos && e[-1] == '-');
            pos = (size_t)(e - src) + 2;
        } else {
            toks_clear(&toks);
            if (!chat_lex_tag(src, len, &pos, kind == '{' ? "}}" : "%}", &toks, &strip, &plus)) goto bad;
            chat_normalize_toks(&toks);
            sb_puts(&out, kind == '{' ? "{{" : "{%");
            chat_put_toks(&out, &toks);
            sb_puts(&out, kind == '{' ? "}}" : "%}");
        }
        prev_strip = strip;
        line_starting = false;
        // trim_blocks: the first newline after a block or comment tag is removed
        if (kind != '{' && !strip && !plus && pos < len && src[pos] == '\n') { pos++; line_starting = true; }
        else if (kind != '{' && !strip && !plus && pos + 1 < len && src[pos] == '\r' && src[pos + 1] == '\n') { pos += 2; line_starting = true; }
    }
    toks_clear(&toks); free(toks.v);
    return sb_take(&out);
bad:
    toks_clear(&toks); free(toks.v); free(out.p);
    return NULL;
}

// ---------------------------------------------------------------------------------------------
// template variants: what a recognised template prints for [system?, user, assistant, user, ...]

enum {
    CV_NONE = 0,
    CV_CHATML,          // <|im_start|>role\ncontent<|im_end|>\n ; optional default system, optional bos
    CV_QWEN25,          // Qwen2.5 tool-aware ChatML (same output without tools), default system
    CV_LLAMA30,         // Llama 3: bos, header, content|trim, <|eot_id|>
    CV_LLAMA31,         // Llama 3.1/3.2/3.3: system header with knowledge cutoff and date
    CV_LLAMA2,          // Llama 2 chat: <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>
    CV_MISTRAL_V1,      // bos [INST] u [/INST]a</s>  (no system role)
    CV_MISTRAL_V1S,     // bos ' [INST] ' (system in the first user turn) ' [/INST]' ' 'a</s>
    CV_MISTRAL_V3,      // bos [INST] (system in the last user turn) u[/INST] ' 'a|trim</s>
    CV_MISTRAL_NEMO,    // bos [INST](system in the last user turn)u[/INST]a</s>
    CV_GEMMA2,          // <start_of_turn>user\n...<end_of_turn>\n (system role raises)
    CV_GEMMA3,          // Gemma 3: system + "\n\n" prefixed to the first user turn
    CV_PHI35,           // <|system|>\n...<|end|>\n<|user|>\n...<|end|>\n<|assistant|>\n ; eos if no gen
    CV_PHI3_MINI,       // <|user|>\n...<|end|>\n<|assistant|>\n (system dropped, always a gen prompt)
    CV_PHI3_SMALL,      // <|role|>\n...<|end|>\n for every role ; eos if no gen
    CV_DSR1,            // DeepSeek-R1 (distills): bos system <｜User｜>u<｜Assistant｜>a<｜end▁of▁sentence｜>
};

static const char *chat_variant_names[] = {
    "unknown", "chatml", "qwen2.5", "llama3", "llama3.1", "llama2", "mistral-v1", "mistral-v1-system",
    "mistral-v3", "mistral-nemo", "gemma2", "gemma3", "phi3.5", "phi3-mini", "phi3-small", "deepseek-r1",
};

typedef struct {
    int variant;
    bool bos;           // prints bos_token first
    bool gen_always;    // prints the generation prompt even without add_generation_prompt
    bool split_think;   // DeepSeek: assistant content = content.split('</think>')[-1]
    bool user_eos;      // DeepSeek (llama.cpp template): '<｜end▁of▁sentence｜>' after user turns
    char *default_sys;  // ChatML: system message printed when there is none (NULL: none)
    char *date;         // Llama 3.1: fixed date_string (NULL: from date_fmt)
    char *date_fmt;     // Llama 3.1: strftime_now(fmt) when the template calls it
    char *gen;          // DeepSeek: the generation prompt literal
} chat_spec;

static void chat_spec_free(chat_spec *s) {
    free(s->default_sys); free(s->date); free(s->date_fmt); free(s->gen);
    memset(s, 0, sizeof *s);
}

// undo chat_put_lit's escapes on the body of a canonical literal
static char *chat_unescape(const char *s, size_t n) {
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char e = s[++i];
            sb_putc(&b, e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
        } else sb_putc(&b, s[i]);
    }
    return sb_take(&b);
}

// Match pattern p against s[0..n) exactly (whole = true) or as a prefix (whole = false). The byte
// '\x01' in p matches the body of a canonical literal (no unescaped quote), captured into *cap.
#define SLOT "\x01"
static bool chat_match_at(const char *s, size_t n, const char *p, bool whole, size_t *end, char **cap) {
    const char *slot = strchr(p, '\x01');
    size_t pre = slot ? (size_t)(slot - p) : strlen(p);
    if (pre > n || memcmp(s, p, pre) != 0) return false;
    if (!slot) {
        if (whole && pre != n) return false;
        if (end) *end = pre;
        return true;
    }
    // the slot: shortest body after which the rest matches
    for (size_t j = pre; j <= n; j++) {
        if (j > pre && s[j - 1] == '\'' && (j - 1 == pre || s[j - 2] != '\\')) break;  // left the literal
        size_t e2;
        if (chat_match_at(s + j, n - j, slot + 1, whole, &e2, NULL)) {
            if (cap) *cap = chat_unescape(s + pre, j - pre);
            if (end) *end = j + e2;
            return true;
        }
    }
    return false;
}

// find pattern p anywhere in canonical c; returns its offset or -1
static long chat_find(const char *c, const char *p, char **cap) {
    size_t n = strlen(c);
    size_t pre = strcspn(p, "\x01");
    for (size_t i = 0; i + pre <= n; i++) {
        if (pre && memcmp(c + i, p, pre) != 0) continue;
        size_t e;
        if (chat_match_at(c + i, n - i, p, false, &e, cap)) return (long)i;
    }
    return -1;
}
