/* The hardware-error model of a simulated chip (see chip.h). */
#include "mzi/chip.h"

#include <math.h>

#include <gsl/gsl_randist.h>

#include "core/rng.h"
#include "core/status.h"

#define TWO_PI 6.283185307179586476925286766559

zpt_chip_config zpt_chip_config_ideal(void) {
  zpt_chip_config c = {0};
  c.sigma_split = 1e-2;
  c.sigma_radius = 1e-3;
  c.sigma_angle = 1e-1;
  return c;
}

zpt_chip_config zpt_chip_config_aaai(uint64_t seed, double strength) {
  zpt_chip_config c = zpt_chip_config_ideal();
  c.seed = seed;
  c.strength = strength;
  return c;
}

static int check_range(const char *field, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) /* also rejects NaN */
    return zpt_fail(ZPT_ERANGE, "chip config: %s = %g, expected a value in [%g, %g]",
                    field, v, lo, hi);
  return ZPT_OK;
}

int zpt_chip_config_check(const zpt_chip_config *c) {
  if (!c)
    return zpt_fail(ZPT_EINVAL, "chip config: NULL pointer");
  ZPT_TRY(check_range("strength", c->strength, 0, 1e3));
  ZPT_TRY(check_range("sigma_split", c->sigma_split, 0, 10));
  ZPT_TRY(check_range("sigma_radius", c->sigma_radius, 0, 1));
  ZPT_TRY(check_range("sigma_angle", c->sigma_angle, 0, 10));
  if (c->strength * c->sigma_radius > 1)
    return zpt_fail(ZPT_ERANGE, "chip config: strength * sigma_radius = %g, expected <= 1 "
                    "(attenuation radius 1 - strength*sigma_radius*r1 must stay >= 0)",
                    c->strength * c->sigma_radius);
  if (c->phase_bits < 0 || c->phase_bits > 32)
    return zpt_fail(ZPT_ERANGE, "chip config: phase_bits = %d, expected 0 (continuous) "
                    "or 1..32", c->phase_bits);
  ZPT_TRY(check_range("crosstalk", c->crosstalk, 0, 1));
  ZPT_TRY(check_range("loss_db", c->loss_db, 0, 60));
  ZPT_TRY(check_range("noise_thermal", c->noise_thermal, 0, 1e6));
  ZPT_TRY(check_range("noise_shot", c->noise_shot, 0, 1e6));
  return ZPT_OK;
}

static int has_fabrication(const zpt_chip_config *c) {
  return c->strength > 0 &&
         (c->sigma_split > 0 || c->sigma_radius > 0 || c->sigma_angle > 0);
}

int zpt_chip_config_has_noise(const zpt_chip_config *c) {
  return c && (c->noise_thermal > 0 || c->noise_shot > 0);
}

int zpt_chip_config_has_errors(const zpt_chip_config *c) {
  return c && (has_fabrication(c) || c->phase_bits > 0 || c->crosstalk > 0 ||
               c->loss_db > 0 || zpt_chip_config_has_noise(c));
}

int zpt_chip_init(zpt_chip *chip, const zpt_chip_config *cfg) {
  if (!chip)
    return zpt_fail(ZPT_EINVAL, "zpt_chip_init: NULL chip");
  ZPT_TRY(zpt_chip_config_check(cfg));
  chip->cfg = *cfg;
  chip->next_component = 0;
  return ZPT_OK;
}

int zpt_chip_draw_errors(const zpt_chip_config *c, uint64_t component,
                         size_t n_bs, double *gamma, size_t n_arm,
                         double complex *zeta) {
  for (size_t k = 0; k < n_bs; k++)
    gamma[k] = 0;
  for (size_t k = 0; k < n_arm; k++)
    zeta[k] = 1;
  if (!has_fabrication(c))
    return ZPT_OK;
  gsl_rng *r = zpt_rng_alloc(c->seed, ZPT_STREAM_CHIP, component, 0);
  if (!r)
    return zpt_fail(ZPT_ENOMEM, "chip: cannot allocate the error stream of component %llu",
                    (unsigned long long)component);
  const double s_split = c->strength * c->sigma_split;
  const double s_radius = c->strength * c->sigma_radius;
  const double s_angle = c->strength * c->sigma_angle;
  for (size_t k = 0; k < n_bs; k++)
    gamma[k] = s_split * gsl_ran_gaussian_ziggurat(r, 1.0);
  for (size_t k = 0; k < n_arm; k++) {
    double r1 = gsl_rng_uniform(r);
    double r2 = gsl_rng_uniform(r);
    zeta[k] = (1.0 - s_radius * r1) * cexp(I * (s_angle * (2.0 * r2 - 1.0)));
  }
  zpt_rng_free(r);
  return ZPT_OK;
}

double zpt_chip_quantise(double phase, int bits) {
  double w = phase - TWO_PI * floor(phase / TWO_PI);
  if (bits <= 0)
    return w >= TWO_PI ? 0.0 : w;
  double levels = ldexp(1.0, bits);
  double step = TWO_PI / levels;
  double q = nearbyint(w / step);
  if (q >= levels)
    q = 0; /* 2pi is the same setting as 0 */
  return q * step;
}

void zpt_chip_heater_line(const zpt_chip_config *c, const float *set,
                          size_t stride, size_t n, double *eff) {
  const int quant = c && c->phase_bits > 0;
  const double kappa = c ? c->crosstalk : 0;
  if (!quant && kappa <= 0) {
    for (size_t j = 0; j < n; j++)
      eff[j] = set[j * stride];
    return;
  }
  /* drive: what the DAC applies to each heater, in [0, 2pi) */
  for (size_t j = 0; j < n; j++)
    eff[j] = zpt_chip_quantise(set[j * stride], quant ? c->phase_bits : 0);
  if (kappa <= 0)
    return;
  double prev = 0;
  for (size_t j = 0; j < n; j++) {
    double own = eff[j];
    double next = j + 1 < n ? eff[j + 1] : 0;
    eff[j] = own + kappa * (prev + next);
    prev = own;
  }
}

void zpt_chip_readout_noise(const zpt_chip_config *c, gsl_rng *r, float *p,
                            size_t n) {
  if (!r || !zpt_chip_config_has_noise(c))
    return;
  for (size_t k = 0; k < n; k++) {
    double v = p[k];
    double shot_sd = c->noise_shot > 0 ? sqrt(c->noise_shot * (v > 0 ? v : 0)) : 0;
    if (c->noise_thermal > 0)
      v += c->noise_thermal * gsl_ran_gaussian_ziggurat(r, 1.0);
    if (c->noise_shot > 0)
      v += shot_sd * gsl_ran_gaussian_ziggurat(r, 1.0);
    p[k] = (float)v;
  }
}
