// cmd_gen_model.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_gen_model(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'gen_model' is not implemented yet\n"); return 1; }
