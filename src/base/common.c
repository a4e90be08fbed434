// common.c — error formatting, checked allocation, time, whole-file I/O.
#include "ss_common.h"
#include "ss_outfile.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

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

// read at most max bytes of path (more: an error naming the limit); text: a NUL byte is an error
// naming its offset (a NUL would silently end the text for every string function after us)
static char *read_bounded(const char *path, size_t max, bool text, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { ss_err(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        ss_err(err, errlen, "%s: is a directory, not a file", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = ss_malloc(cap);
    const char *why = NULL;
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap <= SIZE_MAX / 2 ? ss_realloc(buf, cap * 2) : NULL;
            if (!nb) { why = "out of memory"; break; }
            buf = nb; cap *= 2;
        }
        size_t want = cap - n - 1;
        if (want > max - n + 1) want = max - n + 1;          // one byte past the limit tells "larger"
        size_t r = fread(buf + n, 1, want, f);
        const char *z = text ? memchr(buf + n, 0, r) : NULL;
        if (z) {
            ss_err(err, errlen, "%s: byte offset %zu: NUL byte (not a text file)", path, (size_t)(z - buf));
            free(buf); fclose(f); return NULL;
        }
        n += r;
        if (n > max) {
            ss_err(err, errlen, "%s: larger than the limit of %zu MiB for this input", path, max >> 20);
            free(buf); fclose(f); return NULL;
        }
        if (r == 0) break;
    }
    if (!buf && !why) why = "out of memory";
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (why || e) {
        ss_err(err, errlen, "%s: read error: %s", path, why ? why : strerror(e));
        free(buf); return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *ss_read_file(const char *path, size_t *len, char *err, size_t errlen) {
    return read_bounded(path, SIZE_MAX - 1, false, len, err, errlen);
}

char *ss_read_text(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
    return read_bounded(path, max, true, len, err, errlen);
}

int ss_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    char *res = ss_out_resolve(path, err, errlen), *tmp = NULL;
    if (!res) return -1;
    int fd = ss_out_tmp_open(res, &tmp, err, errlen);
    if (fd < 0) { free(res); return -1; }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
            close(fd); unlink(tmp); free(tmp); free(res); return -1;
        }
        p += w; left -= (size_t)w;
    }
    int rc = ss_out_commit(fd, tmp, res, err, errlen);
    free(tmp);
    free(res);
    return rc;
}
