/* MZI meshes: topology tables, the 2x2 coefficient builder (with chip
 * errors), the batched rotation kernel, the matrix route, the mesh layer. */
#include "mzi/mesh.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "mzi/internal.h"
#include "mzi/sweep.h"

#define TWO_PI 6.283185307179586476925286766559

/* ---------------------------------------------------------------- topology */

const char *zpt_mesh_kind_name(zpt_mesh_kind kind) {
  switch (kind) {
  case ZPT_MESH_CLEMENTS: return "clements";
  case ZPT_MESH_RECK: return "reck";
  }
  return "unknown";
}

void zpt_mesh_topology_free(zpt_mesh_topology *t) {
  if (!t)
    return;
  zpt_free(t->col_start);
  zpt_free(t->top);
  zpt_mesh_sweep_free(t->sweep);
  zpt_free(t);
}

/* Reck: pass p (0..K-2) nulls one row with MZIs on pairs m = 0..K-2-p,
 * placed as early as possible; the MZI (p, m) lands in column 2p + m. */
static int reck_has(size_t K, size_t c, size_t m) {
  if (m > c || (c - m) % 2)
    return 0;
  size_t p = (c - m) / 2;
  return p <= K - 2 && m <= K - 2 - p;
}

int zpt_mesh_topology_alloc(zpt_mesh_kind kind, size_t K, size_t n_cols,
                            zpt_mesh_topology **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "mesh topology: NULL output pointer");
  *out = NULL;
  if (kind != ZPT_MESH_CLEMENTS && kind != ZPT_MESH_RECK)
    return zpt_fail(ZPT_EINVAL, "mesh topology: unknown mesh kind %d", (int)kind);
  if (K < 2 || K > ZPT_MESH_MAX_K)
    return zpt_fail(ZPT_EINVAL, "%s mesh: K = %zu channels, expected 2..%d",
                    zpt_mesh_kind_name(kind), K, ZPT_MESH_MAX_K);
  size_t full = kind == ZPT_MESH_CLEMENTS ? K : (K == 2 ? 1 : 2 * K - 3);
  if (n_cols == 0)
    n_cols = full;
  if (kind == ZPT_MESH_CLEMENTS && n_cols > K)
    return zpt_fail(ZPT_EINVAL, "clements mesh: L = %zu columns for K = %zu channels, "
                    "expected 1..K (K columns are already universal)", n_cols, K);
  if (kind == ZPT_MESH_RECK && n_cols != full)
    return zpt_fail(ZPT_EINVAL, "reck mesh: %zu columns for K = %zu, a Reck mesh has "
                    "exactly %zu (pass 0 for the default)", n_cols, K, full);
  zpt_mesh_topology *t = zpt_new(zpt_mesh_topology, "mesh topology");
  if (!t)
    return zpt_error_status();
  t->kind = kind;
  t->K = K;
  t->n_cols = n_cols;
  t->universal = n_cols == full;
  t->col_start = zpt_new_array(size_t, n_cols + 1, "mesh column table");
  size_t max_mzi = n_cols * (K / 2);
  t->top = zpt_new_array(size_t, max_mzi ? max_mzi : 1, "mesh pair table");
  if (!t->col_start || !t->top) {
    zpt_mesh_topology_free(t);
    return ZPT_ENOMEM;
  }
  size_t q = 0;
  for (size_t c = 0; c < n_cols; c++) {
    t->col_start[c] = q;
    for (size_t m = c % 2; m + 1 < K; m += 2)
      if (kind == ZPT_MESH_CLEMENTS || reck_has(K, c, m))
        t->top[q++] = m;
  }
  t->col_start[n_cols] = q;
  t->n_mzi = q;
  int rc = zpt_mesh_sweep_alloc(t, &t->sweep);
  if (rc != ZPT_OK) {
    zpt_mesh_topology_free(t);
    return rc;
  }
  *out = t;
  return ZPT_OK;
}

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

struct zpt_mesh_hw {
  zpt_chip_config cfg; /* ideal config when built without a chip */
  size_t n_mzi, K;
  double *gamma;       /* 2 per MZI: first (external) and second splitter */
  double complex *zeta; /* 4 per MZI: stage 1 arms m, m+1; stage 2 arms m, m+1 */
  double complex *zeta_screen; /* K (screen only) */
  double *bs;          /* 4 per MZI: cos, sin of both splitters' angles */
  double loss_amp;     /* field amplitude factor per MZI */
  int ideal;           /* no fabrication error, no loss: closed-form MZIs */
  int phase_effects;   /* quantisation or crosstalk change the phases */
};

void zpt_mesh_hw_free(zpt_mesh_hw *hw) {
  if (!hw)
    return;
  zpt_free(hw->gamma);
  zpt_free(hw->zeta);
  zpt_free(hw->zeta_screen);
  zpt_free(hw->bs);
  zpt_free(hw);
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
  int fabrication = 0;
  for (size_t k = 0; k < 2 * t->n_mzi; k++) {
    double a = 0.5 * (M_PI / 2 + hw->gamma[k]); /* BS angle (pi/2 + gamma)/2 */
    hw->bs[2 * k] = cos(a);
    hw->bs[2 * k + 1] = sin(a);
    fabrication |= hw->gamma[k] != 0 || hw->zeta[k] != 1 || hw->zeta[2 * t->n_mzi + k] != 1;
  }
  hw->ideal = !fabrication && hw->cfg.loss_db == 0;
  hw->phase_effects = hw->cfg.phase_bits > 0 || hw->cfg.crosstalk > 0;
  *out = hw;
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

/* ------------------------------------------------------------------ kernels */

/* The general coefficients of MZI q (zpt_mzi_coef order) into the kernel's
 * entries (sweep.h), column by column. */
static void general_entries(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                            float *entries) {
  const zpt_mesh_sweep *sw = t->sweep;
  zpt_mesh_sweep_identity(sw, t, 0, entries);
  for (size_t c = 0; c < t->n_cols; c++) {
    size_t q0 = t->col_start[c], nq = t->col_start[c + 1] - q0;
    memcpy(entries + 8 * (sw->col_entry[c] + sw->col_first[c]), coef[q0],
           nq * sizeof(zpt_mzi_coef));
  }
}

/* The lifted form (sweep.h) of the ideal MZI(theta, phi) on channels (m,
 * m+1) whose pending phases are the unit complex numbers p0, p1; it
 * replaces them by the pending phases of its outputs.  With
 * sh = sin(theta/2), ch = cos(theta/2):
 *   MZI = i e^{i theta/2} R(alpha) diag(e^{i phi}, -1),  e^{i alpha} = sh + i ch,
 *   MZI diag(p0, p1) = g R(alpha) diag(z, 1),
 *   z = -e^{i phi} p0 conj(p1),  g = -i e^{i theta/2} p1.
 * If Re z < 0: z = -(-z), and R(alpha) diag(-1, 1) = diag(-1, 1) R(-alpha):
 * the upper output's pending phase is -g.  If then cos alpha < 0: R(alpha)
 * = -R(alpha -+ pi), both outputs' pending phases change sign.  Both
 * rotations then have cos >= 0, and the shears of a rotation by x are
 * a = -sin x / (1 + cos x) = -tan(x/2), b = sin x: no trigonometry beyond
 * sincos of theta/2 and phi.  zpt_mesh_sweep_lift_column does this for 16
 * MZIs at a time. */

/* Lifted coefficients of an ideal mesh (hw->ideal: no fabrication error, no
 * loss; quantisation and crosstalk act on the phases) in the kernel's entry
 * order, and the K complex factors fac (re, im) that end the mesh: the
 * pending phases times the screen (if any). */
static void lift_coef(const zpt_mesh_hw *hw, const zpt_mesh_topology *t,
                      const float *phases, const float *screen_phases, float *entries,
                      float *fac) {
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

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

int zpt_mesh_apply_rotations(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                             const zpt_cfloat *screen, zpt_cfloat *x, size_t n,
                             zpt_buffer *work) {
  if (!t || !coef || (!x && n))
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_apply_rotations: NULL argument");
  const zpt_mesh_sweep *sw = t->sweep;
  size_t b_ent = align64(8 * sw->n_entries * sizeof(float));
  zpt_buffer local = {0};
  zpt_buffer *w = work ? work : &local;
  ZPT_TRY(zpt_buffer_reserve(w, b_ent + zpt_mesh_sweep_bytes(sw), "mesh rotation scratch"));
  float *entries = w->data;
  general_entries(t, coef, entries);
  zpt_mesh_sweep_run(sw, 0, entries, (const float *)screen, (const float *)x, (float *)x, n,
                     (char *)w->data + b_ent);
  zpt_buffer_release(&local);
  return ZPT_OK;
}

/* R = U^T (row j = image of e_j), computed by streaming the K unit vectors;
 * entries in the given form, fac as for zpt_mesh_sweep_run */
static void mesh_transpose_matrix(const zpt_mesh_topology *t, int lifted,
                                  const float *entries, const float *fac, zpt_cfloat *R,
                                  void *scratch) {
  const size_t K = t->K;
  for (size_t j = 0; j < K * K; j++)
    R[j] = 0;
  for (size_t j = 0; j < K; j++)
    R[j * K + j] = 1;
  zpt_mesh_sweep_run(t->sweep, lifted, entries, fac, (const float *)R, (float *)R, K, scratch);
}

static void transpose_square(zpt_cfloat *U, size_t K) {
  for (size_t i = 0; i < K; i++)
    for (size_t j = i + 1; j < K; j++) {
      zpt_cfloat a = U[i * K + j];
      U[i * K + j] = U[j * K + i];
      U[j * K + i] = a;
    }
}

int zpt_mesh_matrix_from_coef(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                              const zpt_cfloat *screen, zpt_cfloat *U,
                              zpt_buffer *work) {
  if (!t || !coef || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_matrix_from_coef: NULL argument");
  const zpt_mesh_sweep *sw = t->sweep;
  size_t b_ent = align64(8 * sw->n_entries * sizeof(float));
  zpt_buffer local = {0};
  zpt_buffer *w = work ? work : &local;
  ZPT_TRY(zpt_buffer_reserve(w, b_ent + zpt_mesh_sweep_bytes(sw), "mesh matrix scratch"));
  float *entries = w->data;
  general_entries(t, coef, entries);
  mesh_transpose_matrix(t, 0, entries, (const float *)screen, U, (char *)w->data + b_ent);
  transpose_square(U, t->K);
  zpt_buffer_release(&local);
  return ZPT_OK;
}

int zpt_mesh_unitary(const zpt_mesh_topology *t, const float *phases,
                     const float *screen, zpt_cfloat *U) {
  if (!t || !phases || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_unitary: NULL argument");
  zpt_mesh_hw *hw = NULL;
  ZPT_TRY(zpt_mesh_hw_alloc(t, screen != NULL, NULL, &hw));
  zpt_mzi_coef *coef = zpt_new_array(zpt_mzi_coef, t->n_mzi + 1, "mesh coefficients");
  zpt_cfloat *scr = zpt_cfloats(t->K, "mesh screen");
  int rc = coef && scr ? ZPT_OK : ZPT_ENOMEM;
  if (rc == ZPT_OK) {
    zpt_mesh_hw_coef(hw, t, phases, screen, coef, scr);
    rc = zpt_mesh_matrix_from_coef(t, coef, screen ? scr : NULL, U, NULL);
  }
  zpt_free(coef);
  zpt_free(scr);
  zpt_mesh_hw_free(hw);
  return rc;
}

/* --------------------------------------------------------------- the layer */

typedef struct {
  zpt_mesh_topology *topo;
  zpt_mesh_hw *hw;
  int screen;
  zpt_mesh_route route;
} mesh_impl;

/* The route rule, measured with bench/bench_mzi.c (docs/mzi.md, "Route
 * choice"; thread CPU time, one thread, single-threaded OpenBLAS).  Building
 * U costs K samples of rotations; after that the cgemm's cost per sample
 * (8 K^2 flops near the sgemm rate for K >= 32) is below the rotations'
 * (~K^2/2 MZIs at 9 multiply-adds on 16 lanes) only for deep meshes: full
 * Clements meshes on ideal hardware take the matrix route from n K^2 = 2^21
 * on (K = 64: n ~ 400-500; K = 32: ~1600; K = 16: equal up to n = 6500),
 * meshes of 3K/4 columns at best tie at n = 6500, of K/2 columns never.
 * With chip errors the rotations use the general 2x2 form (16
 * multiply-adds) and the matrix route wins from n K^2 = 2^20 on, also at
 * 3K/4 columns. */
static zpt_mesh_route auto_route(const zpt_mesh_topology *t, size_t n, int general) {
  size_t full = t->K * (t->K - 1) / 2;
  int deep = general ? 4 * t->n_mzi >= 3 * full : 8 * t->n_mzi >= 7 * full;
  size_t work = n * t->K * t->K;
  return deep && work >= ((size_t)1 << (general ? 20 : 21)) ? ZPT_ROUTE_MATRIX
                                                             : ZPT_ROUTE_ROTATIONS;
}

zpt_mesh_route zpt_mesh_auto_route(const zpt_mesh_topology *t, size_t n) {
  return auto_route(t, n, 0);
}

/* Carves the forward's scratch: per-MZI coefficients and screen (general
 * form only), the kernel's entries, the final factors, U^T, planar chunk. */
typedef struct {
  zpt_mzi_coef *coef;
  zpt_cfloat *screen;
  float *entries;
  float *fac;
  zpt_cfloat *R;
  void *planar;
  int lifted;         /* entries in lifted form */
  const float *final; /* fac, or NULL (general form without screen) */
} mesh_scratch;

static int mesh_scratch_get(const mesh_impl *mi, int with_R, zpt_buffer *w,
                            mesh_scratch *s) {
  const zpt_mesh_topology *t = mi->topo;
  int lifted = mi->hw->ideal;
  size_t b_coef = lifted ? 0 : align64((t->n_mzi + 1) * sizeof(zpt_mzi_coef));
  size_t b_scr = lifted ? 0 : align64(t->K * sizeof(zpt_cfloat));
  /* + 16 floats: the lifted column kernel rewrites whole vectors */
  size_t b_ent = align64(((lifted ? 4 : 8) * t->sweep->n_entries + 16) * sizeof(float));
  size_t b_fac = align64(2 * t->K * sizeof(float));
  size_t b_R = with_R ? align64(t->K * t->K * sizeof(zpt_cfloat)) : 0;
  size_t b_pl = zpt_mesh_sweep_bytes(t->sweep);
  ZPT_TRY(zpt_buffer_reserve(w, b_coef + b_scr + b_ent + b_fac + b_R + b_pl,
                             "mesh forward scratch"));
  char *base = w->data;
  s->coef = lifted ? NULL : (zpt_mzi_coef *)base;
  base += b_coef;
  s->screen = lifted ? NULL : (zpt_cfloat *)base;
  base += b_scr;
  s->entries = (float *)base;
  base += b_ent;
  s->fac = (float *)base;
  base += b_fac;
  s->R = with_R ? (zpt_cfloat *)base : NULL;
  base += b_R;
  s->planar = base;
  s->lifted = lifted;
  s->final = NULL;
  return ZPT_OK;
}

/* The kernel's coefficients of the layer for params: the lifted form for
 * ideal hardware, the general 2x2 form with chip errors. */
static void mesh_coefficients(const mesh_impl *mi, const float *params, mesh_scratch *s) {
  const zpt_mesh_topology *t = mi->topo;
  const float *screen_ph = mi->screen ? params + 2 * t->n_mzi : NULL;
  if (s->lifted) {
    lift_coef(mi->hw, t, params, screen_ph, s->entries, s->fac);
    s->final = s->fac;
  } else {
    zpt_mesh_hw_coef(mi->hw, t, params, screen_ph, s->coef, s->screen);
    general_entries(t, s->coef, s->entries);
    s->final = mi->screen ? (const float *)s->screen : NULL;
  }
}

static int mesh_forward(const zpt_layer *l, const float *params, const float *in,
                        float *out, size_t n, zpt_fwd_ctx *ctx) {
  const mesh_impl *mi = l->impl;
  const zpt_mesh_topology *t = mi->topo;
  if (n == 0)
    return ZPT_OK;
  zpt_mesh_route route = zpt_mesh_layer_route(l, n);
  zpt_buffer local = {0};
  zpt_buffer *w = ctx && ctx->work ? ctx->work : &local;
  mesh_scratch s;
  int rc = mesh_scratch_get(mi, route == ZPT_ROUTE_MATRIX, w, &s);
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "layer %s: ", l->name);
  mesh_coefficients(mi, params, &s);
  if (route == ZPT_ROUTE_MATRIX) {
    const size_t K = t->K;
    mesh_transpose_matrix(t, s.lifted, s.entries, s.final, s.R, s.planar);
    const float one[2] = {1, 0}, zero[2] = {0, 0};
    /* Y (n x K) = X (n x K) . U^T */
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)K, (int)K,
                one, in, (int)K, s.R, (int)K, zero, out, (int)K);
  } else {
    zpt_mesh_sweep_run(t->sweep, s.lifted, s.entries, s.final, in, out, n, s.planar);
  }
  zpt_buffer_release(&local);
  return ZPT_OK;
}

static void mesh_init(const zpt_layer *l, float *params, gsl_rng *r) {
  /* uniform phases in [0, 2pi): a spread of the whole unit circle */
  for (size_t k = 0; k < l->n_params; k++)
    params[k] = (float)(TWO_PI * gsl_rng_uniform(r));
}

static double mesh_flops(const zpt_layer *l) {
  const mesh_impl *mi = l->impl;
  /* a 2x2 complex matrix-vector product: 4 complex mul (6) + 2 add (2) */
  return 28.0 * mi->topo->n_mzi + (mi->screen ? 6.0 * mi->topo->K : 0);
}

static void mesh_destroy(zpt_layer *l) {
  mesh_impl *mi = l->impl;
  if (!mi)
    return;
  zpt_mesh_topology_free(mi->topo);
  zpt_mesh_hw_free(mi->hw);
  zpt_free(mi);
  l->impl = NULL;
}

static const zpt_layer_ops mesh_ops = {"mzi_mesh", mesh_forward, mesh_init,
                                       mesh_flops, mesh_destroy};

zpt_mesh_route zpt_mesh_layer_route(const zpt_layer *l, size_t n) {
  if (!l || l->ops != &mesh_ops)
    return ZPT_ROUTE_AUTO;
  const mesh_impl *mi = l->impl;
  return mi->route != ZPT_ROUTE_AUTO ? mi->route : auto_route(mi->topo, n, !mi->hw->ideal);
}

const zpt_mesh_topology *zpt_mesh_layer_topology(const zpt_layer *l) {
  return l && l->ops == &mesh_ops ? ((const mesh_impl *)l->impl)->topo : NULL;
}

int zpt_mesh_layer_matrix(const zpt_layer *l, const float *params, zpt_cfloat *U) {
  if (!l || l->ops != &mesh_ops)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_layer_matrix: %s is not a mesh layer",
                    l ? l->name : "NULL");
  if (!params || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_layer_matrix: layer %s: NULL params or U", l->name);
  const mesh_impl *mi = l->impl;
  zpt_buffer w = {0};
  mesh_scratch s;
  int rc = mesh_scratch_get(mi, 1, &w, &s);
  if (rc == ZPT_OK) {
    mesh_coefficients(mi, params, &s);
    mesh_transpose_matrix(mi->topo, s.lifted, s.entries, s.final, U, s.planar);
    transpose_square(U, mi->topo->K);
  }
  zpt_buffer_release(&w);
  return rc;
}

int zpt_mzi_add_view(zpt_params *p, const char *name, const char *suffix, int ndim,
                     const size_t *shape, size_t *offset) {
  char full[ZPT_VIEW_NAME_MAX];
  int len = snprintf(full, sizeof full, "%s%s", name, suffix);
  if (len < 0 || (size_t)len >= sizeof full)
    return zpt_fail(ZPT_EINVAL, "layer %s: view name %s%s longer than %d characters",
                    name, name, suffix, ZPT_VIEW_NAME_MAX - 1);
  int rc = zpt_params_add(p, full, ndim, shape, offset);
  return rc == ZPT_OK ? rc : zpt_fail_context(rc, "layer %s: ", name);
}

int zpt_mzi_check_name(const char *what, const char *name) {
  if (!name || strlen(name) == 0 || strlen(name) > 31)
    return zpt_fail(ZPT_EINVAL, "%s: name \"%s\" must have 1..31 characters", what,
                    name ? name : "(null)");
  return ZPT_OK;
}

int zpt_mesh_layer_alloc(zpt_params *p, const char *name, const zpt_mesh_spec *spec,
                         zpt_chip *chip, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "mesh layer: NULL output pointer");
  *out = NULL;
  if (!p || !name || !spec)
    return zpt_fail(ZPT_EINVAL, "mesh layer %s: NULL params store, name or spec",
                    name ? name : "(unnamed)");
  ZPT_TRY(zpt_mzi_check_name("mesh layer", name));
  if (spec->route != ZPT_ROUTE_AUTO && spec->route != ZPT_ROUTE_ROTATIONS &&
      spec->route != ZPT_ROUTE_MATRIX)
    return zpt_fail(ZPT_EINVAL, "mesh layer %s: unknown route %d", name, (int)spec->route);
  mesh_impl *mi = zpt_new(mesh_impl, "mesh layer");
  if (!mi)
    return ZPT_ENOMEM;
  int rc = zpt_mesh_topology_alloc(spec->kind, spec->K, spec->n_cols, &mi->topo);
  if (rc == ZPT_OK)
    rc = zpt_mesh_hw_alloc(mi->topo, spec->screen, chip, &mi->hw);
  if (rc != ZPT_OK) {
    zpt_fail_context(rc, "mesh layer %s: ", name);
    zpt_mesh_topology_free(mi->topo);
    zpt_free(mi);
    return rc;
  }
  mi->screen = spec->screen != 0;
  mi->route = spec->route;
  const size_t K = spec->K;
  zpt_layer *l = zpt_layer_alloc(&mesh_ops, name, 2 * K, 2 * K);
  if (!l) {
    zpt_mesh_topology_free(mi->topo);
    zpt_mesh_hw_free(mi->hw);
    zpt_free(mi);
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  }
  l->impl = mi;
  size_t shape[2] = {mi->topo->n_mzi, 2}, off = 0, off2 = 0;
  rc = zpt_mzi_add_view(p, name, ".phase", 2, shape, &off);
  if (rc == ZPT_OK && mi->screen)
    rc = zpt_mzi_add_view(p, name, ".screen", 1, &K, &off2);
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  l->param_offset = off;
  l->n_params = 2 * mi->topo->n_mzi + (mi->screen ? K : 0);
  *out = l;
  return ZPT_OK;
}
