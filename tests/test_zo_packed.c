/* The packed kernels behind ZO-NP (src/zo/packed.h) and the batched
 * natural perturbations and Fisher accumulation built on them (fisher.h):
 *
 *   - the batched L^T solve gives, for every column, exactly the values of
 *     an independent scalar back substitution (same fused operations in the
 *     same order), whatever the number of columns and the column's place;
 *   - the packed rank-k update and the packed Cholesky against dense
 *     references (GSL); the Cholesky reports a matrix that is not PD;
 *   - batched draws (queued, then flushed) are bit-identical to single
 *     draws and to u = sqrt(1 + rho) L^{-T} r solved independently, and
 *     their empirical covariance matches Sigma_b;
 *   - a Fisher block accumulated row chunk by row chunk equals the block
 *     updated from the dense F_new;
 *   - zpt_trainer_draw() returns exactly the perturbations the trainer sent
 *     to the black box (recorded by a wrapping black box), for ZO-NP with
 *     blocks that get 1, 2 and many draws per iteration.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zo/packed.h"
#include "zoptic.h"

static size_t tri(size_t i) { return i * (i + 1) / 2; }

/* A random lower-triangular factor with a safely non-zero diagonal. */
static void random_chol(double *L, size_t n, uint64_t seed) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_TEST, 20, 0);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++)
      L[tri(i) + j] = (gsl_rng_uniform(r) - 0.5) * 0.4;
    L[tri(i) + i] = 0.5 + gsl_rng_uniform(r);
  }
  zpt_rng_free(r);
}

/* Independent reference: column-oriented back substitution of L^T x = r,
 * x_i -= L_ki x_k for k = n-1 .. i+1 (fused), then x_i /= L_ii. */
static void ref_solve(const double *L, size_t n, double *x) {
  for (size_t k = n; k-- > 0;) {
    x[k] /= L[tri(k) + k];
    for (size_t i = 0; i < k; i++)
      x[i] = fma(-L[tri(k) + i], x[k], x[i]);
  }
}

START_TEST(test_solve_exact) {
  const size_t sizes[] = {1, 2, 3, 7, 8, 9, 16, 17, 31, 64, 100, 131};
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 21, 0);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    const size_t n = sizes[s], P = ZPT_PACKED_PANEL;
    double *L = zpt_doubles(tri(n), "L"), *R = zpt_doubles(n * P, "R");
    double *X = zpt_doubles(n * P, "panel"), *x = zpt_doubles(n, "x");
    random_chol(L, n, 100 + n);
    for (size_t k = 0; k < n * P; k++)
      R[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t w = 1; w <= P; w++) {
      /* columns 0..w-1 of R in the panel; stale garbage beyond */
      for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < P; c++)
          X[i * P + c] = c < w ? R[c * n + i] : 1e3 * (double)(c + 1);
      zpt_packed_solve_lt(L, n, X, w);
      for (size_t c = 0; c < w; c++) {
        memcpy(x, R + c * n, n * sizeof(double));
        ref_solve(L, n, x);
        double res = 0;
        for (size_t i = 0; i < n; i++) {
          ck_assert_msg(X[i * P + c] == x[i], "n %zu, %zu columns: column %zu "
                        "entry %zu: panel %.17g, reference %.17g", n, w, c, i,
                        X[i * P + c], x[i]);
          /* and it solves the system: (L^T x)_i = r_i */
          double s2 = 0;
          for (size_t k = i; k < n; k++)
            s2 += L[tri(k) + i] * x[k];
          res = fmax(res, fabs(s2 - R[c * n + i]));
        }
        ck_assert_msg(res < 1e-9, "n %zu: residual %g", n, res);
        /* the one-column kernel: the same values */
        memcpy(x, R + c * n, n * sizeof(double));
        zpt_packed_solve_lt_vec(L, n, x);
        for (size_t i = 0; i < n; i++)
          ck_assert_msg(x[i] == X[i * P + c], "n %zu: vector kernel differs "
                        "at %zu", n, i);
      }
    }
    zpt_free(L), zpt_free(R), zpt_free(X), zpt_free(x);
  }
  zpt_rng_free(r);
}
END_TEST

/* Z (rows x n, row-major) into the panel layout of zpt_packed_syrk. */
static void to_panels(const double *Z, size_t rows, size_t n, double *Zp,
                      size_t ld) {
  const size_t P = ZPT_PACKED_PANEL, np = (n + P - 1) / P;
  memset(Zp, 0, np * ld * sizeof(double));
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < n; c++)
      Zp[(c / P) * ld + r * P + c % P] = Z[r * n + c];
}

START_TEST(test_syrk_dense) {
  const size_t sizes[] = {1, 5, 15, 16, 17, 24, 33, 70, 129};
  const size_t P = ZPT_PACKED_PANEL, ld = 40 * P;
  gsl_rng *r = zpt_rng_alloc(2, ZPT_STREAM_TEST, 22, 0);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    const size_t n = sizes[s], total = 97;
    double *Z = zpt_doubles(total * n, "Z");
    double *Zp = zpt_doubles(((n + P - 1) / P) * ld, "Z panels");
    double *A = zpt_doubles(tri(n), "A"), *D = zpt_doubles(n * n, "dense");
    for (size_t k = 0; k < total * n; k++)
      Z[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t k = 0; k < tri(n); k++)
      A[k] = 0.25; /* starts non-zero: it is an update */
    /* in chunks of 1, 40, 17, 39 rows */
    const size_t chunks[] = {1, 40, 17, 39};
    size_t done = 0;
    for (size_t c = 0; c < 4; c++) {
      to_panels(Z + done * n, chunks[c], n, Zp, ld);
      zpt_packed_syrk(A, n, Zp, ld, chunks[c]);
      done += chunks[c];
    }
    ck_assert_uint_eq(done, total);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j <= i; j++) {
        double want = 0.25;
        for (size_t k = 0; k < total; k++)
          want += Z[k * n + i] * Z[k * n + j];
        worst = fmax(worst, fabs(A[tri(i) + j] - want) / fmax(1, fabs(want)));
      }
    ck_assert_msg(worst < 1e-12, "n %zu: packed rank-k update vs dense: %g",
                  n, worst);
    zpt_free(Z), zpt_free(Zp), zpt_free(A), zpt_free(D);
  }
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_cholesky) {
  const size_t sizes[] = {1, 2, 9, 15, 16, 17, 32, 40, 77, 130};
  /* panels of 16, 64 and 1 rows: blocks of 16, 32 and 1 columns */
  const size_t lds[3] = {16 * ZPT_PACKED_PANEL, 64 * ZPT_PACKED_PANEL,
                         ZPT_PACKED_PANEL};
  double *work = zpt_doubles(9 * 64 * ZPT_PACKED_PANEL, "Cholesky workspace");
  for (int wl = 0; wl < 3; wl++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      const size_t n = sizes[s];
      double *L0 = zpt_doubles(tri(n), "L0"), *A = zpt_doubles(tri(n), "A");
      gsl_matrix *G = gsl_matrix_alloc(n, n);
      random_chol(L0, n, 300 + n);
      /* A = L0 L0^T */
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
          double v = 0;
          for (size_t k = 0; k <= j; k++)
            v += L0[tri(i) + k] * L0[tri(j) + k];
          A[tri(i) + j] = v;
          gsl_matrix_set(G, i, j, v);
          gsl_matrix_set(G, j, i, v);
        }
      ck_assert_int_eq(zpt_packed_cholesky(A, n, work, lds[wl]), 0);
      ck_assert_int_eq(gsl_linalg_cholesky_decomp1(G), 0);
      double worst = 0;
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
          worst = fmax(worst, fabs(A[tri(i) + j] - gsl_matrix_get(G, i, j)));
      ck_assert_msg(worst < 1e-12, "n %zu, ld %zu: packed Cholesky vs GSL: %g",
                    n, lds[wl], worst);
      gsl_matrix_free(G);
      zpt_free(L0), zpt_free(A);
    }
  const size_t ld = 64 * ZPT_PACKED_PANEL;
  /* not positive definite: diag(1, 1, -1, 1) fails at order 3 */
  double B[10] = {1, 0, 1, 0, 0, -1, 0, 0, 0, 1};
  ck_assert_int_eq(zpt_packed_cholesky(B, 4, work, ld), 3);
  /* indefinite beyond the first block: A = I except a 2x2 [[1, 2], [2, 1]]
   * at rows 20, 21 (eigenvalue -1) */
  const size_t n = 40;
  double *C = zpt_doubles(tri(n), "C");
  for (size_t i = 0; i < n; i++)
    C[tri(i) + i] = 1;
  C[tri(21) + 20] = 2;
  ck_assert_int_eq(zpt_packed_cholesky(C, n, work, 16 * ZPT_PACKED_PANEL), 22);
  /* a NaN below the first block */
  memset(C, 0, tri(n) * sizeof(double));
  for (size_t i = 0; i < n; i++)
    C[tri(i) + i] = 1;
  C[tri(30) + 3] = NAN;
  ck_assert_int_gt(zpt_packed_cholesky(C, n, work, ld), 0);
  zpt_free(C);
  zpt_free(work);
}
END_TEST

/* A Fisher store with blocks of 37, 37, 36 (N = 110): block 0 and 2 get a
 * random PSD estimate, block 1 none. */
static zpt_fisher *store(zpt_blocks **blocks, double rho) {
  ck_assert_int_eq(zpt_blocks_alloc(blocks, 110, 37, NULL, 0), ZPT_OK);
  zpt_fisher *f;
  ck_assert_int_eq(zpt_fisher_alloc(&f, *blocks, rho, 1, 1.0, 1), ZPT_OK);
  for (size_t b = 0; b < 3; b += 2) {
    size_t n = zpt_block_len(*blocks, b);
    double *F = zpt_doubles(n * n, "F"), *Rm = zpt_doubles(n * n, "R");
    gsl_rng *r = zpt_rng_alloc(40 + b, ZPT_STREAM_TEST, 23, 0);
    for (size_t k = 0; k < n * n; k++)
      Rm[k] = gsl_ran_gaussian_ziggurat(r, 1.0) * (1.0 + (double)(k % 7));
    for (size_t a = 0; a < n; a++)
      for (size_t c = 0; c < n; c++) {
        double v = 0;
        for (size_t k = 0; k < n / 2; k++) /* rank n/2: needs rho */
          v += Rm[k * n + a] * Rm[k * n + c];
        F[a * n + c] = v;
      }
    ck_assert_int_eq(zpt_fisher_update_dense(f, b, F), ZPT_OK);
    zpt_rng_free(r);
    zpt_free(F), zpt_free(Rm);
  }
  return f;
}

START_TEST(test_batched_draws_exact) {
  zpt_blocks *blocks;
  const double rho = 0.1;
  zpt_fisher *f = store(&blocks, rho);
  ck_assert_uint_eq(f->n_present, 2);
  enum { K = 64 };
  /* a sequence of draws: runs of 1, 2, 3, 9, 16, 20 draws of block 0 or 2,
   * with block 1 (no estimate) in between */
  const size_t runs[] = {1, 2, 3, 9, 16, 20, 5, 4};
  size_t bl[K], n_draws = 0;
  for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
    for (size_t j = 0; j < runs[k]; j++)
      bl[n_draws++] = (k % 2) ? 2 : 0;
    if (k % 3 == 2)
      bl[n_draws++] = 1;
  }
  ck_assert_uint_le(n_draws, K);
  float *ub = zpt_floats(K * 37, "batched"), *us = zpt_floats(37, "single");
  double *x = zpt_doubles(37, "reference");
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  for (size_t q = 0; q < n_draws; q++) {
    zpt_rng_derive(r, 5, ZPT_STREAM_PERTURB, 9, q);
    zpt_fisher_sample_defer(f, bl[q], r, ub + q * 37);
  }
  zpt_fisher_flush(f);
  for (size_t q = 0; q < n_draws; q++) {
    const size_t b = bl[q], n = zpt_block_len(blocks, b);
    zpt_rng_derive(r, 5, ZPT_STREAM_PERTURB, 9, q);
    zpt_fisher_sample(f, b, r, us);
    ck_assert_msg(memcmp(us, ub + q * 37, n * sizeof(float)) == 0,
                  "draw %zu (block %zu): batched and single draws differ", q, b);
    /* independently: u = (float)(sqrt(1 + rho) x), L_b^T x = r */
    zpt_rng_derive(r, 5, ZPT_STREAM_PERTURB, 9, q);
    for (size_t k = 0; k < n; k++)
      x[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
    if (f->chol[b])
      ref_solve(f->chol[b], n, x);
    for (size_t k = 0; k < n; k++) {
      float want = (float)(f->chol[b] ? sqrt(1.0 + rho) * x[k] : x[k]);
      ck_assert_msg(ub[q * 37 + k] == want, "draw %zu (block %zu) entry %zu: "
                    "%.9g, independent solve %.9g", q, b, k,
                    (double)ub[q * 37 + k], (double)want);
    }
  }
  zpt_rng_free(r);
  zpt_free(ub), zpt_free(us), zpt_free(x);
  zpt_fisher_free(f);
  zpt_blocks_free(blocks);
}
END_TEST

START_TEST(test_batched_covariance) {
  /* the empirical covariance of batched draws against Sigma_b */
  zpt_blocks *blocks;
  zpt_fisher *f = store(&blocks, 0.3);
  const size_t b = 2, n = zpt_block_len(blocks, b), K = 40000, P = 13;
  double *S = zpt_doubles(n * n, "Sigma"), *cov = zpt_doubles(n * n, "cov");
  float *u = zpt_floats(P * n, "draws");
  ck_assert_int_eq(zpt_fisher_sigma(f, b, S), ZPT_OK);
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  for (size_t s = 0; s < K; s += P) {
    for (size_t c = 0; c < P; c++) {
      zpt_rng_derive(r, 8, ZPT_STREAM_TEST, s, c);
      zpt_fisher_sample_defer(f, b, r, u + c * n);
    }
    zpt_fisher_flush(f);
    for (size_t c = 0; c < P; c++)
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
          cov[i * n + j] += (double)u[c * n + i] * u[c * n + j];
  }
  const double cnt = (double)((K + P - 1) / P * P);
  double worst_z = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      double se = sqrt((S[i * n + i] * S[j * n + j] + S[i * n + j] * S[i * n + j]) / cnt);
      worst_z = fmax(worst_z, fabs(cov[i * n + j] / cnt - S[i * n + j]) / se);
    }
  printf("batched draws: empirical covariance of %.0f draws (n_b = %zu) vs "
         "Sigma_b: worst %.2f standard errors\n", cnt, n, worst_z);
  /* 703 entries: |z| > 5 has probability ~4e-4 for all of them together */
  ck_assert_msg(worst_z < 5, "covariance of batched draws: %g standard errors",
                worst_z);
  zpt_rng_free(r);
  zpt_free(S), zpt_free(cov), zpt_free(u);
  zpt_fisher_free(f);
  zpt_blocks_free(blocks);
}
END_TEST

START_TEST(test_accumulation_vs_dense) {
  /* F_new accumulated from 150 rows of Z in chunks (several buffer flushes,
   * n not a multiple of the panel width) = the update from the dense
   * F_new = weight Z^T Z; averaging on, trace normalisation on */
  zpt_blocks *blocks;
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, 74, 37, NULL, 0), ZPT_OK);
  const size_t n = 37, rows = 150;
  const double w = 1.0 / 15;
  double *Z = zpt_doubles(rows * n, "Z"), *F = zpt_doubles(n * n, "F");
  double *Fa = zpt_doubles(n * n, "Fa"), *Fb = zpt_doubles(n * n, "Fb");
  double *Sa = zpt_doubles(n * n, "Sa"), *Sb = zpt_doubles(n * n, "Sb");
  gsl_rng *r = zpt_rng_alloc(3, ZPT_STREAM_TEST, 24, 0);
  for (size_t k = 0; k < rows * n; k++)
    Z[k] = gsl_ran_gaussian_ziggurat(r, 1.0) * (1 + (double)(k % n) / 10);
  for (size_t a = 0; a < n; a++)
    for (size_t c = 0; c < n; c++) {
      double v = 0;
      for (size_t k = 0; k < rows; k++)
        v += Z[k * n + a] * Z[k * n + c];
      F[a * n + c] = w * v;
    }
  zpt_fisher *fa, *fb;
  ck_assert_int_eq(zpt_fisher_alloc(&fa, blocks, 0.1, 1, 0.5, 1), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_alloc(&fb, blocks, 0.1, 1, 0.5, 1), ZPT_OK);
  float want[4][37], got[4][37];
  for (int rep = 0; rep < 2; rep++) { /* first update, then a re-update */
    /* on the re-update, draws from the current Sigma_1 are queued between
     * the chunks (they share the row buffer): they must come out as drawn
     * alone, and the accumulation must be unaffected */
    for (size_t q = 0; rep && q < 4; q++) {
      zpt_rng_derive(r, 6, ZPT_STREAM_PERTURB, 0, q);
      zpt_fisher_sample(fa, 1, r, want[q]);
    }
    ck_assert_int_eq(zpt_fisher_accum_begin(fa, 1), ZPT_OK);
    const size_t chunks[] = {10, 70, 1, 69};
    size_t done = 0;
    for (size_t c = 0; c < 4; c++) {
      zpt_fisher_accum(fa, Z + done * n, chunks[c]);
      done += chunks[c];
      if (rep) {
        zpt_rng_derive(r, 6, ZPT_STREAM_PERTURB, 0, c);
        zpt_fisher_sample_defer(fa, 1, r, got[c]);
      }
    }
    ck_assert_uint_eq(done, rows);
    ck_assert_int_eq(zpt_fisher_update(fa, 1, w), ZPT_OK);
    ck_assert_int_eq(zpt_fisher_update_dense(fb, 1, F), ZPT_OK);
  }
  ck_assert_uint_eq(fa->n_present, 1);
  ck_assert_ptr_null(fa->fisher[0]);
  /* the update completed the queued draws first, with the old Sigma_1 */
  ck_assert(memcmp(want, got, sizeof want) == 0);
  zpt_fisher_get(fa, 1, Fa);
  zpt_fisher_get(fb, 1, Fb);
  ck_assert_int_eq(zpt_fisher_sigma(fa, 1, Sa), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_sigma(fb, 1, Sb), ZPT_OK);
  double wf = 0, ws = 0;
  for (size_t k = 0; k < n * n; k++) {
    wf = fmax(wf, fabs(Fa[k] - Fb[k]) / fmax(1, fabs(Fb[k])));
    ws = fmax(ws, fabs(Sa[k] - Sb[k]) / fmax(1, fabs(Sb[k])));
  }
  ck_assert_msg(wf < 1e-12 && ws < 1e-10, "accumulated vs dense: F %g, "
                "Sigma %g", wf, ws);
  /* an update of another block than the one accumulated is refused */
  ck_assert_int_eq(zpt_fisher_accum_begin(fa, 0), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_update(fa, 1, w), ZPT_EINVAL);
  zpt_rng_free(r);
  zpt_free(Z), zpt_free(F), zpt_free(Fa), zpt_free(Fb), zpt_free(Sa), zpt_free(Sb);
  zpt_fisher_free(fa);
  zpt_fisher_free(fb);
  zpt_blocks_free(blocks);
}
END_TEST

/* A black box that forwards to an inner one and records the perturbed
 * variations of the last training call. */
typedef struct {
  zpt_blackbox *inner;
  float *delta;    /* cap x max_len values */
  size_t *off, *len;
  float *scale;
  size_t n, cap, max_len;
} recbox;

static int rec_query(zpt_blackbox *bb, const float *theta,
                     const zpt_variation *vars, size_t n_vars,
                     const float *inputs, size_t batch, float *outputs,
                     uint64_t first_query) {
  recbox *rb = bb->impl;
  rb->n = 0;
  for (size_t v = 0; v < n_vars && rb->n < rb->cap; v++) {
    if (vars[v].len <= 1) /* the base query or a Jacobian coordinate */
      continue;
    ck_assert_uint_le(vars[v].len, rb->max_len);
    memcpy(rb->delta + rb->n * rb->max_len, vars[v].delta,
           vars[v].len * sizeof(float));
    rb->off[rb->n] = vars[v].offset;
    rb->len[rb->n] = vars[v].len;
    rb->scale[rb->n] = vars[v].scale;
    rb->n++;
  }
  return zpt_blackbox_query(rb->inner, theta, vars, n_vars, inputs, batch,
                            outputs, first_query);
}

static void rec_free(zpt_blackbox *bb) {
  recbox *rb = bb->impl;
  zpt_blackbox_free(rb->inner);
  zpt_free(rb->delta), zpt_free(rb->off), zpt_free(rb->len), zpt_free(rb->scale);
  zpt_free(rb);
  zpt_free(bb);
}

static const zpt_blackbox_type rec_type = {.name = "recording box",
                                          .query = rec_query,
                                          .free = rec_free};

START_TEST(test_trainer_draw_is_what_was_used) {
  /* ZO-NP, 3 blocks (N = 21, N_max = 7), Q = 36, T_ud = 2: after a few
   * iterations every block has an estimate and each gets 12 draws per
   * iteration (panel path); then Q = 4 (1-2 draws per block: the vector
   * path).  Every perturbation the black box received equals
   * zpt_trainer_draw() for its (iteration, q, block), bit for bit. */
  enum { D = 6, C = 3, N = C * (D + 1), B = 5 };
  const size_t qs[2] = {36, 4};
  for (int k = 0; k < 2; k++) {
    float theta[N], x[B * D], tgt[B] = {0, 1, 2, 1, 0};
    gsl_rng *r = zpt_rng_alloc(7, ZPT_STREAM_TEST, 25, 0);
    for (size_t i = 0; i < N; i++)
      theta[i] = (float)(gsl_rng_uniform(r) - 0.5);
    for (size_t i = 0; i < B * D; i++)
      x[i] = (float)(gsl_rng_uniform(r) - 0.5);
    zpt_rng_free(r);
    zpt_blackbox *bb = zpt_new(zpt_blackbox, "recording box");
    recbox *rb = zpt_new(recbox, "recording box impl");
    rb->inner = zpt_testbox_softmax(D, C);
    *bb = *rb->inner;
    bb->type = &rec_type;
    bb->impl = rb;
    rb->cap = qs[k];
    rb->max_len = 7;
    rb->delta = zpt_floats(rb->cap * rb->max_len, "recorded deltas");
    rb->off = zpt_new_array(size_t, rb->cap, "offsets");
    rb->len = zpt_new_array(size_t, rb->cap, "lengths");
    rb->scale = zpt_floats(rb->cap, "scales");
    zpt_zo_config c;
    zpt_zo_config_default(&c);
    c.loss = zpt_loss_xent(C);
    c.n_max = 7;
    c.q = qs[k];
    c.t_ud = 2;
    c.fisher_schedule = ZPT_FISHER_CYCLE;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
    const zpt_blocks *bl = zpt_trainer_blocks(t);
    float u[7];
    size_t checked = 0;
    for (uint64_t it = 0; it < 12; it++) {
      ck_assert_int_eq(zpt_trainer_iterate(t, x, tgt, B, NULL), ZPT_OK);
      ck_assert_uint_eq(rb->n, qs[k]);
      for (size_t q = 0; q < rb->n; q++) {
        size_t b = 0;
        while (bl->offset[b] != rb->off[q])
          b++;
        size_t off, len;
        ck_assert_int_eq(zpt_trainer_draw(t, it, q, b, u, &off, &len), ZPT_OK);
        ck_assert_uint_eq(off, rb->off[q]);
        ck_assert_uint_eq(len, rb->len[q]);
        ck_assert_msg(memcmp(u, rb->delta + q * rb->max_len,
                             len * sizeof(float)) == 0,
                      "Q %zu, iteration %llu, perturbation %zu (block %zu): "
                      "zpt_trainer_draw differs from what was queried", qs[k],
                      (unsigned long long)it, q, b);
        checked++;
      }
    }
    ck_assert_uint_eq(zpt_trainer_fisher(t)->n_present, 3);
    ck_assert_uint_eq(checked, 12 * qs[k]);
    zpt_trainer_free(t);
    zpt_blackbox_free(bb);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_packed");
  TCase *tc = tcase_create("zo_packed");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_solve_exact);
  tcase_add_test(tc, test_syrk_dense);
  tcase_add_test(tc, test_cholesky);
  tcase_add_test(tc, test_batched_draws_exact);
  tcase_add_test(tc, test_batched_covariance);
  tcase_add_test(tc, test_accumulation_vs_dense);
  tcase_add_test(tc, test_trainer_draw_is_what_was_used);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
