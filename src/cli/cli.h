/* Internal declarations of the zoptic command-line program. */
#ifndef ZPT_CLI_H
#define ZPT_CLI_H

/* Exit codes (docs/cli.md). */
enum {
  ZPT_EXIT_OK = 0,         /* success */
  ZPT_EXIT_FAILURE = 1,    /* runtime failure: I/O, numerics, backend */
  ZPT_EXIT_USAGE = 2,      /* bad command line or configuration */
  ZPT_EXIT_DATA = 3,       /* data set missing or malformed */
  ZPT_EXIT_CHECKPOINT = 4, /* checkpoint missing, corrupt, truncated, wrong
                              version or not matching the model */
  ZPT_EXIT_TOOL = 5        /* a required external program is missing */
};

int zpt_cmd_train(int argc, char **argv);
int zpt_cmd_eval(int argc, char **argv);
int zpt_cmd_info(int argc, char **argv);
int zpt_cmd_plot(int argc, char **argv);
int zpt_cmd_config(int argc, char **argv);
int zpt_cmd_config_doc(int argc, char **argv);

/* Prints "zoptic: <what>: <current error message>" on stderr, returns code. */
int zpt_cli_error(int code, const char *what);

#endif
