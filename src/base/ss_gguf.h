// ss_gguf.h — GGUF v2/v3 reader (mmap, fully validated) and writer (atomic).
// Spec: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv key/values,
// n_tensors tensor infos (name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset),
// padding to general.alignment (default 32), then the tensor data.
#ifndef SS_GGUF_H
#define SS_GGUF_H
#include "ss_common.h"

enum ss_gguf_vtype {
    SS_GGUF_UINT8 = 0, SS_GGUF_INT8 = 1, SS_GGUF_UINT16 = 2, SS_GGUF_INT16 = 3,
    SS_GGUF_UINT32 = 4, SS_GGUF_INT32 = 5, SS_GGUF_FLOAT32 = 6, SS_GGUF_BOOL = 7,
    SS_GGUF_STRING = 8, SS_GGUF_ARRAY = 9, SS_GGUF_UINT64 = 10, SS_GGUF_INT64 = 11,
    SS_GGUF_FLOAT64 = 12,
};

typedef struct { uint64_t len; const char *ptr; } ss_gguf_str;   // points into the mapping, NOT NUL-terminated

typedef struct {
    char *key;                  // NUL-terminated copy
    size_t offset;              // where the key/value starts in the file (for messages)
    uint32_t type;              // enum ss_gguf_vtype
    union { uint64_t u64; int64_t i64; double f64; bool b; ss_gguf_str s; } v;  // scalars (ints widened)
    // arrays (type == SS_GGUF_ARRAY):
    uint32_t arr_type;          // element type
    uint64_t arr_n;             // element count
    const void *arr_data;       // raw little-endian elements inside the mapping (all arrays; for
                                // nested arrays the raw encoding of the inner arrays)
    size_t arr_bytes;           // bytes at arr_data (raw encoding, strings with their length prefixes)
    ss_gguf_str *arr_str;       // decoded strings (string arrays only; malloc'ed)
} ss_gguf_kv;

typedef struct {
    char *name;                 // NUL-terminated copy
    uint32_t n_dims;
    int64_t ne[4];              // ne[0] = row length (innermost), unused dims = 1
    uint32_t type;              // ggml type id (see ss_quant.h)
    uint64_t offset;            // relative to the data section
    const void *data;           // inside the mapping
    size_t nbytes;
} ss_gguf_tensor;

typedef struct ss_gguf {
    char *path;
    const uint8_t *map;  size_t size;   // whole file
    int owns_map;                        // 1: mmap'ed (unmapped on close)
    uint32_t version;
    uint64_t n_kv, n_tensors;
    ss_gguf_kv *kv;
    ss_gguf_tensor *tensors;
    size_t alignment;
    size_t data_offset;
    // key / tensor name lookup: entries sorted by name (binary search; O(n log n) to build
    // whatever the names are, so hostile names cannot make opening slow)
    ss_gguf_kv **kv_sorted;
    ss_gguf_tensor **t_sorted;
} ss_gguf;

// Open and validate. On failure returns -1, *out = NULL, and err holds one line:
// "PATH: offset N: reason" or "PATH: tensor 'NAME': reason".
int  ss_gguf_open(ss_gguf **out, const char *path, char *err, size_t errlen);
// Same, from memory (used by the fuzz target and tests); `name` is used in messages.
int  ss_gguf_open_mem(ss_gguf **out, const void *data, size_t size, const char *name, char *err, size_t errlen);
void ss_gguf_close(ss_gguf *g);

const ss_gguf_kv     *ss_gguf_find(const ss_gguf *g, const char *key);
const ss_gguf_tensor *ss_gguf_find_tensor(const ss_gguf *g, const char *name);
// typed getters: return `def` when the key is missing; an integer getter accepts any
// integer type, a float getter any float or integer type.
int64_t     ss_gguf_get_int(const ss_gguf *g, const char *key, int64_t def);
double      ss_gguf_get_float(const ss_gguf *g, const char *key, double def);
bool        ss_gguf_get_bool(const ss_gguf *g, const char *key, bool def);
// returns a malloc'ed NUL-terminated copy, or NULL when missing / not a string
char       *ss_gguf_get_str(const ss_gguf *g, const char *key);
// the same telling the two NULLs apart: 0 with *out = the copy (NULL when missing / not a string),
// -1 when the key is a string but its copy could not be allocated
int         ss_gguf_get_str_opt(const ss_gguf *g, const char *key, char **out);
// the same for architecture keys "ARCH.SUFFIX" (e.g. arch "qwen2", suffix "block_count")
int64_t     ss_gguf_get_arch_int(const ss_gguf *g, const char *arch, const char *suffix, int64_t def);
double      ss_gguf_get_arch_float(const ss_gguf *g, const char *arch, const char *suffix, double def);
const char *ss_gguf_vtype_name(uint32_t t);   // "u32", "string", ... ("?" if unknown)
size_t      ss_gguf_vtype_size(uint32_t t);   // bytes of a scalar element; 0 for string/array/unknown
// number of elements of a tensor (ne[0]*ne[1]*ne[2]*ne[3], validated not to overflow)
int64_t     ss_gguf_tensor_nelements(const ss_gguf_tensor *t);

// ---- writer ----
typedef struct ss_gguf_writer ss_gguf_writer;
ss_gguf_writer *ss_gguf_writer_new(void);
void ss_gguf_writer_free(ss_gguf_writer *w);
void ss_gguf_writer_set_u32(ss_gguf_writer *w, const char *key, uint32_t v);
void ss_gguf_writer_set_i32(ss_gguf_writer *w, const char *key, int32_t v);
void ss_gguf_writer_set_u64(ss_gguf_writer *w, const char *key, uint64_t v);
void ss_gguf_writer_set_f32(ss_gguf_writer *w, const char *key, float v);
void ss_gguf_writer_set_bool(ss_gguf_writer *w, const char *key, bool v);
void ss_gguf_writer_set_str(ss_gguf_writer *w, const char *key, const char *v);
// any scalar type: `value` points to the C value of that type (uint8_t, int16_t, float, double,
// bool (1 byte), ...); strings: a ss_gguf_str
void ss_gguf_writer_set_val(ss_gguf_writer *w, const char *key, uint32_t type, const void *value);
// array of scalars (elem_type a numeric ss_gguf_vtype, data little-endian)
void ss_gguf_writer_set_arr(ss_gguf_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t n);
void ss_gguf_writer_set_arr_str(ss_gguf_writer *w, const char *key, const ss_gguf_str *strs, uint64_t n);
// copy one key/value from an open file (e.g. the tokenizer keys)
void ss_gguf_writer_copy_kv(ss_gguf_writer *w, const ss_gguf_kv *kv);
// add a tensor; `data` (nbytes = ss_row_size(type, ne[0]) * rows) is copied.
void ss_gguf_writer_add_tensor(ss_gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const int64_t *ne, const void *data, size_t nbytes);
// add a tensor whose data is produced while the file is written (streaming: a 7B model never
// has to be in memory). fn is called with consecutive row ranges [row0, row0 + nrows) (a row is
// ne[0] elements, ss_row_size(type, ne[0]) bytes; rows = ne[1]*ne[2]*ne[3]) and fills dst.
// It returns 0, or -1 with a message in err (the write is then abandoned, no file is left).
typedef int (*ss_gguf_rows_fn)(void *user, const char *name, int64_t row0, int64_t nrows,
                               void *dst, char *err, size_t errlen);
void ss_gguf_writer_add_tensor_rows(ss_gguf_writer *w, const char *name, uint32_t type,
                                    uint32_t n_dims, const int64_t *ne, ss_gguf_rows_fn fn, void *user);
// byte size of the file ss_gguf_writer_write would produce (0 if the writer has an error)
uint64_t ss_gguf_writer_file_size(ss_gguf_writer *w);
// Write the whole file atomically (PATH.tmp.PID, fsync, rename); 0 or -1 (+err). Invalid input
// given to the setters above (bad key, duplicate tensor name, size mismatch) is reported here.
// Version 3, alignment 32, tensors in the order added, each padded to the alignment.
int  ss_gguf_writer_write(ss_gguf_writer *w, const char *path, char *err, size_t errlen);

#endif
