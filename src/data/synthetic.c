/* The CIFAR-shaped synthetic data set (data/synthetic.h). */
#include <math.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/synthetic.h"

#define SIDE ZPT_CIFAR_SYNTH_SIDE
#define PLANE (SIDE * SIDE)
#define GRATINGS 4
#define MAX_SHIFT 3
#define NOISE 0.2

/* The 10 prototypes, 10 x 3072 floats. */
static int prototypes(uint64_t seed, float *proto) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, ZPT_DATA_CIFAR_SYNTH, 0);
  if (!r)
    return ZPT_ENOMEM;
  const double two_pi = 2.0 * M_PI;
  for (size_t p = 0; p < ZPT_CIFAR_SYNTH_CLASSES * 3; p++) {
    float *img = proto + p * PLANE;
    memset(img, 0, PLANE * sizeof *img);
    for (int g = 0; g < GRATINGS; g++) {
      double fx = (double)zpt_rng_below(r, 4), fy = (double)zpt_rng_below(r, 4);
      double a = gsl_ran_gaussian(r, 0.5), phi = two_pi * gsl_rng_uniform(r);
      for (size_t y = 0; y < SIDE; y++)
        for (size_t x = 0; x < SIDE; x++)
          img[y * SIDE + x] +=
              (float)(a * cos(two_pi * (fx * (double)x + fy * (double)y) / SIDE + phi));
    }
  }
  zpt_rng_free(r);
  return ZPT_OK;
}

static void sample(gsl_rng *r, uint64_t seed, size_t k, const float *proto, float *noise,
                   float *x, float *label) {
  zpt_rng_derive(r, seed, ZPT_STREAM_DATA, ZPT_DATA_CIFAR_SYNTH, (uint64_t)k + 1);
  size_t c = (size_t)zpt_rng_below(r, ZPT_CIFAR_SYNTH_CLASSES);
  size_t dx = (size_t)zpt_rng_below(r, 2 * MAX_SHIFT + 1);
  size_t dy = (size_t)zpt_rng_below(r, 2 * MAX_SHIFT + 1);
  float g = (float)(0.6 + 0.8 * gsl_rng_uniform(r));
  float b = (float)(-0.1 + 0.2 * gsl_rng_uniform(r));
  zpt_rng_gaussians(r, noise, ZPT_CIFAR_SYNTH_PIXELS, NOISE);
  /* shift s in [-3, 3] as (s + SIDE) mod SIDE: index (y + dy - 3) mod 32 */
  size_t ox = dx + SIDE - MAX_SHIFT, oy = dy + SIDE - MAX_SHIFT;
  for (size_t ch = 0; ch < 3; ch++) {
    const float *P = proto + (c * 3 + ch) * PLANE;
    for (size_t y = 0; y < SIDE; y++) {
      const float *row = P + ((y + oy) % SIDE) * SIDE;
      for (size_t xx = 0; xx < SIDE; xx++) {
        size_t i = ch * PLANE + y * SIDE + xx;
        float v = 0.5f + 0.25f * g * row[(xx + ox) % SIDE] + b + noise[i];
        x[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
      }
    }
  }
  *label = (float)c;
}

int zpt_cifar_synthetic_generate(size_t n, uint64_t seed, zpt_dataset **out) {
  *out = NULL;
  if (n == 0)
    return zpt_fail(ZPT_EINVAL, "cifar10-synthetic: 0 samples requested (expected >= 1)");
  float *proto = zpt_alloc((ZPT_CIFAR_SYNTH_CLASSES * 3 * PLANE + ZPT_CIFAR_SYNTH_PIXELS) *
                               sizeof *proto, "cifar10-synthetic prototypes");
  if (!proto)
    return ZPT_ENOMEM;
  float *noise = proto + ZPT_CIFAR_SYNTH_CLASSES * 3 * PLANE;
  zpt_dataset *d = NULL;
  gsl_rng *r = NULL;
  int rc = prototypes(seed, proto);
  if (rc == ZPT_OK)
    rc = zpt_dataset_alloc(&d, "cifar10-synthetic", ZPT_TASK_CLASSIFICATION, n,
                           ZPT_CIFAR_SYNTH_PIXELS, 1, ZPT_CIFAR_SYNTH_CLASSES);
  if (rc == ZPT_OK) {
    r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, ZPT_DATA_CIFAR_SYNTH, 1);
    if (!r)
      rc = ZPT_ENOMEM;
  }
  if (rc == ZPT_OK) {
    rc = zpt_dataset_set_image_shape(d, 3, SIDE, SIDE);
  }
  if (rc == ZPT_OK) {
    for (size_t k = 0; k < n; k++)
      sample(r, seed, k, proto, noise, zpt_dataset_input(d, k), zpt_dataset_target(d, k));
    *out = d;
    d = NULL;
  }
  zpt_rng_free(r);
  zpt_dataset_free(d);
  zpt_free(proto);
  return rc;
}
