// text_model.c — the text layer's entry points that start from a file or a model: a tokenizer
// without weights, prompt tokenization as llama.cpp does it, and chat rendering with the model's
// own template and special-token texts.
#include "ss_model.h"
#include "ss_chat.h"
#include <stdlib.h>
#include <string.h>

ss_vocab *ss_vocab_load_file(const char *path, char *err, size_t errlen) {
    ss_gguf *g = NULL;
    ss_vocab *v = NULL;
    if (ss_gguf_open(&g, path, err, errlen)) return NULL;
    if (ss_vocab_load(&v, g, err, errlen)) v = NULL;
    ss_gguf_close(g);
    return v;
}

int ss_tokenize_prompt(const ss_vocab *v, const char *text, ss_token *out, int cap) {
    bool add_bos = ss_vocab_add_bos(v);
    if (add_bos && ss_vocab_bos(v) >= 0) {
        const char *bt = ss_vocab_token_text(v, ss_vocab_bos(v));
        if (bt && *bt && !strncmp(text, bt, strlen(bt))) add_bos = false;   // a template already printed it
    }
    return ss_tokenize(v, text, strlen(text), add_bos, true, out, cap);
}

int ss_model_chat_family(const ss_model *m) { return ss_chat_detect(m->chat_template); }

// text of a special token, "" when the vocab has none
static const char *special_text(const ss_vocab *v, ss_token id) {
    const char *s = id >= 0 ? ss_vocab_token_text(v, id) : NULL;
    return s ? s : "";
}

char *ss_model_chat_render(const ss_model *m, int family, const ss_chat_msg *msgs, int n_msgs,
                           bool add_gen, char *err, size_t errlen) {
    if (family == SS_CHAT_UNKNOWN) {
        family = ss_model_chat_family(m);
        if (family == SS_CHAT_UNKNOWN) {
            ss_err(err, errlen, "%s: %s", m->path, m->chat_template ? "unknown chat template in tokenizer.chat_template"
                                                               : "the model has no tokenizer.chat_template");
            return NULL;
        }
    }
    return ss_chat_render(family, m->chat_template, msgs, n_msgs, add_gen, special_text(m->vocab, ss_vocab_bos(m->vocab)),
                          special_text(m->vocab, ss_vocab_eos(m->vocab)), err, errlen);
}
