/* Dense, element-wise activations, layer norm and global average pooling. */
/* The element-wise loops here are simple enough to vectorise; GCC's -O2
 * cost model ("very cheap") refuses any loop that needs an epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

/* ------------------------------------------------------------------ dense */

typedef struct {
  size_t in, out;
  int init;
} dense_impl;

static int dense_forward(const zpt_layer *l, const float *params, const float *in,
                         float *out, size_t n, zpt_fwd_ctx *ctx) {
  const dense_impl *d = l->impl;
  const float *w = params, *b = params + d->out * d->in;
  for (size_t s = 0; s < n; s++)
    memcpy(out + s * d->out, b, d->out * sizeof *out);
  return nn_sgemm(1, n, d->out, d->in, in, d->in, w, d->in, 1.0f, out, d->out);
}

static void dense_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const dense_impl *d = l->impl;
  nn_init_weights(params, d->out * d->in, d->in, d->out, d->init, r);
  nn_init_bias(params + d->out * d->in, d->out, d->in, d->init, r);
}

static double dense_flops(const zpt_layer *l) {
  const dense_impl *d = l->impl;
  return 2.0 * (double)d->in * (double)d->out + (double)d->out;
}

static const zpt_layer_ops dense_ops = {"dense", dense_forward, dense_init, dense_flops,
                                        nn_destroy_impl, NULL};

int zpt_model_add_dense(zpt_model *m, const char *name, size_t out, int init) {
  ZPT_TRY(nn_check_layer(m, "dense", name, init));
  size_t in = zpt_model_output_size(m);
  if (out == 0)
    return zpt_fail(ZPT_EINVAL, "dense layer '%s': 0 outputs (expected >= 1)", nn_name(name));
  if (out > INT_MAX || in > INT_MAX)
    return zpt_fail(ZPT_ERANGE, "dense layer '%s': %zu x %zu exceeds the BLAS int range",
                    nn_name(name), out, in);
  dense_impl *d = zpt_new(dense_impl, "dense layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (dense_impl){in, out, init};
  nn_view v[2] = {{"weight", 2, {out, in}}, {"bias", 1, {out}}};
  return nn_add(m, &dense_ops, name, in, zpt_shape_vec(out), d, 2, v);
}

/* ------------------------------------------------------------ activations */

typedef struct {
  size_t size;
} act_impl;

#define DEFINE_ACT(fname, expr)                                                     \
  static int fname##_forward(const zpt_layer *l, const float *params, const float *in, \
                             float *out, size_t n, zpt_fwd_ctx *ctx) {             \
    size_t total = n * l->in_size;                                                  \
    for (size_t i = 0; i < total; i++) {                                            \
      float x = in[i];                                                              \
      out[i] = (expr);                                                              \
    }                                                                               \
    return ZPT_OK;                                                                  \
  }

DEFINE_ACT(relu, x > 0.0f ? x : 0.0f)
DEFINE_ACT(tanh, tanhf(x))
DEFINE_ACT(sigmoid, 1.0f / (1.0f + expf(-x)))
DEFINE_ACT(gelu, nn_gelu(x))

/* One operation per element for ReLU; transcendental activations are
 * counted as the handful of operations of their formula. */
static double relu_flops(const zpt_layer *l) { return (double)l->in_size; }
static double tanh_flops(const zpt_layer *l) { return 4.0 * (double)l->in_size; }
static double sigmoid_flops(const zpt_layer *l) { return 4.0 * (double)l->in_size; }
static double gelu_flops(const zpt_layer *l) { return 10.0 * (double)l->in_size; }

static const zpt_layer_ops relu_ops = {"relu", relu_forward, NULL, relu_flops, NULL, NULL};
static const zpt_layer_ops tanh_ops = {"tanh", tanh_forward, NULL, tanh_flops, NULL, NULL};
static const zpt_layer_ops sigmoid_ops = {"sigmoid", sigmoid_forward, NULL, sigmoid_flops,
                                          NULL, NULL};
static const zpt_layer_ops gelu_ops = {"gelu", gelu_forward, NULL, gelu_flops, NULL, NULL};

int nn_is_relu(const zpt_layer *l) { return l->ops == &relu_ops; }

int zpt_model_add_act(zpt_model *m, const char *name, zpt_act kind) {
  ZPT_TRY(nn_check_model(m, "activation", name));
  const zpt_layer_ops *ops = kind == ZPT_ACT_RELU      ? &relu_ops
                             : kind == ZPT_ACT_TANH    ? &tanh_ops
                             : kind == ZPT_ACT_SIGMOID ? &sigmoid_ops
                             : kind == ZPT_ACT_GELU    ? &gelu_ops
                                                       : NULL;
  if (!ops)
    return zpt_fail(ZPT_EINVAL, "activation layer '%s': unknown kind %d (expected "
                    "ZPT_ACT_RELU, _TANH, _SIGMOID or _GELU)", nn_name(name), (int)kind);
  size_t size = zpt_model_output_size(m);
  return nn_add(m, ops, name, size, zpt_model_shape(m), NULL, 0, NULL);
}

/* ------------------------------------------------------------- layer norm */

typedef struct {
  size_t groups, features;
} layernorm_impl;

static int layernorm_forward(const zpt_layer *l, const float *params, const float *in,
                             float *out, size_t n, zpt_fwd_ctx *ctx) {
  const layernorm_impl *d = l->impl;
  nn_layernorm_rows(in, n * d->groups, d->features, params, params + d->features, out,
                    d->features, 1);
  return ZPT_OK;
}

static void layernorm_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const layernorm_impl *d = l->impl;
  for (size_t i = 0; i < d->features; i++) {
    params[i] = 1.0f;
    params[d->features + i] = 0.0f;
  }
}

static double layernorm_flops(const zpt_layer *l) {
  /* mean, variance (2 per element), normalise, gain, bias */
  return 7.0 * (double)l->in_size;
}

static const zpt_layer_ops layernorm_ops = {"layernorm", layernorm_forward, layernorm_init,
                                            layernorm_flops, nn_destroy_impl, NULL};

int zpt_model_add_layernorm(zpt_model *m, const char *name) {
  ZPT_TRY(nn_check_model(m, "layernorm", name));
  zpt_shape s = zpt_model_shape(m);
  size_t size = zpt_model_output_size(m);
  layernorm_impl *d = zpt_new(layernorm_impl, "layernorm layer");
  if (!d)
    return ZPT_ENOMEM;
  if (s.rank == 2)
    *d = (layernorm_impl){s.dim[0], s.dim[1]};
  else
    *d = (layernorm_impl){1, size};
  nn_view v[2] = {{"gain", 1, {d->features}}, {"bias", 1, {d->features}}};
  return nn_add(m, &layernorm_ops, name, size, s, d, 2, v);
}

/* ----------------------------------------------------- global average pool */

typedef struct {
  int tokens_first; /* 1: T x F -> F; 0: C x H x W -> C */
  size_t positions, features;
} gap_impl;

static int gap_forward(const zpt_layer *l, const float *params, const float *in,
                       float *out, size_t n, zpt_fwd_ctx *ctx) {
  const gap_impl *d = l->impl;
  size_t P = d->positions, F = d->features;
  float scale = 1.0f / (float)P;
  for (size_t s = 0; s < n; s++) {
    const float *x = in + s * P * F;
    float *y = out + s * F;
    if (d->tokens_first) {
      memset(y, 0, F * sizeof *y);
      for (size_t t = 0; t < P; t++)
        for (size_t f = 0; f < F; f++)
          y[f] += x[t * F + f];
      for (size_t f = 0; f < F; f++)
        y[f] *= scale;
    } else {
      for (size_t c = 0; c < F; c++) {
        float acc = 0;
        for (size_t p = 0; p < P; p++)
          acc += x[c * P + p];
        y[c] = acc * scale;
      }
    }
  }
  return ZPT_OK;
}

static double gap_flops(const zpt_layer *l) { return (double)l->in_size + (double)l->out_size; }

static const zpt_layer_ops gap_ops = {"gap", gap_forward, NULL, gap_flops, nn_destroy_impl, NULL};

int zpt_model_add_global_avgpool(zpt_model *m, const char *name) {
  ZPT_TRY(nn_check_model(m, "gap", name));
  zpt_shape s = zpt_model_shape(m);
  if (s.rank != 2 && s.rank != 3)
    return zpt_fail(ZPT_EINVAL, "gap layer '%s': expects a T x F sequence or a C x H x W "
                    "image, found a vector of %zu", nn_name(name), s.dim[0]);
  gap_impl *d = zpt_new(gap_impl, "gap layer");
  if (!d)
    return ZPT_ENOMEM;
  if (s.rank == 2)
    *d = (gap_impl){1, s.dim[0], s.dim[1]};
  else
    *d = (gap_impl){0, s.dim[1] * s.dim[2], s.dim[0]};
  return nn_add(m, &gap_ops, name, zpt_shape_size(s), zpt_shape_vec(d->features), d, 0,
                NULL);
}
