/* libFuzzer target: the INI configuration parser on arbitrary text, with a
 * round-trip check.  Whatever parses must write back (zpt_config_to_string)
 * as text that parses again to the same value of every key, and that second
 * text must equal the first (the writer is a fixed point).  A violation
 * aborts, which libFuzzer reports as a crash with the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/config.h"
#include "io/runcheck.h"

static void round_trip_failed(const char *what, const char *text) {
  fprintf(stderr, "fuzz_config: round trip broken: %s\n%s\n--- written text:\n%s\n", what,
          zpt_error_message(), text ? text : "(none)");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  zpt_config *a = zpt_config_alloc(), *b = zpt_config_alloc();
  if (a && b && zpt_config_parse_string(a, text, "fuzz.ini") == ZPT_OK) {
    char *t1 = zpt_config_to_string(a);
    if (!t1)
      round_trip_failed("the configuration cannot be written", NULL);
    if (zpt_config_parse_string(b, t1, "written.ini") != ZPT_OK)
      round_trip_failed("the written configuration does not parse", t1);
    char diff[800];
    if (zpt_config_first_difference(a, b, NULL, diff, sizeof diff))
      round_trip_failed(diff, t1);
    char *t2 = zpt_config_to_string(b);
    if (!t2 || strcmp(t1, t2) != 0)
      round_trip_failed("writing the re-parsed configuration gives other text", t1);
    zpt_free(t1);
    zpt_free(t2);
  }
  zpt_config_free(a);
  zpt_config_free(b);
  free(text);
  return 0;
}
