/* src/nn: every layer against a naive direct-loop reference, batched
 * variations against separate forwards with the perturbed theta written out,
 * prefix reuse, noise determinism, builders, FLOP counts, shape errors and
 * the simulated backend. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "zoptic.h"

#define TOL 1e-5

/* ------------------------------------------------------------ helpers */

static void fill_uniform(float *x, size_t n, uint64_t seed, float a) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_TEST, 0, 0);
  ck_assert_ptr_nonnull(r);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
  zpt_rng_free(r);
}

/* Fills theta with U(-1,1) (every layer-norm gain too), draws n random
 * inputs and runs the model; returns input and output (caller frees). */
static void run_random(zpt_model *m, size_t n, uint64_t seed, float **x_out,
                       float **y_out) {
  zpt_params *p = zpt_model_params(m);
  fill_uniform(p->theta, p->n_params, seed, 1.0f);
  size_t in = zpt_model_input_size(m), out = zpt_model_output_size(m);
  float *x = zpt_floats(n * in, "test input");
  float *y = zpt_floats(n * out, "test output");
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  fill_uniform(x, n * in, seed + 1, 1.0f);
  int rc = zpt_model_forward(m, p->theta, x, n, y, NULL);
  ck_assert_msg(rc == ZPT_OK, "forward: %s", zpt_error_message());
  *x_out = x;
  *y_out = y;
}

static const float *view(zpt_model *m, const char *name) {
  const zpt_view *v;
  int rc = zpt_params_lookup(zpt_model_params(m), name, &v);
  ck_assert_msg(rc == ZPT_OK, "%s", zpt_error_message());
  return zpt_model_params(m)->theta + v->offset;
}

static zpt_model *shaped(zpt_shape s) {
  zpt_model *m = zpt_model_alloc_shaped(s);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  return m;
}

#define OK(expr)                                                          \
  do {                                                                    \
    int ok_rc_ = (expr);                                                  \
    ck_assert_msg(ok_rc_ == ZPT_OK, "%s: %s", #expr, zpt_error_message()); \
  } while (0)

/* Compares y (n x size floats) with the reference. */
static void check_close(const float *y, const double *ref, size_t total, const char *what) {
  float *r = zpt_floats(total, "reference");
  for (size_t i = 0; i < total; i++)
    r[i] = (float)ref[i];
  ZPT_ASSERT_CLOSE(y, r, total, TOL, what);
  zpt_free(r);
}

/* --------------------------------------------------------- layer tests */

START_TEST(test_dense) {
  size_t n = 5, NI = 3 * 7, O = 13;
  zpt_model *m = shaped(zpt_shape_seq(3, 7)); /* any shape is read flat */
  OK(zpt_model_add_dense(m, "d", O, ZPT_INIT_HE));
  ck_assert_int_eq(zpt_model_shape(m).rank, 1);
  ck_assert_uint_eq(zpt_model_output_size(m), O);
  float *x, *y;
  run_random(m, n, 11, &x, &y);
  const float *W = view(m, "d.weight"), *b = view(m, "d.bias");
  double *ref = calloc(n * O, sizeof *ref);
  for (size_t s = 0; s < n; s++)
    for (size_t o = 0; o < O; o++) {
      double acc = b[o];
      for (size_t i = 0; i < NI; i++)
        acc += (double)W[o * NI + i] * x[s * NI + i];
      ref[s * O + o] = acc;
    }
  check_close(y, ref, n * O, "dense");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

static void conv_case(size_t C, size_t H, size_t W, size_t OC, size_t kh, size_t kw,
                      size_t stride, size_t pad, size_t n) {
  zpt_model *m = shaped(zpt_shape_chw(C, H, W));
  OK(zpt_model_add_conv2d(m, "c", OC, kh, kw, stride, pad, ZPT_INIT_HE));
  size_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  zpt_shape s = zpt_model_shape(m);
  ck_assert_int_eq(s.rank, 3);
  ck_assert_uint_eq(s.dim[0], OC);
  ck_assert_uint_eq(s.dim[1], OH);
  ck_assert_uint_eq(s.dim[2], OW);
  float *x, *y;
  run_random(m, n, 20 + stride + pad, &x, &y);
  const float *Wt = view(m, "c.weight"), *b = view(m, "c.bias");
  double *ref = calloc(n * OC * OH * OW, sizeof *ref);
  for (size_t smp = 0; smp < n; smp++)
    for (size_t o = 0; o < OC; o++)
      for (size_t i = 0; i < OH; i++)
        for (size_t j = 0; j < OW; j++) {
          double acc = b[o];
          for (size_t c = 0; c < C; c++)
            for (size_t u = 0; u < kh; u++)
              for (size_t v = 0; v < kw; v++) {
                long yy = (long)(i * stride + u) - (long)pad;
                long xx = (long)(j * stride + v) - (long)pad;
                if (yy < 0 || xx < 0 || yy >= (long)H || xx >= (long)W)
                  continue;
                acc += (double)Wt[((o * C + c) * kh + u) * kw + v] *
                       x[((smp * C + c) * H + (size_t)yy) * W + (size_t)xx];
              }
          ref[((smp * OC + o) * OH + i) * OW + j] = acc;
        }
  char what[96];
  snprintf(what, sizeof what, "conv %zux%zux%zu k%zux%zu s%zu p%zu", C, H, W, kh, kw, stride,
           pad);
  check_close(y, ref, n * OC * OH * OW, what);
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}

START_TEST(test_conv2d) {
  conv_case(3, 11, 9, 5, 3, 4, 2, 1, 3);  /* odd sizes, stride 2, padding */
  conv_case(2, 7, 10, 4, 5, 5, 1, 2, 2);  /* stride 1 (memcpy path), pad 2 */
  conv_case(1, 28, 28, 6, 5, 5, 1, 0, 4); /* the CNN's first layer */
  conv_case(4, 6, 5, 3, 1, 1, 3, 0, 3);   /* 1x1 kernel, stride 3 */
  conv_case(2, 5, 5, 3, 5, 5, 1, 0, 2);   /* kernel = input: 1x1 output */
}
END_TEST

static void pool_case(int is_max, size_t C, size_t H, size_t W, size_t k, size_t st) {
  size_t n = 3;
  zpt_model *m = shaped(zpt_shape_chw(C, H, W));
  OK(is_max ? zpt_model_add_maxpool(m, "p", k, st) : zpt_model_add_avgpool(m, "p", k, st));
  size_t OH = (H - k) / st + 1, OW = (W - k) / st + 1;
  ck_assert_uint_eq(zpt_model_output_size(m), C * OH * OW);
  float *x, *y;
  run_random(m, n, 30, &x, &y);
  double *ref = calloc(n * C * OH * OW, sizeof *ref);
  for (size_t p = 0; p < n * C; p++)
    for (size_t i = 0; i < OH; i++)
      for (size_t j = 0; j < OW; j++) {
        double best = -INFINITY, sum = 0;
        for (size_t u = 0; u < k; u++)
          for (size_t v = 0; v < k; v++) {
            double t = x[(p * H + i * st + u) * W + j * st + v];
            best = t > best ? t : best;
            sum += t;
          }
        ref[(p * OH + i) * OW + j] = is_max ? best : sum / (double)(k * k);
      }
  check_close(y, ref, n * C * OH * OW, is_max ? "maxpool" : "avgpool");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}

START_TEST(test_pool) {
  pool_case(1, 3, 9, 7, 3, 2);
  pool_case(0, 3, 9, 7, 3, 2);
  pool_case(1, 2, 8, 6, 2, 2);
  pool_case(0, 1, 5, 5, 2, 1);
}
END_TEST

static double ref_act(zpt_act k, double x) {
  switch (k) {
  case ZPT_ACT_RELU: return x > 0 ? x : 0;
  case ZPT_ACT_TANH: return tanh(x);
  case ZPT_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case ZPT_ACT_GELU:
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return NAN;
}

START_TEST(test_activations) {
  zpt_act kinds[] = {ZPT_ACT_RELU, ZPT_ACT_TANH, ZPT_ACT_SIGMOID, ZPT_ACT_GELU};
  for (size_t k = 0; k < 4; k++) {
    zpt_model *m = shaped(zpt_shape_chw(2, 3, 5));
    OK(zpt_model_add_act(m, NULL, kinds[k]));
    zpt_shape s = zpt_model_shape(m); /* shape kept */
    ck_assert(s.rank == 3 && s.dim[0] == 2 && s.dim[1] == 3 && s.dim[2] == 5);
    size_t n = 7, total = n * 30;
    float *x, *y;
    run_random(m, n, 40 + k, &x, &y);
    double *ref = calloc(total, sizeof *ref);
    /* inputs were U(-1,1): widen them to U(-6,6) to reach the tails */
    for (size_t i = 0; i < total; i++)
      x[i] *= 6.0f;
    OK(zpt_model_forward(m, zpt_model_params(m)->theta, x, n, y, NULL));
    for (size_t i = 0; i < total; i++)
      ref[i] = ref_act(kinds[k], x[i]);
    check_close(y, ref, total, zpt_model_layer(m, 0)->ops->kind);
    free(ref);
    zpt_free(x);
    zpt_free(y);
    zpt_model_free(m);
  }
}
END_TEST

static void layernorm_ref(const float *x, size_t groups, size_t F, const float *g,
                          const float *b, double *out) {
  for (size_t r = 0; r < groups; r++) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < F; i++)
      mean += x[r * F + i];
    mean /= (double)F;
    for (size_t i = 0; i < F; i++)
      var += (x[r * F + i] - mean) * (x[r * F + i] - mean);
    var /= (double)F;
    for (size_t i = 0; i < F; i++)
      out[r * F + i] = (x[r * F + i] - mean) / sqrt(var + 1e-5) * g[i] + b[i];
  }
}

START_TEST(test_layernorm) {
  /* per token of a sequence */
  size_t n = 3, T = 5, F = 7;
  zpt_model *m = shaped(zpt_shape_seq(T, F));
  OK(zpt_model_add_layernorm(m, "ln"));
  const zpt_view *v = zpt_params_find(zpt_model_params(m), "ln.gain");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->size, F);
  float *x, *y;
  run_random(m, n, 50, &x, &y);
  double *ref = calloc(n * T * F, sizeof *ref);
  layernorm_ref(x, n * T, F, view(m, "ln.gain"), view(m, "ln.bias"), ref);
  check_close(y, ref, n * T * F, "layernorm (sequence)");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
  /* the whole sample of an image */
  m = shaped(zpt_shape_chw(2, 3, 3));
  OK(zpt_model_add_layernorm(m, "ln"));
  run_random(m, n, 51, &x, &y);
  ref = calloc(n * 18, sizeof *ref);
  layernorm_ref(x, n, 18, view(m, "ln.gain"), view(m, "ln.bias"), ref);
  check_close(y, ref, n * 18, "layernorm (image)");
  /* init: gain 1, bias 0 */
  zpt_model_init(m, 5);
  ck_assert(view(m, "ln.gain")[17] == 1.0f && view(m, "ln.bias")[0] == 0.0f);
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_rnn) {
  size_t n = 4, T = 6, F = 5, H = 7;
  zpt_model *m = shaped(zpt_shape_seq(T, F));
  OK(zpt_model_add_rnn(m, "rnn", H, ZPT_INIT_XAVIER));
  zpt_shape s = zpt_model_shape(m);
  ck_assert(s.rank == 2 && s.dim[0] == T && s.dim[1] == H);
  float *x, *y;
  run_random(m, n, 60, &x, &y);
  const float *wx = view(m, "rnn.w_x"), *wh = view(m, "rnn.w_h"), *b = view(m, "rnn.bias");
  double *ref = calloc(n * T * H, sizeof *ref);
  for (size_t smp = 0; smp < n; smp++) {
    double h[7] = {0};
    for (size_t t = 0; t < T; t++) {
      double hn[7];
      for (size_t i = 0; i < H; i++) {
        double acc = b[i];
        for (size_t f = 0; f < F; f++)
          acc += (double)wx[i * F + f] * x[(smp * T + t) * F + f];
        for (size_t j = 0; j < H; j++)
          acc += (double)wh[i * H + j] * h[j];
        hn[i] = tanh(acc);
      }
      for (size_t i = 0; i < H; i++) {
        h[i] = hn[i];
        ref[(smp * T + t) * H + i] = hn[i];
      }
    }
  }
  check_close(y, ref, n * T * H, "rnn");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_patch_embed) {
  size_t n = 3, C = 2, H = 12, W = 8, P = 4, D = 5, gw = W / P, S = (H / P) * gw;
  zpt_model *m = shaped(zpt_shape_chw(C, H, W));
  OK(zpt_model_add_patch_embed(m, "pe", P, D, ZPT_INIT_UNIFORM));
  zpt_shape s = zpt_model_shape(m);
  ck_assert(s.rank == 2 && s.dim[0] == S && s.dim[1] == D);
  float *x, *y;
  run_random(m, n, 70, &x, &y);
  const float *Wt = view(m, "pe.weight"), *b = view(m, "pe.bias");
  size_t K = C * P * P;
  double *ref = calloc(n * S * D, sizeof *ref);
  for (size_t smp = 0; smp < n; smp++)
    for (size_t t = 0; t < S; t++)
      for (size_t d = 0; d < D; d++) {
        double acc = b[d];
        size_t gy = t / gw, gx = t % gw;
        for (size_t c = 0; c < C; c++)
          for (size_t py = 0; py < P; py++)
            for (size_t px = 0; px < P; px++)
              acc += (double)Wt[d * K + (c * P + py) * P + px] *
                     x[((smp * C + c) * H + gy * P + py) * W + gx * P + px];
        ref[(smp * S + t) * D + d] = acc;
      }
  check_close(y, ref, n * S * D, "patch_embed");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

static double gelu_d(double x) { return ref_act(ZPT_ACT_GELU, x); }

START_TEST(test_mixer_block) {
  size_t n = 3, S = 6, D = 5, Ds = 7, Dc = 3;
  zpt_model *m = shaped(zpt_shape_seq(S, D));
  OK(zpt_model_add_mixer_block(m, "mb", Ds, Dc, ZPT_INIT_XAVIER));
  ck_assert_uint_eq(zpt_model_n_params(m), 4 * D + 2 * S * Ds + Ds + S + 2 * D * Dc + Dc + D);
  float *x, *y;
  run_random(m, n, 80, &x, &y);
  const float *g1 = view(m, "mb.ln1.gain"), *b1 = view(m, "mb.ln1.bias");
  const float *tw1 = view(m, "mb.token.w1"), *tb1 = view(m, "mb.token.b1");
  const float *tw2 = view(m, "mb.token.w2"), *tb2 = view(m, "mb.token.b2");
  const float *g2 = view(m, "mb.ln2.gain"), *b2 = view(m, "mb.ln2.bias");
  const float *cw1 = view(m, "mb.channel.w1"), *cb1 = view(m, "mb.channel.b1");
  const float *cw2 = view(m, "mb.channel.w2"), *cb2 = view(m, "mb.channel.b2");
  double *ref = calloc(n * S * D, sizeof *ref);
  for (size_t smp = 0; smp < n; smp++) {
    const float *xs = x + smp * S * D;
    double u[6 * 5], X1[6 * 5], v[6 * 5];
    layernorm_ref(xs, S, D, g1, b1, u);
    /* token mixing: for each channel c, over the token axis */
    for (size_t c = 0; c < D; c++) {
      double hdn[7];
      for (size_t j = 0; j < Ds; j++) {
        double acc = tb1[j];
        for (size_t t = 0; t < S; t++)
          acc += (double)tw1[j * S + t] * u[t * D + c];
        hdn[j] = gelu_d(acc);
      }
      for (size_t t = 0; t < S; t++) {
        double acc = tb2[t];
        for (size_t j = 0; j < Ds; j++)
          acc += (double)tw2[t * Ds + j] * hdn[j];
        X1[t * D + c] = xs[t * D + c] + acc;
      }
    }
    /* channel mixing: for each token */
    float X1f[6 * 5];
    for (size_t i = 0; i < S * D; i++)
      X1f[i] = (float)X1[i];
    layernorm_ref(X1f, S, D, g2, b2, v);
    for (size_t t = 0; t < S; t++) {
      double hdn[3];
      for (size_t j = 0; j < Dc; j++) {
        double acc = cb1[j];
        for (size_t c = 0; c < D; c++)
          acc += (double)cw1[j * D + c] * v[t * D + c];
        hdn[j] = gelu_d(acc);
      }
      for (size_t c = 0; c < D; c++) {
        double acc = cb2[c];
        for (size_t j = 0; j < Dc; j++)
          acc += (double)cw2[c * Dc + j] * hdn[j];
        ref[(smp * S + t) * D + c] = X1[t * D + c] + acc;
      }
    }
  }
  check_close(y, ref, n * S * D, "mixer block");
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_global_avgpool) {
  size_t n = 3, T = 5, F = 4;
  zpt_model *m = shaped(zpt_shape_seq(T, F));
  OK(zpt_model_add_global_avgpool(m, "g"));
  ck_assert_uint_eq(zpt_model_output_size(m), F);
  float *x, *y;
  run_random(m, n, 90, &x, &y);
  double ref[3 * 4] = {0};
  for (size_t s = 0; s < n; s++)
    for (size_t t = 0; t < T; t++)
      for (size_t f = 0; f < F; f++)
        ref[s * F + f] += x[(s * T + t) * F + f] / (double)T;
  check_close(y, ref, n * F, "gap (tokens)");
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
  size_t C = 3, H = 2, W = 3;
  m = shaped(zpt_shape_chw(C, H, W));
  OK(zpt_model_add_global_avgpool(m, "g"));
  ck_assert_uint_eq(zpt_model_output_size(m), C);
  run_random(m, n, 91, &x, &y);
  double ref2[3 * 3] = {0};
  for (size_t s = 0; s < n; s++)
    for (size_t c = 0; c < C; c++)
      for (size_t p = 0; p < H * W; p++)
        ref2[s * C + c] += x[(s * C + c) * H * W + p] / (double)(H * W);
  check_close(y, ref2, n * C, "gap (image)");
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}
END_TEST

/* ------------------------------------------------- batched variations */

/* conv(0) relu(1) avgpool(2) dense(3) layernorm(4) tanh(5) dense(6) */
static zpt_model *var_model(void) {
  zpt_model *m = shaped(zpt_shape_chw(2, 9, 7));
  OK(zpt_model_add_conv2d(m, "conv", 4, 3, 3, 1, 1, ZPT_INIT_HE));
  OK(zpt_model_add_act(m, "relu", ZPT_ACT_RELU));
  OK(zpt_model_add_avgpool(m, "pool", 3, 2)); /* 4x4x3 */
  OK(zpt_model_add_dense(m, "fc", 9, ZPT_INIT_HE));
  OK(zpt_model_add_layernorm(m, "ln"));
  OK(zpt_model_add_act(m, "tanh", ZPT_ACT_TANH));
  OK(zpt_model_add_dense(m, "out", 5, ZPT_INIT_XAVIER));
  zpt_model_init(m, 7);
  /* make the layer-norm parameters non-trivial too */
  zpt_params *p = zpt_model_params(m);
  const zpt_view *g = zpt_params_find(p, "ln.gain");
  fill_uniform(p->theta + g->offset, 18, 3, 1.0f);
  return m;
}

/* Checks every variation's outputs against a plain forward of theta with
 * the perturbation written out (and, with noise, the same noise stream). */
static void check_variations(zpt_model *m, const zpt_variation *vars, size_t V,
                             const float *x, size_t n, const float *out,
                             uint64_t noise_seed, uint64_t first_query) {
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, M = zpt_model_output_size(m);
  float *th = zpt_floats(N, "perturbed theta");
  float *y = zpt_floats(n * M, "single forward");
  for (size_t v = 0; v < V; v++) {
    memcpy(th, p->theta, N * sizeof *th);
    for (size_t i = 0; i < vars[v].len; i++)
      th[vars[v].offset + i] += vars[v].scale * vars[v].delta[i];
    gsl_rng *r = noise_seed ? zpt_rng_alloc(noise_seed, ZPT_STREAM_NOISE, first_query + v, 0)
                            : NULL;
    OK(zpt_model_forward(m, th, x, n, y, r));
    zpt_rng_free(r);
    char what[64];
    snprintf(what, sizeof what, "variation %zu [%zu,+%zu)", v, vars[v].offset, vars[v].len);
    ZPT_ASSERT_CLOSE(out + v * n * M, y, n * M, TOL, what);
  }
  zpt_free(th);
  zpt_free(y);
}

START_TEST(test_variations_match_single) {
  zpt_model *m = var_model();
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n = 5, M = zpt_model_output_size(m);
  const zpt_view *conv_b = zpt_params_find(p, "conv.bias");
  const zpt_view *fc_w = zpt_params_find(p, "fc.weight");
  const zpt_view *ln_b = zpt_params_find(p, "ln.bias");
  const zpt_view *out_w = zpt_params_find(p, "out.weight");
  float *delta = zpt_floats(N, "delta");
  fill_uniform(delta, N, 100, 1.0f);
  float *x = zpt_floats(n * zpt_model_input_size(m), "x");
  fill_uniform(x, n * zpt_model_input_size(m), 101, 1.0f);
  zpt_variation vars[] = {
      {0, 0, 0.0f, NULL},                                /* base */
      {0, N, 0.05f, delta},                              /* all of theta */
      {out_w->offset + 3, 17, 0.3f, delta + 5},          /* inside the last layer */
      {3, 20, 0.2f, delta + 1},                          /* inside conv weights */
      {conv_b->offset + 1, 40, -0.1f, delta + 2},        /* conv bias .. fc weights */
      {fc_w->offset + 50, 80, 0.1f, delta + 9},          /* fc weights only */
      {ln_b->offset - 2, 4, 0.5f, delta + 11},           /* ln gain + ln bias */
      {0, 0, 0.0f, NULL},                                /* base again */
      {N - 1, 1, 1.0f, delta},                           /* the very last value */
      {fc_w->offset, out_w->offset + 4 - fc_w->offset, 0.02f, delta + 4}, /* fc..out */
      {0, 1, 2.0f, delta + 7},                           /* the very first value */
  };
  size_t V = sizeof vars / sizeof vars[0];
  float *out = zpt_floats(V * n * M, "out");
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out, 0, 0));
  check_variations(m, vars, V, x, n, out, 0, 0);
  /* the base variation equals the plain forward exactly */
  float *y = zpt_floats(n * M, "y");
  OK(zpt_model_forward(m, p->theta, x, n, y, NULL));
  ck_assert(memcmp(y, out, n * M * sizeof *y) == 0);
  ck_assert(memcmp(y, out + 7 * n * M, n * M * sizeof *y) == 0);
  /* the perturbations did change the outputs (the test can fail) */
  ck_assert(memcmp(y, out + 1 * n * M, n * M * sizeof *y) != 0);
  ck_assert(memcmp(y, out + 8 * n * M, n * M * sizeof *y) != 0);
  /* chunked processing (1, 2 and 3 variations per chunk) gives the same */
  float *out2 = zpt_floats(V * n * M, "out2");
  size_t per_var = n * 4 * 9 * 7; /* widest activation: conv output 4x9x7 */
  for (size_t c = 1; c <= 3; c++) {
    zpt_model_set_chunk_floats(m, c * per_var);
    OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out2, 0, 0));
    ck_assert_uint_eq(zpt_model_last_stats(m).chunks, (V + c - 1) / c);
    ZPT_ASSERT_CLOSE(out2, out, V * n * M, TOL, "chunked vs unchunked");
  }
  zpt_free(out2);
  zpt_free(y);
  zpt_free(out);
  zpt_free(x);
  zpt_free(delta);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_many_random_variations) {
  /* 45 random ranges (some bases, some all-theta) in random order */
  zpt_model *m = var_model();
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n = 3, M = zpt_model_output_size(m), V = 45;
  float *delta = zpt_floats(N, "delta");
  fill_uniform(delta, N, 700, 1.0f);
  float *x = zpt_floats(n * zpt_model_input_size(m), "x");
  fill_uniform(x, n * zpt_model_input_size(m), 701, 1.0f);
  zpt_variation vars[45];
  gsl_rng *r = zpt_rng_alloc(702, ZPT_STREAM_TEST, 0, 0);
  for (size_t v = 0; v < V; v++) {
    size_t kind = zpt_rng_below(r, 6);
    if (kind == 0) {
      vars[v] = (zpt_variation){0, 0, 0.0f, NULL};
    } else if (kind == 1) {
      vars[v] = (zpt_variation){0, N, 0.03f, delta};
    } else {
      size_t off = zpt_rng_below(r, N), len = 1 + zpt_rng_below(r, N - off);
      if (len > 60)
        len = 1 + len % 60;
      vars[v] = (zpt_variation){off, len, 0.2f, delta + zpt_rng_below(r, N - len + 1)};
    }
  }
  zpt_rng_free(r);
  float *out = zpt_floats(V * n * M, "out");
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out, 0, 0));
  check_variations(m, vars, V, x, n, out, 0, 0);
  /* threads (with and without chunking): the same outputs (up to the
   * rounding of batched BLAS calls over other sample counts, as chunks) */
  float *out2 = zpt_floats(V * n * M, "out2");
  size_t per_var = n * 4 * 9 * 7;
  for (size_t t = 2; t <= 5; t++)
    for (size_t c = 0; c < 3; c++) {
      OK(zpt_model_set_threads(m, t));
      zpt_model_set_chunk_floats(m, c == 0 ? ZPT_MODEL_CHUNK_FLOATS : c * per_var);
      memset(out2, 0, V * n * M * sizeof *out2);
      OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out2, 0, 0));
      ZPT_ASSERT_CLOSE(out2, out, V * n * M, TOL, "threads vs one thread");
    }
  ck_assert_int_eq(zpt_model_set_threads(m, 0), ZPT_EINVAL);
  ck_assert_int_eq(zpt_model_set_threads(m, ZPT_MODEL_MAX_THREADS + 1), ZPT_EINVAL);
  zpt_free(out2);
  zpt_free(out);
  zpt_free(x);
  zpt_free(delta);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_prefix_reuse) {
  zpt_model *m = var_model();
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n = 4, M = zpt_model_output_size(m), L = zpt_model_n_layers(m);
  const zpt_view *out_w = zpt_params_find(p, "out.weight");
  const zpt_view *conv_w = zpt_params_find(p, "conv.weight");
  float *delta = zpt_floats(N, "delta");
  fill_uniform(delta, N, 200, 1.0f);
  float *x = zpt_floats(n * zpt_model_input_size(m), "x");
  fill_uniform(x, n * zpt_model_input_size(m), 201, 1.0f);
  float *out = zpt_floats(6 * n * M, "out");

  /* 4 variations of the last layer + the base: the first L-1 layers run
   * once over n samples, the last layer once per variation. */
  zpt_variation last[5] = {{0, 0, 0, NULL}};
  for (int v = 1; v < 5; v++)
    last[v] = (zpt_variation){out_w->offset + (size_t)v, 10, 0.1f * (float)v, delta + v};
  OK(zpt_model_forward_variations(m, p->theta, last, 5, x, n, out, 0, 0));
  zpt_fwd_stats st = zpt_model_last_stats(m);
  ck_assert_uint_eq(st.layer_calls, L + 4);
  ck_assert_uint_eq(st.sample_forwards, L * n + 4 * n);
  check_variations(m, last, 5, x, n, out, 0, 0);

  /* 5 variations of the first layer: every layer runs once per variation
   * (never merged over several variations' samples: outputs must not
   * depend on which variations share a call). */
  zpt_variation first[5];
  for (int v = 0; v < 5; v++)
    first[v] = (zpt_variation){conv_w->offset + (size_t)v, 30, 0.05f, delta + 2 * v};
  OK(zpt_model_forward_variations(m, p->theta, first, 5, x, n, out, 0, 0));
  st = zpt_model_last_stats(m);
  ck_assert_uint_eq(st.layer_calls, 5 * L);
  ck_assert_uint_eq(st.sample_forwards, 5 * L * n);
  check_variations(m, first, 5, x, n, out, 0, 0);

  /* steady state: a repeated call allocates nothing new */
  size_t ws = zpt_model_workspace_bytes(m);
  OK(zpt_model_forward_variations(m, p->theta, first, 5, x, n, out, 0, 0));
  OK(zpt_model_forward_variations(m, p->theta, last, 5, x, n, out, 0, 0));
  ck_assert_uint_eq(zpt_model_workspace_bytes(m), ws);
  zpt_free(out);
  zpt_free(x);
  zpt_free(delta);
  zpt_model_free(m);
}
END_TEST

/* ------------------------------------------------- fused conv-ReLU-pool */

/* One case of conv2d -> activation -> pooling: geometry, the activation,
 * the pool's window and stride, whether the convolution's map is reshaped
 * to (2 OC) x (OH / 2) x OW before the pool, and whether the model must
 * fuse the three layers. */
typedef struct {
  size_t c, h, w, oc, kh, kw, stride, pad;
  zpt_act act;
  size_t pk, ps;
  int reshape, fused;
} fuse_case;

static void fused_case(const fuse_case *fc, size_t n) {
  size_t OH = (fc->h + 2 * fc->pad - fc->kh) / fc->stride + 1;
  size_t OW = (fc->w + 2 * fc->pad - fc->kw) / fc->stride + 1;
  zpt_model *m = shaped(zpt_shape_chw(fc->c, fc->h, fc->w));
  OK(zpt_model_add_conv2d(m, "conv", fc->oc, fc->kh, fc->kw, fc->stride, fc->pad,
                          ZPT_INIT_HE));
  OK(zpt_model_add_act(m, "act", fc->act));
  size_t PC = fc->oc, PH = OH, PW = OW; /* the map the pool sees */
  if (fc->reshape) {
    PC = 2 * fc->oc, PH = OH / 2;
    OK(zpt_model_reshape(m, zpt_shape_chw(PC, PH, PW)));
  }
  OK(zpt_model_add_maxpool(m, "pool", fc->pk, fc->ps));
  size_t QH = (PH - fc->pk) / fc->ps + 1, QW = (PW - fc->pk) / fc->ps + 1;
  size_t M = zpt_model_output_size(m);
  ck_assert_uint_eq(M, PC * QH * QW);
  float *x, *y;
  run_random(m, n, 300 + fc->oc + fc->kw, &x, &y);
  char what[128];
  snprintf(what, sizeof what, "conv %zux%zux%zu -> %zu k%zux%zu s%zu p%zu, act %d, pool %zu/%zu%s",
           fc->c, fc->h, fc->w, fc->oc, fc->kh, fc->kw, fc->stride, fc->pad, (int)fc->act,
           fc->pk, fc->ps, fc->reshape ? ", reshaped" : "");
  ck_assert_msg(zpt_model_last_stats(m).fused_calls == (size_t)fc->fused,
                "%s: %zu fused calls, expected %d", what, zpt_model_last_stats(m).fused_calls,
                fc->fused);
  ck_assert_uint_eq(zpt_model_last_stats(m).layer_calls, 3);

  /* direct loops: convolution, activation, pooling of the (reshaped) map */
  const float *Wt = view(m, "conv.weight"), *b = view(m, "conv.bias");
  size_t per = fc->oc * OH * OW;
  double *act = calloc(per, sizeof *act), *ref = calloc(n * M, sizeof *ref);
  for (size_t smp = 0; smp < n; smp++) {
    for (size_t o = 0; o < fc->oc; o++)
      for (size_t i = 0; i < OH; i++)
        for (size_t j = 0; j < OW; j++) {
          double acc = b[o];
          for (size_t c = 0; c < fc->c; c++)
            for (size_t u = 0; u < fc->kh; u++)
              for (size_t v = 0; v < fc->kw; v++) {
                long yy = (long)(i * fc->stride + u) - (long)fc->pad;
                long xx = (long)(j * fc->stride + v) - (long)fc->pad;
                if (yy < 0 || xx < 0 || yy >= (long)fc->h || xx >= (long)fc->w)
                  continue;
                acc += (double)Wt[((o * fc->c + c) * fc->kh + u) * fc->kw + v] *
                       x[((smp * fc->c + c) * fc->h + (size_t)yy) * fc->w + (size_t)xx];
              }
          act[(o * OH + i) * OW + j] = ref_act(fc->act, acc);
        }
    for (size_t c = 0; c < PC; c++)
      for (size_t i = 0; i < QH; i++)
        for (size_t j = 0; j < QW; j++) {
          double best = -INFINITY;
          for (size_t u = 0; u < fc->pk; u++)
            for (size_t v = 0; v < fc->pk; v++) {
              double t = act[(c * PH + i * fc->ps + u) * PW + j * fc->ps + v];
              best = t > best ? t : best;
            }
          ref[smp * M + (c * QH + i) * QW + j] = best;
        }
  }
  check_close(y, ref, n * M, what);

  /* the same model with every layer on its own: the same outputs */
  float *y2 = zpt_floats(n * M, "unfused output");
  OK(zpt_model_set_fusion(m, 0));
  OK(zpt_model_forward(m, zpt_model_params(m)->theta, x, n, y2, NULL));
  ck_assert_uint_eq(zpt_model_last_stats(m).fused_calls, 0);
  ZPT_ASSERT_CLOSE(y2, y, n * M, TOL, what);
  OK(zpt_model_set_fusion(m, 1));
  OK(zpt_model_forward(m, zpt_model_params(m)->theta, x, n, y2, NULL));
  ck_assert_uint_eq(zpt_model_last_stats(m).fused_calls, (size_t)fc->fused);
  ZPT_ASSERT_CLOSE(y2, y, n * M, TOL, what);
  zpt_free(y2);
  free(act);
  free(ref);
  zpt_free(x);
  zpt_free(y);
  zpt_model_free(m);
}

START_TEST(test_conv_relu_pool_fused) {
  const zpt_act R = ZPT_ACT_RELU;
  const fuse_case cases[] = {
      /* fused, 16k channels in the lanes (kernel widths 5, 3, 1) */
      {6, 12, 12, 16, 5, 5, 1, 0, R, 2, 2, 0, 1},  /* the CNN's conv2 */
      {3, 7, 12, 32, 2, 3, 1, 0, R, 2, 2, 0, 1},   /* 2 groups, OW 10: overlapping tiles */
      {5, 8, 8, 16, 1, 1, 1, 0, R, 2, 2, 0, 1},    /* 1x1 kernel */
      /* fused, output columns in the lanes */
      {1, 28, 28, 6, 5, 5, 1, 0, R, 2, 2, 0, 1},   /* the CNN's conv1: OW 24 */
      {2, 10, 22, 7, 3, 5, 1, 0, R, 2, 2, 0, 1},   /* OW 18, channels 6 + 1 */
      {1, 6, 44, 3, 3, 5, 1, 0, R, 2, 2, 0, 1},    /* OW 40: three column vectors */
      {4, 20, 24, 16, 5, 9, 1, 0, R, 2, 2, 0, 1},  /* 16 channels, kernel too wide for lanes */
      /* not fusable: the separate layers run */
      {2, 17, 17, 4, 3, 3, 2, 0, R, 2, 2, 0, 0},   /* stride 2 */
      {2, 8, 8, 16, 3, 3, 1, 1, R, 2, 2, 0, 0},    /* padding */
      {3, 10, 12, 5, 3, 3, 1, 0, R, 2, 2, 0, 0},   /* 5 channels and OW 10 */
      {2, 8, 10, 16, 3, 5, 1, 0, R, 2, 2, 0, 0},   /* 16 channels but OW 6 */
      {6, 12, 12, 16, 5, 5, 1, 0, ZPT_ACT_TANH, 2, 2, 0, 0}, /* not a ReLU */
      {6, 12, 12, 16, 5, 5, 1, 0, R, 2, 1, 0, 0},  /* pool stride 1 */
      {6, 12, 12, 16, 5, 5, 1, 0, R, 4, 4, 0, 0},  /* 4x4 pool */
      {6, 12, 12, 16, 5, 5, 1, 0, R, 2, 2, 1, 0},  /* map reshaped before the pool */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    fused_case(&cases[i], 3);
  ck_assert_int_eq(zpt_model_set_fusion(NULL, 1), ZPT_EINVAL);
}
END_TEST

/* Batched variations of the CNN with and without fusion against each
 * other and against plain forwards with theta written out, threads and
 * chunks included; prefix reuse counted in sample-forwards. */
static void cnn_variations(zpt_model *m, const zpt_variation *vars, size_t V, const float *x,
                           size_t n, size_t expect_samples, const char *what) {
  zpt_params *p = zpt_model_params(m);
  size_t M = zpt_model_output_size(m);
  float *out = zpt_floats(V * n * M, "fused"), *out2 = zpt_floats(V * n * M, "other");
  OK(zpt_model_set_fusion(m, 1));
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out, 0, 0));
  zpt_fwd_stats fs = zpt_model_last_stats(m);
  ck_assert_msg(fs.fused_calls > 0, "%s: nothing fused", what);
  ck_assert_msg(fs.sample_forwards == expect_samples, "%s: %zu sample-forwards, expected %zu",
                what, fs.sample_forwards, expect_samples);
  check_variations(m, vars, V, x, n, out, 0, 0);
  OK(zpt_model_set_fusion(m, 0));
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out2, 0, 0));
  zpt_fwd_stats us = zpt_model_last_stats(m);
  ck_assert_uint_eq(us.fused_calls, 0);
  ck_assert_uint_eq(us.sample_forwards, fs.sample_forwards);
  ZPT_ASSERT_CLOSE(out2, out, V * n * M, TOL, what);
  OK(zpt_model_set_fusion(m, 1));
  for (size_t t = 2; t <= 3; t++)
    for (size_t c = 0; c < 2; c++) {
      OK(zpt_model_set_threads(m, t));
      zpt_model_set_chunk_floats(m, c ? n * 864 : ZPT_MODEL_CHUNK_FLOATS);
      memset(out2, 0, V * n * M * sizeof *out2);
      zpt_model_forget_prefix(m); /* count the base pass in every call */
      OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out2, 0, 0));
      ck_assert_uint_eq(zpt_model_last_stats(m).sample_forwards, fs.sample_forwards);
      ZPT_ASSERT_CLOSE(out2, out, V * n * M, TOL, what);
    }
  OK(zpt_model_set_threads(m, 1));
  zpt_model_set_chunk_floats(m, ZPT_MODEL_CHUNK_FLOATS);
  zpt_free(out);
  zpt_free(out2);
}

START_TEST(test_fused_variations) {
  zpt_cnn_config cfg = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&cfg);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n = 5, L = zpt_model_n_layers(m);
  fill_uniform(p->theta, N, 400, 0.3f); /* biases too */
  float *x = zpt_floats(n * 784, "x");
  for (size_t i = 0; i < n * 784; i++)
    x[i] = 0.5f + 0.5f * (float)sin(0.37 * (double)i); /* pixel-like, in [0, 1] */
  float *delta = zpt_floats(N, "delta");
  fill_uniform(delta, N, 401, 1.0f);
  size_t c1b = zpt_params_find(p, "conv1.bias")->offset;
  size_t c2w = zpt_params_find(p, "conv2.weight")->offset;
  size_t c2b = zpt_params_find(p, "conv2.bias")->offset;
  size_t f1w = zpt_params_find(p, "fc1.weight")->offset;

  /* a mixture: the base, all of theta, each layer, ranges across layers */
  zpt_variation mix[] = {
      {0, 0, 0.0f, NULL},
      {0, N, 0.05f, delta},
      {3, 40, 0.2f, delta + 1},                      /* conv1 weights */
      {c1b + 2, 30, -0.3f, delta + 2},               /* conv1 bias .. conv2 weights */
      {c2b, 16, 0.5f, delta + 3},                    /* conv2 bias */
      {c2w + 100, f1w + 7 - (c2w + 100), 0.1f, delta + 4}, /* conv2 .. fc1 */
      {f1w + 9, 200, 0.2f, delta + 5},               /* fc1 only */
      {N - 1, 1, 1.0f, delta},                       /* the last value */
      {0, 0, 0.0f, NULL},
  };
  size_t V = sizeof mix / sizeof mix[0];
  /* base pass: all L layers (the bases diverge at L); then each variation
   * from its first perturbed layer on, over n samples: 3 from layer 0, 2
   * from conv2 (layer 3), 1 from fc1 (6), 1 from fc2 (8) */
  size_t expect = L * n + 3 * L * n + 2 * (L - 3) * n + (L - 6) * n + 1 * n;
  cnn_variations(m, mix, V, x, n, expect, "CNN, mixed variations");

  /* only the second convolution's parameters: the first fused run is
   * computed once, the second once per variation */
  zpt_variation conv2[4];
  for (size_t v = 0; v < 4; v++)
    conv2[v] = (zpt_variation){c2w + 37 * v, 50, 0.1f, delta + v};
  cnn_variations(m, conv2, 4, x, n, 3 * n + 4 * (L - 3) * n, "CNN, conv2 variations");
  zpt_fwd_stats st;
  float *out = zpt_floats(4 * n * 10, "out");
  zpt_model_forget_prefix(m); /* count the shared run (the base pass) */
  OK(zpt_model_forward_variations(m, p->theta, conv2, 4, x, n, out, 0, 0));
  st = zpt_model_last_stats(m);
  ck_assert_uint_eq(st.fused_calls, 1 + 4); /* the shared first run, then one per variation */

  /* only the first convolution's bias: every variation diverges at layer 0 */
  zpt_variation conv1[3];
  for (size_t v = 0; v < 3; v++)
    conv1[v] = (zpt_variation){c1b + v, 1, 0.5f, delta + 10 + v};
  cnn_variations(m, conv1, 3, x, n, 3 * L * n, "CNN, conv1-bias variations");
  OK(zpt_model_forward_variations(m, p->theta, conv1, 3, x, n, out, 0, 0));
  st = zpt_model_last_stats(m);
  ck_assert_uint_eq(st.fused_calls, 3 * 2); /* both fused runs, once per variation */
  /* and the perturbation shows in the outputs (the test can fail) */
  float *y = zpt_floats(n * 10, "base");
  OK(zpt_model_forward(m, p->theta, x, n, y, NULL));
  ck_assert(memcmp(y, out, n * 10 * sizeof *y) != 0);
  zpt_free(y);
  zpt_free(out);
  zpt_free(delta);
  zpt_free(x);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_sequence_variations) {
  /* vector input viewed as a sequence -> RNN -> layer norm -> dense */
  size_t T = 5, F = 3, n = 4;
  zpt_model *m = zpt_model_alloc(T * F);
  OK(zpt_model_reshape(m, zpt_shape_seq(T, F)));
  OK(zpt_model_add_rnn(m, "rnn", 6, ZPT_INIT_XAVIER));
  OK(zpt_model_add_layernorm(m, "ln"));
  OK(zpt_model_add_dense(m, "out", 2, ZPT_INIT_XAVIER));
  zpt_model_init(m, 4);
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params;
  float *delta = zpt_floats(N, "delta");
  fill_uniform(delta, N, 600, 1.0f);
  float x[4 * 15];
  fill_uniform(x, n * T * F, 601, 1.0f);
  const zpt_view *wh = zpt_params_find(p, "rnn.w_h"), *lg = zpt_params_find(p, "ln.gain");
  zpt_variation vars[5] = {{wh->offset, wh->size, 0.2f, delta},
                           {0, 0, 0, NULL},
                           {lg->offset + 3, 40, 0.3f, delta + 1},
                           {0, N, 0.05f, delta},
                           {wh->offset + 30, 1, 1.0f, delta + 2}};
  float out[5 * 4 * 2];
  OK(zpt_model_forward_variations(m, p->theta, vars, 5, x, n, out, 0, 0));
  check_variations(m, vars, 5, x, n, out, 0, 0);
  /* a layer table without forward() is refused at allocation */
  static const zpt_layer_ops no_forward = {"id", NULL, NULL, NULL, NULL, NULL};
  ck_assert_ptr_null(zpt_layer_alloc(&no_forward, "id", 2, 2));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "no forward"));
  zpt_free(delta);
  zpt_model_free(m);
}
END_TEST

/* A test-only stochastic layer: y = x + 0.1 N(0,1) per element from the
 * read-out noise stream (y = x without one). */
static int noisy_forward(const zpt_layer *l, const float *params, const float *in,
                         float *out, size_t n, zpt_fwd_ctx *ctx) {
  for (size_t i = 0; i < n * l->in_size; i++)
    out[i] = in[i] + (ctx->noise ? (float)gsl_ran_gaussian_ziggurat(ctx->noise, 0.1) : 0.0f);
  return ZPT_OK;
}
static const zpt_layer_ops noisy_ops = {"noisy", noisy_forward, NULL, NULL, NULL, NULL};

static zpt_model *noisy_model(void) {
  zpt_model *m = zpt_model_alloc(6);
  OK(zpt_model_add_dense(m, "a", 8, ZPT_INIT_HE));
  OK(zpt_model_add_act(m, NULL, ZPT_ACT_TANH));
  zpt_layer *l = zpt_layer_alloc(&noisy_ops, "noise", 8, 8);
  ck_assert_ptr_nonnull(l);
  l->stochastic = 1;
  l->param_offset = zpt_model_n_params(m);
  OK(zpt_model_add(m, l));
  OK(zpt_model_add_dense(m, "b", 3, ZPT_INIT_HE));
  zpt_model_init(m, 9);
  return m;
}

START_TEST(test_noise_deterministic) {
  zpt_model *m = noisy_model();
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n = 3, M = 3, V = 4;
  float delta[128];
  fill_uniform(delta, 128, 300, 1.0f);
  float x[3 * 6];
  fill_uniform(x, 18, 301, 1.0f);
  zpt_variation vars[4] = {{0, 0, 0, NULL},
                           {0, 10, 0.1f, delta},
                           {N - 5, 5, 0.1f, delta + 3},
                           {0, N, 0.01f, delta}};
  ck_assert_uint_le(N, 128);
  float out1[4 * 3 * 3], out2[4 * 3 * 3], out3[4 * 3 * 3], clean[4 * 3 * 3];
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out1, 77, 1000));
  check_variations(m, vars, V, x, n, out1, 77, 1000);
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out2, 77, 1000));
  ck_assert(memcmp(out1, out2, sizeof out1) == 0); /* same (seed, query) */
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out3, 77, 1004));
  ck_assert(memcmp(out1, out3, sizeof out1) != 0); /* other queries */
  /* query q's noise does not depend on its place in the call: variation 2
   * asked alone as query 1002 equals its value above */
  OK(zpt_model_forward_variations(m, p->theta, vars + 2, 1, x, n, out3, 77, 1002));
  ck_assert(memcmp(out3, out1 + 2 * n * M, n * M * sizeof(float)) == 0);
  /* one variation per chunk: the same noisy outputs */
  zpt_model_set_chunk_floats(m, 1);
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out3, 77, 1000));
  ck_assert_uint_eq(zpt_model_last_stats(m).chunks, V);
  ck_assert(memcmp(out1, out3, sizeof out1) == 0);
  /* two and three threads: the same noisy outputs */
  for (size_t t = 2; t <= 3; t++) {
    OK(zpt_model_set_threads(m, t));
    OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, out3, 77, 1000));
    ck_assert(memcmp(out1, out3, sizeof out1) == 0);
  }
  OK(zpt_model_set_threads(m, 1));
  /* noise off: deterministic and equal to the noise-free forward */
  OK(zpt_model_forward_variations(m, p->theta, vars, V, x, n, clean, 0, 1000));
  check_variations(m, vars, V, x, n, clean, 0, 0);
  ck_assert(memcmp(clean, out1, sizeof out1) != 0);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_init_rules) {
  /* dense 400 -> 300 under each rule: bounds, spread, biases */
  int rules[3] = {ZPT_INIT_HE, ZPT_INIT_XAVIER, ZPT_INIT_UNIFORM};
  for (int k = 0; k < 3; k++) {
    zpt_model *m = zpt_model_alloc(400);
    OK(zpt_model_add_dense(m, "d", 300, rules[k]));
    zpt_model_init(m, 11);
    const float *w = view(m, "d.weight"), *b = view(m, "d.bias");
    double ss = 0, wmax = 0, bmax = 0;
    for (size_t i = 0; i < 120000; i++) {
      ss += (double)w[i] * w[i];
      wmax = fabs(w[i]) > wmax ? fabs(w[i]) : wmax;
    }
    for (size_t i = 0; i < 300; i++)
      bmax = fabs(b[i]) > bmax ? fabs(b[i]) : bmax;
    double sd = sqrt(ss / 120000.0);
    if (rules[k] == ZPT_INIT_HE) {
      ck_assert_msg(fabs(sd / sqrt(2.0 / 400) - 1) < 0.02, "He std %g", sd);
      ck_assert(bmax == 0);
    } else {
      double a = rules[k] == ZPT_INIT_XAVIER ? sqrt(6.0 / 700) : 1.0 / 20;
      ck_assert_msg(wmax <= a && wmax > 0.99 * a, "max |w| %g, bound %g", wmax, a);
      ck_assert_msg(fabs(sd / (a / sqrt(3.0)) - 1) < 0.02, "uniform std %g", sd);
      if (rules[k] == ZPT_INIT_XAVIER)
        ck_assert(bmax == 0);
      else
        ck_assert(bmax > 0.9 * a && bmax <= a);
    }
    zpt_model_free(m);
  }
}
END_TEST

/* ------------------------------------------------------------- builders */

START_TEST(test_cnn_builder) {
  zpt_cnn_config cfg = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&cfg);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  ck_assert_uint_eq(zpt_model_n_params(m), 6854);
  ck_assert_uint_eq(zpt_model_n_layers(m), 9);
  ck_assert_uint_eq(zpt_model_input_size(m), 784);
  ck_assert_uint_eq(zpt_model_output_size(m), 10);
  zpt_params *p = zpt_model_params(m);
  const zpt_view *v = zpt_params_find(p, "conv1.weight");
  ck_assert_ptr_nonnull(v);
  char s[32];
  zpt_view_shape_str(v, s, sizeof s);
  ck_assert_str_eq(s, "6x1x5x5");
  ck_assert_uint_eq(v->offset, 0);
  v = zpt_params_find(p, "conv2.weight");
  zpt_view_shape_str(v, s, sizeof s);
  ck_assert_str_eq(s, "16x6x5x5");
  ck_assert_uint_eq(v->offset, 156);
  v = zpt_params_find(p, "fc1.weight");
  zpt_view_shape_str(v, s, sizeof s);
  ck_assert_str_eq(s, "16x256");
  v = zpt_params_find(p, "fc2.bias");
  ck_assert_uint_eq(v->offset, 6854 - 10);
  const zpt_view *none;
  ck_assert_int_eq(zpt_params_lookup(p, "fc3.bias", &none), ZPT_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "fc3.bias"));
  const zpt_layer *l = zpt_model_find_layer(m, "pool2");
  ck_assert_ptr_nonnull(l);
  ck_assert_str_eq(l->ops->kind, "maxpool");
  ck_assert_uint_eq(l->out_size, 256);
  ck_assert_ptr_null(zpt_model_find_layer(m, "nope"));
  /* layer ranges tile theta */
  size_t end = 0;
  for (size_t k = 0; k < zpt_model_n_layers(m); k++) {
    ck_assert_uint_eq(zpt_model_layer(m, k)->param_offset, end);
    end += zpt_model_layer(m, k)->n_params;
  }
  ck_assert_uint_eq(end, 6854);
  /* FLOPs by hand: conv1 6*24*24*(2*25+1), relu 3456, pool 864*3,
   * conv2 16*8*8*(2*150+1), relu 1024, pool 256*3, fc1 2*256*16+16,
   * relu 16, fc2 2*16*10+10 */
  ck_assert(zpt_model_layer(m, 0)->ops->flops(zpt_model_layer(m, 0)) == 176256.0);
  ck_assert(zpt_model_layer(m, 3)->ops->flops(zpt_model_layer(m, 3)) == 308224.0);
  ck_assert(zpt_model_layer(m, 6)->ops->flops(zpt_model_layer(m, 6)) == 8208.0);
  ck_assert(zpt_model_layer(m, 8)->ops->flops(zpt_model_layer(m, 8)) == 330.0);
  ck_assert(zpt_model_flops(m) == 176256.0 + 3456 + 2592 + 308224 + 1024 + 768 + 8208 + 16 + 330);
  /* init: seeded, layer by layer; He std on conv2 (fan_in 150) */
  zpt_model_init(m, 1);
  float *t1 = zpt_floats(6854, "t1");
  memcpy(t1, p->theta, 6854 * sizeof *t1);
  zpt_model_init(m, 1);
  ck_assert(memcmp(t1, p->theta, 6854 * sizeof *t1) == 0);
  zpt_model_init(m, 2);
  ck_assert(memcmp(t1, p->theta, 6854 * sizeof *t1) != 0);
  const zpt_view *w2 = zpt_params_find(p, "conv2.weight");
  double ss = 0;
  for (size_t i = 0; i < w2->size; i++)
    ss += (double)p->theta[w2->offset + i] * p->theta[w2->offset + i];
  double sd = sqrt(ss / (double)w2->size), want = sqrt(2.0 / 150.0);
  ck_assert_msg(fabs(sd / want - 1) < 0.05, "He std %g, expected %g", sd, want);
  ck_assert(p->theta[zpt_params_find(p, "conv2.bias")->offset] == 0.0f);
  zpt_free(t1);
  zpt_model_free(m);
}
END_TEST

START_TEST(test_mixer_builders) {
  zpt_mixer_config c = zpt_mixer_small();
  ck_assert_uint_eq(zpt_mixer_n_params(&c), 33642);
  zpt_model *m = zpt_mixer_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  ck_assert_uint_eq(zpt_model_n_params(m), 33642);
  ck_assert_uint_eq(zpt_model_n_layers(m), 1 + 3 + 3);
  ck_assert_ptr_nonnull(zpt_params_find(zpt_model_params(m), "block2.channel.w2"));
  /* forward a batch and a block-perturbed variation through the mixer */
  zpt_model_init(m, 3);
  zpt_params *p = zpt_model_params(m);
  size_t n = 3, NI = zpt_model_input_size(m), M = 10, N = p->n_params;
  float *x = zpt_floats(n * NI, "x"), *delta = zpt_floats(N, "delta");
  fill_uniform(x, n * NI, 400, 1.0f);
  fill_uniform(delta, N, 401, 1.0f);
  const zpt_view *tw = zpt_params_find(p, "block1.token.w2");
  zpt_variation vars[3] = {{0, 0, 0, NULL}, {tw->offset - 100, 510, 0.1f, delta},
                           {0, N, 0.01f, delta}};
  float *out = zpt_floats(3 * n * M, "out");
  OK(zpt_model_forward_variations(m, p->theta, vars, 3, x, n, out, 0, 0));
  check_variations(m, vars, 3, x, n, out, 0, 0);
  zpt_free(out);
  zpt_free(x);
  zpt_free(delta);
  zpt_model_free(m);

  c = zpt_mixer_large();
  ck_assert_uint_eq(zpt_mixer_n_params(&c), 1706762);
  m = zpt_mixer_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  ck_assert_uint_eq(zpt_model_n_params(m), 1706762);
  zpt_model_free(m);

  /* MNIST: 1x28x28, patch 4 -> 49 tokens: 544 + 3*8625 + 64 + 330 */
  c = zpt_mixer_small();
  c.in_c = 1;
  c.in_h = c.in_w = 28;
  m = zpt_mixer_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  ck_assert_uint_eq(zpt_model_n_params(m), 26813);
  zpt_model_free(m);

  /* a patch size that does not tile the image fails with the reason */
  c.patch = 5;
  ck_assert_ptr_null(zpt_mixer_alloc(&c));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "do not tile"));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "MLP-mixer"));
}
END_TEST

/* --------------------------------------------------------------- errors */

#define FAILS(expr, code, text)                                                      \
  do {                                                                               \
    zpt_error_clear();                                                               \
    int fails_rc_ = (expr);                                                          \
    ck_assert_msg(fails_rc_ == (code), "%s returned %d, expected %d (%s)", #expr,     \
                  fails_rc_, (code), zpt_error_message());                           \
    ck_assert_msg(strstr(zpt_error_message(), (text)) != NULL,                       \
                  "%s: message '%s' lacks '%s'", #expr, zpt_error_message(), (text)); \
  } while (0)

START_TEST(test_bad_shapes) {
  zpt_model *m = shaped(zpt_shape_chw(1, 4, 4));
  FAILS(zpt_model_add_conv2d(m, "c", 2, 7, 7, 1, 1, ZPT_INIT_HE), ZPT_EINVAL,
        "larger than the padded input");
  FAILS(zpt_model_add_conv2d(m, "c", 0, 3, 3, 1, 0, ZPT_INIT_HE), ZPT_EINVAL, "'c'");
  FAILS(zpt_model_add_conv2d(m, "c", 2, 3, 3, 0, 0, ZPT_INIT_HE), ZPT_EINVAL, "stride 0");
  FAILS(zpt_model_add_conv2d(m, "c", 2, 3, 3, 1, 0, 99), ZPT_EINVAL, "unknown init 99");
  FAILS(zpt_model_add_maxpool(m, "p", 3, 2), ZPT_EINVAL, "do not tile");
  FAILS(zpt_model_add_avgpool(m, "p", 0, 1), ZPT_EINVAL, "window 0");
  FAILS(zpt_model_add_maxpool(m, "p", 5, 1), ZPT_EINVAL, "larger than the input");
  FAILS(zpt_model_add_rnn(m, "r", 4, ZPT_INIT_HE), ZPT_EINVAL, "expects a T x F sequence");
  FAILS(zpt_model_add_patch_embed(m, "pe", 3, 4, ZPT_INIT_HE), ZPT_EINVAL, "do not tile");
  FAILS(zpt_model_add_mixer_block(m, "mb", 2, 2, ZPT_INIT_HE), ZPT_EINVAL,
        "expects tokens x channels");
  FAILS(zpt_model_add_dense(m, "d", 0, ZPT_INIT_HE), ZPT_EINVAL, "0 outputs");
  FAILS(zpt_model_add_act(m, "a", (zpt_act)42), ZPT_EINVAL, "unknown kind 42");
  FAILS(zpt_model_add_dense(m, "a-name-that-is-far-too-long-for-a-layer", 3, ZPT_INIT_HE),
        ZPT_EINVAL, "expected 1..31 characters");
  /* none of the failures changed the model */
  ck_assert_uint_eq(zpt_model_n_layers(m), 0);
  ck_assert_uint_eq(zpt_model_n_params(m), 0);
  ck_assert_uint_eq(zpt_model_params(m)->n_views, 0);
  /* a good layer, then a duplicate name */
  OK(zpt_model_add_dense(m, "d", 3, ZPT_INIT_HE));
  FAILS(zpt_model_add_dense(m, "d", 3, ZPT_INIT_HE), ZPT_EINVAL, "'d'");
  ck_assert_uint_eq(zpt_model_n_params(m), 16 * 3 + 3);
  FAILS(zpt_model_add_global_avgpool(m, "g"), ZPT_EINVAL, "found a vector of 3");
  FAILS(zpt_model_add_conv2d(m, "c2", 2, 1, 1, 1, 0, ZPT_INIT_HE), ZPT_EINVAL,
        "expects a C x H x W input");
  /* reshape: size must match */
  FAILS(zpt_model_reshape(m, zpt_shape_seq(2, 2)), ZPT_EINVAL, "has 3 floats");
  OK(zpt_model_reshape(m, zpt_shape_seq(3, 1)));
  OK(zpt_model_flatten(m));
  ck_assert(zpt_model_shape(m).rank == 1 && zpt_model_shape(m).dim[0] == 3);
  OK(zpt_model_reshape(m, zpt_shape_seq(3, 1)));
  OK(zpt_model_add_rnn(m, "r", 2, ZPT_INIT_HE));
  /* generic layers: in_size mismatch, parameter range mismatch, NULLs */
  zpt_layer *l = zpt_layer_alloc(&noisy_ops, "x", 7, 7);
  l->param_offset = zpt_model_n_params(m);
  FAILS(zpt_model_add(m, l), ZPT_EINVAL, "in_size 7, but the model's current output has 6");
  l = zpt_layer_alloc(&noisy_ops, "y", 6, 6);
  l->param_offset = 0;
  l->n_params = 4;
  FAILS(zpt_model_add(m, l), ZPT_EINVAL, "parameter range [0, 4)");
  FAILS(zpt_model_add(m, NULL), ZPT_EINVAL, "layer is NULL");
  l = zpt_layer_alloc(&noisy_ops, "z", 6, 6);
  l->param_offset = zpt_model_n_params(m);
  FAILS(zpt_model_add_shaped(m, l, zpt_shape_chw(2, 2, 2)), ZPT_EINVAL,
        "out_size 6 does not match its shape 2x2x2");
  ck_assert_ptr_null(zpt_layer_alloc(NULL, "z", 1, 1));
  ck_assert_ptr_null(zpt_layer_alloc(&noisy_ops, "z", 0, 1));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "in_size 0"));
  FAILS(zpt_model_add_dense(NULL, "d", 3, ZPT_INIT_HE), ZPT_EINVAL, "model is NULL");
  FAILS(zpt_model_add(NULL, zpt_layer_alloc(&noisy_ops, "z", 1, 1)), ZPT_EINVAL,
        "model is NULL");
  ck_assert_ptr_null(zpt_model_alloc(0));
  ck_assert_ptr_null(zpt_model_alloc_shaped(zpt_shape_chw(1, 0, 3)));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "1x0x3"));
  zpt_model_free(NULL);
  zpt_layer_free(NULL);

  /* forward: NULLs, zero batch, bad variations */
  float theta[64] = {0}, x[16 * 2] = {0}, out[64];
  ck_assert_uint_le(zpt_model_n_params(m), 64);
  FAILS(zpt_model_forward(m, NULL, x, 1, out, NULL), ZPT_EINVAL, "NULL theta");
  FAILS(zpt_model_forward(m, theta, x, 0, out, NULL), ZPT_EINVAL, "0 samples");
  zpt_variation bad = {zpt_model_n_params(m) - 2, 3, 1.0f, theta};
  FAILS(zpt_model_forward_variations(m, theta, &bad, 1, x, 1, out, 0, 0), ZPT_ERANGE,
        "exceeds the model's");
  bad = (zpt_variation){0, 2, 1.0f, NULL};
  FAILS(zpt_model_forward_variations(m, theta, &bad, 1, x, 1, out, 0, 0), ZPT_EINVAL,
        "delta is NULL");
  bad = (zpt_variation){SIZE_MAX, 2, 1.0f, theta};
  FAILS(zpt_model_forward_variations(m, theta, &bad, 1, x, 1, out, 0, 0), ZPT_ERANGE,
        "exceeds the model's");
  FAILS(zpt_model_forward_variations(m, theta, NULL, 1, x, 1, out, 0, 0), ZPT_EINVAL,
        "NULL variations");
  bad = (zpt_variation){0, 0, 0, NULL};
  FAILS(zpt_model_forward_variations(m, theta, &bad, 0, x, 1, out, 0, 0), ZPT_EINVAL,
        "0 variations");
  OK(zpt_model_forward_variations(m, theta, &bad, 1, x, 2, out, 0, 0));
  zpt_model_free(m);

  /* an empty model cannot run */
  m = zpt_model_alloc(3);
  FAILS(zpt_model_forward(m, theta, x, 1, out, NULL), ZPT_EINVAL, "no layers");
  zpt_model_free(m);
}
END_TEST

/* ------------------------------------------------------ simulated backend */

START_TEST(test_sim_backend) {
  zpt_model *m = noisy_model();
  zpt_params *p = zpt_model_params(m);
  zpt_blackbox *bb = zpt_model_blackbox(m, 5);
  ck_assert_ptr_nonnull(bb);
  ck_assert_uint_eq(bb->n_params, zpt_model_n_params(m));
  ck_assert_uint_eq(bb->input_size, 6);
  ck_assert_uint_eq(bb->output_size, 3);
  ck_assert_str_eq(bb->type->name, "sim");
  size_t N = p->n_params, n = 4;
  float delta[128], x[4 * 6], a[3 * 4 * 3], b[3 * 4 * 3];
  fill_uniform(delta, 128, 500, 1.0f);
  ck_assert_uint_le(N, 128);
  fill_uniform(x, 24, 501, 1.0f);
  zpt_variation vars[3] = {{0, 0, 0, NULL}, {2, 7, 0.1f, delta}, {0, N, 0.01f, delta}};
  OK(zpt_blackbox_query(bb, p->theta, vars, 3, x, n, a, 42));
  OK(zpt_model_forward_variations(m, p->theta, vars, 3, x, n, b, 5, 42));
  ck_assert(memcmp(a, b, sizeof a) == 0);
  /* errors carry the backend's context */
  zpt_variation bad = {N, 1, 1.0f, delta};
  ck_assert_int_eq(zpt_blackbox_query(bb, p->theta, &bad, 1, x, n, a, 7), ZPT_ERANGE);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "simulated backend"));
  zpt_blackbox_free(bb);
  /* the model survives the adapter */
  OK(zpt_model_forward_variations(m, p->theta, vars, 3, x, n, b, 5, 42));
  ck_assert(memcmp(a, b, sizeof a) == 0);
  zpt_blackbox_free(NULL);
  ck_assert_ptr_null(zpt_model_blackbox(NULL, 0));
  zpt_model_free(m);
}
END_TEST

/* End to end: the trainer of src/zo drives a small classifier through the
 * simulated backend (ZO-NP with Fisher updates, so Jacobian queries of
 * single coordinates pass through the batched variations too). */
START_TEST(test_trainer_through_backend) {
  size_t F = 4, C = 3, B = 30, iters = 300;
  zpt_model *m = zpt_model_alloc(F);
  OK(zpt_model_add_dense(m, "h", 8, ZPT_INIT_XAVIER));
  OK(zpt_model_add_act(m, NULL, ZPT_ACT_TANH));
  OK(zpt_model_add_dense(m, "out", C, ZPT_INIT_XAVIER));
  zpt_model_init(m, 21);
  zpt_blackbox *bb = zpt_model_blackbox(m, 0);
  ck_assert_ptr_nonnull(bb);
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  cfg.loss = zpt_loss_xent(C);
  cfg.q = 10;
  cfg.n_max = 16;
  cfg.t_ud = 20;
  cfg.optim.lr = 0.05;
  zpt_trainer *t;
  OK(zpt_trainer_alloc(&t, bb, zpt_model_params(m)->theta, &cfg));
  /* three Gaussian blobs centred at 2 e_c */
  gsl_rng *r = zpt_rng_alloc(800, ZPT_STREAM_TEST, 0, 0);
  float x[30 * 4], y[30];
  double first = 0, last = 0;
  for (size_t it = 0; it < iters; it++) {
    for (size_t i = 0; i < B; i++) {
      size_t c = zpt_rng_below(r, C);
      y[i] = (float)c;
      for (size_t f = 0; f < F; f++)
        x[i * F + f] = (float)((f == c ? 2.0 : 0.0) + gsl_ran_gaussian(r, 0.5));
    }
    zpt_iter_info info;
    OK(zpt_trainer_iterate(t, x, y, B, &info));
    if (it < 20)
      first += info.loss / 20;
    if (it >= iters - 20)
      last += info.loss / 20;
  }
  ck_assert_msg(last < 0.5 * first, "mean loss of the first 20 iterations %.3f, last 20 %.3f",
                first, last);
  zpt_rng_free(r);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  zpt_model_free(m);
}
END_TEST

static Suite *nn_suite(void) {
  Suite *s = suite_create("nn");
  TCase *t = tcase_create("layers");
  tcase_add_test(t, test_dense);
  tcase_add_test(t, test_conv2d);
  tcase_add_test(t, test_pool);
  tcase_add_test(t, test_activations);
  tcase_add_test(t, test_layernorm);
  tcase_add_test(t, test_rnn);
  tcase_add_test(t, test_patch_embed);
  tcase_add_test(t, test_mixer_block);
  tcase_add_test(t, test_global_avgpool);
  suite_add_tcase(s, t);
  t = tcase_create("model");
  tcase_add_test(t, test_variations_match_single);
  tcase_add_test(t, test_many_random_variations);
  tcase_add_test(t, test_prefix_reuse);
  tcase_add_test(t, test_conv_relu_pool_fused);
  tcase_add_test(t, test_fused_variations);
  tcase_add_test(t, test_noise_deterministic);
  tcase_add_test(t, test_sequence_variations);
  tcase_add_test(t, test_init_rules);
  tcase_add_test(t, test_cnn_builder);
  tcase_add_test(t, test_mixer_builders);
  tcase_add_test(t, test_bad_shapes);
  tcase_add_test(t, test_sim_backend);
  tcase_add_test(t, test_trainer_through_backend);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(nn_suite()); }
