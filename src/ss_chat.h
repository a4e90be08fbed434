// ss_chat.h — chat templates: recognise a model's tokenizer.chat_template (Jinja source) as
// one of the known families and render messages + generation prompt byte-exactly as the
// Jinja template would.
#ifndef SS_CHAT_H
#define SS_CHAT_H
#include "ss_common.h"

enum ss_chat_family {
    SS_CHAT_UNKNOWN = 0,
    SS_CHAT_CHATML,        // <|im_start|>role\n...<|im_end|>\n  (Qwen2/2.5: default system prompt)
    SS_CHAT_LLAMA3,        // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
    SS_CHAT_LLAMA2,        // [INST] <<SYS>> ... [/INST]
    SS_CHAT_MISTRAL,       // [INST] ... [/INST] (v3 / Nemo style)
    SS_CHAT_GEMMA,         // <start_of_turn>user\n...<end_of_turn>\n
    SS_CHAT_PHI3,          // <|user|>\n...<|end|>\n<|assistant|>\n
    SS_CHAT_DEEPSEEK_R1,   // <｜User｜>...<｜Assistant｜>
};

typedef struct { const char *role; const char *content; } ss_chat_msg;

// detect the family from the Jinja source (NULL/empty -> SS_CHAT_UNKNOWN)
int ss_chat_detect(const char *tmpl_src);
const char *ss_chat_family_name(int family);      // "chatml", "llama3", ... / "unknown"
int ss_chat_family_from_name(const char *name);   // inverse; SS_CHAT_UNKNOWN if unknown

// Render msgs (+ the assistant generation prompt when add_gen) as the family's template does.
// bos/eos: the model's BOS/EOS token texts (templates that print bos_token use it).
// Returns a malloc'ed string, or NULL with err set (unknown family, bad role order, ...).
// The Qwen2.5 family inserts its default system message when none is given, as its template does.
char *ss_chat_render(int family, const char *tmpl_src, const ss_chat_msg *msgs, int n_msgs,
                     bool add_gen, const char *bos, const char *eos, char *err, size_t errlen);

#endif
