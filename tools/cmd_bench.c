// cmd_bench.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_bench(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'bench' is not implemented yet\n"); return 1; }
