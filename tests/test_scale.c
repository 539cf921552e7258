/* Issue #18 (scale): the CIFAR-shaped synthetic data set and the paper's
 * 1.7M-parameter MLP-mixer as a task config. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/testutil.h"
#include "data/synthetic.h"
#include "io/config.h"
#include "io/setup.h"
#include "nn/builders.h"
#include "zo/blocks.h"
#include "zoptic.h"

START_TEST(test_synthetic_shape_determinism) {
  zpt_dataset *a = NULL, *b = NULL, *c = NULL, *p = NULL;
  ck_assert_int_eq(zpt_cifar_synthetic_generate(300, 7, &a), ZPT_OK);
  ck_assert_str_eq(a->name, "cifar10-synthetic");
  ck_assert_int_eq(a->kind, ZPT_TASK_CLASSIFICATION);
  ck_assert_uint_eq(a->n, 300);
  ck_assert_uint_eq(a->input_size, 3072);
  ck_assert_uint_eq(a->target_size, 1);
  ck_assert_uint_eq(a->n_classes, 10);
  ck_assert_uint_eq(a->channels, 3);
  ck_assert_uint_eq(a->height, 32);
  ck_assert_uint_eq(a->width, 32);
  size_t count[10] = {0}, clipped = 0;
  for (size_t k = 0; k < a->n; k++) {
    float t = a->targets[k];
    ck_assert(t == floorf(t) && t >= 0.0f && t < 10.0f);
    count[(size_t)t]++;
    for (size_t i = 0; i < 3072; i++) {
      float v = zpt_dataset_input(a, k)[i];
      ck_assert(v >= 0.0f && v <= 1.0f);
      clipped += v == 0.0f || v == 1.0f;
    }
  }
  /* every class present (300 draws of 10: P(a class absent) < 1e-3) and
   * pixels mostly inside the range, not saturated */
  for (int c10 = 0; c10 < 10; c10++)
    ck_assert_uint_gt(count[c10], 0);
  ck_assert_uint_lt(clipped, a->n * 3072 / 10);
  /* same seed: same bits; a smaller n is a prefix; another seed differs */
  ck_assert_int_eq(zpt_cifar_synthetic_generate(300, 7, &b), ZPT_OK);
  ck_assert_mem_eq(a->inputs, b->inputs, 300 * 3072 * sizeof(float));
  ck_assert_mem_eq(a->targets, b->targets, 300 * sizeof(float));
  ck_assert_int_eq(zpt_cifar_synthetic_generate(40, 7, &p), ZPT_OK);
  ck_assert_mem_eq(a->inputs, p->inputs, 40 * 3072 * sizeof(float));
  ck_assert_int_eq(zpt_cifar_synthetic_generate(300, 8, &c), ZPT_OK);
  ck_assert(memcmp(a->inputs, c->inputs, 3072 * sizeof(float)) != 0);
  zpt_dataset_free(a);
  zpt_dataset_free(b);
  zpt_dataset_free(c);
  zpt_dataset_free(p);
  ck_assert_int_eq(zpt_cifar_synthetic_generate(0, 7, &a), ZPT_EINVAL);
  ck_assert_ptr_null(a);
}
END_TEST

/* The classes are separable but not trivially: a nearest-class-mean
 * classifier fitted on 1,500 samples classifies 500 others far above chance
 * (10%), and below perfection (noise, shifts, contrast). */
START_TEST(test_synthetic_learnable) {
  zpt_dataset *d = NULL;
  ck_assert_int_eq(zpt_cifar_synthetic_generate(2000, 3, &d), ZPT_OK);
  static double mean[10][3072];
  size_t cnt[10] = {0};
  memset(mean, 0, sizeof mean);
  for (size_t k = 0; k < 1500; k++) {
    size_t c = (size_t)d->targets[k];
    cnt[c]++;
    for (size_t i = 0; i < 3072; i++)
      mean[c][i] += zpt_dataset_input(d, k)[i];
  }
  for (size_t c = 0; c < 10; c++)
    for (size_t i = 0; i < 3072; i++)
      mean[c][i] /= (double)cnt[c];
  size_t right = 0;
  for (size_t k = 1500; k < 2000; k++) {
    const float *x = zpt_dataset_input(d, k);
    double best = INFINITY;
    size_t arg = 0;
    for (size_t c = 0; c < 10; c++) {
      double s = 0;
      for (size_t i = 0; i < 3072; i++)
        s += (x[i] - mean[c][i]) * (x[i] - mean[c][i]);
      if (s < best) {
        best = s;
        arg = c;
      }
    }
    right += arg == (size_t)d->targets[k];
  }
  double acc = (double)right / 500.0;
  ck_assert_msg(acc > 0.4 && acc < 0.999, "nearest-mean accuracy %.3f", acc);
  zpt_dataset_free(d);
}
END_TEST

static zpt_config *paper_config(const char *path) {
  zpt_config *c = zpt_config_alloc();
  ck_assert_ptr_nonnull(c);
  ck_assert_msg(zpt_config_parse_file(c, path) == ZPT_OK, "%s: %s", path, zpt_error_message());
  ck_assert_int_eq(zpt_config_set(c, "data.task=cifar10-synthetic"), ZPT_OK);
  ck_assert_int_eq(zpt_config_set(c, "data.n_train=12"), ZPT_OK);
  ck_assert_int_eq(zpt_config_set(c, "data.n_test=4"), ZPT_OK);
  return c;
}

/* experiments/paper-mixer-large-cifar10.ini is the rebuttal's network: 12
 * mixer blocks of width 256 on 4x4 patches of 32x32x3 (64 tokens), token MLP
 * 64, channel MLP 256 (the rule that gives 33,642 for the small one),
 * N = 1,706,762, and the paper's block counts B = 3,334 / 6,668 / 13,335 at
 * N_max = 512 / 256 / 128.  The small one: 33,642 and 66 blocks of <= 510. */
START_TEST(test_paper_mixer_configs) {
  const struct {
    const char *path;
    size_t n, nmax, blocks, n_mixers, width;
  } cases[] = {{"experiments/paper-mixer-large-cifar10.ini", 1706762, 512, 3334, 12, 256},
               {"experiments/paper-mixer-cifar10.ini", 33642, 510, 66, 3, 32}};
  for (size_t k = 0; k < 2; k++) {
    zpt_config *c = paper_config(cases[k].path);
    zpt_dataset *tr = NULL, *te = NULL;
    ck_assert_int_eq(zpt_setup_data(c, &tr, &te), ZPT_OK);
    ck_assert_uint_eq(tr->n, 12);
    ck_assert_uint_eq(te->n, 4);
    ck_assert_uint_eq(tr->input_size, 3072);
    zpt_model *m = NULL;
    zpt_setup_model_info info;
    ck_assert_int_eq(zpt_setup_model(c, tr, &m, &info), ZPT_OK);
    ck_assert_uint_eq(zpt_model_n_params(m), cases[k].n);
    ck_assert_uint_eq(zpt_model_output_size(m), 10);
    /* embed, the mixer blocks, norm, gap, head */
    ck_assert_uint_eq(zpt_model_n_layers(m), cases[k].n_mixers + 4);
    char last[32];
    snprintf(last, sizeof last, "block%zu", cases[k].n_mixers - 1);
    ck_assert_ptr_nonnull(zpt_model_find_layer(m, last));
    zpt_zo_config zc;
    ck_assert_int_eq(zpt_setup_zo_config(c, &info, &zc), ZPT_OK);
    ck_assert_uint_eq(zc.n_max, cases[k].nmax);
    ck_assert_uint_eq(zpt_blocks_count(cases[k].n, zc.n_max), cases[k].blocks);
    zpt_model_free(m);
    zpt_dataset_free(tr);
    zpt_dataset_free(te);
    zpt_config_free(c);
  }
  ck_assert_uint_eq(zpt_blocks_count(1706762, 256), 6668);
  ck_assert_uint_eq(zpt_blocks_count(1706762, 128), 13335);
  /* the builder's formula agrees, and width 256 = channel MLP 256 */
  zpt_mixer_config mc = zpt_mixer_large();
  ck_assert_uint_eq(mc.width, 256);
  ck_assert_uint_eq(mc.blocks, 12);
  ck_assert_uint_eq(mc.patch, 4);
  ck_assert_uint_eq(mc.token_hidden, 64);
  ck_assert_uint_eq(mc.channel_hidden, 256);
  ck_assert_uint_eq(zpt_mixer_n_params(&mc), 1706762);
}
END_TEST

int main(void) {
  Suite *s = suite_create("scale");
  TCase *t = tcase_create("synthetic");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_synthetic_shape_determinism);
  tcase_add_test(t, test_synthetic_learnable);
  tcase_add_test(t, test_paper_mixer_configs);
  suite_add_tcase(s, t);
  return zpt_test_run(s);
}
