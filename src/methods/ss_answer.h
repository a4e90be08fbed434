// ss_answer.h — answer extraction and grading for GSM8K / MATH style data.
// The API (ss_answer_extract, _reference_gsm8k, _equal, _number) is public: see slotswift.h.
#ifndef SS_ANSWER_H
#define SS_ANSWER_H
#include "ss_common.h"
// the numeric half of ss_answer_equal: two answers that are numbers x, y (ss_answer_number) are
// equal iff this holds; a number never equals a non-number
bool ss_answer_number_equal(double x, double y);
#endif
