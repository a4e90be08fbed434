// ss_common.h — small things every module shares: error buffers, checked allocation.
// Errors are return codes (0 = ok, <0 = error) with a one-line message written into a
// caller-provided buffer (char *err, size_t errlen); no global state.
#ifndef SS_COMMON_H
#define SS_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include "slotswift.h"

#define SS_ERRLEN 512

// write a formatted message into err (if err != NULL); always returns -1 so callers can
// `return ss_err(err, errlen, "...")`.
int ss_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// malloc/calloc/realloc/strdup that return NULL on out-of-memory (never abort: every caller checks and
// returns an error); size 0 allocates 1 byte; ss_calloc checks n*size for overflow. ss_realloc leaves p
// allocated when it fails (as realloc).
void *ss_malloc(size_t n);
void *ss_calloc(size_t n, size_t size);
void *ss_realloc(void *p, size_t n);
char *ss_strdup(const char *s);
char *ss_strndup(const char *s, size_t n);

// monotonic time in seconds
double ss_time(void);

// read a whole file into a NUL-terminated buffer; returns NULL and fills err on failure
char *ss_read_file(const char *path, size_t *len, char *err, size_t errlen);
// read a text file of at most max bytes: a larger file, a NUL byte (named by its offset) or a
// directory is an error, never a silently cut text
char *ss_read_text(const char *path, size_t max, size_t *len, char *err, size_t errlen);
// the bounds of text inputs: a prompt file (-f), a dataset (--data)
#define SS_PROMPT_MAX_BYTES ((size_t)64 << 20)
#define SS_DATA_MAX_BYTES   ((size_t)256 << 20)

// write a file atomically: write PATH.tmp.PID, fsync, rename over PATH, with the rules of
// ss_outfile.h (only a regular file or a new path is replaced; a symlink's target is). 0 or -1 (+err).
int ss_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
