/* Tests of the models for plain feature vectors (issue #15, a table's rows
 * as a classification task): the dense MLP against a forward written out
 * here from its named views, and the MZI feature classifier against the
 * norm of its input projection (its meshes are unitary and modReLU with a
 * zero bias is the identity), plus the sample origins a split keeps. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "common/testutil.h"
#include "zoptic.h"

static const float *view(zpt_model *m, const char *name, size_t *size) {
  zpt_params *p = zpt_model_params(m);
  const zpt_view *v = zpt_params_find(p, name);
  ck_assert_msg(v != NULL, "no view %s", name);
  *size = v->size;
  return p->theta + v->offset;
}

/* out[o] = b[o] + sum_i W[o][i] x[i] */
static void dense_ref(const float *W, const float *b, const double *x, size_t in, size_t out,
                      double *y, int relu) {
  for (size_t o = 0; o < out; o++) {
    double s = b[o];
    for (size_t i = 0; i < in; i++)
      s += (double)W[o * in + i] * x[i];
    y[o] = relu && s < 0 ? 0 : s;
  }
}

START_TEST(test_mlp_forward_matches_reference) {
  zpt_mlp_config c = zpt_mlp_default(13, 3);
  zpt_model *m = zpt_mlp_alloc(&c);
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(zpt_model_n_params(m), 547); /* 13*32 + 32 + 32*3 + 3 */
  c.layers = 2;
  c.hidden = 5;
  zpt_model *m2 = zpt_mlp_alloc(&c);
  ck_assert_ptr_nonnull(m2);
  ck_assert_uint_eq(zpt_model_n_params(m2), 13 * 5 + 5 + 5 * 5 + 5 + 5 * 3 + 3);
  zpt_model_init(m2, 7);
  float x[2 * 13], out[2 * 3];
  for (size_t i = 0; i < 26; i++)
    x[i] = (float)sin(0.7 * (double)i) * 2.0f;
  ck_assert_int_eq(zpt_model_forward(m2, zpt_model_params(m2)->theta, x, 2, out, NULL),
                   ZPT_OK);
  size_t n;
  const float *W1 = view(m2, "fc1.weight", &n), *b1 = view(m2, "fc1.bias", &n);
  const float *W2 = view(m2, "fc2.weight", &n), *b2 = view(m2, "fc2.bias", &n);
  const float *W3 = view(m2, "head.weight", &n), *b3 = view(m2, "head.bias", &n);
  for (size_t s = 0; s < 2; s++) {
    double in[13], h1[5], h2[5], y[3];
    for (size_t i = 0; i < 13; i++)
      in[i] = x[s * 13 + i];
    dense_ref(W1, b1, in, 13, 5, h1, 1);
    dense_ref(W2, b2, h1, 5, 5, h2, 1);
    dense_ref(W3, b3, h2, 5, 3, y, 0);
    for (size_t o = 0; o < 3; o++)
      ck_assert_msg(fabs(out[s * 3 + o] - y[o]) <= 1e-5 * (1 + fabs(y[o])),
                    "sample %zu output %zu: %g vs %g", s, o, (double)out[s * 3 + o], y[o]);
  }
  zpt_model_free(m);
  zpt_model_free(m2);
  c.n_classes = 1;
  ck_assert_ptr_null(zpt_mlp_alloc(&c));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), ">= 2 classes"));
}
END_TEST

START_TEST(test_mzi_feature_classifier_power) {
  zpt_model *m;
  ck_assert_int_eq(zpt_mzi_feature_classifier_alloc(13, 16, 0, 3, NULL, &m), ZPT_OK);
  ck_assert_uint_eq(zpt_model_n_params(m), 2 * 13 * 16 + 3 * 16 * 16); /* map + 3K^2 */
  ck_assert_uint_eq(zpt_model_output_size(m), 3);
  zpt_model_free(m);
  /* every channel read: the detected power is |W x|^2 */
  const size_t F = 7, K = 6;
  ck_assert_int_eq(zpt_mzi_feature_classifier_alloc(F, K, 0, K, NULL, &m), ZPT_OK);
  zpt_model_init(m, 3);
  float x[F], out[K];
  for (size_t i = 0; i < F; i++)
    x[i] = (float)cos(1.3 * (double)i + 0.2);
  ck_assert_int_eq(zpt_model_forward(m, zpt_model_params(m)->theta, x, 1, out, NULL), ZPT_OK);
  size_t n;
  const float *re = view(m, "in.re", &n), *im = view(m, "in.im", &n);
  ck_assert_uint_eq(n, F * K);
  double want = 0, got = 0;
  for (size_t k = 0; k < K; k++) {
    double a = 0, b = 0;
    for (size_t i = 0; i < F; i++) {
      a += (double)re[k * F + i] * x[i];
      b += (double)im[k * F + i] * x[i];
    }
    want += a * a + b * b;
    got += out[k];
    ck_assert(out[k] >= 0);
  }
  ck_assert_msg(fabs(got - want) <= 1e-4 * want, "detected %g, projected %g", got, want);
  zpt_model_free(m);
  ck_assert_int_eq(zpt_mzi_feature_classifier_alloc(13, 4, 0, 5, NULL, &m), ZPT_EINVAL);
  ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_split_keeps_origins) {
  const char *t = "a,b,y\n1,10,0\n2,20,1\n3,30,0\n4,40,1\n5,50,0\n6,60,1\n";
  zpt_dataset *d, *tr, *te;
  ck_assert_int_eq(zpt_csv_parse(t, strlen(t), "t.csv", NULL, "t", &d), ZPT_OK);
  ck_assert_int_eq(zpt_split_random(d, 2, 5, &tr, &te), ZPT_OK);
  int seen[6] = {0};
  for (size_t i = 0; i < tr->n; i++) {
    size_t o = tr->origin[i];
    ck_assert(zpt_dataset_input(tr, i)[0] == (float)(o + 1)); /* row o holds o + 1 */
    seen[o]++;
  }
  for (size_t i = 0; i < te->n; i++) {
    size_t o = te->origin[i];
    ck_assert(zpt_dataset_input(te, i)[1] == (float)(10 * (o + 1)));
    seen[o]++;
  }
  for (int k = 0; k < 6; k++)
    ck_assert_int_eq(seen[k], 1);
  zpt_dataset *f;
  ck_assert_int_eq(zpt_dft_features(te, 1, "f", &f), ZPT_OK);
  ck_assert(f->origin && f->origin[1] == te->origin[1]);
  zpt_dataset_free(f);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  zpt_dataset_free(d);
}
END_TEST

/* data.task = csv through the configuration: header detected, labels 1..3
 * mapped, standardisation on by default with the statistics of the
 * training rows only (checked against the file's values by origin). */
START_TEST(test_setup_csv_task) {
  char path[512];
  snprintf(path, sizeof path, "%s/t.csv", zpt_test_tmpdir());
  char text[4096] = "class,alcohol,proline\n";
  size_t len = strlen(text);
  double raw[30][2];
  for (int i = 0; i < 30; i++) {
    raw[i][0] = 12 + 0.1 * i;
    raw[i][1] = 1000 + 37 * ((i * 7) % 30);
    len += (size_t)snprintf(text + len, sizeof text - len, "%d,%.1f,%.0f\n", 1 + i % 3,
                            raw[i][0], raw[i][1]);
  }
  ck_assert_int_eq(zpt_test_write_file(path, text, len), 0);
  zpt_config *c = zpt_config_alloc();
  char ini[1024];
  snprintf(ini, sizeof ini, "[data]\ntask = csv\npath = %s\nlabel_column = 0\nn_test = 6\n"
           "[model]\nkind = mlp\n", path);
  ck_assert_int_eq(zpt_config_parse_string(c, ini, "t.ini"), ZPT_OK);
  zpt_dataset *tr, *te;
  ck_assert_int_eq(zpt_setup_data(c, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(tr->n, 24);
  ck_assert_uint_eq(te->n, 6);
  ck_assert_uint_eq(tr->n_classes, 3);
  ck_assert_ptr_nonnull(strstr(zpt_setup_data_note(), "line 1 taken as the header"));
  ck_assert_ptr_nonnull(strstr(zpt_setup_data_note(), "'1' -> 0 (10 rows)"));
  double mean[2] = {0, 0}, sd[2] = {0, 0};
  for (size_t i = 0; i < tr->n; i++)
    for (int f = 0; f < 2; f++)
      mean[f] += raw[tr->origin[i]][f] / (double)tr->n;
  for (size_t i = 0; i < tr->n; i++)
    for (int f = 0; f < 2; f++)
      sd[f] += pow(raw[tr->origin[i]][f] - mean[f], 2) / (double)tr->n;
  for (int pass = 0; pass < 2; pass++) {
    const zpt_dataset *d = pass ? te : tr;
    for (size_t i = 0; i < d->n; i++) {
      size_t o = d->origin[i];
      ck_assert(d->targets[i] == (float)(o % 3));
      for (int f = 0; f < 2; f++) {
        double want = (raw[o][f] - mean[f]) / sqrt(sd[f]);
        ck_assert_msg(fabs(zpt_dataset_input(d, i)[f] - want) < 1e-4,
                      "row %zu feature %d: %g, expected %g", o, f,
                      (double)zpt_dataset_input(d, i)[f], want);
      }
    }
  }
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  /* off when asked: the raw values */
  ck_assert_int_eq(zpt_config_set(c, "data.standardize=false"), ZPT_OK);
  ck_assert_int_eq(zpt_setup_data(c, &tr, &te), ZPT_OK);
  ck_assert(zpt_dataset_input(tr, 0)[1] == (float)raw[tr->origin[0]][1]);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  zpt_config_free(c);
}
END_TEST

static Suite *tabular_suite(void) {
  Suite *s = suite_create("tabular");
  TCase *t = tcase_create("models");
  tcase_add_test(t, test_mlp_forward_matches_reference);
  tcase_add_test(t, test_mzi_feature_classifier_power);
  tcase_add_test(t, test_split_keeps_origins);
  tcase_add_test(t, test_setup_csv_task);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(tabular_suite()); }
