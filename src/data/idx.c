/* IDX files (LeCun's format for MNIST; also FashionMNIST). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/loaders.h"

static int elem_size(int type) {
  switch (type) {
  case ZPT_IDX_UBYTE: case ZPT_IDX_SBYTE: return 1;
  case ZPT_IDX_INT16: return 2;
  case ZPT_IDX_INT32: case ZPT_IDX_FLOAT32: return 4;
  case ZPT_IDX_FLOAT64: return 8;
  default: return 0;
  }
}

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const unsigned char *p) {
  return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static float element(int type, const unsigned char *p) {
  switch (type) {
  case ZPT_IDX_UBYTE: return (float)p[0];
  case ZPT_IDX_SBYTE: return (float)(int8_t)p[0];
  case ZPT_IDX_INT16: return (float)(int16_t)(uint16_t)(((unsigned)p[0] << 8) | p[1]);
  case ZPT_IDX_INT32: return (float)(int32_t)be32(p);
  case ZPT_IDX_FLOAT32: {
    uint32_t u = be32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  case ZPT_IDX_FLOAT64: {
    uint64_t u = be64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return (float)d;
  }
  }
  return 0;
}

void zpt_idx_release(zpt_idx *idx) {
  if (!idx)
    return;
  zpt_free(idx->data);
  idx->data = NULL;
  idx->count = 0;
}

int zpt_idx_parse(const unsigned char *buf, size_t len, const char *source,
                  zpt_idx *out) {
  memset(out, 0, sizeof *out);
  if (len == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: empty file, expected an IDX header", source);
  if (len < 4)
    return zpt_fail(ZPT_EFORMAT, "%s: truncated IDX header: %zu bytes, expected at least 4",
                    source, len);
  if (buf[0] != 0 || buf[1] != 0)
    return zpt_fail(ZPT_EFORMAT, "%s: wrong magic 0x%02x%02x%02x%02x: an IDX file starts "
                    "with two zero bytes (e.g. 0x00000803 for MNIST images)", source,
                    buf[0], buf[1], buf[2], buf[3]);
  int type = buf[2];
  int esize = elem_size(type);
  if (!esize)
    return zpt_fail(ZPT_EFORMAT, "%s: unsupported IDX element type 0x%02x, expected 0x08 "
                    "(ubyte), 0x09 (sbyte), 0x0B (int16), 0x0C (int32), 0x0D (float32) or "
                    "0x0E (float64)", source, type);
  size_t ndims = buf[3];
  if (ndims == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: IDX header declares 0 dimensions, expected 1 to %d",
                    source, ZPT_IDX_MAX_DIMS);
  size_t header = 4 + 4 * ndims;
  if (len < header)
    return zpt_fail(ZPT_EFORMAT, "%s: truncated IDX header: %zu dimensions need %zu header "
                    "bytes, the file holds %zu", source, ndims, header, len);
  size_t count = 1;
  for (size_t k = 0; k < ndims; k++) {
    size_t d = be32(buf + 4 + 4 * k);
    if (d != 0 && count > SIZE_MAX / d / (size_t)esize)
      return zpt_fail(ZPT_EFORMAT, "%s: IDX dimensions overflow: dimension %zu of %zu is %zu and "
                      "the product of dimensions 1..%zu exceeds the address space", source,
                      k + 1, ndims, d, k + 1);
    count *= d;
    out->dims[k] = d;
  }
  size_t need = count * (size_t)esize;
  if (len - header < need)
    return zpt_fail(ZPT_EFORMAT, "%s: truncated: the IDX header promises %zu elements "
                    "(%zu bytes of data) but the file holds only %zu bytes after the "
                    "%zu-byte header", source, count, need, len - header, header);
  if (len - header > need)
    return zpt_fail(ZPT_EFORMAT, "%s: %zu unexpected bytes after the %zu elements the IDX "
                    "header promises", source, len - header - need, count);
  float *data = zpt_floats(count, "IDX data");
  if (!data)
    return zpt_fail_context(ZPT_ENOMEM, "%s: ", source);
  const unsigned char *p = buf + header;
  for (size_t i = 0; i < count; i++, p += esize) {
    data[i] = element(type, p);
    if (!isfinite(data[i])) {
      zpt_free(data);
      return zpt_fail(ZPT_EFORMAT, "%s: element %zu is not a finite number (or overflows a "
                      "float)", source, i);
    }
  }
  out->type = type;
  out->ndims = ndims;
  out->count = count;
  out->data = data;
  return ZPT_OK;
}

int zpt_idx_load(const char *path, zpt_idx *out) {
  memset(out, 0, sizeof *out);
  unsigned char *buf;
  size_t len;
  ZPT_TRY(zpt_read_file(path, 0, &buf, &len));
  int rc = zpt_idx_parse(buf, len, path, out);
  zpt_free(buf);
  return rc;
}

int zpt_idx_dataset(const zpt_idx *images, const zpt_idx *labels,
                    size_t n_classes, const char *images_source,
                    const char *labels_source, const char *name,
                    zpt_dataset **out) {
  *out = NULL;
  if (n_classes == 0)
    return zpt_fail(ZPT_EINVAL, "%s: n_classes must be at least 1", labels_source);
  if (labels->ndims != 1)
    return zpt_fail(ZPT_EFORMAT, "%s: a label file has 1 dimension, this one has %zu",
                    labels_source, labels->ndims);
  size_t n = images->dims[0];
  if (n == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: holds no images", images_source);
  if (labels->dims[0] != n)
    return zpt_fail(ZPT_EFORMAT, "%s: %zu labels, but %s holds %zu images", labels_source,
                    labels->dims[0], images_source, n);
  size_t input_size = images->count / n;
  if (input_size == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: images of size 0 (a dimension after the first is 0)",
                    images_source);
  for (size_t i = 0; i < n; i++) {
    float v = labels->data[i];
    if (!(v >= 0 && v < (float)n_classes) || v != floorf(v))
      return zpt_fail(ZPT_EFORMAT, "%s: record %zu: label %g is not a class index in "
                      "[0, %zu)", labels_source, i, (double)v, n_classes);
  }
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, name, ZPT_TASK_CLASSIFICATION, n, input_size, 1, n_classes));
  memcpy(d->inputs, images->data, images->count * sizeof(float));
  memcpy(d->targets, labels->data, n * sizeof(float));
  int rc = zpt_dataset_track_origin(d);
  if (rc != ZPT_OK) {
    zpt_dataset_free(d);
    return rc;
  }
  if (images->ndims == 3)
    zpt_dataset_set_image_shape(d, 1, images->dims[1], images->dims[2]);
  else if (images->ndims == 4)
    zpt_dataset_set_image_shape(d, images->dims[1], images->dims[2], images->dims[3]);
  *out = d;
  return ZPT_OK;
}

int zpt_idx_load_pair(const char *images_path, const char *labels_path,
                      size_t n_classes, const char *name, zpt_dataset **out) {
  *out = NULL;
  zpt_idx images, labels;
  ZPT_TRY(zpt_idx_load(images_path, &images));
  int rc = zpt_idx_load(labels_path, &labels);
  if (rc == ZPT_OK) {
    rc = zpt_idx_dataset(&images, &labels, n_classes, images_path, labels_path, name, out);
    zpt_idx_release(&labels);
  }
  zpt_idx_release(&images);
  return rc;
}

static int by_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

int zpt_idx_infer_classes(const zpt_idx *labels, const char *source, size_t *n_classes) {
  *n_classes = 0;
  if (labels->ndims != 1 || labels->count == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: a label file has 1 dimension and at least one "
                    "record", source);
  for (size_t i = 0; i < labels->count; i++) {
    float v = labels->data[i];
    if (!(v >= 0) || v != floorf(v) || v > 1e9f)
      return zpt_fail(ZPT_EFORMAT, "%s: record %zu: label %g is not a class index (an "
                      "integer >= 0)", source, i, (double)v);
  }
  float *s = zpt_floats(labels->count, "sorted labels");
  if (!s)
    return zpt_fail_context(ZPT_ENOMEM, "%s: ", source);
  memcpy(s, labels->data, labels->count * sizeof(float));
  qsort(s, labels->count, sizeof(float), by_float);
  size_t distinct = 1;
  for (size_t i = 1; i < labels->count; i++)
    distinct += s[i] != s[i - 1];
  size_t top = (size_t)s[labels->count - 1];
  if (distinct == top + 1) {
    zpt_free(s);
    *n_classes = top + 1;
    return ZPT_OK;
  }
  /* a gap: list the labels with their counts */
  char list[400];
  size_t used = 0, run = 0;
  list[0] = 0;
  for (size_t i = 0; i < labels->count && used + 40 < sizeof list; i++) {
    run++;
    if (i + 1 < labels->count && s[i + 1] == s[i])
      continue;
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%g (%zu)", used ? ", " : "",
                             (double)s[i], run);
    run = 0;
  }
  if (used + 40 >= sizeof list)
    snprintf(list + used, sizeof list - used, ", ...");
  zpt_free(s);
  return zpt_fail(ZPT_EFORMAT, "%s: the labels are not the classes 0..%zu: only %zu of "
                  "those %zu values occur (label (records): %s); a corrupt label? Declare "
                  "the number of classes (data.n_classes) if the gaps are meant",
                  source, top, distinct, top + 1, list);
}
