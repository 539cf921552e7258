#define _POSIX_C_SOURCE 200809L
#include "io/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/status.h"
#include "zoptic.h"

#define PATH_MAX_LEN 4096

struct zpt_ckpt_writer {
  zpt_state_writer sw;
  hid_t file;
  char path[PATH_MAX_LEN];
  char tmp[PATH_MAX_LEN];
  long delay_ms; /* test hook */
  int failed;
};

struct zpt_ckpt_reader {
  zpt_state_reader sr;
  hid_t file;
  char path[PATH_MAX_LEN];
};

/* HDF5 prints its own error stack on stderr by default: we report ours. */
static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static hid_t file_type_of(zpt_elem_type t) {
  switch (t) {
  case ZPT_T_F32: return H5T_IEEE_F32LE;
  case ZPT_T_F64: return H5T_IEEE_F64LE;
  case ZPT_T_U64: return H5T_STD_U64LE;
  case ZPT_T_I64: return H5T_STD_I64LE;
  case ZPT_T_U8: return H5T_STD_U8LE;
  }
  return -1;
}

static hid_t mem_type_of(zpt_elem_type t) {
  switch (t) {
  case ZPT_T_F32: return H5T_NATIVE_FLOAT;
  case ZPT_T_F64: return H5T_NATIVE_DOUBLE;
  case ZPT_T_U64: return H5T_NATIVE_UINT64;
  case ZPT_T_I64: return H5T_NATIVE_INT64;
  case ZPT_T_U8: return H5T_NATIVE_UINT8;
  }
  return -1;
}

static const char *elem_name(int t) {
  switch (t) {
  case ZPT_T_F32: return "float32";
  case ZPT_T_F64: return "float64";
  case ZPT_T_U64: return "uint64";
  case ZPT_T_I64: return "int64";
  case ZPT_T_U8: return "uint8";
  }
  return "unsupported type";
}

/* Our element type of an HDF5 datatype, 0 if none matches. */
static int elem_of_h5(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT)
    return size == 4 ? ZPT_T_F32 : size == 8 ? ZPT_T_F64 : 0;
  if (cls == H5T_INTEGER) {
    int sign = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 8)
      return sign ? ZPT_T_I64 : ZPT_T_U64;
    if (size == 1 && !sign)
      return ZPT_T_U8;
  }
  return 0;
}

static uint32_t crc_of(const void *data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *p = data;
  while (bytes > 0) {
    uInt chunk = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
    crc = crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return (uint32_t)crc;
}

/* Names are '/'-separated segments of [A-Za-z0-9_.-]. */
static int valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= ZPT_CKPT_NAME_MAX - 8 || name[0] == '/' || name[n - 1] == '/')
    return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (ch == '/') {
      if (name[i + 1] == '/')
        return 0;
      continue;
    }
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
      return 0;
    if (ch == '.' && (i == 0 || name[i - 1] == '/') &&
        (name[i + 1] == '/' || name[i + 1] == 0 ||
         (name[i + 1] == '.' && (name[i + 2] == '/' || name[i + 2] == 0))))
      return 0; /* "." and ".." segments */
  }
  return 1;
}

/* ---- attributes ---- */

static int write_attr_text(hid_t obj, const char *name, const char *text) {
  size_t len = strlen(text);
  hid_t type = H5Tcopy(H5T_C_S1);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = -1;
  herr_t rc = -1;
  if (type >= 0 && space >= 0 && H5Tset_size(type, len + 1) >= 0 &&
      H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0) {
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0)
      rc = H5Awrite(attr, type, text);
  }
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  return rc < 0 ? -1 : 0;
}

static int write_attr_scalar(hid_t obj, const char *name, hid_t ftype,
                             hid_t mtype, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = space >= 0 ? H5Acreate2(obj, name, ftype, space, H5P_DEFAULT,
                                       H5P_DEFAULT) : -1;
  herr_t rc = attr >= 0 ? H5Awrite(attr, mtype, value) : -1;
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

static int read_attr_scalar(hid_t obj, const char *name, hid_t mtype,
                            void *value) {
  if (H5Aexists(obj, name) <= 0)
    return -1;
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  herr_t rc = attr >= 0 ? H5Aread(attr, mtype, value) : -1;
  if (attr >= 0) H5Aclose(attr);
  return rc < 0 ? -1 : 0;
}

/* Reads a string attribute (fixed or variable length) into a new buffer;
 * returns 0, or -1 if absent/unreadable. */
static int read_attr_text(hid_t obj, const char *name, char **out) {
  *out = NULL;
  if (H5Aexists(obj, name) <= 0)
    return -1;
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0)
    return -1;
  hid_t ftype = H5Aget_type(attr);
  int rc = -1;
  if (ftype >= 0 && H5Tget_class(ftype) == H5T_STRING && !H5Tis_variable_str(ftype)) {
    size_t size = H5Tget_size(ftype);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    char *buf = zpt_alloc(size + 1, "checkpoint attribute");
    if (mtype >= 0 && buf && H5Tset_size(mtype, size) >= 0 &&
        H5Aread(attr, mtype, buf) >= 0) {
      buf[size] = '\0';
      *out = buf;
      buf = NULL;
      rc = 0;
    }
    zpt_free(buf);
    if (mtype >= 0) H5Tclose(mtype);
  }
  if (ftype >= 0) H5Tclose(ftype);
  H5Aclose(attr);
  return rc;
}

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
    dset = H5Dcreate2(w->file, path, file_type_of(type), space, lcpl,
                      H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0) {
      uint32_t crc = crc_of(data, count * zpt_elem_size(type));
      ok = (count == 0 || H5Dwrite(dset, mem_type_of(type), H5S_ALL, H5S_ALL,
                                   H5P_DEFAULT, data) >= 0) &&
           write_attr_scalar(dset, "crc32", H5T_STD_U32LE, H5T_NATIVE_UINT32,
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
                    " to %s", w->path, path, count, elem_name(type), w->tmp);
  }
  test_delay(w);
  return ZPT_OK;
}

static int writer_put(zpt_state_writer *sw, const char *name,
                      zpt_elem_type type, const void *data, size_t count) {
  zpt_ckpt_writer *w = sw->impl;
  if (!valid_name(name))
    return zpt_fail(ZPT_EINVAL,
                    "%s: invalid checkpoint item name '%s' (expected "
                    "'/'-separated parts of [A-Za-z0-9_.-])", w->path, name);
  if (file_type_of(type) < 0)
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
  quiet_hdf5();
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
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* 1.8 file format: metadata checksums, readable by every current tool */
  if (fapl >= 0)
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  w->file = fapl >= 0 ? H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
  if (fapl >= 0)
    H5Pclose(fapl);
  if (w->file < 0) {
    int e = errno;
    zpt_free(w);
    return zpt_fail(ZPT_EIO, "%s.tmp: cannot create checkpoint file (%s)", path,
                    e ? strerror(e) : "HDF5 error");
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
  int bad = write_attr_text(w->file, "format", ZPT_CKPT_FORMAT) ||
            write_attr_scalar(w->file, "format_version", H5T_STD_I64LE,
                              H5T_NATIVE_INT64, &version) ||
            write_attr_text(w->file, "zoptic_version", ZOPTIC_VERSION) ||
            write_attr_text(w->file, "created", created) ||
            write_attr_text(w->file, "host", host) ||
            write_attr_text(w->file, "config", config_text ? config_text : "");
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

int zpt_ckpt_put_params(zpt_ckpt_writer *w, const zpt_params *p) {
  hsize_t n = p->n_params;
  ZPT_TRY(write_dataset(w, "/theta", ZPT_T_F32, p->theta, 1, &n, p->n_params, NULL));
  for (size_t v = 0; v < p->n_views; v++) {
    const zpt_view *view = &p->views[v];
    hsize_t dims[ZPT_VIEW_MAX_DIMS];
    for (int d = 0; d < view->ndim; d++)
      dims[d] = view->shape[d];
    char path[ZPT_VIEW_NAME_MAX + 16];
    snprintf(path, sizeof path, "/params/%s", view->name);
    hid_t dset = -1;
    ZPT_TRY(write_dataset(w, path, ZPT_T_F32, p->theta + view->offset,
                          view->ndim, dims, view->size, &dset));
    uint64_t offset = view->offset;
    int bad = write_attr_scalar(dset, "offset", H5T_STD_U64LE,
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

int zpt_ckpt_commit(zpt_ckpt_writer *w) {
  quiet_hdf5();
  if (w->failed) {
    zpt_ckpt_abort(w);
    return zpt_fail(ZPT_EIO, "checkpoint not written: an earlier item failed");
  }
  herr_t fl = H5Fflush(w->file, H5F_SCOPE_GLOBAL);
  herr_t cl = H5Fclose(w->file);
  w->file = -1;
  int status = ZPT_OK;
  if (fl < 0 || cl < 0)
    status = zpt_fail(ZPT_EIO, "%s: cannot flush/close checkpoint", w->tmp);
  else if (fsync_path(w->tmp, 0) != 0)
    status = zpt_fail(ZPT_EIO, "%s: fsync failed: %s", w->tmp, strerror(errno));
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
  if (status != ZPT_OK)
    unlink(w->tmp);
  zpt_free(w);
  return status;
}

void zpt_ckpt_abort(zpt_ckpt_writer *w) {
  if (!w)
    return;
  quiet_hdf5();
  if (w->file >= 0)
    H5Fclose(w->file);
  unlink(w->tmp);
  zpt_free(w);
}

/* ---- reading ---- */

/* Does every prefix of `path` (relative to the file root) exist? */
static int path_exists(hid_t file, const char *path) {
  char buf[ZPT_CKPT_NAME_MAX + 16];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf; ; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (H5Lexists(file, buf, H5P_DEFAULT) <= 0)
        return 0;
      *p = saved;
      if (!saved)
        return 1;
    }
  }
}

typedef struct {
  int type;
  int ndim;
  hsize_t dims[4];
  size_t count;
} dset_info;

static int describe_dataset(hid_t dset, dset_info *info) {
  memset(info, 0, sizeof *info);
  hid_t t = H5Dget_type(dset);
  hid_t s = H5Dget_space(dset);
  int ok = t >= 0 && s >= 0;
  if (ok) {
    info->type = elem_of_h5(t);
    info->ndim = H5Sget_simple_extent_ndims(s);
    ok = info->ndim >= 0 && info->ndim <= 4 &&
         H5Sget_simple_extent_dims(s, info->dims, NULL) >= 0;
    info->count = 1;
    for (int d = 0; ok && d < info->ndim; d++)
      info->count *= (size_t)info->dims[d];
  }
  if (t >= 0) H5Tclose(t);
  if (s >= 0) H5Sclose(s);
  return ok ? 0 : -1;
}

/* Opens dataset `path`, checks type and element count, reads and verifies
 * its crc32.  data may be NULL (then only *info is filled). */
static int read_dataset(zpt_ckpt_reader *r, const char *path, const char *item,
                        zpt_elem_type type, void *data, size_t count,
                        int want_1d, dset_info *info) {
  if (!path_exists(r->file, path))
    return zpt_fail(ZPT_ENOTFOUND, "%s: checkpoint has no item '%s'", r->path, item);
  hid_t dset = H5Dopen2(r->file, path, H5P_DEFAULT);
  if (dset < 0)
    return zpt_fail(ZPT_EFORMAT, "%s: item '%s' is not a readable dataset "
                    "(file corrupt?)", r->path, item);
  int status = ZPT_OK;
  if (describe_dataset(dset, info) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: item '%s': cannot read its type and "
                      "shape (file corrupt?)", r->path, item);
  else if (info->type != (int)type || (want_1d && info->ndim != 1) ||
           (data && info->count != count))
    status = zpt_fail(ZPT_EFORMAT, "%s: item '%s' holds %zu x %s (%d-D), "
                      "expected %zu x %s%s", r->path, item, info->count,
                      elem_name(info->type), info->ndim, count, elem_name(type),
                      want_1d ? " (1-D)" : "");
  else if (data) {
    uint32_t stored = 0;
    if (count > 0 && H5Dread(dset, mem_type_of(type), H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, data) < 0)
      status = zpt_fail(ZPT_EFORMAT, "%s: item '%s': read failed (file corrupt "
                        "or truncated)", r->path, item);
    else if (read_attr_scalar(dset, "crc32", H5T_NATIVE_UINT32, &stored) != 0)
      status = zpt_fail(ZPT_EFORMAT, "%s: item '%s' has no crc32 attribute "
                        "(not written by zoptic?)", r->path, item);
    else if (stored != crc_of(data, count * zpt_elem_size(type)))
      status = zpt_fail(ZPT_EFORMAT, "%s: item '%s': checksum mismatch (the "
                        "file is corrupt)", r->path, item);
  }
  H5Dclose(dset);
  return status;
}

static int reader_get(zpt_state_reader *sr, const char *name,
                      zpt_elem_type type, void *data, size_t count) {
  zpt_ckpt_reader *r = sr->impl;
  quiet_hdf5();
  if (!valid_name(name))
    return zpt_fail(ZPT_EINVAL, "%s: invalid checkpoint item name '%s'",
                    r->path, name);
  if (file_type_of(type) < 0)
    return zpt_fail(ZPT_EINVAL, "%s: item '%s': unknown element type %d",
                    r->path, name, (int)type);
  char path[ZPT_CKPT_NAME_MAX + 16];
  snprintf(path, sizeof path, "state/%s", name);
  dset_info info;
  if (count > 0 && !data)
    return zpt_fail(ZPT_EINVAL, "%s: item '%s': no buffer", r->path, name);
  /* a zero-count read still needs a non-NULL marker for "read the data" */
  char dummy;
  return read_dataset(r, path, name, type, data ? data : &dummy, count, 1, &info);
}

static int reader_size(zpt_state_reader *sr, const char *name,
                       zpt_elem_type type, size_t *count) {
  zpt_ckpt_reader *r = sr->impl;
  quiet_hdf5();
  if (!valid_name(name))
    return zpt_fail(ZPT_EINVAL, "%s: invalid checkpoint item name '%s'",
                    r->path, name);
  char path[ZPT_CKPT_NAME_MAX + 16];
  snprintf(path, sizeof path, "state/%s", name);
  dset_info info;
  ZPT_TRY(read_dataset(r, path, name, type, NULL, 0, 1, &info));
  *count = info.count;
  return ZPT_OK;
}

int zpt_ckpt_open(const char *path, zpt_ckpt_reader **out) {
  quiet_hdf5();
  *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0)
    return zpt_fail(errno == ENOENT ? ZPT_ENOTFOUND : ZPT_EIO,
                    "%s: cannot open checkpoint: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return zpt_fail(ZPT_EFORMAT, "%s: not a checkpoint file (not a regular file)", path);
  if (strlen(path) >= PATH_MAX_LEN)
    return zpt_fail(ZPT_EINVAL, "checkpoint path too long: %s", path);
  if (H5Fis_hdf5(path) <= 0)
    return zpt_fail(ZPT_EFORMAT, "%s: not an HDF5 file (no HDF5 signature: "
                    "corrupt, or not a checkpoint)", path);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return zpt_fail(ZPT_EFORMAT, "%s: cannot open HDF5 file (truncated or "
                    "corrupt)", path);
  char *format = NULL;
  int64_t version = -1;
  int status = ZPT_OK;
  if (read_attr_text(file, "format", &format) != 0 ||
      strcmp(format, ZPT_CKPT_FORMAT) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: not a zoptic checkpoint (root attribute "
                      "'format' is not \"%s\")", path, ZPT_CKPT_FORMAT);
  else if (read_attr_scalar(file, "format_version", H5T_NATIVE_INT64, &version) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: checkpoint has no readable "
                      "'format_version' attribute (corrupt?)", path);
  else if (version != ZPT_CKPT_VERSION)
    status = zpt_fail(ZPT_EFORMAT, "%s: checkpoint format version %lld, but "
                      "zoptic %s reads version %d", path, (long long)version,
                      ZOPTIC_VERSION, ZPT_CKPT_VERSION);
  zpt_free(format);
  if (status != ZPT_OK) {
    H5Fclose(file);
    return status;
  }
  zpt_ckpt_reader *r = zpt_new(zpt_ckpt_reader, "checkpoint reader");
  if (!r) {
    H5Fclose(file);
    return ZPT_ENOMEM;
  }
  r->file = file;
  snprintf(r->path, sizeof r->path, "%s", path);
  r->sr.get = reader_get;
  r->sr.size = reader_size;
  r->sr.impl = r;
  *out = r;
  return ZPT_OK;
}

void zpt_ckpt_close(zpt_ckpt_reader *r) {
  if (!r)
    return;
  quiet_hdf5();
  H5Fclose(r->file);
  zpt_free(r);
}

zpt_state_reader *zpt_ckpt_state_reader(zpt_ckpt_reader *r) { return &r->sr; }

int zpt_ckpt_attr_text(zpt_ckpt_reader *r, const char *name, char **text) {
  quiet_hdf5();
  if (read_attr_text(r->file, name, text) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "%s: checkpoint has no text attribute '%s'",
                    r->path, name);
  return ZPT_OK;
}

int zpt_ckpt_get_theta(zpt_ckpt_reader *r, float **theta, size_t *n) {
  quiet_hdf5();
  *theta = NULL;
  dset_info info;
  ZPT_TRY(read_dataset(r, "theta", "theta", ZPT_T_F32, NULL, 0, 1, &info));
  float *buf = zpt_floats(info.count ? info.count : 1, "checkpoint theta");
  if (!buf)
    return ZPT_ENOMEM;
  int rc = read_dataset(r, "theta", "theta", ZPT_T_F32, buf, info.count, 1, &info);
  if (rc != ZPT_OK) {
    zpt_free(buf);
    return rc;
  }
  *theta = buf;
  *n = info.count;
  return ZPT_OK;
}

int zpt_ckpt_get_params(zpt_ckpt_reader *r, zpt_params *p) {
  quiet_hdf5();
  for (size_t v = 0; v < p->n_views; v++) {
    const zpt_view *view = &p->views[v];
    char path[ZPT_VIEW_NAME_MAX + 16], item[ZPT_VIEW_NAME_MAX + 16];
    snprintf(path, sizeof path, "params/%s", view->name);
    snprintf(item, sizeof item, "params/%s", view->name);
    dset_info info;
    ZPT_TRY(read_dataset(r, path, item, ZPT_T_F32, NULL, 0, 0, &info));
    int same = info.ndim == view->ndim;
    for (int d = 0; same && d < view->ndim; d++)
      same = info.dims[d] == view->shape[d];
    char want[64], have[64] = "";
    zpt_view_shape_str(view, want, sizeof want);
    size_t used = 0;
    for (int d = 0; d < info.ndim && used < sizeof have; d++)
      used += (size_t)snprintf(have + used, sizeof have - used, "%s%llu",
                               d ? "x" : "", (unsigned long long)info.dims[d]);
    if (!same)
      return zpt_fail(ZPT_EFORMAT, "%s: view '%s' has shape %s in the "
                      "checkpoint, the model expects %s", r->path, view->name,
                      have, want);
    hid_t dset = H5Dopen2(r->file, path, H5P_DEFAULT);
    uint64_t offset = UINT64_MAX;
    if (dset >= 0) {
      read_attr_scalar(dset, "offset", H5T_NATIVE_UINT64, &offset);
      H5Dclose(dset);
    }
    if (offset != view->offset)
      return zpt_fail(ZPT_EFORMAT, "%s: view '%s' starts at %llu in the "
                      "checkpoint, the model expects %zu", r->path, view->name,
                      (unsigned long long)offset, view->offset);
  }
  float *theta = NULL;
  size_t n = 0;
  ZPT_TRY(zpt_ckpt_get_theta(r, &theta, &n));
  if (n != p->n_params) {
    zpt_free(theta);
    return zpt_fail(ZPT_EFORMAT, "%s: theta has %zu values in the checkpoint, "
                    "the model has %zu parameters", r->path, n, p->n_params);
  }
  if (n)
    memcpy(p->theta, theta, n * sizeof(float));
  zpt_free(theta);
  return ZPT_OK;
}

/* ---- listing ---- */

typedef struct {
  zpt_ckpt_reader *r;
  hid_t group;
  zpt_ckpt_item *items;
  size_t n, cap;
  int status;
} list_ctx;

static herr_t list_one(hid_t group, const char *name, const H5L_info_t *linfo,
                       void *data) {
  (void)linfo;
  list_ctx *c = data;
  hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) {
    c->status = zpt_fail(ZPT_EFORMAT, "%s: cannot open object '%s' (corrupt?)",
                         c->r->path, name);
    return -1;
  }
  herr_t ret = 0;
  if (H5Iget_type(obj) == H5I_DATASET) {
    if (c->n == c->cap) {
      size_t cap = c->cap ? 2 * c->cap : 16;
      zpt_ckpt_item *items = zpt_new_array(zpt_ckpt_item, cap, "checkpoint item list");
      if (!items) {
        c->status = ZPT_ENOMEM;
        H5Oclose(obj);
        return -1;
      }
      if (c->n)
        memcpy(items, c->items, c->n * sizeof *items);
      zpt_free(c->items);
      c->items = items;
      c->cap = cap;
    }
    zpt_ckpt_item *it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%s", name);
    dset_info info;
    if (describe_dataset(obj, &info) != 0) {
      c->status = zpt_fail(ZPT_EFORMAT, "%s: cannot describe dataset '%s'",
                           c->r->path, name);
      ret = -1;
    } else {
      it->type = (zpt_elem_type)info.type;
      it->ndim = info.ndim;
      for (int d = 0; d < info.ndim; d++)
        it->shape[d] = (size_t)info.dims[d];
      it->count = info.count;
      uint64_t off = 0;
      if (read_attr_scalar(obj, "offset", H5T_NATIVE_UINT64, &off) == 0)
        it->offset = (size_t)off;
      c->n++;
    }
  }
  H5Oclose(obj);
  return ret;
}

int zpt_ckpt_list(zpt_ckpt_reader *r, const char *group, zpt_ckpt_item **items,
                  size_t *n) {
  quiet_hdf5();
  *items = NULL;
  *n = 0;
  if (H5Lexists(r->file, group, H5P_DEFAULT) <= 0)
    return zpt_fail(ZPT_ENOTFOUND, "%s: checkpoint has no group '%s'", r->path, group);
  hid_t g = H5Gopen2(r->file, group, H5P_DEFAULT);
  if (g < 0)
    return zpt_fail(ZPT_EFORMAT, "%s: cannot open group '%s' (corrupt?)", r->path, group);
  list_ctx c = {r, g, NULL, 0, 0, ZPT_OK};
  herr_t rc;
  if (!strcmp(group, "params")) {
    hsize_t idx = 0;
    rc = H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, list_one, &c);
  } else {
    rc = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, list_one, &c);
  }
  H5Gclose(g);
  if (rc < 0 || c.status != ZPT_OK) {
    zpt_free(c.items);
    if (c.status != ZPT_OK)
      return c.status;
    return zpt_fail(ZPT_EFORMAT, "%s: cannot list group '%s' (corrupt?)", r->path, group);
  }
  *items = c.items;
  *n = c.n;
  return ZPT_OK;
}
