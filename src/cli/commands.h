/*
 * commands: the weft subcommands. main.c parses the command word and hands
 * argc/argv (argv[0] = the command word) to one of these; each returns the
 * process exit status (0 ok, 1 document error, 2 usage or setup error).
 */
#ifndef WEFT_COMMANDS_H
#define WEFT_COMMANDS_H

int cmd_weave(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_tangle(int argc, char **argv);
int cmd_formats(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_publish(int argc, char **argv);
/* weft kernels: list the installed Jupyter kernels and their languages. */
int cmd_kernels(int argc, char **argv);

#endif
