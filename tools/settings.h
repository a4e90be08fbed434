// settings.h — the record of every setting that changes a run's results, kept with the results
// (eval's first line, the feature store's meta.json "collect") so that a resume with other
// settings is refused, naming the first setting that differs.
#ifndef SS_SETTINGS_H
#define SS_SETTINGS_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "ss_model.h"

// A file's identity, independent of the path used to name it: "SIZE bytes, fnv1a64 HEX".
// Returns malloc'ed text, or NULL + err if the file cannot be read.
char  *settings_file_id(const char *path, char *err, size_t errlen);
// {"model": fingerprint, "data": file id, then the flags by name: "--chat", "--system", "-N",
//  "-n", "--temp", ..., "--seed", "--stop", "--ignore-eos", "--slot-*", "-c", "--kv-f32", "-ctk", "-ctv"}.
// n_ctx_flag is -c as given (0 = automatic). NULL + err if the data file cannot be read.
cJSON *settings_build(const ss_args *a, const ss_model *m, const char *data, int n_cand, int n_ctx_flag,
                      char *err, size_t errlen);
// 0 if `now` equals `was` key by key; else -1 with "KEY was X, now Y" (the first differing key in
// `now`'s order, then keys only `was` has) in msg
int    settings_diff(const cJSON *was, const cJSON *now, char *msg, size_t msglen);

#endif
