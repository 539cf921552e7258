/* zoptic command-line program. */
#include <stdio.h>
#include <string.h>

#include "zoptic.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: zoptic COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  version      print the version\n"
          "  help         this text\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
    printf("zoptic %s\n", ZOPTIC_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "zoptic: unknown command '%s' (try 'zoptic help')\n", argv[1]);
  return 2;
}
