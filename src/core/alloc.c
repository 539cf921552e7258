#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static void report_oom(size_t bytes, const char *what, const char *file,
                       int line) {
  zpt_fail(ZPT_ENOMEM, "out of memory allocating %zu bytes (%.1f MB) for %s (%s:%d)",
           bytes, (double)bytes / 1e6, what ? what : "?", file, line);
}

void *zpt_alloc_at(size_t bytes, const char *what, const char *file, int line) {
  /* aligned_alloc needs a size that is a multiple of the alignment */
  size_t rounded = (bytes + ZPT_ALIGN - 1) / ZPT_ALIGN * ZPT_ALIGN;
  if (rounded < bytes) {
    report_oom(bytes, what, file, line);
    return NULL;
  }
  if (rounded == 0)
    rounded = ZPT_ALIGN;
  void *p = aligned_alloc(ZPT_ALIGN, rounded);
  if (!p)
    report_oom(bytes, what, file, line);
  return p;
}

void *zpt_zalloc_at(size_t bytes, const char *what, const char *file, int line) {
  void *p = zpt_alloc_at(bytes, what, file, line);
  if (p)
    memset(p, 0, bytes);
  return p;
}

void zpt_free(void *p) { free(p); }

int zpt_mul_size(size_t n, size_t size, size_t *out) {
  if (size != 0 && n > SIZE_MAX / size) {
    *out = 0;
    return zpt_fail(ZPT_ERANGE, "size overflow: %zu elements of %zu bytes", n, size);
  }
  *out = n * size;
  return ZPT_OK;
}

void *zpt_array_at(size_t n, size_t elem, const char *what, const char *file,
                   int line) {
  size_t bytes;
  if (zpt_mul_size(n, elem, &bytes) != ZPT_OK) {
    zpt_fail(ZPT_ENOMEM, "cannot allocate %zu x %zu bytes for %s (%s:%d): size overflows",
             n, elem, what ? what : "?", file, line);
    return NULL;
  }
  return zpt_zalloc_at(bytes, what, file, line);
}

int zpt_buffer_reserve(zpt_buffer *buf, size_t bytes, const char *what) {
  if (buf->bytes >= bytes && buf->data)
    return ZPT_OK;
  void *p = zpt_alloc(bytes, what);
  if (!p)
    return ZPT_ENOMEM;
  zpt_free(buf->data);
  buf->data = p;
  buf->bytes = bytes;
  return ZPT_OK;
}

void zpt_buffer_release(zpt_buffer *buf) {
  zpt_free(buf->data);
  buf->data = NULL;
  buf->bytes = 0;
}
