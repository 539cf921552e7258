/* A user function behind the black-box interface (zo/callback.h). */
#include "zo/callback.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

typedef struct {
  zpt_blackbox bb; /* first: the adapter is one allocation with its scratch */
  zpt_eval_fn fn;
  void *user;
  float *theta; /* n_params scratch values */
} cb_adapter;

static int cb_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                    size_t n_vars, const float *inputs, size_t batch, float *outputs,
                    uint64_t first_query) {
  cb_adapter *a = bb->impl;
  size_t n = bb->n_params, per = batch * bb->output_size;
  for (size_t v = 0; v < n_vars; v++) {
    const zpt_variation *var = &vars[v];
    if (var->offset > n || var->len > n - var->offset)
      return zpt_fail(ZPT_EINVAL, "callback black box: variation %zu covers [%zu, %zu) "
                      "outside the %zu parameters", v, var->offset,
                      var->offset + var->len, n);
    memcpy(a->theta, theta, n * sizeof(float));
    for (size_t k = 0; k < var->len; k++)
      a->theta[var->offset + k] += var->scale * var->delta[k];
    zpt_error_clear();
    int rc = a->fn(a->theta, inputs, batch, outputs + v * per, a->user);
    if (rc != 0) {
      int st = rc < 0 && strcmp(zpt_status_name(rc), "EUNKNOWN") != 0 ? rc : ZPT_EBACKEND;
      char msg[256]; /* a copy: zpt_fail writes the buffer it would read */
      snprintf(msg, sizeof msg, "%s", zpt_error_message());
      return zpt_fail(st, "callback black box: the function returned %d at query %llu%s%s",
                      rc, (unsigned long long)(first_query + v), msg[0] ? ": " : "", msg);
    }
  }
  return ZPT_OK;
}

static void cb_free(zpt_blackbox *bb) {
  if (!bb)
    return;
  cb_adapter *a = bb->impl;
  zpt_free(a->theta);
  zpt_free(a);
}

static const zpt_blackbox_type cb_type = {.name = "callback", .query = cb_query, .free = cb_free};

zpt_blackbox *zpt_blackbox_callback(zpt_eval_fn fn, void *user, size_t n_params,
                                    size_t input_size, size_t output_size) {
  if (!fn || n_params == 0 || input_size == 0 || output_size == 0) {
    zpt_fail(ZPT_EINVAL, "zpt_blackbox_callback: need a function and sizes >= 1 "
             "(got fn %s, n_params %zu, input_size %zu, output_size %zu)",
             fn ? "set" : "NULL", n_params, input_size, output_size);
    return NULL;
  }
  cb_adapter *a = zpt_new(cb_adapter, "callback black box");
  if (!a)
    return NULL;
  a->theta = zpt_floats(n_params, "callback black box theta");
  if (!a->theta) {
    zpt_free(a);
    return NULL;
  }
  a->fn = fn;
  a->user = user;
  a->bb = (zpt_blackbox){&cb_type, a, n_params, input_size, output_size, 0, 0};
  return &a->bb;
}
