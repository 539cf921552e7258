/* Issue #18 (scale): the CIFAR-shaped synthetic data set and the paper's
 * 1.7M-parameter MLP-mixer as a task config. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "data/synthetic.h"
#include "io/config.h"
#include "tasks/tasks.h"
#include "nn/nn_internal.h"
#include "nn/builders.h"
#include "zo/blocks.h"
#include "zo/fisher.h"
#include "zo/memstate.h"
#include "core/rng.h"
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


/* The mixer's vectorised GELU against the formula in double,
 * x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))) (the same function as
 * 0.5 x (1 + tanh(...)), without its cancellation), and against nn_gelu
 * (expf): relative to max(|x|, 1e-3) within 2e-6 over [-30, 30], exact
 * limits far out. */
START_TEST(test_gelu_fast) {
  const size_t n = 600001;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ck_assert(x && y);
  for (size_t i = 0; i < n; i++)
    x[i] = y[i] = (float)(-30.0 + 60.0 * (double)i / (double)(n - 1));
  nn_gelu_inplace(y, n);
  double worst = 0, worst_f = 0;
  for (size_t i = 0; i < n; i++) {
    double v = x[i], u = 1.5957691216057308 * (v + 0.044715 * v * v * v);
    double ref = v / (1.0 + exp(-u)), scale = fabs(v) > 1e-3 ? fabs(v) : 1e-3;
    double e = fabs(y[i] - ref) / scale, ef = fabs(y[i] - nn_gelu(x[i])) / scale;
    worst = e > worst ? e : worst;
    worst_f = ef > worst_f ? ef : worst_f;
  }
  ck_assert_msg(worst < 2e-6, "fast GELU vs double: %.3g", worst);
  ck_assert_msg(worst_f < 2e-6, "fast GELU vs nn_gelu: %.3g", worst_f);
  float far[4] = {-1000.0f, -100.0f, 100.0f, 1000.0f};
  nn_gelu_inplace(far, 4);
  ck_assert(fabsf(far[0]) < 1e-30f && fabsf(far[1]) < 1e-30f);
  ck_assert(far[2] == 100.0f && far[3] == 1000.0f);
  free(x);
  free(y);
}
END_TEST

static void ln_ref(const float *x, size_t D, const float *g, const float *b, double *out) {
  double m = 0, v = 0;
  for (size_t c = 0; c < D; c++)
    m += x[c];
  m /= (double)D;
  for (size_t c = 0; c < D; c++)
    v += (x[c] - m) * (x[c] - m);
  v /= (double)D;
  for (size_t c = 0; c < D; c++)
    out[c] = (x[c] - m) / sqrt(v + 1e-5) * g[c] + b[c];
}

static double gelu_ref(double v) {
  return v / (1.0 + exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)));
}

/* One mixer block of the large mixer's size (64 tokens x 256 channels, token
 * MLP 64, channel MLP 256) on 130 samples: the layer works in sub-batches of
 * 128 (16 MB of scratch), its token mixing as one product over a sub-batch.
 * Samples on both sides of the boundary against a per-sample reference in
 * double written from the definitions (random parameters, gains != 1). */
START_TEST(test_mixer_block_large_vs_reference) {
  const size_t S = 64, D = 256, Ds = 64, Dc = 256, n = 130;
  zpt_model *m = zpt_model_alloc_shaped(zpt_shape_seq(S, D));
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(zpt_model_add_mixer_block(m, "mb", Ds, Dc, ZPT_INIT_XAVIER), ZPT_OK);
  size_t N = zpt_model_n_params(m);
  float *th = zpt_model_params(m)->theta;
  gsl_rng *r = zpt_rng_alloc(11, ZPT_STREAM_TEST, 18, 0);
  for (size_t i = 0; i < N; i++)
    th[i] = (float)gsl_ran_gaussian(r, 0.08);
  /* views in order: ln1 gain, bias, token w1, b1, w2, b2, ln2 gain, bias,
   * channel w1, b1, w2, b2 */
  const float *g1 = th, *b1 = g1 + D, *tw1 = b1 + D, *tb1 = tw1 + Ds * S, *tw2 = tb1 + Ds;
  const float *tb2 = tw2 + S * Ds, *g2 = tb2 + S, *b2 = g2 + D, *cw1 = b2 + D;
  const float *cb1 = cw1 + Dc * D, *cw2 = cb1 + Dc, *cb2 = cw2 + D * Dc;
  ck_assert_ptr_eq(cb2 + D, th + N);
  for (size_t c = 0; c < D; c++) {
    th[c] += 1.0f;                          /* ln1 gain around 1 */
    th[(size_t)(g2 - th) + c] += 1.0f;      /* ln2 gain */
  }
  float *x = malloc(n * S * D * sizeof *x), *y = malloc(n * S * D * sizeof *y);
  ck_assert(x && y);
  for (size_t i = 0; i < n * S * D; i++)
    x[i] = (float)gsl_ran_gaussian(r, 1.0);
  ck_assert_int_eq(zpt_model_forward(m, th, x, n, y, NULL), ZPT_OK);
  double *u = malloc(S * D * sizeof *u), *x1 = malloc(S * D * sizeof *x1);
  double *h = malloc((Ds > Dc ? Ds : Dc) * sizeof *h);
  float *x1f = malloc(S * D * sizeof *x1f), *want = malloc(S * D * sizeof *want);
  ck_assert(u && x1 && h && x1f && want);
  const size_t check[4] = {0, 127, 128, 129};
  for (size_t k = 0; k < 4; k++) {
    const float *xs = x + check[k] * S * D;
    for (size_t t = 0; t < S; t++)
      ln_ref(xs + t * D, D, g1, b1, u + t * D);
    for (size_t c = 0; c < D; c++) {
      for (size_t j = 0; j < Ds; j++) {
        double a = tb1[j];
        for (size_t t = 0; t < S; t++)
          a += (double)tw1[j * S + t] * u[t * D + c];
        h[j] = gelu_ref(a);
      }
      for (size_t t = 0; t < S; t++) {
        double a = tb2[t];
        for (size_t j = 0; j < Ds; j++)
          a += (double)tw2[t * Ds + j] * h[j];
        x1[t * D + c] = xs[t * D + c] + a;
        x1f[t * D + c] = (float)x1[t * D + c];
      }
    }
    for (size_t t = 0; t < S; t++) {
      ln_ref(x1f + t * D, D, g2, b2, u + t * D);
      for (size_t j = 0; j < Dc; j++) {
        double a = cb1[j];
        for (size_t c = 0; c < D; c++)
          a += (double)cw1[j * D + c] * u[t * D + c];
        h[j] = gelu_ref(a);
      }
      for (size_t c = 0; c < D; c++) {
        double a = cb2[c];
        for (size_t j = 0; j < Dc; j++)
          a += (double)cw2[c * Dc + j] * h[j];
        want[t * D + c] = (float)(x1[t * D + c] + a);
      }
    }
    ZPT_ASSERT_CLOSE(y + check[k] * S * D, want, S * D, 2e-4, "large mixer block");
  }
  free(u), free(x1), free(h), free(x1f), free(want), free(x), free(y);
  gsl_rng_free(r);
  zpt_model_free(m);
}
END_TEST

/* Fisher store with alpha = 1 (the default): only L_b is kept (half the
 * memory per block); F_b comes back as L L^T - shift I within rounding of
 * the normalised estimate that was factorised; a checkpoint round trip
 * restores L_b, the shifts and the draws bit for bit; an older checkpoint
 * without fisher/shift derives them; alpha < 1 keeps F_b. */
START_TEST(test_fisher_compact_store) {
  zpt_blocks *bl;
  ck_assert_int_eq(zpt_blocks_alloc(&bl, 100, 40, NULL, 0), ZPT_OK);
  const double rho = 0.5;
  zpt_fisher *fa, *fk;
  ck_assert_int_eq(zpt_fisher_alloc(&fa, bl, rho, 1, 1.0, 1), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_alloc(&fk, bl, rho, 1, 0.5, 1), ZPT_OK);
  gsl_rng *r = zpt_rng_alloc(5, ZPT_STREAM_TEST, 18, 1);
  const size_t m = bl->max_len;
  double *F = malloc(m * m * sizeof *F), *G = malloc(m * m * sizeof *G);
  double *Z = malloc(60 * m * sizeof *Z);
  ck_assert(F && G && Z);
  for (size_t b = 0; b < 2; b++) { /* blocks 0 and 1 of 3 */
    size_t n = zpt_block_len(bl, b);
    for (size_t k = 0; k < 60 * n; k++)
      Z[k] = gsl_ran_gaussian(r, 1.0) * (1.0 + (double)(k % n) / 7.0);
    double tr = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double v = 0;
        for (size_t k = 0; k < 60; k++)
          v += Z[k * n + i] * Z[k * n + j];
        F[i * n + j] = v;
        tr += i == j ? v : 0;
      }
    ck_assert_int_eq(zpt_fisher_update_dense(fa, b, F), ZPT_OK);
    ck_assert_int_eq(zpt_fisher_update_dense(fk, b, F), ZPT_OK);
    ck_assert_ptr_null(fa->fisher[b]);
    ck_assert_ptr_nonnull(fa->chol[b]);
    ck_assert_ptr_nonnull(fk->fisher[b]);
    ck_assert(fa->shift[b] == rho);
    zpt_fisher_get(fa, b, G);
    double worst = 0;
    for (size_t k = 0; k < n * n; k++) {
      double want = F[k] * (double)n / tr;
      worst = fmax(worst, fabs(G[k] - want) / fmax(1.0, fabs(want)));
    }
    ck_assert_msg(worst < 1e-12, "block %zu: F from L L^T - rho I: %.3g", b, worst);
  }
  ck_assert_uint_eq(fa->n_present, 2);
  ck_assert_ptr_null(fa->chol[2]);
  /* checkpoint round trip */
  zpt_memstate *ms = zpt_memstate_alloc(), *old = zpt_memstate_alloc();
  zpt_state_writer w, wo;
  zpt_state_reader rd, ro;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &rd);
  ck_assert_int_eq(zpt_fisher_save(fa, &w, "x/"), ZPT_OK);
  zpt_fisher *fc;
  ck_assert_int_eq(zpt_fisher_alloc(&fc, bl, rho, 1, 1.0, 1), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_load(fc, &rd, "x/"), ZPT_OK);
  ck_assert_uint_eq(fc->n_present, 2);
  float ua[40], uc[40];
  for (size_t b = 0; b < 2; b++) {
    size_t np = zpt_packed_size(zpt_block_len(bl, b));
    ck_assert_ptr_null(fc->fisher[b]);
    ck_assert_mem_eq(fa->chol[b], fc->chol[b], np * sizeof(double));
    ck_assert(fc->shift[b] == fa->shift[b]);
    zpt_rng_derive(r, 9, ZPT_STREAM_PERTURB, b, 0);
    zpt_fisher_sample(fa, b, r, ua);
    zpt_rng_derive(r, 9, ZPT_STREAM_PERTURB, b, 0);
    zpt_fisher_sample(fc, b, r, uc);
    ck_assert_mem_eq(ua, uc, zpt_block_len(bl, b) * sizeof(float));
  }
  /* the same checkpoint without fisher/shift (written before #18) */
  zpt_memstate_writer(old, &wo);
  zpt_memstate_reader(old, &ro);
  for (size_t i = 0; i < zpt_memstate_count(ms); i++) {
    const char *name = zpt_memstate_name(ms, i);
    if (strstr(name, "fisher/shift"))
      continue;
    zpt_elem_type ty;
    size_t cnt;
    void *data = zpt_memstate_data(ms, name, &ty, &cnt);
    ck_assert_int_eq(wo.put(&wo, name, ty, data, cnt), ZPT_OK);
  }
  zpt_fisher *fo;
  ck_assert_int_eq(zpt_fisher_alloc(&fo, bl, rho, 1, 1.0, 1), ZPT_OK);
  ck_assert_int_eq(zpt_fisher_load(fo, &ro, "x/"), ZPT_OK);
  for (size_t b = 0; b < 2; b++)
    ck_assert_msg(fabs(fo->shift[b] - rho) < 1e-12, "derived shift %.17g", fo->shift[b]);
  zpt_fisher_free(fo);
  zpt_fisher_free(fc);
  zpt_fisher_free(fa);
  zpt_fisher_free(fk);
  zpt_memstate_free(ms);
  zpt_memstate_free(old);
  zpt_blocks_free(bl);
  gsl_rng_free(r);
  free(F), free(G), free(Z);
}
END_TEST

int main(void) {
  Suite *s = suite_create("scale");
  TCase *t = tcase_create("synthetic");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_synthetic_shape_determinism);
  tcase_add_test(t, test_synthetic_learnable);
  tcase_add_test(t, test_paper_mixer_configs);
  tcase_add_test(t, test_gelu_fast);
  tcase_add_test(t, test_mixer_block_large_vs_reference);
  tcase_add_test(t, test_fisher_compact_store);
  suite_add_tcase(s, t);
  return zpt_test_run(s);
}
