/* Forward-pass cost of the src/nn builders: CPU time per batched call for a
 * plain forward, Q+1 all-theta variations (ZO-I) and Q+1 block-coordinate
 * variations, against the machine's sgemm in the same run.
 *
 *   make && cc -O2 -march=native -std=c11 -D_DEFAULT_SOURCE -Isrc bench/nn_bench.c \
 *      build/libzoptic.a $(pkg-config --libs gsl | sed 's/-lgslcblas//') -lopenblas -lm \
 *      -lpthread -o build/nn_bench && OPENBLAS_NUM_THREADS=1 build/nn_bench [--large]
 *
 * Process CPU time is reported (wall time on a shared machine varies with
 * the other jobs' load). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoptic.h"

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* V variations: the base, then V-1 perturbations of all theta (n_max == 0)
 * or of contiguous blocks of at most n_max values. */
static int run(zpt_model *m, const char *label, size_t n, size_t V, size_t n_max) {
  zpt_params *p = zpt_model_params(m);
  size_t N = p->n_params, n_in = zpt_model_input_size(m);
  float *x = zpt_floats(n * n_in, "input"), *delta = zpt_floats(N, "delta");
  float *out = zpt_floats(V * n * zpt_model_output_size(m), "outputs");
  zpt_variation *vars = calloc(V, sizeof *vars);
  if (!x || !delta || !out || !vars)
    return 1;
  for (size_t i = 0; i < n * n_in; i++)
    x[i] = (float)((i * 37) % 101) / 101.0f;
  for (size_t i = 0; i < N; i++)
    delta[i] = (float)((i * 31) % 13) / 13.0f - 0.5f;
  size_t blocks = n_max ? (N + n_max - 1) / n_max : 1;
  for (size_t v = 1; v < V; v++) {
    if (!n_max) {
      vars[v] = (zpt_variation){0, N, 1e-3f, delta};
    } else {
      size_t b = (v * 7919) % blocks, lo = b * N / blocks, hi = (b + 1) * N / blocks;
      vars[v] = (zpt_variation){lo, hi - lo, 1e-3f, delta};
    }
  }
  int reps = 0;
  double t0 = cpu_seconds(), t;
  do {
    if (zpt_model_forward_variations(m, p->theta, vars, V, x, n, out, 0, 0) != ZPT_OK) {
      fprintf(stderr, "%s\n", zpt_error_message());
      return 1;
    }
    reps++;
    t = cpu_seconds() - t0;
  } while (t < 2.0);
  double per = t / reps;
  zpt_fwd_stats st = zpt_model_last_stats(m);
  printf("%-30s n=%zu V=%-3zu %9.2f ms/call  %6.1f effective GFLOP/s  "
         "(%zu sample-forwards in %zu layer calls)\n",
         label, n, V, per * 1e3, (double)V * (double)n * zpt_model_flops(m) / per / 1e9,
         st.sample_forwards, st.layer_calls);
  free(vars);
  zpt_free(x);
  zpt_free(delta);
  zpt_free(out);
  return 0;
}

int main(int argc, char **argv) {
  int large = argc > 1 && strcmp(argv[1], "--large") == 0;
  int rc = 0;
  zpt_cnn_config cc = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&cc);
  if (!m)
    return 1;
  zpt_model_init(m, 1);
  printf("CNN: N = %zu, %.0f FLOPs per sample\n", zpt_model_n_params(m), zpt_model_flops(m));
  rc |= run(m, "cnn plain forward", 100, 1, 0);
  rc |= run(m, "cnn 1 + 20 all-theta", 100, 21, 0);
  rc |= run(m, "cnn 1 + 20 blocks N_max=431", 100, 21, 431);
  zpt_model_free(m);
  zpt_mixer_config mc = large ? zpt_mixer_large() : zpt_mixer_small();
  m = zpt_mixer_alloc(&mc);
  if (!m)
    return 1;
  zpt_model_init(m, 1);
  printf("MLP-mixer: N = %zu, %.0f FLOPs per sample\n", zpt_model_n_params(m),
         zpt_model_flops(m));
  rc |= run(m, "mixer plain forward", 100, 1, 0);
  if (!large)
    rc |= run(m, "mixer 1 + 20 all-theta", 100, 21, 0);
  rc |= run(m, "mixer 1 + 20 blocks N_max=512", 100, 21, 512);
  zpt_model_free(m);
  /* the machine's sgemm, same run */
  int S = 1024;
  float *a = zpt_floats((size_t)S * S, "a"), *b = zpt_floats((size_t)S * S, "b");
  float *c = zpt_floats((size_t)S * S, "c");
  if (!a || !b || !c)
    return 1;
  int reps = 0;
  double t0 = cpu_seconds(), t;
  do {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, a, S, b, S, 0.0f,
                c, S);
    reps++;
    t = cpu_seconds() - t0;
  } while (t < 1.0);
  printf("sgemm %dx%dx%d: %.1f GFLOP/s\n", S, S, S, 2.0 * S * S * (double)S * reps / t / 1e9);
  zpt_free(a);
  zpt_free(b);
  zpt_free(c);
  return rc;
}
