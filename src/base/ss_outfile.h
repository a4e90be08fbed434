// ss_outfile.h — the rules for every output file (atomic replace, append under a lock).
//   Replace (write-then-rename): only a regular file or a new path is replaced. A symlink is
//   resolved and its target replaced; a device, FIFO, directory or socket is refused. The temp
//   file is "RESOLVED.tmp.PID" in the target's own directory; stale temps of dead processes are
//   removed when the next one is created.
//   Append (results files, feature stores): an exclusive flock held while the command runs; a
//   second process is refused ("FILE: in use by another slotswift process (pid N)").
// Errors name the file and include strerror(errno).
#ifndef SS_OUTFILE_H
#define SS_OUTFILE_H
#include <stddef.h>

// The path an atomic replace will write: PATH itself, or the target of a symlink. NULL + err if
// PATH is not a regular file (device, FIFO, directory, socket) or is a dangling symlink.
char *ss_out_resolve(const char *path, char *err, size_t errlen);
// "RESOLVED.tmp.PID" for this process (malloc'ed): the temp name the writers below use
char *ss_out_tmp_name(const char *resolved);
// remove "BASENAME.tmp.N" files of processes N that no longer exist, next to RESOLVED
void ss_out_clean_stale(const char *resolved);
// create the temp file for RESOLVED (cleaning stale ones first); returns an fd (O_WRONLY) or -1
int  ss_out_tmp_open(const char *resolved, char **tmp, char *err, size_t errlen);
// fsync + close fd, rename tmp over resolved, fsync the directory; on error tmp is removed
int  ss_out_commit(int fd, const char *tmp, const char *resolved, char *err, size_t errlen);
// take an exclusive non-blocking flock on fd (open on PATH); -1 + err naming the holder if taken
int  ss_out_lock(int fd, const char *path, char *err, size_t errlen);

#endif
