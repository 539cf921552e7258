/* Photonic layers: MZI closed form, mesh unitarity and routes, chip errors,
 * decomposition round trips, modReLU / detection / input map / DFT encoder
 * against closed forms, the RNN against a hand computation, builders and
 * bad arguments.  References are computed here independently, in double. */
#define _POSIX_C_SOURCE 200809L
#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "zoptic.h"
#include "mzi/builders.h"
#include "mzi/chip.h"
#include "mzi/decompose.h"
#include "mzi/layers.h"
#include "mzi/mesh.h"
#include "mzi/rnn.h"

#define TWO_PI 6.283185307179586476925286766559

/* ------------------------------------------------------------- helpers */

static gsl_rng *test_rng(uint64_t i) { return zpt_rng_alloc(2026, ZPT_STREAM_TEST, i, 0); }

static void random_phases(gsl_rng *r, float *x, size_t n) {
  for (size_t k = 0; k < n; k++)
    x[k] = (float)(TWO_PI * gsl_rng_uniform(r));
}

static void random_cvec(gsl_rng *r, zpt_cfloat *x, size_t n) {
  for (size_t k = 0; k < n; k++)
    x[k] = (float)gsl_ran_gaussian(r, 1) + I * (float)gsl_ran_gaussian(r, 1);
}

static int fwd(const zpt_layer *l, const float *params, const void *in, void *out, size_t n,
               gsl_rng *noise) {
  zpt_buffer work = {0};
  zpt_fwd_ctx ctx = {noise, &work};
  int rc = l->ops->forward(l, params, in, out, n, &ctx);
  zpt_buffer_release(&work);
  return rc;
}

/* T(x) = (1/sqrt2) [[1, i], [i, 1]] . diag(e^{ix}, 1), as a plain product */
static void ref_T(double x, double complex t[4]) {
  const double r = 1 / sqrt(2.0);
  double complex bs[4] = {r, I * r, I * r, r}, ps[4] = {cexp(I * x), 0, 0, 1};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      t[2 * i + j] = bs[2 * i] * ps[j] + bs[2 * i + 1] * ps[2 + j];
}

static void ref_mzi(double theta, double phi, double complex m[4]) {
  double complex a[4], b[4];
  ref_T(theta, a);
  ref_T(phi, b);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      m[2 * i + j] = a[2 * i] * b[j] + a[2 * i + 1] * b[2 + j];
}

/* U = D(screen) . prod of embedded MZIs, in double, from the topology */
static void ref_mesh(const zpt_mesh_topology *t, const float *phases, const float *screen,
                     double complex *U) {
  const size_t K = t->K;
  for (size_t i = 0; i < K * K; i++)
    U[i] = 0;
  for (size_t i = 0; i < K; i++)
    U[i * K + i] = 1;
  for (size_t q = 0; q < t->n_mzi; q++) {
    double complex M[4];
    ref_mzi(phases[2 * q], phases[2 * q + 1], M);
    size_t m = t->top[q];
    for (size_t j = 0; j < K; j++) {
      double complex a = U[m * K + j], b = U[(m + 1) * K + j];
      U[m * K + j] = M[0] * a + M[1] * b;
      U[(m + 1) * K + j] = M[2] * a + M[3] * b;
    }
  }
  if (screen)
    for (size_t i = 0; i < K; i++)
      for (size_t j = 0; j < K; j++)
        U[i * K + j] *= cexp(I * (double)screen[i]);
}

static double unitarity_error(const zpt_cfloat *U, size_t K) {
  double worst = 0;
  for (size_t i = 0; i < K; i++)
    for (size_t j = 0; j < K; j++) {
      double complex s = 0;
      for (size_t k = 0; k < K; k++)
        s += conj((double complex)U[k * K + i]) * U[k * K + j];
      double e = cabs(s - (i == j));
      if (e > worst)
        worst = e;
    }
  return worst;
}

/* Haar-random unitary: QR (Gram-Schmidt) of a complex Gaussian matrix; the
 * Gram-Schmidt R has a positive real diagonal, which is the phase fix. */
static void haar_unitary(gsl_rng *r, size_t K, double complex *U) {
  for (size_t i = 0; i < K * K; i++)
    U[i] = gsl_ran_gaussian(r, 1) + I * gsl_ran_gaussian(r, 1);
  for (size_t j = 0; j < K; j++) {
    for (size_t k = 0; k < j; k++) {
      double complex s = 0;
      for (size_t i = 0; i < K; i++)
        s += conj(U[i * K + k]) * U[i * K + j];
      for (size_t i = 0; i < K; i++)
        U[i * K + j] -= s * U[i * K + k];
    }
    double nn = 0;
    for (size_t i = 0; i < K; i++)
      nn += creal(U[i * K + j] * conj(U[i * K + j]));
    for (size_t i = 0; i < K; i++)
      U[i * K + j] /= sqrt(nn);
  }
}

static zpt_layer *mesh_layer(zpt_params *p, const char *name, zpt_mesh_kind kind, size_t K,
                             size_t cols, int screen, zpt_mesh_route route, zpt_chip *chip) {
  zpt_mesh_spec spec = {kind, K, cols, screen, route};
  zpt_layer *l = NULL;
  int rc = zpt_mesh_layer_alloc(p, name, &spec, chip, &l);
  ck_assert_msg(rc == ZPT_OK, "mesh layer: %s", zpt_error_message());
  return l;
}

static float *layer_params(zpt_params *p, const zpt_layer *l) {
  return p->theta + l->param_offset;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_mzi_closed_form) {
  gsl_rng *r = test_rng(1);
  for (int trial = 0; trial < 20; trial++) {
    double th = TWO_PI * gsl_rng_uniform(r), ph = TWO_PI * gsl_rng_uniform(r);
    double complex got[4], want[4];
    zpt_mzi_matrix(th, ph, got);
    ref_mzi(th, ph, want);
    /* closed form: (1/2)[[e^{iphi}(e^{ith}-1), i(e^{ith}+1)], [i e^{iphi}(e^{ith}+1), 1-e^{ith}]] */
    double complex et = cexp(I * th), ep = cexp(I * ph);
    double complex closed[4] = {0.5 * ep * (et - 1), 0.5 * I * (et + 1),
                                0.5 * I * ep * (et + 1), 0.5 * (1 - et)};
    for (int k = 0; k < 4; k++) {
      ck_assert_msg(cabs(got[k] - want[k]) < 1e-14, "entry %d differs from T(th)T(phi)", k);
      ck_assert_msg(cabs(closed[k] - want[k]) < 1e-14, "closed form entry %d", k);
    }
    /* the K = 2 mesh layer (one MZI) applies the same matrix */
    zpt_params *p = zpt_params_alloc();
    zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, 2, 0, 0, ZPT_ROUTE_ROTATIONS, NULL);
    ck_assert_uint_eq(l->n_params, 2);
    float *prm = layer_params(p, l);
    prm[0] = (float)th;
    prm[1] = (float)ph;
    zpt_cfloat x[2] = {1.0f + 0.5f * I, -0.25f + 2.0f * I}, y[2];
    ck_assert_int_eq(fwd(l, prm, x, y, 1, NULL), ZPT_OK);
    double complex m[4];
    ref_mzi(prm[0], prm[1], m);
    for (int i = 0; i < 2; i++) {
      double complex e = m[2 * i] * x[0] + m[2 * i + 1] * x[1];
      ck_assert_msg(cabs(y[i] - e) < 1e-5, "MZI layer output %d: %g%+gi vs %g%+gi", i,
                    crealf(y[i]), cimagf(y[i]), creal(e), cimag(e));
    }
    zpt_layer_free(l);
    zpt_params_free(p);
  }
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_mesh_unitary_all_sizes) {
  gsl_rng *r = test_rng(2);
  for (size_t K = 2; K <= 64; K++) {
    zpt_mesh_kind kinds[3] = {ZPT_MESH_CLEMENTS, ZPT_MESH_RECK, ZPT_MESH_CLEMENTS};
    size_t cols[3] = {0, 0, K / 2 ? K / 2 : 1};
    for (int v = 0; v < 3; v++) {
      if (K > 24 && K % 8 && v) /* Reck / truncated: a sample of sizes above 24 */
        continue;
      zpt_params *p = zpt_params_alloc();
      zpt_layer *l = mesh_layer(p, "m", kinds[v], K, cols[v], 1, ZPT_ROUTE_AUTO, NULL);
      const zpt_mesh_topology *t = zpt_mesh_layer_topology(l);
      if (v == 0)
        ck_assert_uint_eq(t->n_mzi, K * (K - 1) / 2);
      if (v == 1) {
        ck_assert_uint_eq(t->n_mzi, K * (K - 1) / 2);
        ck_assert_uint_eq(t->n_cols, K == 2 ? 1 : 2 * K - 3);
      }
      float *prm = layer_params(p, l);
      random_phases(r, prm, l->n_params);
      zpt_cfloat *U = zpt_cfloats(K * K, "U");
      ck_assert_int_eq(zpt_mesh_layer_matrix(l, prm, U), ZPT_OK);
      double e = unitarity_error(U, K);
      ck_assert_msg(e <= 1e-5, "%s K=%zu cols=%zu: |U^H U - I| = %.3g",
                    zpt_mesh_kind_name(kinds[v]), K, t->n_cols, e);
      /* against the double-precision product of embedded MZIs */
      double complex *R = malloc(K * K * sizeof *R);
      ref_mesh(t, prm, prm + 2 * t->n_mzi, R);
      double worst = 0;
      for (size_t i = 0; i < K * K; i++)
        worst = fmax(worst, cabs(U[i] - R[i]));
      ck_assert_msg(worst <= 1e-5, "K=%zu: mesh matrix vs reference: %.3g", K, worst);
      free(R);
      zpt_free(U);
      zpt_layer_free(l);
      zpt_params_free(p);
    }
  }
  zpt_rng_free(r);
}
END_TEST

/* Batched apply (both routes, with and without chip errors) equals the
 * layer's matrix times every input, computed here in double. */
START_TEST(test_mesh_routes_match_matrix) {
  gsl_rng *r = test_rng(3);
  size_t Ks[] = {3, 8, 16, 33, 64};
  size_t ns[] = {1, 7, 45, 100};
  zpt_chip_config cfgs[2] = {zpt_chip_config_ideal(), zpt_chip_config_aaai(7, 1.0)};
  cfgs[1].loss_db = 0.2;
  cfgs[1].crosstalk = 0.05;
  cfgs[1].phase_bits = 8;
  for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
    for (int c = 0; c < 2; c++)
      for (int route = 1; route <= 2; route++) {
        size_t K = Ks[a];
        zpt_chip chip;
        ck_assert_int_eq(zpt_chip_init(&chip, &cfgs[c]), ZPT_OK);
        zpt_params *p = zpt_params_alloc();
        zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, K, K > 8 ? K - 3 : 0, 1,
                                  (zpt_mesh_route)route, &chip);
        float *prm = layer_params(p, l);
        random_phases(r, prm, l->n_params);
        zpt_cfloat *U = zpt_cfloats(K * K, "U");
        ck_assert_int_eq(zpt_mesh_layer_matrix(l, prm, U), ZPT_OK);
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
          size_t n = ns[b];
          zpt_cfloat *x = zpt_cfloats(n * K, "x"), *y = zpt_cfloats(n * K, "y");
          random_cvec(r, x, n * K);
          ck_assert_int_eq(fwd(l, prm, x, y, n, NULL), ZPT_OK);
          double worst = 0;
          for (size_t s = 0; s < n; s++)
            for (size_t i = 0; i < K; i++) {
              double complex e = 0;
              for (size_t j = 0; j < K; j++)
                e += (double complex)U[i * K + j] * x[s * K + j];
              worst = fmax(worst, cabs(y[s * K + i] - e) / fmax(1.0, cabs(e)));
            }
          ck_assert_msg(worst <= 2e-5, "K=%zu n=%zu route=%d chip=%d: worst %.3g", K, n,
                        route, c, worst);
          zpt_free(x);
          zpt_free(y);
        }
        zpt_free(U);
        zpt_layer_free(l);
        zpt_params_free(p);
      }
  zpt_rng_free(r);
}
END_TEST

/* y = U x in double for n samples (rows of x), worst |y - e| / max(1, |e|) */
static double worst_vs_dense(const double complex *U, size_t K, const zpt_cfloat *x,
                             const zpt_cfloat *y, size_t n) {
  double worst = 0;
  for (size_t s = 0; s < n; s++)
    for (size_t i = 0; i < K; i++) {
      double complex e = 0;
      for (size_t j = 0; j < K; j++)
        e += U[i * K + j] * (double complex)x[s * K + j];
      worst = fmax(worst, cabs((double complex)y[s * K + i] - e) / fmax(1.0, cabs(e)));
    }
  return worst;
}

/* The rotation kernel (two-column sweeps over planar chunks of 16 or 32
 * samples, lifted coefficients with pending phases on ideal meshes) against
 * the dense double product of the embedded MZIs: Clements and Reck, full
 * and truncated, odd and even K, with and without a screen, batch sizes
 * around the vector width, and phases at the lifted form's folding
 * boundaries (multiples of pi/2) and far from [0, 2pi). */
START_TEST(test_rotation_kernel_matches_dense) {
  gsl_rng *r = test_rng(31);
  const size_t Ks[] = {2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31, 33, 64};
  const size_t ns[] = {1, 4, 15, 16, 17, 31, 32, 33, 47, 100};
  for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
    for (int v = 0; v < 5; v++) {
      size_t K = Ks[a];
      zpt_mesh_kind kind = v == 1 ? ZPT_MESH_RECK : ZPT_MESH_CLEMENTS;
      size_t cols = v == 2 ? 1 : v == 3 ? (K + 1) / 2 : v == 4 ? (K > 2 ? K - 1 : 1) : 0;
      for (int screen = 0; screen < 2; screen++) {
        zpt_params *p = zpt_params_alloc();
        zpt_layer *l = mesh_layer(p, "m", kind, K, cols, screen, ZPT_ROUTE_ROTATIONS, NULL);
        const zpt_mesh_topology *t = zpt_mesh_layer_topology(l);
        float *prm = layer_params(p, l);
        random_phases(r, prm, l->n_params);
        for (size_t q = 0; q < 2 * t->n_mzi; q += 5) /* k pi/2, k = -4..7 */
          prm[q] = (float)(M_PI / 2 * (double)((long)gsl_rng_uniform_int(r, 12) - 4));
        for (size_t q = 3; q < 2 * t->n_mzi; q += 7)
          prm[q] += (float)(TWO_PI * (double)((long)gsl_rng_uniform_int(r, 200) - 100));
        double complex *U = malloc(K * K * sizeof *U);
        ref_mesh(t, prm, screen ? prm + 2 * t->n_mzi : NULL, U);
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
          size_t n = ns[b];
          zpt_cfloat *x = zpt_cfloats(n * K, "x"), *y = zpt_cfloats(n * K, "y");
          random_cvec(r, x, n * K);
          ck_assert_int_eq(fwd(l, prm, x, y, n, NULL), ZPT_OK);
          double worst = worst_vs_dense(U, K, x, y, n);
          ck_assert_msg(worst <= 2e-5, "%s K=%zu cols=%zu screen=%d n=%zu: worst %.3g",
                        zpt_mesh_kind_name(kind), K, t->n_cols, screen, n, worst);
          zpt_free(x);
          zpt_free(y);
        }
        free(U);
        zpt_layer_free(l);
        zpt_params_free(p);
      }
    }
  zpt_rng_free(r);
}
END_TEST

/* zpt_mesh_apply_rotations with arbitrary (non-unitary) 2x2 coefficients,
 * in place, against the same MZIs applied one by one in double: the
 * general form of the kernel and its plan. */
START_TEST(test_general_rotations_match_dense) {
  gsl_rng *r = test_rng(32);
  const size_t Ks[] = {2, 5, 8, 13, 32};
  const size_t ns[] = {1, 16, 19, 40};
  for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
    for (int v = 0; v < 3; v++) {
      size_t K = Ks[a];
      zpt_mesh_topology *t = NULL;
      ck_assert_int_eq(zpt_mesh_topology_alloc(v == 1 ? ZPT_MESH_RECK : ZPT_MESH_CLEMENTS, K,
                                               v == 2 ? (K + 1) / 2 : 0, &t),
                       ZPT_OK);
      zpt_mzi_coef *coef = zpt_new_array(zpt_mzi_coef, t->n_mzi + 1, "coef");
      for (size_t q = 0; q < t->n_mzi; q++)
        for (int k = 0; k < 8; k++)
          coef[q][k] = (float)gsl_ran_gaussian(r, 0.7);
      zpt_cfloat *screen = zpt_cfloats(K, "screen");
      random_cvec(r, screen, K);
      for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
        size_t n = ns[b];
        zpt_cfloat *x = zpt_cfloats(n * K, "x");
        double complex *e = malloc(n * K * sizeof *e);
        random_cvec(r, x, n * K);
        for (size_t i = 0; i < n * K; i++)
          e[i] = x[i];
        for (size_t s = 0; s < n; s++) {
          double complex *es = e + s * K;
          for (size_t q = 0; q < t->n_mzi; q++) {
            const float *c = coef[q];
            size_t m = t->top[q];
            double complex x0 = es[m], x1 = es[m + 1];
            es[m] = (c[0] + I * c[1]) * x0 + (c[2] + I * c[3]) * x1;
            es[m + 1] = (c[4] + I * c[5]) * x0 + (c[6] + I * c[7]) * x1;
          }
          for (size_t k = 0; k < K; k++)
            es[k] *= (double complex)screen[k];
        }
        zpt_buffer work = {0};
        ck_assert_int_eq(zpt_mesh_apply_rotations(t, coef, screen, x, n, &work), ZPT_OK);
        zpt_buffer_release(&work);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < n * K; i++)
          scale = fmax(scale, cabs(e[i]));
        for (size_t i = 0; i < n * K; i++)
          worst = fmax(worst, cabs((double complex)x[i] - e[i]) / fmax(1.0, scale));
        ck_assert_msg(worst <= 1e-5, "%s K=%zu cols=%zu n=%zu: worst %.3g (scale %.3g)",
                      zpt_mesh_kind_name(t->kind), K, t->n_cols, n, worst, scale);
        zpt_free(x);
        free(e);
      }
      zpt_free(screen);
      zpt_free(coef);
      zpt_mesh_topology_free(t);
    }
  zpt_rng_free(r);
}
END_TEST

static double power(const zpt_cfloat *x, size_t n) {
  double s = 0;
  for (size_t k = 0; k < n; k++)
    s += crealf(x[k]) * crealf(x[k]) + cimagf(x[k]) * cimagf(x[k]);
  return s;
}

START_TEST(test_insertion_loss) {
  gsl_rng *r = test_rng(4);
  const double db = 0.5, f = pow(10, -db / 10); /* power factor per MZI */
  zpt_chip_config cfg = zpt_chip_config_ideal();
  cfg.loss_db = db;
  /* one column on even K: every channel crosses exactly one MZI */
  for (size_t K = 2; K <= 16; K += 2) {
    zpt_chip chip;
    zpt_chip_init(&chip, &cfg);
    zpt_params *p = zpt_params_alloc();
    zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, K, 1, 1, ZPT_ROUTE_AUTO, &chip);
    float *prm = layer_params(p, l);
    random_phases(r, prm, l->n_params);
    zpt_cfloat x[16], y[16];
    random_cvec(r, x, K);
    ck_assert_int_eq(fwd(l, prm, x, y, 1, NULL), ZPT_OK);
    double ratio = power(y, K) / power(x, K);
    ck_assert_msg(fabs(ratio / f - 1) < 1e-5, "K=%zu: power ratio %.7g, expected %.7g", K,
                  ratio, f);
    zpt_layer_free(l);
    zpt_params_free(p);
  }
  /* a full even-K Clements mesh: every path crosses between K/2 and K MZIs,
   * and a channel-0 input of a K=4 mesh crosses exactly... bounds suffice */
  size_t K = 12;
  zpt_chip chip;
  zpt_chip_init(&chip, &cfg);
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, K, 0, 1, ZPT_ROUTE_AUTO, &chip);
  float *prm = layer_params(p, l);
  random_phases(r, prm, l->n_params);
  zpt_cfloat U[144];
  ck_assert_int_eq(zpt_mesh_layer_matrix(l, prm, U), ZPT_OK);
  for (int trial = 0; trial < 10; trial++) {
    zpt_cfloat x[12], y[12] = {0};
    random_cvec(r, x, K);
    for (size_t i = 0; i < K; i++)
      for (size_t j = 0; j < K; j++)
        y[i] += U[i * K + j] * x[j];
    double ratio = power(y, K) / power(x, K);
    ck_assert_msg(ratio >= pow(f, (double)K) * (1 - 1e-5) && ratio <= pow(f, K / 2.0) * (1 + 1e-5),
                  "full mesh power ratio %.6g outside [f^K, f^(K/2)] = [%.6g, %.6g]", ratio,
                  pow(f, (double)K), pow(f, K / 2.0));
  }
  zpt_layer_free(l);
  zpt_params_free(p);
  zpt_rng_free(r);
}
END_TEST

/* Splitting errors keep the mesh unitary; first order, each BS error gamma
 * moves U by |dB/dgamma|_F |gamma| = |gamma|/sqrt2, incoherently summed over
 * the 2 n_mzi splitters: E |U - U0|_F^2 ~ n_mzi sigma^2. */
START_TEST(test_splitting_errors) {
  gsl_rng *r = test_rng(5);
  const size_t K = 16;
  double dev[3];
  double strengths[3] = {1, 2, 4};
  for (int s = 0; s < 3; s++) {
    zpt_chip_config cfg = zpt_chip_config_aaai(99, strengths[s]);
    cfg.sigma_radius = 0;
    cfg.sigma_angle = 0;
    zpt_chip chip;
    zpt_chip_init(&chip, &cfg);
    zpt_params *p = zpt_params_alloc();
    zpt_layer *ideal = mesh_layer(p, "ideal", ZPT_MESH_CLEMENTS, K, 0, 1, ZPT_ROUTE_AUTO, NULL);
    zpt_layer *err = mesh_layer(p, "err", ZPT_MESH_CLEMENTS, K, 0, 1, ZPT_ROUTE_AUTO, &chip);
    gsl_rng *ph = test_rng(50); /* same phases at every strength */
    random_phases(ph, layer_params(p, ideal), ideal->n_params);
    zpt_rng_free(ph);
    memcpy(layer_params(p, err), layer_params(p, ideal), ideal->n_params * sizeof(float));
    zpt_cfloat U0[256], U1[256];
    ck_assert_int_eq(zpt_mesh_layer_matrix(ideal, layer_params(p, ideal), U0), ZPT_OK);
    ck_assert_int_eq(zpt_mesh_layer_matrix(err, layer_params(p, err), U1), ZPT_OK);
    double e = unitarity_error(U1, K);
    ck_assert_msg(e <= 1e-5, "strength %g: splitting errors broke unitarity (%.3g)",
                  strengths[s], e);
    double d = 0;
    for (size_t i = 0; i < K * K; i++)
      d += pow(cabs(U1[i] - U0[i]), 2);
    dev[s] = sqrt(d);
    double expected = 1e-2 * strengths[s] * sqrt((double)zpt_mesh_layer_topology(err)->n_mzi);
    ck_assert_msg(dev[s] > 0.5 * expected && dev[s] < 2 * expected,
                  "strength %g: |U - U0|_F = %.4g, expected about %.4g", strengths[s], dev[s],
                  expected);
    zpt_layer_free(ideal);
    zpt_layer_free(err);
    zpt_params_free(p);
  }
  /* same chip seed, so the deviation is linear in the strength */
  ck_assert_msg(fabs(dev[1] / dev[0] - 2) < 0.1 && fabs(dev[2] / dev[0] - 4) < 0.3,
                "deviation not linear in strength: %.4g %.4g %.4g", dev[0], dev[1], dev[2]);
  /* attenuation-phase errors: passive, so no output gains power */
  zpt_chip_config cfg = zpt_chip_config_aaai(3, 1.0);
  zpt_chip chip;
  zpt_chip_init(&chip, &cfg);
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, K, 0, 1, ZPT_ROUTE_AUTO, &chip);
  random_phases(r, layer_params(p, l), l->n_params);
  zpt_cfloat x[16 * 20], y[16 * 20];
  random_cvec(r, x, 16 * 20);
  ck_assert_int_eq(fwd(l, layer_params(p, l), x, y, 20, NULL), ZPT_OK);
  for (int s = 0; s < 20; s++) {
    double ratio = power(y + 16 * s, K) / power(x + 16 * s, K);
    ck_assert_msg(ratio <= 1 + 1e-5 && ratio > 0.95, "lossy mesh power ratio %.6g", ratio);
  }
  zpt_layer_free(l);
  zpt_params_free(p);
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_decomposition_round_trip) {
  gsl_rng *r = test_rng(6);
  size_t Ks[] = {2, 3, 4, 5, 8, 9, 16, 17, 24, 32};
  for (int kind = ZPT_MESH_CLEMENTS; kind <= ZPT_MESH_RECK; kind++)
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
      for (int trial = 0; trial < 2; trial++) {
        size_t K = Ks[a];
        double complex *U = malloc(K * K * sizeof *U), *R = malloc(K * K * sizeof *R);
        haar_unitary(r, K, U);
        zpt_params *p = zpt_params_alloc();
        zpt_layer *l = mesh_layer(p, "m", (zpt_mesh_kind)kind, K, 0, 1, ZPT_ROUTE_AUTO, NULL);
        const zpt_mesh_topology *t = zpt_mesh_layer_topology(l);
        double *ph = malloc((2 * t->n_mzi + 1) * sizeof *ph), *sc = malloc(K * sizeof *sc);
        int rc = zpt_mesh_decompose(t, U, ph, sc);
        ck_assert_msg(rc == ZPT_OK, "%s K=%zu: %s", zpt_mesh_kind_name(kind), K,
                      zpt_error_message());
        float *prm = layer_params(p, l);
        for (size_t k = 0; k < 2 * t->n_mzi; k++)
          prm[k] = (float)ph[k];
        for (size_t k = 0; k < K; k++)
          prm[2 * t->n_mzi + k] = (float)sc[k];
        /* the float mesh layer reproduces U */
        zpt_cfloat *V = zpt_cfloats(K * K, "V");
        ck_assert_int_eq(zpt_mesh_layer_matrix(l, prm, V), ZPT_OK);
        double worst = 0;
        for (size_t i = 0; i < K * K; i++)
          worst = fmax(worst, cabs(V[i] - U[i]));
        ck_assert_msg(worst <= 1e-5, "%s K=%zu: mesh(decompose(U)) - U = %.3g",
                      zpt_mesh_kind_name(kind), K, worst);
        zpt_free(V);
        /* and, with the double phases, the double reference product */
        worst = 0;
        {
          /* exact reference in double straight from the double phases */
          const size_t KK = K;
          for (size_t i = 0; i < KK * KK; i++)
            R[i] = i % (KK + 1) == 0;
          for (size_t q = 0; q < t->n_mzi; q++) {
            double complex M[4];
            ref_mzi(ph[2 * q], ph[2 * q + 1], M);
            size_t m = t->top[q];
            for (size_t j = 0; j < KK; j++) {
              double complex x0 = R[m * KK + j], x1 = R[(m + 1) * KK + j];
              R[m * KK + j] = M[0] * x0 + M[1] * x1;
              R[(m + 1) * KK + j] = M[2] * x0 + M[3] * x1;
            }
          }
          for (size_t i = 0; i < KK; i++)
            for (size_t j = 0; j < KK; j++)
              worst = fmax(worst, cabs(cexp(I * sc[i]) * R[i * KK + j] - U[i * KK + j]));
        }
        ck_assert_msg(worst <= 1e-10, "%s K=%zu: double round trip %.3g",
                      zpt_mesh_kind_name(kind), K, worst);
        free(ph);
        free(sc);
        free(U);
        free(R);
        zpt_layer_free(l);
        zpt_params_free(p);
      }
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_decomposition_errors) {
  zpt_mesh_topology *t = NULL, *tr = NULL;
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 4, 0, &t), ZPT_OK);
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 4, 3, &tr), ZPT_OK);
  double complex U[16] = {0};
  double ph[12], sc[4];
  for (int i = 0; i < 4; i++)
    U[5 * i] = 1;
  ck_assert_int_eq(zpt_mesh_decompose(t, U, ph, sc), ZPT_OK);
  ck_assert_int_eq(zpt_mesh_decompose(tr, U, ph, sc), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "not universal"));
  U[1] = 0.5; /* no longer unitary */
  ck_assert_int_eq(zpt_mesh_decompose(t, U, ph, sc), ZPT_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "not unitary"));
  ck_assert_int_eq(zpt_mesh_decompose(NULL, U, ph, sc), ZPT_EINVAL);
  zpt_mesh_topology_free(t);
  zpt_mesh_topology_free(tr);
}
END_TEST

START_TEST(test_modrelu_closed_form) {
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l = NULL;
  ck_assert_int_eq(zpt_modrelu_layer_alloc(p, "act", 4, &l), ZPT_OK);
  ck_assert_uint_eq(l->n_params, 4);
  float *b = layer_params(p, l);
  b[0] = 0.5f;
  b[1] = -0.3f;
  b[2] = -2.0f;
  b[3] = 0.0f;
  zpt_cfloat x[8] = {3 + 4 * I, 0.1f - 0.2f * I, 1 + 1 * I, -2 + 0.5f * I,
                     0, 0.3f * I, 1.99f, -7};
  zpt_cfloat y[8];
  ck_assert_int_eq(fwd(l, b, x, y, 2, NULL), ZPT_OK);
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < 4; k++) {
      double complex z = x[4 * s + k];
      double a = cabs(z), d = a + 1e-3;
      /* z (|z| + 1e-3 + b) / (|z| + 1e-3) when that factor is >= 0 */
      double complex want = (d + b[k]) >= 0 ? z * (d + b[k]) / d : 0;
      ck_assert_msg(cabs(y[4 * s + k] - want) < 1e-5 * fmax(1, cabs(want)),
                    "modReLU sample %d channel %d: %g%+gi vs %g%+gi", s, k,
                    crealf(y[4 * s + k]), cimagf(y[4 * s + k]), creal(want), cimag(want));
    }
  /* bias -2 zeroes |z| = sqrt2 and keeps 1.99 - 2 + 1e-3 < 0 at zero */
  ck_assert(y[2] == 0);
  ck_assert(y[6] == 0);
  zpt_layer_free(l);
  zpt_params_free(p);
}
END_TEST

START_TEST(test_detect_and_noise) {
  zpt_layer *l = NULL;
  /* channels 3..5 of K = 8, two groups per sample */
  ck_assert_int_eq(zpt_detect_layer_alloc(NULL, "det", 8, 3, 3, 2, NULL, &l), ZPT_OK);
  ck_assert_uint_eq(l->in_size, 32);
  ck_assert_uint_eq(l->out_size, 6);
  ck_assert_int_eq(l->stochastic, 0);
  gsl_rng *r = test_rng(7);
  zpt_cfloat x[3 * 16];
  random_cvec(r, x, 3 * 16);
  float y[18];
  ck_assert_int_eq(fwd(l, NULL, x, y, 3, NULL), ZPT_OK);
  for (int s = 0; s < 3; s++)
    for (int g = 0; g < 2; g++)
      for (int c = 0; c < 3; c++) {
        zpt_cfloat z = x[16 * s + 8 * g + 3 + c];
        double want = crealf(z) * crealf(z) + cimagf(z) * cimagf(z);
        ck_assert(fabs(y[6 * s + 3 * g + c] - want) <= 1e-6 * want);
      }
  zpt_layer_free(l);

  /* read-out noise: stochastic, deterministic per stream, absent with NULL */
  zpt_chip_config cfg = zpt_chip_config_ideal();
  cfg.noise_thermal = 0.05;
  cfg.noise_shot = 0.01;
  zpt_chip chip;
  zpt_chip_init(&chip, &cfg);
  ck_assert_int_eq(zpt_detect_layer_alloc(NULL, "det", 2, 0, 2, 1, &chip, &l), ZPT_OK);
  ck_assert_int_eq(l->stochastic, 1);
  const size_t n = 20000;
  zpt_cfloat *in = zpt_cfloats(2 * n, "in");
  for (size_t s = 0; s < n; s++) {
    in[2 * s] = 1.0f;              /* power 1 */
    in[2 * s + 1] = 2.0f + 0 * I;  /* power 4 */
  }
  float *a = zpt_floats(2 * n, "a"), *b = zpt_floats(2 * n, "b"), *c = zpt_floats(2 * n, "c");
  gsl_rng *n1 = zpt_rng_alloc(11, ZPT_STREAM_NOISE, 5, 0), *n2 = zpt_rng_alloc(11, ZPT_STREAM_NOISE, 5, 0);
  gsl_rng *n3 = zpt_rng_alloc(11, ZPT_STREAM_NOISE, 6, 0);
  ck_assert_int_eq(fwd(l, NULL, in, a, n, n1), ZPT_OK);
  ck_assert_int_eq(fwd(l, NULL, in, b, n, n2), ZPT_OK);
  ck_assert_int_eq(memcmp(a, b, 2 * n * sizeof(float)), 0);
  ck_assert_int_eq(fwd(l, NULL, in, b, n, n3), ZPT_OK);
  ck_assert_int_ne(memcmp(a, b, 2 * n * sizeof(float)), 0);
  ck_assert_int_eq(fwd(l, NULL, in, c, n, NULL), ZPT_OK);
  for (size_t s = 0; s < n; s++)
    ck_assert(c[2 * s] == 1.0f && c[2 * s + 1] == 4.0f);
  /* variance sigma_th^2 + shot * P, mean P */
  for (int ch = 0; ch < 2; ch++) {
    double P = ch ? 4 : 1, m = 0, v = 0;
    for (size_t s = 0; s < n; s++)
      m += a[2 * s + ch];
    m /= n;
    for (size_t s = 0; s < n; s++)
      v += pow(a[2 * s + ch] - m, 2);
    v /= n - 1;
    double want = 0.05 * 0.05 + 0.01 * P;
    ck_assert_msg(fabs(m - P) < 5 * sqrt(want / n), "noise mean %.5g vs %.5g", m, P);
    ck_assert_msg(fabs(v / want - 1) < 0.05, "noise variance %.5g vs %.5g", v, want);
  }
  zpt_rng_free(n1);
  zpt_rng_free(n2);
  zpt_rng_free(n3);
  zpt_free(in);
  zpt_free(a);
  zpt_free(b);
  zpt_free(c);
  zpt_layer_free(l);
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_complex_input_map) {
  gsl_rng *r = test_rng(8);
  for (int cin = 0; cin <= 1; cin++) {
    const size_t D = 5, O = 3, n = 4;
    zpt_params *p = zpt_params_alloc();
    zpt_layer *l = NULL;
    ck_assert_int_eq(zpt_cmap_layer_alloc(p, "in", D, O, cin, &l), ZPT_OK);
    ck_assert_uint_eq(l->n_params, 2 * D * O);
    ck_assert_uint_eq(l->in_size, (cin ? 2 : 1) * D);
    ck_assert_ptr_nonnull(zpt_params_find(p, "in.re"));
    ck_assert_ptr_nonnull(zpt_params_find(p, "in.im"));
    float *w = layer_params(p, l);
    l->ops->init(l, w, r);
    float in[2 * 5 * 4];
    zpt_rng_gaussians(r, in, 2 * D * n, 1.0);
    zpt_cfloat y[12];
    ck_assert_int_eq(fwd(l, w, in, y, n, NULL), ZPT_OK);
    for (size_t s = 0; s < n; s++)
      for (size_t j = 0; j < O; j++) {
        double complex e = 0;
        for (size_t k = 0; k < D; k++) {
          double complex wk = w[j * D + k] + I * w[D * O + j * D + k];
          double complex xk = cin ? in[2 * (s * D + k)] + I * in[2 * (s * D + k) + 1]
                                  : in[s * D + k];
          e += wk * xk;
        }
        ck_assert_msg(cabs(y[s * O + j] - e) < 1e-5 * fmax(1, cabs(e)), "cmap cin=%d", cin);
      }
    zpt_layer_free(l);
    zpt_params_free(p);
  }
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_dft_encoder) {
  gsl_rng *r = test_rng(9);
  /* the authors' centred order */
  size_t want6[6] = {6, 4, 2, 1, 3, 5}, want5[5] = {4, 2, 1, 3, 5};
  for (size_t c = 0; c < 6; c++)
    ck_assert_uint_eq(zpt_dft_channel_bin(6, 1, c), want6[c]);
  for (size_t c = 0; c < 5; c++)
    ck_assert_uint_eq(zpt_dft_channel_bin(5, 1, c), want5[c]);
  size_t Ps[] = {64, 784, 17, 20};
  size_t Kmax[] = {32, 64, 8, 10};
  for (size_t a = 0; a < 4; a++)
    for (int centred = 0; centred <= 1; centred++) {
      size_t P = Ps[a], K = Kmax[a];
      zpt_layer *l = NULL;
      ck_assert_int_eq(zpt_dft_layer_alloc(NULL, "dft", P, K, centred, &l), ZPT_OK);
      ck_assert_uint_eq(l->n_params, 0);
      const size_t n = 3;
      float *x = zpt_floats(n * P, "x");
      zpt_rng_gaussians(r, x, n * P, 1.0);
      zpt_cfloat *y = zpt_cfloats(n * K, "y");
      ck_assert_int_eq(fwd(l, NULL, x, y, n, NULL), ZPT_OK);
      for (size_t s = 0; s < n; s++)
        for (size_t c = 0; c < K; c++) {
          size_t bin = zpt_dft_channel_bin(K, centred, c);
          double complex e = 0;
          for (size_t j = 0; j < P; j++)
            e += x[s * P + j] * cexp(-I * TWO_PI * (double)(bin * j % P) / P);
          e /= sqrt((double)P);
          ck_assert_msg(cabs(y[s * K + c] - e) < 1e-5 * fmax(1, cabs(e)),
                        "P=%zu bin %zu: %g%+gi vs %g%+gi", P, bin, crealf(y[s * K + c]),
                        cimagf(y[s * K + c]), creal(e), cimag(e));
        }
      zpt_free(x);
      zpt_free(y);
      zpt_layer_free(l);
    }
  zpt_rng_free(r);
}
END_TEST

/* h1 = modReLU(W x1), h2 = modReLU(D M h1 + W x2), by hand for K = 2. */
START_TEST(test_rnn_two_steps) {
  zpt_params *p = zpt_params_alloc();
  zpt_rnn_spec spec = {2, 1, 2, 0, ZPT_MESH_CLEMENTS, 0, 1};
  zpt_layer *l = NULL;
  ck_assert_int_eq(zpt_rnn_layer_alloc(p, "rnn", &spec, NULL, &l), ZPT_OK);
  /* phase(2) screen(2) in.re(2) in.im(2) bias(2) */
  ck_assert_uint_eq(l->n_params, 10);
  ck_assert_uint_eq(l->in_size, 2);
  ck_assert_uint_eq(l->out_size, 8);
  float *w = layer_params(p, l);
  const float prm[10] = {1.1f, 0.4f, 0.3f, -0.7f, 0.8f, -0.5f, 0.2f, 0.6f, -0.1f, 0.05f};
  memcpy(w, prm, sizeof prm);
  const float x[2] = {1.5f, -0.75f}; /* one sample, T = 2, in_dim 1 */
  zpt_cfloat y[4];
  ck_assert_int_eq(fwd(l, w, x, y, 1, NULL), ZPT_OK);
  double complex M[4], Wc[2] = {0.8 + 0.2 * I, -0.5 + 0.6 * I}, h1[2], h2[2], a[2];
  double bias[2] = {-0.1, 0.05};
  ref_mzi(1.1f, 0.4f, M);
  double complex d0 = cexp(I * (double)0.3f), d1 = cexp(I * (double)-0.7f);
  for (int k = 0; k < 2; k++) {
    a[k] = Wc[k] * 1.5;
    double m = cabs(a[k]) + 1e-3;
    h1[k] = (m + bias[k]) >= 0 ? a[k] * (m + bias[k]) / m : 0;
  }
  a[0] = d0 * (M[0] * h1[0] + M[1] * h1[1]) + Wc[0] * -0.75;
  a[1] = d1 * (M[2] * h1[0] + M[3] * h1[1]) + Wc[1] * -0.75;
  for (int k = 0; k < 2; k++) {
    double m = cabs(a[k]) + 1e-3;
    h2[k] = (m + bias[k]) >= 0 ? a[k] * (m + bias[k]) / m : 0;
  }
  double complex want[4] = {h1[0], h1[1], h2[0], h2[1]};
  for (int k = 0; k < 4; k++)
    ck_assert_msg(cabs(y[k] - want[k]) < 1e-5, "rnn output %d: %g%+gi vs %g%+gi", k,
                  crealf(y[k]), cimagf(y[k]), creal(want[k]), cimag(want[k]));
  zpt_layer_free(l);
  zpt_params_free(p);
}
END_TEST

/* A longer sequence, batch and complex inputs against a plain loop using the
 * layer's own U. */
START_TEST(test_rnn_sequence) {
  gsl_rng *r = test_rng(10);
  for (int cin = 0; cin <= 1; cin++) {
    const size_t K = 6, D = 3, T = 7, n = 5, din = cin ? 2 * D : D;
    zpt_params *p = zpt_params_alloc();
    zpt_rnn_spec spec = {K, D, T, cin, ZPT_MESH_CLEMENTS, 0, 0};
    zpt_chip_config cfg = zpt_chip_config_aaai(5, 1.0);
    zpt_chip chip;
    zpt_chip_init(&chip, &cfg);
    zpt_layer *l = NULL;
    ck_assert_int_eq(zpt_rnn_layer_alloc(p, "rnn", &spec, &chip, &l), ZPT_OK);
    ck_assert_uint_eq(l->n_params, K * (K - 1) + 2 * K * D + K);
    float *w = layer_params(p, l);
    l->ops->init(l, w, r);
    for (size_t k = 0; k < K; k++) /* non-zero biases, some negative */
      w[l->n_params - K + k] = (float)(0.4 * gsl_rng_uniform(r) - 0.3);
    float *x = zpt_floats(n * T * din, "x");
    zpt_rng_gaussians(r, x, n * T * din, 1.0);
    zpt_cfloat *y = zpt_cfloats(n * T * K, "y"), U[36];
    ck_assert_int_eq(fwd(l, w, x, y, n, NULL), ZPT_OK);
    ck_assert_int_eq(zpt_rnn_layer_matrix(l, w, U), ZPT_OK);
    const float *re = w + K * (K - 1), *im = re + K * D, *bias = im + K * D;
    double worst = 0;
    for (size_t s = 0; s < n; s++) {
      double complex h[6] = {0}, a[6];
      for (size_t t = 0; t < T; t++) {
        for (size_t i = 0; i < K; i++) {
          a[i] = 0;
          for (size_t j = 0; j < K; j++)
            a[i] += (double complex)U[i * K + j] * h[j];
          for (size_t k = 0; k < D; k++) {
            const float *xs = x + (s * T + t) * din;
            double complex xk = cin ? xs[2 * k] + I * xs[2 * k + 1] : xs[k];
            a[i] += (re[i * D + k] + I * im[i * D + k]) * xk;
          }
        }
        for (size_t i = 0; i < K; i++) {
          double m = cabs(a[i]) + 1e-3;
          h[i] = (m + bias[i]) >= 0 ? a[i] * (m + bias[i]) / m : 0;
          worst = fmax(worst, cabs(y[(s * T + t) * K + i] - h[i]) / fmax(1, cabs(h[i])));
        }
      }
    }
    ck_assert_msg(worst < 1e-4, "rnn sequence cin=%d: worst %.3g", cin, worst);
    zpt_free(x);
    zpt_free(y);
    zpt_layer_free(l);
    zpt_params_free(p);
  }
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_quantisation_and_crosstalk) {
  const double q = M_PI / 2; /* 2 bits */
  ck_assert(fabs(zpt_chip_quantise(0.8, 2) - q) < 1e-15);      /* 0.51 steps -> 1 */
  ck_assert(fabs(zpt_chip_quantise(0.7, 2) - 0) < 1e-15);      /* 0.45 steps -> 0 */
  ck_assert(fabs(zpt_chip_quantise(-0.1, 2) - 0) < 1e-15);     /* 2pi - 0.1 -> 4 -> 0 */
  ck_assert(fabs(zpt_chip_quantise(-1.6, 2) - 3 * q) < 1e-15); /* 4.68 -> 2.98 -> 3 */
  ck_assert(fabs(zpt_chip_quantise(7.0, 3) - 0.25 * M_PI) < 1e-15); /* 0.717 -> 0.91 -> 1 */
  zpt_chip_config c = zpt_chip_config_ideal();
  c.crosstalk = 0.1;
  float set[3] = {1, 2, 3};
  double eff[3];
  zpt_chip_heater_line(&c, set, 1, 3, eff);
  ck_assert(fabs(eff[0] - 1.2) < 1e-7 && fabs(eff[1] - 2.4) < 1e-7 && fabs(eff[2] - 3.2) < 1e-7);
  c.phase_bits = 2; /* drives 1 -> pi/2, 2 -> pi/2, 3 -> pi */
  zpt_chip_heater_line(&c, set, 1, 3, eff);
  ck_assert(fabs(eff[0] - (q + 0.1 * q)) < 1e-12);
  ck_assert(fabs(eff[1] - (q + 0.1 * (q + 2 * q))) < 1e-12);
  ck_assert(fabs(eff[2] - (2 * q + 0.1 * q)) < 1e-12);

  /* in a mesh: K = 4, one column = MZIs on (0,1) and (2,3), neighbours;
   * the chip mesh equals the ideal mesh driven with the effective phases */
  zpt_chip_config cfg = zpt_chip_config_ideal();
  cfg.phase_bits = 3;
  cfg.crosstalk = 0.2;
  zpt_chip chip;
  zpt_chip_init(&chip, &cfg);
  zpt_params *p = zpt_params_alloc();
  zpt_layer *hw = mesh_layer(p, "hw", ZPT_MESH_CLEMENTS, 4, 1, 1, ZPT_ROUTE_AUTO, &chip);
  zpt_layer *id = mesh_layer(p, "id", ZPT_MESH_CLEMENTS, 4, 1, 1, ZPT_ROUTE_AUTO, NULL);
  float *ph = layer_params(p, hw), *pi = layer_params(p, id);
  /* (theta0, phi0, theta1, phi1, s0..s3) */
  const float set8[8] = {1.0f, 2.0f, 4.0f, -1.0f, 0.3f, 0.9f, 7.0f, 3.3f};
  memcpy(ph, set8, sizeof set8);
  const double st = M_PI / 4; /* 3 bits */
  double dq[8];
  for (int k = 0; k < 8; k++)
    dq[k] = st * nearbyint(fmod(fmod(set8[k], TWO_PI) + TWO_PI, TWO_PI) / st);
  for (int k = 0; k < 8; k++)
    if (dq[k] >= TWO_PI - 1e-12)
      dq[k] = 0;
  /* hand: thetas (0, 2) neighbours, phis (1, 3) neighbours, screen a line */
  pi[0] = (float)(dq[0] + 0.2 * dq[2]);
  pi[2] = (float)(dq[2] + 0.2 * dq[0]);
  pi[1] = (float)(dq[1] + 0.2 * dq[3]);
  pi[3] = (float)(dq[3] + 0.2 * dq[1]);
  pi[4] = (float)(dq[4] + 0.2 * dq[5]);
  pi[5] = (float)(dq[5] + 0.2 * (dq[4] + dq[6]));
  pi[6] = (float)(dq[6] + 0.2 * (dq[5] + dq[7]));
  pi[7] = (float)(dq[7] + 0.2 * dq[6]);
  zpt_cfloat A[16], B[16];
  ck_assert_int_eq(zpt_mesh_layer_matrix(hw, ph, A), ZPT_OK);
  ck_assert_int_eq(zpt_mesh_layer_matrix(id, pi, B), ZPT_OK);
  for (int k = 0; k < 16; k++)
    ck_assert_msg(cabsf(A[k] - B[k]) < 1e-6, "quantised+crosstalk mesh entry %d", k);
  zpt_layer_free(hw);
  zpt_layer_free(id);
  zpt_params_free(p);
}
END_TEST

/* With every error off the chip is the ideal model, bit for bit; a chip's
 * errors depend only on its seed. */
START_TEST(test_chip_ideal_exact_and_seeded) {
  gsl_rng *r = test_rng(12);
  const size_t K = 16, n = 37;
  zpt_chip_config off = zpt_chip_config_aaai(1234, 0.0); /* strength 0 */
  zpt_chip_config on1 = zpt_chip_config_aaai(1234, 1.0), on2 = on1, other = on1;
  other.seed = 4321;
  zpt_chip_config *cfgs[4] = {&off, &on1, &on2, &other};
  zpt_cfloat *x = zpt_cfloats(n * K, "x"), *y[5];
  random_cvec(r, x, n * K);
  float phases[16 * 15 + 16];
  random_phases(r, phases, 16 * 15 + 16);
  for (int route = 1; route <= 2; route++) {
    for (int v = 0; v < 5; v++) {
      zpt_chip chip;
      if (v < 4)
        zpt_chip_init(&chip, cfgs[v]);
      zpt_params *p = zpt_params_alloc();
      zpt_layer *l = mesh_layer(p, "m", ZPT_MESH_CLEMENTS, K, 0, 1, (zpt_mesh_route)route,
                                v < 4 ? &chip : NULL);
      memcpy(layer_params(p, l), phases, sizeof phases);
      y[v] = zpt_cfloats(n * K, "y");
      ck_assert_int_eq(fwd(l, layer_params(p, l), x, y[v], n, NULL), ZPT_OK);
      zpt_layer_free(l);
      zpt_params_free(p);
    }
    size_t bytes = n * K * sizeof(zpt_cfloat);
    ck_assert_msg(memcmp(y[0], y[4], bytes) == 0, "all-off chip differs from ideal");
    ck_assert_msg(memcmp(y[1], y[2], bytes) == 0, "same seed, different chip");
    ck_assert_msg(memcmp(y[1], y[4], bytes) != 0, "errors on, output unchanged");
    ck_assert_msg(memcmp(y[1], y[3], bytes) != 0, "different seeds, same chip");
    for (int v = 0; v < 5; v++)
      zpt_free(y[v]);
  }
  zpt_free(x);
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_bad_arguments) {
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l = (zpt_layer *)&l; /* must be reset to NULL on failure */
  zpt_mesh_spec spec = {ZPT_MESH_CLEMENTS, 1, 0, 1, ZPT_ROUTE_AUTO};
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", &spec, NULL, &l), ZPT_EINVAL);
  ck_assert_ptr_null(l);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "K = 1"));
  spec.K = 8;
  spec.n_cols = 9;
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", &spec, NULL, &l), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "L = 9"));
  spec.kind = ZPT_MESH_RECK;
  spec.n_cols = 4;
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", &spec, NULL, &l), ZPT_EINVAL);
  spec.kind = 7;
  spec.n_cols = 0;
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", &spec, NULL, &l), ZPT_EINVAL);
  spec.kind = ZPT_MESH_CLEMENTS;
  ck_assert_int_eq(zpt_mesh_layer_alloc(NULL, "m", &spec, NULL, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, NULL, &spec, NULL, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", NULL, NULL, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "m", &spec, NULL, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_layer_alloc(p, "a_name_far_too_long_for_a_layer_struct", &spec,
                                        NULL, &l), ZPT_EINVAL);
  ck_assert_uint_eq(p->n_params, 0); /* nothing registered by failures */
  /* subset larger than K */
  ck_assert_int_eq(zpt_detect_layer_alloc(NULL, "d", 8, 0, 9, 1, NULL, &l), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "K = 8"));
  ck_assert_int_eq(zpt_detect_layer_alloc(NULL, "d", 8, 5, 4, 1, NULL, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_detect_layer_alloc(NULL, "d", 8, 0, 0, 1, NULL, &l), ZPT_EINVAL);
  /* chip settings out of range */
  zpt_chip chip;
  zpt_chip_config c = zpt_chip_config_ideal();
  c.phase_bits = 33;
  ck_assert_int_eq(zpt_chip_init(&chip, &c), ZPT_ERANGE);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "phase_bits = 33"));
  c.phase_bits = -1;
  ck_assert_int_eq(zpt_chip_init(&chip, &c), ZPT_ERANGE);
  c = zpt_chip_config_ideal();
  c.crosstalk = 1.5;
  ck_assert_int_eq(zpt_chip_init(&chip, &c), ZPT_ERANGE);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "crosstalk"));
  c = zpt_chip_config_ideal();
  c.loss_db = -1;
  ck_assert_int_eq(zpt_chip_init(&chip, &c), ZPT_ERANGE);
  c = zpt_chip_config_ideal();
  c.strength = NAN;
  ck_assert_int_eq(zpt_chip_init(&chip, &c), ZPT_ERANGE);
  ck_assert_int_eq(zpt_chip_init(&chip, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_chip_init(NULL, &c), ZPT_EINVAL);
  /* other layers */
  ck_assert_int_eq(zpt_dft_layer_alloc(NULL, "dft", 64, 33, 0, &l), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "P = 64"));
  ck_assert_int_eq(zpt_dft_layer_alloc(NULL, "dft", 64, 0, 0, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_modrelu_layer_alloc(p, "a", 0, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_modrelu_layer_alloc(NULL, "a", 4, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_cmap_layer_alloc(p, "c", 0, 4, 0, &l), ZPT_EINVAL);
  zpt_rnn_spec rs = {1, 10, 5, 0, ZPT_MESH_CLEMENTS, 0, 0};
  ck_assert_int_eq(zpt_rnn_layer_alloc(p, "r", &rs, NULL, &l), ZPT_EINVAL);
  rs.K = 4;
  rs.steps = 0;
  ck_assert_int_eq(zpt_rnn_layer_alloc(p, "r", &rs, NULL, &l), ZPT_EINVAL);
  ck_assert_int_eq(zpt_rnn_layer_alloc(p, "r", NULL, NULL, &l), ZPT_EINVAL);
  ck_assert_uint_eq(p->n_params, 0);
  /* topology and kernels */
  zpt_mesh_topology *t = NULL;
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 0, 0, &t), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 4, 0, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_unitary(NULL, NULL, NULL, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mesh_layer_matrix(NULL, NULL, NULL), ZPT_EINVAL);
  zpt_layer_free(NULL);
  zpt_mesh_topology_free(NULL);
  zpt_mesh_hw_free(NULL);
  zpt_params_free(p);
}
END_TEST

START_TEST(test_flops_and_views) {
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l = mesh_layer(p, "mesh1", ZPT_MESH_CLEMENTS, 8, 4, 1, ZPT_ROUTE_AUTO, NULL);
  /* 4 columns of K = 8: 4 + 3 + 4 + 3 MZIs */
  ck_assert_uint_eq(zpt_mesh_layer_topology(l)->n_mzi, 14);
  ck_assert_uint_eq(l->n_params, 28 + 8);
  const zpt_view *v = zpt_params_find(p, "mesh1.phase");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->shape[0], 14);
  ck_assert_uint_eq(v->shape[1], 2);
  ck_assert_ptr_nonnull(zpt_params_find(p, "mesh1.screen"));
  ck_assert(l->ops->flops(l) == 28.0 * 14 + 6.0 * 8);
  ck_assert_str_eq(l->ops->kind, "mzi_mesh");
  /* an empty batch is a no-op on both routes */
  zpt_cfloat none[1] = {0};
  zpt_fwd_ctx ctx0 = {NULL, NULL};
  ck_assert_int_eq(l->ops->forward(l, layer_params(p, l), (float *)none, (float *)none, 0, &ctx0),
                   ZPT_OK);
  zpt_layer_free(l);
  zpt_params_free(p);
  /* the measured route rule: matrix from n K^2 = 2^21 on for meshes of
   * >= ~7K/8 columns (2^20 and >= 3K/4 columns with chip errors) */
  zpt_mesh_topology *full = NULL, *thin = NULL;
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 64, 0, &full), ZPT_OK);
  ck_assert_int_eq(zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, 64, 32, &thin), ZPT_OK);
  ck_assert_int_eq(zpt_mesh_auto_route(full, 511), ZPT_ROUTE_ROTATIONS);
  ck_assert_int_eq(zpt_mesh_auto_route(full, 512), ZPT_ROUTE_MATRIX);
  ck_assert_int_eq(zpt_mesh_auto_route(thin, 100000), ZPT_ROUTE_ROTATIONS);
  p = zpt_params_alloc();
  zpt_chip chip;
  zpt_chip_config cc = zpt_chip_config_aaai(7, 1.0);
  ck_assert_int_eq(zpt_chip_init(&chip, &cc), ZPT_OK);
  zpt_layer *ideal = mesh_layer(p, "a", ZPT_MESH_CLEMENTS, 64, 0, 1, ZPT_ROUTE_AUTO, NULL);
  zpt_layer *err = mesh_layer(p, "b", ZPT_MESH_CLEMENTS, 64, 0, 1, ZPT_ROUTE_AUTO, &chip);
  zpt_layer *fixed = mesh_layer(p, "c", ZPT_MESH_CLEMENTS, 64, 0, 1, ZPT_ROUTE_ROTATIONS, NULL);
  ck_assert_int_eq(zpt_mesh_layer_route(ideal, 300), ZPT_ROUTE_ROTATIONS);
  ck_assert_int_eq(zpt_mesh_layer_route(err, 300), ZPT_ROUTE_MATRIX);
  zpt_layer *err48 = mesh_layer(p, "d", ZPT_MESH_CLEMENTS, 64, 48, 1, ZPT_ROUTE_AUTO, &chip);
  zpt_layer *ideal48 = mesh_layer(p, "e", ZPT_MESH_CLEMENTS, 64, 48, 1, ZPT_ROUTE_AUTO, NULL);
  ck_assert_int_eq(zpt_mesh_layer_route(err48, 6500), ZPT_ROUTE_MATRIX);
  ck_assert_int_eq(zpt_mesh_layer_route(ideal48, 6500), ZPT_ROUTE_ROTATIONS);
  zpt_layer_free(err48);
  zpt_layer_free(ideal48);
  ck_assert_int_eq(zpt_mesh_layer_route(fixed, 100000), ZPT_ROUTE_ROTATIONS);
  ck_assert_int_eq(zpt_mesh_layer_route(NULL, 1), ZPT_ROUTE_AUTO);
  zpt_layer_free(ideal);
  zpt_layer_free(err);
  zpt_layer_free(fixed);
  zpt_params_free(p);
  zpt_mesh_topology_free(full);
  zpt_mesh_topology_free(thin);
}
END_TEST

/* --------------------------------------------------- builders and models */

START_TEST(test_builder_parameter_counts) {
  struct {
    size_t K, L, want;
  } cls[] = {{16, 0, 768}, {32, 0, 3072}, {64, 0, 12288}, {16, 8, 408}};
  for (size_t a = 0; a < 4; a++) {
    zpt_model *m = NULL;
    int rc = zpt_mzi_classifier_alloc(784, cls[a].K, cls[a].L, NULL, &m);
    ck_assert_msg(rc == ZPT_OK, "classifier K=%zu: %s", cls[a].K, zpt_error_message());
    ck_assert_uint_eq(zpt_model_n_params(m), cls[a].want);
    ck_assert_uint_eq(zpt_model_input_size(m), 784);
    ck_assert_uint_eq(zpt_model_output_size(m), 10);
    ck_assert_uint_eq(zpt_model_n_layers(m), 7);
    zpt_model_free(m);
  }
  zpt_model *m = NULL;
  ck_assert_int_eq(zpt_mzi_equalizer_alloc(0, 0, NULL, &m), ZPT_OK);
  ck_assert_uint_eq(zpt_model_n_params(m), 544);
  ck_assert_uint_eq(zpt_model_input_size(m), 21);
  ck_assert_uint_eq(zpt_model_output_size(m), 4);
  zpt_model_free(m);
  ck_assert_int_eq(zpt_mzi_copying_rnn_alloc(30, 0, NULL, &m), ZPT_OK);
  ck_assert_uint_eq(zpt_model_n_params(m), 992 + 640 + 32);
  ck_assert_uint_eq(zpt_model_input_size(m), 300);
  ck_assert_uint_eq(zpt_model_output_size(m), 270);
  zpt_model_free(m);
  ck_assert_int_eq(zpt_mzi_copying_rnn_alloc(30, 1, NULL, &m), ZPT_OK);
  ck_assert_uint_eq(zpt_model_n_params(m), 1696);
  zpt_model_free(m);
  /* bad arguments */
  ck_assert_int_eq(zpt_mzi_classifier_alloc(784, 8, 0, NULL, &m), ZPT_EINVAL);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(zpt_mzi_classifier_alloc(784, 16, 17, NULL, &m), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "L = 17"));
  ck_assert_int_eq(zpt_mzi_classifier_alloc(20, 16, 0, NULL, &m), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mzi_equalizer_alloc(21, 3, NULL, &m), ZPT_EINVAL);
  ck_assert_int_eq(zpt_mzi_copying_rnn_alloc(0, 0, NULL, &m), ZPT_EINVAL);
  zpt_chip_config bad = zpt_chip_config_ideal();
  bad.phase_bits = 40;
  ck_assert_int_eq(zpt_mzi_equalizer_alloc(0, 0, &bad, &m), ZPT_ERANGE);
  ck_assert_int_eq(zpt_mzi_equalizer_alloc(0, 0, NULL, NULL), ZPT_EINVAL);
}
END_TEST

/* Builds theta' of one variation (the reference the batched call must equal). */
static void apply_variation(const float *theta, size_t N, const zpt_variation *v, float *out) {
  memcpy(out, theta, N * sizeof(float));
  for (size_t k = 0; k < v->len; k++)
    out[v->offset + k] += v->scale * v->delta[k];
}

static void check_variations(zpt_model *m, size_t n, uint64_t noise_seed, const char *what) {
  gsl_rng *r = test_rng(20);
  const size_t N = zpt_model_n_params(m), in_size = zpt_model_input_size(m),
               out_size = zpt_model_output_size(m);
  float *theta = zpt_floats(N, "theta"), *tv = zpt_floats(N, "theta'");
  memcpy(theta, zpt_model_params(m)->theta, N * sizeof(float));
  float *delta = zpt_floats(N, "delta");
  zpt_rng_gaussians(r, delta, N, 1.0);
  float *in = zpt_floats(n * in_size, "in");
  zpt_rng_gaussians(r, in, n * in_size, 1.0);
  /* base, the first layer with parameters, one in the middle, the last
   * block, everything */
  zpt_variation vars[5] = {{0, 0, 0, NULL},
                           {0, 5, 1e-2f, delta},
                           {N / 2, 7, -3e-2f, delta + 3},
                           {N - 9, 9, 5e-2f, delta + 11},
                           {0, N, 1e-3f, delta}};
  const size_t V = 5;
  float *out = zpt_floats(V * n * out_size, "out"), *ref = zpt_floats(n * out_size, "ref");
  int rc = zpt_model_forward_variations(m, theta, vars, V, in, n, out, noise_seed, 40);
  ck_assert_msg(rc == ZPT_OK, "%s: %s", what, zpt_error_message());
  for (size_t v = 0; v < V; v++) {
    apply_variation(theta, N, &vars[v], tv);
    gsl_rng *noise = noise_seed ? zpt_rng_alloc(noise_seed, ZPT_STREAM_NOISE, 40 + v, 0) : NULL;
    ck_assert_int_eq(zpt_model_forward(m, tv, in, n, ref, noise), ZPT_OK);
    zpt_rng_free(noise);
    char label[96];
    snprintf(label, sizeof label, "%s: variation %zu vs a separate forward", what, v);
    ZPT_ASSERT_CLOSE(out + v * n * out_size, ref, n * out_size, 1e-5, label);
  }
  zpt_free(theta);
  zpt_free(tv);
  zpt_free(delta);
  zpt_free(in);
  zpt_free(out);
  zpt_free(ref);
  zpt_rng_free(r);
}

START_TEST(test_batched_variations_equal_separate_forwards) {
  zpt_chip_config cfg = zpt_chip_config_aaai(77, 1.0);
  cfg.phase_bits = 10;
  cfg.crosstalk = 0.01;
  cfg.loss_db = 0.1;
  zpt_model *m = NULL;
  ck_assert_int_eq(zpt_mzi_classifier_alloc(64, 16, 0, &cfg, &m), ZPT_OK);
  zpt_model_init(m, 3);
  check_variations(m, 20, 0, "classifier, chip errors");
  /* read-out noise: each variation's own stream */
  zpt_model_free(m);
  cfg.noise_thermal = 1e-3;
  cfg.noise_shot = 1e-3;
  ck_assert_int_eq(zpt_mzi_classifier_alloc(64, 16, 0, &cfg, &m), ZPT_OK);
  zpt_model_init(m, 3);
  check_variations(m, 20, 0, "classifier, noise off");
  check_variations(m, 20, 1234, "classifier, read-out noise");
  zpt_model_free(m);
  ck_assert_int_eq(zpt_mzi_equalizer_alloc(0, 0, &cfg, &m), ZPT_OK);
  zpt_model_init(m, 4);
  check_variations(m, 33, 99, "equalizer");
  zpt_model_free(m);
  ck_assert_int_eq(zpt_mzi_copying_rnn_alloc(12, 0, &cfg, &m), ZPT_OK);
  zpt_model_init(m, 5);
  check_variations(m, 6, 7, "copying RNN");
  zpt_model_free(m);
}
END_TEST

/* The classifier end to end: a chip with every error off computes exactly
 * what the ideal model computes; outputs are powers. */
START_TEST(test_classifier_end_to_end) {
  zpt_model *ideal = NULL, *off = NULL;
  zpt_chip_config cfg = zpt_chip_config_aaai(5, 0.0);
  ck_assert_int_eq(zpt_mzi_classifier_alloc(64, 16, 0, NULL, &ideal), ZPT_OK);
  ck_assert_int_eq(zpt_mzi_classifier_alloc(64, 16, 0, &cfg, &off), ZPT_OK);
  zpt_model_init(ideal, 9);
  zpt_model_init(off, 9);
  gsl_rng *r = test_rng(21);
  const size_t n = 50;
  float in[50 * 64], a[500], b[500];
  for (size_t k = 0; k < n * 64; k++)
    in[k] = (float)gsl_rng_uniform(r);
  ck_assert_int_eq(zpt_model_forward(ideal, zpt_model_params(ideal)->theta, in, n, a, NULL), ZPT_OK);
  ck_assert_int_eq(zpt_model_forward(off, zpt_model_params(off)->theta, in, n, b, NULL), ZPT_OK);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
  for (size_t k = 0; k < n * 10; k++)
    ck_assert(isfinite(a[k]) && a[k] >= 0);
  ck_assert(zpt_model_flops(ideal) > 0);
  zpt_model_free(ideal);
  zpt_model_free(off);
  zpt_rng_free(r);
}
END_TEST

static Suite *mzi_suite(void) {
  Suite *s = suite_create("mzi");
  TCase *tc = tcase_create("mzi");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_mzi_closed_form);
  tcase_add_test(tc, test_mesh_unitary_all_sizes);
  tcase_add_test(tc, test_mesh_routes_match_matrix);
  tcase_add_test(tc, test_rotation_kernel_matches_dense);
  tcase_add_test(tc, test_general_rotations_match_dense);
  tcase_add_test(tc, test_insertion_loss);
  tcase_add_test(tc, test_splitting_errors);
  tcase_add_test(tc, test_decomposition_round_trip);
  tcase_add_test(tc, test_decomposition_errors);
  tcase_add_test(tc, test_modrelu_closed_form);
  tcase_add_test(tc, test_detect_and_noise);
  tcase_add_test(tc, test_complex_input_map);
  tcase_add_test(tc, test_dft_encoder);
  tcase_add_test(tc, test_rnn_two_steps);
  tcase_add_test(tc, test_rnn_sequence);
  tcase_add_test(tc, test_quantisation_and_crosstalk);
  tcase_add_test(tc, test_chip_ideal_exact_and_seeded);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_flops_and_views);
  tcase_add_test(tc, test_builder_parameter_counts);
  tcase_add_test(tc, test_batched_variations_equal_separate_forwards);
  tcase_add_test(tc, test_classifier_end_to_end);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(mzi_suite()); }
