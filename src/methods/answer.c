// answer.c — answer extraction and grading for GSM8K / MATH style data.
//
// Extraction: the content of the last \boxed{...} / \fbox{...} with balanced braces (also the
// brace-less "\boxed 5"), else the last number in the text (optional '-', digits with ',' groups
// of three, optional decimals), commas removed.
// Grading (ss_answer_equal): both sides are normalised (a sane subset of the MATH dataset's
// string normalisation: spaces, \left \right, \! \, \; \:, \text{} wrappers, units written as
// \text{ unit} on the right, $ and \$, %, ^\circ, trailing '.', \dfrac/\tfrac, "x = " prefixes,
// \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}); equal if both are numbers within 1e-6 relative,
// else if the normalised strings are identical. The numeric tolerance is also capped at 0.005
// absolute, so large integers must match exactly (1e-6 relative alone would equate 1450000 and
// 1450001, two GSM8K answers).
#include "ss_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <math.h>

// ---------------------------------------------------------------- small string builder

// (out of memory: oom set, later writes dropped, buf_done gives NULL; every step below passes a
// NULL string on, so the public calls see "no answer" / "not equal")
typedef struct { char *s; size_t n, cap; bool oom; } answer_buf;

static void buf_putn(answer_buf *b, const char *p, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *s = ss_realloc(b->s, cap);
        if (!s) { b->oom = true; return; }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void buf_putc(answer_buf *b, char c) { buf_putn(b, &c, 1); }
static char *buf_done(answer_buf *b) {
    if (!b->s) buf_putn(b, "", 0);
    if (b->oom) { free(b->s); return NULL; }
    return b->s;
}

static bool starts(const char *p, const char *lit) { return !strncmp(p, lit, strlen(lit)); }

// index just past the '}' matching the '{' at s[open], or -1
static long match_brace(const char *s, long open) {
    int depth = 0;
    for (long i = open; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) { i++; continue; }   // \{ and \} do not count
        if (s[i] == '{') depth++;
        else if (s[i] == '}' && --depth == 0) return i + 1;
    }
    return -1;
}

// match_brace for every '{' of s at once (one stack pass, so that scanning a text with many
// unclosed groups stays linear): m[i] = index past the matching '}', or -1. malloc'ed.
static long *brace_table(const char *s) {
    long n = (long)strlen(s), top = 0;
    long *m = ss_malloc((size_t)(n + 1) * sizeof(long)), *stack = ss_malloc((size_t)(n + 1) * sizeof(long));
    if (!m || !stack) { free(m); free(stack); return NULL; }   // out of memory
    for (long i = 0; i < n; i++) {
        m[i] = -1;
        if (s[i] == '\\' && s[i + 1]) { m[++i] = -1; continue; }
        if (s[i] == '{') stack[top++] = i;
        else if (s[i] == '}' && top > 0) m[stack[--top]] = i + 1;
    }
    m[n] = -1;
    free(stack);
    return m;
}

// ---------------------------------------------------------------- extraction

// a number starting at s[i] (s[i] is a digit, or '.' followed by a digit): its end, and whether
// commas were used as thousands separators (\d{1,3}(,\d{3})+)
static long scan_number(const char *s, long i) {
    long j = i;
    while (isdigit((unsigned char)s[j])) j++;
    long int_digits = j - i;
    // comma groups of exactly three digits
    if (int_digits >= 1 && int_digits <= 3) {
        while (s[j] == ',' && isdigit((unsigned char)s[j + 1]) && isdigit((unsigned char)s[j + 2]) &&
               isdigit((unsigned char)s[j + 3]) && !isdigit((unsigned char)s[j + 4]))
            j += 4;
    }
    if (s[j] == '.' && isdigit((unsigned char)s[j + 1])) {
        j++;
        while (isdigit((unsigned char)s[j])) j++;
    }
    return j;
}

static char *extract_last_number(const char *s) {
    long best_start = -1, best_end = -1;
    for (long i = 0; s[i]; i++) {
        bool digit = isdigit((unsigned char)s[i]);
        bool dot = s[i] == '.' && isdigit((unsigned char)s[i + 1]);
        if (!digit && !dot) continue;
        if (i > 0 && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.')) continue;   // inside a number
        long end = scan_number(s, i), start = i;
        // a '-' sign right before, unless it is a subtraction ("5-3")
        if (i > 0 && s[i - 1] == '-' && (i == 1 || !isalnum((unsigned char)s[i - 2]))) start = i - 1;
        best_start = start;
        best_end = end;
        i = end - 1;
    }
    if (best_start < 0) return NULL;
    answer_buf b = { 0 };
    for (long i = best_start; i < best_end; i++) if (s[i] != ',') buf_putc(&b, s[i]);
    return buf_done(&b);
}

char *ss_answer_extract(const char *text) {
    if (!text) return NULL;
    // the last \boxed / \fbox whose argument is complete
    long n = (long)strlen(text);
    long *mt = NULL;
    for (long i = n - 1; i >= 0; i--) {
        const char *p = text + i;
        size_t kw = starts(p, "\\boxed") ? 6 : starts(p, "\\fbox") ? 5 : 0;
        if (!kw || isalpha((unsigned char)p[kw])) continue;
        long j = i + (long)kw;
        while (text[j] == ' ') j++;
        if (text[j] == '{') {
            if (!mt && !(mt = brace_table(text))) return NULL;   // out of memory
            long e = mt[j];
            if (e < 0) continue;   // truncated: try an earlier one
            free(mt);
            return ss_strndup(text + j + 1, (size_t)(e - j - 2));
        }
        if (j > i + (long)kw) {   // "\boxed 5": up to the next space or '$'
            long e = j;
            while (text[e] && !isspace((unsigned char)text[e]) && text[e] != '$') e++;
            if (e > j) { free(mt); return ss_strndup(text + j, (size_t)(e - j)); }
        }
    }
    free(mt);
    return extract_last_number(text);
}

char *ss_answer_reference_gsm8k(const char *answer_field) {
    if (!answer_field) return NULL;
    const char *p = NULL, *q = answer_field;
    while ((q = strstr(q, "####"))) { p = q; q += 4; }
    if (!p) return NULL;
    p += 4;
    while (isspace((unsigned char)*p)) p++;
    size_t len = strlen(p);
    while (len && isspace((unsigned char)p[len - 1])) len--;
    if (!len) return NULL;
    return ss_strndup(p, len);
}

// ---------------------------------------------------------------- normalisation

// copy s without the literal `lit` (every occurrence)
static char *remove_lit(char *s, const char *lit) {
    if (!s) return NULL;
    answer_buf b = { 0 };
    size_t k = strlen(lit);
    for (const char *p = s; *p;) {
        if (!strncmp(p, lit, k)) { p += k; continue; }
        buf_putc(&b, *p++);
    }
    free(s);
    return buf_done(&b);
}

static char *replace_lit(char *s, const char *from, const char *to) {
    if (!s) return NULL;
    answer_buf b = { 0 };
    size_t k = strlen(from);
    for (const char *p = s; *p;) {
        if (!strncmp(p, from, k)) { buf_putn(&b, to, strlen(to)); p += k; continue; }
        buf_putc(&b, *p++);
    }
    free(s);
    return buf_done(&b);
}

// drop the control word \NAME when it is not the prefix of a longer one (\left but not \leftarrow)
static char *remove_cmd(char *s, const char *name) {
    if (!s) return NULL;
    answer_buf b = { 0 };
    size_t k = strlen(name);
    for (const char *p = s; *p;) {
        if (*p == '\\' && !strncmp(p + 1, name, k) && !isalpha((unsigned char)p[1 + k])) { p += 1 + k; continue; }
        buf_putc(&b, *p++);
    }
    free(s);
    return buf_done(&b);
}

// \NAME{X} -> X for the text-like wrappers
static char *unwrap_cmd(char *s, const char *name) {
    if (!s) return NULL;
    answer_buf b = { 0 };
    size_t k = strlen(name);
    long *mt = brace_table(s);
    if (!mt) { free(s); return NULL; }
    for (long i = 0; s[i];) {
        if (s[i] == '\\' && !strncmp(s + i + 1, name, k) && s[i + 1 + k] == '{') {
            long open = i + 1 + (long)k, e = mt[open];
            if (e > 0) {
                buf_putn(&b, s + open + 1, (size_t)(e - open - 2));
                i = e;
                continue;
            }
        }
        buf_putc(&b, s[i++]);
    }
    free(mt);
    free(s);
    return buf_done(&b);
}

// \frac ab -> \frac{a}{b}, \sqrt2 -> \sqrt{2}: brace single-character arguments (nested groups
// too, up to a sane depth)
static char *brace_args(char *s, int depth) {
    if (depth > 16 || !s) return s;
    answer_buf b = { 0 };
    long *mt = brace_table(s);
    if (!mt) { free(s); return NULL; }
    for (long i = 0; s[i];) {
        int nargs = starts(s + i, "\\frac") && !isalpha((unsigned char)s[i + 5]) ? 2 :
                    starts(s + i, "\\sqrt") && !isalpha((unsigned char)s[i + 5]) ? 1 : 0;
        if (!nargs) { buf_putc(&b, s[i++]); continue; }
        buf_putn(&b, s + i, 5);
        i += 5;
        for (int a = 0; a < nargs && s[i]; a++) {
            if (s[i] == '{') {
                long e = mt[i];
                if (e < 0) break;
                char *inner = brace_args(ss_strndup(s + i + 1, (size_t)(e - i - 2)), depth + 1);   // nested \frac12
                if (!inner) { b.oom = true; break; }
                buf_putc(&b, '{');
                buf_putn(&b, inner, strlen(inner));
                buf_putc(&b, '}');
                free(inner);
                i = e;
            } else if (s[i] == '\\' || s[i] == '[') {
                break;   // \sqrt[3]{x}, \frac\pi2: leave alone
            } else {
                buf_putc(&b, '{');
                buf_putc(&b, s[i++]);
                buf_putc(&b, '}');
            }
        }
    }
    free(mt);
    free(s);
    return buf_done(&b);
}

static char *answer_normalize(const char *in) {
    char *s = ss_strdup(in);
    if (!s) return NULL;
    // units on the right as the MATH normalisation writes them: "5.4 \text{ cents}" -> "5.4 "
    for (const char *w = "\\text{ \0\\mbox{ \0"; *w; w += strlen(w) + 1) {
        char *u = strstr(s, w);
        if (u && u > s) *u = 0;
    }
    // whitespace out first: LaTeX spacing is irrelevant to the value
    answer_buf b = { 0 };
    for (const char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == ' ') { p++; continue; }   // "\ " (explicit space)
        if (!isspace((unsigned char)*p)) buf_putc(&b, *p);
    }
    free(s);
    s = buf_done(&b);
    // the thin / negative spaces, then sizing and formatting words
    s = remove_lit(s, "\\!");
    s = remove_lit(s, "\\,");
    s = remove_lit(s, "\\;");
    s = remove_lit(s, "\\:");
    s = remove_cmd(s, "left");
    s = remove_cmd(s, "right");
    s = replace_lit(s, "\\dfrac", "\\frac");
    s = replace_lit(s, "\\tfrac", "\\frac");
    s = remove_lit(s, "^{\\circ}");
    s = remove_lit(s, "^\\circ");
    s = remove_lit(s, "\xc2\xb0");   // UTF-8 degree sign
    s = remove_lit(s, "\\$");
    s = remove_lit(s, "$");
    s = remove_lit(s, "\\%");
    s = remove_lit(s, "%");
    s = replace_lit(s, "{,}", ",");
    if (!s) return NULL;
    // units written without the space: "5.4\text{cents}" (a text wrapper right after a digit or a
    // closing brace whose content starts with a letter)
    for (const char *w = "text\0mbox\0textrm\0"; *w; w += strlen(w) + 1) {
        size_t k = strlen(w);
        for (long i = 1; s[0] && s[i]; i++) {
            if (s[i] == '\\' && !strncmp(s + i + 1, w, k) && s[i + 1 + k] == '{' &&
                (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '}')) {
                char *tail = s + i + 1 + k;   // "{unit}" possibly followed by ^2 etc.
                bool alpha = isalpha((unsigned char)tail[1]);
                if (alpha) { s[i] = 0; break; }
            }
        }
    }
    s = unwrap_cmd(s, "text");
    s = unwrap_cmd(s, "textbf");
    s = unwrap_cmd(s, "textrm");
    s = unwrap_cmd(s, "mbox");
    s = unwrap_cmd(s, "mathrm");
    s = brace_args(s, 0);
    if (!s) return NULL;
    // trailing sentence period
    size_t n = strlen(s);
    while (n && s[n - 1] == '.') s[--n] = 0;
    // "x=5" -> "5" (a short left-hand side, one '=')
    char *eq = strchr(s, '=');
    if (eq && !strchr(eq + 1, '=') && eq - s >= 1 && eq - s <= 2 && eq[1]) {
        char *r = ss_strdup(eq + 1);
        free(s);
        s = r;                                   // NULL: out of memory
    }
    return s;
}

// ---------------------------------------------------------------- numbers

// decimal at s[*i]: digits with optional ',' groups of three, optional .digits (or .digits)
static bool parse_decimal(const char *s, long *i, double *out) {
    long j = *i;
    if (!isdigit((unsigned char)s[j]) && !(s[j] == '.' && isdigit((unsigned char)s[j + 1]))) return false;
    long e = scan_number(s, j);
    char tmp[128];
    size_t k = 0;
    for (long p = j; p < e; p++) {
        if (s[p] == ',') continue;
        if (k + 1 >= sizeof tmp) return false;
        tmp[k++] = s[p];
    }
    tmp[k] = 0;
    *out = strtod(tmp, NULL);
    *i = e;
    return true;
}

static bool parse_value(const char *s, long *i, double *out, int depth);

// {X} where X is a complete number
static bool parse_group(const char *s, long *i, double *out, int depth) {
    if (s[*i] != '{') return false;
    long e = match_brace(s, *i);
    if (e < 0) return false;
    char *inner = ss_strndup(s + *i + 1, (size_t)(e - *i - 2));
    if (!inner) return false;                    // out of memory
    long k = 0;
    bool ok = parse_value(inner, &k, out, depth + 1) && inner[k] == 0;
    free(inner);
    if (ok) *i = e;
    return ok;
}

// [sign] ( \frac{A}{B} | A/B | A ), A and B decimals (or signed values inside \frac groups)
static bool parse_value(const char *s, long *i, double *out, int depth) {
    if (depth > 8) return false;
    long j = *i;
    double sign = 1;
    while (s[j] == '-' || s[j] == '+') { if (s[j] == '-') sign = -sign; j++; }
    double v;
    if (starts(s + j, "\\frac{")) {
        double a, b;
        j += 5;
        if (!parse_group(s, &j, &a, depth) || !parse_group(s, &j, &b, depth) || b == 0) return false;
        v = a / b;
    } else {
        if (!parse_decimal(s, &j, &v)) return false;
        if (s[j] == '/') {
            long k = j + 1;
            double d;
            if (!parse_decimal(s, &k, &d) || d == 0) return false;
            v /= d;
            j = k;
        }
    }
    *out = sign * v;
    *i = j;
    return true;
}

static bool number_normalized(const char *s, double *out) {
    long i = 0;
    double v;
    if (!*s || !parse_value(s, &i, &v, 0) || s[i] != 0 || !isfinite(v)) return false;
    *out = v;
    return true;
}

bool ss_answer_number(const char *s, double *out) {
    if (!s) return false;
    char *n = answer_normalize(s);
    double v;
    bool ok = n && number_normalized(n, &v);
    free(n);
    if (ok && out) *out = v;
    return ok;
}

bool ss_answer_number_equal(double x, double y) {
    // 1e-6 relative, but never more than a rounding to cents: 1450000 != 1450001
    return x == y || (fabs(x - y) <= 1e-6 * fmax(fabs(x), fabs(y)) && fabs(x - y) <= 5e-3);
}

bool ss_answer_equal(const char *a, const char *b) {
    if (!a || !b) return false;
    char *na = answer_normalize(a), *nb = answer_normalize(b);
    double x, y;
    bool eq;
    if (!na || !nb) eq = false;                  // out of memory
    else if (number_normalized(na, &x) && number_normalized(nb, &y))
        eq = ss_answer_number_equal(x, y);
    else
        eq = *na && !strcmp(na, nb);
    free(na);
    free(nb);
    return eq;
}
