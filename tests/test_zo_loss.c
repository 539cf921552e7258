/* src/zo losses, the output Fisher G, metrics, blocks and the in-memory
 * state writer/reader. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/testutil.h"
#include "zoptic.h"

START_TEST(test_xent_values) {
  /* 2 samples, 3 classes: closed-form -log softmax */
  const float y[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const float t[2] = {1.0f, 0.0f};
  zpt_loss l = zpt_loss_xent(3);
  double ps[2], mean;
  ck_assert_int_eq(zpt_loss_eval(&l, y, t, 2, 3, ps, &mean), ZPT_OK);
  double e0 = -log(exp(2.0) / (exp(1.0) + exp(2.0) + exp(0.5)));
  double e1 = -log(exp(-1.0) / (exp(-1.0) + exp(0.0) + exp(3.0)));
  ck_assert_double_eq_tol(ps[0], e0, 1e-12);
  ck_assert_double_eq_tol(ps[1], e1, 1e-12);
  ck_assert_double_eq_tol(mean, (e0 + e1) / 2, 1e-12);
  /* score scale 2: same as doubling the outputs */
  zpt_loss l2 = zpt_loss_xent_seq(1, 3, 2.0);
  const float y2[6] = {2.0f, 4.0f, 1.0f, -2.0f, 0.0f, 6.0f};
  double mean2, mean2b;
  ck_assert_int_eq(zpt_loss_eval(&l2, y, t, 2, 3, NULL, &mean2), ZPT_OK);
  ck_assert_int_eq(zpt_loss_eval(&l, y2, t, 2, 3, NULL, &mean2b), ZPT_OK);
  ck_assert_double_eq_tol(mean2, mean2b, 1e-12);
  /* a sequence of 2 steps = mean over steps */
  zpt_loss ls = zpt_loss_xent_seq(2, 3, 1.0);
  const float ts[2] = {1.0f, 0.0f};
  double ms;
  ck_assert_int_eq(zpt_loss_eval(&ls, y, ts, 1, 6, NULL, &ms), ZPT_OK);
  ck_assert_double_eq_tol(ms, (e0 + e1) / 2, 1e-12);
  /* MSE */
  zpt_loss lm = zpt_loss_mse();
  const float tm[6] = {0, 0, 0, 0, 0, 0};
  double mm;
  ck_assert_int_eq(zpt_loss_eval(&lm, y, tm, 2, 3, ps, &mm), ZPT_OK);
  ck_assert_double_eq_tol(ps[0], (1 + 4 + 0.25) / 3.0, 1e-12);
  ck_assert_double_eq_tol(mm, ((1 + 4 + 0.25) + (1 + 0 + 9)) / 6.0, 1e-12);
  ck_assert_uint_eq(zpt_loss_target_size(&ls, 6), 2);
  ck_assert_uint_eq(zpt_loss_target_size(&lm, 6), 6);
}
END_TEST

START_TEST(test_loss_errors) {
  zpt_loss l = zpt_loss_xent(3);
  const float y[3] = {0, 1, 2};
  double m;
  float bad[1] = {3.0f};
  ck_assert_int_eq(zpt_loss_eval(&l, y, bad, 1, 3, NULL, &m), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "sample 0 step 0"));
  bad[0] = 1.5f;
  ck_assert_int_eq(zpt_loss_eval(&l, y, bad, 1, 3, NULL, &m), ZPT_EINVAL);
  bad[0] = -1.0f;
  ck_assert_int_eq(zpt_loss_eval(&l, y, bad, 1, 3, NULL, &m), ZPT_EINVAL);
  const float ynan[3] = {0, NAN, 2};
  const float ok[1] = {0};
  ck_assert_int_eq(zpt_loss_eval(&l, ynan, ok, 1, 3, NULL, &m), ZPT_ENUMERIC);
  ck_assert_int_eq(zpt_loss_check(&l, 4), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "output size 4"));
  zpt_loss l1 = zpt_loss_xent(1);
  ck_assert_int_eq(zpt_loss_check(&l1, 1), ZPT_EINVAL);
  zpt_loss ls = zpt_loss_xent_seq(2, 3, 0.0);
  ck_assert_int_eq(zpt_loss_check(&ls, 6), ZPT_EINVAL);
  zpt_loss lk = {(zpt_loss_kind)7, 1, 2, 1.0};
  ck_assert_int_eq(zpt_loss_check(&lk, 2), ZPT_EINVAL);
  ck_assert_int_eq(zpt_loss_check(NULL, 2), ZPT_EINVAL);
  size_t c = 0, n = 0;
  zpt_loss lm = zpt_loss_mse();
  ck_assert_int_eq(zpt_metric_accuracy(&lm, y, y, 1, 3, &c, &n), ZPT_EINVAL);
  double G[9];
  ck_assert_int_eq(zpt_loss_fisher_G(&l, ynan, 3, G), ZPT_ENUMERIC);
}
END_TEST

START_TEST(test_accuracy) {
  zpt_loss l = zpt_loss_xent_seq(2, 3, 1.0);
  const float y[12] = {0, 5, 1, 3, 2, 1, /* sample 0: argmax 1, 0 */
                       1, 1, 0, 0, 0, 9}; /* sample 1: tie -> 0, 2 */
  const float t[4] = {1, 2, 0, 2};
  size_t c = 0, n = 0;
  ck_assert_int_eq(zpt_metric_accuracy(&l, y, t, 2, 6, &c, &n), ZPT_OK);
  ck_assert_uint_eq(c, 3);
  ck_assert_uint_eq(n, 4);
}
END_TEST

/* KL(softmax(c s) || softmax(c (s + d))) in double. */
static double kl(const double *s, const double *d, size_t C, double c) {
  double p[16], q[16], zp = 0, zq = 0;
  for (size_t k = 0; k < C; k++) {
    p[k] = exp(c * s[k]);
    q[k] = exp(c * (s[k] + d[k]));
    zp += p[k];
    zq += q[k];
  }
  double r = 0;
  for (size_t k = 0; k < C; k++)
    r += p[k] / zp * (log(p[k] / zp) - log(q[k] / zq));
  return r;
}

START_TEST(test_fisher_G_softmax) {
  const size_t C = 4;
  const float s[4] = {0.3f, -1.2f, 0.8f, 0.1f};
  for (int scaled = 0; scaled < 2; scaled++) {
    double c = scaled ? 2.5 : 1.0;
    zpt_loss l = zpt_loss_xent_seq(1, C, c);
    double G[16], p[4], z = 0;
    ck_assert_int_eq(zpt_loss_fisher_G(&l, s, C, G), ZPT_OK);
    for (size_t k = 0; k < C; k++)
      z += (p[k] = exp(c * s[k]));
    for (size_t a = 0; a < C; a++)
      for (size_t b = 0; b < C; b++) {
        double want = c * c * ((a == b ? p[a] / z : 0) - p[a] / z * p[b] / z);
        ck_assert_double_eq_tol(G[a * C + b], want, 1e-14);
      }
    /* second-order expansion of the KL: KL ~ 1/2 d^T G d */
    double sd[4], d[4];
    for (size_t k = 0; k < C; k++)
      sd[k] = s[k];
    const double dirs[3][4] = {{1, 0, 0, 0}, {0.3, -0.7, 0.2, 0.5},
                               {-1, 1, -1, 1}};
    double worst = 0;
    for (int r = 0; r < 3; r++) {
      const double h = 1e-3;
      for (size_t k = 0; k < C; k++)
        d[k] = h * dirs[r][k];
      double quad = 0;
      for (size_t a = 0; a < C; a++)
        for (size_t b = 0; b < C; b++)
          quad += 0.5 * d[a] * G[a * C + b] * d[b];
      double rel = fabs(kl(sd, d, C, c) - quad) / quad;
      if (rel > worst)
        worst = rel;
    }
    ck_assert_msg(worst < 5e-3, "KL vs 1/2 d^T G d: worst relative error %g",
                  worst);
  }
  /* a sequence: block diagonal, zero between steps */
  zpt_loss ls = zpt_loss_xent_seq(2, 2, 1.0);
  const float y2[4] = {0.0f, 1.0f, 2.0f, -1.0f};
  double G[16];
  ck_assert_int_eq(zpt_loss_fisher_G(&ls, y2, 4, G), ZPT_OK);
  ck_assert(G[0 * 4 + 2] == 0 && G[1 * 4 + 3] == 0 && G[3 * 4 + 0] == 0);
  double p1 = 1 / (1 + exp(-3.0)); /* softmax of (2, -1), class 0 */
  ck_assert_double_eq_tol(G[2 * 4 + 2], p1 * (1 - p1), 1e-12);
  /* MSE: identity */
  zpt_loss lm = zpt_loss_mse();
  ck_assert_int_eq(zpt_loss_fisher_G(&lm, y2, 4, G), ZPT_OK);
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      ck_assert(G[a * 4 + b] == (a == b ? 1.0 : 0.0));
}
END_TEST

START_TEST(test_fisher_rows_match_G) {
  /* Z^T Z == J^T G J for softmax sequences and MSE */
  const size_t M = 6, n = 5;
  const float y[6] = {0.2f, -0.4f, 1.1f, 0.9f, 0.0f, -2.0f};
  double J[30], Z[30], G[36];
  for (size_t k = 0; k < M * n; k++)
    J[k] = sin(1.0 + 0.7 * (double)k);
  zpt_loss losses[2] = {zpt_loss_xent_seq(2, 3, 1.7), zpt_loss_mse()};
  for (int li = 0; li < 2; li++) {
    ck_assert_int_eq(zpt_loss_fisher_rows(&losses[li], y, J, M, n, Z), ZPT_OK);
    ck_assert_int_eq(zpt_loss_fisher_G(&losses[li], y, M, G), ZPT_OK);
    double worst = 0;
    for (size_t a = 0; a < n; a++)
      for (size_t b = 0; b < n; b++) {
        double zz = 0, jgj = 0;
        for (size_t m = 0; m < M; m++)
          zz += Z[m * n + a] * Z[m * n + b];
        for (size_t m = 0; m < M; m++)
          for (size_t k = 0; k < M; k++)
            jgj += J[m * n + a] * G[m * M + k] * J[k * n + b];
        if (fabs(zz - jgj) > worst)
          worst = fabs(zz - jgj);
      }
    ck_assert_msg(worst < 1e-12, "Z^T Z vs J^T G J: worst %g", worst);
  }
}
END_TEST

START_TEST(test_blocks) {
  zpt_blocks *b;
  ck_assert_uint_eq(zpt_blocks_count(33642, 510), 66);
  ck_assert_uint_eq(zpt_blocks_count(1706762, 512), 3334);
  ck_assert_int_eq(zpt_blocks_alloc(&b, 33642, 510, NULL, 0), ZPT_OK);
  ck_assert_uint_eq(b->n_blocks, 66);
  size_t mn = SIZE_MAX, mx = 0;
  for (size_t i = 0; i < b->n_blocks; i++) {
    size_t len = zpt_block_len(b, i);
    mn = len < mn ? len : mn;
    mx = len > mx ? len : mx;
  }
  ck_assert_uint_le(mx - mn, 1);
  ck_assert_uint_le(mx, 510);
  ck_assert_uint_eq(b->offset[66], 33642);
  zpt_blocks_free(b);
  ck_assert_int_eq(zpt_blocks_alloc(&b, 1706762, 512, NULL, 0), ZPT_OK);
  ck_assert_uint_eq(b->n_blocks, 3334);
  ck_assert_uint_le(b->max_len, 512);
  zpt_blocks_free(b);
  /* the paper's other settings */
  ck_assert_uint_eq(zpt_blocks_count(6854, 431), 16);
  /* cuts: segments [0,10) [10,25) [25,30) with N_max 4 -> 3 + 4 + 2 */
  const size_t cuts[2] = {10, 25};
  ck_assert_int_eq(zpt_blocks_alloc(&b, 30, 4, cuts, 2), ZPT_OK);
  ck_assert_uint_eq(b->n_blocks, 9);
  int has10 = 0, has25 = 0;
  for (size_t i = 0; i <= b->n_blocks; i++) {
    has10 |= b->offset[i] == 10;
    has25 |= b->offset[i] == 25;
  }
  ck_assert(has10 && has25);
  zpt_blocks_free(b);
  zpt_blocks_free(NULL);
  /* errors */
  ck_assert_int_eq(zpt_blocks_alloc(&b, 0, 4, NULL, 0), ZPT_EINVAL);
  ck_assert_int_eq(zpt_blocks_alloc(&b, 10, 0, NULL, 0), ZPT_EINVAL);
  const size_t badcuts[2] = {5, 5};
  ck_assert_int_eq(zpt_blocks_alloc(&b, 10, 4, badcuts, 2), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "cut 1 at offset 5"));
  const size_t outside[1] = {10};
  ck_assert_int_eq(zpt_blocks_alloc(&b, 10, 4, outside, 1), ZPT_EINVAL);
  ck_assert_int_eq(zpt_blocks_alloc(&b, 10, 4, NULL, 1), ZPT_EINVAL);
}
END_TEST

START_TEST(test_memstate) {
  zpt_memstate *m = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader r;
  zpt_memstate_writer(m, &w);
  zpt_memstate_reader(m, &r);
  const double d[3] = {1.5, -2, 3};
  const uint64_t u[2] = {7, 9};
  ck_assert_int_eq(w.put(&w, "a/b", ZPT_T_F64, d, 3), ZPT_OK);
  ck_assert_int_eq(w.put(&w, "c", ZPT_T_U64, u, 2), ZPT_OK);
  ck_assert_int_eq(w.put(&w, "empty", ZPT_T_F32, NULL, 0), ZPT_OK);
  ck_assert_int_eq(w.put(&w, "c", ZPT_T_U64, u, 2), ZPT_EINVAL);
  for (int k = 0; k < 40; k++) { /* growth */
    char name[32];
    snprintf(name, sizeof name, "item%d", k);
    ck_assert_int_eq(w.put(&w, name, ZPT_T_U8, "x", 1), ZPT_OK);
  }
  ck_assert_uint_eq(zpt_memstate_count(m), 43);
  ck_assert_str_eq(zpt_memstate_name(m, 1), "c");
  double back[3];
  ck_assert_int_eq(r.get(&r, "a/b", ZPT_T_F64, back, 3), ZPT_OK);
  ck_assert(memcmp(back, d, sizeof d) == 0);
  size_t n;
  ck_assert_int_eq(r.size(&r, "c", ZPT_T_U64, &n), ZPT_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(r.get(&r, "missing", ZPT_T_F64, back, 3), ZPT_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "missing"));
  ck_assert_int_eq(r.get(&r, "a/b", ZPT_T_F32, back, 3), ZPT_EFORMAT);
  ck_assert_int_eq(r.get(&r, "a/b", ZPT_T_F64, back, 2), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "holds 3"));
  zpt_memstate_free(m);
  zpt_memstate_free(NULL);
}
END_TEST

START_TEST(test_optimizers) {
  zpt_optim_settings s = {0.1, 0.9, 0.999, 1e-8, 0.5};
  void *st;
  float th[3] = {1, 2, 3};
  const float g[3] = {0.5f, -2.0f, 0.0f};
  /* Adam's first bias-corrected step is lr * g / (|g| + eps) */
  ck_assert_int_eq(zpt_optimizer_adam->alloc(&st, 3, &s), ZPT_OK);
  zpt_optimizer_adam->step(st, th, g);
  ck_assert_float_eq_tol(th[0], 0.9f, 1e-6f);
  ck_assert_float_eq_tol(th[1], 2.1f, 1e-6f);
  ck_assert_float_eq(th[2], 3.0f);
  /* second step with the same g: m_hat = g, v_hat = g^2 again */
  zpt_optimizer_adam->step(st, th, g);
  ck_assert_float_eq_tol(th[0], 0.8f, 1e-5f);
  zpt_optimizer_adam->free(st);
  /* SGD with momentum 0.5: v1 = g, v2 = 1.5 g */
  float t2[3] = {1, 2, 3};
  ck_assert_int_eq(zpt_optimizer_sgd->alloc(&st, 3, &s), ZPT_OK);
  zpt_optimizer_sgd->step(st, t2, g);
  zpt_optimizer_sgd->step(st, t2, g);
  ck_assert_float_eq_tol(t2[0], 1 - 0.1f * 0.5f * 2.5f, 1e-6f);
  ck_assert_float_eq_tol(t2[1], 2 + 0.1f * 2.0f * 2.5f, 1e-6f);
  zpt_optimizer_sgd->free(st);
  zpt_optimizer_sgd->free(NULL);
  ck_assert_str_eq(zpt_optimizer_adam->name, "adam");
  ck_assert_str_eq(zpt_sampler_zo_np->name, "zo-np");
  ck_assert_ptr_null(zpt_sampler_zo_i->fisher(NULL));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_loss");
  TCase *tc = tcase_create("zo_loss");
  tcase_add_test(tc, test_xent_values);
  tcase_add_test(tc, test_loss_errors);
  tcase_add_test(tc, test_accuracy);
  tcase_add_test(tc, test_fisher_G_softmax);
  tcase_add_test(tc, test_fisher_rows_match_G);
  tcase_add_test(tc, test_blocks);
  tcase_add_test(tc, test_memstate);
  tcase_add_test(tc, test_optimizers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
