/* getopt_long for train and eval (see args.h). */
#include "cli/args.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/nearest.h"

#define MAX_OPTS 8

enum { OPT_SET = 1000, OPT_NAMED = 1001 };

/* "unknown option" naming the nearest long option, if one is near */
static void unknown_option(const char *cmd, const char *arg,
                           const struct option *longs) {
  const char *names[MAX_OPTS + 3];
  size_t n = 0;
  for (const struct option *o = longs; o->name; o++)
    names[n++] = o->name;
  char word[64] = "";
  if (arg[0] == '-' && arg[1] == '-') {
    size_t len = strcspn(arg + 2, "=");
    snprintf(word, sizeof word, "%.*s", (int)len, arg + 2);
  }
  const char *near = *word ? zpt_nearest(word, names, n) : NULL;
  if (near)
    fprintf(stderr, "zoptic: %s: unknown option '%s'; did you mean '--%s'? (try --help)\n",
            cmd, arg, near);
  else
    fprintf(stderr, "zoptic: %s: unknown option '%s' (try --help)\n", cmd, arg);
}

int zpt_cli_parse_args(const char *cmd, int argc, char **argv, const cli_opt *opts,
                       size_t n_opts, void (*usage)(FILE *), char ***sets_out,
                       int *n_sets, const char **positional) {
  char **sets = calloc((size_t)argc + 1, sizeof *sets);
  *sets_out = sets;
  *n_sets = 0;
  if (!sets || n_opts > MAX_OPTS)
    return ZPT_EXIT_FAILURE;
  struct option longs[MAX_OPTS + 3] = {{"help", no_argument, NULL, 'h'},
                                       {"set", required_argument, NULL, OPT_SET}};
  for (size_t k = 0; k < n_opts; k++)
    longs[2 + k] = (struct option){opts[k].name + 2, required_argument, NULL,
                                   OPT_NAMED + (int)k};
  int code = -1, c;
  opterr = 0;
  optind = 0; /* a fresh scan (glibc) */
  while (code < 0 && (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      code = ZPT_EXIT_OK;
    } else if (c == OPT_SET) {
      sets[(*n_sets)++] = optarg;
    } else if (c >= OPT_NAMED && c < OPT_NAMED + (int)n_opts) {
      *opts[c - OPT_NAMED].value = optarg;
    } else if (c == ':') {
      fprintf(stderr, "zoptic: %s: %s needs a value\n", cmd, argv[optind - 1]);
      code = ZPT_EXIT_USAGE;
    } else {
      unknown_option(cmd, optopt ? (char[]){'-', (char)optopt, 0} : argv[optind - 1],
                     longs);
      code = ZPT_EXIT_USAGE;
    }
  }
  for (int i = optind; code < 0 && i < argc; i++) {
    if (!*positional) {
      *positional = argv[i];
    } else {
      fprintf(stderr, "zoptic: %s: unexpected argument '%s'\n", cmd, argv[i]);
      code = ZPT_EXIT_USAGE;
    }
  }
  if (code >= 0) {
    free(sets);
    *sets_out = NULL;
  }
  return code;
}
