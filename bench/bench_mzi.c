/* Mesh application benchmark: the two routes of a mesh layer's forward
 * (docs/mzi.md, "Route choice") over K, columns and batch size, against the
 * machine's sgemm in the same run.
 *
 *   make && cc -std=c11 -D_DEFAULT_SOURCE -O2 -march=native -Isrc \
 *     bench/bench_mzi.c build/libzoptic.a -lgsl -lopenblas -lm -o build/bench_mzi
 *   build/bench_mzi
 *
 * Each timing is the best of 5 repetitions of enough calls to fill ~20 ms of
 * this thread's CPU time (OpenBLAS limited to one thread);
 * both routes include the per-forward coefficient computation. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "core/rng.h"
#include "core/timer.h"
#include "mzi/mesh.h"

typedef struct {
  const zpt_mesh_topology *t;
  zpt_mesh_hw *hw;
  const float *phases, *screen_ph;
  zpt_mzi_coef *coef;
  zpt_cfloat *screen, *U, *R, *x, *y;
  size_t n;
  zpt_buffer work;
} bench_case;

static void run_rot(bench_case *c) {
  zpt_mesh_hw_coef(c->hw, c->t, c->phases, c->screen_ph, c->coef, c->screen);
  memcpy(c->y, c->x, c->n * c->t->K * sizeof(zpt_cfloat));
  zpt_mesh_apply_rotations(c->t, c->coef, c->screen, c->y, c->n, &c->work);
}

static void run_mat(bench_case *c) {
  const int K = (int)c->t->K;
  const float one[2] = {1, 0}, zero[2] = {0, 0};
  zpt_mesh_hw_coef(c->hw, c->t, c->phases, c->screen_ph, c->coef, c->screen);
  zpt_mesh_matrix_from_coef(c->t, c->coef, c->screen, c->U, &c->work);
  cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->n, K, K, one, c->x, K, c->U,
              K, zero, c->y, K);
}

/* CPU time of this thread: the machine this was measured on is shared, and
 * wall time there mostly measures the other tenants. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double best_seconds(void (*f)(bench_case *), bench_case *c) {
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    size_t calls = 0;
    double t0 = cpu_now(), t1;
    do {
      f(c);
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
  printf("sgemm 512^3: %.1f GFLOP/s (one thread)\n",
         sgemm_gflops(512));
  printf("%4s %4s %6s %5s | %10s %8s | %10s %8s | %-9s %-9s\n", "K", "L", "n_mzi", "n",
         "rot us", "GFLOP/s", "matrix us", "GFLOP/s", "faster", "auto");
  size_t Ks[] = {8, 16, 32, 64};
  size_t ns[] = {1, 16, 32, 64, 100, 128, 256, 512, 1000};
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 0, 0);
  int agree = 0, total = 0;
  double worst_loss = 0;
  for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
    for (int trunc = 0; trunc < 2; trunc++) {
      size_t K = Ks[a], L = trunc ? K / 4 : K;
      zpt_mesh_topology *t;
      if (zpt_mesh_topology_alloc(ZPT_MESH_CLEMENTS, K, L, &t) != 0)
        return 1;
      zpt_mesh_hw *hw;
      zpt_mesh_hw_alloc(t, 1, NULL, &hw);
      size_t nmax = 1000;
      float *ph = zpt_floats(2 * t->n_mzi + K, "phases");
      for (size_t k = 0; k < 2 * t->n_mzi + K; k++)
        ph[k] = (float)(6.28 * gsl_rng_uniform(r));
      bench_case c = {t, hw, ph, ph + 2 * t->n_mzi, NULL, NULL, NULL, NULL, NULL, NULL, 0, {0}};
      c.coef = zpt_new_array(zpt_mzi_coef, t->n_mzi + 1, "coef");
      c.screen = zpt_cfloats(K, "screen");
      c.U = zpt_cfloats(K * K, "U");
      c.x = zpt_cfloats(nmax * K, "x");
      c.y = zpt_cfloats(nmax * K, "y");
      for (size_t k = 0; k < nmax * K; k++)
        c.x[k] = (float)gsl_rng_uniform(r) + I * (float)gsl_rng_uniform(r);
      for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
        c.n = ns[b];
        double tr = best_seconds(run_rot, &c), tm = best_seconds(run_mat, &c);
        double fl = 28.0 * t->n_mzi * c.n;
        zpt_mesh_route au = zpt_mesh_auto_route(t, c.n);
        int faster_mat = tm < tr;
        total++;
        agree += (au == ZPT_ROUTE_MATRIX) == faster_mat;
        double chosen = au == ZPT_ROUTE_MATRIX ? tm : tr, best = tr < tm ? tr : tm;
        if (chosen / best > worst_loss)
          worst_loss = chosen / best;
        printf("%4zu %4zu %6zu %5zu | %10.2f %8.2f | %10.2f %8.2f | %-9s %-9s\n", K, L,
               t->n_mzi, c.n, tr * 1e6, fl / tr * 1e-9, tm * 1e6, fl / tm * 1e-9,
               faster_mat ? "matrix" : "rotations",
               au == ZPT_ROUTE_MATRIX ? "matrix" : "rotations");
      }
      zpt_free(ph);
      zpt_free(c.coef);
      zpt_free(c.screen);
      zpt_free(c.U);
      zpt_free(c.x);
      zpt_free(c.y);
      zpt_buffer_release(&c.work);
      zpt_mesh_hw_free(hw);
      zpt_mesh_topology_free(t);
    }
  printf("auto picks the faster route in %d of %d cases; worst slowdown of its choice %.2fx\n",
         agree, total, worst_loss);
  zpt_rng_free(r);
  return 0;
}
