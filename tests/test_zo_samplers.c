/* The reading list's samplers (src/zo/sampler_extra.c): each one's defining
 * property, measured over many draws on a quadratic f = 1/2 t^T A t with
 * known gradient A t:
 *   zo-sparse: exactly ceil(frac n) non-zeros, each coordinate hit with
 *              frequency frac, and the estimator's mean E[dl u] = frac grad;
 *   zo-guided: covariance alpha/n I + (1 - alpha) g g^T/|g|^2 with one
 *              stored estimate g, and the estimator's mean = Sigma grad
 *              (so it leans towards the stored direction);
 *   zo-adapt:  per-coordinate variance d = max(floor, v / mean v) from the
 *              observed estimates, and the estimator's mean = D grad.
 * Plus the checkpoint arrays and the refusals of bad settings. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "common/testutil.h"
#include "core/rng.h"
#include "core/status.h"
#include "zo/blocks.h"
#include "zo/sampler.h"

#define N 12
#define DRAWS 40000

/* A: a fixed SPD matrix with spread eigenvalues; t: a fixed point. */
static void problem(double A[N][N], double t[N], double grad[N]) {
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < N; j++)
      A[i][j] = (i == j ? 1.0 + (double)i : 0) + 0.1 / (1.0 + (double)(i + j));
  for (size_t i = 0; i < N; i++)
    t[i] = sin(1.0 + (double)i);
  for (size_t i = 0; i < N; i++) {
    grad[i] = 0;
    for (size_t j = 0; j < N; j++)
      grad[i] += A[i][j] * t[j];
  }
}

static double f_quad(double A[N][N], const double *x) {
  double s = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < N; j++)
      s += 0.5 * x[i] * A[i][j] * x[j];
  return s;
}

typedef struct {
  double mean_est[N]; /* mean of dl u */
  double cov[N][N];   /* mean of u u^T */
  double nnz;         /* mean non-zeros per draw */
  double hits[N];     /* frequency of u_i != 0 */
} stats;

/* Draws DRAWS perturbations over the whole range (one block) and
 * accumulates the forward-difference estimator's mean (h = 1e-4). */
static void measure(const zpt_sampler_type *type, void *state,
                    const zpt_blocks *blocks, stats *s) {
  double A[N][N], t[N], grad[N], x[N];
  problem(A, t, grad);
  const double h = 1e-4, f0 = f_quad(A, t);
  memset(s, 0, sizeof *s);
  gsl_rng *r = zpt_rng_alloc(7, ZPT_STREAM_TEST, 0, 0);
  ck_assert_ptr_nonnull(r);
  float u[N];
  for (size_t d = 0; d < DRAWS; d++) {
    size_t off, len;
    zpt_rng_derive(r, 7, ZPT_STREAM_TEST, d, 0);
    type->sample(state, blocks, r, 0, 1, u, &off, &len);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, N);
    for (size_t i = 0; i < N; i++)
      x[i] = t[i] + h * u[i];
    double dl = (f_quad(A, x) - f0) / h;
    for (size_t i = 0; i < N; i++) {
      s->mean_est[i] += dl * u[i] / DRAWS;
      s->nnz += (u[i] != 0) / (double)DRAWS;
      s->hits[i] += (u[i] != 0) / (double)DRAWS;
      for (size_t j = 0; j < N; j++)
        s->cov[i][j] += (double)u[i] * u[j] / DRAWS;
    }
  }
  zpt_rng_free(r);
}

/* |a - b| <= tol * scale for every i, with the worst printed on failure. */
static void close_vec(const double *a, const double *b, double tol, double scale,
                      const char *what) {
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabs(a[i] - b[i]) <= tol * scale,
                  "%s[%zu]: measured %g, expected %g (tolerance %g)", what, i,
                  a[i], b[i], tol * scale);
}

static double norm(const double *v) {
  double s = 0;
  for (size_t i = 0; i < N; i++)
    s += v[i] * v[i];
  return sqrt(s);
}

START_TEST(test_sparse) {
  zpt_blocks *blocks;
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, N, N, NULL, 0), 0);
  zpt_sampler_extra_settings set = {0, 0, 0, 0, 0};
  set.sparse_frac = 0.25; /* 3 of 12 */
  void *st;
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_sparse, &st, blocks, &set), 0);
  stats s;
  measure(zpt_sampler_zo_sparse, st, blocks, &s);
  ck_assert_msg(fabs(s.nnz - 3) < 1e-9, "non-zeros per draw %g, expected exactly 3", s.nnz);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabs(s.hits[i] - 0.25) < 0.015, "coordinate %zu hit with frequency %g, expected 0.25",
                  i, s.hits[i]);
  double A[N][N], t[N], grad[N], want[N];
  problem(A, t, grad);
  for (size_t i = 0; i < N; i++)
    want[i] = 0.25 * grad[i];
  close_vec(s.mean_est, want, 0.04, norm(grad), "sparse E[dl u] vs frac * grad");
  zpt_sampler_zo_sparse->free(st);
  /* the table's alloc: the default fraction 0.1, ceil(1.2) = 2 of 12 */
  ck_assert_int_eq(zpt_sampler_zo_sparse->alloc(&st, blocks, NULL), 0);
  measure(zpt_sampler_zo_sparse, st, blocks, &s);
  ck_assert_msg(fabs(s.nnz - 2) < 1e-9, "default: non-zeros per draw %g, expected 2", s.nnz);
  zpt_sampler_zo_sparse->free(st);
  /* a bad fraction is refused, naming the key */
  set.sparse_frac = 1.5;
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_sparse, &st, blocks, &set), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "zo.sparse_frac"));
  zpt_blocks_free(blocks);
}
END_TEST

START_TEST(test_guided) {
  zpt_blocks *blocks;
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, N, N, NULL, 0), 0);
  zpt_sampler_extra_settings set = {0, 0, 0, 0, 0};
  set.guided_k = 2;
  set.guided_alpha = 0.3;
  void *st;
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_guided, &st, blocks, &set), 0);
  /* before any estimate: isotropic N(0, I / n) */
  stats s;
  measure(zpt_sampler_zo_guided, st, blocks, &s);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabs(s.cov[i][i] - 1.0 / N) < 0.01, "no history: var[%zu] = %g, expected 1/n", i, s.cov[i][i]);
  /* one stored direction gdir, given twice (the ring must not double it) */
  float g[N];
  double gd[N], gn = 0;
  for (size_t i = 0; i < N; i++) {
    gd[i] = cos(0.7 * (double)i) + 0.2;
    gn += gd[i] * gd[i];
  }
  gn = sqrt(gn);
  for (size_t i = 0; i < N; i++) {
    gd[i] /= gn;
    g[i] = (float)(3.0 * gd[i]);
  }
  zpt_sampler_zo_guided->observe(st, g, N);
  zpt_sampler_zo_guided->observe(st, g, N);
  measure(zpt_sampler_zo_guided, st, blocks, &s);
  /* Sigma = alpha/n I + (1 - alpha) gd gd^T (k = 2 vectors, 1 direction) */
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < N; j++) {
      double want = (i == j ? 0.3 / N : 0) + 0.7 * gd[i] * gd[j];
      ck_assert_msg(fabs(s.cov[i][j] - want) < 0.012, "cov[%zu][%zu] = %g, expected %g", i, j,
                    s.cov[i][j], want);
    }
  double A[N][N], t[N], grad[N], want[N];
  problem(A, t, grad);
  double proj = 0;
  for (size_t i = 0; i < N; i++)
    proj += gd[i] * grad[i];
  for (size_t i = 0; i < N; i++)
    want[i] = 0.3 / N * grad[i] + 0.7 * proj * gd[i];
  close_vec(s.mean_est, want, 0.05, norm(grad), "guided E[dl u] vs Sigma grad");
  /* checkpoint arrays: history then counters (have 2, next 0) */
  ck_assert_uint_eq(zpt_sampler_zo_guided->state_count(st), 2);
  const char *name;
  float *data;
  size_t len;
  zpt_sampler_zo_guided->state_get(st, 1, &name, &data, &len);
  ck_assert_str_eq(name, "guided_counters");
  ck_assert_uint_eq(len, 2);
  ck_assert(data[0] == 2 && data[1] == 0);
  zpt_sampler_zo_guided->free(st);
  zpt_blocks_free(blocks);
}
END_TEST

START_TEST(test_adapt) {
  zpt_blocks *blocks;
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, N, N, NULL, 0), 0);
  zpt_sampler_extra_settings set = {0, 0, 0, 0, 0};
  set.adapt_floor = 0.2;
  void *st;
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_adapt, &st, blocks, &set), 0);
  float g[N];
  double d[N], msq = 0;
  for (size_t i = 0; i < N; i++) {
    g[i] = (float)(0.5 + 0.25 * (double)i);
    msq += (double)g[i] * g[i] / N;
  }
  for (size_t i = 0; i < N; i++) {
    d[i] = (double)g[i] * g[i] / msq;
    if (d[i] < 0.2)
      d[i] = 0.2;
  }
  zpt_sampler_zo_adapt->observe(st, g, N); /* the first estimate sets v */
  stats s;
  measure(zpt_sampler_zo_adapt, st, blocks, &s);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabs(s.cov[i][i] - d[i]) < 0.04 * d[i] + 0.01, "var[%zu] = %g, expected %g", i,
                  s.cov[i][i], d[i]);
  double A[N][N], t[N], grad[N], want[N];
  problem(A, t, grad);
  for (size_t i = 0; i < N; i++)
    want[i] = d[i] * grad[i];
  close_vec(s.mean_est, want, 0.05, norm(want), "adapt E[dl u] vs D grad");
  /* the second estimate moves v by (1 - beta) only */
  float g2[N];
  for (size_t i = 0; i < N; i++)
    g2[i] = 100.0f;
  zpt_sampler_zo_adapt->observe(st, g2, N);
  const char *name;
  float *data;
  size_t len;
  zpt_sampler_zo_adapt->state_get(st, 0, &name, &data, &len);
  ck_assert_uint_eq(len, N + 1);
  ck_assert_msg(fabs(data[0] - (0.99 * g[0] * g[0] + 0.01 * 1e4)) < 1e-3, "v[0] = %g", data[0]);
  ck_assert(data[N] == 2);
  /* reload into a fresh state: the same draws as the original */
  float saved[N + 1];
  memcpy(saved, data, sizeof saved);
  stats before;
  measure(zpt_sampler_zo_adapt, st, blocks, &before);
  zpt_sampler_zo_adapt->free(st);
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_adapt, &st, blocks, &set), 0);
  zpt_sampler_zo_adapt->state_get(st, 0, &name, &data, &len);
  memcpy(data, saved, sizeof saved);
  zpt_sampler_reloaded(zpt_sampler_zo_adapt, st);
  measure(zpt_sampler_zo_adapt, st, blocks, &s);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(s.cov[i][i] == before.cov[i][i], "reloaded: var[%zu] = %g, before %g", i,
                  s.cov[i][i], before.cov[i][i]);
  zpt_sampler_zo_adapt->free(st);
  set.adapt_beta = 1.0;
  ck_assert_int_eq(zpt_sampler_extra_alloc(zpt_sampler_zo_adapt, &st, blocks, &set), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "zo.adapt_beta"));
  zpt_blocks_free(blocks);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_samplers");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_sparse);
  tcase_add_test(tc, test_guided);
  tcase_add_test(tc, test_adapt);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
