/* In-memory state writer/reader (see memstate.h). */
#include "zo/memstate.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

typedef struct {
  char *name;
  zpt_elem_type type;
  size_t count;
  void *data;
} item;

struct zpt_memstate {
  item *items;
  size_t n, cap;
};

zpt_memstate *zpt_memstate_alloc(void) {
  return zpt_new(zpt_memstate, "in-memory state");
}

void zpt_memstate_free(zpt_memstate *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++) {
    zpt_free(m->items[i].name);
    zpt_free(m->items[i].data);
  }
  zpt_free(m->items);
  zpt_free(m);
}

static item *find(zpt_memstate *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->items[i].name, name) == 0)
      return &m->items[i];
  return NULL;
}

static int mem_put(zpt_state_writer *w, const char *name, zpt_elem_type type,
                   const void *data, size_t count) {
  zpt_memstate *m = w->impl;
  size_t es = zpt_elem_size(type);
  if (!name || !*name)
    return zpt_fail(ZPT_EINVAL, "in-memory state: empty item name");
  if (es == 0)
    return zpt_fail(ZPT_EINVAL, "in-memory state: item %s: unknown element "
                    "type %d", name, (int)type);
  if (find(m, name))
    return zpt_fail(ZPT_EINVAL, "in-memory state: item %s written twice",
                    name);
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 16;
    item *grown = zpt_new_array(item, cap, "in-memory state items");
    if (!grown)
      return ZPT_ENOMEM;
    if (m->n)
      memcpy(grown, m->items, m->n * sizeof(item));
    zpt_free(m->items);
    m->items = grown;
    m->cap = cap;
  }
  size_t bytes;
  ZPT_TRY(zpt_mul_size(count, es, &bytes));
  item it = {0};
  it.name = zpt_alloc(strlen(name) + 1, "state item name");
  it.data = zpt_alloc(bytes, "state item data");
  if (!it.name || !it.data) {
    zpt_free(it.name);
    zpt_free(it.data);
    return ZPT_ENOMEM;
  }
  memcpy(it.name, name, strlen(name) + 1);
  if (bytes)
    memcpy(it.data, data, bytes);
  it.type = type;
  it.count = count;
  m->items[m->n++] = it;
  return ZPT_OK;
}

static int mem_size(zpt_state_reader *r, const char *name, zpt_elem_type type,
                    size_t *count) {
  item *it = find(r->impl, name);
  if (!it)
    return zpt_fail(ZPT_ENOTFOUND, "in-memory state: no item %s", name);
  if (it->type != type)
    return zpt_fail(ZPT_EFORMAT, "in-memory state: item %s has element type "
                    "%d, expected %d", name, (int)it->type, (int)type);
  *count = it->count;
  return ZPT_OK;
}

static int mem_get(zpt_state_reader *r, const char *name, zpt_elem_type type,
                   void *data, size_t count) {
  size_t have;
  ZPT_TRY(mem_size(r, name, type, &have));
  if (have != count)
    return zpt_fail(ZPT_EFORMAT, "in-memory state: item %s holds %zu "
                    "elements, expected %zu", name, have, count);
  item *it = find(r->impl, name);
  if (count)
    memcpy(data, it->data, count * zpt_elem_size(type));
  return ZPT_OK;
}

void zpt_memstate_writer(zpt_memstate *m, zpt_state_writer *w) {
  w->put = mem_put;
  w->impl = m;
}

void zpt_memstate_reader(zpt_memstate *m, zpt_state_reader *r) {
  r->get = mem_get;
  r->size = mem_size;
  r->impl = m;
}

size_t zpt_memstate_count(const zpt_memstate *m) { return m->n; }

const char *zpt_memstate_name(const zpt_memstate *m, size_t i) {
  return i < m->n ? m->items[i].name : NULL;
}

void *zpt_memstate_data(zpt_memstate *m, const char *name, zpt_elem_type *type,
                        size_t *count) {
  item *it = find(m, name);
  if (!it)
    return NULL;
  if (type)
    *type = it->type;
  if (count)
    *count = it->count;
  return it->data;
}
