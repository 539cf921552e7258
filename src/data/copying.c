/* The copying memory task (Arjovsky, Shah & Bengio 2016). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/generators.h"

double zpt_copying_baseline(size_t delay) {
  return ZPT_COPY_LENGTH * log((double)ZPT_COPY_SYMBOLS) / (double)(delay + 20);
}

/* Writes sample k (input zeroed here) using the stream r re-derived for k. */
static void copying_sample(gsl_rng *r, uint64_t seed, size_t delay, size_t k, float *x,
                           float *t) {
  size_t steps = delay + 2 * ZPT_COPY_LENGTH;
  zpt_rng_derive(r, seed, ZPT_STREAM_DATA, ZPT_DATA_COPYING, k);
  int sym[ZPT_COPY_LENGTH];
  for (int s = 0; s < ZPT_COPY_LENGTH; s++)
    sym[s] = 1 + (int)zpt_rng_below(r, ZPT_COPY_SYMBOLS);
  memset(x, 0, steps * ZPT_COPY_CATEGORIES * sizeof(float));
  for (size_t s = 0; s < steps; s++) {
    int in = ZPT_COPY_BLANK, tg = ZPT_COPY_BLANK;
    if (s < ZPT_COPY_LENGTH)
      in = sym[s];
    else if (s == delay + ZPT_COPY_LENGTH - 1)
      in = ZPT_COPY_DELIMITER;
    if (s >= delay + ZPT_COPY_LENGTH)
      tg = sym[s - delay - ZPT_COPY_LENGTH]; /* shown T + 10 steps earlier */
    x[s * ZPT_COPY_CATEGORIES + (size_t)in] = 1.0f;
    t[s] = (float)tg;
  }
}

static int check_delay(size_t delay) {
  if (delay == 0)
    return zpt_fail(ZPT_EINVAL, "copying task: delay T must be at least 1");
  if (delay > ((size_t)1 << 30))
    return zpt_fail(ZPT_ERANGE, "copying task: delay T = %zu is absurdly large", delay);
  return ZPT_OK;
}

int zpt_copying_sample(uint64_t seed, size_t delay, size_t k, float *input, float *target) {
  ZPT_TRY(check_delay(delay));
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, ZPT_DATA_COPYING, k);
  if (!r)
    return ZPT_ENOMEM;
  copying_sample(r, seed, delay, k, input, target);
  zpt_rng_free(r);
  return ZPT_OK;
}

int zpt_copying_generate(size_t n, size_t delay, uint64_t seed,
                         zpt_dataset **out) {
  *out = NULL;
  ZPT_TRY(check_delay(delay));
  size_t steps = delay + 2 * ZPT_COPY_LENGTH;
  char name[ZPT_DATASET_NAME_LEN];
  snprintf(name, sizeof name, "copying-T%zu", delay);
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, name, ZPT_TASK_SEQUENCE, n, steps * ZPT_COPY_CATEGORIES,
                            steps, ZPT_COPY_CLASSES));
  d->seq_len = steps;
  d->step_size = ZPT_COPY_CATEGORIES;
  d->copy_delay = delay;
  d->baseline_loss = zpt_copying_baseline(delay);
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, ZPT_DATA_COPYING, 0);
  if (!r) {
    zpt_dataset_free(d);
    return ZPT_ENOMEM;
  }
  for (size_t k = 0; k < n; k++)
    copying_sample(r, seed, delay, k, zpt_dataset_input(d, k), zpt_dataset_target(d, k));
  zpt_rng_free(r);
  *out = d;
  return ZPT_OK;
}
