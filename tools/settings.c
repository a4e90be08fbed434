// settings.c — the results-changing settings of a run, and their comparison (see settings.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "settings.h"
#include "ss_common.h"

char *settings_file_id(const char *path, char *err, size_t errlen) {
    size_t len;
    char *buf = ss_read_file(path, &len, err, errlen);
    if (!buf) return NULL;
    uint64_t h = 0xcbf29ce484222325ULL;   // FNV-1a 64 over the bytes
    for (size_t i = 0; i < len; i++) { h ^= (uint8_t)buf[i]; h *= 0x100000001b3ULL; }
    free(buf);
    char *s = ss_malloc(64);
    snprintf(s, 64, "%zu bytes, fnv1a64 %016llx", len, (unsigned long long)h);
    return s;
}

// a float as the shortest decimal that reads back as the same float (0.8f -> 0.8)
static cJSON *settings_float(float x) {
    char b[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(b, sizeof b, "%.*g", p, x);
        if ((float)strtod(b, NULL) == x) break;
    }
    return cJSON_CreateNumber(strtod(b, NULL));
}

cJSON *settings_build(const ss_args *a, const ss_model *m, const char *data, int n_cand, int n_ctx_flag,
                      char *err, size_t errlen) {
    char *id = settings_file_id(data, err, errlen);
    if (!id) return NULL;
    cJSON *o = cJSON_CreateObject();
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)ss_model_fingerprint(m));
    cJSON_AddStringToObject(o, "model", fp);
    cJSON_AddStringToObject(o, "data", id);
    free(id);
    cJSON_AddBoolToObject(o, "--chat", a->chat);
    cJSON_AddItemToObject(o, "--system", a->system ? cJSON_CreateString(a->system) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "-N", n_cand);
    cJSON_AddNumberToObject(o, "-n", a->n_predict);
    const ss_sampling_params *s = &a->samp;
    cJSON_AddItemToObject(o, "--temp", settings_float(s->temp));
    cJSON_AddNumberToObject(o, "--top-k", s->top_k);
    cJSON_AddItemToObject(o, "--top-p", settings_float(s->top_p));
    cJSON_AddItemToObject(o, "--min-p", settings_float(s->min_p));
    cJSON_AddItemToObject(o, "--repeat-penalty", settings_float(s->repeat_penalty));
    cJSON_AddNumberToObject(o, "--repeat-last-n", s->repeat_last_n);
    cJSON_AddItemToObject(o, "--presence-penalty", settings_float(s->presence_penalty));
    cJSON_AddItemToObject(o, "--frequency-penalty", settings_float(s->frequency_penalty));
    char seed[32];   // a string: 64-bit seeds do not fit a JSON number exactly
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(o, "--seed", seed);
    cJSON *st = cJSON_AddArrayToObject(o, "--stop");
    for (int i = 0; i < a->n_stops; i++) cJSON_AddItemToArray(st, cJSON_CreateString(a->stops[i]));
    cJSON_AddBoolToObject(o, "--ignore-eos", a->ignore_eos);
    cJSON_AddNumberToObject(o, "--slot-steps", a->slot.steps);
    cJSON_AddItemToObject(o, "--slot-lr", settings_float(a->slot.lr));
    cJSON_AddItemToObject(o, "--slot-beta1", settings_float(a->slot.beta1));
    cJSON_AddItemToObject(o, "--slot-beta2", settings_float(a->slot.beta2));
    cJSON_AddItemToObject(o, "--slot-eps", settings_float(a->slot.eps));
    cJSON_AddItemToObject(o, "--slot-wd", settings_float(a->slot.wd));
    cJSON_AddItemToObject(o, "--slot-span", a->slot_span ? cJSON_CreateString(a->slot_span) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "-c", n_ctx_flag);
    cJSON_AddBoolToObject(o, "--kv-f32", a->kv_f32);
    static const char *const kv_names[] = { "default", "f32", "f16", "q8_0" };
    cJSON_AddStringToObject(o, "-ctk", kv_names[a->kv_type_k]);
    cJSON_AddStringToObject(o, "-ctv", kv_names[a->kv_type_v]);
    return o;
}

// v as short JSON text (truncated with "..." when long)
static void settings_text(const cJSON *v, char *buf, size_t n) {
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, n, "%s", s ? s : "(not recorded)");
    if (s && strlen(s) >= n && n > 4) strcpy(buf + n - 4, "...");
    free(s);
}

int settings_diff(const cJSON *was, const cJSON *now, char *msg, size_t msglen) {
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *a = pass ? was : now, *b = pass ? now : was, *it;
        cJSON_ArrayForEach(it, a) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(b, it->string);
            if (other && cJSON_Compare(it, other, true)) continue;
            char x[96], y[96];
            settings_text(pass ? it : other, x, sizeof x);
            settings_text(pass ? other : it, y, sizeof y);
            return ss_err(msg, msglen, "%s was %s, now %s", it->string, x, y);
        }
    }
    return 0;
}
