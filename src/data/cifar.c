/* CIFAR-10 binary batches. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/loaders.h"

int zpt_cifar10_parse(const unsigned char *buf, size_t len, const char *source,
                      zpt_dataset **out) {
  *out = NULL;
  if (len == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: empty file, expected CIFAR-10 records of %d bytes",
                    source, ZPT_CIFAR10_RECORD);
  size_t n = len / ZPT_CIFAR10_RECORD, rest = len % ZPT_CIFAR10_RECORD;
  if (rest)
    return zpt_fail(ZPT_EFORMAT, "%s: truncated: record %zu has only %zu of its %d bytes "
                    "(1 label byte + 3072 pixel bytes); the file holds %zu bytes", source,
                    n, rest, ZPT_CIFAR10_RECORD, len);
  for (size_t i = 0; i < n; i++) {
    unsigned label = buf[i * ZPT_CIFAR10_RECORD];
    if (label >= ZPT_CIFAR10_CLASSES)
      return zpt_fail(ZPT_EFORMAT, "%s: record %zu (byte offset %zu): label %u is not a "
                      "class index in [0, %d)", source, i, i * ZPT_CIFAR10_RECORD, label,
                      ZPT_CIFAR10_CLASSES);
  }
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, "cifar10", ZPT_TASK_CLASSIFICATION, n, ZPT_CIFAR10_PIXELS,
                            1, ZPT_CIFAR10_CLASSES));
  zpt_dataset_set_image_shape(d, 3, 32, 32);
  for (size_t i = 0; i < n; i++) {
    const unsigned char *rec = buf + i * ZPT_CIFAR10_RECORD;
    d->targets[i] = (float)rec[0];
    float *x = zpt_dataset_input(d, i);
    for (size_t k = 0; k < ZPT_CIFAR10_PIXELS; k++)
      x[k] = (float)rec[1 + k];
  }
  *out = d;
  return ZPT_OK;
}

int zpt_cifar10_load(const char *const *paths, size_t n_paths, const char *name,
                     zpt_dataset **out) {
  *out = NULL;
  if (n_paths == 0)
    return zpt_fail(ZPT_EINVAL, "CIFAR-10 loader: no batch files given");
  zpt_dataset *all = NULL;
  for (size_t k = 0; k < n_paths; k++) {
    unsigned char *buf;
    size_t len;
    int rc = zpt_read_file(paths[k], 0, &buf, &len);
    zpt_dataset *part = NULL;
    if (rc == ZPT_OK) {
      rc = zpt_cifar10_parse(buf, len, paths[k], &part);
      zpt_free(buf);
    }
    if (rc == ZPT_OK && all) {
      zpt_dataset *joined;
      rc = zpt_dataset_concat(all, part, name, &joined);
      zpt_dataset_free(part);
      part = joined;
    }
    if (rc != ZPT_OK) {
      zpt_dataset_free(all);
      return rc;
    }
    zpt_dataset_free(all);
    all = part;
  }
  snprintf(all->name, sizeof all->name, "%s", name ? name : "cifar10");
  *out = all;
  return ZPT_OK;
}
