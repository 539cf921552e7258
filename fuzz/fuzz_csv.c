/* libFuzzer target: the CSV parser on arbitrary text.  The first byte picks
 * the options (label column, delimiter, header lines and detection, class count) so the
 * option paths are fuzzed too; the rest is the file. */
#include <stddef.h>
#include <stdint.h>

#include "zoptic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t sel = data[0];
  zpt_csv_options o = zpt_csv_defaults();
  o.label_column = (long)(sel & 7) - 4;           /* -4 .. 3 */
  o.delimiter = (sel & 8) ? ';' : ',';
  o.skip_header = (sel >> 4) & 1;
  o.n_classes = (sel & 0x20) ? 10 : 0;
  o.header = (int)((sel >> 6) % 3) - 1;           /* AUTO, NO, YES */
  zpt_dataset *d = NULL;
  if (zpt_csv_parse((const char *)data + 1, size - 1, "fuzz.csv", &o, "fuzz", &d) == ZPT_OK)
    zpt_dataset_free(d);
  return 0;
}
