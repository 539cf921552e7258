/* libFuzzer target: the IDX parser on arbitrary bytes, then the data-set
 * builder on what it accepts (images paired with themselves as labels). */
#include <stddef.h>
#include <stdint.h>

#include "zoptic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  zpt_idx idx;
  if (zpt_idx_parse(data, size, "fuzz.idx", &idx) != ZPT_OK)
    return 0;
  /* a 1-D file is a valid label file: build a data set against it */
  if (idx.ndims == 1) {
    zpt_dataset *d = NULL;
    if (zpt_idx_dataset(&idx, &idx, 256, "img", "lab", "fuzz", &d) == ZPT_OK)
      zpt_dataset_free(d);
  }
  zpt_idx_release(&idx);
  return 0;
}
