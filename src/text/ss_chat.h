// ss_chat.h — chat templates: recognise a model's tokenizer.chat_template (Jinja source) as
// one of the known families and render messages + generation prompt byte-exactly as the
// Jinja template would.
#ifndef SS_CHAT_H
#define SS_CHAT_H
#include "ss_common.h"
#include <time.h>

// The families, ss_chat_msg, ss_chat_detect, ss_chat_family_name/_from_name, ss_chat_detect_variant
// and ss_chat_render are public (slotswift.h).

// Details (added by the chat module):
// - Conversations accepted: an optional system message first, then user/assistant alternating,
//   starting with user (ending with either). Anything else -> NULL + err. Where the Jinja template
//   itself raises for a conversation (Gemma 2 / Mistral v1 with a system message) -> NULL + err.
// - The output is exactly what the Jinja template renders (Hugging Face settings: trim_blocks,
//   lstrip_blocks, tools=None), INCLUDING bos_token when the template prints it: a caller that
//   also lets the tokenizer add BOS should drop a leading `bos` from the text first (llama.cpp
//   does the same).
// - If tmpl_src is NULL or is not detected as `family`, the family's reference template is used:
//   chatml = plain ChatML (no default system), llama3 = Llama 3 (bos, content|trim), llama2 =
//   Llama-2-chat, mistral = Mistral Nemo (v3-tekken), gemma = Gemma 3 (system merged into the
//   first user turn), phi3 = Phi-3.5, deepseek-r1 = DeepSeek-R1 distills ("<｜Assistant｜><think>\n").
// - Llama 3.2-style templates call strftime_now("%d %b %Y"): `now` (ss_chat_render_ex) is the
//   local time it sees, NULL = the current time. Llama 3.1/3.3 print their fixed "26 Jul 2024".
char *ss_chat_render_ex(int family, const char *tmpl_src, const ss_chat_msg *msgs, int n_msgs,
                        bool add_gen, const char *bos, const char *eos, const struct tm *now,
                        char *err, size_t errlen);

// canonical form of a Jinja template used for detection (whitespace control applied, tokens
// joined, literals re-quoted, x['k'] -> x.k, 'a'+'b' folded); malloc'ed, NULL if it does not lex
// (or out of memory)
char *ss_chat_canonical(const char *tmpl_src);

#endif
