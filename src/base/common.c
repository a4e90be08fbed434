// common.c — error formatting, checked allocation, time, whole-file I/O.
#include "ss_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

int ss_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ss_api_version(void) { return SS_API_VERSION; }
void ss_free(void *p) { free(p); }

void *ss_malloc(size_t n) { return malloc(n ? n : 1); }

void *ss_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *ss_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *ss_strdup(const char *s) { return ss_strndup(s, strlen(s)); }

char *ss_strndup(const char *s, size_t n) {
    char *r = n < SIZE_MAX ? ss_malloc(n + 1) : NULL;
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

double ss_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *ss_read_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { ss_err(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = ss_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) { cap *= 2; buf = ss_realloc(buf, cap); }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); ss_err(err, errlen, "%s: read error", path); return NULL; }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int ss_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    size_t plen = strlen(path) + 32;
    char *tmp = ss_malloc(plen);
    snprintf(tmp, plen, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { ss_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno)); free(tmp); return -1; }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
            close(fd); unlink(tmp); free(tmp); return -1;
        }
        p += w; left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        unlink(tmp); free(tmp); return -1;
    }
    if (rename(tmp, path) != 0) {
        ss_err(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp); free(tmp); return -1;
    }
    free(tmp);
    return 0;
}
