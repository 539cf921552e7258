/* The toy linear regression (data/toy.c) and CSV regression tables
 * (data/csv.c with n_targets): the generator against its documented
 * streams recomputed here, the zero-predictor baseline, the CSV layout,
 * the row split of zpt_toy_load and every refusal. */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/testutil.h"
#include "zoptic.h"

static zpt_toy_config toy_cfg(double noise) {
  zpt_toy_config c = {5, 3, 400, 200, noise, 42};
  return c;
}

/* The generator recomputed from its documentation: W*, b* from stream
 * (seed, DATA, 0, 0); the residual y - (W* x + b*) of every sample. */
static void residuals(const zpt_toy_config *c, const zpt_dataset *d, double *res) {
  size_t di = c->inputs, m = c->outputs;
  gsl_rng *r = zpt_rng_alloc(c->seed, ZPT_STREAM_DATA, 0, 0);
  ck_assert_ptr_nonnull(r);
  double w[15], b[3];
  for (size_t k = 0; k < m * di; k++)
    w[k] = (float)gsl_ran_gaussian_ziggurat(r, 1.0 / sqrt((double)di));
  for (size_t i = 0; i < m; i++)
    b[i] = (float)gsl_ran_gaussian_ziggurat(r, 0.1);
  zpt_rng_free(r);
  for (size_t s = 0; s < d->n; s++)
    for (size_t i = 0; i < m; i++) {
      double acc = b[i];
      for (size_t k = 0; k < di; k++)
        acc += w[i * di + k] * d->inputs[s * di + k];
      res[s * m + i] = d->targets[s * m + i] - acc;
    }
}

START_TEST(test_toy_generate_follows_its_definition) {
  zpt_toy_config c = toy_cfg(0.0);
  zpt_dataset *tr, *te;
  ck_assert_int_eq(zpt_toy_generate(&c, &tr, &te), ZPT_OK);
  ck_assert_str_eq(tr->name, "toy");
  ck_assert_int_eq(tr->kind, ZPT_TASK_REGRESSION);
  ck_assert_uint_eq(tr->n, 400);
  ck_assert_uint_eq(te->n, 200);
  ck_assert_uint_eq(tr->input_size, 5);
  ck_assert_uint_eq(tr->target_size, 3);
  ck_assert_uint_eq(tr->n_classes, 0);
  /* noiseless: every target is the true model's output up to float rounding */
  double res[400 * 3], worst = 0;
  residuals(&c, tr, res);
  for (size_t k = 0; k < 400 * 3; k++)
    worst = fmax(worst, fabs(res[k]));
  ck_assert_msg(worst < 1e-5, "noiseless residual %g", worst);
  /* inputs ~ N(0, 1): the sample variance over 2000 values */
  double v = 0;
  for (size_t k = 0; k < 400 * 5; k++)
    v += (double)tr->inputs[k] * tr->inputs[k];
  v /= 2000;
  ck_assert_msg(fabs(v - 1) < 0.1, "input variance %g", v);
  /* the baseline: the zero predictor's mean squared error */
  double ref = 0;
  for (size_t k = 0; k < 200 * 3; k++)
    ref += (double)te->targets[k] * te->targets[k];
  ck_assert_msg(fabs(te->baseline_loss - ref / 600) <= 1e-12 * ref, "baseline %.17g, "
                "expected %.17g", te->baseline_loss, ref / 600);
  ck_assert(zpt_zero_predictor_loss(te) == te->baseline_loss);
  /* the test set comes from its own stream: not a copy of training rows */
  ck_assert(memcmp(tr->inputs, te->inputs, 5 * sizeof(float)) != 0);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
}
END_TEST

START_TEST(test_toy_noise_and_seeds) {
  zpt_toy_config c = toy_cfg(0.5);
  zpt_dataset *tr, *te, *tr2, *te2;
  ck_assert_int_eq(zpt_toy_generate(&c, &tr, &te), ZPT_OK);
  double res[400 * 3], var = 0;
  residuals(&c, tr, res);
  for (size_t k = 0; k < 400 * 3; k++)
    var += res[k] * res[k];
  var /= 1200;
  ck_assert_msg(fabs(sqrt(var) - 0.5) < 0.05, "noise deviation %g, expected 0.5", sqrt(var));
  /* the same seed: the same bits; another seed: other data */
  ck_assert_int_eq(zpt_toy_generate(&c, &tr2, &te2), ZPT_OK);
  ck_assert(memcmp(tr->inputs, tr2->inputs, 400 * 5 * sizeof(float)) == 0);
  ck_assert(memcmp(te->targets, te2->targets, 200 * 3 * sizeof(float)) == 0);
  zpt_dataset_free(tr2);
  zpt_dataset_free(te2);
  c.seed = 43;
  ck_assert_int_eq(zpt_toy_generate(&c, &tr2, &te2), ZPT_OK);
  ck_assert(memcmp(tr->inputs, tr2->inputs, 400 * 5 * sizeof(float)) != 0);
  zpt_dataset_free(tr2);
  zpt_dataset_free(te2);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
}
END_TEST

START_TEST(test_toy_refusals) {
  zpt_dataset *tr, *te;
  zpt_toy_config c = toy_cfg(0.01);
  c.inputs = 0;
  ck_assert_int_eq(zpt_toy_generate(&c, &tr, &te), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "data.toy_inputs = 0"));
  ck_assert_ptr_null(tr);
  c = toy_cfg(0.01);
  c.n_test = 0;
  ck_assert_int_eq(zpt_toy_generate(&c, &tr, &te), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "data.n_test = 0"));
  c = toy_cfg(-1);
  ck_assert_int_eq(zpt_toy_generate(&c, &tr, &te), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "data.toy_noise"));
}
END_TEST

START_TEST(test_csv_regression_columns) {
  const char *t = "x1,x2,y1,y2\n1,2,3,4.5\n# a comment\n\n-1,0.5,7,8\n";
  zpt_csv_options o = zpt_csv_defaults();
  o.n_targets = 2;
  zpt_dataset *d;
  zpt_csv_info info;
  ck_assert_int_eq(zpt_csv_read(t, strlen(t), "t", &o, "reg", &d, &info), ZPT_OK);
  ck_assert_uint_eq(info.header_line, 1);
  ck_assert_int_eq(d->kind, ZPT_TASK_REGRESSION);
  ck_assert_uint_eq(d->n, 2);
  ck_assert_uint_eq(d->input_size, 2);
  ck_assert_uint_eq(d->target_size, 2);
  ck_assert_uint_eq(d->n_classes, 0);
  float x[4] = {1, 2, -1, 0.5f}, y[4] = {3, 4.5f, 7, 8};
  ck_assert(memcmp(d->inputs, x, sizeof x) == 0);
  ck_assert(memcmp(d->targets, y, sizeof y) == 0);
  ck_assert_uint_eq(d->origin[1], 1);
  zpt_dataset_free(d);
  /* fractional "labels" are targets here, not an error */
  const char *frac = "1,0.25\n2,0.75\n";
  o.n_targets = 1;
  ck_assert_int_eq(zpt_csv_parse(frac, strlen(frac), "f", &o, "f", &d), ZPT_OK);
  ck_assert(d->targets[1] == 0.75f);
  zpt_dataset_free(d);
  /* refusals: no input column, a ragged row, a bad target */
  const char *narrow = "1,2\n3,4\n";
  o.n_targets = 2;
  ck_assert_int_eq(zpt_csv_parse(narrow, strlen(narrow), "n", &o, "n", &d), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "n:1: 2 columns, expected inputs and then 2 targets"));
  const char *ragged = "1,2,3\n4,5\n";
  o.n_targets = 1;
  ck_assert_int_eq(zpt_csv_parse(ragged, strlen(ragged), "r", &o, "r", &d), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "r:2: 2 columns, expected 3 like line 1"));
  const char *bad = "1,2,3\n4,5,nan\n";
  ck_assert_int_eq(zpt_csv_parse(bad, strlen(bad), "b", &o, "b", &d), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "b:2:3: 'nan' is not a number"));
}
END_TEST

START_TEST(test_toy_load_row_split) {
  char path[4096];
  snprintf(path, sizeof path, "%s/toy.csv", zpt_test_tmpdir());
  char text[2048];
  size_t len = 0;
  for (int r = 0; r < 10; r++) /* row r: inputs r, -r; target 10 r */
    len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d,%d\n", r, -r, 10 * r);
  ck_assert_int_eq(zpt_test_write_file(path, text, len), 0);
  zpt_dataset *tr, *te;
  /* defaults: a quarter (2) test after the other 8 */
  ck_assert_int_eq(zpt_toy_load(path, 2, 1, 0, 0, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(tr->n, 8);
  ck_assert_uint_eq(te->n, 2);
  ck_assert(tr->inputs[2 * 7] == 7 && te->inputs[0] == 8 && te->targets[1] == 90);
  ck_assert_int_eq(tr->kind, ZPT_TASK_REGRESSION);
  ck_assert(te->baseline_loss == (6400.0 + 8100.0) / 2);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  /* explicit: the first 3 train, the next 4 test, the last 3 unused */
  ck_assert_int_eq(zpt_toy_load(path, 2, 1, 3, 4, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(tr->n, 3);
  ck_assert_uint_eq(te->n, 4);
  ck_assert(te->inputs[0] == 3 && te->targets[3] == 60);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  /* refusals */
  ck_assert_int_eq(zpt_toy_load(path, 2, 1, 8, 4, &tr, &te), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "10 rows; need n_train + n_test = 8 + 4"));
  ck_assert_ptr_null(tr);
  ck_assert_int_eq(zpt_toy_load(path, 3, 1, 0, 0, &tr, &te), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "3 columns, expected 4: data.toy_inputs = 3"));
}
END_TEST

static Suite *toy_suite(void) {
  Suite *s = suite_create("data_toy");
  TCase *t = tcase_create("toy");
  tcase_add_test(t, test_toy_generate_follows_its_definition);
  tcase_add_test(t, test_toy_noise_and_seeds);
  tcase_add_test(t, test_toy_refusals);
  tcase_add_test(t, test_csv_regression_columns);
  tcase_add_test(t, test_toy_load_row_split);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(toy_suite()); }
