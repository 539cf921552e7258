/* The rotation kernel of the MZI meshes: band plan, planar transposes and
 * the two-column sweeps (sweep.h; docs/mzi.md, "The rotation kernel"). */
#include "mzi/sweep.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

/* ------------------------------------------------------------------ plan */

void zpt_mesh_sweep_free(zpt_mesh_sweep *s) {
  if (!s)
    return;
  zpt_free(s->bands);
  zpt_free(s->col_entry);
  zpt_free(s->col_first);
  zpt_free(s->col_steps);
  zpt_free(s);
}

int zpt_mesh_sweep_alloc(const zpt_mesh_topology *t, zpt_mesh_sweep **out) {
  *out = NULL;
  const size_t L = t->n_cols, P = ZPT_SWEEP_PAD;
  zpt_mesh_sweep *s = zpt_new(zpt_mesh_sweep, "mesh sweep plan");
  if (!s)
    return ZPT_ENOMEM;
  s->K = t->K;
  s->rows = t->K + 2 * P;
  s->bands = zpt_new_array(zpt_sweep_band, L / 2 + 1, "mesh sweep bands");
  s->col_entry = zpt_new_array(size_t, L, "mesh sweep columns");
  s->col_first = zpt_new_array(size_t, L, "mesh sweep columns");
  s->col_steps = zpt_new_array(size_t, L, "mesh sweep columns");
  if (!s->bands || !s->col_entry || !s->col_first || !s->col_steps) {
    zpt_mesh_sweep_free(s);
    return ZPT_ENOMEM;
  }
  size_t entry = 0;
  for (size_t c = 0; c < L;) {
    size_t D = L - c >= 2 ? 2 : 1;
    /* MZI (column c + d, top m) runs at row r = m + d + P; every column's
     * tops are m0, m0 + 2, ... with m0 + d of the band's parity */
    size_t lo = SIZE_MAX, hi = 0;
    int ok = 1;
    for (size_t d = 0; d < D; d++) {
      size_t q0 = t->col_start[c + d], nq = t->col_start[c + d + 1] - q0;
      for (size_t j = 0; j < nq; j++) {
        size_t m = t->top[q0 + j];
        ok &= m == t->top[q0] + 2 * j && m + 1 < t->K && (m + d) % 2 == (t->top[q0] + d) % 2;
        size_t r = m + d + P;
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
      }
    }
    if (lo == SIZE_MAX) { /* empty columns (not built by the topologies) */
      lo = P;
      hi = P;
    }
    if (!ok || (hi - lo) % 2) {
      zpt_mesh_sweep_free(s);
      return zpt_fail(ZPT_EINVAL, "mesh sweep plan: columns %zu..%zu are not rows of "
                      "pairs m, m+2, ... of one parity", c, c + D - 1);
    }
    size_t steps = (hi - lo) / 2 + 1;
    s->bands[s->n_bands++] = (zpt_sweep_band){c, D, lo, steps};
    for (size_t d = 0; d < D; d++) {
      size_t q0 = t->col_start[c + d];
      size_t m0 = t->col_start[c + d + 1] > q0 ? t->top[q0] : lo - d - P;
      s->col_entry[c + d] = entry;
      s->col_first[c + d] = (m0 + d + P - lo) / 2;
      s->col_steps[c + d] = steps;
      entry += steps;
    }
    c += D;
  }
  s->n_entries = entry;
  *out = s;
  return ZPT_OK;
}

void zpt_mesh_sweep_identity(const zpt_mesh_sweep *s, const zpt_mesh_topology *t, int lifted,
                             float *coef) {
  for (size_t c = 0; c < t->n_cols; c++) {
    size_t S = s->col_steps[c], first = s->col_first[c];
    size_t last = first + (t->col_start[c + 1] - t->col_start[c]); /* one past */
    for (size_t k = 0; k < S; k++) {
      if (k == first && last > first) {
        k = last - 1;
        continue;
      }
      if (lifted) {
        float *col = coef + 4 * s->col_entry[c];
        col[k] = col[S + k] = col[2 * S + k] = col[3 * S + k] = 0;
      } else {
        float *e = coef + 8 * (s->col_entry[c] + k);
        for (int i = 0; i < 8; i++)
          e[i] = 0;
        e[0] = e[6] = 1;
      }
    }
  }
}

/* ---------------------------------------------------------------- kernel */

/* 16-float vectors (GCC vector extensions: one AVX-512 register with
 * -march=native on this machine, pairs or quads of narrower registers
 * elsewhere, plain C semantics everywhere). */
typedef float v16 __attribute__((vector_size(64)));
typedef int i16 __attribute__((vector_size(64)));
#define VW 16
#define VMAX (ZPT_SWEEP_CHUNK / VW)

/* a macro, not a function: returning a 64-byte vector by value changes the
 * ABI when AVX-512 is off (-Wpsabi in the sanitizer build) */
#define SPLAT(x)                                                                  \
  ((v16){(x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x)})

size_t zpt_mesh_sweep_bytes(const zpt_mesh_sweep *s) {
  return 2 * s->rows * VMAX * sizeof(v16);
}

/* A row's vectors: re[0..V), then im[0..V).  Window registers are named
 * R<row>_<v>, I<row>_<v> so that they stay in registers. */
#define ROW(r) (P + (r) * 2 * V)
#define LDV(v, A, r)            \
  R##A##_##v = ROW(r)[v];       \
  I##A##_##v = ROW(r)[V + (v)];
#define STV(v, A, r)            \
  ROW(r)[v] = R##A##_##v;       \
  ROW(r)[V + (v)] = I##A##_##v;
#define MVV(v, A, B)            \
  R##A##_##v = R##B##_##v;      \
  I##A##_##v = I##B##_##v;
#define EACH_V(M, ...)          \
  do {                          \
    M(0, __VA_ARGS__)           \
    if (V > 1) {                \
      M(1, __VA_ARGS__)         \
    }                           \
  } while (0)
#define LD(A, r) EACH_V(LDV, A, r)
#define ST(A, r) EACH_V(STV, A, r)
#define MV(A, B) EACH_V(MVV, A, B)

/* lifted MZI on rows A (upper) and B: phase of A as three shears of
 * (re, im), then the real rotation of (A, B) as three shears, re and im */
#define LIFTV(v, A, B)                                                   \
  {                                                                      \
    v16 r0 = R##A##_##v, i0 = I##A##_##v, r1 = R##B##_##v, i1 = I##B##_##v; \
    r0 += a1 * i0;                                                       \
    i0 += b1 * r0;                                                       \
    r0 += a1 * i0;                                                       \
    r0 += a2 * r1;                                                       \
    i0 += a2 * i1;                                                       \
    r1 += b2 * r0;                                                       \
    i1 += b2 * i0;                                                       \
    r0 += a2 * r1;                                                       \
    i0 += a2 * i1;                                                       \
    R##A##_##v = r0, I##A##_##v = i0, R##B##_##v = r1, I##B##_##v = i1;  \
  }
/* general 2x2 complex matrix on rows A, B */
#define GENV(v, A, B)                                                    \
  {                                                                      \
    v16 r0 = R##A##_##v, i0 = I##A##_##v, r1 = R##B##_##v, i1 = I##B##_##v; \
    R##A##_##v = ar * r0 - ai * i0 + br * r1 - bi * i1;                  \
    I##A##_##v = ar * i0 + ai * r0 + br * i1 + bi * r1;                  \
    R##B##_##v = cr * r0 - ci * i0 + dr * r1 - di * i1;                  \
    I##B##_##v = cr * i0 + ci * r0 + dr * i1 + di * r1;                  \
  }
#define OP(A, B, cf, k)                                                  \
  do {                                                                   \
    if (lifted) {                                                        \
      const v16 a1 = SPLAT((cf)[k]), b1 = SPLAT((cf)[S + (k)]);          \
      const v16 a2 = SPLAT((cf)[2 * S + (k)]), b2 = SPLAT((cf)[3 * S + (k)]); \
      EACH_V(LIFTV, A, B);                                               \
    } else {                                                             \
      const float *g = (cf) + 8 * (k);                                   \
      const v16 ar = SPLAT(g[0]), ai = SPLAT(g[1]);                      \
      const v16 br = SPLAT(g[2]), bi = SPLAT(g[3]);                      \
      const v16 cr = SPLAT(g[4]), ci = SPLAT(g[5]);                      \
      const v16 dr = SPLAT(g[6]), di = SPLAT(g[7]);                      \
      EACH_V(GENV, A, B);                                                \
    }                                                                    \
  } while (0)

/* All bands of the mesh over one planar chunk of V vectors.  A column's
 * coefficients: W floats per step (W = 4 lifted, 8 general); lifted ones
 * as four arrays a1[S], b1[S], a2[S], b2[S] over the band's S steps,
 * general ones as one 8-float entry per step. */
static inline __attribute__((always_inline)) void
sweep_chunk(const zpt_mesh_sweep *s, const int lifted, const int V, const float *coef,
            v16 *P) {
  const size_t W = lifted ? 4 : 8;
  v16 R0_0, I0_0, R1_0, I1_0, R2_0, I2_0;
  v16 R0_1 = SPLAT(0.0f), I0_1 = R0_1, R1_1 = R0_1, I1_1 = R0_1, R2_1 = R0_1, I2_1 = R0_1;
  for (size_t b = 0; b < s->n_bands; b++) {
    const zpt_sweep_band *bd = &s->bands[b];
    const float *c0 = coef + W * s->col_entry[bd->c];
    const size_t S = bd->n_steps;
    size_t r = bd->r_lo;
    if (bd->D == 2) {
      /* step at row r: first column on (r, r+1), second on (r-1, r);
       * rows r-1 and r are then final, r+1 is carried */
      const float *c1 = coef + W * s->col_entry[bd->c + 1];
      LD(0, r - 1);
      for (size_t k = 0; k < bd->n_steps; k++, r += 2) {
        LD(1, r);
        LD(2, r + 1);
        OP(1, 2, c0, k);
        OP(0, 1, c1, k);
        ST(0, r - 1);
        ST(1, r);
        MV(0, 2);
      }
      ST(0, r - 1);
    } else {
      for (size_t k = 0; k < bd->n_steps; k++, r += 2) {
        LD(0, r);
        LD(1, r + 1);
        OP(0, 1, c0, k);
        ST(0, r);
        ST(1, r + 1);
      }
    }
  }
}

#define SWEEP(name, L, V)                                                          \
  __attribute__((noinline, optimize("fp-contract=fast"))) static void name(        \
      const zpt_mesh_sweep *s, const float *coef, v16 *P) {                        \
    sweep_chunk(s, L, V, coef, P);                                                 \
  }
SWEEP(sweep_lift1, 1, 1)
SWEEP(sweep_lift2, 1, 2)
SWEEP(sweep_gen1, 0, 1)
SWEEP(sweep_gen2, 0, 2)

/* ---------------------------------------------------- lifted coefficients */

typedef unsigned u16v __attribute__((vector_size(64)));
#define BITS(x) ((u16v)(x))
#define FLT(x) ((v16)(x))
#define USPLAT(x)                                                                  \
  ((u16v){(x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x)})
#define SIGN USPLAT(0x80000000u)

/* sin and cos of 16 phases: x = k pi/2 + r, |r| <= pi/4 (pi/2 in three
 * floats, the first with 8 significant bits so that k times it is exact
 * for |k| < 2^16; k by the round-to-nearest of adding 1.5 2^23), Taylor
 * polynomials to r^9 / r^10, then k mod 4 (the low bits of the rounded
 * sum) swaps and signs the pair: mzi/mesh.c phase_sincos, 16 lanes at a
 * time. */
static inline __attribute__((always_inline)) void vsincos(v16 x, v16 *s, v16 *c) {
  const v16 magic = SPLAT(12582912.0f);
  v16 y = x * SPLAT(0.636619772f) + magic;
  v16 k = y - magic;
  v16 r = ((x - k * SPLAT(1.5703125f)) - k * SPLAT(4.837512969970703125e-4f)) -
          k * SPLAT(7.54978995489188216e-8f);
  v16 r2 = r * r;
  v16 sr = r + r * r2 * (SPLAT(-1.0f / 6) +
                         r2 * (SPLAT(1.0f / 120) + r2 * (SPLAT(-1.0f / 5040) +
                                                         r2 * SPLAT(1.0f / 362880))));
  v16 cr = SPLAT(1.0f) +
           r2 * (SPLAT(-0.5f) +
                 r2 * (SPLAT(1.0f / 24) +
                       r2 * (SPLAT(-1.0f / 720) +
                             r2 * (SPLAT(1.0f / 40320) + r2 * SPLAT(-1.0f / 3628800)))));
  u16v q = BITS(y) & USPLAT(3u);
  u16v odd = -(q & USPLAT(1u)); /* all ones in odd quadrants */
  u16v so = (BITS(cr) & odd) | (BITS(sr) & ~odd), co = (BITS(sr) & odd) | (BITS(cr) & ~odd);
  *s = FLT(so ^ ((q & USPLAT(2u)) << 30));
  *c = FLT(co ^ (((q + USPLAT(1u)) & USPLAT(2u)) << 30));
}

/* mzi/mesh.c lift_mzi, 16 MZIs at a time (see there for the algebra). */
__attribute__((optimize("fp-contract=fast"))) void
zpt_mesh_sweep_lift_column(const float *phases, size_t nq, float *p0r, float *p0i,
                           float *p1r, float *p1i, float *out, size_t stride) {
  static const i16 even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  static const i16 odd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  static const i16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  for (size_t j = 0; j < nq; j += VW) {
    size_t m = nq - j < VW ? nq - j : VW;
    v16 lo, hi, a, b, c, d;
    if (m == VW) {
      memcpy(&lo, phases + 2 * j, sizeof lo);
      memcpy(&hi, phases + 2 * j + VW, sizeof hi);
    } else {
      float ph[2 * VW] = {0};
      memcpy(ph, phases + 2 * j, 2 * m * sizeof(float));
      memcpy(&lo, ph, sizeof lo);
      memcpy(&hi, ph + VW, sizeof hi);
    }
    /* full vectors: the caller's arrays extend VW floats beyond nq */
    memcpy(&a, p0r + j, sizeof a);
    memcpy(&b, p0i + j, sizeof b);
    memcpy(&c, p1r + j, sizeof c);
    memcpy(&d, p1i + j, sizeof d);
    v16 th = __builtin_shuffle(lo, hi, even), ph = __builtin_shuffle(lo, hi, odd);
    v16 sh, ch, sp, cp;
    vsincos(SPLAT(0.5f) * th, &sh, &ch);
    vsincos(ph, &sp, &cp);
    v16 wr = a * c + b * d, wi = b * c - a * d;            /* p0 conj(p1) */
    v16 zr = sp * wi - cp * wr, zi = -(cp * wi + sp * wr); /* -e^{i phi} w */
    u16v s1 = BITS(zr) & SIGN;                             /* Re z < 0: flip */
    zr = FLT(BITS(zr) ^ s1);
    zi = FLT(BITS(zi) ^ s1);
    v16 ai = FLT(BITS(ch) ^ s1);
    u16v s2 = BITS(sh) & SIGN; /* cos alpha < 0: flip */
    v16 ar = FLT(BITS(sh) ^ s2);
    ai = FLT(BITS(ai) ^ s2);
    v16 er = ch * c - sh * d, ei = ch * d + sh * c; /* e^{i theta/2} p1 */
    v16 gr = FLT(BITS(ei) ^ s2), gi = FLT(BITS(er) ^ s2 ^ SIGN);
    v16 o0 = -zi / (SPLAT(1.0f) + zr), o2 = -ai / (SPLAT(1.0f) + ar);
    v16 n0r = FLT(BITS(gr) ^ s1), n0i = FLT(BITS(gi) ^ s1);
    if (m == VW) {
      memcpy(out + j, &o0, sizeof o0);
      memcpy(out + stride + j, &zi, sizeof zi);
      memcpy(out + 2 * stride + j, &o2, sizeof o2);
      memcpy(out + 3 * stride + j, &ai, sizeof ai);
      memcpy(p0r + j, &n0r, sizeof n0r);
      memcpy(p0i + j, &n0i, sizeof n0i);
      memcpy(p1r + j, &gr, sizeof gr);
      memcpy(p1i + j, &gi, sizeof gi);
      continue;
    }
    /* the last, partial vector: lanes from m on keep what was there */
    u16v keep = (u16v)(lane >= (i16){0} + (int)m);
#define PUT(dst, v)                                          \
  {                                                          \
    v16 old;                                                 \
    memcpy(&old, dst, sizeof old);                           \
    v16 nw = FLT((BITS(old) & keep) | (BITS(v) & ~keep));    \
    memcpy(dst, &nw, sizeof nw);                             \
  }
    PUT(out + j, o0)
    PUT(out + stride + j, zi)
    PUT(out + 2 * stride + j, o2)
    PUT(out + 3 * stride + j, ai)
    PUT(p0r + j, n0r)
    PUT(p0i + j, n0i)
    PUT(p1r + j, gr)
    PUT(p1i + j, gi)
#undef PUT
  }
}

/* ------------------------------------------------------------ transposes */

/* In-place transpose of a 16 x 16 float block (rows a[0..16)): four
 * stages, each swapping the off-diagonal h x h blocks of 2h x 2h blocks. */
static inline __attribute__((always_inline)) void transpose16(v16 *a) {
  static const i16 lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  static const i16 hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  static const i16 lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
  static const i16 hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
  static const i16 lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  static const i16 hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  static const i16 lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
  static const i16 hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
#define PAIR(i, h, lo, hi)                                  \
  {                                                         \
    v16 x = a[i], y = a[(i) + (h)];                         \
    a[i] = __builtin_shuffle(x, y, lo);                     \
    a[(i) + (h)] = __builtin_shuffle(x, y, hi);             \
  }
#define STAGE(h, lo, hi, i0, i1, i2, i3, i4, i5, i6, i7)                         \
  PAIR(i0, h, lo, hi) PAIR(i1, h, lo, hi) PAIR(i2, h, lo, hi) PAIR(i3, h, lo, hi) \
  PAIR(i4, h, lo, hi) PAIR(i5, h, lo, hi) PAIR(i6, h, lo, hi) PAIR(i7, h, lo, hi)
  STAGE(8, lo8, hi8, 0, 1, 2, 3, 4, 5, 6, 7)
  STAGE(4, lo4, hi4, 0, 1, 2, 3, 8, 9, 10, 11)
  STAGE(2, lo2, hi2, 0, 1, 4, 5, 8, 9, 12, 13)
  STAGE(1, lo1, hi1, 0, 2, 4, 6, 8, 10, 12, 14)
#undef PAIR
#undef STAGE
}

/* x (ns <= VW V samples, K complex each) -> planar rows; absent samples and
 * the padding rows are zero. */
static inline __attribute__((always_inline)) void
planar_load_v(const float *x, size_t K, size_t ns, const int V, v16 *P) {
  const size_t rows = K + 2 * ZPT_SWEEP_PAD;
  for (int v = 0; v < V; v++) {
    P[v] = P[V + v] = SPLAT(0.0f);
    P[(rows - 1) * 2 * V + v] = P[(rows - 1) * 2 * V + V + v] = SPLAT(0.0f);
  }
  if (K < 8) {
    for (size_t k = 0; k < K; k++)
      for (int v = 0; v < V; v++) {
        v16 re = SPLAT(0.0f), im = SPLAT(0.0f);
        for (size_t i = 0; i < VW && v * VW + i < ns; i++) {
          re[i] = x[2 * ((v * VW + i) * K + k)];
          im[i] = x[2 * ((v * VW + i) * K + k) + 1];
        }
        v16 *row = P + (k + ZPT_SWEEP_PAD) * 2 * V;
        row[v] = re;
        row[V + v] = im;
      }
    return;
  }
  for (int v = 0; v < V; v++) {
    const float *xv = x + 2 * v * VW * K;
    size_t nv = ns > (size_t)v * VW ? ns - (size_t)v * VW : 0;
    for (size_t k0 = 0; k0 < K; k0 += 8) {
      size_t k = k0 + 8 <= K ? k0 : K - 8; /* the last group may overlap */
      v16 a[16];
      if (nv >= VW) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          memcpy(&a[i], xv + 2 * (i * K + k), sizeof(v16));
      } else {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          if ((size_t)i < nv)
            memcpy(&a[i], xv + 2 * (i * K + k), sizeof(v16));
          else
            a[i] = SPLAT(0.0f);
      }
      transpose16(a);
      v16 *row = P + (k + ZPT_SWEEP_PAD) * 2 * V + v;
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        row[j * 2 * V] = a[2 * j];
        row[j * 2 * V + V] = a[2 * j + 1];
      }
    }
  }
}

/* planar rows (times fac, K complex factors, or none) -> y, ns samples */
static inline __attribute__((always_inline)) void
planar_store_v(const v16 *P, size_t K, size_t ns, const int V, const float *fac, float *y) {
  if (K < 8) {
    for (size_t k = 0; k < K; k++)
      for (int v = 0; v < V; v++) {
        const v16 *row = P + (k + ZPT_SWEEP_PAD) * 2 * V;
        v16 re = row[v], im = row[V + v];
        if (fac) {
          v16 fr = SPLAT(fac[2 * k]), fi = SPLAT(fac[2 * k + 1]);
          v16 t = fr * re - fi * im;
          im = fr * im + fi * re;
          re = t;
        }
        for (size_t i = 0; i < VW && v * VW + i < ns; i++) {
          y[2 * ((v * VW + i) * K + k)] = re[i];
          y[2 * ((v * VW + i) * K + k) + 1] = im[i];
        }
      }
    return;
  }
  for (int v = 0; v < V; v++) {
    float *yv = y + 2 * v * VW * K;
    size_t nv = ns > (size_t)v * VW ? ns - (size_t)v * VW : 0;
    for (size_t k0 = 0; k0 < K; k0 += 8) {
      size_t k = k0 + 8 <= K ? k0 : K - 8;
      const v16 *row = P + (k + ZPT_SWEEP_PAD) * 2 * V + v;
      v16 a[16];
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        v16 re = row[j * 2 * V], im = row[j * 2 * V + V];
        if (fac) {
          v16 fr = SPLAT(fac[2 * (k + j)]), fi = SPLAT(fac[2 * (k + j) + 1]);
          a[2 * j] = fr * re - fi * im;
          a[2 * j + 1] = fr * im + fi * re;
        } else {
          a[2 * j] = re;
          a[2 * j + 1] = im;
        }
      }
      transpose16(a);
      if (nv >= VW) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          memcpy(yv + 2 * (i * K + k), &a[i], sizeof(v16));
      } else {
        for (size_t i = 0; i < nv; i++)
          memcpy(yv + 2 * (i * K + k), &a[i], sizeof(v16));
      }
    }
  }
}

#define PLANAR(V)                                                                      \
  __attribute__((noinline)) static void planar_load##V(const float *x, size_t K,        \
                                                       size_t ns, v16 *P) {             \
    planar_load_v(x, K, ns, V, P);                                                      \
  }                                                                                     \
  __attribute__((noinline, optimize("fp-contract=fast"))) static void planar_store##V( \
      const v16 *P, size_t K, size_t ns, const float *fac, float *y) {                  \
    planar_store_v(P, K, ns, V, fac, y);                                                \
  }
PLANAR(1)
PLANAR(2)

void zpt_mesh_sweep_run(const zpt_mesh_sweep *s, int lifted, const float *coef,
                        const float *fac, const float *x, float *y, size_t n,
                        void *scratch) {
  const size_t K = s->K;
  v16 *P = scratch;
  for (size_t s0 = 0; s0 < n; s0 += ZPT_SWEEP_CHUNK) {
    size_t ns = n - s0 < ZPT_SWEEP_CHUNK ? n - s0 : ZPT_SWEEP_CHUNK;
    int V = ns > VW ? 2 : 1;
    (V == 2 ? planar_load2 : planar_load1)(x + 2 * s0 * K, K, ns, P);
    if (lifted)
      (V == 2 ? sweep_lift2 : sweep_lift1)(s, coef, P);
    else
      (V == 2 ? sweep_gen2 : sweep_gen1)(s, coef, P);
    (V == 2 ? planar_store2 : planar_store1)(P, K, ns, fac, y + 2 * s0 * K);
  }
}
