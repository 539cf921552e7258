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
typedef int v16i __attribute__((vector_size(64)));

static inline v16 load16(const float *p) {
  v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

static inline v16 splat16(float x) { return (v16){0} + x; }

/* max(a, b) lane by lane, as (a > b ? a : b) (ReLU's and max-pool's rule;
 * GCC turns the select into one max instruction). */
static inline v16 max16(v16 a, v16 b) {
  v16i m = a > b;
  return (v16)((m & (v16i)a) | (~m & (v16i)b));
}

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

/* ---- fused convolution + bias + ReLU + 2x2 max-pool ----------------------
 *
 * conv -> ReLU -> max-pool(2, 2) as one pass (model.c fuses the three
 * layers): a register tile covers the two output rows of a row of pooling
 * windows, so the 2x2 maximum and the ReLU are taken on the accumulators and
 * only the pooled map is written, never the convolution's output (which the
 * separate layers wrote, read, rewrote and read again).  max(relu(a), ...) =
 * relu(max(a, ...)) since ReLU is monotonic, and every convolution output is
 * the same sum in the same order as in the unfused kernels above, so the
 * results are identical.
 *
 * Both tiles load each input value once for the two output rows (input row
 * r meets kernel row r in output row 2i and kernel row r - 1 in row 2i + 1),
 * and are written so that GCC keeps the accumulators in registers and takes
 * broadcasts from memory (a broadcast from a register competes with the
 * multiply-adds for port 5 on AVX-512 cores). */

/* Broadcast of one float without the "0 + x" that (v16){0} + x compiles to
 * (-0.0f + 0 is +0: GCC must keep the addition). */
static inline v16 bcast16(const float *p) {
  float x = *p;
  return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

/* The pooled maximum, after the ReLU, of vectors a0 (row 2i) and a1 (row
 * 2i + 1) whose lanes are 16 consecutive output columns starting at an even
 * one: lanes 0..7 of the result are the 8 pooled columns. */
#ifdef __clang__
#define EVEN_LANES(m) __builtin_shufflevector(m, m, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD_LANES(m) __builtin_shufflevector(m, m, 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15)
#else
#define EVEN_LANES(m) \
  __builtin_shuffle(m, (v16i){0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14})
#define ODD_LANES(m) \
  __builtin_shuffle(m, (v16i){1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15})
#endif
static inline v16 pool_lanes(v16 a0, v16 a1) {
  v16 m = max16(a0, a1);
  return max16(max16(EVEN_LANES(m), ODD_LANES(m)), splat16(0.0f));
}

/* Position lanes (small OC, OW >= 16): og (<= POOL_OG) channels x 2 output
 * rows x two vectors of 16 output columns starting at columns ja and jb
 * (even; jb may overlap ja's vector: the overlap is computed twice and
 * written twice with the same values).  x at input (c = 0, row 2i, column
 * 0), wk the weights packed [c][u][v][POOL_OG] of the channel group, out at
 * the pooled map (channel 0, pooled row i, column 0) with channel stride
 * pstride.  Per input vector load 2 x og multiply-adds, each weight
 * broadcast serves both column vectors. */
#define POOL_OG 6
static inline __attribute__((always_inline)) void pos_pool_tile(const float *x, const float *wk,
                                                              const float *bias,
                                                              const nn_conv_geom *g,
                                                              size_t ja, size_t jb, float *out,
                                                              size_t pstride, int og) {
  const size_t hw = g->h * g->w, kk = g->kh * g->kw;
  v16 a0[POOL_OG], a1[POOL_OG], b0[POOL_OG], b1[POOL_OG];
#pragma GCC unroll 8
  for (int k = 0; k < og; k++)
    a0[k] = a1[k] = b0[k] = b1[k] = bcast16(bias + k);
  for (size_t c = 0; c < g->c; c++) {
    const float *xc = x + c * hw, *wc = wk + c * kk * POOL_OG;
    for (size_t r = 0; r <= g->kh; r++) {
      const float *row = xc + r * g->w;
      const float *w0 = wc + r * g->kw * POOL_OG;
      const float *w1 = r > 0 ? w0 - g->kw * POOL_OG : w0; /* row r - 1 (unused at r = 0) */
      for (size_t v = 0; v < g->kw; v++) {
        v16 xa = load16(row + ja + v), xb = load16(row + jb + v);
        if (r < g->kh) {
#pragma GCC unroll 8
          for (int k = 0; k < og; k++) {
            v16 wv = bcast16(w0 + v * POOL_OG + k);
            a0[k] += xa * wv;
            b0[k] += xb * wv;
          }
        }
        if (r > 0) {
#pragma GCC unroll 8
          for (int k = 0; k < og; k++) {
            v16 wv = bcast16(w1 + v * POOL_OG + k);
            a1[k] += xa * wv;
            b1[k] += xb * wv;
          }
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < og; k++) {
    v16 pa = pool_lanes(a0[k], a1[k]), pb = pool_lanes(b0[k], b1[k]);
    memcpy(out + k * pstride + ja / 2, &pa, 8 * sizeof(float));
    memcpy(out + k * pstride + jb / 2, &pb, 8 * sizeof(float));
  }
}

#define POS_POOL_CASE(OG)                                                               \
  case OG:                                                                             \
    pos_pool_tile(x, wk, b, g, ja, jb, dst, ph * pw, OG);                              \
    break;

static void conv_pos_pool(const nn_conv_geom *g, const float *wpack, const float *bias,
                          const float *in, float *out, size_t n) {
  const size_t ph = g->oh / 2, pw = g->ow / 2, ckk = g->c * g->kh * g->kw;
  /* vectors at columns 0, 16, 32, ..., the last one at ow - 16 (even),
   * taken in pairs (an odd count repeats the last) */
  const size_t nvec = (g->ow + 15) / 16;
  for (size_t s = 0; s < n; s++) {
    const float *img = in + s * g->c * g->h * g->w;
    float *y = out + s * g->oc * ph * pw;
    for (size_t o0 = 0; o0 < g->oc; o0 += POOL_OG) {
      int og = g->oc - o0 < POOL_OG ? (int)(g->oc - o0) : POOL_OG;
      const float *wk = wpack + (o0 / POOL_OG) * ckk * POOL_OG, *b = bias + o0;
      for (size_t i = 0; i < ph; i++) {
        const float *x = img + 2 * i * g->w;
        float *dst = y + o0 * ph * pw + i * pw;
        for (size_t t = 0; t < nvec; t += 2) {
          size_t ja = t + 1 < nvec ? 16 * t : g->ow - 16;
          size_t jb = t + 1 < nvec ? 16 * (t + 1) : ja;
          if (jb + 16 > g->ow)
            jb = g->ow - 16;
          switch (og) {
            POS_POOL_CASE(1) POS_POOL_CASE(2) POS_POOL_CASE(3)
            POS_POOL_CASE(4) POS_POOL_CASE(5) POS_POOL_CASE(6)
          }
        }
      }
    }
  }
}

/* Channel lanes (OC % 16 == 0): 16 channels x 2 output rows x 8 output
 * columns, the kernel width KW a compile-time constant so that the 2 x KW
 * weight vectors of a kernel row pair stay in registers while the row's
 * 8 + KW - 1 input values are broadcast one after the other (each from
 * memory, each used by up to 2 x KW multiply-adds).  x at input (c = 0, row
 * 2i, column j0), wp the weights packed [c][u][v][16] of the channel group;
 * the 4 pooled vectors (16 channels each, ReLU applied) go to pooled[]. */
static inline __attribute__((always_inline)) void chan_pool_row(v16 *a0, v16 *a1,
                                                              const float *row,
                                                              const float *w0,
                                                              const float *w1, int use0,
                                                              int use1, int KW) {
  v16 wv0[8], wv1[8];
#pragma GCC unroll 8
  for (int v = 0; v < KW; v++) {
    if (use0)
      wv0[v] = load16(w0 + 16 * v);
    if (use1)
      wv1[v] = load16(w1 + 16 * v);
  }
#pragma GCC unroll 16
  for (int q = 0; q < 8 + KW - 1; q++) {
    v16 xb = bcast16(row + q);
#pragma GCC unroll 8
    for (int v = 0; v < KW; v++) {
      int j = q - v;
      if (j < 0 || j >= 8)
        continue;
      if (use0)
        a0[j] += wv0[v] * xb;
      if (use1)
        a1[j] += wv1[v] * xb;
    }
  }
}

static inline __attribute__((always_inline)) void chan_pool_tile(const float *x, const float *wp,
                                                               const nn_conv_geom *g, v16 bias,
                                                               v16 *pooled, int KW) {
  const size_t hw = g->h * g->w, kh = g->kh;
  v16 a0[8], a1[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++)
    a0[j] = a1[j] = bias;
  for (size_t c = 0; c < g->c; c++) {
    const float *xc = x + c * hw, *wc = wp + c * kh * KW * 16;
    chan_pool_row(a0, a1, xc, wc, NULL, 1, 0, KW);
    for (size_t r = 1; r < kh; r++)
      chan_pool_row(a0, a1, xc + r * g->w, wc + r * KW * 16, wc + (r - 1) * KW * 16, 1, 1, KW);
    chan_pool_row(a0, a1, xc + kh * g->w, NULL, wc + (kh - 1) * KW * 16, 0, 1, KW);
  }
#pragma GCC unroll 4
  for (int p = 0; p < 4; p++)
    pooled[p] = max16(max16(max16(a0[2 * p], a0[2 * p + 1]), max16(a1[2 * p], a1[2 * p + 1])),
                      splat16(0.0f));
}

#define CHAN_POOL_MAX_KW 7
#define CHAN_POOL_CASE(KW)                                                              \
  case KW:                                                                             \
    chan_pool_tile(x, wp, g, b, pooled, KW);                                           \
    break;

static void conv_chan_pool(const nn_conv_geom *g, const float *wpack, const float *bias,
                           const float *in, float *out, size_t n) {
  const size_t ckk = g->c * g->kh * g->kw, ph = g->oh / 2, pw = g->ow / 2, pp = ph * pw;
  v16 pooled[4];
  float lanes[4 * 16];
  for (size_t s = 0; s < n; s++) {
    const float *img = in + s * g->c * g->h * g->w;
    float *y = out + s * g->oc * pp;
    for (size_t grp = 0; grp < g->oc / 16; grp++) {
      const float *wp = wpack + grp * ckk * 16;
      v16 b = load16(bias + grp * 16);
      float *yg = y + grp * 16 * pp;
      for (size_t i = 0; i < ph; i++)
        for (size_t j0 = 0;; j0 += 8) {
          if (j0 + 8 > g->ow)
            j0 = g->ow - 8; /* even: overlaps the previous tile, same values */
          const float *x = img + 2 * i * g->w + j0;
          switch (g->kw) {
            CHAN_POOL_CASE(1) CHAN_POOL_CASE(2) CHAN_POOL_CASE(3) CHAN_POOL_CASE(4)
            CHAN_POOL_CASE(5) CHAN_POOL_CASE(6) CHAN_POOL_CASE(7)
          }
          /* channel-major vectors into the CHW map */
          memcpy(lanes, pooled, sizeof pooled);
          float *d = yg + i * pw + j0 / 2;
          for (size_t l = 0; l < 16; l++)
            for (size_t p = 0; p < 4; p++)
              d[l * pp + p] = lanes[16 * p + l];
          if (j0 + 8 >= g->ow)
            break;
        }
    }
  }
}

int nn_conv_relu_pool_fusable(const nn_conv_geom *g) {
  if (g->stride != 1 || g->pad != 0 || g->oh % 2 || g->ow % 2)
    return 0;
  return (g->oc % 16 == 0 && g->ow >= 8 && g->kw <= CHAN_POOL_MAX_KW) || g->ow >= 16;
}

int nn_conv_relu_pool(const nn_conv_geom *g, const float *weight, const float *bias,
                      const float *in, float *out, size_t n, zpt_fwd_ctx *ctx) {
  const size_t ckk = g->c * g->kh * g->kw;
  float *wpack;
  if (g->oc % 16 == 0 && g->ow >= 8 && g->kw <= CHAN_POOL_MAX_KW) {
    ZPT_TRY(nn_scratch(ctx, g->oc * ckk, &wpack));
    for (size_t grp = 0; grp < g->oc / 16; grp++)
      for (size_t t = 0; t < ckk; t++)
        for (size_t l = 0; l < 16; l++)
          wpack[(grp * ckk + t) * 16 + l] = weight[(grp * 16 + l) * ckk + t];
    conv_chan_pool(g, wpack, bias, in, out, n);
    return ZPT_OK;
  }
  /* groups of POOL_OG channels, [group][c][u][v][POOL_OG], unused slots 0 */
  size_t groups = (g->oc + POOL_OG - 1) / POOL_OG;
  ZPT_TRY(nn_scratch(ctx, groups * ckk * POOL_OG, &wpack));
  for (size_t grp = 0; grp < groups; grp++)
    for (size_t t = 0; t < ckk; t++)
      for (size_t l = 0; l < POOL_OG; l++) {
        size_t o = grp * POOL_OG + l;
        wpack[(grp * ckk + t) * POOL_OG + l] = o < g->oc ? weight[o * ckk + t] : 0.0f;
      }
  conv_pos_pool(g, wpack, bias, in, out, n);
  return ZPT_OK;
}
