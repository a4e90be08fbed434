// outfile.c — output file rules shared by every writer (see ss_outfile.h).
#include "ss_outfile.h"
#include "ss_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/file.h>

static const char *out_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

char *ss_out_resolve(const char *path, char *err, size_t errlen) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return ss_strdup(path);   // a new file
        ss_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        return NULL;
    }
    char *res = ss_strdup(path);
    if (S_ISLNK(st.st_mode)) {
        char *r = realpath(path, NULL);
        if (!r) {
            ss_err(err, errlen, "%s: symlink to a missing file: %s", path, strerror(errno));
            free(res);
            return NULL;
        }
        free(res);
        res = r;
        if (stat(res, &st) != 0) { ss_err(err, errlen, "%s: cannot stat: %s", res, strerror(errno)); free(res); return NULL; }
    }
    if (!S_ISREG(st.st_mode)) {
        ss_err(err, errlen, "%s: refusing to replace %s (only regular files are outputs)", path, out_kind(st.st_mode));
        free(res);
        return NULL;
    }
    return res;
}

char *ss_out_tmp_name(const char *resolved) {
    size_t n = strlen(resolved) + 32;
    char *t = ss_malloc(n);
    snprintf(t, n, "%s.tmp.%d", resolved, (int)getpid());
    return t;
}

void ss_out_clean_stale(const char *resolved) {
    const char *slash = strrchr(resolved, '/');
    char *dir = slash ? ss_strndup(resolved, slash == resolved ? 1 : (size_t)(slash - resolved)) : ss_strdup(".");
    const char *base = slash ? slash + 1 : resolved;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *nm = e->d_name;
            if (strncmp(nm, base, bl) || strncmp(nm + bl, ".tmp.", 5)) continue;
            const char *num = nm + bl + 5;
            if (!*num || strspn(num, "0123456789") != strlen(num) || strlen(num) > 9) continue;
            pid_t pid = (pid_t)atol(num);
            if (pid == getpid() || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
            size_t n = strlen(dir) + strlen(nm) + 2;
            char *p = ss_malloc(n);
            snprintf(p, n, "%s/%s", dir, nm);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    free(dir);
}

int ss_out_tmp_open(const char *resolved, char **tmp, char *err, size_t errlen) {
    ss_out_clean_stale(resolved);
    *tmp = ss_out_tmp_name(resolved);
    unlink(*tmp);   // our own pid: a leftover of an earlier run with the same pid
    int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        ss_err(err, errlen, "%s: cannot create: %s", *tmp, strerror(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return fd;
}

int ss_out_commit(int fd, const char *tmp, const char *resolved, char *err, size_t errlen) {
    int rc = 0;
    if (fsync(fd) != 0) rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = ss_err(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, resolved) != 0) rc = ss_err(err, errlen, "%s: cannot rename into place: %s", resolved, strerror(errno));
    if (rc != 0) { unlink(tmp); return rc; }
    const char *slash = strrchr(resolved, '/');
    char *dir = slash ? ss_strndup(resolved, slash == resolved ? 1 : (size_t)(slash - resolved)) : ss_strdup(".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    free(dir);
    return 0;
}

// the pid holding a FLOCK on the file of fd, from /proc/locks (0 if unknown)
static long out_lock_holder(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    FILE *f = fopen("/proc/locks", "r");
    if (!f) return 0;
    char line[256];
    long pid = 0;
    while (!pid && fgets(line, sizeof line, f)) {
        char kind[16];
        long p;
        unsigned maj, min;
        unsigned long long ino;
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (a "->" marks a waiter)
        if (strstr(line, "->")) continue;
        if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", kind, &p, &maj, &min, &ino) == 5 &&
            !strcmp(kind, "FLOCK") && ino == (unsigned long long)st.st_ino && p != getpid())
            pid = p;
    }
    fclose(f);
    return pid;
}

int ss_out_lock(int fd, const char *path, char *err, size_t errlen) {
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) {
            long pid = out_lock_holder(fd);
            if (pid) return ss_err(err, errlen, "%s: in use by another slotswift process (pid %ld)", path, pid);
            return ss_err(err, errlen, "%s: in use by another slotswift process", path);
        }
        return ss_err(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
    }
    return 0;
}
