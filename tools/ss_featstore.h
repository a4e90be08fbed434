// ss_featstore.h — the SWIFT feature store written by `swift-collect` and read by `swift-train`.
//
// A directory DIR holds three files:
//   meta.json     {"format":"slotswift-swift-features","version":1,"model_name":..,
//                  "model_fingerprint":"<16 hex digits>","layers":"last4","layer_list":[..],
//                  "norm":false,"logits":false,"dim":F,"dtype":"f16"|"f32","row_align":64,
//                  "collect":{..settings of the collection (sampling, data file, ...)..}}
//   features.bin  the token features of every candidate: T rows of F values (F16 or F32, little
//                 endian, row-major [T, F]), each candidate starting at a 64-byte aligned offset;
//                 memory-mappable.
//   index.jsonl   one line per candidate, appended only after its features are written and fsynced:
//                 {"q":question,"c":candidate,"n_cand":candidates of the question,"label":0|1,
//                  "n_tokens":T,"offset":byte offset in features.bin,"answer":..,"reference":..,"text":..}
// Resume (ss_featstore_open with resume): a partial last line, lines whose features lie beyond the
// end of features.bin (and every line after them), and the lines of questions with fewer than
// n_cand candidates are dropped (index.jsonl rewritten atomically); features.bin is truncated to
// the end of the last kept candidate. A question is complete when its n_cand candidates are all
// indexed; the collector skips complete questions and redoes the others from scratch.
#ifndef SS_FEATSTORE_H
#define SS_FEATSTORE_H
#include "ss_common.h"
#include "xalloc.h"
#include "slotswift.h"
#include "ss_common.h"

#define SS_FEATSTORE_ALIGN 64

typedef struct {
    char          model_name[256];
    uint64_t      model_fingerprint;
    ss_swift_spec spec;          // layers (string), resolved layer list, norm, logits, dim
    bool          f16;           // features.bin stores F16 (else F32)
    char          collect[4096]; // JSON object text: the collection settings ("{}" or "" if none);
                                 // must be identical to resume a store
} ss_featstore_meta;

// one candidate's record (strings may be NULL = "")
typedef struct {
    int   question;              // question index in the dataset (>= 0)
    int   candidate;             // 0 .. n_cand-1
    int   n_cand;                // candidates of this question (the same for all its records)
    float label;                 // 1 correct, 0 wrong
    const char *answer;          // extracted answer
    const char *reference;       // reference answer
    const char *text;            // the full response text
} ss_featstore_rec;

// ---- writer ----
typedef struct ss_featstore ss_featstore;
// Create DIR (one level) and a new store, or (resume) reopen an existing one after repairing it
// as described above; resume requires meta to equal the stored meta.json. Without resume, an
// existing non-empty store is an error.
int  ss_featstore_open(ss_featstore **out, const char *dir, const ss_featstore_meta *meta, bool resume,
                       char *err, size_t errlen);
// all n_cand candidates of question q are stored
bool ss_featstore_has_question(const ss_featstore *fs, int question);
int  ss_featstore_count(const ss_featstore *fs);         // candidates stored
// append one candidate: X[T, dim] F32 (converted to the store's dtype); writes + fsyncs the features,
// then appends + fsyncs its index line. Errors: bad record, duplicate (q, c), I/O.
int  ss_featstore_append(ss_featstore *fs, const ss_featstore_rec *rec, const float *X, int T,
                         char *err, size_t errlen);
void ss_featstore_close(ss_featstore *fs);

// ---- reader ----
typedef struct {
    int      question, candidate, n_cand, n_tokens;
    float    label;
    uint64_t offset;
    char    *answer, *reference, *text;
} ss_featstore_entry;

typedef struct {
    ss_featstore_meta   meta;
    int                 n;          // candidates (complete index lines)
    ss_featstore_entry *entries;    // [n]
    ss_swift_example   *examples;   // [n]: X points into the mapping of features.bin
    int                 n_questions;
    const uint8_t      *map;
    size_t              map_size;
} ss_featstore_data;

int  ss_featstore_meta_read(ss_featstore_meta *m, const char *dir, char *err, size_t errlen);
// read meta.json + index.jsonl (a partial last line is ignored), mmap features.bin; every entry
// is validated (range, alignment, label, duplicates) — an error names the line.
int  ss_featstore_read(ss_featstore_data *d, const char *dir, char *err, size_t errlen);
void ss_featstore_data_free(ss_featstore_data *d);

#endif
