/* Direct convolution kernels for the common small case (stride 1, no
 * padding): no im2col matrix, the multiply-adds run in registers.
 *
 * im2col + sgemm (conv.c) writes and then packs a column matrix C·kh·kw
 * times larger than the input; for the task-1 CNN (C·kh·kw = 25 and 150)
 * that memory traffic, not the arithmetic, set the speed (bench: 6 GFLOP/s
 * of 113 for sgemm).  Two register-blocked kernels, written with GCC vector
 * extensions (16 floats: one AVX-512 register, two AVX2 ones elsewhere):
 *
 *   channel lanes  (OC a multiple of 16): 16 output channels in the lanes,
 *                  8 output columns in 8 accumulators; per tap one weight
 *                  vector load and 8 broadcast multiply-adds.
 *   position lanes (OW >= 16, any OC): 16 consecutive output columns in
 *                  the lanes, up to 8 output channels in accumulators; per
 *                  tap one input vector load and og broadcast multiply-adds.
 *
 * Results equal the im2col path up to the order of the float additions
 * (each output is the same dot product, summed in (c, u, v) order plus the
 * bias first instead of last). */
/* The kernels need multiply-adds fused (-std=c11 turns contraction off) and
 * their accumulator loops fully unrolled so that the accumulators live in
 * registers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_internal.h"

typedef float v16 __attribute__((vector_size(64)));

static inline v16 load16(const float *p) {
  v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

static inline v16 splat16(float x) { return (v16){0} + x; }

/* ---- channel lanes ------------------------------------------------------- */

/* Accumulates jb (<= 8) output columns of one output row for 16 channels:
 * x points at input (c = 0, row i, column j0), wp at the packed weights
 * [c][u][v][16] of the channel group. */
static inline __attribute__((always_inline)) void chan_tile(const float *x, const float *wp,
                                                          const nn_conv_geom *g, v16 bias,
                                                          float *tile, int jb) {
  v16 acc[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++)
    acc[j] = bias;
  const size_t hw = g->h * g->w;
  for (size_t c = 0; c < g->c; c++)
    for (size_t u = 0; u < g->kh; u++) {
      const float *row = x + c * hw + u * g->w;
      for (size_t v = 0; v < g->kw; v++) {
        v16 wv = load16(wp);
        wp += 16;
        const float *xp = row + v;
#pragma GCC unroll 8
        for (int j = 0; j < jb; j++)
          acc[j] += wv * xp[j];
      }
    }
#pragma GCC unroll 8
  for (int j = 0; j < jb; j++)
    store16(tile + 16 * j, acc[j]);
}

static void conv_chan_lanes(const nn_conv_geom *g, const float *wpack, const float *bias,
                            const float *in, float *out, size_t n) {
  const size_t ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
  float tile[8 * 16];
  for (size_t s = 0; s < n; s++) {
    const float *img = in + s * g->c * g->h * g->w;
    float *y = out + s * g->oc * ohw;
    for (size_t grp = 0; grp < g->oc / 16; grp++) {
      const float *wp = wpack + grp * ckk * 16;
      v16 b = load16(bias + grp * 16);
      for (size_t i = 0; i < g->oh; i++)
        for (size_t j0 = 0; j0 < g->ow; j0 += 8) {
          const float *x = img + i * g->w + j0;
          size_t jb = g->ow - j0 < 8 ? g->ow - j0 : 8;
          if (jb == 8)
            chan_tile(x, wp, g, b, tile, 8);
          else
            chan_tile(x, wp, g, b, tile, (int)jb);
          float *dst = y + grp * 16 * ohw + i * g->ow + j0;
          for (size_t l = 0; l < 16; l++)
            for (size_t j = 0; j < jb; j++)
              dst[l * ohw + j] = tile[16 * j + l];
        }
    }
  }
}

/* ---- position lanes ------------------------------------------------------ */

/* og (<= 8) output channels x 16 output columns of one row: x at input
 * (c = 0, row i, column j0), w at the weights [og][c][u][v] of the first
 * channel (stride ckk between channels), out at output (channel 0, row i,
 * column j0) with channel stride ohw. */
static inline __attribute__((always_inline)) void pos_tile(const float *x, const float *w,
                                                         const float *bias,
                                                         const nn_conv_geom *g, float *out,
                                                         int og) {
  const size_t hw = g->h * g->w, ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
  v16 acc[8];
#pragma GCC unroll 8
  for (int k = 0; k < og; k++)
    acc[k] = splat16(bias[k]);
  size_t t = 0;
  for (size_t c = 0; c < g->c; c++)
    for (size_t u = 0; u < g->kh; u++) {
      const float *row = x + c * hw + u * g->w;
      for (size_t v = 0; v < g->kw; v++, t++) {
        v16 xv = load16(row + v);
#pragma GCC unroll 8
        for (int k = 0; k < og; k++)
          acc[k] += xv * w[k * ckk + t];
      }
    }
#pragma GCC unroll 8
  for (int k = 0; k < og; k++)
    store16(out + k * ohw, acc[k]);
}

#define POS_CASE(OG)                                                                    \
  case OG:                                                                             \
    pos_tile(x, w, b, g, dst, OG);                                                     \
    break;

static void conv_pos_lanes(const nn_conv_geom *g, const float *weight, const float *bias,
                           const float *in, float *out, size_t n) {
  const size_t ckk = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
  for (size_t s = 0; s < n; s++) {
    const float *img = in + s * g->c * g->h * g->w;
    float *y = out + s * g->oc * ohw;
    for (size_t o0 = 0; o0 < g->oc; o0 += 8) {
      int og = g->oc - o0 < 8 ? (int)(g->oc - o0) : 8;
      const float *w = weight + o0 * ckk, *b = bias + o0;
      for (size_t i = 0; i < g->oh; i++)
        for (size_t j0 = 0;; j0 += 16) {
          if (j0 + 16 > g->ow)
            j0 = g->ow - 16; /* last tile overlaps the previous one */
          const float *x = img + i * g->w + j0;
          float *dst = y + o0 * ohw + i * g->ow + j0;
          switch (og) {
            POS_CASE(1) POS_CASE(2) POS_CASE(3) POS_CASE(4)
            POS_CASE(5) POS_CASE(6) POS_CASE(7) POS_CASE(8)
          }
          if (j0 + 16 >= g->ow)
            break;
        }
    }
  }
}

int nn_conv_direct(const nn_conv_geom *g, const float *weight, const float *bias,
                   const float *in, float *out, size_t n, zpt_fwd_ctx *ctx) {
  if (g->stride != 1 || g->pad != 0)
    return 0;
  const size_t ckk = g->c * g->kh * g->kw;
  if (g->oc % 16 == 0) {
    float *wpack;
    if (nn_scratch(ctx, g->oc * ckk, &wpack) != ZPT_OK)
      return 0; /* the caller's path reports the allocation failure */
    for (size_t grp = 0; grp < g->oc / 16; grp++)
      for (size_t t = 0; t < ckk; t++)
        for (size_t l = 0; l < 16; l++)
          wpack[(grp * ckk + t) * 16 + l] = weight[(grp * 16 + l) * ckk + t];
    conv_chan_lanes(g, wpack, bias, in, out, n);
    return 1;
  }
  if (g->ow >= 16) {
    conv_pos_lanes(g, weight, bias, in, out, n);
    return 1;
  }
  return 0;
}
