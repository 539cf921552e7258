/* One chip per rank (zoptic-mpi --chip-per-rank, docs/distributed.md), by
 * closed form: run under `mpirun -n R` by tests/mpi_chips_test.sh.
 *
 * Every rank drives its own linear test chip (src/hw/linear_chip.c,
 * y = gain * tanh(W x + b), gain fixed by the seed) through the MPI
 * decorator with per_chip_base and trains two iterations of ZO-I with plain
 * SGD on a fixed batch.
 *
 *   mpi_chips distinct   chip seeds 11 + rank.  Each iteration's gradient
 *                        estimate must equal, to float rounding,
 *                          g = (lambda / Q) sum_q (L(y_q on chip c(q)) -
 *                              L(y_0 on chip c(q))) / h  u_q,
 *                        computed here from the same perturbations
 *                        (zpt_trainer_draw) and chips of the same seeds
 *                        queried directly, c(q) = the rank the documented
 *                        split gives query q.  The estimate with every
 *                        difference against chip 0's base (the old
 *                        semantics) must be measurably different, so the
 *                        check can fail.
 *   mpi_chips same       every chip seed 11: theta after two iterations
 *                        equals, bit for bit, one process on one chip.
 *
 * Prints "mpi_chips: ok" on rank 0; exit status 1 on a failed check.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/linear_chip.h"
#include "mpi/mpi_box.h"
#include "zoptic.h"

#define IN 4
#define OUT 3
#define BATCH 6
#define Q 5
#define ITERS 2
#define N_PARAMS (OUT * IN + OUT)

static int fails;

static void check(int ok, const char *what, int rank) {
  if (!ok) {
    fprintf(stderr, "mpi_chips: rank %d: FAIL: %s\n", rank, what);
    fails++;
  }
}

static zpt_zo_config config(void) {
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.method = ZPT_ZO_I;
  c.mode = ZPT_PERTURB_ALL;
  c.q = Q;
  c.mu = 0.05;
  c.optimizer = ZPT_OPT_SGD;
  c.optim.lr = 0.2;
  c.optim.momentum = 0;
  c.seed = 3;
  c.loss = zpt_loss_mse();
  return c;
}

static void batch(float *x, float *t) {
  for (int s = 0; s < BATCH; s++) {
    for (int i = 0; i < IN; i++)
      x[s * IN + i] = (float)sin(1.0 + s * IN + i);
    for (int o = 0; o < OUT; o++)
      t[s * OUT + o] = (float)(0.3 * cos(2.0 + s + o));
  }
}

static double loss_of(const float *y, const float *t) {
  zpt_loss l = zpt_loss_mse();
  double v = NAN;
  if (zpt_loss_eval(&l, y, t, BATCH, OUT, NULL, &v) != ZPT_OK)
    return NAN;
  return v;
}

/* The rank whose share holds perturbation q: the base query to rank 0,
 * the Q perturbed queries split evenly in order (docs/distributed.md). */
static int chip_of(int q, int size) {
  for (int r = 0; r < size; r++)
    if (q >= Q * r / size && q < Q * (r + 1) / size)
      return r;
  return -1;
}

/* The estimate of one iteration from chips queried directly; `own_base`:
 * each difference against its chip's base (else chip 0's). */
static void expected(zpt_trainer *t, zpt_blackbox **chips, int size, uint64_t iter,
                     const float *theta, const float *x, const float *tg, int own_base,
                     double *g) {
  const zpt_zo_config *c = zpt_trainer_config(t);
  const double h = c->mu / sqrt((double)N_PARAMS);
  float y[BATCH * OUT], u[N_PARAMS];
  double base[8];
  zpt_variation none = {0, 0, 0.0f, NULL};
  for (int r = 0; r < size; r++) {
    zpt_blackbox_query(chips[r], theta, &none, 1, x, BATCH, y, 0);
    base[r] = loss_of(y, tg);
  }
  memset(g, 0, N_PARAMS * sizeof *g);
  for (int q = 0; q < Q; q++) {
    size_t off, len;
    zpt_trainer_draw(t, iter, (size_t)q, 0, u, &off, &len);
    zpt_variation v = {off, len, (float)h, u};
    int r = chip_of(q, size);
    zpt_blackbox_query(chips[r], theta, &v, 1, x, BATCH, y, 1 + (uint64_t)q);
    double dl = (loss_of(y, tg) - base[own_base ? r : 0]) / h;
    for (size_t k = 0; k < len; k++)
      g[off + k] += c->lambda / Q * dl * u[k];
  }
}

static double max_rel(const float *a, const double *b) {
  double num = 0, den = 0;
  for (int k = 0; k < N_PARAMS; k++) {
    num = fmax(num, fabs((double)a[k] - b[k]));
    den = fmax(den, fabs(b[k]));
  }
  return den > 0 ? num / den : num;
}

static double max_rel_d(const double *a, const double *b) {
  double num = 0, den = 0;
  for (int k = 0; k < N_PARAMS; k++) {
    num = fmax(num, fabs(a[k] - b[k]));
    den = fmax(den, fabs(b[k]));
  }
  return den > 0 ? num / den : num;
}

/* Two iterations through the decorator (per_chip_base) on this rank's chip
 * of seed `seed`; theta after them into theta_out.  With `chips` (the
 * every rank's chip, queried directly), checks each estimate. */
static int run(int rank, int size, uint64_t seed, zpt_blackbox **chips, float *theta_out) {
  zpt_blackbox *bb;
  if (zpt_linear_chip_alloc(IN, OUT, seed, 0, &bb) != ZPT_OK)
    return -1;
  zpt_mpi_box_options opt = {MPI_COMM_WORLD, 30, 1, NULL, 0};
  if (zpt_mpi_box_wrap(&bb, &opt) != ZPT_OK)
    return -1;
  float theta0[N_PARAMS], x[BATCH * IN], tg[BATCH * OUT];
  for (int k = 0; k < N_PARAMS; k++)
    theta0[k] = (float)(0.4 * sin(0.7 * k + 0.3));
  batch(x, tg);
  zpt_zo_config c = config();
  zpt_trainer *t;
  if (zpt_trainer_alloc(&t, bb, theta0, &c) != ZPT_OK)
    return -1;
  for (uint64_t it = 0; it < ITERS; it++) {
    float before[N_PARAMS];
    memcpy(before, zpt_trainer_theta(t), sizeof before);
    if (zpt_trainer_iterate(t, x, tg, BATCH, NULL) != ZPT_OK) {
      fprintf(stderr, "mpi_chips: rank %d: %s\n", rank, zpt_error_message());
      return -1;
    }
    if (!chips)
      continue;
    double g[N_PARAMS], g_old[N_PARAMS];
    expected(t, chips, size, it, before, x, tg, 1, g);
    expected(t, chips, size, it, before, x, tg, 0, g_old);
    double err = max_rel(zpt_trainer_gradient(t), g), moved = max_rel_d(g_old, g);
    if (rank == 0)
      printf("iteration %d: |g - per-chip closed form| = %.3g, |chip-0 base - per-chip| = "
             "%.3g (relative)\n", (int)it, err, moved);
    check(err < 1e-5, "the gradient estimate is not the per-chip closed form", rank);
    check(size == 1 || moved > 1e-3, "the chips do not differ enough to test", rank);
  }
  memcpy(theta_out, zpt_trainer_theta(t), N_PARAMS * sizeof(float));
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int distinct = argc > 1 && !strcmp(argv[1], "distinct");
  if (argc != 2 || (!distinct && strcmp(argv[1], "same")) || size > 8) {
    fprintf(stderr, "usage: mpirun -n R (R <= 8) mpi_chips distinct|same\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  float theta[N_PARAMS], ref[N_PARAMS];
  if (distinct) {
    zpt_blackbox *chips[8];
    for (int r = 0; r < size; r++)
      if (zpt_linear_chip_alloc(IN, OUT, 11 + (uint64_t)r, 0, &chips[r]) != ZPT_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    if (run(rank, size, 11 + (uint64_t)rank, chips, theta))
      fails++;
    for (int r = 0; r < size; r++)
      zpt_blackbox_free(chips[r]);
  } else {
    if (run(rank, size, 11, NULL, theta))
      fails++;
    /* one process, one chip, no decorator */
    zpt_blackbox *one;
    zpt_trainer *t;
    float theta0[N_PARAMS], x[BATCH * IN], tg[BATCH * OUT];
    for (int k = 0; k < N_PARAMS; k++)
      theta0[k] = (float)(0.4 * sin(0.7 * k + 0.3));
    batch(x, tg);
    zpt_zo_config c = config();
    if (zpt_linear_chip_alloc(IN, OUT, 11, 0, &one) || zpt_trainer_alloc(&t, one, theta0, &c))
      MPI_Abort(MPI_COMM_WORLD, 1);
    for (int it = 0; it < ITERS; it++)
      if (zpt_trainer_iterate(t, x, tg, BATCH, NULL) != ZPT_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    memcpy(ref, zpt_trainer_theta(t), sizeof ref);
    zpt_trainer_free(t);
    zpt_blackbox_free(one);
    check(!memcmp(theta, ref, sizeof ref), "chips of one seed: theta differs from one process",
          rank);
  }
  int all = 0;
  MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0 && all == 0)
    printf("mpi_chips: ok (%s, %d ranks)\n", argv[1], size);
  MPI_Finalize();
  return all ? 1 : 0;
}
