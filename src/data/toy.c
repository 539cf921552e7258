/* The toy linear regression (data.task = toy): generated, or read from a
 * CSV of inputs then targets (data/generators.h). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/generators.h"
#include "data/loaders.h"

#define TOY_MAX_SIZE 4096
#define TOY_MAX_SAMPLES ((size_t)1 << 24)

double zpt_zero_predictor_loss(const zpt_dataset *d) {
  size_t n = d->n * d->target_size;
  double acc = 0;
  for (size_t k = 0; k < n; k++)
    acc += (double)d->targets[k] * d->targets[k];
  return n ? acc / (double)n : 0;
}

/* n samples y = w x + b + noise, x and noise from stream j of the toy. */
static int generate_set(const zpt_toy_config *c, size_t j, size_t n, const float *w,
                        const float *b, zpt_dataset **out) {
  size_t d = c->inputs, m = c->outputs;
  ZPT_TRY(zpt_dataset_alloc(out, "toy", ZPT_TASK_REGRESSION, n, d, m, 0));
  gsl_rng *r = zpt_rng_alloc(c->seed, ZPT_STREAM_DATA, j, 0);
  if (!r) {
    zpt_dataset_free(*out);
    *out = NULL;
    return ZPT_ENOMEM;
  }
  float *x = (*out)->inputs, *y = (*out)->targets;
  zpt_rng_gaussians(r, x, n * d, 1.0);
  zpt_rng_gaussians(r, y, n * m, c->noise);
  zpt_rng_free(r);
  for (size_t s = 0; s < n; s++)
    for (size_t i = 0; i < m; i++) {
      double acc = b[i];
      for (size_t k = 0; k < d; k++)
        acc += (double)w[i * d + k] * x[s * d + k];
      y[s * m + i] += (float)acc;
    }
  (*out)->baseline_loss = zpt_zero_predictor_loss(*out);
  return ZPT_OK;
}

static int check_sizes(const zpt_toy_config *c) {
  if (c->inputs < 1 || c->inputs > TOY_MAX_SIZE || c->outputs < 1 ||
      c->outputs > TOY_MAX_SIZE)
    return zpt_fail(ZPT_EINVAL, "toy task: data.toy_inputs = %zu, data.toy_outputs = %zu: "
                    "each must be in [1, %d]", c->inputs, c->outputs, TOY_MAX_SIZE);
  if (c->n_train < 1 || c->n_train > TOY_MAX_SAMPLES || c->n_test < 1 ||
      c->n_test > TOY_MAX_SAMPLES)
    return zpt_fail(ZPT_EINVAL, "toy task: data.n_train = %zu, data.n_test = %zu: each "
                    "must be in [1, 2^24]", c->n_train, c->n_test);
  if (!(c->noise >= 0) || !isfinite(c->noise))
    return zpt_fail(ZPT_EINVAL, "toy task: data.toy_noise = %g: expected a finite "
                    "number >= 0", c->noise);
  return ZPT_OK;
}

int zpt_toy_generate(const zpt_toy_config *c, zpt_dataset **train, zpt_dataset **test) {
  *train = *test = NULL;
  ZPT_TRY(check_sizes(c));
  size_t d = c->inputs, m = c->outputs;
  float *truth = zpt_floats(m * d + m, "toy true model");
  gsl_rng *r = truth ? zpt_rng_alloc(c->seed, ZPT_STREAM_DATA, 0, 0) : NULL;
  if (!r) {
    zpt_free(truth);
    return ZPT_ENOMEM;
  }
  zpt_rng_gaussians(r, truth, m * d, 1.0 / sqrt((double)d));
  zpt_rng_gaussians(r, truth + m * d, m, 0.1);
  zpt_rng_free(r);
  int rc = generate_set(c, 1, c->n_train, truth, truth + m * d, train);
  if (rc == ZPT_OK)
    rc = generate_set(c, 2, c->n_test, truth, truth + m * d, test);
  zpt_free(truth);
  if (rc != ZPT_OK) {
    zpt_dataset_free(*train);
    *train = NULL;
  }
  return rc;
}

int zpt_toy_load(const char *path, size_t inputs, size_t outputs, uint64_t n_train,
                 uint64_t n_test, zpt_dataset **train, zpt_dataset **test) {
  *train = *test = NULL;
  zpt_csv_options o = zpt_csv_defaults();
  o.n_targets = outputs;
  zpt_dataset *all, *rest = NULL;
  ZPT_TRY(zpt_csv_load(path, &o, "toy", &all));
  size_t rows = all->n;
  size_t nte = n_test ? (size_t)n_test : rows / 4;
  size_t ntr = n_train ? (size_t)n_train : (rows > nte ? rows - nte : 0);
  int rc = ZPT_OK;
  if (all->input_size != inputs)
    rc = zpt_fail(ZPT_EFORMAT, "%s: %zu columns, expected %zu: data.toy_inputs = %zu "
                  "inputs, then data.toy_outputs = %zu targets", path,
                  all->input_size + outputs, inputs + outputs, inputs, outputs);
  else if (ntr == 0 || nte == 0 || ntr + nte > rows || ntr + nte < ntr)
    rc = zpt_fail(ZPT_EFORMAT, "%s: %zu rows; need n_train + n_test = %zu + %zu rows, "
                  "both at least 1", path, rows, ntr, nte);
  if (rc == ZPT_OK)
    rc = zpt_split_first(all, ntr, train, &rest);
  zpt_dataset *tail = NULL;
  if (rc == ZPT_OK) /* the next nte rows test; the rest is unused */
    rc = zpt_split_first(rest, nte, test, &tail);
  zpt_dataset_free(tail);
  zpt_dataset_free(rest);
  zpt_dataset_free(all);
  if (rc != ZPT_OK) {
    zpt_dataset_free(*train);
    zpt_dataset_free(*test);
    *train = *test = NULL;
    return rc;
  }
  (*train)->baseline_loss = zpt_zero_predictor_loss(*train);
  (*test)->baseline_loss = zpt_zero_predictor_loss(*test);
  return ZPT_OK;
}
