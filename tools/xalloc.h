// xalloc.h — allocation for the command-line tools: the library returns errors on out-of-memory
// (ss_malloc gives NULL); a command has nothing better to do than stop with a one-line message.
#ifndef SS_XALLOC_H
#define SS_XALLOC_H
#include <stddef.h>

// as ss_malloc/ss_calloc/ss_realloc/ss_strdup/ss_strndup, but out of memory prints
// "slotswift: out of memory (N bytes)" and exits with status 1
void *tool_malloc(size_t n);
void *tool_calloc(size_t n, size_t size);
void *tool_realloc(void *p, size_t n);
char *tool_strdup(const char *s);
char *tool_strndup(const char *s, size_t n);
#endif
