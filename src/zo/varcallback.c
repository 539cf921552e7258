/* The variation-descriptor callback black box (varcallback.h): unpacks the
 * zpt_variation array into parallel arrays kept between calls (grown as
 * needed). */
#include "zo/varcallback.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

typedef struct {
  zpt_blackbox bb; /* first: one allocation */
  char name[64];
  zpt_vars_query_fn fn;
  void *user;
  size_t cap;          /* variations the arrays below hold */
  size_t *offsets, *lens;
  float *scales;
  const float **deltas;
} callback_box;

static void free_arrays(callback_box *c) {
  zpt_free(c->offsets);
  zpt_free(c->lens);
  zpt_free(c->scales);
  zpt_free((void *)c->deltas);
  c->offsets = c->lens = NULL;
  c->scales = NULL;
  c->deltas = NULL;
  c->cap = 0;
}

static int grow(callback_box *c, size_t n) {
  if (n <= c->cap)
    return ZPT_OK;
  free_arrays(c);
  c->offsets = zpt_alloc(n * sizeof *c->offsets, "vars-callback box offsets");
  c->lens = zpt_alloc(n * sizeof *c->lens, "vars-callback box lengths");
  c->scales = zpt_alloc(n * sizeof *c->scales, "vars-callback box scales");
  c->deltas = zpt_alloc(n * sizeof *c->deltas, "vars-callback box deltas");
  if (!c->offsets || !c->lens || !c->scales || !c->deltas) {
    free_arrays(c);
    return ZPT_ENOMEM;
  }
  c->cap = n;
  return ZPT_OK;
}

static int cb_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                    size_t n_vars, const float *inputs, size_t batch, float *outputs,
                    uint64_t first_query) {
  callback_box *c = bb->impl;
  if (n_vars == 0 || batch == 0)
    return zpt_fail(ZPT_EINVAL, "black box '%s': %zu variations x %zu "
                    "samples: both must be >= 1", c->name, n_vars, batch);
  ZPT_TRY(grow(c, n_vars));
  for (size_t v = 0; v < n_vars; v++) {
    if (vars[v].len > bb->n_params || vars[v].offset > bb->n_params - vars[v].len)
      return zpt_fail(ZPT_EINVAL, "black box '%s': variation %zu covers "
                      "[%zu, %zu) outside theta's %zu values", c->name, v,
                      vars[v].offset, vars[v].offset + vars[v].len, bb->n_params);
    c->offsets[v] = vars[v].offset;
    c->lens[v] = vars[v].len;
    c->scales[v] = vars[v].scale;
    c->deltas[v] = vars[v].len ? vars[v].delta : NULL;
  }
  zpt_error_clear();
  int rc = c->fn(c->user, theta, bb->n_params, n_vars, c->offsets, c->lens, c->scales,
                 c->deltas, inputs, batch, outputs, first_query);
  if (rc == ZPT_OK)
    return ZPT_OK;
  if (rc > 0)
    rc = ZPT_EBACKEND;
  if (zpt_error_status() == ZPT_OK)
    return zpt_fail(rc, "black box '%s': failed with %s", c->name,
                    zpt_status_name(rc));
  return zpt_fail_context(rc, "black box '%s': ", c->name);
}

static void cb_free(zpt_blackbox *bb) {
  if (!bb)
    return;
  callback_box *c = bb->impl;
  free_arrays(c);
  zpt_free(c);
}

static const zpt_blackbox_type callback_type = {.name = "vars-callback",
                                                .query = cb_query,
                                                .free = cb_free};

int zpt_blackbox_vars_callback(zpt_blackbox **out, const char *name, size_t n_params,
                          size_t input_size, size_t output_size,
                          size_t max_batch, size_t max_vars,
                          zpt_vars_query_fn fn, void *user) {
  *out = NULL;
  if (!fn)
    return zpt_fail(ZPT_EINVAL, "zpt_blackbox_vars_callback: the callback is NULL");
  if (n_params == 0 || input_size == 0 || output_size == 0)
    return zpt_fail(ZPT_EINVAL, "zpt_blackbox_vars_callback: n_params = %zu, input_size = "
                    "%zu, output_size = %zu: each must be >= 1", n_params,
                    input_size, output_size);
  callback_box *c = zpt_zalloc(sizeof *c, "vars-callback black box");
  if (!c)
    return ZPT_ENOMEM;
  snprintf(c->name, sizeof c->name, "%s", name ? name : "vars-callback");
  c->fn = fn;
  c->user = user;
  c->bb.type = &callback_type;
  c->bb.impl = c;
  c->bb.n_params = n_params;
  c->bb.input_size = input_size;
  c->bb.output_size = output_size;
  c->bb.max_batch = max_batch;
  c->bb.max_vars = max_vars;
  *out = &c->bb;
  return ZPT_OK;
}
