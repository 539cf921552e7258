/* End-to-end cost of the ready-made photonic networks: one ZO iteration's
 * worth of queries (Q + 1 = 21 variations, each perturbing all of theta, on
 * one mini-batch of B = 100) through zpt_model_forward_variations.
 *
 *   make && cc -std=c11 -D_DEFAULT_SOURCE -O2 -march=native -Isrc \
 *     bench/bench_mzi_models.c build/libzoptic.a -lgsl -lopenblas -lm \
 *     -o build/bench_mzi_models && build/bench_mzi_models
 *
 * Times are thread CPU time (OpenBLAS limited to one thread), best of 3. */
#include <cblas.h>
#include <stdio.h>
#include <time.h>

#include "core/rng.h"
#include "mzi/builders.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void run(const char *what, zpt_model *m, size_t batch) {
  const size_t V = 21, N = zpt_model_n_params(m), in = zpt_model_input_size(m),
               out = zpt_model_output_size(m);
  zpt_model_init(m, 1);
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  float *x = zpt_floats(batch * in, "x"), *delta = zpt_floats(N, "delta");
  float *y = zpt_floats(V * batch * out, "y");
  zpt_rng_gaussians(r, x, batch * in, 1.0);
  zpt_rng_gaussians(r, delta, N, 1.0);
  zpt_variation vars[21];
  vars[0] = (zpt_variation){0, 0, 0, NULL};
  for (size_t v = 1; v < V; v++)
    vars[v] = (zpt_variation){0, N, 1e-3f, delta};
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = cpu_now();
    if (zpt_model_forward_variations(m, zpt_model_params(m)->theta, vars, V, x, batch, y, 0, 0))
      return;
    double dt = cpu_now() - t0;
    if (dt < best)
      best = dt;
  }
  double fl = zpt_model_flops(m) * batch * V;
  printf("%-34s N = %6zu: %8.2f ms per 21 queries of B = %zu (%.2f GFLOP/s by the flops model)\n",
         what, N, best * 1e3, batch, fl / best * 1e-9);
  zpt_free(x);
  zpt_free(delta);
  zpt_free(y);
  zpt_rng_free(r);
}

int main(void) {
  openblas_set_num_threads(1);
  zpt_chip_config chip = zpt_chip_config_aaai(1, 1.0);
  size_t Ks[] = {16, 32, 64};
  for (int a = 0; a < 3; a++) {
    zpt_model *m = NULL;
    if (zpt_mzi_classifier_alloc(784, Ks[a], 0, &chip, &m))
      return 1;
    char what[64];
    snprintf(what, sizeof what, "classifier K=%zu (MNIST 784)", Ks[a]);
    run(what, m, 100);
    zpt_model_free(m);
  }
  zpt_model *m = NULL;
  if (zpt_mzi_equalizer_alloc(0, 0, &chip, &m))
    return 1;
  run("equalizer (21 taps, K=8)", m, 100);
  zpt_model_free(m);
  if (zpt_mzi_copying_rnn_alloc(120, 0, &chip, &m))
    return 1;
  run("copying RNN (T=100: 120 steps)", m, 100);
  zpt_model_free(m);
  return 0;
}
