/* 2-D convolution (im2col + one sgemm per sub-batch) and pooling, on
 * C x H x W samples. */
/* The element-wise loops here are simple enough to vectorise; GCC's -O2
 * cost model ("very cheap") refuses any loop that needs an epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <float.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

/* Bound on the im2col matrix of one sgemm (floats); larger batches are
 * processed in sub-batches. */
#define CONV_COL_FLOATS ((size_t)1 << 22)

typedef struct {
  size_t c, h, w;       /* input */
  size_t oc, oh, ow;    /* output */
  size_t kh, kw, stride, pad;
  int init;
} conv_impl;

/* col[(c,u,v)][s*OHW + i*OW + j] = x_s[c][i*stride+u-pad][j*stride+v-pad] */
static void im2col(const conv_impl *d, const float *in, size_t nb, float *col) {
  size_t ohw = d->oh * d->ow, ld = nb * ohw, chw = d->c * d->h * d->w;
  for (size_t c = 0; c < d->c; c++)
    for (size_t u = 0; u < d->kh; u++)
      for (size_t v = 0; v < d->kw; v++) {
        float *row = col + ((c * d->kh + u) * d->kw + v) * ld;
        /* columns j whose input column j*stride+v-pad lies inside [0, w) */
        size_t j_lo = 0, j_hi = 0;
        while (j_lo < d->ow && j_lo * d->stride + v < d->pad)
          j_lo++;
        j_hi = j_lo;
        while (j_hi < d->ow && j_hi * d->stride + v < d->pad + d->w)
          j_hi++;
        for (size_t s = 0; s < nb; s++) {
          const float *img = in + s * chw + c * d->h * d->w;
          float *dst = row + s * ohw;
          for (size_t i = 0; i < d->oh; i++) {
            float *o = dst + i * d->ow;
            size_t y = i * d->stride + u; /* input row + pad */
            if (y < d->pad || y >= d->pad + d->h) {
              memset(o, 0, d->ow * sizeof *o);
              continue;
            }
            const float *src = img + (y - d->pad) * d->w;
            for (size_t j = 0; j < j_lo; j++)
              o[j] = 0.0f;
            if (d->stride == 1) {
              if (j_hi > j_lo)
                memcpy(o + j_lo, src + j_lo + v - d->pad, (j_hi - j_lo) * sizeof *o);
            } else {
              for (size_t j = j_lo; j < j_hi; j++)
                o[j] = src[j * d->stride + v - d->pad];
            }
            for (size_t j = j_hi; j < d->ow; j++)
              o[j] = 0.0f;
          }
        }
      }
}

static int conv_forward(const zpt_layer *l, const float *params, const float *in,
                        float *out, size_t n, zpt_fwd_ctx *ctx) {
  const conv_impl *d = l->impl;
  size_t ckk = d->c * d->kh * d->kw, ohw = d->oh * d->ow;
  size_t per_sample = ckk * ohw + d->oc * ohw;
  size_t nb = CONV_COL_FLOATS / per_sample;
  if (nb < 1)
    nb = 1;
  if (nb > n)
    nb = n;
  const float *w = params, *b = params + d->oc * ckk;
  nn_conv_geom geom = {d->c, d->h, d->w, d->oc, d->oh, d->ow, d->kh, d->kw, d->stride, d->pad};
  if (nn_conv_direct(&geom, w, b, in, out, n, ctx))
    return ZPT_OK;
  float *col;
  ZPT_TRY(nn_scratch(ctx, nb * per_sample, &col));
  float *prod = col + nb * ckk * ohw;
  for (size_t s0 = 0; s0 < n; s0 += nb) {
    size_t cnt = n - s0 < nb ? n - s0 : nb;
    im2col(d, in + s0 * d->c * d->h * d->w, cnt, col);
    /* prod (OC x cnt*OHW) = W (OC x CKK) * col (CKK x cnt*OHW) */
    ZPT_TRY(nn_sgemm(0, d->oc, cnt * ohw, ckk, w, ckk, col, cnt * ohw, 0.0f, prod,
                     cnt * ohw));
    for (size_t s = 0; s < cnt; s++)
      for (size_t o = 0; o < d->oc; o++) {
        const float *src = prod + o * cnt * ohw + s * ohw;
        float *dst = out + (s0 + s) * d->oc * ohw + o * ohw;
        float bo = b[o];
        for (size_t p = 0; p < ohw; p++)
          dst[p] = src[p] + bo;
      }
  }
  return ZPT_OK;
}

static void conv_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const conv_impl *d = l->impl;
  size_t ckk = d->c * d->kh * d->kw;
  nn_init_weights(params, d->oc * ckk, ckk, d->oc * d->kh * d->kw, d->init, r);
  nn_init_bias(params + d->oc * ckk, d->oc, ckk, d->init, r);
}

static double conv_flops(const zpt_layer *l) {
  const conv_impl *d = l->impl;
  double outs = (double)d->oc * (double)d->oh * (double)d->ow;
  return outs * (2.0 * (double)(d->c * d->kh * d->kw) + 1.0);
}

/* conv2d -> ReLU -> max-pool(2, 2) fusion (defined with the pooling layers) */
static zpt_fused_fn conv_fuse(const zpt_layer *const *ls, size_t count, size_t *span);

static const zpt_layer_ops conv_ops = {"conv2d", conv_forward, conv_init, conv_flops,
                                       nn_destroy_impl, conv_fuse};

static int need_image(const zpt_model *m, const char *kind, const char *name) {
  zpt_shape s;
  return nn_expect_rank(m, kind, name, 3, "a C x H x W input",
                        " (use zpt_model_alloc_shaped or zpt_model_reshape)", &s);
}

int zpt_model_add_conv2d(zpt_model *m, const char *name, size_t out_channels,
                         size_t kh, size_t kw, size_t stride, size_t pad, int init) {
  ZPT_TRY(nn_check_layer(m, "conv2d", name, init));
  ZPT_TRY(need_image(m, "conv2d", name));
  zpt_shape s = zpt_model_shape(m);
  size_t c = s.dim[0], h = s.dim[1], w = s.dim[2];
  if (out_channels == 0 || kh == 0 || kw == 0 || stride == 0)
    return zpt_fail(ZPT_EINVAL, "conv2d layer '%s': out_channels %zu, kernel %zux%zu, "
                    "stride %zu: all must be >= 1", nn_name(name), out_channels, kh, kw,
                    stride);
  if (pad >= kh || pad >= kw)
    return zpt_fail(ZPT_EINVAL, "conv2d layer '%s': padding %zu must be smaller than the "
                    "kernel %zux%zu", nn_name(name), pad, kh, kw);
  if (kh > h + 2 * pad || kw > w + 2 * pad)
    return zpt_fail(ZPT_EINVAL, "conv2d layer '%s': kernel %zux%zu larger than the padded "
                    "input %zux%zu (input %zux%zu, padding %zu)", nn_name(name), kh, kw,
                    h + 2 * pad, w + 2 * pad, h, w, pad);
  conv_impl *d = zpt_new(conv_impl, "conv2d layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (conv_impl){c, h, w, out_channels, (h + 2 * pad - kh) / stride + 1,
                   (w + 2 * pad - kw) / stride + 1, kh, kw, stride, pad, init};
  nn_view v[2] = {{"weight", 4, {out_channels, c, kh, kw}}, {"bias", 1, {out_channels}}};
  return nn_add(m, &conv_ops, name, c * h * w, zpt_shape_chw(out_channels, d->oh, d->ow), d,
                2, v);
}

/* ---------------------------------------------------------------- pooling */

typedef struct {
  size_t c, h, w, oh, ow, k, stride;
} pool_impl;

/* 2x2 windows at stride 2 (the CNN's pooling): the max of two rows, then of
 * neighbouring pairs; both loops vectorise, unlike the generic window loop
 * (which took 30% of the CNN forward). */
static void maxpool_2x2(const pool_impl *d, const float *in, float *out, size_t planes,
                        float *rowmax) {
  for (size_t p = 0; p < planes; p++) {
    const float *x = in + p * d->h * d->w;
    float *y = out + p * d->oh * d->ow;
    for (size_t i = 0; i < d->oh; i++) {
      const float *r0 = x + 2 * i * d->w, *r1 = r0 + d->w;
      for (size_t j = 0; j < d->w; j++)
        rowmax[j] = r0[j] > r1[j] ? r0[j] : r1[j];
      float *yi = y + i * d->ow;
      for (size_t j = 0; j < d->ow; j++)
        yi[j] = rowmax[2 * j] > rowmax[2 * j + 1] ? rowmax[2 * j] : rowmax[2 * j + 1];
    }
  }
}

/* The max (mean = 0) or the mean of every k x k window (stride) of each
 * of `planes` h x w planes. */
static void pool_windows(const pool_impl *d, const float *in, float *out, size_t planes,
                         int mean) {
  const float scale = 1.0f / (float)(d->k * d->k);
  for (size_t p = 0; p < planes; p++) {
    const float *x = in + p * d->h * d->w;
    float *y = out + p * d->oh * d->ow;
    for (size_t i = 0; i < d->oh; i++)
      for (size_t j = 0; j < d->ow; j++) {
        const float *win = x + i * d->stride * d->w + j * d->stride;
        float best = win[0], acc = 0;
        for (size_t u = 0; u < d->k; u++)
          for (size_t v = 0; v < d->k; v++) {
            float t = win[u * d->w + v];
            best = t > best ? t : best;
            acc += t;
          }
        y[i * d->ow + j] = mean ? acc * scale : best;
      }
  }
}

static int maxpool_forward(const zpt_layer *l, const float *params, const float *in,
                           float *out, size_t n, zpt_fwd_ctx *ctx) {
  const pool_impl *d = l->impl;
  size_t planes = n * d->c;
  if (d->k == 2 && d->stride == 2) {
    float *rowmax;
    ZPT_TRY(nn_scratch(ctx, d->w, &rowmax));
    maxpool_2x2(d, in, out, planes, rowmax);
    return ZPT_OK;
  }
  pool_windows(d, in, out, planes, 0);
  return ZPT_OK;
}

static int avgpool_forward(const zpt_layer *l, const float *params, const float *in,
                           float *out, size_t n, zpt_fwd_ctx *ctx) {
  const pool_impl *d = l->impl;
  pool_windows(d, in, out, n * d->c, 1);
  return ZPT_OK;
}

/* k*k - 1 comparisons (max) or k*k adds and a multiply (average) per output */
static double maxpool_flops(const zpt_layer *l) {
  const pool_impl *d = l->impl;
  return (double)l->out_size * (double)(d->k * d->k - 1);
}
static double avgpool_flops(const zpt_layer *l) {
  const pool_impl *d = l->impl;
  return (double)l->out_size * (double)(d->k * d->k);
}

static const zpt_layer_ops maxpool_ops = {"maxpool", maxpool_forward, NULL, maxpool_flops,
                                          nn_destroy_impl, NULL};
static const zpt_layer_ops avgpool_ops = {"avgpool", avgpool_forward, NULL, avgpool_flops,
                                          nn_destroy_impl, NULL};

static int add_pool(zpt_model *m, const zpt_layer_ops *ops, const char *name, size_t k,
                    size_t stride) {
  ZPT_TRY(nn_check_model(m, ops->kind, name));
  ZPT_TRY(need_image(m, ops->kind, name));
  zpt_shape s = zpt_model_shape(m);
  size_t c = s.dim[0], h = s.dim[1], w = s.dim[2];
  ZPT_TRY(nn_check_sizes(ops->kind, name, "window", k, "stride", stride));
  if (k > h || k > w)
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': window %zu larger than the input %zux%zu",
                    ops->kind, nn_name(name), k, h, w);
  if ((h - k) % stride || (w - k) % stride)
    return zpt_fail(ZPT_EINVAL, "%s layer '%s': %zux%zu windows at stride %zu do not tile "
                    "the %zux%zu input ((size - window) must be a multiple of the stride)",
                    ops->kind, nn_name(name), k, k, stride, h, w);
  pool_impl *d = zpt_new(pool_impl, "pooling layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (pool_impl){c, h, w, (h - k) / stride + 1, (w - k) / stride + 1, k, stride};
  return nn_add(m, ops, name, c * h * w, zpt_shape_chw(c, d->oh, d->ow), d, 0, NULL);
}

/* ------------------------------------------------------------------ fusion */

/* conv2d -> ReLU -> max-pool(2, 2): one pass that writes only the pooled
 * map (conv_direct.c) */
static int conv_relu_pool_forward(const zpt_layer *const *ls, const float *params,
                                  const float *in, float *out, size_t n, zpt_fwd_ctx *ctx) {
  const conv_impl *d = ls[0]->impl;
  nn_conv_geom g = {d->c, d->h, d->w, d->oc, d->oh, d->ow, d->kh, d->kw, d->stride, d->pad};
  return nn_conv_relu_pool(&g, params, params + d->oc * d->c * d->kh * d->kw, in, out, n, ctx);
}

static zpt_fused_fn conv_fuse(const zpt_layer *const *ls, size_t count, size_t *span) {
  *span = 1;
  if (count < 3 || ls[0]->ops != &conv_ops || !nn_is_relu(ls[1]) || ls[2]->ops != &maxpool_ops)
    return NULL;
  const conv_impl *d = ls[0]->impl;
  const pool_impl *p = ls[2]->impl;
  /* the pool must read the convolution's map as such (a reshape in between
   * would change what its windows are) */
  if (p->k != 2 || p->stride != 2 || p->c != d->oc || p->h != d->oh || p->w != d->ow)
    return NULL;
  nn_conv_geom g = {d->c, d->h, d->w, d->oc, d->oh, d->ow, d->kh, d->kw, d->stride, d->pad};
  if (!nn_conv_relu_pool_fusable(&g))
    return NULL;
  *span = 3;
  return conv_relu_pool_forward;
}

int zpt_model_add_maxpool(zpt_model *m, const char *name, size_t k, size_t stride) {
  return add_pool(m, &maxpool_ops, name, k, stride);
}

int zpt_model_add_avgpool(zpt_model *m, const char *name, size_t k, size_t stride) {
  return add_pool(m, &avgpool_ops, name, k, stride);
}
