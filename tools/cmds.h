// cmds.h — the subcommands of the `slotswift` program (one file per command: tools/cmd_NAME.c).
// Each returns the process exit code (0 ok, 1 runtime error, 2 usage error).
#ifndef SS_CMDS_H
#define SS_CMDS_H
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_gen_model(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bon(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_swift_collect(int argc, char **argv);
int cmd_swift_train(int argc, char **argv);
int cmd_swift_combine(int argc, char **argv);
int cmd_serve(int argc, char **argv);
#endif
