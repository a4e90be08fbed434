// test_chat.c — chat-template detection and rendering (src/chat.c) against the independent
// reference: Jinja2 itself, run by tests/chat_ref.py (python3-jinja2, the Hugging Face settings).
// Every template file in ../shared/chat-templates, the templates embedded in the GGUF files of
// ../shared (read by chat_ref.py, not by our GGUF reader), and a set of well-known templates
// written below are rendered for several conversations (with/without system, multi-turn, ending
// with an assistant turn, unicode, leading/trailing and unicode whitespace, template-like text,
// <think> blocks, empty contents), with and without the generation prompt, and compared byte for
// byte. Templates we do not support must be reported unknown; a detected template must match
// Jinja exactly, including when mutated (mutation test: detection must never be silently wrong).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include "ss_chat.h"

#define TEMPLATE_DIR "../shared/chat-templates"
#define BOS "<s>"
#define EOS "</s>"
#define FIXED_DATE_ISO "2025-03-07"     // what strftime_now() sees in the reference ...
static const struct tm fixed_now = {.tm_year = 125, .tm_mon = 2, .tm_mday = 7, .tm_hour = 12};  // ... and what we pass

// ---------------------------------------------------------------------------------------------
// the reference: one python process per batch of jobs

static cJSON *ref_run(cJSON *jobs) {
    char path[] = "/tmp/ss_chat_jobs_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *txt = cJSON_PrintUnformatted(jobs);
    size_t n = strlen(txt);
    assert_int_equal(write(fd, txt, n), (ssize_t)n);
    close(fd);
    free(txt);
    const char *py = getenv("SS_PYTHON");
    if (!py) py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s tests/chat_ref.py batch %s", py, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    for (size_t r; (r = fread(out + len, 1, cap - len - 1, p)) > 0;) {
        len += r;
        if (len + 1 >= cap) { cap *= 2; out = realloc(out, cap); }
    }
    out[len] = 0;
    int st = pclose(p);
    unlink(path);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 2) fail_msg("chat_ref.py: python3-jinja2 is missing (apt-get install python3-jinja2); it is the reference for these tests");
    if (code != 0) fail_msg("chat_ref.py failed (exit %d) running '%s'", code, cmd);
    cJSON *res = cJSON_Parse(out);
    free(out);
    if (!res || !cJSON_IsArray(res) || cJSON_GetArraySize(res) != cJSON_GetArraySize(jobs))
        fail_msg("chat_ref.py: bad output");
    return res;
}

// ---------------------------------------------------------------------------------------------
// conversations

typedef struct { const char *name; int n; ss_chat_msg m[6]; } conv;
// (the mutation test uses convs[2], [4], [5] and [7])

static const conv convs[] = {
    {"user", 1, {{"user", "Hello"}}},
    {"system+user", 2, {{"system", "You are a helpful assistant."}, {"user", "What is 2+2?"}}},
    {"multi-turn", 4, {{"system", "You are a helpful assistant"}, {"user", "Hello"}, {"assistant", "Hi there"},
                       {"user", "Who are you"}}},
    {"ends-with-assistant", 4, {{"user", "Hi"}, {"assistant", "Hello! How can I help?"}, {"user", "Count to 3."},
                                {"assistant", "1, 2, 3."}}},
    {"unicode", 4, {{"system", "Tu es un assistant \xF0\x9F\x99\x82 \xE2\x80\x94 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"},
                    {"user", "\xC3\x9Cn\xC3\xAF""c\xC3\xB6""d\xC3\xA9? \xE4\xB8\x96\xE7\x95\x8C"},
                    {"assistant", "r\xC3\xA9ponse \xE2\x80\xA6 \xF0\x9F\x9A\x80"}, {"user", "ok \xE2\x9C\x93"}}},
    {"whitespace", 4, {{"system", "  sys with spaces \n"}, {"user", "\n\t  leading and trailing  \n"},
                       {"assistant", "   I am an assistant   "},
                       // U+3000 ideographic space, U+2003 em space, U+00A0 no-break space, U+0085, U+200B (not space)
                       {"user", "\xE3\x80\x80x\xE2\x80\x83 y\xC2\xA0\xC2\x85\xE2\x80\x8B"}}},
    {"template-like", 2, {{"user", "{{ bos_token }} {% if x %}<|im_start|>[INST] '\"\\n\\ </s> <start_of_turn>"},
                          {"assistant", "<|im_end|>{# c #}\\"}}},
    {"think", 4, {{"system", "Reason first."}, {"user", "2+2?"},
                  {"assistant", "<think>\nfour\n</think>\n\nThe answer is 4.</think>!"}, {"user", "and 3+3?"}}},
    {"empty", 4, {{"system", ""}, {"user", ""}, {"assistant", ""}, {"user", " "}}},
    {"system-only", 1, {{"system", "Only a system prompt."}}},
    {"long-multi", 6, {{"user", "a"}, {"assistant", "b"}, {"user", "c"}, {"assistant", "d"}, {"user", "e"},
                       {"assistant", "f"}}},
};
#define N_CONVS ((int)(sizeof convs / sizeof convs[0]))

static cJSON *conv_json(const conv *c) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < c->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", c->m[i].role);
        cJSON_AddStringToObject(o, "content", c->m[i].content);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *render_job(const char *src, const conv *c, bool gen, const char *date_iso) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "template", src);
    cJSON_AddItemToObject(j, "messages", conv_json(c));
    cJSON_AddBoolToObject(j, "add_generation_prompt", gen);
    cJSON_AddStringToObject(j, "bos_token", BOS);
    cJSON_AddStringToObject(j, "eos_token", EOS);
    if (date_iso) cJSON_AddStringToObject(j, "date", date_iso);
    return j;
}

// ---------------------------------------------------------------------------------------------
// templates: files, GGUF-embedded ones, and well-known ones written here

typedef struct { char *name; char *src; const char *want; } tmpl;   // want: expected variant, "" = unknown, NULL = either
typedef struct { tmpl *v; int n; } tmpls;

static void tmpls_add(tmpls *T, const char *name, const char *src, const char *want) {
    for (int i = 0; i < T->n; i++) if (strcmp(T->v[i].src, src) == 0) return;     // same text seen
    T->v = realloc(T->v, (T->n + 1) * sizeof *T->v);
    T->v[T->n].name = strdup(name);
    T->v[T->n].src = strdup(src);
    T->v[T->n].want = want;
    T->n++;
}

static void tmpls_free(tmpls *T) {
    for (int i = 0; i < T->n; i++) { free(T->v[i].name); free(T->v[i].src); }
    free(T->v);
    T->v = NULL; T->n = 0;
}

// expected detection of the shared files (a file not listed may be either, but never wrong)
static const struct { const char *file, *want; } file_want[] = {
    {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", ""},
    {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", ""},
    {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", ""},
    {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ""},
    {"Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2.5"},
    {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-r1"},
    {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1"},
    {"fireworks-ai-llama-3-firefunction-v2.jinja", ""},
    {"google-gemma-2-2b-it.jinja", "gemma2"},
    {"llama-cpp-deepseek-r1.jinja", "deepseek-r1"},
    {"meetkai-functionary-medium-v3.1.jinja", ""},
    {"meetkai-functionary-medium-v3.2.jinja", ""},
    {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3.1"},
    {"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3.1"},
    {"meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3.1"},
    {"microsoft-Phi-3.5-mini-instruct.jinja", "phi3.5"},
    {"mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral-nemo"},
};

static const struct { const char *path, *want; } gguf_want[] = {
    {"../shared/models/qwen2-synth-tiny-q4_k_m.gguf", "chatml"},      // Qwen2 ChatML, default system
    {"../shared/testbed/tinymath-f32.gguf", "chatml"},
    {"../shared/tokenizers/ggml-vocab-qwen2.gguf", "qwen2.5"},
    {"../shared/tokenizers/ggml-vocab-phi-3.gguf", "phi3-mini"},
};

// well-known templates (Hugging Face tokenizer_config.json chat_template values)
static const struct { const char *name, *want, *src; } known[] = {
    {"openhermes-2.5 chatml", "chatml",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"hermes-2-pro chatml (bos)", "chatml",
     "{{bos_token}}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"smollm2 chatml (default system)", "chatml",
     "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}"
     "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"chatml, other spelling", "chatml",     // same template: double quotes, attribute access, blocks on lines
     "{%- for message in messages %}\n"
     "    {%- if loop.first and messages[0].role != \"system\" %}\n"
     "        {{- \"<|im_start|>system\\nYou're \\\"helpful\\\" \\\\ <ok>\" + '<|im_end|>\\n' }}\n"
     "    {%- endif %}\n"
     "    {{- \"<|im_start|>\" + message.role + \"\\n\" + message.content + \"<|im_end|>\\n\" }}\n"
     "{%- endfor %}\n"
     "{%- if add_generation_prompt %}\n"
     "    {{- \"<|im_start|>assistant\\n\" }}\n"
     "{%- endif %}\n"},
    {"meta-llama-3-8b-instruct", "llama3",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
     "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"},
    {"llama-3 (unconditional generation prompt)", "llama3",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
     "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"},
    {"llama-2-chat", "llama2",
     "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
     "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
     "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
     "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
     "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
     "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"},
    {"mistral-7b-instruct v0.1/v0.2 (no system)", "mistral-v1",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
     "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
     "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"},
    {"mistral v1 with system", "mistral-v1-system",
     "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n"
     "    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n"
     "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
     "        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n"
     "    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n"
     "            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else %}\n"
     "            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n"
     "        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n"
     "        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n"
     "    {%- endif %}\n{%- endfor %}\n"},
    {"gemma-7b-it (no bos)", "gemma2",
     "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}"
     "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
     "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
     "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"},
    {"gemma-3", "gemma3",
     "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n"
     "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n    {%- else -%}\n"
     "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n    {%- endif -%}\n"
     "    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n"
     "{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
     "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n"
     "    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n"
     "    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
     "    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n"
     "        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n"
     "            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n"
     "    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\\n' }}\n{%- endfor -%}\n"
     "{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\\n'}}\n{%- endif -%}\n"},
    {"phi-3-medium", "phi3-mini",
     "{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}"
     "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}"},
    {"phi-3-small", "phi3-small",
     "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"},
    // not supported: must be reported unknown
    {"phi-4", "",
     "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}"
     "{% elif (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|><|im_start|>assistant<|im_sep|>'}}"
     "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}"},
    {"mistral-large-2411 (v7)", "",
     "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}"
     "{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}"
     "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}"},
    {"vicuna", "",
     "{%- for message in messages %}{%- if message['role'] == 'system' -%}{{- '' + message['content'] + '\n\n' -}}{%- else -%}{%- if message['role'] == 'user' -%}"
     "{{-'USER: ' + message['content'] + '\n'-}}{%- else -%}{{-'ASSISTANT: ' + message['content'] + '</s>\n' -}}{%- endif -%}{%- endif -%}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{-'ASSISTANT:'-}}{%- endif -%}"},
    {"command-r-plus (plain)", "",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
     "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% if system_message != false %}"
     "{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + system_message + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% for message in loop_messages %}"
     "{% set content = message['content'] %}{% if message['role'] == 'user' %}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}"
     "{% elif message['role'] == 'assistant' %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}"},
    {"chatml with <think> (qwen3-like)", "",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"},
    {"chatml, extra output", "",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}{{ eos_token }}"},
    {"chatml, trimmed content", "",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>' + '\\n'}}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"empty", "", ""},
    {"not jinja", "", "hello {{ unterminated"},
};

// replace the first occurrence of `a` by `b` in s (malloc'ed result; NULL if `a` does not occur)
static char *replace1(const char *s, const char *a, const char *b) {
    const char *p = strstr(s, a);
    if (!p) return NULL;
    size_t n = strlen(s), na = strlen(a), nb = strlen(b);
    char *r = malloc(n - na + nb + 1);
    memcpy(r, s, p - s);
    memcpy(r + (p - s), b, nb);
    strcpy(r + (p - s) + nb, p + na);
    return r;
}
static char *replace_all(const char *s, const char *a, const char *b) {
    char *cur = strdup(s), *nx;
    size_t off = 0;
    for (;;) {
        const char *p = strstr(cur + off, a);
        if (!p) break;
        size_t at = p - cur;
        nx = malloc(strlen(cur) - strlen(a) + strlen(b) + 1);
        memcpy(nx, cur, at); strcpy(nx + at, b); strcat(nx, cur + at + strlen(a));
        free(cur); cur = nx; off = at + strlen(b);
    }
    return cur;
}

static char *read_text(const char *path) {
    char err[256];
    char *s = ss_read_file(path, NULL, err, sizeof err);
    if (!s) fail_msg("%s", err);
    return s;
}

static void collect_templates(tmpls *T) {
    // files
    DIR *d = opendir(TEMPLATE_DIR);
    if (!d) fail_msg("cannot open %s", TEMPLATE_DIR);
    char *names[256]; int nn = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".jinja") && nn < 256) names[nn++] = strdup(e->d_name);
    closedir(d);
    for (int i = 0; i < nn; i++)                 // sorted, for a stable report
        for (int j = i + 1; j < nn; j++) if (strcmp(names[j], names[i]) < 0) { char *t = names[i]; names[i] = names[j]; names[j] = t; }
    assert_true(nn >= 17);
    for (int i = 0; i < nn; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", TEMPLATE_DIR, names[i]);
        char *s = read_text(path);
        const char *want = NULL;
        for (size_t k = 0; k < sizeof file_want / sizeof file_want[0]; k++) if (strcmp(file_want[k].file, names[i]) == 0) want = file_want[k].want;
        tmpls_add(T, names[i], s, want);
        // derived templates
        if (strcmp(names[i], "Qwen-Qwen2.5-7B-Instruct.jinja") == 0) {
            // Qwen2.5-Math: another default system prompt (with a backslash that Jinja unescapes)
            char *m = replace_all(s, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                                  "Please reason step by step, and put your final answer within \\\\boxed{}.");
            tmpls_add(T, "derived: qwen2.5-math", m, "qwen2.5");
            free(m);
        }
        if (strcmp(names[i], "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja") == 0) {
            // the first release of the distills: the generation prompt without "<think>\n"
            char *m = replace1(s, "{{'<｜Assistant｜><think>\\n'}}", "{{'<｜Assistant｜>'}}");
            assert_non_null(m);
            tmpls_add(T, "derived: deepseek-r1 (first release)", m, "deepseek-r1");
            // DeepSeek-V3 style: no </think> split
            char *v = replace1(m, "{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}",
                               "{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}");
            assert_non_null(v);
            tmpls_add(T, "derived: deepseek-v3 style", v, "deepseek-r1");
            free(v); free(m);
        }
        if (strcmp(names[i], "mistralai-Mistral-Nemo-Instruct-2407.jinja") == 0) {
            // Mistral v3 (7B-Instruct-v0.3, Large-2407): "[INST] " and " " + content|trim
            char *a = replace1(s, "\"[INST]\" + system_message", "\"[INST] \" + system_message");
            char *b = a ? replace1(a, "\"[INST]\" + message[\"content\"]", "\"[INST] \" + message[\"content\"]") : NULL;
            char *c = b ? replace1(b, "{{- message[\"content\"] + eos_token}}", "{{- \" \" + message[\"content\"]|trim + eos_token}}") : NULL;
            assert_non_null(c);
            tmpls_add(T, "derived: mistral-v3", c, "mistral-v3");
            free(a); free(b); free(c);
        }
        free(s);
        free(names[i]);
    }
    // embedded in the GGUF files (read by chat_ref.py)
    cJSON *jobs = cJSON_CreateArray();
    const int ng = (int)(sizeof gguf_want / sizeof gguf_want[0]);
    for (int i = 0; i < ng; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "gguf", gguf_want[i].path);
        cJSON_AddItemToArray(jobs, j);
    }
    cJSON *res = ref_run(jobs);
    for (int i = 0; i < ng; i++) {
        cJSON *r = cJSON_GetArrayItem(res, i);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"))) fail_msg("%s", cJSON_GetObjectItem(r, "error")->valuestring);
        char name[256];
        snprintf(name, sizeof name, "gguf: %s", strrchr(gguf_want[i].path, '/') + 1);
        const char *src = cJSON_GetObjectItem(r, "text")->valuestring;
        // a template already seen (same text) keeps its first name but must have the same expectation
        tmpls_add(T, name, src, gguf_want[i].want);
    }
    cJSON_Delete(jobs); cJSON_Delete(res);
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) tmpls_add(T, known[k].name, known[k].src, known[k].want);
}

// ---------------------------------------------------------------------------------------------
// compare our rendering of (template, conversation, gen) with the reference result r

static int n_compared, n_both_raise;

static void check_one(const char *tname, const char *src, int family, const conv *c, bool gen, cJSON *r, int *fails) {
    char err[SS_ERRLEN] = "";
    char *ours = ss_chat_render_ex(family, src, c->m, c->n, gen, BOS, EOS, &fixed_now, err, sizeof err);
    bool ref_ok = cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    if (!ref_ok) {
        cJSON *e = cJSON_GetObjectItem(r, "error");
        if (ours) {
            printf("MISMATCH %s / %s / gen=%d: Jinja raised (%s) but we rendered:\n%s\n", tname, c->name, gen, e->valuestring, ours);
            (*fails)++;
        } else {
            assert_true(err[0] != 0);
            n_both_raise++;
        }
        free(ours);
        return;
    }
    const char *want = cJSON_GetObjectItem(r, "text")->valuestring;
    if (!ours) {
        printf("MISMATCH %s / %s / gen=%d: we failed (%s), Jinja rendered:\n%s\n", tname, c->name, gen, err, want);
        (*fails)++;
        return;
    }
    if (strcmp(ours, want) != 0) {
        size_t k = 0;
        while (ours[k] && ours[k] == want[k]) k++;
        printf("MISMATCH %s / %s / gen=%d at byte %zu\n--- jinja:\n%s\n--- ours:\n%s\n---\n", tname, c->name, gen, k, want, ours);
        (*fails)++;
    }
    n_compared++;
    free(ours);
}

static void test_templates_vs_jinja(void **st) {
    (void)st;
    tmpls T = {0};
    collect_templates(&T);
    cJSON *jobs = cJSON_CreateArray();
    int *fam = calloc(T.n, sizeof *fam);
    int fails = 0, n_known = 0, n_unknown = 0;
    for (int t = 0; t < T.n; t++) {
        fam[t] = ss_chat_detect(T.v[t].src);
        const char *var = ss_chat_detect_variant(T.v[t].src);
        printf("  %-58s -> %-12s %s\n", T.v[t].name, ss_chat_family_name(fam[t]), var ? var : "");
        assert_int_equal(fam[t] == SS_CHAT_UNKNOWN, var == NULL);
        if (T.v[t].want && strcmp(T.v[t].want, var ? var : "") != 0) {
            printf("DETECTION %s: got '%s', want '%s'\n", T.v[t].name, var ? var : "", T.v[t].want);
            fails++;
        }
        if (fam[t] == SS_CHAT_UNKNOWN) {
            // unknown: rendering with it is a clear error, never a guess
            char err[SS_ERRLEN] = "";
            assert_null(ss_chat_render(SS_CHAT_UNKNOWN, T.v[t].src, convs[1].m, convs[1].n, true, BOS, EOS, err, sizeof err));
            assert_true(strlen(err) > 10);
            n_unknown++;
            continue;
        }
        n_known++;
        for (int c = 0; c < N_CONVS; c++)
            for (int g = 0; g < 2; g++) cJSON_AddItemToArray(jobs, render_job(T.v[t].src, &convs[c], g == 0, FIXED_DATE_ISO));
    }
    cJSON *res = ref_run(jobs);
    int k = 0;
    n_compared = n_both_raise = 0;
    for (int t = 0; t < T.n; t++) {
        if (fam[t] == SS_CHAT_UNKNOWN) continue;
        for (int c = 0; c < N_CONVS; c++)
            for (int g = 0; g < 2; g++) check_one(T.v[t].name, T.v[t].src, fam[t], &convs[c], g == 0, cJSON_GetArrayItem(res, k++), &fails);
    }
    printf("%d templates (%d detected, %d unknown): %d renderings identical to Jinja, %d raise in both\n",
           T.n, n_known, n_unknown, n_compared, n_both_raise);
    assert_int_equal(fails, 0);
    assert_true(n_known >= 25);
    assert_true(n_compared >= 25 * N_CONVS * 2 - 40);
    cJSON_Delete(jobs); cJSON_Delete(res);
    free(fam);
    tmpls_free(&T);
}

// The canonical form is itself a Jinja template: Jinja must render it exactly as the original
// (this checks whitespace control, literal escapes, folding and x['k'] -> x.k on every template,
// supported or not).
static void test_canonical_renders_same(void **st) {
    (void)st;
    tmpls T = {0};
    collect_templates(&T);
    cJSON *jobs = cJSON_CreateArray();
    int n_t = 0;
    for (int t = 0; t < T.n; t++) {
        char *c = ss_chat_canonical(T.v[t].src);
        if (!c) continue;
        for (int k = 0; k < N_CONVS; k++)
            for (int g = 0; g < 2; g++) {
                cJSON_AddItemToArray(jobs, render_job(T.v[t].src, &convs[k], g == 0, FIXED_DATE_ISO));
                cJSON_AddItemToArray(jobs, render_job(c, &convs[k], g == 0, FIXED_DATE_ISO));
            }
        free(c);
        n_t++;
    }
    cJSON *res = ref_run(jobs);
    int fails = 0, n_same = 0, n_raise = 0;
    for (int i = 0; i + 1 < cJSON_GetArraySize(res); i += 2) {
        cJSON *a = cJSON_GetArrayItem(res, i), *b = cJSON_GetArrayItem(res, i + 1);
        bool oka = cJSON_IsTrue(cJSON_GetObjectItem(a, "ok")), okb = cJSON_IsTrue(cJSON_GetObjectItem(b, "ok"));
        if (!oka && !okb) { n_raise++; continue; }
        const char *ta = oka ? cJSON_GetObjectItem(a, "text")->valuestring : cJSON_GetObjectItem(a, "error")->valuestring;
        const char *tb = okb ? cJSON_GetObjectItem(b, "text")->valuestring : cJSON_GetObjectItem(b, "error")->valuestring;
        if (oka != okb || strcmp(ta, tb) != 0) {
            const char *tpl = cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, i + 1), "template")->valuestring;
            printf("CANONICAL DIFFERS (job %d):\n--- original:\n%s\n--- canonical:\n%s\n--- canonical template:\n%.400s\n", i, ta, tb, tpl);
            fails++;
        } else n_same++;
    }
    printf("%d templates: canonical form renders identically in %d cases (%d raise in both)\n", n_t, n_same, n_raise);
    assert_int_equal(fails, 0);
    assert_true(n_same >= 35 * N_CONVS);
    cJSON_Delete(jobs); cJSON_Delete(res);
    tmpls_free(&T);
}

// Mutation test: small edits of every supported template (a literal changed, an output statement
// added, a filter changed, bos/eos swapped, a condition flipped). A mutant is either reported unknown or rendered exactly
// as Jinja renders it; mutants Jinja cannot even parse are skipped.
static void test_mutants(void **st) {
    (void)st;
    tmpls T = {0};
    collect_templates(&T);
    static const char *swaps[][2] = {
        {"|trim", "|lower"}, {"| trim", "| lower"}, {".strip()", ".lower()"}, {"bos_token", "eos_token"},
        {"eos_token", "bos_token"}, {"[/INST]", "[/INST] "}, {"loop.last", "loop.first"}, {"loop.first", "loop.last"},
        {"'system'", "'user'"}, {"\"system\"", "\"user\""}, {"!=", "=="}, {"\\n\\n", "\\n"}, {"add_generation_prompt %", "not add_generation_prompt %"},
        {"<|end|>", "<|end|> "}, {"<|eot_id|>", "<|eom_id|>"}, {"message['content']", "message['role']"},
        {"message.content", "message.role"}, {"'model'", "'assistant'"}, {"split('</think>')[-1]", "split('</think>')[0]"},
        {"Today Date: ", "Date: "}, {"messages[1:]", "messages[2:]"},
    };
    const int conv_ids[] = {2, 4, 5, 7};
    typedef struct { char *src; int family; char name[96]; } mutant;
    mutant *M = NULL;
    int nm = 0, n_unknown = 0;
    for (int t = 0; t < T.n; t++) {
        if (ss_chat_detect(T.v[t].src) == SS_CHAT_UNKNOWN) continue;
        const char *s = T.v[t].src;
        size_t len = strlen(s);
        // (a) a 'Z' inserted at the start of each of the first 24 quoted literals inside tags
        int nq = 0;
        bool in_tag = false;
        char q = 0;
        for (size_t i = 0; i + 1 < len && nq < 24; i++) {
            if (!in_tag) { if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%')) in_tag = true; continue; }
            if (q) { if (s[i] == '\\') i++; else if (s[i] == q) q = 0; continue; }
            if ((s[i] == '}' || s[i] == '%') && s[i + 1] == '}') { in_tag = false; continue; }
            if (s[i] == '\'' || s[i] == '"') {
                q = s[i];
                char *m = malloc(len + 2);
                memcpy(m, s, i + 1); m[i + 1] = 'Z'; strcpy(m + i + 2, s + i + 1);
                M = realloc(M, (nm + 1) * sizeof *M);
                M[nm].src = m;
                snprintf(M[nm].name, sizeof M[nm].name, "%.50s +Z@%zu", T.v[t].name, i);
                nm++; nq++;
            }
        }
        // (b) an output statement {{ 'Q' }} inserted after each of the first 40 tags
        int nt = 0;
        for (size_t i = 0; i + 1 < len && nt < 40; i++) {
            if (!((s[i] == '%' || s[i] == '}') && s[i + 1] == '}')) continue;
            if (s[i] == '}' && i > 0 && s[i - 1] == '}') continue;
            char *m = malloc(len + 16);
            memcpy(m, s, i + 2); strcpy(m + i + 2, "{{ 'Q' }}"); strcat(m, s + i + 2);
            M = realloc(M, (nm + 1) * sizeof *M);
            M[nm].src = m;
            snprintf(M[nm].name, sizeof M[nm].name, "%.50s +Q@%zu", T.v[t].name, i + 2);
            nm++; nt++;
        }
        // (c) token swaps
        for (size_t w = 0; w < sizeof swaps / sizeof swaps[0]; w++) {
            char *m = replace1(s, swaps[w][0], swaps[w][1]);
            if (!m) continue;
            M = realloc(M, (nm + 1) * sizeof *M);
            M[nm].src = m;
            snprintf(M[nm].name, sizeof M[nm].name, "%.50s %s->%s", T.v[t].name, swaps[w][0], swaps[w][1]);
            nm++;
        }
    }
    cJSON *jobs = cJSON_CreateArray();
    for (int i = 0; i < nm; i++) {
        M[i].family = ss_chat_detect(M[i].src);
        if (M[i].family == SS_CHAT_UNKNOWN) { n_unknown++; continue; }
        for (size_t c = 0; c < sizeof conv_ids / sizeof conv_ids[0]; c++)
            for (int g = 0; g < 2; g++) cJSON_AddItemToArray(jobs, render_job(M[i].src, &convs[conv_ids[c]], g == 0, FIXED_DATE_ISO));
    }
    cJSON *res = ref_run(jobs);
    int k = 0, fails = 0, n_checked = 0, n_syntax = 0;
    n_compared = n_both_raise = 0;
    for (int i = 0; i < nm; i++) {
        if (M[i].family == SS_CHAT_UNKNOWN) continue;
        for (size_t c = 0; c < sizeof conv_ids / sizeof conv_ids[0]; c++)
            for (int g = 0; g < 2; g++) {
                cJSON *r = cJSON_GetArrayItem(res, k++);
                if (cJSON_IsTrue(cJSON_GetObjectItem(r, "syntax"))) { n_syntax++; continue; }
                check_one(M[i].name, M[i].src, M[i].family, &convs[conv_ids[c]], g == 0, r, &fails);
                n_checked++;
            }
    }
    printf("%d mutants: %d unknown, %d detected (%d renderings compared, %d identical, %d raise in both, %d Jinja syntax errors skipped)\n",
           nm, n_unknown, nm - n_unknown, n_checked, n_compared, n_both_raise, n_syntax);
    assert_int_equal(fails, 0);
    assert_true(nm >= 300);
    assert_true(n_checked >= 500);     // plenty of mutants (in tool branches, ...) stay detected and are checked
    for (int i = 0; i < nm; i++) free(M[i].src);
    free(M);
    cJSON_Delete(jobs); cJSON_Delete(res);
    tmpls_free(&T);
}

// ---------------------------------------------------------------------------------------------
// families by name: the reference template of each family (see ss_chat.h) rendered by Jinja

static void test_family_names(void **st) {
    (void)st;
    static const char *names[] = {"chatml", "llama3", "llama2", "mistral", "gemma", "phi3", "deepseek-r1"};
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++) {
        assert_string_equal(ss_chat_family_name(f), names[f - 1]);
        assert_int_equal(ss_chat_family_from_name(names[f - 1]), f);
    }
    assert_int_equal(ss_chat_family_from_name("nope"), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_family_from_name(""), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_family_from_name(NULL), SS_CHAT_UNKNOWN);
    assert_string_equal(ss_chat_family_name(SS_CHAT_UNKNOWN), "unknown");
    assert_string_equal(ss_chat_family_name(99), "unknown");
    assert_string_equal(ss_chat_family_name(-1), "unknown");
    assert_int_equal(ss_chat_detect(NULL), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_detect(""), SS_CHAT_UNKNOWN);

    // reference template per family: by known-template name or shared file
    static const char *ref[] = {NULL, "openhermes-2.5 chatml", "meta-llama-3-8b-instruct", "llama-2-chat",
                                "mistralai-Mistral-Nemo-Instruct-2407.jinja", "gemma-3", "microsoft-Phi-3.5-mini-instruct.jinja",
                                "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"};
    char *src[8] = {0};
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++) {
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) if (strcmp(known[k].name, ref[f]) == 0) src[f] = strdup(known[k].src);
        if (!src[f]) { char p[512]; snprintf(p, sizeof p, "%s/%s", TEMPLATE_DIR, ref[f]); src[f] = read_text(p); }
        assert_int_equal(ss_chat_detect(src[f]), f);
    }
    cJSON *jobs = cJSON_CreateArray();
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++)
        for (int c = 0; c < N_CONVS; c++)
            for (int g = 0; g < 2; g++) cJSON_AddItemToArray(jobs, render_job(src[f], &convs[c], g == 0, NULL));
    cJSON *res = ref_run(jobs);
    int k = 0, fails = 0;
    n_compared = n_both_raise = 0;
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++)
        for (int c = 0; c < N_CONVS; c++)
            for (int g = 0; g < 2; g++) check_one(names[f - 1], NULL, f, &convs[c], g == 0, cJSON_GetArrayItem(res, k++), &fails);
    // a template of another family is ignored when a family is named explicitly
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++) {
        char err[SS_ERRLEN];
        int other = f == SS_CHAT_CHATML ? SS_CHAT_LLAMA2 : SS_CHAT_CHATML;
        char *a = ss_chat_render(f, src[other], convs[2].m, convs[2].n, true, BOS, EOS, err, sizeof err);
        char *b = ss_chat_render(f, NULL, convs[2].m, convs[2].n, true, BOS, EOS, err, sizeof err);
        assert_non_null(a); assert_non_null(b);
        assert_string_equal(a, b);
        free(a); free(b);
    }
    printf("families by name: %d renderings identical to Jinja\n", n_compared);
    assert_int_equal(fails, 0);
    assert_int_equal(n_compared, 7 * N_CONVS * 2);
    for (int f = 0; f < 8; f++) free(src[f]);
    cJSON_Delete(jobs); cJSON_Delete(res);
}

// Llama 3.2 calls strftime_now("%d %b %Y"): without a date_string we print today's date, as Jinja does
static void test_today(void **st) {
    (void)st;
    char *s = read_text(TEMPLATE_DIR "/meta-llama-Llama-3.2-3B-Instruct.jinja");
    bool same = false;
    for (int attempt = 0; attempt < 2 && !same; attempt++) {    // a second try if midnight passed in between
        cJSON *jobs = cJSON_CreateArray();
        cJSON_AddItemToArray(jobs, render_job(s, &convs[1], true, NULL));
        cJSON *res = ref_run(jobs);
        char err[SS_ERRLEN];
        char *ours = ss_chat_render(SS_CHAT_LLAMA3, s, convs[1].m, convs[1].n, true, BOS, EOS, err, sizeof err);
        assert_non_null(ours);
        const char *want = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "text")->valuestring;
        same = strcmp(ours, want) == 0;
        if (!same) printf("today: jinja\n%s\nours\n%s\n", want, ours);
        free(ours);
        cJSON_Delete(jobs); cJSON_Delete(res);
    }
    assert_true(same);
    // a given time is used for strftime_now; Llama 3.1's fixed date does not depend on it
    char err[SS_ERRLEN];
    struct tm t = {.tm_year = 130, .tm_mon = 0, .tm_mday = 1};
    char *r = ss_chat_render_ex(SS_CHAT_LLAMA3, s, convs[1].m, convs[1].n, true, "", "", &t, err, sizeof err);
    assert_non_null(r);
    assert_non_null(strstr(r, "Today Date: 01 Jan 2030\n\n"));
    free(r);
    free(s);
    s = read_text(TEMPLATE_DIR "/meta-llama-Llama-3.1-8B-Instruct.jinja");
    r = ss_chat_render_ex(SS_CHAT_LLAMA3, s, convs[1].m, convs[1].n, true, "", "", &t, err, sizeof err);
    assert_non_null(r);
    assert_non_null(strstr(r, "Today Date: 26 Jul 2024\n\n"));
    free(r);
    free(s);
}

// ---------------------------------------------------------------------------------------------
// the prompts of ../shared/golden were made by llama.cpp from these conversations

static void test_golden_prompts(void **st) {
    (void)st;
    char err[SS_ERRLEN];
    // Llama 2 chat; llama.cpp adds BOS itself, so bos_token = ""
    char *want = read_text("../shared/golden/prompts/chat_llama2.txt");
    ss_chat_msg m[] = {{"system", "You are a helpful assistant."}, {"user", "What is 17 times 23? Explain step by step."}};
    char *got = ss_chat_render(SS_CHAT_LLAMA2, NULL, m, 2, true, "", "</s>", err, sizeof err);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got); free(want);
    // Qwen2 ChatML of qwen2-synth-tiny (default system "You are a helpful assistant.")
    cJSON *jobs = cJSON_CreateArray();
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "gguf", "../shared/models/qwen2-synth-tiny-q4_k_m.gguf");
    cJSON_AddItemToArray(jobs, j);
    cJSON *res = ref_run(jobs);
    const char *tsrc = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "text")->valuestring;
    want = read_text("../shared/golden/prompts/chat_gsm.txt");
    ss_chat_msg u[] = {{"user", "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
                                "How many clips did Natalia sell altogether in April and May?"}};
    got = ss_chat_render(ss_chat_detect(tsrc), tsrc, u, 1, true, "<|endoftext|>", "<|im_end|>", err, sizeof err);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got); free(want);
    cJSON_Delete(jobs); cJSON_Delete(res);
}

// ---------------------------------------------------------------------------------------------
// conversations we do not render: clear errors, never a crash

static void test_bad_input(void **st) {
    (void)st;
    char err[SS_ERRLEN];
    const ss_chat_msg u1[] = {{"user", "a"}};
    const ss_chat_msg bad[][3] = {
        {{"assistant", "a"}, {"user", "b"}, {"assistant", "c"}},
        {{"user", "a"}, {"user", "b"}, {"assistant", "c"}},
        {{"system", "a"}, {"system", "b"}, {"user", "c"}},
        {{"user", "a"}, {"system", "b"}, {"assistant", "c"}},
        {{"user", "a"}, {"tool", "b"}, {"user", "c"}},
        {{"user", "a"}, {"assistant", NULL}, {"user", "c"}},
        {{NULL, "a"}, {"assistant", "b"}, {"user", "c"}},
        {{"User", "a"}, {"assistant", "b"}, {"user", "c"}},
    };
    for (int f = SS_CHAT_CHATML; f <= SS_CHAT_DEEPSEEK_R1; f++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            err[0] = 0;
            assert_null(ss_chat_render(f, NULL, bad[i], 3, true, BOS, EOS, err, sizeof err));
            assert_true(strlen(err) > 5);
        }
        err[0] = 0;
        assert_null(ss_chat_render(f, NULL, u1, 0, true, BOS, EOS, err, sizeof err));
        assert_true(strlen(err) > 5);
        assert_null(ss_chat_render(f, NULL, NULL, 1, true, BOS, EOS, err, sizeof err));
        // NULL bos/eos are empty strings; err may be NULL
        char *r = ss_chat_render(f, NULL, u1, 1, true, NULL, NULL, NULL, 0);
        assert_non_null(r);
        free(r);
        assert_null(ss_chat_render(f, NULL, bad[0], 3, true, NULL, NULL, NULL, 0));
    }
    err[0] = 0;
    assert_null(ss_chat_render(SS_CHAT_UNKNOWN, NULL, u1, 1, true, BOS, EOS, err, sizeof err));
    assert_true(strlen(err) > 5);
    assert_null(ss_chat_render(42, NULL, u1, 1, true, BOS, EOS, err, sizeof err));
    assert_null(ss_chat_render(-3, NULL, u1, 1, true, BOS, EOS, err, sizeof err));
    // templates that do not lex, or are truncated anywhere, are unknown (and do not crash)
    char *s = read_text(TEMPLATE_DIR "/meta-llama-Llama-3.1-8B-Instruct.jinja");
    size_t n = strlen(s);
    for (size_t cut = 0; cut < n; cut += 7) {
        if (strspn(s + cut, " \n") == n - cut) break;     // only whitespace cut off: the same template
        char save = s[cut];
        s[cut] = 0;
        int f = ss_chat_detect(s);
        if (f != SS_CHAT_UNKNOWN) fail_msg("truncated template (%zu of %zu bytes) detected as %s", cut, n, ss_chat_family_name(f));
        s[cut] = save;
    }
    free(s);
    assert_int_equal(ss_chat_detect("{{ 'unterminated }}"), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_detect("{% if"), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_detect("{# comment"), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_detect("{{"), SS_CHAT_UNKNOWN);
    assert_int_equal(ss_chat_detect("plain text"), SS_CHAT_UNKNOWN);
}

// the canonical form: equal for spellings Jinja treats alike, different otherwise
static void test_canonical(void **st) {
    (void)st;
    static const char *same[][2] = {
        {"{{ message['content'] }}", "{{message.content}}"},
        {"{{ message[\"content\"] }}", "{{ message . content }}"},
        {"{{ 'a\\n' + \"b\" + 'c' }}", "{{'a\\nbc'}}"},
        {"{%- if x -%}\n   text  \n{%- endif %}", "{%if x%}{{'text'}}{%endif%}"},
        {"{% if x %}\n  hi\n{% endif %}\n", "{%if x%}{{'  hi\\n'}}{%endif%}"},        // trim_blocks + lstrip_blocks
        {"{# comment #}{{ x }}", "{{x}}"},
        {"{{ '\\u00e9\\x41' }}", "{{'\xC3\xA9""A'}}"},
        {"a {{ x }} b", "{{'a '}}{{x}}{{' b'}}"},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char *a = ss_chat_canonical(same[i][0]), *b = ss_chat_canonical(same[i][1]);
        assert_non_null(a); assert_non_null(b);
        if (strcmp(a, b)) fail_msg("canonical(%s) = %s != canonical(%s) = %s", same[i][0], a, same[i][1], b);
        free(a); free(b);
    }
    static const char *differ[][2] = {
        {"{{ 'a' + 'b' | trim }}", "{{ 'ab' | trim }}"},           // the filter binds to 'b' only
        {"{{ x * 'a' + 'b' }}", "{{ x * 'ab' }}"},
        {"{{ ['a'] }}", "{{ .a }}"},
        {"{% if x in ['a'] %}{% endif %}", "{% if x in.a %}{% endif %}"},
        {"{% if x %}\n  hi\n{% endif %}", "{% if x %}  hi{% endif %}"},
    };
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        char *a = ss_chat_canonical(differ[i][0]), *b = ss_chat_canonical(differ[i][1]);
        if (a && b && strcmp(a, b) == 0) fail_msg("canonical(%s) == canonical(%s) = %s", differ[i][0], differ[i][1], a);
        free(a); free(b);
    }
    assert_null(ss_chat_canonical(NULL));
    assert_null(ss_chat_canonical("{{ 'x"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_family_names),
        cmocka_unit_test(test_golden_prompts),
        cmocka_unit_test(test_today),
        cmocka_unit_test(test_canonical_renders_same),
        cmocka_unit_test(test_templates_vs_jinja),
        cmocka_unit_test(test_mutants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
