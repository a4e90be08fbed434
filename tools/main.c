// main.c — `slotswift COMMAND [flags]`: dispatch to tools/cmd_*.c
#include <stdio.h>
#include <string.h>
#include "cmds.h"
#include "ssmpi.h"

static const struct { const char *name; int (*fn)(int, char **); const char *help; } cmds[] = {
    {"generate",      cmd_generate,      "generate text from a prompt (SLOT flags optional)"},
    {"bon",           cmd_bon,           "best-of-N: sample N answers, pick one (vote/logprob/swift)"},
    {"eval",          cmd_eval,          "evaluate on GSM8K / MATH jsonl"},
    {"swift-collect", cmd_swift_collect, "sample answers and store SWIFT training features"},
    {"swift-train",   cmd_swift_train,   "train a SWIFT reward head"},
    {"swift-combine", cmd_swift_combine, "combine SWIFT rewards with an external score (ranking / scaling)"},
    {"serve",         cmd_serve,         "OpenAI-compatible HTTP server (per-request SLOT, best_of with SWIFT/vote/logprob)"},
    {"tokenize",      cmd_tokenize,      "print the tokens of a text"},
    {"dump",          cmd_dump,          "print tokens, top-k logits, hidden states, greedy continuation as JSON"},
    {"info",          cmd_info,          "describe a GGUF model"},
    {"bench",         cmd_bench,         "measure prompt / generation / batched speed"},
    {"gen-model",     cmd_gen_model,     "write a random-weight GGUF with a real model's shapes"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: slotswift COMMAND [flags]   (slotswift COMMAND --help for its flags)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name)) {
            // eval, swift-collect and swift-train started by mpirun / srun run over the ranks (ssmpi.h)
            bool mpi = ssmpi_wanted(argv[1]);
            if (mpi && ssmpi_begin()) return 1;
            int rc = cmds[i].fn(argc - 1, argv + 1);
            if (mpi) ssmpi_end(rc);
            return rc;
        }
    fprintf(stderr, "slotswift: unknown command '%s' (try slotswift --help)\n", argv[1]);
    return 2;
}
