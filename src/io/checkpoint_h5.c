#define _POSIX_C_SOURCE 200809L
/* Checkpoint helpers shared by writing and reading: element types, CRCs,
 * names, HDF5 attributes. */
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

/* HDF5 prints its own error stack on stderr by default: we report ours. */
void zpt_ck_quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

hid_t zpt_ck_file_type_of(zpt_elem_type t) {
  switch (t) {
  case ZPT_T_F32: return H5T_IEEE_F32LE;
  case ZPT_T_F64: return H5T_IEEE_F64LE;
  case ZPT_T_U64: return H5T_STD_U64LE;
  case ZPT_T_I64: return H5T_STD_I64LE;
  case ZPT_T_U8: return H5T_STD_U8LE;
  }
  return -1;
}

hid_t zpt_ck_mem_type_of(zpt_elem_type t) {
  switch (t) {
  case ZPT_T_F32: return H5T_NATIVE_FLOAT;
  case ZPT_T_F64: return H5T_NATIVE_DOUBLE;
  case ZPT_T_U64: return H5T_NATIVE_UINT64;
  case ZPT_T_I64: return H5T_NATIVE_INT64;
  case ZPT_T_U8: return H5T_NATIVE_UINT8;
  }
  return -1;
}

const char *zpt_ck_elem_name(int t) {
  switch (t) {
  case ZPT_T_F32: return "float32";
  case ZPT_T_F64: return "float64";
  case ZPT_T_U64: return "uint64";
  case ZPT_T_I64: return "int64";
  case ZPT_T_U8: return "uint8";
  }
  return "unsupported type";
}

const char *zpt_ckpt_type_name(zpt_elem_type t) { return zpt_ck_elem_name((int)t); }

/* Our element type of an HDF5 datatype, 0 if none matches. */
int zpt_ck_elem_of_h5(hid_t type) {
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

uint32_t zpt_ck_crc_of(const void *data, size_t bytes) {
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
int zpt_ck_valid_name(const char *name) {
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

int zpt_ck_write_attr_text(hid_t obj, const char *name, const char *text) {
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

int zpt_ck_write_attr_scalar(hid_t obj, const char *name, hid_t ftype,
                             hid_t mtype, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = space >= 0 ? H5Acreate2(obj, name, ftype, space, H5P_DEFAULT,
                                       H5P_DEFAULT) : -1;
  herr_t rc = attr >= 0 ? H5Awrite(attr, mtype, value) : -1;
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

int zpt_ck_read_attr_scalar(hid_t obj, const char *name, hid_t mtype,
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
int zpt_ck_read_attr_text(hid_t obj, const char *name, char **out) {
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
