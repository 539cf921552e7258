/* libFuzzer target: the CIFAR-10 binary batch parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "zoptic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  zpt_dataset *d = NULL;
  if (zpt_cifar10_parse(data, size, "fuzz.bin", &d) == ZPT_OK)
    zpt_dataset_free(d);
  return 0;
}
