/* MLP-mixer pieces (Tolstikhin et al. 2021): patch embedding and the mixer
 * block, on tokens x channels samples. */
/* The element-wise loops here are simple enough to vectorise; GCC's -O2
 * cost model ("very cheap") refuses any loop that needs an epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

/* Bound on a mixer block's scratch per sub-batch (floats). */
#define MIXER_SCRATCH_FLOATS ((size_t)1 << 22)

/* ------------------------------------------------------- patch embedding */

typedef struct {
  size_t c, h, w, p, d; /* input C x H x W, patch P, D channels */
  int init;
} patch_impl;

static int patch_forward(const zpt_layer *l, const float *params, const float *in,
                         float *out, size_t n, zpt_fwd_ctx *ctx) {
  const patch_impl *d = l->impl;
  size_t P = d->p, gh = d->h / P, gw = d->w / P, S = gh * gw, K = d->c * P * P;
  size_t nb = MIXER_SCRATCH_FLOATS / (S * K);
  if (nb < 1)
    nb = 1;
  if (nb > n)
    nb = n;
  float *patches;
  ZPT_TRY(nn_scratch(ctx, nb * S * K, &patches));
  const float *w = params, *b = params + d->d * K;
  for (size_t s0 = 0; s0 < n; s0 += nb) {
    size_t cnt = n - s0 < nb ? n - s0 : nb;
    for (size_t s = 0; s < cnt; s++) {
      const float *img = in + (s0 + s) * d->c * d->h * d->w;
      for (size_t gy = 0; gy < gh; gy++)
        for (size_t gx = 0; gx < gw; gx++) {
          float *row = patches + (s * S + gy * gw + gx) * K;
          for (size_t c = 0; c < d->c; c++)
            for (size_t py = 0; py < P; py++)
              memcpy(row + (c * P + py) * P, img + (c * d->h + gy * P + py) * d->w + gx * P,
                     P * sizeof *row);
        }
    }
    float *y = out + s0 * S * d->d;
    for (size_t r = 0; r < cnt * S; r++)
      memcpy(y + r * d->d, b, d->d * sizeof *y);
    ZPT_TRY(nn_sgemm(1, cnt * S, d->d, K, patches, K, w, K, 1.0f, y, d->d));
  }
  return ZPT_OK;
}

static void patch_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const patch_impl *d = l->impl;
  size_t K = d->c * d->p * d->p;
  nn_init_weights(params, d->d * K, K, d->d, d->init, r);
  nn_init_bias(params + d->d * K, d->d, K, d->init, r);
}

static double patch_flops(const zpt_layer *l) {
  const patch_impl *d = l->impl;
  double S = (double)((d->h / d->p) * (d->w / d->p)), K = (double)(d->c * d->p * d->p);
  return S * (2.0 * K * (double)d->d + (double)d->d);
}

static const zpt_layer_ops patch_ops = {"patch_embed", patch_forward, patch_init,
                                        patch_flops, nn_destroy_impl, NULL};

int zpt_model_add_patch_embed(zpt_model *m, const char *name, size_t patch,
                              size_t channels, int init) {
  ZPT_TRY(nn_check_layer(m, "patch_embed", name, init));
  zpt_shape s;
  ZPT_TRY(nn_expect_rank(m, "patch_embed", name, 3, "a C x H x W image", "", &s));
  ZPT_TRY(nn_check_sizes("patch_embed", name, "patch", patch, "channels", channels));
  if (s.dim[1] % patch || s.dim[2] % patch)
    return zpt_fail(ZPT_EINVAL, "patch_embed layer '%s': %zux%zu patches do not tile the "
                    "%zux%zu image", nn_name(name), patch, patch, s.dim[1], s.dim[2]);
  patch_impl *d = zpt_new(patch_impl, "patch_embed layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (patch_impl){s.dim[0], s.dim[1], s.dim[2], patch, channels, init};
  size_t S = (s.dim[1] / patch) * (s.dim[2] / patch);
  nn_view v[2] = {{"weight", 2, {channels, s.dim[0] * patch * patch}},
                  {"bias", 1, {channels}}};
  return nn_add(m, &patch_ops, name, zpt_shape_size(s), zpt_shape_seq(S, channels), d, 2,
                v);
}

/* ------------------------------------------------------------ mixer block */

typedef struct {
  size_t s, d, ds, dc; /* tokens, channels, token-MLP width, channel-MLP width */
  int init;
} mixer_impl;

/* Offsets of the parameter parts within the layer's slice, in view order. */
typedef struct {
  float *ln1_g, *ln1_b, *tw1, *tb1, *tw2, *tb2, *ln2_g, *ln2_b, *cw1, *cb1, *cw2, *cb2;
} mixer_params;

/* forward() only reads through these pointers (it passes a const slice cast
 * to float *); init() writes through them. */
static mixer_params mixer_split(const mixer_impl *d, float *p) {
  size_t S = d->s, D = d->d, Ds = d->ds, Dc = d->dc;
  mixer_params q;
  q.ln1_g = p;
  q.ln1_b = q.ln1_g + D;
  q.tw1 = q.ln1_b + D;
  q.tb1 = q.tw1 + Ds * S;
  q.tw2 = q.tb1 + Ds;
  q.tb2 = q.tw2 + S * Ds;
  q.ln2_g = q.tb2 + S;
  q.ln2_b = q.ln2_g + D;
  q.cw1 = q.ln2_b + D;
  q.cb1 = q.cw1 + Dc * D;
  q.cw2 = q.cb1 + Dc;
  q.cb2 = q.cw2 + D * Dc;
  return q;
}

/* GELU in place on n floats, vectorised: the function of nn_gelu, with
 * expf replaced by a branch-free polynomial exp (Cephes' expf polynomial
 * on r = z - n ln 2, |r| <= ln 2 / 2, times 2^n built from its bits; z
 * clamped to [-87, 88]).  Relative error within a few float ulps of nn_gelu
 * (tests/test_scale.c); about 10x faster than a loop of expf, which GCC
 * does not vectorise without -ffast-math. */
static inline float gelu_fast(float x) {
  const float k2 = 1.5957691216057308f; /* 2 sqrt(2/pi) */
  float z = -k2 * (x + 0.044715f * x * x * x);
  z = z < -87.0f ? -87.0f : z;
  z = z > 88.0f ? 88.0f : z;
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float nf = (z * 1.44269504088896341f + magic) - magic;
  float r = z - nf * 0.693359375f; /* ln 2 in two parts */
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)nf + 127) * (1 << 23);
  float s;
  memcpy(&s, &bits, sizeof s);
  return x / (1.0f + p * s);
}

void nn_gelu_inplace(float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = gelu_fast(x[i]);
}

/* H = GELU(H + bias) on rows x cols, the bias per row (row_bias) or per
 * column: the bias pass fused into the activation pass. */
static void gelu_bias(float *h, size_t rows, size_t cols, const float *bias, int row_bias) {
  for (size_t r = 0; r < rows; r++) {
    float *x = h + r * cols;
    if (row_bias) {
      const float b = bias[r];
      for (size_t c = 0; c < cols; c++)
        x[c] = gelu_fast(x[c] + b);
    } else {
      for (size_t c = 0; c < cols; c++)
        x[c] = gelu_fast(x[c] + bias[c]);
    }
  }
}

/* Token mixing of cnt samples, all in one pair of GEMMs: the layer norm
 * writes the samples side by side, U = [LN1(X_1) ... LN1(X_cnt)] (S x cnt D,
 * token-major), so that H = GELU(W1 U + b1) (Ds x cnt D) and T = W2 H
 * (S x cnt D, written over U) are single products whose N = cnt D; then
 * Y_s = X_s + T[:, s D .. (s+1) D) + b2 (per token).  Scratch: A holds U and
 * then T (cnt S D floats), B holds H (cnt Ds D). */
static int token_mixing(const mixer_impl *d, const mixer_params *q, const float *x, float *y,
                        size_t cnt, float *A, float *B) {
  size_t S = d->s, D = d->d, Ds = d->ds, W = cnt * D;
  for (size_t s = 0; s < cnt; s++)
    nn_layernorm_rows(x + s * S * D, S, D, q->ln1_g, q->ln1_b, A + s * D, W, 1);
  ZPT_TRY(nn_sgemm(0, Ds, W, S, q->tw1, S, A, W, 0.0f, B, W));
  gelu_bias(B, Ds, W, q->tb1, 1);
  ZPT_TRY(nn_sgemm(0, S, W, Ds, q->tw2, Ds, B, W, 0.0f, A, W));
  for (size_t s = 0; s < cnt; s++)
    for (size_t t = 0; t < S; t++) {
      const float *xr = x + (s * S + t) * D, *tr = A + t * W + s * D;
      float *yr = y + (s * S + t) * D, b = q->tb2[t];
      for (size_t c = 0; c < D; c++)
        yr[c] = xr[c] + (tr[c] + b);
    }
  return ZPT_OK;
}

/* Scratch per sample: A (S*D: layer-norm output, then the token product),
 * B (max(Ds*D, S*Dc): hidden activations). */
static int mixer_forward(const zpt_layer *l, const float *params, const float *in,
                         float *out, size_t n, zpt_fwd_ctx *ctx) {
  const mixer_impl *d = l->impl;
  size_t S = d->s, D = d->d, Ds = d->ds, Dc = d->dc;
  size_t hid = Ds * D > S * Dc ? Ds * D : S * Dc;
  size_t per = S * D + hid;
  size_t nb = MIXER_SCRATCH_FLOATS / per;
  if (nb < 1)
    nb = 1;
  if (nb > n)
    nb = n;
  float *A;
  ZPT_TRY(nn_scratch(ctx, nb * per, &A));
  float *B = A + nb * S * D;
  mixer_params q = mixer_split(d, (float *)params);
  for (size_t s0 = 0; s0 < n; s0 += nb) {
    size_t cnt = n - s0 < nb ? n - s0 : nb;
    const float *x = in + s0 * S * D;
    float *y = out + s0 * S * D;
    /* token mixing: Y = X + W2 GELU(W1 LN1(X) + b1) + b2 per sample */
    ZPT_TRY(token_mixing(d, &q, x, y, cnt, A, B));
    /* channel mixing over all tokens of the sub-batch (cnt*S rows of D):
     * Y += GELU(LN2(Y) Wc1^T + c1) Wc2^T + c2 */
    nn_layernorm_rows(y, cnt * S, D, q.ln2_g, q.ln2_b, A, D, 1);
    ZPT_TRY(nn_sgemm(1, cnt * S, Dc, D, A, D, q.cw1, D, 0.0f, B, Dc));
    gelu_bias(B, cnt * S, Dc, q.cb1, 0);
    for (size_t r = 0; r < cnt * S; r++) {
      float *yr = y + r * D;
      for (size_t c = 0; c < D; c++)
        yr[c] += q.cb2[c];
    }
    ZPT_TRY(nn_sgemm(1, cnt * S, D, Dc, B, Dc, q.cw2, Dc, 1.0f, y, D));
  }
  return ZPT_OK;
}

static void mixer_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const mixer_impl *d = l->impl;
  size_t S = d->s, D = d->d, Ds = d->ds, Dc = d->dc;
  mixer_params q = mixer_split(d, params);
  for (size_t i = 0; i < D; i++) {
    q.ln1_g[i] = 1.0f;
    q.ln1_b[i] = 0.0f;
    q.ln2_g[i] = 1.0f;
    q.ln2_b[i] = 0.0f;
  }
  nn_init_weights(q.tw1, Ds * S, S, Ds, d->init, r);
  nn_init_bias(q.tb1, Ds, S, d->init, r);
  nn_init_weights(q.tw2, S * Ds, Ds, S, d->init, r);
  nn_init_bias(q.tb2, S, Ds, d->init, r);
  nn_init_weights(q.cw1, Dc * D, D, Dc, d->init, r);
  nn_init_bias(q.cb1, Dc, D, d->init, r);
  nn_init_weights(q.cw2, D * Dc, Dc, D, d->init, r);
  nn_init_bias(q.cb2, D, Dc, d->init, r);
}

static double mixer_flops(const zpt_layer *l) {
  const mixer_impl *d = l->impl;
  double S = (double)d->s, D = (double)d->d, Ds = (double)d->ds, Dc = (double)d->dc;
  double ln = 7.0 * S * D;                                  /* each layer norm */
  double token = D * (2.0 * S * Ds + Ds + 10.0 * Ds + 2.0 * Ds * S + S) + S * D;
  double channel = S * (2.0 * D * Dc + Dc + 10.0 * Dc + 2.0 * Dc * D + D) + S * D;
  return 2.0 * ln + token + channel;
}

static const zpt_layer_ops mixer_ops = {"mixer", mixer_forward, mixer_init, mixer_flops,
                                        nn_destroy_impl, NULL};

int zpt_model_add_mixer_block(zpt_model *m, const char *name, size_t token_hidden,
                              size_t channel_hidden, int init) {
  ZPT_TRY(nn_check_layer(m, "mixer", name, init));
  zpt_shape s;
  ZPT_TRY(nn_expect_rank(m, "mixer", name, 2, "tokens x channels", "", &s));
  ZPT_TRY(nn_check_sizes("mixer", name, "token_hidden", token_hidden, "channel_hidden",
                         channel_hidden));
  size_t S = s.dim[0], D = s.dim[1];
  mixer_impl *d = zpt_new(mixer_impl, "mixer layer");
  if (!d)
    return ZPT_ENOMEM;
  *d = (mixer_impl){S, D, token_hidden, channel_hidden, init};
  size_t Ds = token_hidden, Dc = channel_hidden;
  nn_view v[12] = {{"ln1.gain", 1, {D}},       {"ln1.bias", 1, {D}},
                   {"token.w1", 2, {Ds, S}},   {"token.b1", 1, {Ds}},
                   {"token.w2", 2, {S, Ds}},   {"token.b2", 1, {S}},
                   {"ln2.gain", 1, {D}},       {"ln2.bias", 1, {D}},
                   {"channel.w1", 2, {Dc, D}}, {"channel.b1", 1, {Dc}},
                   {"channel.w2", 2, {D, Dc}}, {"channel.b2", 1, {D}}};
  return nn_add(m, &mixer_ops, name, S * D, s, d, 12, v);
}
