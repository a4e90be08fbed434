// cmd_dump.c — placeholder until the command is written (prints an error, exits 1)
#include <stdio.h>
#include "cmds.h"
int cmd_dump(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "slotswift: 'dump' is not implemented yet\n"); return 1; }
