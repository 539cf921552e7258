/* The bytes of a checkpoint file (ckpt_file.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/ckpt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/le.h"
#include "core/status.h"
#include "io/checkpoint_internal.h"
#include "io/ckpt_map.h"

#define MAGIC "zoptic-ckpt\0\0\0\0\0"
#define MAGIC_LEN 16
#define TRAILER_VERSION 1u
#define MAX_BLOCKS 118u
#define HDF5_SIGNATURE "\x89HDF\r\n\x1a\n"

/* Block size: a multiple of 4 KiB giving at most MAX_BLOCKS blocks. */
static uint32_t block_size(size_t body) {
  size_t b = (body + MAX_BLOCKS - 1) / MAX_BLOCKS;
  b = (b + 4095) / 4096 * 4096;
  return (uint32_t)(b ? b : 4096);
}

/* Fills the trailer at the end of image (size bytes in all). */
static void fill_trailer(unsigned char *image, size_t size) {
  size_t body = size - ZPT_CKPT_TRAILER;
  unsigned char *t = image + body;
  uint32_t bs = block_size(body), n = (uint32_t)((body + bs - 1) / bs);
  memset(t, 0, ZPT_CKPT_TRAILER);
  memcpy(t, MAGIC, MAGIC_LEN);
  zpt_put_u32(t + 16, TRAILER_VERSION);
  zpt_put_u32(t + 20, zpt_ck_crc_of(image, body));
  zpt_put_u64(t + 24, (uint64_t)size);
  zpt_put_u32(t + 32, bs);
  zpt_put_u32(t + 36, n);
  for (uint32_t i = 0; i < n; i++) {
    size_t off = (size_t)i * bs, len = body - off < bs ? body - off : bs;
    zpt_put_u32(t + 40 + 4 * i, zpt_ck_crc_of(image + off, len));
  }
}

int zpt_ckpt_file_write(const char *path, unsigned char *image, size_t size) {
  if (size < ZPT_CKPT_TRAILER)
    return zpt_fail(ZPT_EINVAL, "%s: checkpoint image of %zu bytes has no trailer", path,
                    size);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return zpt_fail(ZPT_EIO, "%s: cannot create checkpoint file: %s", path, strerror(errno));
  return zpt_ckpt_file_write_fd(fd, path, image, size);
}

int zpt_ckpt_file_write_fd(int fd, const char *path, unsigned char *image, size_t size) {
  if (size < ZPT_CKPT_TRAILER) {
    close(fd);
    unlink(path);
    return zpt_fail(ZPT_EINVAL, "%s: checkpoint image of %zu bytes has no trailer", path,
                    size);
  }
  fill_trailer(image, size);
  size_t done = 0;
  int err = ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 ? 0 : errno;
  while (done < size && !err) {
    ssize_t w = write(fd, image + done, size - done);
    if (w > 0)
      done += (size_t)w;
    else if (w < 0 && errno != EINTR)
      err = errno;
    else if (w == 0)
      err = EIO;
  }
  if (!err && fsync(fd) != 0)
    err = errno;
  if (close(fd) != 0 && !err)
    err = errno;
  if (err) {
    unlink(path);
    return zpt_fail(ZPT_EIO, "%s: cannot write checkpoint (%zu of %zu bytes written): %s",
                    path, done, size, strerror(err));
  }
  return ZPT_OK;
}

/* The trailer's checks; ZPT_OK or ZPT_EFORMAT "corrupt zoptic checkpoint". */
static int verify(const char *path, const unsigned char *img, size_t size) {
  const unsigned char *t = img + size - ZPT_CKPT_TRAILER;
  uint32_t version = zpt_get_u32(t + 16);
  if (version != TRAILER_VERSION)
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (trailer version %u, zoptic "
                    "reads %u)", path, (unsigned)version, TRAILER_VERSION);
  uint64_t want = zpt_get_u64(t + 24);
  if (want != size)
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (size check: the file has "
                    "%zu bytes, its trailer says %llu: cut or extended)", path, size,
                    (unsigned long long)want);
  size_t body = size - ZPT_CKPT_TRAILER;
  uint32_t bs = zpt_get_u32(t + 32), n = zpt_get_u32(t + 36);
  if (bs != block_size(body) || (uint64_t)n != (body + bs - 1) / bs || n > MAX_BLOCKS)
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (trailer: a block table of %u "
                    "blocks of %u bytes does not fit %zu bytes)", path, (unsigned)n,
                    (unsigned)bs, size);
  size_t bad = 0, first = 0, first_len = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t off = (size_t)i * bs, len = body - off < bs ? body - off : bs;
    if (zpt_ck_crc_of(img + off, len) != zpt_get_u32(t + 40 + 4 * i) && bad++ == 0) {
      first = off;
      first_len = len;
    }
  }
  if (bad) {
    char what[1024], more[64] = "";
    zpt_ckpt_map_explain(img, body, what, sizeof what);
    if (bad > 1)
      snprintf(more, sizeof more, " and in %zu more blocks", bad - 1);
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (block CRC-32 check: bytes "
                    "%zu..%zu%s differ from what was written; damaged: %s)", path, first,
                    first + first_len - 1, more, what);
  }
  uint32_t stored = zpt_get_u32(t + 20), got = zpt_ck_crc_of(img, body);
  if (stored != got)
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (whole-file CRC-32 check: "
                    "stored 0x%08x, computed 0x%08x)", path, (unsigned)stored, (unsigned)got);
  return ZPT_OK;
}

/* A file with an HDF5 signature but no valid trailer, by its superblock's
 * end-of-file address e: version 2/3 (format-1 checkpoints, 1.8 format)
 * with e == n is a complete format-1 file (*legacy = 1); a version 0/1
 * superblock is how this zoptic writes (the trailer follows e), so e + 512
 * != n is a cut or extended file and e + 512 == n a damaged trailer; e == n
 * there is an HDF5 file of someone else's. */
static int classify_untrailed(const char *path, const unsigned char *b, size_t n,
                              int *legacy) {
  if (n < 56 || b[9 + (b[8] >= 2 ? 0 : 4)] != 8)
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (size check: %zu bytes "
                    "cannot hold a checkpoint)", path, n);
  int v = b[8];
  uint64_t e = v >= 2 ? zpt_get_u64(b + 28) : zpt_get_u64(b + (v == 1 ? 44 : 40));
  if (v >= 2 && e == (uint64_t)n) {
    *legacy = 1;
    return ZPT_OK;
  }
  if (v < 2 && e == (uint64_t)n)
    return zpt_fail(ZPT_EFORMAT, "%s: not a zoptic checkpoint (an HDF5 file without the "
                    "zoptic trailer)", path);
  size_t map = e < n && n - e >= ZPT_CKPT_TRAILER ? zpt_ckpt_map_len(b, n - ZPT_CKPT_TRAILER) : 0;
  if (v < 2 && (e + ZPT_CKPT_TRAILER == (uint64_t)n || e + map + ZPT_CKPT_TRAILER == (uint64_t)n))
    return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (trailer check: the trailer "
                    "after the HDF5 image is damaged)", path);
  return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (size check: the file has %zu "
                  "bytes, its HDF5 image ends at %llu%s: cut or extended)", path, n,
                  (unsigned long long)e, v < 2 ? " plus the 512-byte trailer" : "");
}

int zpt_ckpt_file_read(const char *path, unsigned char **image, size_t *size, int *legacy) {
  *image = NULL;
  *size = 0;
  *legacy = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return zpt_fail(ZPT_EIO, "%s: cannot open checkpoint: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return zpt_fail(ZPT_EIO, "%s: cannot open checkpoint: not a regular file", path);
  }
  size_t n = (size_t)st.st_size, got = 0;
  unsigned char *buf = zpt_alloc(n ? n : 1, "checkpoint file");
  if (!buf) {
    close(fd);
    return ZPT_ENOMEM;
  }
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r > 0)
      got += (size_t)r;
    else if (r == 0 || errno != EINTR)
      break;
  }
  close(fd);
  int rc = ZPT_OK;
  if (got != n)
    rc = zpt_fail(ZPT_EIO, "%s: cannot read checkpoint (%zu of %zu bytes)", path, got, n);
  else if (n >= ZPT_CKPT_TRAILER && !memcmp(buf + n - ZPT_CKPT_TRAILER, MAGIC, MAGIC_LEN))
    rc = verify(path, buf, n);
  else if (n >= 16 && !memcmp(buf, HDF5_SIGNATURE, 8))
    rc = classify_untrailed(path, buf, n, legacy);
  else
    rc = zpt_fail(ZPT_EFORMAT, "%s: not a zoptic checkpoint (not an HDF5 file: no HDF5 "
                  "signature at its start)", path);
  if (rc != ZPT_OK) {
    zpt_free(buf);
    return rc;
  }
  *image = buf;
  *size = n;
  return ZPT_OK;
}
