/* The library API added for programs (#14): zpt_blackbox_callback (a user
 * function as the black box: variations applied exactly, errors reported
 * with the query and the function's own message, bad arguments refused) and
 * zpt_model_theta (the model's parameters without reaching into structs). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/testutil.h"
#include "zoptic.h"

/* outputs per sample: theta[k] * (1 + input), k < 3, plus the sum of theta */
static int affine(const float *theta, const float *in, size_t batch, float *out, void *user) {
  int *calls = user;
  (*calls)++;
  for (size_t i = 0; i < batch; i++) {
    float s = 0;
    for (int k = 0; k < 3; k++) {
      out[4 * i + k] = theta[k] * (1.0f + in[i]);
      s += theta[k];
    }
    out[4 * i + 3] = s;
  }
  return 0;
}

START_TEST(test_callback_variations) {
  int calls = 0;
  zpt_blackbox *bb = zpt_blackbox_callback(affine, &calls, 3, 1, 4);
  ck_assert_ptr_nonnull(bb);
  ck_assert_uint_eq(bb->n_params, 3);
  ck_assert_uint_eq(bb->output_size, 4);
  const float theta[3] = {1.0f, -2.0f, 0.5f}, in[2] = {0.0f, 1.0f};
  const float d1[2] = {0.25f, -1.0f}, d2[3] = {1.0f, 1.0f, 1.0f};
  zpt_variation v[3] = {{0, 0, 0.0f, NULL}, {1, 2, 2.0f, d1}, {0, 3, -0.5f, d2}};
  float out[3 * 2 * 4];
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, v, 3, in, 2, out, 0), ZPT_OK);
  ck_assert_int_eq(calls, 3); /* one call per variation */
  /* independent computation of each variation's theta */
  const float want_theta[3][3] = {{1.0f, -2.0f, 0.5f},
                                  {1.0f, -2.0f + 2.0f * 0.25f, 0.5f + 2.0f * -1.0f},
                                  {1.0f - 0.5f, -2.0f - 0.5f, 0.5f - 0.5f}};
  for (int q = 0; q < 3; q++)
    for (int i = 0; i < 2; i++) {
      float s = 0;
      for (int k = 0; k < 3; k++) {
        ck_assert_float_eq_tol(out[q * 8 + i * 4 + k], want_theta[q][k] * (1.0f + in[i]), 1e-6f);
        s += want_theta[q][k];
      }
      ck_assert_float_eq_tol(out[q * 8 + i * 4 + 3], s, 1e-6f);
    }
  zpt_blackbox_free(bb);
}
END_TEST

static int fails_plain(const float *th, const float *in, size_t b, float *out, void *user) {
  (void)th, (void)in, (void)b, (void)out, (void)user;
  return 7; /* not a zoptic status */
}

static int fails_with_message(const float *th, const float *in, size_t b, float *out,
                              void *user) {
  (void)th, (void)in, (void)b, (void)out, (void)user;
  return zpt_fail(ZPT_ENUMERIC, "pressure sensor saturated");
}

START_TEST(test_callback_errors) {
  const float theta[2] = {0, 0}, in[1] = {0};
  float out[2];
  zpt_variation v[2] = {{0, 0, 0.0f, NULL}, {0, 0, 0.0f, NULL}};
  zpt_blackbox *bb = zpt_blackbox_callback(fails_plain, NULL, 2, 1, 1);
  ck_assert_ptr_nonnull(bb);
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, v, 1, in, 1, out, 41), ZPT_EBACKEND);
  ck_assert_msg(strstr(zpt_error_message(), "returned 7 at query 41"), "%s", zpt_error_message());
  zpt_blackbox_free(bb);

  bb = zpt_blackbox_callback(fails_with_message, NULL, 2, 1, 1);
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, v, 2, in, 1, out, 0), ZPT_ENUMERIC);
  ck_assert_msg(strstr(zpt_error_message(), "pressure sensor saturated"), "%s", zpt_error_message());
  /* a variation outside theta is refused, not applied */
  const float d[3] = {1, 1, 1};
  zpt_variation bad = {1, 3, 1.0f, d};
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, &bad, 1, in, 1, out, 0), ZPT_EINVAL);
  zpt_blackbox_free(bb);

  ck_assert_ptr_null(zpt_blackbox_callback(NULL, NULL, 2, 1, 1));
  ck_assert_int_eq(zpt_error_status(), ZPT_EINVAL);
  ck_assert_ptr_null(zpt_blackbox_callback(fails_plain, NULL, 0, 1, 1));
  ck_assert_msg(strstr(zpt_error_message(), "n_params 0"), "%s", zpt_error_message());
}
END_TEST

/* A trainer over the callback black box minimises a quadratic: the loss
 * falls by orders of magnitude (the trainer sees only the outputs). */
static int quad(const float *th, const float *in, size_t b, float *out, void *user) {
  (void)in, (void)user;
  for (size_t i = 0; i < b; i++)
    for (int k = 0; k < 4; k++)
      out[4 * i + k] = (float)(k + 1) * (th[k] - 0.5f);
  return 0;
}

START_TEST(test_callback_trains) {
  zpt_blackbox *bb = zpt_blackbox_callback(quad, NULL, 4, 1, 4);
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  cfg.loss = zpt_loss_mse();
  cfg.q = 4;
  cfg.optim.lr = 0.02;
  cfg.budget = 4000;
  const float theta0[4] = {0}, in[1] = {0}, y[4] = {0};
  zpt_trainer *t;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, theta0, &cfg), ZPT_OK);
  zpt_eval_result r0, r1;
  ck_assert_int_eq(zpt_trainer_evaluate(t, in, y, 1, 1, &r0), ZPT_OK);
  zpt_iter_info info;
  int rc;
  while ((rc = zpt_trainer_iterate(t, in, y, 1, &info)) == ZPT_OK) {
  }
  ck_assert_int_eq(rc, ZPT_EBUDGET);
  ck_assert_int_eq(zpt_trainer_evaluate(t, in, y, 1, 1, &r1), ZPT_OK);
  /* closed form at theta0 = 0: (1/4) sum ((k+1) 0.5)^2 = 1.875 */
  ck_assert_double_eq_tol(r0.loss, 1.875, 1e-6);
  ck_assert_msg(r1.loss < 1e-3 * r0.loss, "loss %g -> %g", r0.loss, r1.loss);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_model_theta) {
  zpt_model *m;
  ck_assert_int_eq(zpt_mzi_classifier_alloc(64, 16, 0, NULL, &m), ZPT_OK);
  zpt_model_init(m, 3);
  float *th = zpt_model_theta(m);
  ck_assert_ptr_eq(th, zpt_model_params(m)->theta);
  ck_assert_uint_eq(zpt_model_n_params(m), 768);
  size_t nonzero = 0;
  for (size_t k = 0; k < zpt_model_n_params(m); k++)
    nonzero += th[k] != 0.0f;
  ck_assert_uint_gt(nonzero, 0);
  ck_assert_ptr_null(zpt_model_theta(NULL));
  zpt_model_free(m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("library_api");
  TCase *tc = tcase_create("library_api");
  tcase_add_test(tc, test_callback_variations);
  tcase_add_test(tc, test_callback_errors);
  tcase_add_test(tc, test_callback_trains);
  tcase_add_test(tc, test_model_theta);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
