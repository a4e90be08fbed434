// cmd_generate.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_generate(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'generate' is not implemented yet\n"); return 1; }
