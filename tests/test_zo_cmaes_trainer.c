/* zo.method = cmaes through the ordinary trainer (src/zo/trainer_cmaes.c):
 * the trainer's run equals a hand-driven zpt_cmaes fed the same black-box
 * losses (theta is the mean, each candidate one query on the iteration's
 * mini-batch), exact query accounting and the budget, determinism,
 * bit-identical resume (full and separable covariance), errors, and a
 * small problem trained to a target that a random walk and a random search
 * with the same queries and step size do not reach. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zo/cmaes.h"
#include "zoptic.h"

enum { D = 6, C = 3, NP = C * (D + 1), NS = 40, BATCH = 8 };

static float X[NS * D], Y[NS];

static void make_data(void) {
  gsl_rng *r = zpt_rng_alloc(9, ZPT_STREAM_TEST, 0, 0);
  for (size_t i = 0; i < NS; i++) {
    double s = 0;
    for (size_t k = 0; k < D; k++) {
      X[i * D + k] = (float)(2 * gsl_rng_uniform(r) - 1);
      s += X[i * D + k] * (k % 2 ? 1.0 : -0.5);
    }
    Y[i] = s > 0.3 ? 2.0f : s < -0.3 ? 0.0f : 1.0f;
  }
  zpt_rng_free(r);
}

static const float *bx(uint64_t it) { return X + (it % (NS / BATCH)) * BATCH * D; }
static const float *by(uint64_t it) { return Y + (it % (NS / BATCH)) * BATCH; }

static zpt_zo_config cfg_cmaes(void) {
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_xent(C);
  c.method = ZPT_ZO_CMAES;
  c.cmaes_sigma = 0.2;
  return c;
}

static void theta0(float *th) {
  for (size_t k = 0; k < NP; k++)
    th[k] = 0.1f * (float)sin(1.0 + k);
}

static int run(zpt_trainer *t, uint64_t from, uint64_t to) {
  for (uint64_t it = from; it < to; it++) {
    int rc = zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL);
    if (rc)
      return rc;
  }
  return ZPT_OK;
}

/* Hansen's default population for N = 21: 4 + floor(3 ln 21) = 13. */
START_TEST(test_names_and_population) {
  zpt_zo_method m;
  ck_assert_int_eq(zpt_zo_method_parse("cmaes", &m), ZPT_OK);
  ck_assert_int_eq(m, ZPT_ZO_CMAES);
  ck_assert_str_eq(zpt_zo_method_name(ZPT_ZO_CMAES), "cmaes");
  ck_assert_int_eq(zpt_zo_method_parse("zo-guided", &m), ZPT_OK);
  ck_assert_int_eq(m, ZPT_ZO_GUIDED);
  ck_assert_int_eq(zpt_zo_method_parse("cma-es", &m), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "cmaes"));
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_cmaes();
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  ck_assert_uint_eq(zpt_trainer_next_cost(t), 4 + (uint64_t)floor(3 * log(21.0)));
  ck_assert_uint_eq(zpt_trainer_next_cost(t), 13);
  zpt_trainer_free(t);
  c.cmaes_lambda = 7;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  ck_assert_uint_eq(zpt_trainer_next_cost(t), 7);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

/* The trainer against a zpt_cmaes driven by hand with the losses of the
 * same candidates queried through the same box: theta is the mean (in
 * float) after every generation, bit for bit. */
START_TEST(test_equals_hand_driven) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_cmaes();
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  zpt_cmaes_settings s;
  zpt_cmaes_settings_default(&s);
  s.sigma0 = c.cmaes_sigma;
  double m0[NP];
  for (size_t i = 0; i < NP; i++)
    m0[i] = th[i];
  zpt_cmaes *es;
  ck_assert_int_eq(zpt_cmaes_alloc(&es, NP, m0, &s), ZPT_OK);
  const size_t lam = zpt_cmaes_lambda(es);
  float *y = malloc(lam * NP * sizeof(float)), out[BATCH * C], cur[NP];
  double *f = malloc(lam * sizeof(double));
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  memcpy(cur, th, sizeof cur);
  uint64_t q = 0;
  for (uint64_t g = 0; g < 25; g++) {
    zpt_iter_info info;
    ck_assert_int_eq(zpt_trainer_iterate(t, bx(g), by(g), BATCH, &info), ZPT_OK);
    zpt_rng_derive(r, c.seed, ZPT_STREAM_PERTURB, g, 0);
    zpt_cmaes_ask(es, r, y);
    double mean = 0;
    for (size_t k = 0; k < lam; k++) {
      zpt_variation v = {0, NP, (float)zpt_cmaes_sigma(es), y + k * NP};
      ck_assert_int_eq(zpt_blackbox_query(bb, cur, &v, 1, bx(g), BATCH, out,
                                          ZPT_EVAL_QUERY_BASE), ZPT_OK);
      ck_assert_int_eq(zpt_loss_eval(&c.loss, out, by(g), BATCH, C, NULL, &f[k]),
                       ZPT_OK);
      mean += f[k];
    }
    ck_assert_int_eq(zpt_cmaes_tell(es, f), ZPT_OK);
    for (size_t i = 0; i < NP; i++)
      cur[i] = (float)zpt_cmaes_mean(es)[i];
    ck_assert(memcmp(cur, zpt_trainer_theta(t), sizeof cur) == 0);
    ck_assert_double_eq(info.loss, mean / (double)lam);
    ck_assert_uint_eq(info.queries, lam);
    q += lam;
  }
  const zpt_zo_counters *k = zpt_trainer_counters(t);
  ck_assert_uint_eq(k->queries, q);
  ck_assert_uint_eq(k->perturbed_queries, q);
  ck_assert_uint_eq(k->base_queries + k->jacobian_queries, 0);
  ck_assert_uint_eq(k->sample_forwards, q * BATCH);
  ck_assert_uint_eq(k->iterations, 25);
  /* the step size moved: the trainer's sigma is the hand-driven one's */
  ck_assert(zpt_cmaes_sigma(es) != c.cmaes_sigma);
  zpt_rng_free(r);
  free(y);
  free(f);
  zpt_cmaes_free(es);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_accounting_budget) {
  make_data();
  float th[NP];
  theta0(th);
  for (int chunked = 0; chunked < 2; chunked++) {
    zpt_blackbox *bb = zpt_testbox_softmax(D, C);
    bb->max_vars = chunked ? 3 : 0;
    zpt_zo_config c = cfg_cmaes();
    c.budget = 64; /* 4 generations of 13 = 52; the 5th needs 65 */
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
    uint64_t it = 0;
    int rc;
    while ((rc = zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL)) == ZPT_OK)
      it++;
    ck_assert_int_eq(rc, ZPT_EBUDGET);
    ck_assert_uint_eq(it, 4);
    const zpt_zo_counters *k = zpt_trainer_counters(t);
    ck_assert_uint_eq(k->queries, 52);
    zpt_testbox *tb = zpt_testbox_of(bb);
    ck_assert_uint_eq(tb->queries, 52);
    ck_assert_int_eq(tb->numbering_ok, 1);
    if (chunked)
      ck_assert_uint_eq(tb->calls, 4 * 5); /* 13 = 3+3+3+3+1 */
    /* refused: nothing changed */
    float before[NP];
    memcpy(before, zpt_trainer_theta(t), sizeof before);
    ck_assert_int_eq(zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL), ZPT_EBUDGET);
    ck_assert(memcmp(before, zpt_trainer_theta(t), sizeof before) == 0);
    ck_assert_uint_eq(tb->queries, 52);
    /* evaluation of the mean: outside the budget */
    zpt_eval_result ev;
    ck_assert_int_eq(zpt_trainer_evaluate(t, X, Y, NS, 0, &ev), ZPT_OK);
    ck_assert_uint_eq(k->queries, 52);
    /* no gradient estimate, no perturbation sampler */
    for (size_t i = 0; i < NP; i++)
      ck_assert(zpt_trainer_gradient(t)[i] == 0.0f);
    float u[NP];
    size_t off, len;
    ck_assert_int_eq(zpt_trainer_draw(t, 0, 0, 0, u, &off, &len), ZPT_EINVAL);
    ck_assert_ptr_nonnull(strstr(zpt_error_message(), "cmaes"));
    zpt_trainer_free(t);
    zpt_blackbox_free(bb);
  }
}
END_TEST

START_TEST(test_determinism) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_cmaes();
  zpt_trainer *a, *b, *d;
  ck_assert_int_eq(zpt_trainer_alloc(&a, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_alloc(&b, bb, th, &c), ZPT_OK);
  c.seed = 2;
  ck_assert_int_eq(zpt_trainer_alloc(&d, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(a, 0, 60), ZPT_OK);
  ck_assert_int_eq(run(b, 0, 60), ZPT_OK);
  ck_assert_int_eq(run(d, 0, 60), ZPT_OK);
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(b), NP * sizeof(float)) == 0);
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(d), NP * sizeof(float)) != 0);
  zpt_eval_result e0, e1;
  ck_assert_int_eq(zpt_zo_evaluate(bb, th, &c.loss, X, Y, NS, 0, 1ull << 62, &e0), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_evaluate(a, X, Y, NS, 0, &e1), ZPT_OK);
  ck_assert_msg(e1.loss < e0.loss, "cmaes: loss %g -> %g", e0.loss, e1.loss);
  zpt_trainer_free(a);
  zpt_trainer_free(b);
  zpt_trainer_free(d);
  zpt_blackbox_free(bb);
}
END_TEST

/* save at k, load into a fresh trainer (other theta), continue: the same
 * bits as the uninterrupted run; borrow = the trainer works on the
 * caller's theta, which the caller restores. */
static void check_resume(zpt_zo_config c, uint64_t k, uint64_t total,
                         int borrow) {
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_trainer *a, *b, *r;
  ck_assert_int_eq(zpt_trainer_alloc(&a, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(a, 0, total), ZPT_OK);
  float tb[NP], tr[NP] = {0};
  memcpy(tb, th, sizeof tb);
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&b, bb, tb, &c), ZPT_OK);
  ck_assert_int_eq(run(b, 0, k), ZPT_OK);
  zpt_memstate *ms = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader rd;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &rd);
  ck_assert_int_eq(zpt_trainer_save(b, &w), ZPT_OK);
  ck_assert_ptr_nonnull(zpt_memstate_data(ms, "zo/cmaes/C", NULL, NULL));
  if (borrow) {
    ck_assert_int_eq(zpt_trainer_alloc_borrow(&r, bb, tr, &c), ZPT_OK);
    memcpy(tr, tb, sizeof tr); /* the caller restores its theta */
  } else {
    ck_assert_int_eq(zpt_trainer_alloc(&r, bb, tr, &c), ZPT_OK);
    zpt_trainer_set_theta(r, tb);
  }
  ck_assert_int_eq(zpt_trainer_load(r, &rd), ZPT_OK);
  ck_assert_int_eq(run(r, k, total), ZPT_OK);
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(r), NP * sizeof(float)) == 0);
  ck_assert_uint_eq(zpt_trainer_counters(a)->queries, zpt_trainer_counters(r)->queries);
  /* a trainer of another population refuses the state */
  zpt_trainer *o;
  c.cmaes_lambda = 5;
  ck_assert_int_eq(zpt_trainer_alloc(&o, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(o, &rd), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "zo/cmaes/shape"));
  zpt_trainer_free(o);
  zpt_memstate_free(ms);
  zpt_trainer_free(a);
  zpt_trainer_free(b);
  zpt_trainer_free(r);
  zpt_blackbox_free(bb);
}

START_TEST(test_resume) {
  make_data();
  zpt_zo_config c = cfg_cmaes(); /* N = 21: full covariance */
  check_resume(c, 17, 45, 0);    /* eigen every generation at N = 21 */
  check_resume(c, 17, 45, 1);
  c.cmaes_full_max = 10; /* separable */
  check_resume(c, 17, 45, 0);
  c.cmaes_full_max = 2000;
  c.cmaes_lambda = 40; /* several generations between eigendecompositions */
  check_resume(c, 9, 30, 0);
}
END_TEST

/* A theta set from outside moves the mean: the next generation samples
 * around it. */
START_TEST(test_set_theta) {
  make_data();
  float th[NP], far[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_cmaes();
  c.cmaes_sigma = 0.01;
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(t, 0, 3), ZPT_OK);
  for (size_t i = 0; i < NP; i++)
    far[i] = th[i] + 5.0f;
  zpt_trainer_set_theta(t, far);
  ck_assert_int_eq(run(t, 3, 4), ZPT_OK);
  const float *now = zpt_trainer_theta(t);
  for (size_t i = 0; i < NP; i++)
    ck_assert_msg(fabsf(now[i] - far[i]) < 0.1f, "theta[%zu] = %g, set to %g", i,
                  (double)now[i], (double)far[i]);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_config_errors) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_trainer *t;
  zpt_zo_config c = cfg_cmaes();
  c.cmaes_sigma = 0;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "cmaes_sigma"));
  c = cfg_cmaes();
  c.cmaes_lambda = 1;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "cmaes_lambda"));
  c = cfg_cmaes();
  c.method = (zpt_zo_method)7;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "method 7"));
  /* a non-finite candidate loss: refused, the trainer unchanged */
  c = cfg_cmaes();
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  zpt_testbox_of(bb)->fail_at = 0;
  zpt_testbox_of(bb)->nan_at_fail = 1;
  ck_assert_int_ne(zpt_trainer_iterate(t, bx(0), by(0), BATCH, NULL), ZPT_OK);
  ck_assert(memcmp(th, zpt_trainer_theta(t), sizeof th) == 0);
  ck_assert_uint_eq(zpt_trainer_counters(t)->queries, 0);
  zpt_testbox_of(bb)->fail_at = UINT64_MAX;
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(0), by(0), BATCH, NULL), ZPT_OK);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

/* ---- a small problem: the quadratic of an affine box ---- */

enum { QN = 20, QB = 4 };

/* mean loss of theta on the fixed batch */
static double qloss(zpt_blackbox *bb, const zpt_loss *l, const float *theta,
                    const float *in, const float *tg) {
  zpt_eval_result e;
  ck_assert_int_eq(zpt_zo_evaluate(bb, theta, l, in, tg, QB, QB, 1ull << 62, &e),
                   ZPT_OK);
  return e.loss;
}

/* (1/M) ||A theta + c||^2 with A = diag(1 .. 20) (condition 400 of the
 * quadratic), c uniform in (-1, 1): CMA-ES through the trainer brings the
 * loss below 1e-6 of its start within 20,000 queries; a random walk with
 * steps of sigma0 and the best of 20,000 random points around theta0 at
 * sigma0 (the same queries) stay far above. */
START_TEST(test_trains_quadratic) {
  float A[QN * QN] = {0}, in[QB * QN], tg[QB * QN] = {0}, th[QN] = {0};
  gsl_rng *r = zpt_rng_alloc(5, ZPT_STREAM_TEST, 0, 0);
  for (size_t i = 0; i < QN; i++) {
    A[i * QN + i] = (float)(1 + i);
    in[i] = (float)(2 * gsl_rng_uniform(r) - 1);
  }
  for (size_t s = 1; s < QB; s++)
    memcpy(in + s * QN, in, QN * sizeof(float));
  zpt_blackbox *bb = zpt_testbox_affine(QN, QN, A);
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_mse();
  c.method = ZPT_ZO_CMAES;
  c.cmaes_sigma = 0.3;
  c.budget = 20000;
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  while (zpt_trainer_iterate(t, in, tg, QB, NULL) == ZPT_OK)
    ;
  const double l0 = qloss(bb, &c.loss, th, in, tg);
  const double target = 1e-6 * l0;
  const double lc = qloss(bb, &c.loss, zpt_trainer_theta(t), in, tg);
  ck_assert_uint_le(zpt_trainer_counters(t)->queries, 20000);
  /* the same number of queries: a random walk, and a random search */
  float walk[QN] = {0}, pt[QN], z[QN];
  double best = l0;
  for (uint64_t q = 0; q < zpt_trainer_counters(t)->queries; q++) {
    zpt_rng_gaussians(r, z, QN, 1.0);
    for (size_t i = 0; i < QN; i++) {
      walk[i] += 0.3f * z[i];
      pt[i] = th[i] + 0.3f * z[i];
    }
    double lp = qloss(bb, &c.loss, pt, in, tg);
    best = lp < best ? lp : best;
  }
  const double lw = qloss(bb, &c.loss, walk, in, tg);
  fprintf(stderr, "quadratic: start %.3g, cmaes %.3g (%llu queries), random "
          "walk %.3g, best random point %.3g\n", l0, lc,
          (unsigned long long)zpt_trainer_counters(t)->queries, lw, best);
  ck_assert_msg(lc < target, "cmaes reached %g, target %g", lc, target);
  ck_assert(lw > 1000 * target);
  ck_assert(best > 1000 * target);
  zpt_rng_free(r);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_cmaes_trainer");
  TCase *tc = tcase_create("zo_cmaes_trainer");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_names_and_population);
  tcase_add_test(tc, test_equals_hand_driven);
  tcase_add_test(tc, test_accounting_budget);
  tcase_add_test(tc, test_determinism);
  tcase_add_test(tc, test_resume);
  tcase_add_test(tc, test_set_theta);
  tcase_add_test(tc, test_config_errors);
  tcase_add_test(tc, test_trains_quadratic);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
