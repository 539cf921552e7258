/* Packed lower-triangular kernels (see packed.h).
 *
 * The AVX-512 paths use intrinsics rather than the auto-vectoriser so that
 * every multiply-add is an explicit fused operation at any optimisation
 * level (make asan builds with -O1, where GCC does not contract a - b*c):
 * the portable paths use fma() and give the same results. */
#include "zo/packed.h"

#include <math.h>

/* -DZPT_PACKED_PORTABLE selects the portable paths on any machine (to
 * test them). */
#if defined(__AVX512F__) && !defined(ZPT_PACKED_PORTABLE)
#define USE_AVX512 1
#include <immintrin.h>
#else
#define USE_AVX512 0
#endif

static inline size_t tri(size_t i) { return i * (i + 1) / 2; }

/* Rows of L applied at once to the rows above a block (they stay in
 * registers: ZPT_PACKED_PANEL / 8 vectors each). */
#define SOLVE_RB 8

/* ---- L^T X = R ---------------------------------------------------------- */

/* Column-oriented back substitution, blocked by SOLVE_RB rows: first the
 * block's own triangle, then its rows' contributions to every row above it,
 * applied to each entry in decreasing row order.  Every column sees the
 * same operations (module comment in packed.h). */
#if USE_AVX512
static inline __attribute__((always_inline)) void
solve_avx512(const double *L, size_t n, double *X, const int nv) {
  const size_t ld = ZPT_PACKED_PANEL;
  size_t k1 = n;
  while (k1 > 0) {
    const size_t k0 = k1 > SOLVE_RB ? k1 - SOLVE_RB : 0;
    for (size_t k = k1; k-- > k0;) {
      const double *lk = L + tri(k);
      const __m512d d = _mm512_set1_pd(lk[k]);
      __m512d xk[2];
      for (int v = 0; v < nv; v++) {
        xk[v] = _mm512_div_pd(_mm512_loadu_pd(X + k * ld + 8 * v), d);
        _mm512_storeu_pd(X + k * ld + 8 * v, xk[v]);
      }
      for (size_t i = k0; i < k; i++) {
        const __m512d l = _mm512_set1_pd(lk[i]);
        for (int v = 0; v < nv; v++) {
          double *xi = X + i * ld + 8 * v;
          _mm512_storeu_pd(xi, _mm512_fnmadd_pd(l, xk[v], _mm512_loadu_pd(xi)));
        }
      }
    }
    if (k0 > 0) { /* then k1 - k0 == SOLVE_RB */
      const double *lr[SOLVE_RB];
      __m512d xr[SOLVE_RB][2];
      for (int t = 0; t < SOLVE_RB; t++) {
        lr[t] = L + tri(k1 - 1 - t);
        for (int v = 0; v < nv; v++)
          xr[t][v] = _mm512_loadu_pd(X + (k1 - 1 - t) * ld + 8 * v);
      }
      for (size_t i = 0; i < k0; i++) {
        __m512d a[2];
        for (int v = 0; v < nv; v++)
          a[v] = _mm512_loadu_pd(X + i * ld + 8 * v);
#pragma GCC unroll 8
        for (int t = 0; t < SOLVE_RB; t++) {
          const __m512d l = _mm512_set1_pd(lr[t][i]);
          for (int v = 0; v < nv; v++)
            a[v] = _mm512_fnmadd_pd(l, xr[t][v], a[v]);
        }
        for (int v = 0; v < nv; v++)
          _mm512_storeu_pd(X + i * ld + 8 * v, a[v]);
      }
    }
    k1 = k0;
  }
}
#endif

#if !USE_AVX512
/* The same operations, one column at a time (no AVX-512). */
static void solve_generic(const double *L, size_t n, double *X, size_t w) {
  const size_t ld = ZPT_PACKED_PANEL;
  for (size_t c = 0; c < w; c++) {
    double *x = X + c;
    for (size_t k = n; k-- > 0;) {
      const double *lk = L + tri(k);
      const double xk = x[k * ld] / lk[k];
      x[k * ld] = xk;
      for (size_t i = 0; i < k; i++)
        x[i * ld] = fma(-lk[i], xk, x[i * ld]);
    }
  }
}
#endif

/* One contiguous column, vectorised over the rows instead: the same
 * operations on every entry as the panel kernels. */
#if USE_AVX512
static void solve_vec_avx512(const double *L, size_t n, double *x) {
  size_t k1 = n;
  while (k1 > 0) {
    const size_t k0 = k1 > SOLVE_RB ? k1 - SOLVE_RB : 0;
    for (size_t k = k1; k-- > k0;) {
      const double *lk = L + tri(k);
      const double xk = x[k] / lk[k];
      x[k] = xk;
      for (size_t i = k0; i < k; i++)
        x[i] = fma(-lk[i], xk, x[i]);
    }
    if (k0 > 0) {
      const double *lr[SOLVE_RB];
      __m512d xr[SOLVE_RB];
      for (int t = 0; t < SOLVE_RB; t++) {
        lr[t] = L + tri(k1 - 1 - t);
        xr[t] = _mm512_set1_pd(x[k1 - 1 - t]);
      }
      for (size_t i = 0; i < k0; i += 8) {
        const __mmask8 m = k0 - i >= 8 ? 0xFF : (__mmask8)((1u << (k0 - i)) - 1);
        __m512d a = _mm512_maskz_loadu_pd(m, x + i);
#pragma GCC unroll 8
        for (int t = 0; t < SOLVE_RB; t++)
          a = _mm512_fnmadd_pd(_mm512_maskz_loadu_pd(m, lr[t] + i), xr[t], a);
        _mm512_mask_storeu_pd(x + i, m, a);
      }
    }
    k1 = k0;
  }
}
#endif

void zpt_packed_solve_lt_vec(const double *L, size_t n, double *x) {
  if (n == 0)
    return;
#if USE_AVX512
  solve_vec_avx512(L, n, x);
#else
  for (size_t k = n; k-- > 0;) {
    const double *lk = L + tri(k);
    const double xk = x[k] / lk[k];
    x[k] = xk;
    for (size_t i = 0; i < k; i++)
      x[i] = fma(-lk[i], xk, x[i]);
  }
#endif
}

void zpt_packed_solve_lt(const double *L, size_t n, double *X, size_t w) {
  if (n == 0 || w == 0)
    return;
#if USE_AVX512
  if (w <= 8)
    solve_avx512(L, n, X, 1);
  else
    solve_avx512(L, n, X, 2);
#else
  solve_generic(L, n, X, w);
#endif
}

/* ---- A += Z^T Z --------------------------------------------------------- */

/* Z in panels of ZPT_PACKED_PANEL columns (packed.h): entry (r, c) at
 * Zp[(c / 16) * ld + r * 16 + c % 16]. */
static inline double *zent(double *Zp, size_t ld, size_t r, size_t c) {
  return Zp + (c / ZPT_PACKED_PANEL) * ld + r * ZPT_PACKED_PANEL + c % ZPT_PACKED_PANEL;
}

/* The kernels work on the trailing n x n triangle of a packed matrix that
 * starts at row and column `off`: its entry (i, j) is at row(A, off, i)[j]. */
static inline double *row(double *A, size_t off, size_t i) {
  return A + tri(off + i) + off;
}

#if USE_AVX512
/* Rows of A updated together (2 x SYRK_RB accumulators: enough independent
 * chains to hide the FMA latency). */
#define SYRK_RB 8

static inline __mmask8 lanes(long k) {
  return k <= 0 ? 0 : k >= 8 ? 0xFF : (__mmask8)((1u << k) - 1);
}

/* Rows i0..i0+SYRK_RB-1 of A, columns [j, j + 16) (j = 16 p), restricted
 * to the lower triangle and to the rows < n by masked loads and stores
 * (full = every entry inside: no masks).  Z's panel p is a stream of 16
 * values per row; the broadcast values Z[r][i] come from one 64-byte line
 * per row (i0 is a multiple of 8), a stream of stride 128 bytes.
 * sub: A -= Z^T Z instead. */
static inline __attribute__((always_inline)) void
syrk_block(double *A, size_t off, size_t n, const double *Zp, size_t ld,
           size_t rows, size_t i0, size_t j, const int full, const int sub) {
  __mmask8 m[SYRK_RB][2];
  __m512d a[SYRK_RB][2];
  const double *zb[SYRK_RB];
  for (int t = 0; t < SYRK_RB; t++) {
    const size_t i = i0 + (size_t)t;
    const size_t ic = i < n ? i : n - 1; /* a valid column to broadcast */
    zb[t] = Zp + (ic / ZPT_PACKED_PANEL) * ld + ic % ZPT_PACKED_PANEL;
    if (full) {
      a[t][0] = _mm512_loadu_pd(row(A, off, i) + j);
      a[t][1] = _mm512_loadu_pd(row(A, off, i) + j + 8);
    } else {
      long k = i < n ? (long)(i + 1 - j) : 0; /* entries of row i from j */
      m[t][0] = lanes(k);
      m[t][1] = lanes(k - 8);
      for (int v = 0; v < 2; v++)
        a[t][v] = _mm512_maskz_loadu_pd(m[t][v], i < n ? row(A, off, i) + j + 8 * v : A);
    }
  }
  const double *zp = Zp + (j / ZPT_PACKED_PANEL) * ld;
  for (size_t r = 0; r < rows; r++) {
    const __m512d z0 = _mm512_loadu_pd(zp + r * ZPT_PACKED_PANEL);
    const __m512d z1 = _mm512_loadu_pd(zp + r * ZPT_PACKED_PANEL + 8);
#pragma GCC unroll 8
    for (int t = 0; t < SYRK_RB; t++) {
      const __m512d b = _mm512_set1_pd(zb[t][r * ZPT_PACKED_PANEL]);
      if (sub) {
        a[t][0] = _mm512_fnmadd_pd(b, z0, a[t][0]);
        a[t][1] = _mm512_fnmadd_pd(b, z1, a[t][1]);
      } else {
        a[t][0] = _mm512_fmadd_pd(b, z0, a[t][0]);
        a[t][1] = _mm512_fmadd_pd(b, z1, a[t][1]);
      }
    }
  }
  for (int t = 0; t < SYRK_RB; t++) {
    const size_t i = i0 + (size_t)t;
    if (full) {
      _mm512_storeu_pd(row(A, off, i) + j, a[t][0]);
      _mm512_storeu_pd(row(A, off, i) + j + 8, a[t][1]);
    } else if (i < n) {
      for (int v = 0; v < 2; v++)
        _mm512_mask_storeu_pd(row(A, off, i) + j + 8 * v, m[t][v], a[t][v]);
    }
  }
}

static inline __attribute__((always_inline)) void
syrk_avx512(double *A, size_t off, size_t n, const double *Zp, size_t ld,
            size_t rows, const int sub) {
  /* column panels outer (a panel of Z stays in L1 across the rows of A
   * below it), blocks of SYRK_RB rows of A inner */
  for (size_t j = 0; j < n; j += ZPT_PACKED_PANEL)
    for (size_t i0 = j; i0 < n; i0 += SYRK_RB) {
      if (j + ZPT_PACKED_PANEL <= n && i0 >= j + ZPT_PACKED_PANEL - 1 &&
          i0 + SYRK_RB <= n)
        syrk_block(A, off, n, Zp, ld, rows, i0, j, 1, sub);
      else
        syrk_block(A, off, n, Zp, ld, rows, i0, j, 0, sub);
    }
}
#endif

/* A (trailing triangle at off) += or -= Z^T Z. */
static void syrk_any(double *A, size_t off, size_t n, double *Zp, size_t ld,
                     size_t rows, int sub) {
  if (n == 0 || rows == 0)
    return;
#if USE_AVX512
  if (sub)
    syrk_avx512(A, off, n, Zp, ld, rows, 1);
  else
    syrk_avx512(A, off, n, Zp, ld, rows, 0);
#else
  for (size_t i = 0; i < n; i++) {
    double *a = row(A, off, i);
    for (size_t r = 0; r < rows; r++) {
      const double zi = sub ? -*zent(Zp, ld, r, i) : *zent(Zp, ld, r, i);
      for (size_t j = 0; j <= i; j++)
        a[j] = fma(zi, *zent(Zp, ld, r, j), a[j]);
    }
  }
#endif
}

void zpt_packed_syrk(double *A, size_t n, const double *Zp, size_t ld,
                     size_t rows) {
  syrk_any(A, 0, n, (double *)Zp, ld, rows, 0);
}

/* ---- Cholesky ----------------------------------------------------------- */

/* Right-looking, by blocks of NB = 32 columns: factor the block's own
 * triangle; copy the block's rows below it, transposed, into panels of Z
 * and solve them there (forward substitution with the block's triangle,
 * vectorised over the rows below); write them back into A; subtract
 * L21 L21^T from the trailing triangle with the rank-k kernel.  About
 * n^3/6 fused multiply-adds, nearly all in the rank-k kernel.  LAPACK's
 * packed dpptrf (level-2 BLAS) took 2.8-4.8 ms for n = 384 and 6 ms for
 * n = 512 on this machine; this one 0.8-1.4 ms and 1.8-3 ms. */
#ifndef CHOL_NB
#define CHOL_NB 32
#endif

int zpt_packed_cholesky(double *A, size_t n, double *work, size_t ld) {
  /* block columns: CHOL_NB, or as many rows as a panel of work holds */
  const size_t NB = ld / ZPT_PACKED_PANEL < CHOL_NB ? ld / ZPT_PACKED_PANEL : CHOL_NB;
  for (size_t k0 = 0; k0 < n; k0 += NB) {
    const size_t k1 = n - k0 < NB ? n : k0 + NB, nb = k1 - k0;
    /* the diagonal block (updated by the blocks before it) */
    for (size_t j = k0; j < k1; j++) {
      double *lj = A + tri(j);
      double d = lj[j];
      for (size_t k = k0; k < j; k++)
        d = fma(-lj[k], lj[k], d);
      if (!(d > 0) || !isfinite(d))
        return (int)(j + 1);
      d = sqrt(d);
      lj[j] = d;
      for (size_t i = j + 1; i < k1; i++) {
        double *li = A + tri(i);
        double v = li[j];
        for (size_t k = k0; k < j; k++)
          v = fma(-li[k], lj[k], v);
        li[j] = v / d;
      }
    }
    const size_t m = n - k1; /* rows below the block */
    if (m == 0)
      break;
    /* Z[r][c] = A[k1 + c][k0 + r], r < nb, c < m (zeros beyond m) */
    const size_t last = (m - 1) / ZPT_PACKED_PANEL;
    for (size_t r = 0; r < nb; r++)
      for (size_t c = m; c < (last + 1) * ZPT_PACKED_PANEL; c++)
        *zent(work, ld, r, c) = 0;
    for (size_t c = 0; c < m; c++) {
      const double *a = A + tri(k1 + c) + k0;
      for (size_t r = 0; r < nb; r++)
        *zent(work, ld, r, c) = a[r];
    }
    /* Z <- Lblock^{-1} Z (rows of Z are the block's columns) */
    for (size_t p = 0; p * ZPT_PACKED_PANEL < m; p++) {
      double *zp = work + p * ld;
      for (size_t r = 0; r < nb; r++) {
        const double *lr = A + tri(k0 + r) + k0;
        double *zr = zp + r * ZPT_PACKED_PANEL;
#if USE_AVX512
        __m512d z0 = _mm512_loadu_pd(zr), z1 = _mm512_loadu_pd(zr + 8);
        for (size_t s = 0; s < r; s++) {
          const __m512d l = _mm512_set1_pd(lr[s]);
          z0 = _mm512_fnmadd_pd(l, _mm512_loadu_pd(zp + s * ZPT_PACKED_PANEL), z0);
          z1 = _mm512_fnmadd_pd(l, _mm512_loadu_pd(zp + s * ZPT_PACKED_PANEL + 8), z1);
        }
        const __m512d d = _mm512_set1_pd(lr[r]);
        _mm512_storeu_pd(zr, _mm512_div_pd(z0, d));
        _mm512_storeu_pd(zr + 8, _mm512_div_pd(z1, d));
#else
        for (size_t s = 0; s < r; s++) {
          const double *zs = zp + s * ZPT_PACKED_PANEL;
          for (int c = 0; c < ZPT_PACKED_PANEL; c++)
            zr[c] = fma(-lr[s], zs[c], zr[c]);
        }
        for (int c = 0; c < ZPT_PACKED_PANEL; c++)
          zr[c] /= lr[r];
#endif
      }
    }
    for (size_t c = 0; c < m; c++) {
      double *a = A + tri(k1 + c) + k0;
      for (size_t r = 0; r < nb; r++)
        a[r] = *zent(work, ld, r, c);
    }
    /* trailing triangle -= L21 L21^T */
    syrk_any(A, k1, m, work, ld, nb, 1);
  }
  return 0;
}
