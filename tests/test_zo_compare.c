/* ZO-NP against ZO-I and ZO-co at the same query budget on a small
 * ill-conditioned problem, averaged over 10 seeds (docs/method.md records
 * the numbers this suite prints).
 *
 * Problem: a linear-softmax classifier (16 features, 4 classes, N = 68)
 * on features x = A z, z ~ N(0, I), where A is a random orthogonal matrix
 * times singular values spanning a factor `cond` (100: strongly
 * correlated, badly scaled features; 1: a well-conditioned control).
 * Labels come from a random linear teacher on z.  512 samples, mini-batches
 * of 32 in a fixed order, Q = 10, budget 30,000 queries (ZO-NP's Jacobian
 * queries count against it), N_max = 17 (4 blocks), rho = 0.1 (the AAAI
 * constant; the default is now 1, which also wins here but by less: at
 * lr 3e-3 ZO-NP 0.670 against ZO-I 0.736 and ZO-co 0.718, a margin below
 * the 0.05 this test asserts), every other setting at its default (ZO-NP:
 * trace normalisation, T_ud 100, blocks drawn
 * with replacement; block-coordinate perturbations; Adam).  The same
 * learning rate for every method, at three values.  Metric: training loss
 * over the full 512 samples at the end of the budget. */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zoptic.h"

enum { D = 16, C = 4, NS = 512, B = 32, SEEDS = 10 };
static float X[NS * D], Y[NS];

static void make_data(uint64_t seed, double cond) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_TEST, 77, 0);
  double W[C * D], G[D * D];
  for (int k = 0; k < C * D; k++)
    W[k] = gsl_ran_gaussian(r, 1);
  for (int k = 0; k < D * D; k++)
    G[k] = gsl_ran_gaussian(r, 1);
  for (int i = 0; i < D; i++) { /* Gram-Schmidt: rows of G orthonormal */
    for (int j = 0; j < i; j++) {
      double s = 0;
      for (int k = 0; k < D; k++)
        s += G[i * D + k] * G[j * D + k];
      for (int k = 0; k < D; k++)
        G[i * D + k] -= s * G[j * D + k];
    }
    double n = 0;
    for (int k = 0; k < D; k++)
      n += G[i * D + k] * G[i * D + k];
    for (int k = 0; k < D; k++)
      G[i * D + k] /= sqrt(n);
  }
  for (int i = 0; i < NS; i++) {
    double z[D], best = -INFINITY;
    int label = 0;
    for (int k = 0; k < D; k++)
      z[k] = gsl_ran_gaussian(r, 1);
    for (int c = 0; c < C; c++) {
      double s = 0;
      for (int k = 0; k < D; k++)
        s += W[c * D + k] * z[k];
      if (s > best) {
        best = s;
        label = c;
      }
    }
    for (int j = 0; j < D; j++) {
      double s = 0;
      for (int k = 0; k < D; k++)
        s += G[j * D + k] * pow(cond, (double)k / (D - 1) - 0.5) * z[k];
      X[i * D + j] = (float)s;
    }
    Y[i] = (float)label;
  }
  zpt_rng_free(r);
}

/* Final training loss of one run. */
static double train(zpt_zo_method m, double cond, double lr, uint64_t seed,
                    uint64_t *queries) {
  make_data(1000 + seed, cond);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_xent(C);
  c.method = m;
  c.q = 10;
  c.budget = 30000;
  c.n_max = 17;
  c.rho = 0.1;
  c.optim.lr = lr;
  c.seed = seed + 1;
  float theta[C * (D + 1)] = {0};
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta, &c), ZPT_OK);
  uint64_t it = 0;
  int rc;
  while ((rc = zpt_trainer_iterate(t, X + (it % (NS / B)) * B * D,
                                   Y + (it % (NS / B)) * B, B, NULL)) == ZPT_OK)
    it++;
  ck_assert_int_eq(rc, ZPT_EBUDGET);
  zpt_eval_result e;
  ck_assert_int_eq(zpt_trainer_evaluate(t, X, Y, NS, 0, &e), ZPT_OK);
  *queries = zpt_trainer_counters(t)->queries;
  ck_assert_uint_le(*queries, 30000);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  return e.loss;
}

static void compare(double cond, double lr, double mean[3], int np_wins[2]) {
  double loss[3][SEEDS];
  for (int m = 0; m < 3; m++) {
    mean[m] = 0;
    for (int s = 0; s < SEEDS; s++) {
      uint64_t q;
      loss[m][s] = train((zpt_zo_method)m, cond, lr, (uint64_t)s, &q);
      mean[m] += loss[m][s] / SEEDS;
    }
  }
  np_wins[0] = np_wins[1] = 0;
  for (int s = 0; s < SEEDS; s++) {
    np_wins[0] += loss[ZPT_ZO_NP][s] < loss[ZPT_ZO_I][s];
    np_wins[1] += loss[ZPT_ZO_NP][s] < loss[ZPT_ZO_CO][s];
  }
  printf("cond %5.0f  lr %.0e  final training loss (mean of %d seeds): "
         "ZO-I %.4f  ZO-co %.4f  ZO-NP %.4f  (ZO-NP lower on %d/%d seeds vs "
         "ZO-I, %d/%d vs ZO-co)\n", cond, lr, SEEDS, mean[0], mean[1], mean[2],
         np_wins[0], SEEDS, np_wins[1], SEEDS);
}

START_TEST(test_np_wins_ill_conditioned) {
  const double lrs[3] = {3e-3, 1e-2, 3e-2};
  double best[3] = {INFINITY, INFINITY, INFINITY};
  for (int k = 0; k < 3; k++) {
    double mean[3];
    int wins[2];
    compare(100, lrs[k], mean, wins);
    for (int m = 0; m < 3; m++)
      best[m] = fmin(best[m], mean[m]);
    /* at every learning rate: lower mean loss by a clear margin, and lower
     * on most seeds (paired: each seed uses the same data for all) */
    ck_assert_msg(mean[2] < mean[0] - 0.05 && mean[2] < mean[1] - 0.05,
                  "lr %g: ZO-NP %g vs ZO-I %g, ZO-co %g", lrs[k], mean[2],
                  mean[0], mean[1]);
    ck_assert_msg(wins[0] >= 8 && wins[1] >= 8,
                  "lr %g: ZO-NP better on only %d / %d seeds", lrs[k],
                  wins[0], wins[1]);
  }
  /* and each method at its best learning rate of the three */
  printf("best over lr: ZO-I %.4f  ZO-co %.4f  ZO-NP %.4f\n", best[0], best[1],
         best[2]);
  ck_assert(best[2] < fmin(best[0], best[1]) - 0.05);
}
END_TEST

START_TEST(test_well_conditioned_control) {
  /* cond = 1: nothing for the Fisher to fix; ZO-NP pays its Jacobian
   * queries and ends level with ZO-I (not better, not much worse) */
  double mean[3];
  int wins[2];
  compare(1, 3e-2, mean, wins);
  ck_assert_msg(fabs(mean[2] - mean[0]) < 0.03, "control: ZO-NP %g vs ZO-I %g",
                mean[2], mean[0]);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_compare");
  TCase *tc = tcase_create("zo_compare");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_np_wins_ill_conditioned);
  tcase_add_test(tc, test_well_conditioned_control);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
