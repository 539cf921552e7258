/* The simulated photonic chip: a seeded hardware-error model.
 *
 * A chip is fixed at fabrication: its errors are drawn once per component
 * (mesh, phase screen) from stream (seed, ZPT_STREAM_CHIP, component, 0)
 * when a layer is built, stored inside the layer, and never part of theta.
 * Nothing in src/zo can include this header (tests/zo_boundary_test.sh), so
 * a trainer can never read the errors: that is why it must train black-box.
 *
 * Error model (docs/mzi.md gives every formula):
 *   AAAI fabrication errors, scaled by `strength` (0 = none):
 *     splitting angle   gamma = strength * sigma_split * r0,  r0 ~ N(0,1),
 *                       per beam splitter: BS angle a = (pi/2 + gamma)/2,
 *                       BS = [[cos a, i sin a], [i sin a, cos a]];
 *     attenuation-phase zeta = (1 - strength*sigma_radius*r1)
 *                              * exp(i strength*sigma_angle*(2 r2 - 1)),
 *                       r1, r2 ~ U(0,1), per waveguide arm of every PS-BS
 *                       stage and per channel of a phase screen;
 *   b-bit phase quantisation (DAC over [0, 2pi)), thermal crosstalk between
 *   neighbouring heaters (a fraction kappa of each neighbour's drive added),
 *   insertion loss per MZI (dB), and read-out noise at photodetection
 *   (thermal sigma_th, shot noise of variance shot*P), drawn per query.
 * With every error off a chip layer computes exactly what the ideal layer
 * computes (same code, same numbers).
 */
#ifndef ZPT_MZI_CHIP_H
#define ZPT_MZI_CHIP_H

#include "core/complex.h"
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint64_t seed;        /* chip identity */
  double strength;      /* multiplies the three AAAI sigmas; 0 = no error */
  double sigma_split;   /* sigma_gamma at strength 1 (default 1e-2 rad) */
  double sigma_radius;  /* sigma_r at strength 1 (default 1e-3) */
  double sigma_angle;   /* sigma_a at strength 1 (default 1e-1 rad) */
  int phase_bits;       /* DAC resolution 1..32; 0 = continuous phases */
  double crosstalk;     /* kappa in [0, 1]; 0 = none */
  double loss_db;       /* insertion loss per MZI in dB, [0, 60]; 0 = none */
  double noise_thermal; /* sigma_th of additive Gaussian read-out noise */
  double noise_shot;    /* shot noise: Gaussian of variance noise_shot * P */
} zpt_chip_config;

/* Every error off (strength 0, sigmas at their AAAI defaults). */
zpt_chip_config zpt_chip_config_ideal(void);
/* The AAAI fabrication errors at the given strength, everything else off. */
zpt_chip_config zpt_chip_config_aaai(uint64_t seed, double strength);
/* ZPT_OK, or ZPT_ERANGE naming the offending field and its allowed range. */
int zpt_chip_config_check(const zpt_chip_config *c);
/* True if the config changes anything at all (fabrication, DAC, crosstalk,
 * loss or read-out noise). */
int zpt_chip_config_has_errors(const zpt_chip_config *c);
/* True if photodetection adds noise. */
int zpt_chip_config_has_noise(const zpt_chip_config *c);

/* A chip being built: its config and the next component number.  Layer
 * constructors take a zpt_chip * (NULL = ideal hardware) and draw their
 * errors from the next component's stream. */
typedef struct {
  zpt_chip_config cfg;
  uint64_t next_component;
} zpt_chip;

/* Validates cfg and starts numbering components at 0. */
int zpt_chip_init(zpt_chip *chip, const zpt_chip_config *cfg);

/* Fabrication errors of one mesh component: n_bs beam-splitter angle
 * errors, n_arm attenuation-phase factors, all drawn from stream
 * (seed, ZPT_STREAM_CHIP, component, 0): first every gamma (N(0,1)), then
 * for every arm r1 then r2 (U(0,1)).  With strength 0, gamma = 0 and
 * zeta = 1 exactly. */
int zpt_chip_draw_errors(const zpt_chip_config *c, uint64_t component,
                         size_t n_bs, double *gamma, size_t n_arm,
                         zpt_cdouble *zeta);

/* Effective phases of a line of n neighbouring heaters driven to set[0..n)
 * (stride apart in memory): quantised to 2^bits levels of [0, 2pi) when
 * phase_bits > 0, wrapped to [0, 2pi) when only crosstalk is on, then
 * eff[j] = drive[j] + kappa (drive[j-1] + drive[j+1]).  With neither
 * effect, eff = set exactly. */
void zpt_chip_heater_line(const zpt_chip_config *c, const float *set,
                          size_t stride, size_t n, double *eff);

/* One DAC step: phase wrapped to [0, 2pi) and rounded to 2^bits levels. */
double zpt_chip_quantise(double phase, int bits);

/* Read-out noise on n detected powers in place: p += sigma_th g1 +
 * sqrt(shot * max(p, 0)) g2, g1 and g2 ~ N(0,1) drawn in that order per
 * value from r.  r == NULL or no noise configured: unchanged. */
void zpt_chip_readout_noise(const zpt_chip_config *c, gsl_rng *r, float *p,
                            size_t n);

#ifdef __cplusplus
}
#endif
#endif
