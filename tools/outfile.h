// outfile.h — the commands' side of the output rules (src/base/ss_outfile.h): check an output
// before the work starts, remove the temp file when a signal interrupts the write, and open an
// append-style output under its lock.
#ifndef SS_TOOL_OUTFILE_H
#define SS_TOOL_OUTFILE_H
#include <stdbool.h>

// Check that PATH may be replaced atomically (a regular file, a new path or a symlink to a regular
// file) and arrange that SIGINT/SIGTERM/SIGHUP remove its temp file "RESOLVED.tmp.PID" before the
// process dies. Prints "slotswift CMD: ..." and returns -1 if PATH is not a valid output.
int  outfile_guard(const char *cmd, const char *path);
// Write DATA atomically to PATH under the same rules (prints the error; -1 on failure)
int  outfile_write(const char *cmd, const char *path, const void *data, size_t len);
// Open PATH for appending (O_RDWR | O_CREAT | O_APPEND) under an exclusive flock. PATH must be a
// regular file or new (it is read back to resume). Prints the error and returns -1 on failure.
int  outfile_open_append(const char *cmd, const char *path);

#endif
