// cmd_bon.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_bon(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'bon' is not implemented yet\n"); return 1; }
