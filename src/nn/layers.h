/* The real-valued layer library: constructors that register a layer's named
 * parameter views in the model's store and append it to the model, reading
 * the input shape from the model's tracked shape.
 *
 * Every constructor returns a zoptic status; on a bad argument or shape it
 * records a message naming the layer and what was expected and leaves the
 * model unchanged.  `name` may be NULL: the layer is then named after its
 * kind and position ("relu3").  Names are at most 31 characters; parameter
 * views are called "<name>.<part>" (e.g. "conv1.weight").  Per-sample layouts
 * are those of zpt_shape (row-major; CHW for images, T x F for sequences and
 * token matrices).  See docs/layers.md for every layer's formula, views,
 * initialisation and FLOP count.
 */
#ifndef ZPT_NN_LAYERS_H
#define ZPT_NN_LAYERS_H

#include <stddef.h>

#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Weight initialisation (drawn in ops->init from the layer's stream):
 *   ZPT_INIT_HE       weights N(0, 2/fan_in), biases 0
 *   ZPT_INIT_XAVIER   weights U(-a, a), a = sqrt(6/(fan_in+fan_out)), biases 0
 *   ZPT_INIT_UNIFORM  weights and biases U(-a, a), a = 1/sqrt(fan_in)
 *   ZPT_INIT_LECUN    weights N(0, 1/fan_in), biases 0 (a linear layer's
 *                     outputs keep the variance of its inputs)
 * Layer-norm gains start at 1 and its biases at 0 whatever the choice. */
typedef enum {
  ZPT_INIT_HE = 1,
  ZPT_INIT_XAVIER = 2,
  ZPT_INIT_UNIFORM = 3,
  ZPT_INIT_LECUN = 4
} zpt_init;

typedef enum {
  ZPT_ACT_RELU = 1,    /* max(x, 0) */
  ZPT_ACT_TANH = 2,    /* tanh(x) */
  ZPT_ACT_SIGMOID = 3, /* 1 / (1 + exp(-x)) */
  ZPT_ACT_GELU = 4     /* tanh approximation, see docs/layers.md */
} zpt_act;

/* y = W x + b over the whole sample (any input shape is read as a flat
 * vector of n_in floats).  Views: weight [out x n_in], bias [out].
 * Output: vector of `out`. */
int zpt_model_add_dense(zpt_model *m, const char *name, size_t out, int init);

/* 2-D convolution (cross-correlation) on C x H x W input, zero padding
 * `pad` on every side, stride `stride` in both directions:
 *   y[o][i][j] = b[o] + sum_{c,u,v} W[o][c][u][v] x[c][i*stride+u-pad][j*stride+v-pad]
 * Output OC x OH x OW with OH = (H + 2 pad - kh) / stride + 1 (floor).
 * Views: weight [OC x C x kh x kw], bias [OC].  Followed by a ReLU and a
 * 2x2 max-pool at stride 2 it may run fused with them (zpt_model_set_fusion
 * in nn/model.h): same layers, same results. */
int zpt_model_add_conv2d(zpt_model *m, const char *name, size_t out_channels,
                         size_t kh, size_t kw, size_t stride, size_t pad, int init);

/* Max / average pooling of C x H x W over k x k windows at stride s, no
 * padding.  The windows must tile the input exactly: (H - k) % s == 0 and
 * (W - k) % s == 0.  Output C x ((H-k)/s+1) x ((W-k)/s+1). */
int zpt_model_add_maxpool(zpt_model *m, const char *name, size_t k, size_t stride);
int zpt_model_add_avgpool(zpt_model *m, const char *name, size_t k, size_t stride);

/* Element-wise activation; the shape is kept. */
int zpt_model_add_act(zpt_model *m, const char *name, zpt_act kind);

/* Layer normalisation with trainable gain and bias, epsilon 1e-5:
 * y = (x - mean) / sqrt(var + eps) * gain + bias, over the feature
 * dimension: each step/token of a T x F sequence separately (F features),
 * the whole sample for a vector or a C x H x W image.  Views: gain [F],
 * bias [F]. */
int zpt_model_add_layernorm(zpt_model *m, const char *name);

/* Elman RNN over a T x F sequence, h_0 = 0:
 *   h_t = tanh(W_x x_t + W_h h_{t-1} + b),  output T x H (every h_t).
 * Views: w_x [H x F], w_h [H x H], bias [H]. */
int zpt_model_add_rnn(zpt_model *m, const char *name, size_t hidden, int init);

/* MLP-mixer patch embedding: C x H x W image cut into non-overlapping
 * P x P patches (H, W divisible by P), each flattened in (c, py, px) order
 * and mapped linearly to `channels` features.  Output: tokens x channels,
 * tokens = (H/P)(W/P) in row-major order of the patch grid.
 * Views: weight [channels x C*P*P], bias [channels]. */
int zpt_model_add_patch_embed(zpt_model *m, const char *name, size_t patch,
                              size_t channels, int init);

/* MLP-mixer block (Tolstikhin et al. 2021) on S tokens x D channels:
 *   U = X + W2 GELU(W1 LN1(X) + b1) + b2        (token mixing, per channel)
 *   Y = U + GELU(LN2(U) Wc1^T + c1) Wc2^T + c2   (channel mixing, per token)
 * Views: ln1.gain, ln1.bias [D]; token.w1 [Ds x S], token.b1 [Ds],
 * token.w2 [S x Ds], token.b2 [S]; ln2.gain, ln2.bias [D];
 * channel.w1 [Dc x D], channel.b1 [Dc], channel.w2 [D x Dc], channel.b2 [D]. */
int zpt_model_add_mixer_block(zpt_model *m, const char *name, size_t token_hidden,
                              size_t channel_hidden, int init);

/* Global average pooling: T x F -> F (mean over steps/tokens) or
 * C x H x W -> C (mean over positions). */
int zpt_model_add_global_avgpool(zpt_model *m, const char *name);

#ifdef __cplusplus
}
#endif
#endif
