#define _POSIX_C_SOURCE 200809L
/* Writing a checkpoint: a temporary file, committed atomically. */
#include "io/checkpoint_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/version.h"
#include "io/ckpt_file.h"
#include "io/ckpt_map.h"

/* ---- writing ---- */

static void test_delay(const zpt_ckpt_writer *w) {
  if (w->delay_ms > 0) {
    struct timespec ts = {w->delay_ms / 1000, (w->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* Creates dataset `path` (intermediate groups too) of the given shape and
 * writes `data` with a crc32 attribute. */
static int write_dataset(zpt_ckpt_writer *w, const char *path,
                         zpt_elem_type type, const void *data, int ndim,
                         const hsize_t *dims, size_t count, hid_t *keep) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  hid_t space = H5Screate_simple(ndim, dims, NULL);
  hid_t dset = -1;
  int ok = 0;
  if (lcpl >= 0 && space >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0) {
    dset = H5Dcreate2(w->file, path, zpt_ck_file_type_of(type), space, lcpl,
                      H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0) {
      uint32_t crc = zpt_ck_crc_of(data, count * zpt_elem_size(type));
      ok = (count == 0 || H5Dwrite(dset, zpt_ck_mem_type_of(type), H5S_ALL, H5S_ALL,
                                   H5P_DEFAULT, data) >= 0) &&
           zpt_ck_write_attr_scalar(dset, "crc32", H5T_STD_U32LE, H5T_NATIVE_UINT32,
                             &crc) == 0;
    }
  }
  int exists = dset < 0 && H5Lexists(w->file, path, H5P_DEFAULT) > 0;
  if (ok && keep)
    *keep = dset;
  else if (dset >= 0)
    H5Dclose(dset);
  if (space >= 0) H5Sclose(space);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (!ok) {
    w->failed = 1;
    if (exists)
      return zpt_fail(ZPT_EINVAL, "%s: checkpoint item '%s' written twice",
                      w->path, path);
    return zpt_fail(ZPT_EIO, "%s: cannot write checkpoint item '%s' (%zu x %s)"
                    " to %s", w->path, path, count, zpt_ck_elem_name(type), w->tmp);
  }
  test_delay(w);
  return ZPT_OK;
}

static int writer_put(zpt_state_writer *sw, const char *name,
                      zpt_elem_type type, const void *data, size_t count) {
  zpt_ckpt_writer *w = sw->impl;
  if (!zpt_ck_valid_name(name))
    return zpt_fail(ZPT_EINVAL,
                    "%s: invalid checkpoint item name '%s' (expected "
                    "'/'-separated parts of [A-Za-z0-9_.-])", w->path, name);
  if (zpt_ck_file_type_of(type) < 0)
    return zpt_fail(ZPT_EINVAL, "%s: item '%s': unknown element type %d",
                    w->path, name, (int)type);
  if (count > 0 && !data)
    return zpt_fail(ZPT_EINVAL, "%s: item '%s': no data", w->path, name);
  char path[ZPT_CKPT_NAME_MAX + 16];
  snprintf(path, sizeof path, "/state/%s", name);
  hsize_t dims[1] = {count};
  return write_dataset(w, path, type, data, 1, dims, count, NULL);
}

int zpt_ckpt_create(const char *path, const char *config_text,
                    zpt_ckpt_writer **out) {
  zpt_ck_quiet_hdf5();
  *out = NULL;
  if (strlen(path) + 8 >= PATH_MAX_LEN)
    return zpt_fail(ZPT_EINVAL, "checkpoint path too long: %s", path);
  zpt_ckpt_writer *w = zpt_new(zpt_ckpt_writer, "checkpoint writer");
  if (!w)
    return ZPT_ENOMEM;
  snprintf(w->path, sizeof w->path, "%s", path);
  snprintf(w->tmp, sizeof w->tmp, "%s.tmp", path);
  w->sw.put = writer_put;
  w->sw.impl = w;
  const char *delay = getenv("ZOPTIC_TEST_CKPT_DELAY_MS");
  w->delay_ms = delay ? strtol(delay, NULL, 10) : 0;
  /* Built in memory (core driver, no backing store) and written by
   * zpt_ckpt_commit with write(2): a full disk is an ordinary I/O error,
   * never a failing H5Fclose (ckpt_file.h).  HDF5's default (earliest)
   * file format: the 1.8 format's superblock checksum comes out wrong in
   * an image taken from an open file (HDF5 1.10.8: its status flags are
   * cleared after the checksum); the zoptic trailer's CRC-32s cover every
   * byte instead. */
  w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd < 0) {
    int e = errno;
    zpt_free(w);
    return zpt_fail(ZPT_EIO, "%s.tmp: cannot create checkpoint file: %s", path, strerror(e));
  }
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  w->file = -1;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0)
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (fapl >= 0)
    H5Pclose(fapl);
  if (w->file < 0) {
    zpt_ckpt_abort(w);
    return zpt_fail(ZPT_EIO, "%s.tmp: cannot create checkpoint image (HDF5 error)", path);
  }
  char created[64] = "unknown", host[256] = "unknown";
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm))
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (gethostname(host, sizeof host) != 0)
    snprintf(host, sizeof host, "unknown");
  host[sizeof host - 1] = '\0';
  int64_t version = ZPT_CKPT_VERSION;
  int bad = zpt_ck_write_attr_text(w->file, "format", ZPT_CKPT_FORMAT) ||
            zpt_ck_write_attr_scalar(w->file, "format_version", H5T_STD_I64LE,
                              H5T_NATIVE_INT64, &version) ||
            zpt_ck_write_attr_text(w->file, "zoptic_version", ZOPTIC_VERSION) ||
            zpt_ck_write_attr_text(w->file, "created", created) ||
            zpt_ck_write_attr_text(w->file, "host", host) ||
            zpt_ck_write_attr_text(w->file, "config", config_text ? config_text : "");
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  hid_t g = -1;
  if (!bad && gcpl >= 0 &&
      H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
                                           H5P_CRT_ORDER_INDEXED) >= 0)
    g = H5Gcreate2(w->file, "params", H5P_DEFAULT, gcpl, H5P_DEFAULT);
  hid_t s = g >= 0 ? H5Gcreate2(w->file, "state", H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT) : -1;
  if (gcpl >= 0) H5Pclose(gcpl);
  if (g >= 0) H5Gclose(g);
  if (s >= 0) H5Gclose(s);
  if (bad || g < 0 || s < 0) {
    zpt_ckpt_abort(w);
    return zpt_fail(ZPT_EIO, "%s.tmp: cannot write checkpoint header", path);
  }
  *out = w;
  return ZPT_OK;
}

zpt_state_writer *zpt_ckpt_state_writer(zpt_ckpt_writer *w) { return &w->sw; }

/* View `view` of /theta as an HDF5 virtual dataset: its values are read
 * from /theta (stored once), with the view's shape and a crc32 of them. */
static int write_view(zpt_ckpt_writer *w, const char *path, const zpt_params *p,
                      const zpt_view *view, hid_t *keep) {
  hsize_t dims[ZPT_VIEW_MAX_DIMS], n = p->n_params, off = view->offset,
          len = view->size;
  for (int d = 0; d < view->ndim; d++)
    dims[d] = view->shape[d];
  if (len == 0) /* nothing to point at: an empty dataset */
    return write_dataset(w, path, ZPT_T_F32, p->theta, view->ndim, dims, 0, keep);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t vspace = H5Screate_simple(view->ndim, dims, NULL);
  hid_t src = H5Screate_simple(1, &n, NULL);
  hid_t dset = -1;
  if (lcpl >= 0 && dcpl >= 0 && vspace >= 0 && src >= 0 &&
      H5Pset_create_intermediate_group(lcpl, 1) >= 0 &&
      H5Sselect_hyperslab(src, H5S_SELECT_SET, &off, NULL, &len, NULL) >= 0 &&
      H5Pset_virtual(dcpl, vspace, ".", "/theta", src) >= 0)
    dset = H5Dcreate2(w->file, path, zpt_ck_file_type_of(ZPT_T_F32), vspace, lcpl,
                      dcpl, H5P_DEFAULT);
  uint32_t crc = zpt_ck_crc_of(p->theta + view->offset, view->size * sizeof(float));
  int ok = dset >= 0 && zpt_ck_write_attr_scalar(dset, "crc32", H5T_STD_U32LE,
                                                 H5T_NATIVE_UINT32, &crc) == 0;
  if (ok)
    *keep = dset;
  else if (dset >= 0)
    H5Dclose(dset);
  if (src >= 0) H5Sclose(src);
  if (vspace >= 0) H5Sclose(vspace);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (!ok) {
    w->failed = 1;
    return zpt_fail(ZPT_EIO, "%s: cannot write the view '%s' of /theta to %s",
                    w->path, view->name, w->tmp);
  }
  return ZPT_OK;
}

/* theta once, as /theta, and every view as /params/<name> pointing into it
 * (format version 2; version 1 stored a copy of each view's values). */
int zpt_ckpt_put_params(zpt_ckpt_writer *w, const zpt_params *p) {
  hsize_t n = p->n_params;
  ZPT_TRY(write_dataset(w, "/theta", ZPT_T_F32, p->theta, 1, &n, p->n_params, NULL));
  for (size_t v = 0; v < p->n_views; v++) {
    const zpt_view *view = &p->views[v];
    char path[ZPT_VIEW_NAME_MAX + 16];
    snprintf(path, sizeof path, "/params/%s", view->name);
    hid_t dset = -1;
    ZPT_TRY(write_view(w, path, p, view, &dset));
    uint64_t offset = view->offset;
    int bad = zpt_ck_write_attr_scalar(dset, "offset", H5T_STD_U64LE,
                                H5T_NATIVE_UINT64, &offset);
    H5Dclose(dset);
    if (bad) {
      w->failed = 1;
      return zpt_fail(ZPT_EIO, "%s: cannot write offset of view '%s'", w->path,
                      view->name);
    }
  }
  return ZPT_OK;
}

static int fsync_path(const char *path, int directory) {
  int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Writes the image (and its trailer) through the writer's descriptor,
 * which is closed whatever happens. */
static int write_image(zpt_ckpt_writer *w, unsigned char *image, size_t size) {
  int fd = w->fd;
  w->fd = -1;
  return zpt_ckpt_file_write_fd(fd, w->tmp, image, size);
}

int zpt_ckpt_commit(zpt_ckpt_writer *w) {
  zpt_ck_quiet_hdf5();
  if (w->failed) {
    zpt_ckpt_abort(w);
    return zpt_fail(ZPT_EIO, "checkpoint not written: an earlier item failed");
  }
  /* the in-memory image; closing a core file does no I/O and cannot fail
   * on a full disk (every handle is closed exactly once, here) */
  unsigned char *image = NULL;
  zpt_ckpt_map *map = NULL;
  ssize_t size = H5Fflush(w->file, H5F_SCOPE_GLOBAL) >= 0 &&
                 zpt_ckpt_map_collect(w->file, &map) == ZPT_OK
                     ? H5Fget_file_image(w->file, NULL, 0) : -1;
  /* room for the object map and the zoptic trailer after the image */
  size_t extra = map ? zpt_ckpt_map_bytes(map) + ZPT_CKPT_TRAILER : 0;
  if (size > 0 && (image = zpt_alloc((size_t)size + extra, "checkpoint image")) != NULL &&
      H5Fget_file_image(w->file, image, (size_t)size) != size)
    size = -1;
  herr_t cl = H5Fclose(w->file);
  w->file = -1;
  if (size > 0 && image)
    zpt_ckpt_map_put(map, image, (size_t)size);
  zpt_ckpt_map_free(map);
  int status = ZPT_OK;
  if (size <= 0 || !image || cl < 0)
    status = image || size <= 0 ? zpt_fail(ZPT_EIO, "%s: cannot build the checkpoint image "
                                           "(HDF5 error)", w->tmp) : ZPT_ENOMEM;
  else if ((status = write_image(w, image, (size_t)size + extra)) != ZPT_OK)
    ; /* the message names the file and the system's reason */
  else if (rename(w->tmp, w->path) != 0)
    status = zpt_fail(ZPT_EIO, "cannot rename %s to %s: %s", w->tmp, w->path,
                      strerror(errno));
  else {
    char dir[PATH_MAX_LEN];
    snprintf(dir, sizeof dir, "%s", w->path);
    char *slash = strrchr(dir, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
      dir[1] = '\0';
    else
      *slash = '\0';
    if (fsync_path(dir, 1) != 0)
      status = zpt_fail(ZPT_EIO, "%s: fsync of directory failed: %s", dir,
                        strerror(errno));
  }
  if (w->fd >= 0 && status != ZPT_OK) /* failed before the write */
    close(w->fd);
  if (status != ZPT_OK)
    unlink(w->tmp);
  zpt_free(image);
  zpt_free(w);
  return status;
}

void zpt_ckpt_abort(zpt_ckpt_writer *w) {
  if (!w)
    return;
  zpt_ck_quiet_hdf5();
  if (w->file >= 0)
    H5Fclose(w->file);
  if (w->fd >= 0)
    close(w->fd);
  unlink(w->tmp);
  zpt_free(w);
}
