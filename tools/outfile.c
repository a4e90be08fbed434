// outfile.c — output checks, signal-time temp cleanup and locked append (see outfile.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include "outfile.h"
#include "ss_common.h"
#include "ss_outfile.h"

// The temp file a replace is writing, for the signal handler (the one piece of process state:
// a handler can reach nothing else). unlink() is async-signal-safe.
static char outfile_tmp[4096];

static void outfile_on_signal(int sig) {
    if (outfile_tmp[0]) unlink(outfile_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

int outfile_guard(const char *cmd, const char *path) {
    char err[SS_ERRLEN];
    char *res = ss_out_resolve(path, err, sizeof err);
    if (!res) { fprintf(stderr, "slotswift %s: %s\n", cmd, err); return -1; }
    char *tmp = ss_out_tmp_name(res);
    if (strlen(tmp) < sizeof outfile_tmp) {
        memcpy(outfile_tmp, tmp, strlen(tmp) + 1);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = outfile_on_signal;
        sigemptyset(&sa.sa_mask);
        int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
        for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, NULL);
    }
    ss_out_clean_stale(res);
    free(tmp);
    free(res);
    return 0;
}

int outfile_write(const char *cmd, const char *path, const void *data, size_t len) {
    char err[SS_ERRLEN];
    if (outfile_guard(cmd, path)) return -1;
    if (ss_write_file_atomic(path, data, len, err, sizeof err)) { fprintf(stderr, "slotswift %s: %s\n", cmd, err); return -1; }
    return 0;
}

int outfile_open_append(const char *cmd, const char *path) {
    char err[SS_ERRLEN];
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "slotswift %s: %s: not a regular file (results are read back to resume: give a file path)\n", cmd, path);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) { fprintf(stderr, "slotswift %s: %s: cannot open for writing: %s\n", cmd, path, strerror(errno)); return -1; }
    if (ss_out_lock(fd, path, err, sizeof err)) { fprintf(stderr, "slotswift %s: %s\n", cmd, err); close(fd); return -1; }
    return fd;
}
