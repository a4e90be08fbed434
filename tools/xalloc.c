// xalloc.c — the tools' allocation: the library's, exiting with a message on out-of-memory.
#include "xalloc.h"
#include "ss_common.h"
#include <stdio.h>
#include <stdlib.h>

static void *tool_oom(void *p, size_t n) {
    if (p) return p;
    fprintf(stderr, "slotswift: out of memory (%zu bytes)\n", n);
    exit(1);
}

void *tool_malloc(size_t n) { return tool_oom(ss_malloc(n), n); }
void *tool_calloc(size_t n, size_t size) { return tool_oom(ss_calloc(n, size), n * size); }
void *tool_realloc(void *p, size_t n) { return tool_oom(ss_realloc(p, n), n); }
char *tool_strdup(const char *s) { return tool_oom(ss_strdup(s), 0); }
char *tool_strndup(const char *s, size_t n) { return tool_oom(ss_strndup(s, n), n); }
