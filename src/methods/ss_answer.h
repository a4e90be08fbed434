// ss_answer.h — answer extraction and grading for GSM8K / MATH style data.
#ifndef SS_ANSWER_H
#define SS_ANSWER_H
#include "ss_common.h"

// The answer in a model's response: the content of the last \boxed{...} (balanced braces) if any,
// else the last number (commas inside digits allowed, optional sign/decimals). malloc'ed, or NULL.
char *ss_answer_extract(const char *text);
// The reference answer of a dataset row: GSM8K "... #### N" -> "N"; MATH: the `answer` field as is.
char *ss_answer_reference_gsm8k(const char *answer_field);
// Equal as answers: numerically when both parse as numbers ("1,000" == "1000.0" == "$1000",
// "3/4" == "0.75", "\frac{3}{4}" == "3/4", "50\%" == "50"; within 1e-6 relative and 0.005 absolute,
// so "1450000" != "1450001"), else as strings after normalising
// whitespace, "\left", "\right", "\!", "\text{...}" wrappers and surrounding $.
bool  ss_answer_equal(const char *a, const char *b);
// parse a number with the rules above; false if `s` is not a number
bool  ss_answer_number(const char *s, double *out);
// the numeric half of ss_answer_equal: two answers that are numbers x, y (ss_answer_number) are
// equal iff this holds; a number never equals a non-number
bool  ss_answer_number_equal(double x, double y);

#endif
