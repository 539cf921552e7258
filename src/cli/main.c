/* zoptic command-line program: dispatch to the commands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/nearest.h"
#include "io/config.h"
#include "zoptic.h"

/* LeakSanitizer (make asan): HDF5 1.10 leaks some of its own metadata-cache
 * allocations when an open or read of a DAMAGED file fails half-way (seen
 * with the randomly corrupted checkpoints of test_ckpt_corrupt_truncated;
 * the stack ends inside libhdf5_serial.so, which has no frame pointers).
 * Suppress leaks whose allocation happens inside HDF5 only; zoptic's own
 * allocations are still checked.  Unused outside sanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return "leak:libhdf5_serial.so\n";
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: zoptic COMMAND [ARGS]   ('zoptic COMMAND --help' for details)\n"
          "\n"
          "commands:\n"
          "  train CONFIG [--set section.key=value ...] [--out=RUN_DIR]\n"
          "  train --resume RUN_DIR       continue an interrupted run\n"
          "  eval CHECKPOINT [--data PATH] [--set ...] [--outputs FILE.csv]\n"
          "  info CHECKPOINT [--values]   what a checkpoint holds\n"
          "  plot RUN_DIR... [-o FILE.png]\n"
          "  config CONFIG [--set ...]    print the resolved configuration\n"
          "  config-doc                   print the configuration reference (Markdown)\n"
          "  version, -V, --version       print the version\n"
          "  help                         this text\n"
          "\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,\n"
          "3 data error, 4 checkpoint error, 5 external program missing (docs/cli.md)\n");
}

int zpt_cmd_config_doc(int argc, char **argv) {
  if (argc > 1) {
    if (!strcmp(argv[1], "--help")) {
      printf("usage: zoptic config-doc\n\nPrints docs/config.md, generated from "
             "the configuration schema.\n");
      return ZPT_EXIT_OK;
    }
    fprintf(stderr, "zoptic: config-doc: takes no arguments\n");
    return ZPT_EXIT_USAGE;
  }
  if (zpt_config_write_doc(stdout) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "config-doc");
  return ZPT_EXIT_OK;
}

int zpt_cmd_config(int argc, char **argv) {
  const char *path = NULL;
  zpt_config *c = zpt_config_alloc();
  if (!c)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "config");
  int code = ZPT_EXIT_OK;
  for (int i = 1; i < argc && code == ZPT_EXIT_OK; i++) {
    if (!strcmp(argv[i], "--help")) {
      printf("usage: zoptic config CONFIG [--set section.key=value ...]\n\n"
             "Checks CONFIG and prints the resolved configuration (every key,\n"
             "defaults filled in).  exit codes: 0 ok, 2 configuration error\n");
      zpt_config_free(c);
      return ZPT_EXIT_OK;
    } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
      if (!path) {
        fprintf(stderr, "zoptic: config: CONFIG must come before --set\n");
        code = ZPT_EXIT_USAGE;
      } else if (zpt_config_set(c, argv[++i]) != ZPT_OK) {
        code = zpt_cli_error(ZPT_EXIT_USAGE, "config");
      }
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "zoptic: config: unknown option '%s'\n", argv[i]);
      code = ZPT_EXIT_USAGE;
    } else if (!path) {
      path = argv[i];
      if (zpt_config_parse_file(c, path) != ZPT_OK)
        code = zpt_cli_error(ZPT_EXIT_USAGE, "config");
    } else {
      fprintf(stderr, "zoptic: config: unexpected argument '%s'\n", argv[i]);
      code = ZPT_EXIT_USAGE;
    }
  }
  if (code == ZPT_EXIT_OK && !path) {
    fprintf(stderr, "usage: zoptic config CONFIG [--set section.key=value ...]\n");
    code = ZPT_EXIT_USAGE;
  }
  if (code == ZPT_EXIT_OK && zpt_config_check_required(c, path) != ZPT_OK)
    code = zpt_cli_error(ZPT_EXIT_USAGE, "config");
  if (code == ZPT_EXIT_OK && zpt_config_write(c, stdout) != ZPT_OK)
    code = zpt_cli_error(ZPT_EXIT_FAILURE, "config");
  zpt_config_free(c);
  return code;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return ZPT_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
    printf("zoptic %s\n", ZOPTIC_VERSION);
    return ZPT_EXIT_OK;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage(stdout);
    return ZPT_EXIT_OK;
  }
  static const struct {
    const char *name;
    int (*run)(int, char **);
  } commands[] = {
    {"train", zpt_cmd_train}, {"eval", zpt_cmd_eval}, {"info", zpt_cmd_info},
    {"plot", zpt_cmd_plot}, {"config", zpt_cmd_config},
    {"config-doc", zpt_cmd_config_doc},
  };
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(cmd, commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  const char *names[sizeof commands / sizeof commands[0] + 2] = {"help", "version"};
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    names[i + 2] = commands[i].name;
  const char *near = zpt_nearest(cmd, names, sizeof names / sizeof names[0]);
  if (near)
    fprintf(stderr, "zoptic: unknown command '%s'; did you mean '%s'? (try 'zoptic help')\n",
            cmd, near);
  else
    fprintf(stderr, "zoptic: unknown command '%s' (try 'zoptic help')\n", cmd);
  return ZPT_EXIT_USAGE;
}
