/* The object map of a checkpoint file (ckpt_map.h). */
#include "io/ckpt_map.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/le.h"
#include "core/status.h"
#include "io/checkpoint_internal.h"

#define MAP_MAGIC "zoptic-map\0\0\0\0\0\0"
#define ENTRY_FIXED 24u /* start, length, crc, kind, 0, name length */
#define KIND_DATA 0
#define KIND_HEADER 1

typedef struct {
  uint64_t start, len;
  int kind;
  char name[ZPT_CKPT_NAME_MAX + 16];
} map_entry;

struct zpt_ckpt_map {
  map_entry *e;
  size_t n, cap;
  int failed;
};

static void add(zpt_ckpt_map *m, const char *name, int kind, uint64_t start, uint64_t len) {
  if (m->failed || len == 0)
    return;
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 32;
    map_entry *e = zpt_alloc(cap * sizeof *e, "checkpoint map");
    if (!e) {
      m->failed = 1;
      return;
    }
    if (m->n)
      memcpy(e, m->e, m->n * sizeof *e);
    zpt_free(m->e);
    m->e = e;
    m->cap = cap;
  }
  map_entry *x = &m->e[m->n++];
  x->start = start;
  x->len = len;
  x->kind = kind;
  snprintf(x->name, sizeof x->name, "%s%s", name[0] == '/' ? "" : "/", name);
}

/* H5Ovisit2 callback: the header of every object (when contiguous) and
 * the stored data of every dataset with contiguous storage. */
static herr_t visit(hid_t loc, const char *name, const H5O_info_t *info, void *op) {
  zpt_ckpt_map *m = op;
  const char *shown = strcmp(name, ".") == 0 ? "/" : name;
  if (info->hdr.nchunks == 1)
    add(m, shown, KIND_HEADER, info->addr, info->hdr.space.total);
  if (info->type != H5O_TYPE_DATASET)
    return 0;
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0)
    return 0;
  haddr_t at = H5Dget_offset(d); /* HADDR_UNDEF: a view, or no data */
  hsize_t bytes = H5Dget_storage_size(d);
  if (at != HADDR_UNDEF)
    add(m, shown, KIND_DATA, at, bytes);
  H5Dclose(d);
  return 0;
}

int zpt_ckpt_map_collect(hid_t file, zpt_ckpt_map **out) {
  *out = NULL;
  zpt_ckpt_map *m = zpt_new(zpt_ckpt_map, "checkpoint map");
  if (!m)
    return ZPT_ENOMEM;
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit, m,
                H5O_INFO_BASIC | H5O_INFO_HDR) < 0 || m->failed) {
    zpt_ckpt_map_free(m);
    return zpt_fail(ZPT_EIO, "cannot list the objects of the checkpoint image (HDF5 error)");
  }
  *out = m;
  return ZPT_OK;
}

void zpt_ckpt_map_free(zpt_ckpt_map *m) {
  if (!m)
    return;
  zpt_free(m->e);
  zpt_free(m);
}

size_t zpt_ckpt_map_bytes(const zpt_ckpt_map *m) {
  size_t n = ZPT_CKPT_MAP_FOOTER;
  for (size_t i = 0; i < m->n; i++)
    n += ENTRY_FIXED + strlen(m->e[i].name);
  return n;
}

void zpt_ckpt_map_put(const zpt_ckpt_map *m, unsigned char *image, size_t hdf5_len) {
  unsigned char *p = image + hdf5_len, *first = p;
  for (size_t i = 0; i < m->n; i++) {
    const map_entry *x = &m->e[i];
    size_t name_len = strlen(x->name);
    int inside = x->start <= hdf5_len && x->len <= hdf5_len - x->start;
    zpt_put_u64(p, x->start);
    zpt_put_u64(p + 8, x->len);
    zpt_put_u32(p + 16, inside ? zpt_ck_crc_of(image + x->start, (size_t)x->len) : 0);
    p[20] = (unsigned char)x->kind;
    p[21] = 0;
    zpt_put_u16(p + 22, (uint16_t)name_len);
    memcpy(p + ENTRY_FIXED, x->name, name_len);
    p += ENTRY_FIXED + name_len;
  }
  memcpy(p, MAP_MAGIC, 16);
  zpt_put_u64(p + 16, (uint64_t)(p - first) + ZPT_CKPT_MAP_FOOTER);
  zpt_put_u32(p + 24, (uint32_t)m->n);
  zpt_put_u32(p + 28, zpt_ck_crc_of(first, (size_t)(p - first) + 28));
}

size_t zpt_ckpt_map_len(const unsigned char *body, size_t len) {
  if (len < ZPT_CKPT_MAP_FOOTER)
    return 0;
  const unsigned char *f = body + len - ZPT_CKPT_MAP_FOOTER;
  uint64_t n = zpt_get_u64(f + 16);
  if (memcmp(f, MAP_MAGIC, 16) != 0 || n < ZPT_CKPT_MAP_FOOTER || n > len)
    return 0;
  return (size_t)n;
}

static void append(char *out, size_t cap, const char *text) {
  size_t used = strlen(out);
  if (used + 1 < cap)
    snprintf(out + used, cap - used, "%s", text);
}

int zpt_ckpt_map_explain(const unsigned char *body, size_t len, char *out, size_t cap) {
  out[0] = '\0';
  size_t n = zpt_ckpt_map_len(body, len);
  const unsigned char *f = body + len - ZPT_CKPT_MAP_FOOTER;
  if (n == 0 || zpt_ck_crc_of(body + len - n, n - 4) != zpt_get_u32(f + 28)) {
    snprintf(out, cap, "%s", n == 0 ? "objects unknown (no object map: a checkpoint written "
             "before zoptic recorded one, or its map's footer is damaged)"
             : "the checkpoint's object map (the HDF5 objects may be intact)");
    return -1;
  }
  size_t hdf5_len = len - n, count = zpt_get_u32(f + 24), named = 0;
  const unsigned char *p = body + hdf5_len, *end = f;
  for (size_t i = 0; i < count && (size_t)(end - p) >= ENTRY_FIXED; i++) {
    uint64_t s = zpt_get_u64(p), l = zpt_get_u64(p + 8);
    size_t name_len = zpt_get_u16(p + 22);
    if ((size_t)(end - p) - ENTRY_FIXED < name_len)
      break;
    char name[ZPT_CKPT_NAME_MAX + 16];
    snprintf(name, sizeof name, "%.*s", (int)(name_len < sizeof name ? name_len
                                              : sizeof name - 1), (const char *)p + ENTRY_FIXED);
    int inside = s <= hdf5_len && l <= hdf5_len - s;
    if (inside && zpt_ck_crc_of(body + s, (size_t)l) != zpt_get_u32(p + 16)) {
      char item[ZPT_CKPT_NAME_MAX + 96];
      snprintf(item, sizeof item, "%s%s%s (bytes %llu..%llu)", named ? "; " : "",
               p[20] == KIND_DATA ? "the data of " : "the HDF5 object header of ", name,
               (unsigned long long)s, (unsigned long long)(s + l - 1));
      append(out, cap, item);
      named++;
    }
    p += ENTRY_FIXED + name_len;
  }
  if (!named)
    snprintf(out, cap, "HDF5 metadata that no one dataset owns (the superblock, group tables "
             "and heaps, the root's attributes such as the configuration)");
  return (int)named;
}
