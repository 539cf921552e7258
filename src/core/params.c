#include "core/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

zpt_params *zpt_params_alloc(void) {
  return zpt_new(zpt_params, "parameter store");
}

void zpt_params_free(zpt_params *p) {
  if (!p)
    return;
  zpt_free(p->theta);
  free(p->views);
  zpt_free(p);
}

static int valid_name(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= ZPT_VIEW_NAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok)
      return 0;
  }
  return 1;
}

static int grow_theta(zpt_params *p, size_t need) {
  if (need <= p->cap_params)
    return ZPT_OK;
  size_t cap = p->cap_params ? p->cap_params : 256;
  while (cap < need)
    cap *= 2;
  float *t = zpt_floats(cap, "parameter vector theta");
  if (!t)
    return ZPT_ENOMEM;
  if (p->n_params)
    memcpy(t, p->theta, p->n_params * sizeof *t);
  zpt_free(p->theta);
  p->theta = t;
  p->cap_params = cap;
  return ZPT_OK;
}

int zpt_params_add(zpt_params *p, const char *name, int ndim,
                   const size_t *shape, size_t *offset) {
  if (!name || !valid_name(name))
    return zpt_fail(ZPT_EINVAL,
                    "parameter view name '%s': expected 1..%d characters from [A-Za-z0-9_.-]",
                    name ? name : "(null)", ZPT_VIEW_NAME_MAX - 1);
  if (ndim < 1 || ndim > ZPT_VIEW_MAX_DIMS)
    return zpt_fail(ZPT_EINVAL, "parameter view '%s': %d dimensions, expected 1..%d",
                    name, ndim, ZPT_VIEW_MAX_DIMS);
  if (zpt_params_find(p, name))
    return zpt_fail(ZPT_EINVAL, "parameter view '%s' registered twice", name);
  size_t size = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 0)
      return zpt_fail(ZPT_EINVAL, "parameter view '%s': dimension %d is 0", name, d);
    if (zpt_mul_size(size, shape[d], &size) != ZPT_OK)
      return zpt_fail(ZPT_ERANGE, "parameter view '%s': size overflows", name);
  }
  if (p->n_params + size < p->n_params)
    return zpt_fail(ZPT_ERANGE, "parameter view '%s': store size overflows", name);
  ZPT_TRY(grow_theta(p, p->n_params + size));
  if (p->n_views == p->cap_views) {
    size_t cap = p->cap_views ? 2 * p->cap_views : 8;
    zpt_view *v = realloc(p->views, cap * sizeof *v);
    if (!v)
      return zpt_fail(ZPT_ENOMEM, "out of memory growing parameter views");
    p->views = v;
    p->cap_views = cap;
  }
  zpt_view *v = &p->views[p->n_views++];
  memset(v, 0, sizeof *v);
  strcpy(v->name, name);
  v->ndim = ndim;
  for (int d = 0; d < ndim; d++)
    v->shape[d] = shape[d];
  v->offset = p->n_params;
  v->size = size;
  memset(p->theta + p->n_params, 0, size * sizeof(float));
  p->n_params += size;
  if (offset)
    *offset = v->offset;
  return ZPT_OK;
}

const zpt_view *zpt_params_find(const zpt_params *p, const char *name) {
  for (size_t i = 0; i < p->n_views; i++)
    if (strcmp(p->views[i].name, name) == 0)
      return &p->views[i];
  return NULL;
}

int zpt_params_lookup(const zpt_params *p, const char *name,
                      const zpt_view **view) {
  *view = zpt_params_find(p, name);
  if (!*view)
    return zpt_fail(ZPT_ENOTFOUND, "no parameter view named '%s'", name);
  return ZPT_OK;
}

size_t zpt_params_view_of(const zpt_params *p, size_t i) {
  /* views are sorted by offset: binary search */
  size_t lo = 0, hi = p->n_views;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (p->views[mid].offset <= i)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

void zpt_view_shape_str(const zpt_view *v, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int d = 0; d < v->ndim && used < len; d++) {
    int n = snprintf(buf + used, len - used, d ? "x%zu" : "%zu", v->shape[d]);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}
