/* Mesh application benchmark: the two routes of a mesh layer's forward
 * (docs/mzi.md, "Route choice") over K, columns, batch size and hardware
 * (ideal: lifted rotations; chip errors: general 2x2 rotations), against
 * the machine's sgemm in the same run, and the route AUTO takes
 * (zpt_mesh_layer_route).
 *
 *   make && cc -std=c11 -D_DEFAULT_SOURCE -O2 -march=native -Isrc \
 *     bench/bench_mzi.c build/libzoptic.a -lgsl -lopenblas -lm -o build/bench_mzi
 *   build/bench_mzi
 *
 * Each timing is the best of 5 repetitions of enough calls to fill ~20 ms of
 * this thread's CPU time (OpenBLAS limited to one thread); both routes
 * include the per-forward coefficient computation. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "core/rng.h"
#include "core/timer.h"
#include "mzi/chip.h"
#include "mzi/mesh.h"

void openblas_set_num_threads(int);

typedef struct {
  const zpt_layer *l;
  const float *params;
  const float *x;
  float *y;
  size_t n;
  zpt_fwd_ctx ctx;
} bench_case;

static void run(bench_case *c) {
  c->l->ops->forward(c->l, c->params, c->x, c->y, c->n, &c->ctx);
}

/* CPU time of this thread: the machine this was measured on is shared, and
 * wall time there mostly measures the other tenants. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double best_seconds(bench_case *c) {
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    size_t calls = 0;
    double t0 = cpu_now(), t1;
    do {
      run(c);
      calls++;
      t1 = cpu_now();
    } while (t1 - t0 < 0.02);
    double per = (t1 - t0) / calls;
    if (per < best)
      best = per;
  }
  return best;
}

static double sgemm_gflops(int n) {
  float *a = calloc((size_t)n * n, 4), *b = calloc((size_t)n * n, 4), *c = calloc((size_t)n * n, 4);
  for (int i = 0; i < n * n; i++)
    a[i] = b[i] = 1.0f / (1 + i % 7);
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = cpu_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double dt = cpu_now() - t0;
    if (dt < best)
      best = dt;
  }
  free(a);
  free(b);
  free(c);
  return 2.0 * n * n * n / best * 1e-9;
}

int main(void) {
  openblas_set_num_threads(1); /* thread CPU time must see all the work */
  printf("sgemm 512^3: %.1f GFLOP/s (one thread)\n", sgemm_gflops(512));
  printf("%-5s %4s %4s %6s %5s | %10s %8s | %10s %8s | %-9s %-9s\n", "hw", "K", "L", "n_mzi",
         "n", "rot us", "GMZI/s", "matrix us", "GMZI/s", "faster", "auto");
  const size_t Ks[] = {8, 16, 32, 64};
  const size_t ns[] = {16, 100, 256, 512, 1000, 2048, 6500};
  const size_t nmax = 6500;
  const zpt_mesh_route routes[3] = {ZPT_ROUTE_ROTATIONS, ZPT_ROUTE_MATRIX, ZPT_ROUTE_AUTO};
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  int agree = 0, total = 0;
  double worst_loss = 0;
  for (int errors = 0; errors < 2; errors++)
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
      for (int depth = 0; depth < 3; depth++) {
        size_t K = Ks[a], L = depth == 0 ? K : depth == 1 ? 3 * K / 4 : K / 2;
        zpt_params *p = zpt_params_alloc();
        zpt_layer *l[3];
        for (int k = 0; k < 3; k++) {
          zpt_chip chip;
          zpt_chip_config cc = errors ? zpt_chip_config_aaai(7, 1.0) : zpt_chip_config_ideal();
          zpt_chip_init(&chip, &cc);
          zpt_mesh_spec spec = {ZPT_MESH_CLEMENTS, K, L, 1, routes[k]};
          char name[8] = {(char)('a' + k), 0};
          if (zpt_mesh_layer_alloc(p, name, &spec, &chip, &l[k]) != 0)
            return 1;
        }
        for (size_t k = 0; k < p->n_params; k++)
          p->theta[k] = (float)(6.28 * gsl_rng_uniform(r));
        size_t n_mzi = zpt_mesh_layer_topology(l[0])->n_mzi;
        float *x = zpt_floats(2 * nmax * K, "x"), *y = zpt_floats(2 * nmax * K, "y");
        for (size_t k = 0; k < 2 * nmax * K; k++)
          x[k] = (float)gsl_rng_uniform(r) - 0.5f;
        zpt_buffer work = {0};
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
          double t[2];
          for (int k = 0; k < 2; k++) {
            bench_case c = {l[k], p->theta + l[k]->param_offset, x, y, ns[b], {NULL, &work}};
            t[k] = best_seconds(&c);
          }
          zpt_mesh_route au = zpt_mesh_layer_route(l[2], ns[b]);
          int faster_mat = t[1] < t[0];
          total++;
          agree += (au == ZPT_ROUTE_MATRIX) == faster_mat;
          double chosen = au == ZPT_ROUTE_MATRIX ? t[1] : t[0];
          double best = faster_mat ? t[1] : t[0];
          if (chosen / best > worst_loss)
            worst_loss = chosen / best;
          double m = (double)n_mzi * ns[b] * 1e-9;
          printf("%-5s %4zu %4zu %6zu %5zu | %10.2f %8.2f | %10.2f %8.2f | %-9s %-9s\n",
                 errors ? "chip" : "ideal", K, L, n_mzi, ns[b], t[0] * 1e6, m / t[0],
                 t[1] * 1e6, m / t[1], faster_mat ? "matrix" : "rotations",
                 au == ZPT_ROUTE_MATRIX ? "matrix" : "rotations");
          fflush(stdout);
        }
        zpt_buffer_release(&work);
        zpt_free(x);
        zpt_free(y);
        for (int k = 0; k < 3; k++)
          zpt_layer_free(l[k]);
        zpt_params_free(p);
      }
  printf("auto picks the faster route in %d of %d cases; worst slowdown of its choice %.2fx\n",
         agree, total, worst_loss);
  zpt_rng_free(r);
  return 0;
}
