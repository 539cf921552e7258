/* The method's checks (docs/method.md §8): black-box Jacobians and Fisher
 * blocks against closed forms, the Cholesky path, sample covariances, the
 * estimator's expectation on a quadratic (ZO-I -> grad, ZO-NP -> Sigma
 * grad), rho -> infinity gives ZO-I, N_max = 1 blocked ZO-I = ZO-co,
 * N_max = N blocked ZO-I = plain ZO-I. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zoptic.h"

/* Deterministic pseudo-random floats in [-1, 1). */
static void fill(float *x, size_t n, uint64_t seed) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_TEST, 0, 0);
  for (size_t k = 0; k < n; k++)
    x[k] = (float)(2 * gsl_rng_uniform(r) - 1);
  zpt_rng_free(r);
}

static zpt_zo_config base_cfg(void) {
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  return c;
}

/* Dense inverse of an n x n SPD matrix (double) via GSL LU. */
static void invert(const double *A, double *inv, size_t n) {
  gsl_matrix *m = gsl_matrix_alloc(n, n), *im = gsl_matrix_alloc(n, n);
  gsl_permutation *p = gsl_permutation_alloc(n);
  int s;
  for (size_t i = 0; i < n * n; i++)
    m->data[i] = A[i];
  gsl_linalg_LU_decomp(m, p, &s);
  gsl_linalg_LU_invert(m, p, im);
  for (size_t i = 0; i < n * n; i++)
    inv[i] = im->data[i];
  gsl_matrix_free(m);
  gsl_matrix_free(im);
  gsl_permutation_free(p);
}

START_TEST(test_jacobian_affine) {
  /* F of y = A theta + x under MSE (G = I) is A^T A exactly: the black-box
   * Jacobian equals A to float precision. */
  enum { M = 5, N = 7, B = 3 };
  float A[M * N], theta[N], x[B * M], tgt[B * M] = {0};
  fill(A, M * N, 1);
  fill(theta, N, 2);
  fill(x, B * M, 3);
  zpt_blackbox *bb = zpt_testbox_affine(M, N, A);
  zpt_zo_config c = base_cfg();
  c.loss = zpt_loss_mse();
  c.n_max = N;
  c.q = 2;
  c.trace_norm = 0;
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_iterate(t, x, tgt, B, NULL), ZPT_OK);
  double F[N * N];
  zpt_fisher_get(zpt_trainer_fisher(t), 0, F);
  double worst = 0;
  for (size_t a = 0; a < N; a++)
    for (size_t b = 0; b < N; b++) {
      double want = 0;
      for (size_t m = 0; m < M; m++)
        want += (double)A[m * N + a] * A[m * N + b];
      double e = fabs(F[a * N + b] - want) / fmax(1.0, fabs(want));
      worst = e > worst ? e : worst;
    }
  ck_assert_msg(worst < 2e-3, "Fisher of affine box vs A^T A: worst %g", worst);
  zpt_trainer_free(t);
  /* the same box read as a sequence classifier (M = 5 -> use 1 step x 5
   * classes with score scale 1.5): F = (1/B) sum_i A^T G_i A */
  zpt_zo_config cs = c;
  cs.loss = zpt_loss_xent_seq(1, M, 1.5);
  float tcls[B] = {0, 3, 4};
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &cs), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_iterate(t, x, tcls, B, NULL), ZPT_OK);
  zpt_fisher_get(zpt_trainer_fisher(t), 0, F);
  double want[N * N] = {0};
  for (size_t i = 0; i < B; i++) {
    float y[M];
    double G[M * M];
    for (size_t m = 0; m < M; m++) {
      double s = x[i * M + m];
      for (size_t k = 0; k < N; k++)
        s += (double)A[m * N + k] * theta[k];
      y[m] = (float)s;
    }
    ck_assert_int_eq(zpt_loss_fisher_G(&cs.loss, y, M, G), ZPT_OK);
    for (size_t a = 0; a < N; a++)
      for (size_t b = 0; b < N; b++)
        for (size_t m = 0; m < M; m++)
          for (size_t k = 0; k < M; k++)
            want[a * N + b] += A[m * N + a] * G[m * M + k] * A[k * N + b] / B;
  }
  worst = 0;
  for (size_t k = 0; k < N * N; k++)
    worst = fmax(worst, fabs(F[k] - want[k]));
  ck_assert_msg(worst < 2e-3, "softmax Fisher through J = A: worst %g", worst);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_fisher_softmax_closed_form) {
  /* Linear-softmax classifier, one block = all parameters: F = (1/B) sum_i
   * J_i^T (diag p_i - p_i p_i^T) J_i with the exact J (dy_c/dW_ck = x_k,
   * dy_c/db_c = 1). */
  enum { D = 3, C = 3, N = C * (D + 1), B = 4 };
  float theta[N], x[B * D], tgt[B] = {0, 1, 2, 1};
  fill(theta, N, 5);
  fill(x, B * D, 6);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = base_cfg();
  c.loss = zpt_loss_xent(C);
  c.n_max = N;
  c.trace_norm = 0;
  c.jac_eps = 1e-2; /* linear model: exact differences, less rounding */
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_iterate(t, x, tgt, B, NULL), ZPT_OK);
  double F[N * N], want[N * N] = {0};
  zpt_fisher_get(zpt_trainer_fisher(t), 0, F);
  for (size_t i = 0; i < B; i++) {
    double J[C * N] = {0}, p[C], z = 0, y[C];
    for (size_t cc = 0; cc < C; cc++) {
      y[cc] = theta[C * D + cc];
      for (size_t k = 0; k < D; k++) {
        y[cc] += (double)theta[cc * D + k] * x[i * D + k];
        J[cc * N + cc * D + k] = x[i * D + k];
      }
      J[cc * N + C * D + cc] = 1;
    }
    for (size_t cc = 0; cc < C; cc++)
      z += (p[cc] = exp(y[cc]));
    for (size_t cc = 0; cc < C; cc++)
      p[cc] /= z;
    for (size_t a = 0; a < N; a++)
      for (size_t b = 0; b < N; b++) {
        double s = 0;
        for (size_t m = 0; m < C; m++)
          for (size_t k = 0; k < C; k++)
            s += J[m * N + a] * ((m == k ? p[m] : 0) - p[m] * p[k]) * J[k * N + b];
        want[a * N + b] += s / B;
      }
  }
  double worst = 0;
  for (size_t k = 0; k < N * N; k++) {
    double e = fabs(F[k] - want[k]);
    worst = e > worst ? e : worst;
  }
  ck_assert_msg(worst < 1e-4, "softmax Fisher vs closed form: worst abs %g",
                worst);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

/* A PSD (rank-deficient) n x n matrix R^T R, R: r x n. */
static void psd(double *F, size_t n, size_t r, uint64_t seed) {
  float R[64 * 64];
  fill(R, r * n, seed);
  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++) {
      double s = 0;
      for (size_t k = 0; k < r; k++)
        s += (double)R[k * n + a] * R[k * n + b] * (1.0 + 3.0 * k);
      F[a * n + b] = s;
    }
}

START_TEST(test_cholesky_path_and_covariance) {
  enum { N = 9, NB = 6 };
  zpt_blocks *blocks;
  /* blocks of 5 and 4 */
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, N, 5, NULL, 0), ZPT_OK);
  const double rho = 0.1;
  zpt_fisher *f;
  ck_assert_int_eq(zpt_fisher_alloc(&f, blocks, rho, 1, 1.0, 1), ZPT_OK);
  size_t n = zpt_block_len(blocks, 0);
  double F[25], Fn[25], S[25], want[25], Fb[25];
  psd(F, n, 3, 11); /* rank 3 of 5: singular */
  ck_assert_int_eq(zpt_fisher_update_dense(f, 0, F), ZPT_OK);
  ck_assert_uint_eq(f->n_present, 1);
  ck_assert_ptr_null(f->fisher[1]); /* lazily allocated: block 1 untouched */
  double tr = 0;
  for (size_t i = 0; i < n; i++)
    tr += F[i * n + i];
  for (size_t k = 0; k < n * n; k++)
    Fn[k] = F[k] / (tr / n) + ((k % (n + 1)) == 0 ? rho : 0);
  invert(Fn, want, n);
  for (size_t k = 0; k < n * n; k++)
    want[k] *= 1 + rho;
  ck_assert_int_eq(zpt_fisher_sigma(f, 0, S), ZPT_OK);
  double worst = 0;
  for (size_t k = 0; k < n * n; k++)
    worst = fmax(worst, fabs(S[k] - want[k]) / fmax(1, fabs(want[k])));
  ck_assert_msg(worst < 1e-10, "Sigma (Cholesky) vs dense: worst %g", worst);
  /* stored F is trace-normalised: mean eigenvalue 1 */
  zpt_fisher_get(f, 0, Fb);
  double trb = 0;
  for (size_t i = 0; i < n; i++)
    trb += Fb[i * n + i];
  ck_assert_double_eq_tol(trb, (double)n, 1e-10);
  /* untouched block: Sigma = I */
  double S1[16];
  ck_assert_int_eq(zpt_fisher_sigma(f, 1, S1), ZPT_OK);
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++)
      ck_assert(S1[i * 4 + j] == (i == j));
  /* empirical covariance of many draws -> Sigma */
  const size_t K = 200000;
  gsl_rng *r = zpt_rng_alloc(3, ZPT_STREAM_TEST, 1, 0);
  double cov[25] = {0};
  float u[5];
  for (size_t s = 0; s < K; s++) {
    zpt_fisher_sample(f, 0, r, u);
    for (size_t a = 0; a < n; a++)
      for (size_t b = 0; b < n; b++)
        cov[a * n + b] += (double)u[a] * u[b] / K;
  }
  zpt_rng_free(r);
  /* standard error of a covariance entry: sqrt((S_aa S_bb + S_ab^2)/K) */
  double worst_z = 0;
  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++) {
      double se = sqrt((S[a * n + a] * S[b * n + b] + S[a * n + b] * S[a * n + b]) / K);
      worst_z = fmax(worst_z, fabs(cov[a * n + b] - S[a * n + b]) / se);
    }
  printf("empirical covariance of %zu draws vs Sigma_b: worst %.2f standard "
         "errors\n", K, worst_z);
  ck_assert_msg(worst_z < 5, "sample covariance vs Sigma: %g standard errors",
                worst_z);
  /* exponential averaging: F_b <- (1-a) F_b + a F_new (starting from I) */
  zpt_fisher *fa;
  ck_assert_int_eq(zpt_fisher_alloc(&fa, blocks, rho, 0, 0.25, 1), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_update_dense(fa, 0, F), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_update_dense(fa, 0, F), ZPT_OK);
  zpt_fisher_get(fa, 0, Fb);
  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++) {
      double w = 0.5625 * (a == b) + 0.4375 * F[a * n + b];
      ck_assert_double_eq_tol(Fb[a * n + b], w, 1e-12);
    }
  zpt_fisher_free(fa);
  zpt_fisher_free(f);
  zpt_blocks_free(blocks);
  (void)NB;
}
END_TEST

START_TEST(test_cholesky_failure) {
  zpt_blocks *blocks;
  ck_assert_int_eq(zpt_blocks_alloc(&blocks, 4, 4, NULL, 0), ZPT_OK);
  double F[16];
  psd(F, 4, 2, 12); /* rank 2: F + 0 I is singular */
  /* rho = 0 without jitter: a clear error, block left without estimate */
  zpt_fisher *f;
  ck_assert_int_eq(zpt_fisher_alloc(&f, blocks, 0.0, 0, 1.0, 0), ZPT_OK);
  int rc = zpt_fisher_update_dense(f, 0, F);
  if (rc == ZPT_OK) {
    /* rounding may leave a rank-deficient matrix barely PD; force it */
    double Z[16] = {0};
    Z[0] = 1;
    rc = zpt_fisher_update_dense(f, 0, Z);
  }
  ck_assert_int_eq(rc, ZPT_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "not positive definite"));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "jitter disabled"));
  zpt_fisher_free(f);
  /* with jitter: rescued and counted */
  ck_assert_int_eq(zpt_fisher_alloc(&f, blocks, 0.0, 0, 1.0, 1), ZPT_OK);
  double Z[16] = {0};
  Z[0] = 1;
  ck_assert_int_eq(zpt_fisher_update_dense(f, 0, Z), ZPT_OK);
  ck_assert_uint_eq(f->n_jitter, 1);
  /* non-finite entries: always an error */
  Z[5] = NAN;
  ck_assert_int_eq(zpt_fisher_update_dense(f, 0, Z), ZPT_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "non-finite"));
  /* bad settings */
  zpt_fisher *g;
  ck_assert_int_eq(zpt_fisher_alloc(&g, blocks, -1.0, 0, 1.0, 1), ZPT_EINVAL);
  ck_assert_int_eq(zpt_fisher_alloc(&g, blocks, 0.1, 0, 0.0, 1), ZPT_EINVAL);
  ck_assert_int_eq(zpt_fisher_update_dense(f, 7, Z), ZPT_EINVAL);
  zpt_fisher_free(f);
  zpt_fisher_free(NULL);
  zpt_blocks_free(blocks);
}
END_TEST

/* Mean of the trainer's gradient estimate at a fixed theta over K
 * iterations; also returns the per-coordinate standard error. */
static void mean_estimate(zpt_trainer *t, const float *theta0, const float *x,
                          const float *tgt, size_t B, size_t K, double *mean,
                          double *se) {
  size_t N = zpt_trainer_n_params(t);
  double s1[64] = {0}, s2[64] = {0};
  for (size_t k = 0; k < K; k++) {
    zpt_trainer_set_theta(t, theta0);
    ck_assert_int_eq(zpt_trainer_iterate(t, x, tgt, B, NULL), ZPT_OK);
    const float *g = zpt_trainer_gradient(t);
    for (size_t j = 0; j < N; j++) {
      s1[j] += g[j];
      s2[j] += (double)g[j] * g[j];
    }
  }
  for (size_t j = 0; j < N; j++) {
    mean[j] = s1[j] / K;
    se[j] = sqrt(fmax(s2[j] / K - mean[j] * mean[j], 0) / K);
  }
}

/* Quadratic l = (1/M) ||A theta + x||^2 (one sample): grad = (2/M) A^T r. */
static void quad_grad(const float *A, const float *theta, const float *x,
                      size_t M, size_t N, double *g) {
  double r[16];
  for (size_t m = 0; m < M; m++) {
    r[m] = x[m];
    for (size_t k = 0; k < N; k++)
      r[m] += (double)A[m * N + k] * theta[k];
  }
  for (size_t k = 0; k < N; k++) {
    g[k] = 0;
    for (size_t m = 0; m < M; m++)
      g[k] += 2.0 / M * A[m * N + k] * r[m];
  }
}

static void assert_mean(const double *mean, const double *se,
                        const double *want, size_t N, const char *what) {
  double worst_z = 0, err2 = 0, norm2 = 0;
  for (size_t j = 0; j < N; j++) {
    worst_z = fmax(worst_z, fabs(mean[j] - want[j]) / se[j]);
    err2 += (mean[j] - want[j]) * (mean[j] - want[j]);
    norm2 += want[j] * want[j];
  }
  printf("%s: relative error %.4f, worst %.2f standard errors\n", what,
         sqrt(err2 / norm2), worst_z);
  ck_assert_msg(worst_z < 5, "%s: %g standard errors off", what, worst_z);
  ck_assert_msg(sqrt(err2 / norm2) < 0.1, "%s: relative error %g", what,
                sqrt(err2 / norm2));
}

START_TEST(test_estimator_quadratic) {
  enum { M = 6, N = 6 };
  float A[M * N], theta[N], x[M], tgt[M] = {0};
  fill(A, M * N, 21);
  for (size_t k = 0; k < N; k++)
    A[k * N + k] += 2.0f; /* well-posed */
  fill(theta, N, 22);
  fill(x, M, 23);
  double grad[N], mean[N], se[N];
  quad_grad(A, theta, x, M, N, grad);
  zpt_blackbox *bb = zpt_testbox_affine(M, N, A);
  const size_t K = 3000;
  /* ZO-I, all at once, forward differences -> grad */
  for (int central = 0; central < 2; central++) {
    zpt_zo_config c = base_cfg();
    c.loss = zpt_loss_mse();
    c.method = ZPT_ZO_I;
    c.mode = ZPT_PERTURB_ALL;
    c.q = 8;
    c.mu = 1e-3;
    c.diff = central ? ZPT_DIFF_CENTRAL : ZPT_DIFF_FORWARD;
    c.seed = 100 + central;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
    mean_estimate(t, theta, x, tgt, 1, K, mean, se);
    assert_mean(mean, se, grad, N, central ? "ZO-I central -> grad"
                                           : "ZO-I forward -> grad");
    zpt_trainer_free(t);
  }
  /* ZO-NP, one block, Fisher estimated once (t = 0): without
   * normalisation E[g] = Sigma grad exactly. */
  {
    zpt_zo_config c = base_cfg();
    c.loss = zpt_loss_mse();
    c.method = ZPT_ZO_NP;
    c.n_max = N;
    c.q = 8;
    c.rho = 1.0;
    c.t_ud = 1000000;
    c.normalize = 0;
    c.seed = 7;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
    mean_estimate(t, theta, x, tgt, 1, K, mean, se);
    double S[N * N], want[N];
    ck_assert_int_eq(zpt_fisher_sigma(zpt_trainer_fisher(t), 0, S), ZPT_OK);
    for (size_t a = 0; a < N; a++) {
      want[a] = 0;
      for (size_t b = 0; b < N; b++)
        want[a] += S[a * N + b] * grad[b];
    }
    assert_mean(mean, se, want, N, "ZO-NP (unnormalised) -> Sigma grad");
    /* Sigma grad is NOT grad here: the test distinguishes them */
    double d2 = 0, n2 = 0;
    for (size_t a = 0; a < N; a++) {
      d2 += (want[a] - grad[a]) * (want[a] - grad[a]);
      n2 += grad[a] * grad[a];
    }
    ck_assert_msg(sqrt(d2 / n2) > 0.3, "Sigma grad too close to grad (%g)",
                  sqrt(d2 / n2));
    zpt_trainer_free(t);
    /* with the default normalisation (||u|| = sqrt N) the mean estimate is
     * Sigma grad up to a constant, to the accuracy of the approximation
     * E[N v v^T / ||v||^2] ~ (N / tr Sigma) Sigma: compare directions */
    c.normalize = 1;
    c.seed = 8;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
    mean_estimate(t, theta, x, tgt, 1, K, mean, se);
    double dot = 0, mm = 0, ww = 0, gg = 0, dg = 0;
    for (size_t a = 0; a < N; a++) {
      dot += mean[a] * want[a];
      mm += mean[a] * mean[a];
      ww += want[a] * want[a];
      gg += grad[a] * grad[a];
      dg += mean[a] * grad[a];
    }
    double cos_sigma = dot / sqrt(mm * ww), cos_grad = dg / sqrt(mm * gg);
    printf("ZO-NP (normalised): cosine to Sigma grad %.4f, to grad %.4f\n",
           cos_sigma, cos_grad);
    ck_assert_msg(cos_sigma > 0.98 && cos_sigma > cos_grad + 0.02,
                  "normalised ZO-NP mean: cosine %g to Sigma grad, %g to grad",
                  cos_sigma, cos_grad);
    zpt_trainer_free(t);
  }
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_rho_infinity_is_zo_i) {
  enum { M = 4, N = 10 };
  float A[M * N], theta[N], x[M], tgt[M] = {0};
  fill(A, M * N, 31);
  fill(theta, N, 32);
  fill(x, M, 33);
  zpt_blackbox *bb = zpt_testbox_affine(M, N, A);
  zpt_zo_config c = base_cfg();
  c.loss = zpt_loss_mse();
  c.n_max = N;
  c.q = 3;
  c.rho = 1e12;
  c.normalize = 1; /* both rescaled (ZO-NP's default is the raw draw) */
  zpt_trainer *np, *zi;
  ck_assert_int_eq(zpt_trainer_alloc(&np, bb, theta, &c), ZPT_OK);
  c.method = ZPT_ZO_I;
  ck_assert_int_eq(zpt_trainer_alloc(&zi, bb, theta, &c), ZPT_OK);
  /* after a Fisher update, NP draws equal ZO-I draws from the same stream */
  ck_assert_int_eq(zpt_trainer_iterate(np, x, tgt, 1, NULL), ZPT_OK);
  ck_assert_uint_eq(zpt_trainer_fisher(np)->n_present, 1);
  float u1[N], u2[N];
  size_t o1, l1, o2, l2;
  for (uint64_t it = 0; it < 5; it++)
    for (size_t q = 0; q < 3; q++) {
      ck_assert_int_eq(zpt_trainer_draw(np, it, q, 0, u1, &o1, &l1), ZPT_OK);
      ck_assert_int_eq(zpt_trainer_draw(zi, it, q, 0, u2, &o2, &l2), ZPT_OK);
      ck_assert_uint_eq(l1, N);
      ck_assert_uint_eq(l2, N);
      ZPT_ASSERT_CLOSE(u1, u2, N, 1e-5, "rho -> inf draw vs ZO-I draw");
    }
  /* and with moderate rho they differ */
  zpt_trainer_free(np);
  c.method = ZPT_ZO_NP;
  c.rho = 0.1;
  ck_assert_int_eq(zpt_trainer_alloc(&np, bb, theta, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_iterate(np, x, tgt, 1, NULL), ZPT_OK);
  zpt_trainer_draw(np, 0, 0, 0, u1, &o1, &l1);
  zpt_trainer_draw(zi, 0, 0, 0, u2, &o2, &l2);
  size_t w;
  ck_assert(zpt_test_max_rel_err(u1, u2, N, &w) > 0.1);
  zpt_trainer_free(np);
  zpt_trainer_free(zi);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_nmax1_is_zo_co) {
  /* Blocked ZO-I with N_max = 1 and ZO-co: every perturbation is
   * +-sqrt(N) e_j with j uniform; with central differences the single
   * perturbation estimate is N dl/dtheta_j e_j for both. */
  enum { M = 3, N = 12 };
  float A[M * N], theta[N], x[M], tgt[M] = {0};
  fill(A, M * N, 41);
  fill(theta, N, 42);
  fill(x, M, 43);
  double grad[N];
  quad_grad(A, theta, x, M, N, grad);
  zpt_blackbox *bb = zpt_testbox_affine(M, N, A);
  for (int method = 0; method < 2; method++) {
    zpt_zo_config c = base_cfg();
    c.loss = zpt_loss_mse();
    c.method = method ? ZPT_ZO_CO : ZPT_ZO_I;
    c.mode = method ? ZPT_PERTURB_ALL : ZPT_PERTURB_BLOCK;
    c.n_max = method ? N : 1;
    c.q = 1;
    c.diff = ZPT_DIFF_CENTRAL;
    c.optimizer = ZPT_OPT_SGD;
    c.seed = 50 + method;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
    size_t count[N] = {0};
    const size_t K = 120 * N;
    for (size_t k = 0; k < K; k++) {
      zpt_trainer_set_theta(t, theta);
      ck_assert_int_eq(zpt_trainer_iterate(t, x, tgt, 1, NULL), ZPT_OK);
      const float *g = zpt_trainer_gradient(t);
      size_t nz = 0, j = 0;
      for (size_t i = 0; i < N; i++)
        if (g[i] != 0) {
          nz++;
          j = i;
        }
      ck_assert_uint_le(nz, 1);
      if (nz == 0)
        continue; /* a zero partial derivative */
      count[j]++;
      double want = N * grad[j];
      ck_assert_msg(fabs(g[j] - want) <= 2e-3 * fmax(1, fabs(want)),
                    "%s: estimate %g vs N dl/dtheta_%zu = %g",
                    method ? "ZO-co" : "blocked ZO-I", (double)g[j], j, want);
      /* the perturbation itself: +-sqrt(N) e_j */
      float u[N];
      size_t off, len;
      ck_assert_int_eq(zpt_trainer_draw(t, k, 0, method ? 0 : j, u, &off, &len),
                       ZPT_OK);
      ck_assert_uint_eq(len, 1);
      ck_assert_uint_eq(off, j);
      ck_assert_double_eq_tol(fabs(u[0]), sqrt((double)N), 1e-5);
    }
    /* uniform coordinates: blocked = exactly K/N each (permutation cycles);
     * ZO-co: multinomial, within 5 standard deviations */
    for (size_t j = 0; j < N; j++) {
      if (method == 0)
        ck_assert_uint_eq(count[j], K / N);
      else
        ck_assert_msg(fabs((double)count[j] - K / (double)N) <
                          5 * sqrt(K / (double)N),
                      "ZO-co coordinate %zu drawn %zu times of %zu", j,
                      count[j], K);
    }
    zpt_trainer_free(t);
  }
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_nmax_n_is_plain_zo_i) {
  /* one block in block mode draws exactly what all-at-once mode draws */
  enum { D = 4, C = 3, N = C * (D + 1), B = 5 };
  float theta[N], x[B * D], tgt[B] = {0, 1, 2, 0, 1};
  fill(theta, N, 61);
  fill(x, B * D, 62);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = base_cfg();
  c.loss = zpt_loss_xent(C);
  c.method = ZPT_ZO_I;
  c.q = 4;
  c.n_max = N;
  zpt_trainer *a, *b;
  ck_assert_int_eq(zpt_trainer_alloc(&a, bb, theta, &c), ZPT_OK);
  c.mode = ZPT_PERTURB_ALL;
  ck_assert_int_eq(zpt_trainer_alloc(&b, bb, theta, &c), ZPT_OK);
  for (int k = 0; k < 50; k++) {
    ck_assert_int_eq(zpt_trainer_iterate(a, x, tgt, B, NULL), ZPT_OK);
    ck_assert_int_eq(zpt_trainer_iterate(b, x, tgt, B, NULL), ZPT_OK);
  }
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(b),
                   N * sizeof(float)) == 0);
  zpt_trainer_free(a);
  zpt_trainer_free(b);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_normalisation) {
  /* ||u|| = sqrt(N) in every method and mode; block mode touches one block */
  enum { D = 9, C = 4, N = C * (D + 1) };
  float theta[N];
  fill(theta, N, 71);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  float u[N];
  for (int m = 0; m < 3; m++)
    for (int mode = 0; mode < 2; mode++) {
      zpt_zo_config c = base_cfg();
      c.loss = zpt_loss_xent(C);
      c.method = (zpt_zo_method)m;
      c.mode = (zpt_perturb_mode)mode;
      c.n_max = 7;
      c.normalize = 1; /* the rescaling checked here (ZO-NP's default: off) */
      zpt_trainer *t;
      ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
      const zpt_blocks *bl = zpt_trainer_blocks(t);
      ck_assert_uint_eq(bl->n_blocks, 6);
      for (size_t b = 0; b < bl->n_blocks; b++) {
        size_t off, len;
        ck_assert_int_eq(zpt_trainer_draw(t, 3, 1, b, u, &off, &len), ZPT_OK);
        double ss = 0;
        for (size_t k = 0; k < len; k++)
          ss += (double)u[k] * u[k];
        ck_assert_double_eq_tol(sqrt(ss), sqrt((double)N), 1e-4);
        if (mode == ZPT_PERTURB_BLOCK) {
          ck_assert_uint_ge(off, bl->offset[b]);
          ck_assert_uint_le(off + len, bl->offset[b + 1]);
        } else if (m != ZPT_ZO_CO) {
          ck_assert_uint_eq(len, N);
        }
      }
      zpt_trainer_free(t);
    }
  zpt_blackbox_free(bb);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_method");
  TCase *tc = tcase_create("zo_method");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_jacobian_affine);
  tcase_add_test(tc, test_fisher_softmax_closed_form);
  tcase_add_test(tc, test_cholesky_path_and_covariance);
  tcase_add_test(tc, test_cholesky_failure);
  tcase_add_test(tc, test_estimator_quadratic);
  tcase_add_test(tc, test_rho_infinity_is_zo_i);
  tcase_add_test(tc, test_nmax1_is_zo_co);
  tcase_add_test(tc, test_nmax_n_is_plain_zo_i);
  tcase_add_test(tc, test_normalisation);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
