// cmd_tokenize.c — `slotswift tokenize -m MODEL (-p TEXT | -f FILE) [--ids] [--no-bos] [--no-special]`
// Prints the tokens of a text with the model's tokenizer (only the vocab is read, not the weights).
// Default output as llama-tokenize: one line per token, `ID -> 'piece'`; --ids: a JSON array.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "args.h"
#include "slotswift.h"
#include "ss_common.h"

static void tokenize_usage(FILE *f) {
    fprintf(f,
"usage: slotswift tokenize -m MODEL (-p TEXT | -f FILE) [--ids] [--no-bos] [--no-special]\n"
"  -m, --model FILE   GGUF file (only its tokenizer is read)\n"
"  -p, --prompt TEXT  text to tokenize (verbatim)   -f, --file FILE  text from a file (verbatim)\n"
"  --ids              print a JSON array of token ids, e.g. [1, 15043]\n"
"  --no-bos           do not add BOS even if the model adds one by default\n"
"  --no-special       control-token texts (e.g. <|im_start|>) are plain text\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool ids = false, no_bos = false, no_special = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { tokenize_usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model"))  { if (args_need(argc, argv, &i, &model)) return 2; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { if (args_need(argc, argv, &i, &prompt)) return 2; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file"))   { if (args_need(argc, argv, &i, &file)) return 2; }
        else if (!strcmp(a, "--ids")) ids = true;
        else if (!strcmp(a, "--no-bos")) no_bos = true;
        else if (!strcmp(a, "--no-special")) no_special = true;
        else { fprintf(stderr, "slotswift: tokenize: unknown flag '%s' (try slotswift tokenize --help)\n", a); return 2; }
    }
    if (!model) { fprintf(stderr, "slotswift: tokenize: no model: give -m FILE\n"); return 2; }
    if (!prompt == !file) { fprintf(stderr, "slotswift: tokenize: give exactly one of -p TEXT or -f FILE\n"); return 2; }

    char err[SS_ERRLEN];
    char *text;
    size_t len;
    if (file) {
        text = ss_read_text(file, SS_PROMPT_MAX_BYTES, &len, err, sizeof err);
        if (!text) { fprintf(stderr, "slotswift: %s\n", err); return 1; }
    } else {
        text = tool_strdup(prompt);
        len = strlen(text);
    }

    ss_vocab *v = NULL;
    int rc = 1;
    if (!(v = ss_vocab_load_file(model, err, sizeof err))) { fprintf(stderr, "slotswift: %s\n", err); goto done; }

    bool add_bos = ss_vocab_add_bos(v) && !no_bos;
    int n = ss_tokenize(v, text, len, add_bos, !no_special, NULL, 0);
    if (n < 0) { fprintf(stderr, "slotswift: tokenize: out of memory\n"); goto done; }
    int32_t *toks = tool_malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    ss_tokenize(v, text, len, add_bos, !no_special, toks, n);
    if (ids) {
        printf("[");
        for (int i = 0; i < n; i++) printf(i ? ", %d" : "%d", toks[i]);
        printf("]\n");
    } else {
        char small[256];
        for (int i = 0; i < n; i++) {
            int pl = ss_token_to_piece(v, toks[i], small, sizeof small, true);
            char *p = small;
            if (pl > (int)sizeof small) { p = tool_malloc(pl); ss_token_to_piece(v, toks[i], p, pl, true); }
            printf("%6d -> '", toks[i]);
            fwrite(p, 1, pl, stdout);
            printf("'\n");
            if (p != small) free(p);
        }
    }
    free(toks);
    rc = 0;   // a write error on stdout: main's check (exit 1 with the errno text)
done:
    ss_vocab_free(v);
    free(text);
    return rc;
}
