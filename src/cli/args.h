/* The command-line grammar shared by `zoptic train` and `zoptic eval`. */
#ifndef ZPT_CLI_ARGS_H
#define ZPT_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
  const char *name;   /* "--out" */
  const char **value; /* receives the option's value */
} cli_opt;

/* GNU getopt_long over argv[1..]: --help/-h, repeatable --set KEY=VALUE
 * (or --set=KEY=VALUE), the named options of `opts` (each taking a value:
 * --out DIR or --out=DIR; an unambiguous prefix such as --ou works), and at
 * most one positional argument, anywhere.  A mistyped option gets "did you
 * mean".  Returns -1 to go on, or the exit code to return (*sets_out is
 * then freed); on -1 the caller frees *sets_out. */
int zpt_cli_parse_args(const char *cmd, int argc, char **argv, const cli_opt *opts,
                       size_t n_opts, void (*usage)(FILE *), char ***sets_out,
                       int *n_sets, const char **positional);

#endif
