// fuzz_featmeta.c — libFuzzer target for the SWIFT feature store's meta.json reader: parse from
// memory; a refused file must leave one line naming it; an accepted one must describe a usable
// layer spec (dim divisible by the layers, ascending layer list) and a settings object.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ss_featstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[SS_ERRLEN];
    ss_featstore_meta m;
    if (ss_featstore_meta_parse(&m, (const char *)data, size, "meta.json", err, sizeof err) != 0) {
        if (strncmp(err, "meta.json: ", 11) || strchr(err, '\n')) abort();
        return 0;
    }
    const ss_swift_spec *s = &m.spec;
    if (s->dim < 1) abort();
    if (s->logits ? s->n_layers != 0 : (s->n_layers < 1 || s->dim % s->n_layers)) abort();
    for (int i = 1; i < s->n_layers; i++) if (s->layer[i] <= s->layer[i - 1]) abort();
    if (m.collect[0]) {
        cJSON *c = cJSON_Parse(m.collect);
        if (!cJSON_IsObject(c)) abort();
        cJSON_Delete(c);
    }
    return 0;
}
