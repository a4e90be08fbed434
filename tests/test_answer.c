// test_answer.c — answer extraction and grading (src/answer.c) on hand-written cases and on the
// real GSM8K test set (1319 rows) and MATH-500 (500 rows) in ../shared/data.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <cjson/cJSON.h>
#include "slotswift.h"
#include "ss_common.h"

#define GSM8K "../shared/data/gsm8k_test.jsonl"
#define MATH500 "../shared/data/math500_test.jsonl"

static void expect_extract(const char *text, const char *want) {
    char *got = ss_answer_extract(text);
    if (!text) text = "(null)";
    if (!want) {
        if (got) fail_msg("extract(%s) = '%s', want NULL", text, got);
        return;
    }
    if (!got || strcmp(got, want)) fail_msg("extract(%s) = '%s', want '%s'", text, got ? got : "(null)", want);
    free(got);
}

static void test_extract_boxed(void **st) {
    (void)st;
    expect_extract("so the answer is \\boxed{42}.", "42");
    expect_extract("\\boxed{1} then \\boxed{2}", "2");                          // the last one
    expect_extract("x = \\boxed{\\frac{3}{4}} done", "\\frac{3}{4}");            // nested braces
    expect_extract("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)");
    expect_extract("\\fbox{7}", "7");
    expect_extract("answer: \\boxed 5$ ok", "5");                                // brace-less
    expect_extract("\\boxed{\\{1,2\\}}", "\\{1,2\\}");                            // escaped braces do not count
    expect_extract("\\boxed{12} and then \\boxed{3", "12");                      // truncated last box: earlier one
    expect_extract("\\boxed{}", "");
    expect_extract("\\boxedx 3 and 4", "4");                                     // not a \boxed command
}

static void test_extract_number(void **st) {
    (void)st;
    expect_extract("She makes 9 * 2 = $18 every day.", "18");
    expect_extract("The total is 1,000,000 dollars", "1000000");
    expect_extract("profit of 200,000-130,000=$70,000", "70000");
    expect_extract("It is -3 degrees", "-3");
    expect_extract("5-3 = 2", "2");
    expect_extract("so 5-3", "3");                                               // subtraction, not -3
    expect_extract("costs $2.50.", "2.50");
    expect_extract("about .5 of it", ".5");
    expect_extract("list 1,2,3", "3");                                           // not a thousands group
    expect_extract("12,34", "34");
    expect_extract("no numbers here", NULL);
    expect_extract("", NULL);
    expect_extract(NULL, NULL);
    expect_extract("x-5", "5");                                                  // after a letter: minus is an operator
}

static void expect_eq(const char *a, const char *b, bool want) {
    bool got = ss_answer_equal(a, b);
    if (got != want) fail_msg("equal('%s', '%s') = %d, want %d", a, b, got, want);
    got = ss_answer_equal(b, a);
    if (got != want) fail_msg("equal('%s', '%s') = %d, want %d (symmetry)", b, a, got, want);
}

static void test_equal_numbers(void **st) {
    (void)st;
    expect_eq("1,000", "1000", true);
    expect_eq("1000.0", "1,000", true);
    expect_eq("$1000", "1000", true);
    expect_eq("\\$1000", "1000.00", true);
    expect_eq("5%", "5", true);
    expect_eq("50\\%", "50", true);
    expect_eq("3/4", "0.75", true);
    expect_eq("\\frac{3}{4}", "3/4", true);
    expect_eq("\\dfrac{3}{4}", "0.75", true);
    expect_eq("\\tfrac34", "0.75", true);
    expect_eq("\\frac 34", "0.75", true);
    expect_eq("-\\frac12", "-0.5", true);
    expect_eq("\\frac{-1}{2}", "-0.5", true);
    expect_eq("10,\\!080", "10080", true);
    expect_eq("11,\\! 111,\\! 111,\\! 100", "11111111100", true);
    expect_eq("\\$32,\\!348", "32348", true);
    expect_eq("90^\\circ", "90", true);
    expect_eq("90^{\\circ}", "90", true);
    expect_eq("5.4 \\text{ cents}", "5.4", true);
    expect_eq("864 \\mbox{ inches}^2", "864", true);
    expect_eq("\\frac{270}7\\text{ degrees}", "38.571428571428571", true);
    expect_eq("$18$", "18", true);
    expect_eq("18.", "18", true);
    expect_eq(".0000672", "0.0000672", true);
    expect_eq("x=5", "5", true);
    expect_eq("1e-7", "0", false);                                  // not a number format we accept
    expect_eq("0.1", "0.1000000001", true);                         // 1e-8 relative
    expect_eq("1000000", "1000001", false);                         // 1e-6 relative is the limit
    expect_eq("1000000", "1000000.5", false);                       // large values: at most 0.005 apart
    expect_eq("1000000", "1000000.001", true);
    expect_eq("333333.33", "1000000/3", true);
    expect_eq("1450000", "1450001", false);                         // two real GSM8K answers
    // non-equivalences
    expect_eq("12", "1.2", false);
    expect_eq("3/4", "4/3", false);
    expect_eq("\\frac{3}{4}", "\\frac{4}{3}", false);
    expect_eq("-5", "5", false);
    expect_eq("1,2", "12", false);
    expect_eq("1/0", "1/0", true);                                  // not numbers: equal as strings
    expect_eq("0", "0.0", true);
    double v;
    assert_true(ss_answer_number("1,234.5", &v) && v == 1234.5);
    assert_true(ss_answer_number("-\\frac{3}{8}", &v) && v == -0.375);
    assert_true(ss_answer_number("2/5", &v) && v == 0.4);
    assert_false(ss_answer_number("1,23", &v));
    assert_false(ss_answer_number("3\\sqrt{2}", &v));
    assert_false(ss_answer_number("", &v));
    assert_false(ss_answer_number("abc", &v));
    assert_false(ss_answer_number("5/", &v));
    assert_false(ss_answer_number("\\frac{1}{0}", &v));
    assert_false(ss_answer_number(NULL, &v));
}

static void test_equal_strings(void **st) {
    (void)st;
    expect_eq("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", true);
    expect_eq("\\text{Evelyn}", "Evelyn", true);
    expect_eq("\\text{(C)}", "(C)", true);
    expect_eq("\\textbf{(C)}", "(C)", true);
    expect_eq("3\\sqrt{13}", "3 \\sqrt{13}", true);
    expect_eq("11\\sqrt2", "11\\sqrt{2}", true);
    expect_eq("\\frac{\\sqrt{3}}{3}", "\\dfrac{\\sqrt3}{3}", true);
    expect_eq("6 - 5i", "6-5i", true);
    expect_eq("p - q", "p-q", true);
    expect_eq("$p - q$", "p-q", true);
    expect_eq("(1, 2)", "(1,2).", true);
    expect_eq("\\leftarrow", "arrow", false);                       // \left only as a sizing word
    expect_eq("6 - 5i", "6+5i", false);
    expect_eq("(1,2)", "(2,1)", false);
    expect_eq("\\text{east}", "west", false);
    expect_eq("", "", false);                                       // nothing is not an answer
    assert_false(ss_answer_equal(NULL, "1"));
    assert_false(ss_answer_equal("1", NULL));
}

static void test_reference_gsm8k(void **st) {
    (void)st;
    char *r = ss_answer_reference_gsm8k("a\n#### 18");
    assert_string_equal(r, "18");
    free(r);
    r = ss_answer_reference_gsm8k("x #### 1 #### 2,125 \n");
    assert_string_equal(r, "2,125");
    free(r);
    assert_null(ss_answer_reference_gsm8k("no marker 5"));
    assert_null(ss_answer_reference_gsm8k("#### "));
    assert_null(ss_answer_reference_gsm8k(NULL));
}

// independent integer parse of a GSM8K "#### N" value: optional '-', digits and ',' only
static bool plain_int(const char *s, long long *out) {
    long long v = 0;
    int neg = 0, nd = 0;
    if (*s == '-') { neg = 1; s++; }
    for (; *s; s++) {
        if (*s == ',') continue;
        if (!isdigit((unsigned char)*s)) return false;
        v = v * 10 + (*s - '0');
        nd++;
    }
    *out = neg ? -v : v;
    return nd > 0;
}

typedef struct { char **lines; int n; } lines_t;

static lines_t read_lines(const char *path) {
    lines_t L = { 0 };
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int capn = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (L.n == capn) { capn = capn ? 2 * capn : 1024; L.lines = realloc(L.lines, capn * sizeof(char *)); }
        L.lines[L.n++] = strdup(line);
    }
    free(line);
    fclose(f);
    return L;
}

static void free_lines(lines_t *L) {
    for (int i = 0; i < L->n; i++) free(L->lines[i]);
    free(L->lines);
}

// every GSM8K row: the "#### N" reference is a number (checked against an independent integer
// parse), and the last number of the full answer field (the solution) grades equal to it
static void test_gsm8k_data(void **st) {
    (void)st;
    lines_t L = read_lines(GSM8K);
    assert_int_equal(L.n, 1319);
    int bad = 0, with_commas = 0;
    for (int i = 0; i < L.n; i++) {
        cJSON *j = cJSON_Parse(L.lines[i]);
        assert_non_null(j);
        const char *ans = cJSON_GetStringValue(cJSON_GetObjectItem(j, "answer"));
        assert_non_null(ans);
        char *ref = ss_answer_reference_gsm8k(ans);
        assert_non_null(ref);
        long long want = 0;
        double got;
        assert_true(plain_int(ref, &want));
        with_commas += strchr(ref, ',') != NULL;
        if (!ss_answer_number(ref, &got) || got != (double)want) {
            printf("row %d: reference '%s' does not parse as %lld\n", i, ref, want);
            bad++;
        }
        char *ext = ss_answer_extract(ans);
        double ev;
        if (!ext || !ss_answer_equal(ext, ref) || !ss_answer_number(ext, &ev) || ev != (double)want) {
            printf("row %d: extract = '%s', reference '%s'\n", i, ext ? ext : "(null)", ref);
            bad++;
        }
        // and the answer is not equal to a different number
        char other[64];
        snprintf(other, sizeof other, "%lld", want + 1);
        if (ss_answer_equal(ext, other)) { printf("row %d: '%s' equals '%s'\n", i, ext, other); bad++; }
        free(ext);
        free(ref);
        cJSON_Delete(j);
    }
    printf("gsm8k: %d rows, %d references with thousands separators, %d failures\n", L.n, with_commas, bad);
    assert_true(with_commas > 0);   // the comma rule is exercised by the real data
    assert_int_equal(bad, 0);
    free_lines(&L);
}

// MATH-500: the last \boxed{} of the reference solution grades equal to the `answer` field
static void test_math500_data(void **st) {
    (void)st;
    lines_t L = read_lines(MATH500);
    assert_int_equal(L.n, 500);
    int ok = 0, numeric = 0, cross = 0;
    char **ans_of = calloc(L.n, sizeof(char *)), **ext_of = calloc(L.n, sizeof(char *));
    for (int i = 0; i < L.n; i++) {
        cJSON *j = cJSON_Parse(L.lines[i]);
        assert_non_null(j);
        const char *sol = cJSON_GetStringValue(cJSON_GetObjectItem(j, "solution"));
        const char *ans = cJSON_GetStringValue(cJSON_GetObjectItem(j, "answer"));
        assert_non_null(sol);
        assert_non_null(ans);
        char *ext = ss_answer_extract(sol);
        if (ext && ss_answer_equal(ext, ans)) ok++;
        else printf("math500 row %d: extract = '%s', answer '%s'\n", i, ext ? ext : "(null)", ans);
        numeric += ss_answer_number(ans, NULL);
        ans_of[i] = strdup(ans);
        ext_of[i] = ext;
        cJSON_Delete(j);
    }
    // the grader must also tell answers apart: row i's boxed answer vs row i+1's reference
    for (int i = 0; i < L.n; i++) cross += ss_answer_equal(ext_of[i], ans_of[(i + 1) % L.n]);
    printf("math500: %d / %d equal, %d numeric answers, %d equal to the next row's answer\n", ok, L.n, numeric, cross);
    assert_true(ok * 100 >= 98 * L.n);
    assert_true(numeric >= 300);        // the numeric path is exercised (311 integer answers alone)
    assert_true(cross * 100 <= 3 * L.n);
    for (int i = 0; i < L.n; i++) { free(ans_of[i]); free(ext_of[i]); }
    free(ans_of); free(ext_of);
    free_lines(&L);
}

// random LaTeX-ish garbage and deep nesting: no crash, no hang (ASan/UBSan in `make asan`)
static void test_robust(void **st) {
    (void)st;
    static const char *pieces[] = { "\\boxed{", "\\fbox", "{", "}", "\\frac", "\\dfrac", "12", "3", ",", ".", "-",
                                    "$", "\\$", "%", "\\%", "\\text{", "\\text{ ", "\\left", "\\right", "(", ")",
                                    "/", "\\!", " ", "=", "x", "^\\circ", "\\sqrt", "\\", "{,}", "#### " };
    const int np = sizeof pieces / sizeof pieces[0];
    uint64_t r = 7;
    char buf[512];
    for (int it = 0; it < 3000; it++) {
        size_t n = 0;
        int k = 1 + (int)(r % 30);
        for (int j = 0; j < k; j++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p = pieces[(r >> 33) % np];
            size_t l = strlen(p);
            if (n + l + 1 >= sizeof buf) break;
            memcpy(buf + n, p, l);
            n += l;
        }
        buf[n] = 0;
        char *e = ss_answer_extract(buf);
        double v;
        ss_answer_number(buf, &v);
        (void)ss_answer_equal(buf, e ? e : "");
        char *ref = ss_answer_reference_gsm8k(buf);
        free(ref);
        free(e);
    }
    // 20000 nested \frac{ groups, closed and unclosed
    size_t N = 20000;
    char *deep = malloc(N * 7 + N + 16);
    size_t n = 0;
    for (size_t i = 0; i < N; i++) { memcpy(deep + n, "\\frac{", 6); n += 6; }
    deep[n] = 0;
    char *e = ss_answer_extract(deep);
    free(e);
    assert_false(ss_answer_number(deep, NULL));
    for (size_t i = 0; i < N; i++) deep[n++] = '}';
    deep[n] = 0;
    assert_false(ss_answer_equal(deep, "1"));
    free(deep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_boxed),
        cmocka_unit_test(test_extract_number),
        cmocka_unit_test(test_equal_numbers),
        cmocka_unit_test(test_equal_strings),
        cmocka_unit_test(test_reference_gsm8k),
        cmocka_unit_test(test_gsm8k_data),
        cmocka_unit_test(test_math500_data),
        cmocka_unit_test(test_robust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
