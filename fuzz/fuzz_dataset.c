// fuzz_dataset.c — libFuzzer target for the dataset reader of eval / swift-collect (--data): the
// bytes go through a file (ss_read_text's bounds and NUL check, then the JSON lines). A refused file
// is one line naming it; a file with a NUL byte is always refused; an accepted one has a question
// and a reference for every item.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *null_err;
    if (!null_err) null_err = fopen("/dev/null", "w");
    int fd = memfd_create("fuzz_dataset", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    FILE *saved = stderr;   // the reader's one-line errors: not the fuzzer's output
    stderr = null_err;
    tool_item *items = NULL;
    int n = tool_read_dataset(path, &items);
    stderr = saved;
    close(fd);
    if (n < -1) abort();
    if (n >= 0 && memchr(data, 0, size)) abort();   // a NUL byte must never be read as the end of the text
    for (int i = 0; i < n; i++)
        if (!items[i].question || !items[i].reference) abort();
    if (n >= 0) tool_free_dataset(items, n);
    return 0;
}
