/* The built-in deterministic chip model (see linear_chip.h). */
#include "hw/linear_chip.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"

typedef struct {
  zpt_blackbox bb;
  size_t in, out;
  uint64_t seed;
  double noise_sigma;
  float *gain;   /* out */
  float *theta;  /* n_params: the setting being evaluated */
  float *noise;  /* out: one sample's read-out noise */
  gsl_rng *rng;
} linear_chip;

static void forward_sample(const linear_chip *c, const float *theta, const float *x, float *y) {
  const float *w = theta, *b = theta + c->out * c->in;
  for (size_t o = 0; o < c->out; o++) {
    float acc = b[o];
    for (size_t i = 0; i < c->in; i++)
      acc += w[o * c->in + i] * x[i];
    y[o] = c->gain[o] * tanhf(acc);
  }
}

static int linear_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                        size_t n_vars, const float *inputs, size_t batch, float *outputs,
                        uint64_t first_query) {
  linear_chip *c = bb->impl;
  size_t n = bb->n_params;
  for (size_t v = 0; v < n_vars; v++) {
    const zpt_variation *va = &vars[v];
    if (va->offset > n || va->len > n - va->offset || (va->len && !va->delta))
      return zpt_fail(ZPT_EINVAL, "linear chip: variation %zu covers [%zu, %zu + %zu) of %zu "
                      "parameters", v, va->offset, va->offset, va->len, n);
    memcpy(c->theta, theta, n * sizeof(float));
    for (size_t k = 0; k < va->len; k++)
      c->theta[va->offset + k] = theta[va->offset + k] + va->scale * va->delta[k];
    if (c->noise_sigma > 0)
      zpt_rng_derive(c->rng, c->seed, ZPT_STREAM_NOISE, first_query + v, 0);
    for (size_t s = 0; s < batch; s++) {
      float *y = outputs + (v * batch + s) * c->out;
      forward_sample(c, c->theta, inputs + s * c->in, y);
      if (c->noise_sigma > 0) {
        zpt_rng_gaussians(c->rng, c->noise, c->out, c->noise_sigma);
        for (size_t o = 0; o < c->out; o++)
          y[o] += c->noise[o];
      }
    }
  }
  return ZPT_OK;
}

static void linear_free(zpt_blackbox *bb) {
  if (!bb)
    return;
  linear_chip *c = bb->impl;
  zpt_free(c->gain);
  zpt_free(c->theta);
  zpt_free(c->noise);
  zpt_rng_free(c->rng);
  zpt_free(c);
}

static const zpt_blackbox_type linear_chip_type = {.name = "linear-chip",
                                                   .query = linear_query,
                                                   .free = linear_free};

int zpt_linear_chip_alloc(size_t in, size_t out, uint64_t seed, double noise_sigma,
                          zpt_blackbox **bb) {
  *bb = NULL;
  if (in < 1 || out < 1 || in > 65536 || out > 65536)
    return zpt_fail(ZPT_EINVAL, "linear chip: %zu inputs and %zu outputs, each must be in "
                    "[1, 65536]", in, out);
  if (!(noise_sigma >= 0) || !isfinite(noise_sigma))
    return zpt_fail(ZPT_EINVAL, "linear chip: noise sigma %g must be finite and >= 0",
                    noise_sigma);
  linear_chip *c = zpt_new(linear_chip, "linear chip");
  if (!c)
    return ZPT_ENOMEM;
  c->bb.type = &linear_chip_type;
  c->bb.impl = c;
  c->bb.n_params = out * (in + 1);
  c->bb.input_size = in;
  c->bb.output_size = out;
  c->in = in;
  c->out = out;
  c->seed = seed;
  c->noise_sigma = noise_sigma;
  c->gain = zpt_floats(out, "linear chip gains");
  c->theta = zpt_floats(c->bb.n_params, "linear chip setting");
  c->noise = zpt_floats(out, "linear chip noise");
  c->rng = zpt_rng_alloc(seed, ZPT_STREAM_CHIP, 0, 0);
  if (!c->gain || !c->theta || !c->noise || !c->rng) {
    linear_free(&c->bb);
    return ZPT_ENOMEM;
  }
  for (size_t o = 0; o < out; o++)
    c->gain[o] = (float)(0.9 + 0.2 * gsl_rng_uniform(c->rng));
  *bb = &c->bb;
  return ZPT_OK;
}

/* Parses one ':'-terminated field of the spec as an unsigned integer. */
static int spec_uint(const char *spec, const char **p, const char *field, uint64_t *v) {
  char *end;
  errno = 0;
  if (**p < '0' || **p > '9')
    goto bad;
  unsigned long long x = strtoull(*p, &end, 10);
  if (errno || (*end != ':' && *end != '\0'))
    goto bad;
  *v = x;
  *p = *end ? end + 1 : end;
  return ZPT_OK;
bad:
  return zpt_fail(ZPT_EINVAL, "model spec '%s': %s is not an unsigned integer (expected "
                  "linear:IN:OUT:SEED[:NOISE])", spec, field);
}

int zpt_linear_chip_from_spec(const char *spec, zpt_blackbox **bb) {
  *bb = NULL;
  if (strncmp(spec, "linear:", 7))
    return zpt_fail(ZPT_EINVAL, "model spec '%s': unknown model (expected "
                    "linear:IN:OUT:SEED[:NOISE])", spec);
  const char *p = spec + 7;
  uint64_t in, out, seed;
  double sigma = 0;
  ZPT_TRY(spec_uint(spec, &p, "IN", &in));
  ZPT_TRY(spec_uint(spec, &p, "OUT", &out));
  ZPT_TRY(spec_uint(spec, &p, "SEED", &seed));
  if (*p) {
    char *end;
    sigma = strtod(p, &end);
    if (end == p || *end)
      return zpt_fail(ZPT_EINVAL, "model spec '%s': NOISE '%s' is not a number", spec, p);
  } else if (p[-1] == ':') {
    return zpt_fail(ZPT_EINVAL, "model spec '%s': empty NOISE field", spec);
  }
  if (in > 65536 || out > 65536)
    return zpt_fail(ZPT_EINVAL, "model spec '%s': IN and OUT must be in [1, 65536]", spec);
  return zpt_linear_chip_alloc((size_t)in, (size_t)out, seed, sigma, bb);
}
