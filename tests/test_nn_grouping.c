/* A variation's outputs do not depend on which other variations share the
 * call (zpt_model_forward_variations).  zoptic-mpi splits every batched
 * call of the trainer over R ranks, and the result must be bit-identical
 * for every R (docs/distributed.md): so every variation's outputs, bit for
 * bit, must be the same computed alone, in one call with all the others,
 * in any split of the call into parts, with 1..3 threads and with chunks
 * bounded by a small workspace.  Models: the CNN (sgemm: OpenBLAS picks its
 * kernels by row count), the MZI classifier on a chip with fabrication
 * errors and read-out noise, a mixer block (sgemms over tokens, layer
 * norm).  The CNN and mixer cases fail when variations are merged into one
 * layer call over several variations' samples (checked).
 *
 * With groups (zpt_model_set_group, G > 1: the variations of the group
 * (first_query + v) / G that use the base parameters at a layer run there
 * as one call over G x n samples, padded), the same for G = 3 and 5: parts
 * start and end inside groups (the first query index is 100 + v), so a call
 * holding part of a group must give the bits of the whole group; and a call
 * of variations that all diverge at the same layer does merge (fewer layer
 * calls, padded sample counts checked). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mzi/builders.h"
#include "nn/builders.h"
#include "zoptic.h"

#define OK(x) ck_assert_msg((x) == ZPT_OK, "%s: %s", #x, zpt_error_message())
#define V 14

static void fill(float *a, size_t n, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    a[i] = scale * ((float)(s >> 40) / (float)(1u << 24) - 0.5f);
  }
}

/* V variations as the trainer makes them: the base, then perturbations of
 * blocks of 64 (or fewer) consecutive parameters spread over theta, so that
 * they diverge at every layer. */
static void make_vars(size_t N, const float *delta, zpt_variation *vars) {
  vars[0] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t v = 1; v < V; v++) {
    size_t off = (N - 1) * (v * 7 % (V - 1)) / (V - 1);
    size_t len = N - off < 64 ? N - off : 64;
    vars[v] = (zpt_variation){off, len, 1e-2f * (float)v, delta + off};
  }
}

/* Calls forward_variations on vars[lo..hi) in parts of size `part`. */
static void run_parts(zpt_model *m, const zpt_variation *vars, size_t part,
                      const float *x, size_t n, float *out, uint64_t noise) {
  size_t M = zpt_model_output_size(m);
  const float *theta = zpt_model_params(m)->theta;
  for (size_t v = 0; v < V; v += part) {
    size_t k = V - v < part ? V - v : part;
    OK(zpt_model_forward_variations(m, theta, vars + v, k, x, n, out + v * n * M, noise,
                                    100 + v));
  }
}

/* Calls forward_variations_at on the variations v with v % mod ==
 * rem for every rem (non-consecutive queries 100 + v: a zoptic-mpi rank's
 * share split by layers), and through the simulated black box's query_at
 * for the complement of the first; each variation's outputs go to its
 * place in out. */
static void run_subsets(zpt_model *m, const zpt_variation *vars, size_t mod, const float *x,
                        size_t n, float *out, uint64_t noise) {
  size_t M = zpt_model_output_size(m);
  const float *theta = zpt_model_params(m)->theta;
  float *part = zpt_floats(V * n * M, "subset outputs");
  ck_assert(part != NULL);
  for (size_t rem = 0; rem < mod; rem++) {
    zpt_variation sub[V];
    uint64_t q[V];
    size_t k = 0, at[V];
    for (size_t v = 0; v < V; v++)
      if (v % mod == rem) {
        sub[k] = vars[v];
        q[k] = 100 + v;
        at[k++] = v;
      }
    if (rem == 1) { /* the black box's hook */
      zpt_blackbox *bb = zpt_model_blackbox(m, noise);
      ck_assert(bb && bb->type->query_at && bb->type->shared_cost);
      OK(bb->type->query_at(bb, theta, sub, k, q, x, n, part));
      zpt_blackbox_free(bb);
    } else {
      OK(zpt_model_forward_variations_at(m, theta, sub, k, q, x, n, part, noise));
    }
    for (size_t i = 0; i < k; i++)
      memcpy(out + at[i] * n * M, part + i * n * M, n * M * sizeof *out);
  }
  zpt_free(part);
}

static void check_model_g(zpt_model *m, size_t n, uint64_t noise, const char *what) {
  size_t N = zpt_model_n_params(m), M = zpt_model_output_size(m);
  size_t in = zpt_model_input_size(m);
  float *x = zpt_floats(n * in, "x"), *delta = zpt_floats(N, "delta");
  float *ref = zpt_floats(V * n * M, "alone"), *out = zpt_floats(V * n * M, "grouped");
  ck_assert(x && delta && ref && out);
  fill(x, n * in, 1, 2.0f);
  fill(delta, N, 2, 1.0f);
  zpt_variation vars[V];
  make_vars(N, delta, vars);
  OK(zpt_model_set_threads(m, 1));
  run_parts(m, vars, 1, x, n, ref, noise); /* each variation alone */
  /* the variations differ (the test can fail) */
  ck_assert_msg(memcmp(ref, ref + (V - 1) * n * M, n * M * sizeof *ref) != 0, "%s", what);
  static const size_t parts[] = {V, 2, 3, 5, 7, 8};
  for (size_t threads = 1; threads <= 3; threads++) {
    OK(zpt_model_set_threads(m, threads));
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
      memset(out, 0, V * n * M * sizeof *out);
      run_parts(m, vars, parts[p], x, n, out, noise);
      for (size_t v = 0; v < V; v++)
        ck_assert_msg(!memcmp(out + v * n * M, ref + v * n * M, n * M * sizeof *out),
                      "%s: variation %zu differs in calls of %zu variations on %zu "
                      "threads from the same variation computed alone",
                      what, v, parts[p], threads);
    }
  }
  /* subsets of non-consecutive queries (query_at) */
  for (size_t mod = 2; mod <= 3; mod++) {
    memset(out, 0, V * n * M * sizeof *out);
    run_subsets(m, vars, mod, x, n, out, noise);
    for (size_t v = 0; v < V; v++)
      ck_assert_msg(!memcmp(out + v * n * M, ref + v * n * M, n * M * sizeof *out),
                    "%s: variation %zu differs in a call of every %zu-th query from the "
                    "same variation computed alone", what, v, mod);
  }
  /* chunks of one variation's activations (a small workspace) */
  OK(zpt_model_set_threads(m, 2));
  zpt_model_set_chunk_floats(m, 1);
  run_parts(m, vars, V, x, n, out, noise);
  ck_assert_msg(!memcmp(out, ref, V * n * M * sizeof *out), "%s: chunked call differs", what);
  zpt_model_set_chunk_floats(m, ZPT_MODEL_CHUNK_FLOATS);
  zpt_free(x);
  zpt_free(delta);
  zpt_free(ref);
  zpt_free(out);
}

/* The checks above for one call per variation (G = 1) and groups of 3, 5. */
static void check_model(zpt_model *m, size_t n, uint64_t noise, const char *what) {
  static const size_t groups[] = {1, 3, 5};
  for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
    char label[128];
    snprintf(label, sizeof label, "%s, G = %zu", what, groups[g]);
    OK(zpt_model_set_group(m, groups[g]));
    check_model_g(m, n, noise, label);
  }
  OK(zpt_model_set_group(m, 1));
}

START_TEST(test_cnn_grouping) {
  zpt_cnn_config c = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  zpt_model_init(m, 3);
  check_model(m, 64, 0, "CNN");
  zpt_model_free(m);
}
END_TEST

START_TEST(test_mzi_grouping) {
  /* K = 64 on a chip with errors (the general 2x2 form): the encoder's
   * sgemm and the meshes */
  zpt_chip_config chip = zpt_chip_config_aaai(7, 1.0);
  chip.noise_thermal = 1e-3;
  zpt_model *m = NULL;
  OK(zpt_mzi_classifier_alloc(196, 64, 3, &chip, &m));
  zpt_model_init(m, 5);
  check_model(m, 100, 0, "MZI classifier");
  check_model(m, 100, 11, "MZI classifier with read-out noise");
  zpt_model_free(m);
}
END_TEST

START_TEST(test_mixer_grouping) {
  zpt_mixer_config c = zpt_mixer_small();
  c.in_c = 1;
  c.in_h = c.in_w = 16;
  c.blocks = 1;
  zpt_model *m = zpt_mixer_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  zpt_model_init(m, 9);
  check_model(m, 20, 0, "mixer");
  zpt_model_free(m);
}
END_TEST

/* Variations that all perturb the last layer's parameters, in groups of G:
 * the layers before it run once (the base pass), the last layer once per
 * variation (it is perturbed: never merged).  Variations perturbing the
 * first layer: layer 0 once per variation, every later layer once per
 * group over G x n samples, the places of absent variations included. */
START_TEST(test_groups_merge) {
  zpt_mixer_config c = zpt_mixer_small();
  c.in_c = 1;
  c.in_h = c.in_w = 16;
  c.blocks = 1;
  zpt_model *m = zpt_mixer_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  zpt_model_init(m, 4);
  size_t N = zpt_model_n_params(m), M = zpt_model_output_size(m), L = zpt_model_n_layers(m);
  size_t n = 6, in = zpt_model_input_size(m), first_len = zpt_model_layer(m, 0)->n_params;
  float *x = zpt_floats(n * in, "x"), *delta = zpt_floats(N, "delta");
  float *ref = zpt_floats(V * n * M, "alone"), *out = zpt_floats(V * n * M, "grouped");
  ck_assert(x && delta && ref && out);
  fill(x, n * in, 5, 2.0f);
  fill(delta, N, 6, 1.0f);
  zpt_variation vars[V];
  for (size_t v = 0; v < V; v++)
    vars[v] = (zpt_variation){v % first_len, 1, 0.05f, delta + v};
  const float *theta = zpt_model_params(m)->theta;
  OK(zpt_model_set_group(m, 1));
  OK(zpt_model_forward_variations(m, theta, vars, V, x, n, ref, 0, 7));
  zpt_fwd_stats one = zpt_model_last_stats(m);
  ck_assert_uint_eq(one.layer_calls, V * L);
  for (size_t G = 2; G <= 5; G++) {
    OK(zpt_model_set_group(m, G));
    for (uint64_t first = 0; first < G; first++) {
      OK(zpt_model_forward_variations(m, theta, vars, V, x, n, out, 0, first));
      zpt_fwd_stats st = zpt_model_last_stats(m);
      size_t groups = (size_t)((first + V - 1) / G - first / G + 1);
      ck_assert_uint_eq(st.layer_calls, V + groups * (L - 1));
      ck_assert_uint_eq(st.sample_forwards, V * n + groups * G * n * (L - 1));
      /* the outputs are those of one call per variation up to the rounding
       * of the larger calls: compare loosely */
      for (size_t i = 0; i < V * n * M; i++)
        ck_assert_msg(fabsf(out[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])),
                      "G = %zu, first query %llu: output %zu: %g, alone %g", G,
                      (unsigned long long)first, i, (double)out[i], (double)ref[i]);
    }
  }
  ck_assert_int_eq(zpt_model_set_group(m, 0), ZPT_EINVAL);
  ck_assert_int_eq(zpt_model_set_group(m, ZPT_MODEL_GROUP_MAX + 1), ZPT_EINVAL);
  zpt_free(x);
  zpt_free(delta);
  zpt_free(ref);
  zpt_free(out);
  zpt_model_free(m);
}
END_TEST

/* The prefix cache: a call on the same inputs and parameter prefix reuses
 * the last call's base activations (prefix_hits) and gives the bits of a
 * call that recomputes them; a change of the inputs, of n or of a
 * parameter before the deepest divergence layer recomputes them. */
static void cache_call(zpt_model *m, const zpt_variation *vars, size_t nv, const float *x,
                       size_t n, float *out, float *ref, size_t expect_hit, const char *what) {
  size_t M = zpt_model_output_size(m);
  const float *theta = zpt_model_params(m)->theta;
  OK(zpt_model_forward_variations(m, theta, vars, nv, x, n, out, 0, 3));
  ck_assert_msg(zpt_model_last_stats(m).prefix_hits == expect_hit, "%s: %zu prefix hits, "
                "expected %zu", what, zpt_model_last_stats(m).prefix_hits, expect_hit);
  zpt_model_forget_prefix(m);
  OK(zpt_model_forward_variations(m, theta, vars, nv, x, n, ref, 0, 3));
  ck_assert_uint_eq(zpt_model_last_stats(m).prefix_hits, 0);
  ck_assert_msg(!memcmp(out, ref, nv * n * M * sizeof *out), "%s: outputs differ from a "
                "call that recomputed the prefix", what);
  /* the call above left the cache as the first one did */
}

START_TEST(test_prefix_cache) {
  zpt_cnn_config c = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&c);
  ck_assert_msg(m != NULL, "%s", zpt_error_message());
  zpt_model_init(m, 8);
  zpt_params *p = zpt_model_params(m);
  size_t N = zpt_model_n_params(m), M = zpt_model_output_size(m);
  size_t L = zpt_model_n_layers(m), n = 12, in = zpt_model_input_size(m);
  const zpt_layer *last = zpt_model_layer(m, L - 1), *first = zpt_model_layer(m, 0);
  ck_assert(last->n_params > V && first->n_params > 0);
  float *x = zpt_floats(2 * n * in, "x"), *delta = zpt_floats(N, "delta");
  float *out = zpt_floats(V * 2 * n * M, "out"), *ref = zpt_floats(V * 2 * n * M, "ref");
  ck_assert(x && delta && out && ref);
  fill(x, 2 * n * in, 9, 2.0f);
  fill(delta, N, 10, 1.0f);
  /* a Fisher update's calls: the base, then one coordinate each of the
   * last layer's parameters, in two calls */
  zpt_variation vars[V];
  vars[0] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t v = 1; v < V; v++)
    vars[v] = (zpt_variation){last->param_offset + v, 1, 0.01f, delta + v};
  zpt_model_forget_prefix(m);
  cache_call(m, vars, 7, x, n, out, ref, 0, "first call");
  cache_call(m, vars + 7, V - 7, x, n, out, ref, 1, "second call of the update");
  cache_call(m, vars + 7, V - 7, x, 2 * n, out, ref, 0, "another n");
  cache_call(m, vars + 7, V - 7, x + n * in, 2 * n - n, out, ref, 0, "other inputs");
  cache_call(m, vars + 7, V - 7, x + n * in, n, out, ref, 1, "the same again");
  /* the perturbed layer's own parameters are not part of the prefix */
  p->theta[last->param_offset] += 0.25f;
  cache_call(m, vars + 7, V - 7, x + n * in, n, out, ref, 1, "theta changed after the prefix");
  p->theta[first->param_offset] += 0.25f;
  cache_call(m, vars + 7, V - 7, x + n * in, n, out, ref, 0, "theta changed in the prefix");
  /* a call needing a boundary the cache does not hold */
  zpt_variation mid = {zpt_model_layer(m, L / 2)->param_offset, 0, 0.0f, NULL};
  for (size_t k = L / 2; zpt_model_layer(m, k)->n_params == 0; k++)
    mid.offset = zpt_model_layer(m, k + 1)->param_offset;
  mid.len = 1;
  mid.scale = 0.1f;
  mid.delta = delta;
  cache_call(m, &mid, 1, x + n * in, n, out, ref, 0, "another divergence layer");
  zpt_free(x);
  zpt_free(delta);
  zpt_free(out);
  zpt_free(ref);
  zpt_model_free(m);
}
END_TEST

static Suite *grouping_suite(void) {
  Suite *s = suite_create("nn_grouping");
  TCase *t = tcase_create("grouping");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_cnn_grouping);
  tcase_add_test(t, test_mzi_grouping);
  tcase_add_test(t, test_mixer_grouping);
  tcase_add_test(t, test_groups_merge);
  tcase_add_test(t, test_prefix_cache);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(grouping_suite()); }
