/* Construction helpers, initialisation and BLAS wrappers shared by the
 * layers of src/nn. */
/* The element-wise loops here are simple enough to vectorise; GCC's -O2
 * cost model ("very cheap") refuses any loop that needs an epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

void nn_destroy_impl(zpt_layer *l) {
  zpt_free(l->impl);
  l->impl = NULL;
}

int nn_check_model(const zpt_model *m, const char *kind, const char *name) {
  if (!m)
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': model is NULL", kind, nn_name(name));
  return ZPT_OK;
}

int nn_check_init(int init, const char *kind, const char *name) {
  if (init != ZPT_INIT_HE && init != ZPT_INIT_XAVIER && init != ZPT_INIT_UNIFORM &&
      init != ZPT_INIT_LECUN)
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': unknown init %d (expected ZPT_INIT_HE, "
                    "ZPT_INIT_XAVIER, ZPT_INIT_UNIFORM or ZPT_INIT_LECUN)", kind,
                    nn_name(name), init);
  return ZPT_OK;
}

int nn_check_sizes(const char *kind, const char *name, const char *a, size_t va,
                   const char *b, size_t vb) {
  if (va == 0 || vb == 0)
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': %s %zu, %s %zu: both must be >= 1", kind,
                    nn_name(name), a, va, b, vb);
  return ZPT_OK;
}

int nn_check_layer(const zpt_model *m, const char *kind, const char *name, int init) {
  ZPT_TRY(nn_check_model(m, kind, name));
  return nn_check_init(init, kind, name);
}

int nn_expect_rank(const zpt_model *m, const char *kind, const char *name, int rank,
                   const char *expects, const char *hint, zpt_shape *s) {
  *s = zpt_model_shape(m);
  if (s->rank == rank)
    return ZPT_OK;
  char str[64];
  zpt_shape_str(*s, str, sizeof str);
  return zpt_fail(ZPT_EINVAL, "%s layer '%s': expects %s, found shape %s%s", kind,
                  nn_name(name), expects, str, hint);
}

int nn_add(zpt_model *m, const zpt_layer_ops *ops, const char *name, size_t in_size,
           zpt_shape out, void *impl, size_t n_views, const nn_view *views) {
  char auto_name[32];
  if (!name) {
    snprintf(auto_name, sizeof auto_name, "%s%zu", ops->kind, zpt_model_n_layers(m));
    name = auto_name;
  }
  zpt_layer *l = zpt_layer_alloc(ops, name, in_size, zpt_shape_size(out));
  if (!l) {
    zpt_free(impl);
    return zpt_error_status();
  }
  l->impl = impl;
  if (zpt_model_find_layer(m, name)) {
    zpt_layer_free(l);
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': the model already has a layer of that name",
                    ops->kind, name);
  }
  /* check every view name before registering any, so that a bad name
   * leaves the store untouched */
  zpt_params *p = zpt_model_params(m);
  char vname[2 * ZPT_VIEW_NAME_MAX];
  for (size_t i = 0; i < n_views; i++) {
    snprintf(vname, sizeof vname, "%s.%s", name, views[i].suffix);
    if (zpt_params_find(p, vname)) {
      zpt_layer_free(l);
      return zpt_fail(ZPT_EINVAL, "%s layer '%s': parameter view '%s' already exists",
                      ops->kind, name, vname);
    }
  }
  l->param_offset = p->n_params;
  for (size_t i = 0; i < n_views; i++) {
    snprintf(vname, sizeof vname, "%s.%s", name, views[i].suffix);
    int rc = zpt_params_add(p, vname, views[i].ndim, views[i].shape, NULL);
    if (rc != ZPT_OK) {
      zpt_layer_free(l);
      if (i == 0)
        return zpt_fail_context(rc, "%s layer '%s': ", ops->kind, name);
      /* views already registered cannot be taken back: the model is now
       * inconsistent and refuses further use */
      nn_model_mark_broken(m);
      return zpt_fail_context(rc, "%s layer '%s' (model now unusable): ", ops->kind, name);
    }
  }
  l->n_params = p->n_params - l->param_offset;
  int rc = zpt_model_add_shaped(m, l, out);
  if (rc != ZPT_OK && n_views > 0)
    nn_model_mark_broken(m); /* its views stay registered without a layer */
  return rc;
}

void nn_init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, int init,
                     gsl_rng *r) {
  switch (init) {
  case ZPT_INIT_HE: {
    double sigma = sqrt(2.0 / (double)fan_in);
    for (size_t i = 0; i < n; i++)
      w[i] = (float)gsl_ran_gaussian_ziggurat(r, sigma);
    break;
  }
  case ZPT_INIT_LECUN: {
    double sigma = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++)
      w[i] = (float)gsl_ran_gaussian_ziggurat(r, sigma);
    break;
  }
  case ZPT_INIT_XAVIER: {
    double a = sqrt(6.0 / (double)(fan_in + fan_out));
    for (size_t i = 0; i < n; i++)
      w[i] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
    break;
  }
  default: {
    double a = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++)
      w[i] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
    break;
  }
  }
}

void nn_init_bias(float *b, size_t n, size_t fan_in, int init, gsl_rng *r) {
  if (init == ZPT_INIT_UNIFORM) {
    nn_init_weights(b, n, fan_in, 0, ZPT_INIT_UNIFORM, r);
    return;
  }
  memset(b, 0, n * sizeof *b);
}

int nn_scratch(zpt_fwd_ctx *ctx, size_t floats, float **out) {
  size_t bytes;
  if (zpt_mul_size(floats, sizeof(float), &bytes) != ZPT_OK)
    return zpt_fail(ZPT_ERANGE, "layer scratch of %zu floats overflows", floats);
  ZPT_TRY(zpt_buffer_reserve(ctx->work, bytes, "layer scratch"));
  *out = ctx->work->data;
  return ZPT_OK;
}

/* Sum of n floats with 8 independent partial sums (vectorisable without
 * reassociation flags, and more accurate than one running sum). */
static float sum8(const float *x, size_t n) {
  float acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += x[i + k];
  float s = 0;
  for (; i < n; i++)
    s += x[i];
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static float sumsq8(const float *x, size_t n, float mean) {
  float acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) {
      float d = x[i + k] - mean;
      acc[k] += d * d;
    }
  float s = 0;
  for (; i < n; i++)
    s += (x[i] - mean) * (x[i] - mean);
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void nn_layernorm_rows(const float *in, size_t groups, size_t features,
                       const float *gain, const float *bias, float *out,
                       size_t out_stride_row, size_t out_stride_elem) {
  float inv_f = 1.0f / (float)features;
  for (size_t g = 0; g < groups; g++) {
    const float *x = in + g * features;
    /* two passes (mean, then squared deviations): no cancellation */
    float mean = sum8(x, features) * inv_f;
    float var = sumsq8(x, features, mean) * inv_f;
    float inv = 1.0f / sqrtf(var + NN_LN_EPS);
    float *y = out + g * out_stride_row;
    if (out_stride_elem == 1)
      for (size_t i = 0; i < features; i++)
        y[i] = (x[i] - mean) * inv * gain[i] + bias[i];
    else
      for (size_t i = 0; i < features; i++)
        y[i * out_stride_elem] = (x[i] - mean) * inv * gain[i] + bias[i];
  }
}
