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
// Every known template is matched as a whole against a pattern of its canonical form, with holes
// for a captured literal (a default system prompt, a date) and for code that cannot run without
// tools for our conversations (tool branches, the rest of an if-chain whose first branch is
// taken): such a hole only matches balanced, complete statements, so a template that prints
// anything more, less or else where it runs is not matched. Anything else is reported unknown:
// never a guess.
#include "ss_chat.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <time.h>

// ---------------------------------------------------------------------------------------------
// growable byte string

typedef struct { char *p; size_t n, cap; bool oom; } sbuf;   // oom: a growth failed (text incomplete)

static void chat_sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = ss_realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void chat_sb_puts(sbuf *b, const char *s) { chat_sb_putn(b, s, strlen(s)); }
static void chat_sb_putc(sbuf *b, char c) { chat_sb_putn(b, &c, 1); }
// the text (NULL when out of memory); the buffer is empty afterwards
static char *chat_sb_take(sbuf *b) {
    if (!b->p) chat_sb_putn(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    if (b->oom) free(b->p);
    memset(b, 0, sizeof *b);
    return p;
}

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

static void chat_sb_put_stripped(sbuf *b, const char *s) {
    size_t i, j;
    chat_strip(s, strlen(s), &i, &j);
    chat_sb_putn(b, s + i, j - i);
}

// ---------------------------------------------------------------------------------------------
// canonical form of a Jinja template (see the top of the file)

enum { TK_WORD, TK_STR, TK_OP };
typedef struct { int type; char *s; size_t n; } chat_tok;   // TK_STR: unescaped value
typedef struct { chat_tok *v; int n, cap; bool oom; } chat_toks;   // oom: a token was lost

static void chat_toks_push(chat_toks *t, int type, const char *s, size_t n) {
    if (t->oom) return;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        chat_tok *v = ss_realloc(t->v, cap * sizeof *t->v);
        if (!v) { t->oom = true; return; }
        t->v = v;
        t->cap = cap;
    }
    char *c = ss_strndup(s ? s : "", n);
    if (!c) { t->oom = true; return; }
    t->v[t->n].type = type;
    t->v[t->n].s = c;
    t->v[t->n].n = n;
    t->n++;
}
static void chat_toks_clear(chat_toks *t) { for (int i = 0; i < t->n; i++) free(t->v[i].s); t->n = 0; }

static bool chat_tok_is(const chat_tok *t, const char *s) { return t->type != TK_STR && strcmp(t->s, s) == 0; }

static bool chat_is_ident(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++) if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

// append the UTF-8 encoding of cp
static void chat_sb_put_utf8(sbuf *b, uint32_t cp) {
    char o[4];
    if (cp < 0x80) { o[0] = (char)cp; chat_sb_putn(b, o, 1); }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); chat_sb_putn(b, o, 2); }
    else if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); chat_sb_putn(b, o, 3); }
    else { o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); chat_sb_putn(b, o, 4); }
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
            lit.n = 0; chat_sb_putn(&lit, "", 0);
            for (;;) {
                if (j >= len) { free(lit.p); return false; }
                char d = src[j];
                if (d == q) break;
                if (d == '\\' && j + 1 < len) {
                    char e = src[j + 1];
                    int hx = 0; uint32_t v = 0; bool okx = true;
                    switch (e) {
                    case 'n': chat_sb_putc(&lit, '\n'); j += 2; continue;
                    case 't': chat_sb_putc(&lit, '\t'); j += 2; continue;
                    case 'r': chat_sb_putc(&lit, '\r'); j += 2; continue;
                    case '\\': chat_sb_putc(&lit, '\\'); j += 2; continue;
                    case '\'': chat_sb_putc(&lit, '\''); j += 2; continue;
                    case '"': chat_sb_putc(&lit, '"'); j += 2; continue;
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
                        if (okx && v <= 0x10FFFF) { chat_sb_put_utf8(&lit, v); j += 2 + hx; continue; }
                    }
                    chat_sb_putc(&lit, '\\'); j += 1; continue;        // unknown escape: kept as is
                }
                chat_sb_putc(&lit, d); j++;
            }
            if (lit.oom) out->oom = true;
            chat_toks_push(out, TK_STR, lit.p, lit.n);
            i = j + 1;
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_') {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)src[j]) || src[j] == '_')) j++;
            chat_toks_push(out, TK_WORD, src + i, j - i);
            i = j; continue;
        }
        if (isdigit((unsigned char)c)) {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)src[j]) || src[j] == '.' || src[j] == '_')) j++;
            chat_toks_push(out, TK_WORD, src + i, j - i);
            i = j; continue;
        }
        static const char *two[] = {"==", "!=", "<=", ">=", "//", "**"};
        size_t l = 1;
        for (int k = 0; k < 6; k++) if (i + 1 < len && src[i] == two[k][0] && src[i + 1] == two[k][1]) l = 2;
        chat_toks_push(out, TK_OP, src + i, l);
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
        if (!chat_tok_is(b, "[") || c->type != TK_STR || !chat_tok_is(d, "]") || !chat_is_ident(c->s, c->n)) continue;
        bool ok = chat_tok_is(a, "]") || chat_tok_is(a, ")") || a->type == TK_WORD;
        if (a->type == TK_WORD) for (int k = 0; kw[k]; k++) if (strcmp(a->s, kw[k]) == 0) ok = false;
        if (a->type == TK_WORD && isdigit((unsigned char)a->s[0])) ok = false;
        if (!ok) continue;
        char *dot = ss_strdup(".");
        if (!dot) { t->oom = true; return; }
        free(b->s); b->s = dot; b->n = 1;
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
            if (a->type != TK_STR || !chat_tok_is(p, "+") || b->type != TK_STR) continue;
            bool ok = (i == 0);
            for (int k = 0; !ok && prev_ok[k]; k++) if (chat_tok_is(&t->v[i - 1], prev_ok[k])) ok = true;
            if (i + 3 < t->n) for (int k = 0; next_bad[k]; k++) if (chat_tok_is(&t->v[i + 3], next_bad[k])) ok = false;
            if (!ok) continue;
            char *s = ss_malloc(a->n + b->n + 1);
            if (!s) { t->oom = true; return; }
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
    chat_sb_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') chat_sb_puts(b, "\\\\");
        else if (c == '\'') chat_sb_puts(b, "\\'");
        else if (c == '\n') chat_sb_puts(b, "\\n");
        else if (c == '\r') chat_sb_puts(b, "\\r");
        else if (c == '\t') chat_sb_puts(b, "\\t");
        else chat_sb_putc(b, c);
    }
    chat_sb_putc(b, '\'');
}

static void chat_put_toks(sbuf *b, const chat_toks *t) {
    if (t->n > 0 && t->v[0].type == TK_OP && (t->v[0].s[0] == '-' || t->v[0].s[0] == '+')) chat_sb_putc(b, ' ');  // not "{{-"
    for (int i = 0; i < t->n; i++) {
        const chat_tok *k = &t->v[i];
        if (k->type == TK_STR) { chat_put_lit(b, k->s, k->n); continue; }
        if (i > 0 && k->type == TK_WORD && t->v[i - 1].type == TK_WORD) chat_sb_putc(b, ' ');
        chat_sb_putn(b, k->s, k->n);
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
        if (b > a) { chat_sb_puts(&out, "{{"); chat_put_lit(&out, src + a, b - a); chat_sb_puts(&out, "}}"); }
        if (!open) break;
        pos = t + 2 + ((open_strip || open_plus) ? 1 : 0);
        bool strip = false, plus = false;
        if (kind == '#') {
            const char *e = strstr(src + pos, "#}");
            if (!e) goto bad;
            strip = (e > src + pos && e[-1] == '-');
            pos = (size_t)(e - src) + 2;
        } else {
            chat_toks_clear(&toks);
            if (!chat_lex_tag(src, len, &pos, kind == '{' ? "}}" : "%}", &toks, &strip, &plus)) goto bad;
            chat_normalize_toks(&toks);
            if (toks.oom) goto bad;                 // out of memory: no canonical form
            chat_sb_puts(&out, kind == '{' ? "{{" : "{%");
            chat_put_toks(&out, &toks);
            chat_sb_puts(&out, kind == '{' ? "}}" : "%}");
        }
        prev_strip = strip;
        line_starting = false;
        // trim_blocks: the first newline after a block or comment tag is removed
        if (kind != '{' && !strip && !plus && pos < len && src[pos] == '\n') { pos++; line_starting = true; }
        else if (kind != '{' && !strip && !plus && pos + 1 < len && src[pos] == '\r' && src[pos + 1] == '\n') { pos += 2; line_starting = true; }
    }
    chat_toks_clear(&toks); free(toks.v);
    return chat_sb_take(&out);
bad:
    chat_toks_clear(&toks); free(toks.v); free(out.p);
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
    int n_bos;          // bos_token printed this many times first
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
            chat_sb_putc(&b, e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
        } else chat_sb_putc(&b, s[i]);
    }
    return chat_sb_take(&b);
}

// ---- matching a canonical template against a pattern
//
// A pattern is canonical text with holes:
//   SLOT  '\x01'  the body (or part of the body) of one literal; captured, in order
//   SKIP  '\x02'  any sequence of complete statements (if/for/macro/... blocks balanced) that
//                 contains no else/elif/end tag of the enclosing block: the body of a branch
//   CHAIN '\x03'  the same, but else/elif of the enclosing block allowed: the rest of an if-chain
// Holes stand for code that does not run without tools for our conversations (a branch whose
// condition is false, the remaining branches of an if-chain whose first branch is taken).
#define SLOT "\x01"
#define SKIP "\x02"
#define CHAIN "\x03"
#define CHAT_MAX_CAPS 2

// end of the tag starting at c[i] ("{{" or "{%"), literals skipped; 0 if malformed
static size_t chat_tag_end(const char *c, size_t n, size_t i) {
    if (i + 1 >= n || c[i] != '{' || (c[i + 1] != '{' && c[i + 1] != '%')) return 0;
    char close = c[i + 1] == '{' ? '}' : '%';
    for (size_t j = i + 2; j < n; j++) {
        if (c[j] == '\'') {                          // a canonical literal
            for (j++; j < n && c[j] != '\''; j++) if (c[j] == '\\') j++;
            if (j >= n) return 0;
            continue;
        }
        if (c[j] == close && j + 1 < n && c[j + 1] == '}') return j + 2;
    }
    return 0;
}

// block structure of a {%...%} tag: +1 opens a block, -1 closes one, 2 else/elif, 0 other
static int chat_tag_kind(const char *c, size_t i, size_t e) {
    if (c[i + 1] != '%') return 0;
    const char *w = c + i + 2;
    size_t wl = 0;
    while (i + 2 + wl < e && (isalpha((unsigned char)w[wl]) || w[wl] == '_')) wl++;
    static const char *open[] = {"if", "for", "macro", "call", "filter", "block", "with", "raw", NULL};
    for (int k = 0; open[k]; k++) if (wl == strlen(open[k]) && memcmp(w, open[k], wl) == 0) return 1;
    if (wl >= 3 && memcmp(w, "end", 3) == 0) return -1;
    if ((wl == 4 && memcmp(w, "else", 4) == 0) || (wl == 4 && memcmp(w, "elif", 4) == 0)) return 2;
    if (wl == 3 && memcmp(w, "set", 3) == 0) {       // {%set x%}...{%endset%} is a block, {%set x=...%} not
        bool in_lit = false;
        for (const char *q = w; q < c + e - 2; q++) {
            if (*q == '\'' && (q == w || q[-1] != '\\')) in_lit = !in_lit;
            if (!in_lit && *q == '=') return 0;
        }
        return 1;
    }
    return 0;
}

typedef struct { const char *s; size_t n; char *cap[CHAT_MAX_CAPS]; int ncap; } chat_m;

static bool chat_match_rec(chat_m *m, size_t i, const char *p) {
    for (;;) {
        // literal run of the pattern
        size_t lit = strcspn(p, SLOT SKIP CHAIN);
        if (lit) {
            if (i + lit > m->n || memcmp(m->s + i, p, lit) != 0) return false;
            i += lit; p += lit;
        }
        if (!*p) return i == m->n;
        if (*p == '\x01') {
            // body of the current literal: shortest prefix after which the rest matches
            for (size_t j = i;; ) {
                if (chat_match_rec(m, j, p + 1)) {
                    if (m->ncap < CHAT_MAX_CAPS) {
                        // captures are collected innermost-last: shift so they end up in pattern order
                        memmove(m->cap + 1, m->cap, (size_t)m->ncap * sizeof m->cap[0]);
                        m->cap[0] = chat_unescape(m->s + i, j - i);
                        m->ncap++;
                    }
                    return true;
                }
                if (j >= m->n || m->s[j] == '\'') return false;
                j += (m->s[j] == '\\' && j + 1 < m->n) ? 2 : 1;
            }
        }
        // SKIP / CHAIN: whole statements, balanced
        bool chain = *p == '\x03';
        int depth = 0;
        for (size_t j = i;; ) {
            if (depth == 0 && chat_match_rec(m, j, p + 1)) return true;
            if (j >= m->n) return false;
            size_t e = chat_tag_end(m->s, m->n, j);
            if (!e) return false;
            int k = chat_tag_kind(m->s, j, e);
            if (k == 1) depth++;
            else if (k == -1) { if (depth == 0) return false; depth--; }
            else if (k == 2 && depth == 0 && !chain) return false;
            j = e;
        }
    }
}

// does the canonical template c match pattern p as a whole? captures into cap[] (malloc'ed)
static bool chat_match(const char *c, const char *p, char **cap) {
    chat_m m = {.s = c, .n = strlen(c)};
    bool ok = chat_match_rec(&m, 0, p);
    for (int k = 0; k < m.ncap; k++) { if (ok && cap) cap[k] = m.cap[k]; else free(m.cap[k]); }
    return ok;
}

// ---- the known templates, in canonical form (after an optional leading {{bos_token}})

enum {                         // what a pattern's captures are, and flags
    P_GEN_ALWAYS = 1, P_BOS_INSIDE = 2, P_SPLIT = 4, P_USER_EOS = 8,
    P_CAP_SYS = 16, P_CAP_DATE = 32, P_CAP_FMT = 64, P_CAP_GEN = 128,
};
typedef struct { int variant, flags; const char *pat; } chat_pattern;

#define CHATML_MSG "{{'<|im_start|>'+message.role+'\\n'+message.content+'<|im_end|>\\n'}}"
#define CHATML_GEN "{%if add_generation_prompt%}{{'<|im_start|>assistant\\n'}}{%endif%}"
#define L3_BODY "{%set loop_messages=messages%}{%for message in loop_messages%}" \
    "{%set content='<|start_header_id|>'+message.role+'<|end_header_id|>\\n\\n'+message.content|trim+'<|eot_id|>'%}" \
    "{%if loop.index0==0%}{%set content=bos_token+content%}{%endif%}{{content}}{%endfor%}"
#define L3_GEN "{{'<|start_header_id|>assistant<|end_header_id|>\\n\\n'}}"
#define ALTERNATE "{%if(message.role=='user')!=(loop.index0%2==0)%}" SKIP "{%endif%}"
#define PHI_GEN_EOS "{%if add_generation_prompt%}{{'<|assistant|>\\n'}}{%else%}{{eos_token}}{%endif%}"

// Llama 3.1 / 3.2 / 3.3 (date: fixed in 3.1 and 3.3, strftime_now in 3.2; builtin_tools in 3.1 and 3.3)
#define L31_HEAD "{%if custom_tools is defined%}" SKIP "{%endif%}" \
    "{%if not tools_in_user_message is defined%}{%set tools_in_user_message=true%}{%endif%}"
#define L31_DATE_FIXED "{%if not date_string is defined%}{%set date_string='" SLOT "'%}{%endif%}"
#define L31_DATE_NOW "{%if not date_string is defined%}{%if strftime_now is defined%}{%set date_string=strftime_now('" SLOT "')%}" \
    "{%else%}" SKIP "{%endif%}{%endif%}"
#define L31_SYS "{%if not tools is defined%}{%set tools=none%}{%endif%}" \
    "{%if messages[0].role=='system'%}{%set system_message=messages[0].content|trim%}{%set messages=messages[1:]%}" \
    "{%else%}{%set system_message=''%}{%endif%}{{'<|start_header_id|>system<|end_header_id|>\\n\\n'}}"
#define L31_ENV_BUILTIN "{%if builtin_tools is defined or tools is not none%}" SKIP "{%endif%}{%if builtin_tools is defined%}" SKIP "{%endif%}"
#define L31_ENV "{%if tools is not none%}" SKIP "{%endif%}"
#define L31_TAIL "{{'Cutting Knowledge Date: December 2023\\n'}}{{'Today Date: '+date_string+'\\n\\n'}}" \
    "{%if tools is not none and not tools_in_user_message%}" SKIP "{%endif%}{{system_message}}{{'<|eot_id|>'}}" \
    "{%if tools_in_user_message and not tools is none%}" SKIP "{%endif%}" \
    "{%for message in messages%}{%if not(message.role=='ipython'or message.role=='tool'or'tool_calls'in message)%}" \
    "{{'<|start_header_id|>'+message.role+'<|end_header_id|>\\n\\n'+message.content|trim+'<|eot_id|>'}}{%elif'tool_calls'in message%}" CHAIN \
    "{%endif%}{%endfor%}{%if add_generation_prompt%}" L3_GEN "{%endif%}"

// Mistral v3 (7B v0.3, Large 2407) and Nemo ("v3-tekken"): same structure, different spacing
#define MV3_HEAD "{%if messages[0].role=='system'%}{%set system_message=messages[0].content%}{%set loop_messages=messages[1:]%}" \
    "{%else%}{%set loop_messages=messages%}{%endif%}{%if not tools is defined%}{%set tools=none%}{%endif%}" \
    "{%set user_messages=loop_messages|selectattr('role','equalto','user')|list%}{%set ns=namespace()%}{%set ns.index=0%}" \
    "{%for message in loop_messages%}{%if not(message.role=='tool'or message.role=='tool_results'or" \
    "(message.tool_calls is defined and message.tool_calls is not none))%}{%if(message.role=='user')!=(ns.index%2==0)%}" SKIP \
    "{%endif%}{%set ns.index=ns.index+1%}{%endif%}{%endfor%}" \
    "{{bos_token}}{%for message in loop_messages%}{%if message.role=='user'%}{%if tools is not none and(message==user_messages[-1])%}" SKIP "{%endif%}"
#define MV3_USER(I) "{%if loop.last and system_message is defined%}{{'" I "'+system_message+'\\n\\n'+message.content+'[/INST]'}}" \
    "{%else%}{{'" I "'+message.content+'[/INST]'}}{%endif%}"
#define MV3_TOOLCALLS1 "{%elif(message.tool_calls is defined and message.tool_calls is not none)%}" SKIP
#define MV3_TOOLCALLS2 "{%elif message.tool_calls is defined and message.tool_calls is not none%}" SKIP
#define MV3_TAIL "{%elif message.role=='tool_results'or message.role=='tool'%}" CHAIN "{%endif%}{%endfor%}"
#define NEMO_ASSIST "{%elif message.role=='assistant'%}{{message.content+eos_token}}"
#define V3_ASSIST "{%elif message.role=='assistant'%}{{' '+message.content|trim+eos_token}}"

// Gemma 3
#define GEMMA3 "{%if messages[0].role=='system'%}{%if messages[0].content is string%}" \
    "{%set first_user_prefix=messages[0].content+'\\n\\n'%}{%else%}" SKIP "{%endif%}{%set loop_messages=messages[1:]%}" \
    "{%else%}{%set first_user_prefix=''%}{%set loop_messages=messages%}{%endif%}{%for message in loop_messages%}" ALTERNATE \
    "{%if(message.role=='assistant')%}{%set role='model'%}{%else%}{%set role=message.role%}{%endif%}" \
    "{{'<start_of_turn>'+role+'\\n'+(first_user_prefix if loop.first else'')}}" \
    "{%if message.content is string%}{{message.content|trim}}{%elif message.content is iterable%}" CHAIN \
    "{%endif%}{{'<end_of_turn>\\n'}}{%endfor%}{%if add_generation_prompt%}{{'<start_of_turn>model\\n'}}{%endif%}"

// DeepSeek-R1 distills (and V3: no </think> split; first release: no "<think>\n")
#define DS_HEAD(NS) "{%if not add_generation_prompt is defined%}{%set add_generation_prompt=false%}{%endif%}" \
    "{%set ns=namespace(" NS ",is_output_first=true,system_prompt='')%}" \
    "{%for message in messages%}{%if message.role=='system'%}{%set ns.system_prompt=message.content%}{%endif%}{%endfor%}{{bos_token}}"
#define DS_SPLIT "{%set content=message.content%}{%if'</think>'in content%}{%set content=content.split('</think>')[-1]%}{%endif%}" \
    "{{'<｜Assistant｜>'+content+'<｜end▁of▁sentence｜>'}}"
#define DS_NOSPLIT "{{'<｜Assistant｜>'+message.content+'<｜end▁of▁sentence｜>'}}"
#define DS_DISTILL(ASSIST) DS_HEAD("is_first=false,is_tool=false") "{{ns.system_prompt}}" \
    "{%for message in messages%}{%if message.role=='user'%}{%set ns.is_tool=false%}{{'<｜User｜>'+message.content}}{%endif%}" \
    "{%if message.role=='assistant'and message.content is none%}" SKIP "{%endif%}" \
    "{%if message.role=='assistant'and message.content is not none%}{%if ns.is_tool%}" SKIP "{%else%}" ASSIST "{%endif%}{%endif%}" \
    "{%if message.role=='tool'%}" SKIP "{%endif%}{%endfor%}{%if ns.is_tool%}" SKIP "{%endif%}" \
    "{%if add_generation_prompt and not ns.is_tool%}{{'" SLOT "'}}{%endif%}"
#define DS_LLAMACPP DS_HEAD("is_first=false,is_tool_outputs=false") "{%if tools%}" SKIP "{%endif%}{{ns.system_prompt}}" \
    "{%macro flush_tool_outputs()%}{%if ns.is_tool_outputs%}" SKIP "{%endif%}{%endmacro%}{{flush_tool_outputs()}}" \
    "{%for message in messages%}{%if message.role!='tool'%}{{flush_tool_outputs()}}{%endif%}" \
    "{%if message.role=='user'%}{{'<｜User｜>'+message.content+'<｜end▁of▁sentence｜>'}}{%endif%}" \
    "{%if message.role=='assistant'and message.content is none%}" SKIP "{%endif%}" \
    "{%if message.role=='assistant'and message.content is not none%}{{flush_tool_outputs()}}" DS_SPLIT "{%endif%}" \
    "{%if message.role=='tool'%}" SKIP "{%endif%}{%endfor%}{{flush_tool_outputs()}}" \
    "{%if add_generation_prompt and not ns.is_tool_outputs%}{{'" SLOT "'}}{%endif%}"

static const chat_pattern chat_patterns[] = {
    {CV_CHATML, 0, "{%for message in messages%}" CHATML_MSG "{%endfor%}" CHATML_GEN},
    {CV_CHATML, P_CAP_SYS, "{%for message in messages%}{%if loop.first and messages[0].role!='system'%}"
                           "{{'<|im_start|>system\\n" SLOT "<|im_end|>\\n'}}{%endif%}" CHATML_MSG "{%endfor%}" CHATML_GEN},
    {CV_QWEN25, P_CAP_SYS,
     "{%if tools%}" SKIP "{%else%}{%if messages[0].role=='system'%}{{'<|im_start|>system\\n'+messages[0].content+'<|im_end|>\\n'}}"
     "{%else%}{{'<|im_start|>system\\n" SLOT "<|im_end|>\\n'}}{%endif%}{%endif%}{%for message in messages%}"
     "{%if(message.role=='user')or(message.role=='system'and not loop.first)or(message.role=='assistant'and not message.tool_calls)%}"
     CHATML_MSG "{%elif message.role=='assistant'%}" CHAIN "{%endif%}{%endfor%}" CHATML_GEN},
    {CV_LLAMA30, 0, L3_BODY "{%if add_generation_prompt%}" L3_GEN "{%endif%}"},
    {CV_LLAMA30, P_GEN_ALWAYS, L3_BODY L3_GEN},
    {CV_LLAMA31, P_CAP_DATE, L31_HEAD L31_DATE_FIXED L31_SYS L31_ENV_BUILTIN L31_TAIL},
    {CV_LLAMA31, P_CAP_DATE, L31_HEAD L31_DATE_FIXED L31_SYS L31_ENV L31_TAIL},
    {CV_LLAMA31, P_CAP_FMT, L31_HEAD L31_DATE_NOW L31_SYS L31_ENV_BUILTIN L31_TAIL},
    {CV_LLAMA31, P_CAP_FMT, L31_HEAD L31_DATE_NOW L31_SYS L31_ENV L31_TAIL},
    {CV_LLAMA2, 0,
     "{%if messages[0].role=='system'%}{%set loop_messages=messages[1:]%}{%set system_message=messages[0].content%}"
     "{%else%}{%set loop_messages=messages%}{%set system_message=false%}{%endif%}{%for message in loop_messages%}" ALTERNATE
     "{%if loop.index0==0 and system_message!=false%}{%set content='<<SYS>>\\n'+system_message+'\\n<</SYS>>\\n\\n'+message.content%}"
     "{%else%}{%set content=message.content%}{%endif%}{%if message.role=='user'%}{{bos_token+'[INST] '+content.strip()+' [/INST]'}}"
     "{%elif message.role=='assistant'%}{{' '+content.strip()+' '+eos_token}}{%endif%}{%endfor%}"},
    {CV_MISTRAL_V1, 0,
     "{%for message in messages%}{%if(message.role=='user')!=(loop.index0%2==0)%}"
     "{{raise_exception('Conversation roles must alternate user/assistant/user/assistant/...')}}{%endif%}"
     "{%if message.role=='user'%}{{'[INST] '+message.content+' [/INST]'}}"
     "{%elif message.role=='assistant'%}{{message.content+eos_token}}{%else%}" SKIP "{%endif%}{%endfor%}"},
    {CV_MISTRAL_V1S, P_BOS_INSIDE,
     "{%if messages[0].role=='system'%}{%set system_message=messages[0].content%}{%set loop_messages=messages[1:]%}"
     "{%else%}{%set loop_messages=messages%}{%endif%}{{bos_token}}{%for message in loop_messages%}" ALTERNATE
     "{%if message.role=='user'%}{%if loop.first and system_message is defined%}{{' [INST] '+system_message+'\\n\\n'+message.content+' [/INST]'}}"
     "{%else%}{{' [INST] '+message.content+' [/INST]'}}{%endif%}{%elif message.role=='assistant'%}{{' '+message.content+eos_token}}"
     "{%else%}" SKIP "{%endif%}{%endfor%}"},
    {CV_MISTRAL_NEMO, P_BOS_INSIDE, MV3_HEAD MV3_USER("[INST]") MV3_TOOLCALLS1 NEMO_ASSIST MV3_TAIL},
    {CV_MISTRAL_NEMO, P_BOS_INSIDE, MV3_HEAD MV3_USER("[INST]") MV3_TOOLCALLS2 NEMO_ASSIST MV3_TAIL},
    {CV_MISTRAL_V3, P_BOS_INSIDE, MV3_HEAD MV3_USER("[INST] ") MV3_TOOLCALLS1 V3_ASSIST MV3_TAIL},
    {CV_MISTRAL_V3, P_BOS_INSIDE, MV3_HEAD MV3_USER("[INST] ") MV3_TOOLCALLS2 V3_ASSIST MV3_TAIL},
    {CV_GEMMA2, 0,
     "{%if messages[0].role=='system'%}{{raise_exception('System role not supported')}}{%endif%}{%for message in messages%}"
     "{%if(message.role=='user')!=(loop.index0%2==0)%}{{raise_exception('Conversation roles must alternate user/assistant/user/assistant/...')}}{%endif%}"
     "{%if(message.role=='assistant')%}{%set role='model'%}{%else%}{%set role=message.role%}{%endif%}"
     "{{'<start_of_turn>'+role+'\\n'+message.content|trim+'<end_of_turn>\\n'}}{%endfor%}"
     "{%if add_generation_prompt%}{{'<start_of_turn>model\\n'}}{%endif%}"},
    {CV_GEMMA3, 0, GEMMA3},
    {CV_PHI35, 0,
     "{%for message in messages%}{%if message.role=='system'and message.content%}{{'<|system|>\\n'+message.content+'<|end|>\\n'}}"
     "{%elif message.role=='user'%}{{'<|user|>\\n'+message.content+'<|end|>\\n'}}{%elif message.role=='assistant'%}"
     "{{'<|assistant|>\\n'+message.content+'<|end|>\\n'}}{%endif%}{%endfor%}" PHI_GEN_EOS},
    {CV_PHI3_MINI, 0,
     "{%for message in messages%}{%if(message.role=='user')%}{{'<|user|>\\n'+message.content+'<|end|>\\n<|assistant|>\\n'}}"
     "{%elif(message.role=='assistant')%}{{message.content+'<|end|>\\n'}}{%endif%}{%endfor%}"},
    {CV_PHI3_SMALL, 0,
     "{%for message in messages%}{{'<|'+message.role+'|>\\n'+message.content+'<|end|>\\n'}}{%endfor%}" PHI_GEN_EOS},
    {CV_DSR1, P_BOS_INSIDE | P_SPLIT | P_CAP_GEN, DS_DISTILL(DS_SPLIT)},
    {CV_DSR1, P_BOS_INSIDE | P_CAP_GEN, DS_DISTILL(DS_NOSPLIT)},
    {CV_DSR1, P_BOS_INSIDE | P_SPLIT | P_USER_EOS | P_CAP_GEN, DS_LLAMACPP},
};

// Recognise a template; fills *sp (free with chat_spec_free). Returns the family.
static int chat_analyze(const char *src, chat_spec *sp) {
    memset(sp, 0, sizeof *sp);
    if (!src || !*src) return SS_CHAT_UNKNOWN;
    char *c = ss_chat_canonical(src);
    if (!c) return SS_CHAT_UNKNOWN;
    if (strstr(c, "{%raw%}")) { free(c); return SS_CHAT_UNKNOWN; }   // raw blocks: not lexed like Jinja does
    const char *body = c;
    int n_bos = 0;
    if (strncmp(body, "{{bos_token}}", 13) == 0) { body += 13; n_bos = 1; }
    for (size_t i = 0; i < sizeof chat_patterns / sizeof chat_patterns[0]; i++) {
        const chat_pattern *P = &chat_patterns[i];
        char *cap[CHAT_MAX_CAPS] = {0};
        if (!chat_match(body, P->pat, cap)) continue;
        sp->variant = P->variant;
        sp->n_bos = n_bos + ((P->flags & P_BOS_INSIDE) ? 1 : 0);
        sp->gen_always = P->flags & P_GEN_ALWAYS;
        sp->split_think = P->flags & P_SPLIT;
        sp->user_eos = P->flags & P_USER_EOS;
        char **dst = (P->flags & P_CAP_SYS) ? &sp->default_sys : (P->flags & P_CAP_DATE) ? &sp->date :
                     (P->flags & P_CAP_FMT) ? &sp->date_fmt : (P->flags & P_CAP_GEN) ? &sp->gen : NULL;
        if (dst) { *dst = cap[0]; cap[0] = NULL; }
        for (int k = 0; k < CHAT_MAX_CAPS; k++) free(cap[k]);
        break;
    }
    free(c);
    switch (sp->variant) {
    case CV_CHATML: case CV_QWEN25: return SS_CHAT_CHATML;
    case CV_LLAMA30: case CV_LLAMA31: return SS_CHAT_LLAMA3;
    case CV_LLAMA2: return SS_CHAT_LLAMA2;
    case CV_MISTRAL_V1: case CV_MISTRAL_V1S: case CV_MISTRAL_V3: case CV_MISTRAL_NEMO: return SS_CHAT_MISTRAL;
    case CV_GEMMA2: case CV_GEMMA3: return SS_CHAT_GEMMA;
    case CV_PHI35: case CV_PHI3_MINI: case CV_PHI3_SMALL: return SS_CHAT_PHI3;
    case CV_DSR1: return SS_CHAT_DEEPSEEK_R1;
    default: return SS_CHAT_UNKNOWN;
    }
}

// ---------------------------------------------------------------------------------------------
// public API

static const char *chat_family_names[] = {"unknown", "chatml", "llama3", "llama2", "mistral", "gemma", "phi3", "deepseek-r1"};

const char *ss_chat_family_name(int family) {
    if (family < 0 || family > SS_CHAT_DEEPSEEK_R1) return "unknown";
    return chat_family_names[family];
}

int ss_chat_family_from_name(const char *name) {
    if (!name) return SS_CHAT_UNKNOWN;
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++)
        if (strcmp(name, chat_family_names[f]) == 0) return f;
    return SS_CHAT_UNKNOWN;
}

int ss_chat_detect(const char *tmpl_src) {
    chat_spec sp;
    int f = chat_analyze(tmpl_src, &sp);
    chat_spec_free(&sp);
    return f;
}

const char *ss_chat_detect_variant(const char *tmpl_src) {
    chat_spec sp;
    chat_analyze(tmpl_src, &sp);
    int v = sp.variant;
    chat_spec_free(&sp);
    return v ? chat_variant_names[v] : NULL;
}

// the variant used for a family named without a template (see ss_chat.h)
static void chat_default_spec(int family, chat_spec *sp) {
    memset(sp, 0, sizeof *sp);
    switch (family) {
    case SS_CHAT_CHATML:      sp->variant = CV_CHATML; break;
    case SS_CHAT_LLAMA3:      sp->variant = CV_LLAMA30; break;
    case SS_CHAT_LLAMA2:      sp->variant = CV_LLAMA2; break;
    case SS_CHAT_MISTRAL:     sp->variant = CV_MISTRAL_NEMO; sp->n_bos = 1; break;
    case SS_CHAT_GEMMA:       sp->variant = CV_GEMMA3; sp->n_bos = 1; break;
    case SS_CHAT_PHI3:        sp->variant = CV_PHI35; break;
    case SS_CHAT_DEEPSEEK_R1: sp->variant = CV_DSR1; sp->n_bos = 1; sp->split_think = true;
                              sp->gen = ss_strdup("<｜Assistant｜><think>\n"); break;
    default: break;
    }
}

// content.split('</think>')[-1]
static const char *chat_after_think(const char *s) {
    const char *p;
    while ((p = strstr(s, "</think>")) != NULL) s = p + strlen("</think>");
    return s;
}

// Llama 3.1 date_string: the template's fixed date, or strftime_now(fmt) at `now` (NULL: current local time)
static void chat_date(const chat_spec *sp, const struct tm *now, char *out, size_t n) {
    if (sp->date) { snprintf(out, n, "%s", sp->date); return; }
    struct tm tm;
    if (now) tm = *now;
    else { time_t t = time(NULL); localtime_r(&t, &tm); }
    if (strftime(out, n, sp->date_fmt ? sp->date_fmt : "%d %b %Y", &tm) == 0) out[0] = 0;
}

static char *chat_render_spec(const chat_spec *sp, const ss_chat_msg *msgs, int n_msgs, bool add_gen,
                              const char *bos, const char *eos, const struct tm *now,
                              char *err, size_t errlen) {
    if (!bos) bos = "";
    if (!eos) eos = "";
    if (!msgs || n_msgs <= 0) { ss_err(err, errlen, "chat: no messages"); return NULL; }
    // the conversations we render: [system], user, assistant, user, ... (alternating, user first)
    const char *S = NULL;
    int first = 0;
    for (int i = 0; i < n_msgs; i++) {
        if (!msgs[i].role || !msgs[i].content) { ss_err(err, errlen, "chat: message %d has no role or content", i); return NULL; }
        const char *r = msgs[i].role;
        if (i == 0 && strcmp(r, "system") == 0) { S = msgs[0].content; first = 1; continue; }
        const char *want = ((i - first) % 2 == 0) ? "user" : "assistant";
        if (strcmp(r, want) != 0) {
            ss_err(err, errlen, "chat: message %d has role '%s' where '%s' was expected (an optional system message, then user/assistant alternating)", i, r, want);
            return NULL;
        }
    }
    const ss_chat_msg *L = msgs + first;           // loop messages (without the system message)
    int m = n_msgs - first;
    sbuf b = {0};
    for (int k = 0; k < sp->n_bos; k++) chat_sb_puts(&b, bos);
    switch (sp->variant) {
    case CV_CHATML: case CV_QWEN25:
        if (S || sp->default_sys) {
            chat_sb_puts(&b, "<|im_start|>system\n"); chat_sb_puts(&b, S ? S : sp->default_sys); chat_sb_puts(&b, "<|im_end|>\n");
        }
        for (int i = 0; i < m; i++) {
            chat_sb_puts(&b, "<|im_start|>"); chat_sb_puts(&b, L[i].role); chat_sb_puts(&b, "\n");
            chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, "<|im_end|>\n");
        }
        if (add_gen) chat_sb_puts(&b, "<|im_start|>assistant\n");
        break;
    case CV_LLAMA30:
        // every message (the system one included): header, content|trim, <|eot_id|>; bos before the first
        for (int i = 0; i < n_msgs; i++) {
            if (i == 0) chat_sb_puts(&b, bos);
            chat_sb_puts(&b, "<|start_header_id|>"); chat_sb_puts(&b, msgs[i].role); chat_sb_puts(&b, "<|end_header_id|>\n\n");
            chat_sb_put_stripped(&b, msgs[i].content); chat_sb_puts(&b, "<|eot_id|>");
        }
        if (add_gen || sp->gen_always) chat_sb_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CV_LLAMA31: {
        char date[128];
        chat_date(sp, now, date, sizeof date);
        chat_sb_puts(&b, "<|start_header_id|>system<|end_header_id|>\n\n");
        chat_sb_puts(&b, "Cutting Knowledge Date: December 2023\nToday Date: "); chat_sb_puts(&b, date); chat_sb_puts(&b, "\n\n");
        if (S) chat_sb_put_stripped(&b, S);
        chat_sb_puts(&b, "<|eot_id|>");
        for (int i = 0; i < m; i++) {
            chat_sb_puts(&b, "<|start_header_id|>"); chat_sb_puts(&b, L[i].role); chat_sb_puts(&b, "<|end_header_id|>\n\n");
            chat_sb_put_stripped(&b, L[i].content); chat_sb_puts(&b, "<|eot_id|>");
        }
        if (add_gen) chat_sb_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    }
    case CV_LLAMA2:
        // content = (first turn and a system message ? "<<SYS>>\n" S "\n<</SYS>>\n\n" : "") + content, then .strip()
        for (int i = 0; i < m; i++) {
            sbuf c = {0};
            if (i == 0 && S) { chat_sb_puts(&c, "<<SYS>>\n"); chat_sb_puts(&c, S); chat_sb_puts(&c, "\n<</SYS>>\n\n"); }
            chat_sb_puts(&c, L[i].content);
            if (i % 2 == 0) { chat_sb_puts(&b, bos); chat_sb_puts(&b, "[INST] "); chat_sb_put_stripped(&b, c.p); chat_sb_puts(&b, " [/INST]"); }
            else { chat_sb_puts(&b, " "); chat_sb_put_stripped(&b, c.p); chat_sb_puts(&b, " "); chat_sb_puts(&b, eos); }
            free(c.p);
        }
        break;
    case CV_MISTRAL_V1:
        if (S) { free(b.p); ss_err(err, errlen, "chat: this template has no system role (it raises 'Conversation roles must alternate')"); return NULL; }
        for (int i = 0; i < m; i++) {
            if (i % 2 == 0) { chat_sb_puts(&b, "[INST] "); chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, " [/INST]"); }
            else { chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, eos); }
        }
        break;
    case CV_MISTRAL_V1S: case CV_MISTRAL_V3: case CV_MISTRAL_NEMO: {
        // v1: system in the first user turn; v3 / Nemo: in the last message, if that is a user turn
        bool v1 = sp->variant == CV_MISTRAL_V1S, v3 = sp->variant == CV_MISTRAL_V3;
        const char *inst = v1 ? " [INST] " : v3 ? "[INST] " : "[INST]";
        const char *end = v1 ? " [/INST]" : "[/INST]";
        for (int i = 0; i < m; i++) {
            if (i % 2 == 0) {
                chat_sb_puts(&b, inst);
                if (S && (v1 ? i == 0 : i == m - 1)) { chat_sb_puts(&b, S); chat_sb_puts(&b, "\n\n"); }
                chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, end);
            } else if (v3) { chat_sb_puts(&b, " "); chat_sb_put_stripped(&b, L[i].content); chat_sb_puts(&b, eos); }
            else { if (v1) chat_sb_puts(&b, " "); chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, eos); }
        }
        break;
    }
    case CV_GEMMA2: case CV_GEMMA3:
        if (S && sp->variant == CV_GEMMA2) { free(b.p); ss_err(err, errlen, "chat: this template raises 'System role not supported'"); return NULL; }
        for (int i = 0; i < m; i++) {
            chat_sb_puts(&b, i % 2 == 0 ? "<start_of_turn>user\n" : "<start_of_turn>model\n");
            if (i == 0 && S) { chat_sb_puts(&b, S); chat_sb_puts(&b, "\n\n"); }
            chat_sb_put_stripped(&b, L[i].content); chat_sb_puts(&b, "<end_of_turn>\n");
        }
        if (add_gen) chat_sb_puts(&b, "<start_of_turn>model\n");
        break;
    case CV_PHI35: case CV_PHI3_SMALL:
        for (int i = 0; i < n_msgs; i++) {
            if (sp->variant == CV_PHI35 && i == 0 && S && !*S) continue;   // empty system content: skipped
            chat_sb_puts(&b, "<|"); chat_sb_puts(&b, msgs[i].role); chat_sb_puts(&b, "|>\n");
            chat_sb_puts(&b, msgs[i].content); chat_sb_puts(&b, "<|end|>\n");
        }
        chat_sb_puts(&b, add_gen ? "<|assistant|>\n" : eos);
        break;
    case CV_PHI3_MINI:
        for (int i = 0; i < m; i++) {
            if (i % 2 == 0) { chat_sb_puts(&b, "<|user|>\n"); chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, "<|end|>\n<|assistant|>\n"); }
            else { chat_sb_puts(&b, L[i].content); chat_sb_puts(&b, "<|end|>\n"); }
        }
        break;
    case CV_DSR1:
        if (S) chat_sb_puts(&b, S);
        for (int i = 0; i < m; i++) {
            if (i % 2 == 0) {
                chat_sb_puts(&b, "<｜User｜>"); chat_sb_puts(&b, L[i].content);
                if (sp->user_eos) chat_sb_puts(&b, "<｜end▁of▁sentence｜>");
            } else {
                chat_sb_puts(&b, "<｜Assistant｜>");
                chat_sb_puts(&b, sp->split_think ? chat_after_think(L[i].content) : L[i].content);
                chat_sb_puts(&b, "<｜end▁of▁sentence｜>");
            }
        }
        if (add_gen && sp->gen) chat_sb_puts(&b, sp->gen);
        break;
    default:
        free(b.p);
        ss_err(err, errlen, "chat: unknown chat template family");
        return NULL;
    }
    char *text = chat_sb_take(&b);
    if (!text) ss_err(err, errlen, "chat: out of memory");
    return text;
}

char *ss_chat_render_ex(int family, const char *tmpl_src, const ss_chat_msg *msgs, int n_msgs, bool add_gen,
                        const char *bos, const char *eos, const struct tm *now, char *err, size_t errlen) {
    chat_spec sp;
    int detected = chat_analyze(tmpl_src, &sp);
    if (family == SS_CHAT_UNKNOWN) {
        chat_spec_free(&sp);
        if (tmpl_src && *tmpl_src)
            ss_err(err, errlen, "chat: unsupported chat template (not one of chatml, llama3, llama2, mistral, gemma, phi3, deepseek-r1); "
                               "choose a family by name");
        else ss_err(err, errlen, "chat: no chat template and no family given");
        return NULL;
    }
    if (family < SS_CHAT_CHATML || family > SS_CHAT_DEEPSEEK_R1) {
        chat_spec_free(&sp);
        ss_err(err, errlen, "chat: invalid chat family %d", family);
        return NULL;
    }
    if (detected != family) {           // no template, or the caller chose another family by name
        chat_spec_free(&sp);
        chat_default_spec(family, &sp);
    }
    char *r = chat_render_spec(&sp, msgs, n_msgs, add_gen, bos, eos, now, err, errlen);
    chat_spec_free(&sp);
    return r;
}

char *ss_chat_render(int family, const char *tmpl_src, const ss_chat_msg *msgs, int n_msgs,
                     bool add_gen, const char *bos, const char *eos, char *err, size_t errlen) {
    return ss_chat_render_ex(family, tmpl_src, msgs, n_msgs, add_gen, bos, eos, NULL, err, errlen);
}
