/* The 2x2 coefficients of a mesh's MZIs with the chip's fabrication
 * errors, loss and phase effects (general and lifted forms). */
#include "mzi/mesh.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "mzi/internal.h"
#include "mzi/sweep.h"

/* ----------------------------------------------------------- coefficients */

void zpt_mzi_matrix(double theta, double phi, double complex m[4]) {
  /* T(x) = (1/sqrt2)[[e^{ix}, i], [i e^{ix}, 1]]; MZI = T(theta) T(phi) */
  const double h = 0.5;
  double complex et = cexp(I * theta), ep = cexp(I * phi);
  m[0] = h * (et * ep - ep);
  m[1] = h * (I * et + I);
  m[2] = h * (I * et * ep + I * ep);
  m[3] = h * (1.0 - et);
}

void zpt_mesh_hw_free(zpt_mesh_hw *hw) {
  if (!hw)
    return;
  zpt_free(hw->gamma);
  zpt_free(hw->zeta);
  zpt_free(hw->zeta_screen);
  zpt_free(hw->bs);
  zpt_free(hw);
}

/* The splitters' cos/sin and the ideal flag from the errors. */
static void hw_derive(zpt_mesh_hw *hw) {
  int fabrication = 0;
  for (size_t k = 0; k < 2 * hw->n_mzi; k++) {
    double a = 0.5 * (M_PI / 2 + hw->gamma[k]); /* BS angle (pi/2 + gamma)/2 */
    hw->bs[2 * k] = cos(a);
    hw->bs[2 * k + 1] = sin(a);
    fabrication |= hw->gamma[k] != 0 || hw->zeta[k] != 1 || hw->zeta[2 * hw->n_mzi + k] != 1;
  }
  for (size_t k = 0; k < hw->K; k++)
    fabrication |= hw->zeta_screen[k] != 1;
  hw->ideal = !fabrication && hw->cfg.loss_db == 0;
  hw->phase_effects = hw->cfg.phase_bits > 0 || hw->cfg.crosstalk > 0;
}

int zpt_mesh_hw_alloc(const zpt_mesh_topology *t, int screen, zpt_chip *chip,
                      zpt_mesh_hw **out) {
  *out = NULL;
  zpt_mesh_hw *hw = zpt_new(zpt_mesh_hw, "mesh hardware errors");
  if (!hw)
    return ZPT_ENOMEM;
  hw->cfg = chip ? chip->cfg : zpt_chip_config_ideal();
  hw->n_mzi = t->n_mzi;
  hw->K = t->K;
  hw->gamma = zpt_doubles(2 * t->n_mzi + 1, "beam-splitter errors");
  hw->zeta = zpt_new_array(double complex, 4 * t->n_mzi + 1, "arm attenuation errors");
  hw->zeta_screen = zpt_new_array(double complex, t->K, "screen attenuation errors");
  if (!hw->gamma || !hw->zeta || !hw->zeta_screen) {
    zpt_mesh_hw_free(hw);
    return ZPT_ENOMEM;
  }
  /* the screen's arms are drawn after the MZIs' from the same stream */
  size_t n_arm = 4 * t->n_mzi + (screen ? t->K : 0);
  double complex *arms = zpt_new_array(double complex, n_arm, "arm errors");
  if (!arms) {
    zpt_mesh_hw_free(hw);
    return ZPT_ENOMEM;
  }
  uint64_t component = chip ? chip->next_component++ : 0;
  int rc = zpt_chip_draw_errors(&hw->cfg, component, 2 * t->n_mzi, hw->gamma,
                                n_arm, arms);
  if (rc == ZPT_OK) {
    memcpy(hw->zeta, arms, 4 * t->n_mzi * sizeof *arms);
    for (size_t k = 0; k < t->K; k++)
      hw->zeta_screen[k] = screen ? arms[4 * t->n_mzi + k] : 1;
  }
  zpt_free(arms);
  if (rc != ZPT_OK) {
    zpt_mesh_hw_free(hw);
    return rc;
  }
  hw->loss_amp = pow(10.0, -hw->cfg.loss_db / 20.0);
  hw->bs = zpt_doubles(4 * t->n_mzi + 1, "beam-splitter angles");
  if (!hw->bs) {
    zpt_mesh_hw_free(hw);
    return ZPT_ENOMEM;
  }
  hw_derive(hw);
  *out = hw;
  return ZPT_OK;
}

void zpt_mesh_hw_errors(const zpt_mesh_hw *hw, zpt_mesh_hw_errors_view *v) {
  v->n_mzi = hw->n_mzi;
  v->K = hw->K;
  v->gamma = hw->gamma;
  v->zeta = hw->zeta;
  v->zeta_screen = hw->zeta_screen;
}

int zpt_mesh_hw_set_errors(zpt_mesh_hw *hw, const double *gamma, const double complex *zeta,
                           const double complex *zeta_screen) {
  for (size_t k = 0; k < 2 * hw->n_mzi; k++)
    if (!isfinite(gamma[k]))
      return zpt_fail(ZPT_ENUMERIC, "splitter error %zu is %g", k, gamma[k]);
  for (size_t k = 0; k < 4 * hw->n_mzi; k++)
    if (!isfinite(creal(zeta[k])) || !isfinite(cimag(zeta[k])))
      return zpt_fail(ZPT_ENUMERIC, "arm attenuation factor %zu is not finite", k);
  for (size_t k = 0; k < hw->K; k++)
    if (!isfinite(creal(zeta_screen[k])) || !isfinite(cimag(zeta_screen[k])))
      return zpt_fail(ZPT_ENUMERIC, "screen attenuation factor %zu is not finite", k);
  memcpy(hw->gamma, gamma, 2 * hw->n_mzi * sizeof *gamma);
  memcpy(hw->zeta, zeta, 4 * hw->n_mzi * sizeof *zeta);
  memcpy(hw->zeta_screen, zeta_screen, hw->K * sizeof *zeta_screen);
  hw_derive(hw);
  return ZPT_OK;
}

/* Complex products written out: C11 complex multiplication must handle
 * infinities (a libgcc call per product), which made the coefficients
 * dominate small forwards. */
static inline double complex cmul(double complex a, double complex b) {
  return CMPLX(creal(a) * creal(b) - cimag(a) * cimag(b),
               creal(a) * cimag(b) + cimag(a) * creal(b));
}

/* B(gamma) . diag(za e^{ix}, zb), BS cos/sin precomputed */
static void stage(double cx, double sx, double c, double sn, double complex za,
                  double complex zb, double complex s[4]) {
  double complex e = cmul(za, CMPLX(cx, sx));
  s[0] = CMPLX(c * creal(e), c * cimag(e));
  s[1] = CMPLX(-sn * cimag(zb), sn * creal(zb));
  s[2] = CMPLX(-sn * cimag(e), sn * creal(e));
  s[3] = CMPLX(c * creal(zb), c * cimag(zb));
}

/* Ideal MZI(theta, phi) in float, closed form:
 * (1/2)[[e^{i phi}(e^{i theta} - 1), i(e^{i theta} + 1)],
 *       [i e^{i phi}(e^{i theta} + 1), 1 - e^{i theta}]] */
/* sin and cos in float, branch-free so that a loop over MZIs vectorises:
 * x = k pi/2 + r with |r| <= pi/4 (pi/2 split in three floats, the first
 * with 8 significant bits so that k times it is exact for |k| < 2^16),
 * Taylor polynomials to r^9 / r^10 (truncation < 2e-9 on [-pi/4, pi/4]),
 * then the quadrant k mod 4 picks and signs the pair.
 * Accuracy ~1 ulp of 1 for phases of moderate size, like sincosf; libm's
 * scalar sincosf took 15% of a K = 64 ZO-I iteration (bench, perf). */
static inline void phase_sincos(float x, float *s, float *c) {
  float k = rintf(x * 0.636619772f);
  float r = ((x - k * 1.5703125f) - k * 4.837512969970703125e-4f) -
            k * 7.54978995489188216e-8f;
  float r2 = r * r;
  float sr = r + r * r2 * (-1.0f / 6 + r2 * (1.0f / 120 + r2 * (-1.0f / 5040 + r2 * (1.0f / 362880))));
  float cr = 1.0f + r2 * (-0.5f + r2 * (1.0f / 24 + r2 * (-1.0f / 720 + r2 * (1.0f / 40320 +
                                                                            r2 * (-1.0f / 3628800)))));
  int q = (int)k & 3;
  float so = (q & 1) ? cr : sr, co = (q & 1) ? sr : cr;
  *s = (q & 2) ? -so : so;
  *c = ((q + 1) & 2) ? -co : co;
}

static inline void ideal_coef(float theta, float phi, float *cf) {
  float ct, st, cp, sp;
  phase_sincos(theta, &st, &ct);
  phase_sincos(phi, &sp, &cp);
  float mr = 0.5f * (ct - 1), mi = 0.5f * st; /* (e^{it} - 1)/2 */
  float pr = 0.5f * (ct + 1), pi = 0.5f * st; /* (e^{it} + 1)/2 */
  cf[0] = cp * mr - sp * mi;
  cf[1] = cp * mi + sp * mr;
  cf[2] = -pi;
  cf[3] = pr;
  /* i e^{i phi} (e^{it} + 1)/2 */
  float qr = cp * pr - sp * pi, qi = cp * pi + sp * pr;
  cf[4] = -qi;
  cf[5] = qr;
  cf[6] = -mr;
  cf[7] = -mi;
}

/* K <= ZPT_MESH_MAX_K, so a column's heaters and a screen fit on the stack */
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic"))) void
zpt_mesh_hw_coef(const zpt_mesh_hw *hw, const zpt_mesh_topology *t,
                      const float *phases, const float *screen_phases,
                      zpt_mzi_coef *coef, zpt_cfloat *screen) {
  double eff_t[ZPT_MESH_MAX_K], eff_p[ZPT_MESH_MAX_K];
  float sc[4][ZPT_MESH_MAX_K / 2]; /* sin, cos of the column's theta, then phi */
  for (size_t c = 0; c < t->n_cols; c++) {
    /* a column's internal heaters form one line of neighbours, its external
     * heaters another (crosstalk acts along each line) */
    size_t q0 = t->col_start[c], nq = t->col_start[c + 1] - q0;
    if (hw->ideal && !hw->phase_effects) {
      for (size_t q = q0; q < q0 + nq; q++)
        ideal_coef(phases[2 * q], phases[2 * q + 1], coef[q]);
      continue;
    }
    zpt_chip_heater_line(&hw->cfg, phases + 2 * q0, 2, nq, eff_t);
    zpt_chip_heater_line(&hw->cfg, phases + 2 * q0 + 1, 2, nq, eff_p);
    if (hw->ideal) {
      for (size_t j = 0; j < nq; j++)
        ideal_coef((float)eff_t[j], (float)eff_p[j], coef[q0 + j]);
      continue;
    }
    /* the heaters' e^{i x} by the float polynomial (libm's double sincos
     * took ~70% of a K = 64 forward with chip errors), products in double */
    for (size_t j = 0; j < nq; j++) {
      phase_sincos((float)eff_t[j], &sc[0][j], &sc[1][j]);
      phase_sincos((float)eff_p[j], &sc[2][j], &sc[3][j]);
    }
    for (size_t j = 0; j < nq; j++) {
      size_t q = q0 + j;
      double complex s1[4], s2[4];
      const double *bs = hw->bs + 4 * q;
      stage(sc[3][j], sc[2][j], bs[0], bs[1], hw->zeta[4 * q], hw->zeta[4 * q + 1], s1);
      stage(sc[1][j], sc[0][j], bs[2], bs[3], hw->zeta[4 * q + 2], hw->zeta[4 * q + 3], s2);
      double complex m[4] = {cmul(s2[0], s1[0]) + cmul(s2[1], s1[2]),
                             cmul(s2[0], s1[1]) + cmul(s2[1], s1[3]),
                             cmul(s2[2], s1[0]) + cmul(s2[3], s1[2]),
                             cmul(s2[2], s1[1]) + cmul(s2[3], s1[3])};
      for (int k = 0; k < 4; k++) {
        coef[q][2 * k] = (float)(hw->loss_amp * creal(m[k]));
        coef[q][2 * k + 1] = (float)(hw->loss_amp * cimag(m[k]));
      }
    }
  }
  if (screen && screen_phases) {
    zpt_chip_heater_line(&hw->cfg, screen_phases, 1, t->K, eff_t);
    for (size_t k = 0; k < t->K; k++) {
      double complex z = cmul(hw->zeta_screen[k], CMPLX(cos(eff_t[k]), sin(eff_t[k])));
      screen[k] = (float)creal(z) + I * (float)cimag(z);
    }
  }
}

/* Lifted coefficients of an ideal mesh (hw->ideal: no fabrication error, no
 * loss; quantisation and crosstalk act on the phases) in the kernel's entry
 * order, and the K complex factors fac (re, im) that end the mesh: the
 * pending phases times the screen (if any). */
void zpt_mesh_hw_lift(const zpt_mesh_hw *hw, const zpt_mesh_topology *t,
                      const float *phases, const float *screen_phases,
                      float *entries, float *fac) {
  const zpt_mesh_sweep *sw = t->sweep;
  /* pending phases of the even and the odd channels, re and im (the column
   * kernel reads and rewrites whole vectors: 16 floats of slack) */
  const size_t H = ZPT_MESH_MAX_K / 2 + 1 + 16;
  float pend[4][ZPT_MESH_MAX_K / 2 + 1 + 16];
  float eff[2 * ZPT_MESH_MAX_K];
  double eff_t[ZPT_MESH_MAX_K], eff_p[ZPT_MESH_MAX_K];
  for (size_t k = 0; k < H; k++) {
    pend[0][k] = pend[2][k] = 1;
    pend[1][k] = pend[3][k] = 0;
  }
  zpt_mesh_sweep_identity(sw, t, 1, entries);
  for (size_t c = 0; c < t->n_cols; c++) {
    size_t q0 = t->col_start[c], nq = t->col_start[c + 1] - q0;
    if (nq == 0)
      continue;
    size_t m0 = t->top[q0], S = sw->col_steps[c];
    float *out = entries + 4 * sw->col_entry[c] + sw->col_first[c];
    /* upper channels m0 + 2j, lower m0 + 2j + 1 */
    size_t up = m0 % 2 ? 2 : 0, lo = 2 - up;
    float *p0r = pend[up] + m0 / 2, *p0i = pend[up + 1] + m0 / 2;
    float *p1r = pend[lo] + (m0 + 1) / 2, *p1i = pend[lo + 1] + (m0 + 1) / 2;
    const float *ph = phases + 2 * q0;
    if (hw->phase_effects) {
      zpt_chip_heater_line(&hw->cfg, phases + 2 * q0, 2, nq, eff_t);
      zpt_chip_heater_line(&hw->cfg, phases + 2 * q0 + 1, 2, nq, eff_p);
      for (size_t j = 0; j < nq; j++) {
        eff[2 * j] = (float)eff_t[j];
        eff[2 * j + 1] = (float)eff_p[j];
      }
      ph = eff;
    }
    zpt_mesh_sweep_lift_column(ph, nq, p0r, p0i, p1r, p1i, out, S);
  }
  if (screen_phases && hw->phase_effects)
    zpt_chip_heater_line(&hw->cfg, screen_phases, 1, t->K, eff_t);
  for (size_t k = 0; k < t->K; k++) {
    float sr = 1, si = 0;
    if (screen_phases)
      phase_sincos(hw->phase_effects ? (float)eff_t[k] : screen_phases[k], &si, &sr);
    float pr = pend[2 * (k % 2)][k / 2], pi = pend[2 * (k % 2) + 1][k / 2];
    fac[2 * k] = sr * pr - si * pi;
    fac[2 * k + 1] = sr * pi + si * pr;
  }
}
