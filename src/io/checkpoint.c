#define _POSIX_C_SOURCE 200809L
/* Reading and listing a checkpoint (writing: checkpoint_write.c). */
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
    info->type = zpt_ck_elem_of_h5(t);
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
                      zpt_ck_elem_name(info->type), info->ndim, count,
                      zpt_ck_elem_name(type), want_1d ? " (1-D)" : "");
  else if (data) {
    uint32_t stored = 0;
    if (count > 0 && H5Dread(dset, zpt_ck_mem_type_of(type), H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, data) < 0)
      status = zpt_fail(ZPT_EFORMAT, "%s: item '%s': read failed (file corrupt "
                        "or truncated)", r->path, item);
    else if (zpt_ck_read_attr_scalar(dset, "crc32", H5T_NATIVE_UINT32, &stored) != 0)
      status = zpt_fail(ZPT_EFORMAT, "%s: item '%s' has no crc32 attribute "
                        "(not written by zoptic?)", r->path, item);
    else if (stored != zpt_ck_crc_of(data, count * zpt_elem_size(type)))
      status = zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (item '%s': CRC-32 "
                        "check of its data failed)", r->path, item);
  }
  H5Dclose(dset);
  return status;
}

static int reader_get(zpt_state_reader *sr, const char *name,
                      zpt_elem_type type, void *data, size_t count) {
  zpt_ckpt_reader *r = sr->impl;
  zpt_ck_quiet_hdf5();
  if (!zpt_ck_valid_name(name))
    return zpt_fail(ZPT_EINVAL, "%s: invalid checkpoint item name '%s'",
                    r->path, name);
  if (zpt_ck_file_type_of(type) < 0)
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
  zpt_ck_quiet_hdf5();
  if (!zpt_ck_valid_name(name))
    return zpt_fail(ZPT_EINVAL, "%s: invalid checkpoint item name '%s'",
                    r->path, name);
  char path[ZPT_CKPT_NAME_MAX + 16];
  snprintf(path, sizeof path, "state/%s", name);
  dset_info info;
  ZPT_TRY(read_dataset(r, path, name, type, NULL, 0, 1, &info));
  *count = info.count;
  return ZPT_OK;
}

int zpt_ck_open_image(const char *path, const unsigned char *image, size_t img_size,
                      int legacy, zpt_ckpt_reader **out) {
  zpt_ck_quiet_hdf5();
  *out = NULL;
  /* HDF5 opens the image under a name that is no file on disk (the core
   * driver refuses to shadow one) */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0 &&
      H5Pset_file_image(fapl, (void *)image, img_size) >= 0)
    file = H5Fopen("zoptic checkpoint image (not a file)", H5F_ACC_RDONLY, fapl);
  if (fapl >= 0)
    H5Pclose(fapl);
  if (file < 0)
    return zpt_fail(ZPT_EFORMAT, "%s: %s", path,
                    legacy ? "cannot open HDF5 file (truncated or corrupt)"
                           : "corrupt zoptic checkpoint (HDF5 cannot open its image)");
  char *format = NULL;
  int64_t version = -1;
  int status = ZPT_OK;
  if (H5Aexists(file, "format") > 0 && zpt_ck_read_attr_text(file, "format", &format) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (root attribute 'format' "
                      "unreadable)", path);
  else if (!format || strcmp(format, ZPT_CKPT_FORMAT) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: not a zoptic checkpoint (root attribute "
                      "'format' is not \"%s\")", path, ZPT_CKPT_FORMAT);
  else if (zpt_ck_read_attr_scalar(file, "format_version", H5T_NATIVE_INT64, &version) != 0)
    status = zpt_fail(ZPT_EFORMAT, "%s: checkpoint has no readable "
                      "'format_version' attribute (corrupt?)", path);
  else if (version < ZPT_CKPT_VERSION_MIN || version > ZPT_CKPT_VERSION)
    status = zpt_fail(ZPT_EFORMAT, "%s: checkpoint format version %lld, but "
                      "zoptic %s reads versions %d to %d", path, (long long)version,
                      ZOPTIC_VERSION, ZPT_CKPT_VERSION_MIN, ZPT_CKPT_VERSION);
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
  r->version = (int)version;
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
  zpt_ck_quiet_hdf5();
  H5Fclose(r->file);
  zpt_free(r);
}

zpt_state_reader *zpt_ckpt_state_reader(zpt_ckpt_reader *r) { return &r->sr; }

int zpt_ckpt_version(const zpt_ckpt_reader *r) { return r->version; }

int zpt_ckpt_attr_text(zpt_ckpt_reader *r, const char *name, char **text) {
  zpt_ck_quiet_hdf5();
  if (zpt_ck_read_attr_text(r->file, name, text) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "%s: checkpoint has no text attribute '%s'",
                    r->path, name);
  return ZPT_OK;
}

int zpt_ckpt_get_theta(zpt_ckpt_reader *r, float **theta, size_t *n) {
  zpt_ck_quiet_hdf5();
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
  zpt_ck_quiet_hdf5();
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
      zpt_ck_read_attr_scalar(dset, "offset", H5T_NATIVE_UINT64, &offset);
      H5Dclose(dset);
    }
    if (offset != view->offset)
      return zpt_fail(ZPT_EFORMAT, "%s: view '%s' starts at %llu in the "
                      "checkpoint, the model expects %zu", r->path, view->name,
                      (unsigned long long)offset, view->offset);
  }
  /* straight into the store, theta's one home */
  dset_info info;
  ZPT_TRY(read_dataset(r, "theta", "theta", ZPT_T_F32, NULL, 0, 1, &info));
  if (info.count != p->n_params)
    return zpt_fail(ZPT_EFORMAT, "%s: theta has %zu values in the checkpoint, "
                    "the model has %zu parameters", r->path, info.count,
                    p->n_params);
  if (info.count == 0)
    return ZPT_OK;
  return read_dataset(r, "theta", "theta", ZPT_T_F32, p->theta, info.count, 1, &info);
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
      if (zpt_ck_read_attr_scalar(obj, "offset", H5T_NATIVE_UINT64, &off) == 0)
        it->offset = (size_t)off;
      c->n++;
    }
  }
  H5Oclose(obj);
  return ret;
}

int zpt_ckpt_list(zpt_ckpt_reader *r, const char *group, zpt_ckpt_item **items,
                  size_t *n) {
  zpt_ck_quiet_hdf5();
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
