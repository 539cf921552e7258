/* Elman RNN over T x F sequences: h_t = tanh(W_x x_t + W_h h_{t-1} + b). */
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

typedef struct {
  size_t t, f, h;
  int init;
} rnn_impl;

static int rnn_forward(const zpt_layer *l, const float *params, const float *in,
                       float *out, size_t n, zpt_fwd_ctx *ctx) {
  const rnn_impl *d = l->impl;
  size_t T = d->t, F = d->f, H = d->h;
  const float *wx = params, *wh = wx + H * F, *b = wh + H * H;
  /* input projections of every step of every sample in one sgemm:
   * out (n*T x H) = b + X (n*T x F) W_x^T */
  for (size_t r = 0; r < n * T; r++)
    memcpy(out + r * H, b, H * sizeof *out);
  ZPT_TRY(nn_sgemm(1, n * T, H, F, in, F, wx, F, 1.0f, out, H));
  float *h_prev;
  ZPT_TRY(nn_scratch(ctx, n * H, &h_prev));
  for (size_t t = 0; t < T; t++) {
    if (t > 0) /* step t of every sample (row stride T*H) += h_{t-1} W_h^T */
      ZPT_TRY(nn_sgemm(1, n, H, H, h_prev, H, wh, H, 1.0f, out + t * H, T * H));
    for (size_t s = 0; s < n; s++) {
      float *y = out + s * T * H + t * H;
      float *hp = h_prev + s * H;
      for (size_t i = 0; i < H; i++)
        hp[i] = y[i] = tanhf(y[i]);
    }
  }
  return ZPT_OK;
}

static void rnn_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const rnn_impl *d = l->impl;
  size_t F = d->f, H = d->h;
  nn_init_weights(params, H * F, F, H, d->init, r);
  nn_init_weights(params + H * F, H * H, H, H, d->init, r);
  nn_init_bias(params + H * F + H * H, H, F, d->init, r);
}

static double rnn_flops(const zpt_layer *l) {
  const rnn_impl *d = l->impl;
  double T = (double)d->t, F = (double)d->f, H = (double)d->h;
  /* input and recurrent products, bias, tanh (counted as 4) */
  return T * (2.0 * F * H + 2.0 * H * H + H + 4.0 * H) - 2.0 * H * H;
}

static const zpt_layer_ops rnn_ops = {"rnn", rnn_forward, rnn_init, rnn_flops,
                                      nn_destroy_impl, NULL};

int zpt_model_add_rnn(zpt_model *m, const char *name, size_t hidden, int init) {
  ZPT_TRY(nn_check_layer(m, "rnn", name, init));
  zpt_shape s;
  ZPT_TRY(nn_expect_rank(m, "rnn", name, 2, "a T x F sequence", " (use zpt_model_reshape)",
                         &s));
  if (hidden == 0)
    return zpt_fail(ZPT_EINVAL, "rnn layer '%s': hidden size 0 (expected >= 1)",
                    nn_name(name));
  rnn_impl *d = zpt_new(rnn_impl, "rnn layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (rnn_impl){s.dim[0], s.dim[1], hidden, init};
  nn_view v[3] = {{"w_x", 2, {hidden, d->f}}, {"w_h", 2, {hidden, hidden}},
                  {"bias", 1, {hidden}}};
  return nn_add(m, &rnn_ops, name, d->t * d->f, zpt_shape_seq(d->t, hidden), d, 3, v);
}
