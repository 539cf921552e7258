/* The benchmark suite behind `make bench` (bench/run.sh runs one process per
 * measurement so that peak RSS is per method; docs/performance.md).
 *
 *   zpt_bench peak                       sgemm / cgemm GFLOP/s (2048^3)
 *   zpt_bench forward MODEL              Q+1 variations of B = 100 samples
 *   zpt_bench iter MODEL METHOD          one ZO iteration (zo-i, zo-co, zo-np)
 *   zpt_bench mesh K                     MZIs applied per second, both routes
 *   options: --threads N (OpenBLAS threads, default 1)
 *            --mthreads N (zpt_model_set_threads, default zpt_threads_default())
 *            ZPT_BENCH_GROUP=G: zpt_model_set_group (variations per group; 0 = the rule)
 *            --reps R (timed repetitions, median reported; default 5)
 *
 * MODEL: cnn, mzi16, mzi32, mzi64, eq, rnn, mixer, mixerL (the large mixer).  Every result is one CSV
 * line on stdout: section,model,variant,metric,value.  Inputs are random
 * (speed does not depend on the values); the mini-batch is B = 100.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#include "core/rng.h"
#include "core/status.h"
#include "core/threads.h"
#include "core/timer.h"
#include "mzi/builders.h"
#include "mzi/mesh.h"
#include "nn/builders.h"
#include "nn/model.h"
#include "nn/sim_backend.h"
#include "zo/trainer.h"

#define BATCH 100
#define COPY_DELAY 100 /* copying task: T (sequence length T + 20) */

/* Provided by bench_gemm.c (the only file that includes <cblas.h>). */
double bench_sgemm_seconds(int n, float *a, float *b, float *c);
double bench_cgemm_seconds(int n, float *a, float *b, float *c);

typedef struct {
  const char *name;
  zpt_model *m;
  size_t q;       /* perturbations per iteration (V = q + 1) */
  size_t n_max;   /* block size */
  zpt_loss loss;
  size_t classes; /* random targets in [0, classes) per step */
  size_t steps;
} bench_model;

/* CPU seconds of the whole process (all threads): on a machine shared with
 * other jobs, GFLOP per CPU-second compares a model with sgemm at equal
 * use of the cores, whatever the load; wall-clock figures are reported too. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void emit(const char *section, const char *model, const char *variant,
                 const char *metric, double value) {
  printf("%s,%s,%s,%s,%.10g\n", section, model, variant, metric, value);
  fflush(stdout);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int build_model(const char *name, bench_model *bm) {
  memset(bm, 0, sizeof *bm);
  bm->name = name;
  bm->steps = 1;
  int rc = ZPT_OK;
  if (!strcmp(name, "cnn")) {
    zpt_cnn_config c = zpt_cnn_default();
    bm->m = zpt_cnn_alloc(&c);
    bm->q = 20, bm->n_max = 431, bm->classes = 10;
  } else if (!strncmp(name, "mzi", 3)) {
    size_t K = strtoul(name + 3, NULL, 10);
    rc = zpt_mzi_classifier_alloc(784, K, 0, NULL, &bm->m);
    bm->q = 64, bm->n_max = 512, bm->classes = 10;
  } else if (!strcmp(name, "eq")) {
    rc = zpt_mzi_equalizer_alloc(0, 0, NULL, &bm->m);
    bm->q = 20, bm->n_max = 28, bm->classes = 4;
  } else if (!strcmp(name, "rnn")) {
    rc = zpt_mzi_copying_rnn_alloc(COPY_DELAY + 20, 0, NULL, &bm->m);
    bm->q = 20, bm->n_max = 45, bm->classes = 9, bm->steps = COPY_DELAY + 20;
  } else if (!strcmp(name, "mixer")) {
    zpt_mixer_config c = zpt_mixer_small();
    bm->m = zpt_mixer_alloc(&c);
    bm->q = 20, bm->n_max = 510, bm->classes = 10;
  } else if (!strcmp(name, "mixerL")) { /* the rebuttal's 1,706,762 parameters */
    zpt_mixer_config c = zpt_mixer_large();
    bm->m = zpt_mixer_alloc(&c);
    bm->q = 20, bm->n_max = 512, bm->classes = 10;
  } else {
    return zpt_fail(ZPT_EINVAL, "unknown model '%s' (cnn, mzi16, mzi32, mzi64, eq, rnn, mixer, "
                    "mixerL)",
                    name);
  }
  if (rc || !bm->m)
    return rc ? rc : ZPT_ENOMEM;
  zpt_model_init(bm->m, 1);
  bm->loss = bm->steps > 1 ? zpt_loss_xent_seq(bm->steps, bm->classes, 1.0)
                           : zpt_loss_xent(bm->classes);
  return ZPT_OK;
}

/* Random inputs (uniform [0, 1), or one-hot symbols for the RNN) and
 * targets. */
static void fill_batch(const bench_model *bm, gsl_rng *r, float *x, float *y) {
  size_t in = zpt_model_input_size(bm->m);
  if (!strcmp(bm->name, "rnn")) {
    memset(x, 0, BATCH * in * sizeof *x);
    for (size_t i = 0; i < BATCH * bm->steps; i++)
      x[i * 10 + gsl_rng_uniform_int(r, 10)] = 1.0f;
  } else {
    for (size_t i = 0; i < BATCH * in; i++)
      x[i] = (float)gsl_rng_uniform(r);
  }
  for (size_t i = 0; i < BATCH * bm->steps; i++)
    y[i] = (float)gsl_rng_uniform_int(r, bm->classes);
}

/* ---- peak ---------------------------------------------------------------- */

static int run_peak(int reps) {
  const int n = 2048;
  float *a = malloc(sizeof(float) * 2 * n * n), *b = malloc(sizeof(float) * 2 * n * n),
        *c = malloc(sizeof(float) * 2 * n * n);
  if (!a || !b || !c)
    return zpt_fail(ZPT_ENOMEM, "peak: 3 x %d^2 complex matrices", n);
  for (size_t i = 0; i < (size_t)2 * n * n; i++) {
    a[i] = (float)(i % 13) / 13.0f - 0.5f;
    b[i] = (float)(i % 7) / 7.0f - 0.5f;
  }
  double t[64], tc[64];
  bench_sgemm_seconds(n, a, b, c); /* warm-up */
  for (int r = 0; r < reps; r++) {
    double c0 = cpu_now();
    t[r] = bench_sgemm_seconds(n, a, b, c);
    tc[r] = cpu_now() - c0;
  }
  emit("peak", "sgemm", "2048", "gflops", 2.0 * n * n * (double)n / median(t, reps) / 1e9);
  emit("peak", "sgemm", "2048", "gflops_per_cpu", 2.0 * n * n * (double)n / median(tc, reps) / 1e9);
  bench_cgemm_seconds(n, a, b, c);
  for (int r = 0; r < reps; r++) {
    double c0 = cpu_now();
    t[r] = bench_cgemm_seconds(n, a, b, c);
    tc[r] = cpu_now() - c0;
  }
  emit("peak", "cgemm", "2048", "gflops", 8.0 * n * n * (double)n / median(t, reps) / 1e9);
  emit("peak", "cgemm", "2048", "gflops_per_cpu", 8.0 * n * n * (double)n / median(tc, reps) / 1e9);
  free(a), free(b), free(c);
  return ZPT_OK;
}

/* ---- forward ------------------------------------------------------------- */

/* Q+1 variations: the base and Q perturbations, each over all of theta
 * ("all") or one random block of n_max ("block"). */
static int run_forward(bench_model *bm, int reps) {
  size_t N = zpt_model_n_params(bm->m), V = bm->q + 1;
  size_t in = zpt_model_input_size(bm->m), out_sz = zpt_model_output_size(bm->m);
  const float *theta = zpt_model_params(bm->m)->theta;
  /* ZPT_BENCH_BATCH=n: n samples per variation instead of BATCH (section
   * "forward_b<n>": the roofline of a small model without its per-call cost) */
  const char *eb = getenv("ZPT_BENCH_BATCH");
  size_t batch = eb && atoi(eb) > 0 ? (size_t)atoi(eb) : BATCH;
  char sect[32];
  snprintf(sect, sizeof sect, "forward");
  if (batch != BATCH)
    snprintf(sect, sizeof sect, "forward_b%zu", batch);
  gsl_rng *r = zpt_rng_alloc(7, ZPT_STREAM_DATA, 0, 0);
  size_t rows = batch > BATCH ? batch : BATCH;
  float *x = malloc(sizeof(float) * rows * in), *y = malloc(sizeof(float) * rows * bm->steps);
  float *out = malloc(sizeof(float) * V * batch * out_sz);
  float *delta = malloc(sizeof(float) * bm->q * N);
  zpt_variation *vars = malloc(sizeof *vars * V);
  if (!r || !x || !y || !out || !delta || !vars)
    return zpt_fail(ZPT_ENOMEM, "forward: buffers");
  fill_batch(bm, r, x, y);
  for (size_t i = BATCH; i < batch; i++) /* more samples: the first BATCH again */
    memcpy(x + i * in, x + (i % BATCH) * in, in * sizeof *x);
  for (size_t i = 0; i < bm->q * N; i++)
    delta[i] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
  double flops = zpt_model_flops(bm->m);
  size_t n_blocks = (N + bm->n_max - 1) / bm->n_max;
  for (int mode = 0; mode < 2; mode++) {
    vars[0] = (zpt_variation){0, 0, 0.0f, NULL};
    for (size_t v = 1; v < V; v++) {
      if (mode == 0) {
        vars[v] = (zpt_variation){0, N, 1e-3f, delta + (v - 1) * N};
      } else {
        size_t b = gsl_rng_uniform_int(r, n_blocks);
        size_t lo = b * N / n_blocks, hi = (b + 1) * N / n_blocks;
        vars[v] = (zpt_variation){lo, hi - lo, 1e-3f, delta + (v - 1) * N};
      }
    }
    double t[64], tc[64];
    for (int k = -1; k < reps; k++) {
      double t0 = zpt_now(), c0 = cpu_now();
      ZPT_TRY(zpt_model_forward_variations(bm->m, theta, vars, V, x, batch, out, 0, 0));
      if (k >= 0)
        t[k] = zpt_now() - t0, tc[k] = cpu_now() - c0;
    }
    double s = median(t, reps), sc = median(tc, reps);
    const char *variant = mode == 0 ? "all" : "block";
    emit(sect, bm->name, variant, "seconds", s);
    emit(sect, bm->name, variant, "samples_per_s", (double)(V * batch) / s);
    emit(sect, bm->name, variant, "gflops", (double)(V * batch) * flops / s / 1e9);
    emit(sect, bm->name, variant, "gflops_per_cpu", (double)(V * batch) * flops / sc / 1e9);
  }
  emit(sect, bm->name, "all", "V", (double)V);
  emit(sect, bm->name, "all", "n_params", (double)N);
  emit(sect, bm->name, "all", "flops_per_sample", flops);
  gsl_rng_free(r);
  free(x), free(y), free(out), free(delta), free(vars);
  return ZPT_OK;
}

/* ---- one ZO iteration ------------------------------------------------------ */

static size_t fisher_bytes(const zpt_trainer *t) {
  const zpt_fisher *f = zpt_trainer_fisher(t);
  if (!f)
    return 0;
  size_t bytes = 0;
  for (size_t b = 0; b < f->blocks->n_blocks; b++) {
    size_t one = zpt_packed_size(zpt_block_len(f->blocks, b)) * sizeof(double);
    bytes += (f->fisher[b] ? one : 0) + (f->chol[b] ? one : 0);
  }
  return bytes;
}

/* ZPT_BENCH_BLOCKS=k1,k2,... (a count or "all"): after the iterations,
 * blocks without an estimate get one until k1 are present, then the peak
 * RSS (section "iterblocks_k1"), then k2, ...  The estimates come from
 * zpt_fisher_update_dense with a synthetic SPD matrix (identity plus a
 * first off-diagonal of 0.3: the memory and the factorisation do not depend
 * on the values), in the trainer's own store.  Memory only: the large
 * mixer's 3,334 real updates would take days here. */
static int fill_blocks(bench_model *bm, const char *variant, zpt_trainer *t, const char *list) {
  zpt_fisher *f = (zpt_fisher *)zpt_trainer_fisher(t); /* bench only */
  if (!f)
    return ZPT_OK;
  size_t nb = f->blocks->n_blocks, m = f->blocks->max_len;
  double *F = calloc(m * m, sizeof *F);
  if (!F)
    return zpt_fail(ZPT_ENOMEM, "fill: %zu x %zu", m, m);
  char buf[128];
  snprintf(buf, sizeof buf, "%s", list);
  int rc = ZPT_OK;
  for (char *tok = strtok(buf, ","); tok && rc == ZPT_OK; tok = strtok(NULL, ",")) {
    size_t target = !strcmp(tok, "all") ? nb : strtoul(tok, NULL, 10);
    double t0 = zpt_now();
    for (size_t b = 0; b < nb && f->n_present < target && rc == ZPT_OK; b++) {
      if (f->chol[b])
        continue;
      size_t n = zpt_block_len(f->blocks, b);
      memset(F, 0, n * n * sizeof *F);
      for (size_t i = 0; i < n; i++) {
        F[i * n + i] = 1.0;
        if (i)
          F[i * n + i - 1] = F[(i - 1) * n + i] = 0.3;
      }
      rc = zpt_fisher_update_dense(f, b, F);
    }
    char sect[64];
    snprintf(sect, sizeof sect, "iterblocks_%s", tok);
    emit(sect, bm->name, variant, "blocks", (double)f->n_present);
    emit(sect, bm->name, variant, "fill_seconds", zpt_now() - t0);
    emit(sect, bm->name, variant, "fisher_bytes", (double)fisher_bytes(t));
    emit(sect, bm->name, variant, "peak_rss_bytes", (double)zpt_peak_rss_bytes());
  }
  free(F);
  return rc;
}

/* Memory with every Fisher block present (ZO-NP's steady state): T_ud = 1
 * and the permutation-cycle schedule update each block once in n_blocks
 * iterations; the workspaces are those of a normal run. */
static int run_fill(bench_model *bm, zpt_zo_config *cfg, zpt_blackbox *bb, const float *x,
                    const float *y) {
  cfg->t_ud = 1;
  cfg->fisher_schedule = ZPT_FISHER_CYCLE;
  zpt_trainer *t;
  ZPT_TRY(zpt_trainer_alloc(&t, bb, zpt_model_params(bm->m)->theta, cfg));
  size_t nb = zpt_trainer_blocks(t)->n_blocks;
  zpt_iter_info info;
  double c0 = cpu_now();
  for (size_t i = 0; i < nb; i++)
    ZPT_TRY(zpt_trainer_iterate(t, x, y, BATCH, &info));
  /* every iteration holds one block's update: the mean over all blocks */
  emit("iterfull", bm->name, "zo-np", "update_iter_cpu_seconds", (cpu_now() - c0) / (double)nb);
  emit("iterfull", bm->name, "zo-np", "fisher_bytes", (double)fisher_bytes(t));
  emit("iterfull", bm->name, "zo-np", "blocks", (double)zpt_trainer_fisher(t)->n_present);
  emit("iterfull", bm->name, "zo-np", "peak_rss_bytes", (double)zpt_peak_rss_bytes());
  zpt_trainer_free(t);
  return ZPT_OK;
}

static int run_iter(bench_model *bm, const char *method, int reps) {
  zpt_zo_config cfg;
  zpt_zo_config_default(&cfg);
  if (!strcmp(method, "zo-i"))
    cfg.method = ZPT_ZO_I;
  else if (!strcmp(method, "zo-co"))
    cfg.method = ZPT_ZO_CO;
  else if (!strcmp(method, "zo-np"))
    cfg.method = ZPT_ZO_NP;
  else
    return zpt_fail(ZPT_EINVAL, "unknown method '%s' (zo-i, zo-co, zo-np)", method);
  const char *mode = getenv("ZPT_BENCH_MODE"); /* "all": every u covers all blocks */
  cfg.mode = mode && !strcmp(mode, "all") ? ZPT_PERTURB_ALL : ZPT_PERTURB_BLOCK;
  cfg.q = bm->q;
  cfg.n_max = bm->n_max;
  const char *nmax = getenv("ZPT_BENCH_NMAX"); /* another block size */
  char variant[48];
  snprintf(variant, sizeof variant, "%s", method);
  if (nmax && atoi(nmax) > 0) { /* rows named METHOD@N_MAX */
    cfg.n_max = (size_t)atoi(nmax);
    snprintf(variant, sizeof variant, "%s@%zu", method, cfg.n_max);
  }
  method = variant;
  cfg.t_ud = 100;
  /* ZPT_BENCH_ITERS=k: k timed iterations instead of the window of t_ud
   * (the large mixer: seconds per iteration); the update at t = 0 stays in
   * the warm-up, so ZO-NP's figures are then regular iterations only */
  const char *iters = getenv("ZPT_BENCH_ITERS");
  size_t window = iters && atoi(iters) > 0 ? (size_t)atoi(iters) : cfg.t_ud;
  int warm = iters && atoi(iters) > 0 ? 1 : 3;
  cfg.loss = bm->loss;
  size_t in = zpt_model_input_size(bm->m);
  zpt_blackbox *bb = zpt_model_blackbox(bm->m, 0);
  if (!bb)
    return zpt_fail_context(ZPT_ENOMEM, "iter: ");
  gsl_rng *r = zpt_rng_alloc(7, ZPT_STREAM_DATA, 0, 0);
  float *x = malloc(sizeof(float) * BATCH * in), *y = malloc(sizeof(float) * BATCH * bm->steps);
  if (!r || !x || !y)
    return zpt_fail(ZPT_ENOMEM, "iter: buffers");
  fill_batch(bm, r, x, y);
  const char *fill = getenv("ZPT_BENCH_FILL");
  if (fill && !strcmp(fill, "1") && cfg.method == ZPT_ZO_NP) {
    int rc = run_fill(bm, &cfg, bb, x, y);
    zpt_blackbox_free(bb);
    gsl_rng_free(r);
    free(x), free(y);
    return rc;
  }
  zpt_trainer *t;
  ZPT_TRY(zpt_trainer_alloc(&t, bb, zpt_model_params(bm->m)->theta, &cfg));
  /* warm-up: 3 iterations (including ZO-NP's first Fisher update, at t = 0),
   * then t_ud iterations timed one by one: they hold exactly one update
   * (t = 100).  The regular iteration is the median of the others; ZO-NP's
   * cost per iteration adds the update's excess over it, divided by t_ud. */
  zpt_iter_info info;
  double w0 = zpt_now(), wc0 = cpu_now();
  for (int k = 0; k < warm; k++)
    ZPT_TRY(zpt_trainer_iterate(t, x, y, BATCH, &info));
  emit("iter", bm->name, method, "warmup_seconds", zpt_now() - w0);
  emit("iter", bm->name, method, "warmup_cpu_seconds", cpu_now() - wc0);
  emit("iter", bm->name, method, "warmup_peak_rss_bytes", (double)zpt_peak_rss_bytes());
  (void)reps; /* the window of t_ud iterations is the repetition */
  double *tw = malloc(sizeof(double) * 2 * window), update = 0, update_cpu = 0;
  double *tcw = tw + window;
  size_t n_reg = 0, n_upd = 0;
  double fisher0 = zpt_trainer_counters(t)->fisher_seconds;
  if (!tw)
    return zpt_fail(ZPT_ENOMEM, "iter: timings");
  for (size_t i = 0; i < window; i++) {
    double t0 = zpt_now(), c0 = cpu_now();
    ZPT_TRY(zpt_trainer_iterate(t, x, y, BATCH, &info));
    double dt = zpt_now() - t0, dc = cpu_now() - c0;
    if (info.fisher_updated) {
      update += dt, update_cpu += dc, n_upd++;
    } else {
      tcw[n_reg] = dc;
      tw[n_reg++] = dt;
    }
  }
  double regular = median(tw, (int)n_reg), regular_cpu = median(tcw, (int)n_reg);
  double s = n_upd ? regular + (update / (double)n_upd - regular) / (double)cfg.t_ud : regular;
  double s_cpu = n_upd ? regular_cpu + (update_cpu / (double)n_upd - regular_cpu) / (double)cfg.t_ud
                       : regular_cpu;
  free(tw);
  const zpt_zo_counters *c = zpt_trainer_counters(t);
  emit("iter", bm->name, method, "seconds", s);
  emit("iter", bm->name, method, "cpu_seconds", s_cpu);
  emit("iter", bm->name, method, "regular_seconds", regular);
  emit("iter", bm->name, method, "update_seconds", n_upd ? update / (double)n_upd : 0);
  emit("iter", bm->name, method, "regular_cpu_seconds", regular_cpu);
  emit("iter", bm->name, method, "update_cpu_seconds", n_upd ? update_cpu / (double)n_upd : 0);
  emit("iter", bm->name, method, "fisher_seconds_per_update",
       n_upd ? (c->fisher_seconds - fisher0) / (double)n_upd : 0);
  emit("iter", bm->name, method, "queries_per_iter",
       (double)c->queries / (double)c->iterations);
  emit("iter", bm->name, method, "fisher_bytes", (double)fisher_bytes(t));
  emit("iter", bm->name, method, "workspace_bytes", (double)zpt_model_workspace_bytes(bm->m));
  emit("iter", bm->name, method, "peak_rss_bytes", (double)zpt_peak_rss_bytes());
  emit("iter", bm->name, method, "fisher_seconds_total", c->fisher_seconds);
  emit("iter", bm->name, method, "n_max", (double)cfg.n_max);
  emit("iter", bm->name, method, "n_blocks", (double)zpt_trainer_blocks(t)->n_blocks);
  const char *want = getenv("ZPT_BENCH_BLOCKS");
  if (want && *want && cfg.method == ZPT_ZO_NP)
    ZPT_TRY(fill_blocks(bm, variant, t, want));
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  gsl_rng_free(r);
  free(x), free(y);
  return ZPT_OK;
}

/* ---- MZI meshes alone ----------------------------------------------------- */

static int run_mesh(size_t K, int reps) {
  zpt_params *p = zpt_params_alloc();
  zpt_layer *l[2] = {NULL, NULL};
  const zpt_mesh_route routes[2] = {ZPT_ROUTE_ROTATIONS, ZPT_ROUTE_MATRIX};
  const char *names[2] = {"rotations", "matrix"};
  if (!p)
    return zpt_fail(ZPT_ENOMEM, "mesh: params");
  for (int k = 0; k < 2; k++) {
    zpt_mesh_spec spec = {ZPT_MESH_CLEMENTS, K, 0, 1, routes[k]};
    ZPT_TRY(zpt_mesh_layer_alloc(p, names[k], &spec, NULL, &l[k]));
  }
  float *theta = p->theta;
  gsl_rng *r = zpt_rng_alloc(7, ZPT_STREAM_DATA, 0, 0);
  size_t n_params = p->n_params;
  for (size_t i = 0; i < n_params; i++)
    theta[i] = (float)(2 * M_PI * gsl_rng_uniform(r));
  size_t n_mzi = zpt_mesh_layer_topology(l[0])->n_mzi;
  /* one query batch: B samples; and a stack of Q+1 = 65 variations' worth */
  const size_t counts[2] = {BATCH, 65 * BATCH};
  size_t nmax = counts[1];
  float *x = malloc(sizeof(float) * 2 * K * nmax), *y = malloc(sizeof(float) * 2 * K * nmax);
  zpt_buffer work = {0};
  zpt_fwd_ctx ctx = {NULL, &work};
  for (size_t i = 0; i < 2 * K * nmax; i++)
    x[i] = (float)gsl_rng_uniform(r) - 0.5f;
  for (int k = 0; k < 2; k++)
    for (int c = 0; c < 2; c++) {
      size_t n = counts[c];
      double t[64];
      for (int rep = -1; rep < reps; rep++) {
        double t0 = zpt_now();
        ZPT_TRY(l[k]->ops->forward(l[k], theta + l[k]->param_offset, x, y, n, &ctx));
        if (rep >= 0)
          t[rep] = zpt_now() - t0;
      }
      double s = median(t, reps);
      char model[32], variant[48];
      snprintf(model, sizeof model, "mesh%zu", K);
      snprintf(variant, sizeof variant, "%s_n%zu", names[k], n);
      emit("mesh", model, variant, "mzi_per_s", (double)n_mzi * n / s);
      emit("mesh", model, variant, "gflops36", 36.0 * n_mzi * n / s / 1e9);
    }
  char model[32];
  snprintf(model, sizeof model, "mesh%zu", K);
  emit("mesh", model, "auto_n100",
       "route_matrix", zpt_mesh_auto_route(zpt_mesh_layer_topology(l[0]), BATCH) ==
                           ZPT_ROUTE_MATRIX);
  emit("mesh", model, "all", "n_mzi", (double)n_mzi);
  zpt_buffer_release(&work);
  zpt_layer_free(l[0]);
  zpt_layer_free(l[1]);
  zpt_params_free(p);
  gsl_rng_free(r);
  free(x), free(y);
  return ZPT_OK;
}

int main(int argc, char **argv) {
  int threads = 0, mthreads = 0, reps = 5;
  const char *pos[3] = {NULL, NULL, NULL};
  int n_pos = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--mthreads") && i + 1 < argc)
      mthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (n_pos < 3)
      pos[n_pos++] = argv[i];
  }
  if (!pos[0] || reps < 1 || reps > 64) {
    fprintf(stderr, "usage: zpt_bench peak | forward MODEL | iter MODEL METHOD | mesh K "
                    "[--threads N] [--reps R]\n");
    return 2;
  }
  /* the library's policy (core/threads.h): the model deals variations to
   * zpt_threads_default() threads, each calling single-threaded BLAS */
  int rc = zpt_set_threads(threads ? threads : 1);
  if (mthreads <= 0)
    mthreads = zpt_threads_default();
  if (rc == ZPT_OK) {
    if (!strcmp(pos[0], "peak")) {
      rc = run_peak(reps);
    } else if (!strcmp(pos[0], "mesh") && pos[1]) {
      rc = run_mesh(strtoul(pos[1], NULL, 10), reps);
    } else if ((!strcmp(pos[0], "forward") || !strcmp(pos[0], "iter")) && pos[1]) {
      bench_model bm;
      rc = build_model(pos[1], &bm);
      if (rc == ZPT_OK)
        rc = zpt_model_set_threads(bm.m, (size_t)mthreads);
      const char *group = getenv("ZPT_BENCH_GROUP"); /* variations per group, 0 = rule */
      if (rc == ZPT_OK && group && *group)
        rc = zpt_model_set_group(bm.m, strtoul(group, NULL, 10));
      if (rc == ZPT_OK)
        rc = !strcmp(pos[0], "forward") ? run_forward(&bm, reps)
             : pos[2]                   ? run_iter(&bm, pos[2], reps)
                      : zpt_fail(ZPT_EINVAL, "iter needs a METHOD");
      zpt_model_free(bm.m);
    } else {
      rc = zpt_fail(ZPT_EINVAL, "unknown command '%s'", pos[0]);
    }
  }
  if (rc) {
    fprintf(stderr, "zpt_bench: %s\n", zpt_error_message());
    return 1;
  }
  return 0;
}
