#include <errno.h>
#include <string.h>

#include <zlib.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/loaders.h"

int zpt_read_file(const char *path, size_t max_bytes, unsigned char **data,
                  size_t *len) {
  *data = NULL;
  *len = 0;
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f)
    return zpt_fail(ZPT_EIO, "%s: cannot open for reading: %s", path,
                    errno ? strerror(errno) : "out of memory in zlib");
  size_t cap = 1 << 16, n = 0;
  if (max_bytes && cap > max_bytes)
    cap = max_bytes + 1;
  unsigned char *buf = zpt_alloc(cap + 1, "file contents");
  if (!buf) {
    gzclose(f);
    return zpt_fail_context(ZPT_ENOMEM, "%s: ", path);
  }
  for (;;) {
    if (n == cap) {
      size_t ncap = cap > ((size_t)-1 - 1) / 2 ? (size_t)-1 - 1 : cap * 2;
      if (max_bytes && ncap > max_bytes)
        ncap = max_bytes + 1; /* room to notice one byte too many */
      if (ncap <= cap) {
        zpt_free(buf);
        gzclose(f);
        return zpt_fail(ZPT_ERANGE, "%s: larger than the limit of %zu bytes", path,
                        max_bytes);
      }
      unsigned char *nb = zpt_alloc(ncap + 1, "file contents");
      if (!nb) {
        zpt_free(buf);
        gzclose(f);
        return zpt_fail_context(ZPT_ENOMEM, "%s: ", path);
      }
      memcpy(nb, buf, n);
      zpt_free(buf);
      buf = nb;
      cap = ncap;
    }
    size_t want = cap - n;
    if (want > (1u << 30))
      want = 1u << 30;
    int got = gzread(f, buf + n, (unsigned)want);
    if (got < 0) {
      int errnum;
      const char *msg = gzerror(f, &errnum);
      int rc = zpt_fail(errnum == Z_ERRNO ? ZPT_EIO : ZPT_EFORMAT,
                        "%s: read failed after %zu bytes: %s", path, n,
                        errnum == Z_ERRNO ? strerror(errno) : msg);
      zpt_free(buf);
      gzclose(f);
      return rc;
    }
    if (got == 0)
      break;
    n += (size_t)got;
    if (max_bytes && n > max_bytes) {
      zpt_free(buf);
      gzclose(f);
      return zpt_fail(ZPT_ERANGE, "%s: larger than the limit of %zu bytes", path, max_bytes);
    }
  }
  int errnum = Z_OK;
  const char *msg = gzerror(f, &errnum);
  if (errnum != Z_OK) {
    int rc = zpt_fail(ZPT_EFORMAT, "%s: gzip stream damaged or truncated after %zu bytes: %s",
                      path, n, msg);
    zpt_free(buf);
    gzclose(f);
    return rc;
  }
  gzclose(f);
  buf[n] = 0;
  *data = buf;
  *len = n;
  return ZPT_OK;
}
