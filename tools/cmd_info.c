// cmd_info.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_info(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'info' is not implemented yet\n"); return 1; }
