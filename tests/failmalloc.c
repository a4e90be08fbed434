// failmalloc.c — LD_PRELOAD shim for tests/test_oom.sh (built by it): with SS_FAIL_MALLOC_AT=N the N-th
// allocation (malloc, calloc, realloc, aligned_alloc, memalign, posix_memalign) and every later one
// fail as when memory is exhausted; with SS_FAIL_MALLOC_COUNT=PATH the number of allocations made is
// written to PATH at exit.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <string.h>
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t s);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
static long g_at = -1, g_count;
static int g_init;
static int fail_now(void) {
    if (!g_init) { g_init = 1; const char *s = getenv("SS_FAIL_MALLOC_AT"); g_at = s ? atol(s) : -1; }
    g_count++;
    if (g_at >= 0 && g_count >= g_at) { errno = ENOMEM; return 1; }
    return 0;
}
void *malloc(size_t n) { return fail_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t n, size_t s) { return fail_now() ? NULL : __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { return fail_now() ? NULL : __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { return fail_now() ? NULL : __libc_memalign(a, n); }
void *memalign(size_t a, size_t n) { return fail_now() ? NULL : __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n) {
    if (fail_now()) return ENOMEM;
    *p = __libc_memalign(a, n);
    return *p ? 0 : ENOMEM;
}
__attribute__((destructor)) static void report(void) {
    const char *path = getenv("SS_FAIL_MALLOC_COUNT");
    if (!path) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", g_count);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) { if (write(fd, buf, n) < 0) {} close(fd); }
}
