// cmd_swift_collect.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_swift_collect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'swift_collect' is not implemented yet\n"); return 1; }
