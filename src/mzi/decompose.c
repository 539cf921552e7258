/* Clements and Reck decompositions (see decompose.h). */
#include "mzi/decompose.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

#define TWO_PI 6.283185307179586476925286766559

typedef struct {
  size_t m;
  double theta, phi;
} mzi_rec;

static double wrap(double x) {
  x = fmod(x, TWO_PI);
  return x < 0 ? x + TWO_PI : x;
}

/* W <- W . M(theta, phi)^H on columns (m, m+1), choosing the phases that
 * zero W[row][m]. */
static mzi_rec null_right(double complex *W, size_t K, size_t row, size_t m) {
  double complex a = W[row * K + m], b = W[row * K + m + 1];
  mzi_rec r = {m, 2.0 * atan2(cabs(b), cabs(a)), 0};
  if (cabs(b) > 0 && cabs(a) > 0)
    r.phi = wrap(carg(a) - carg(b) - M_PI);
  double complex M[4];
  zpt_mzi_matrix(r.theta, r.phi, M);
  for (size_t i = 0; i < K; i++) {
    double complex x = W[i * K + m], y = W[i * K + m + 1];
    /* [x y] . M^H: (M^H)[p][q] = conj(M[q][p]) */
    W[i * K + m] = x * conj(M[0]) + y * conj(M[1]);
    W[i * K + m + 1] = x * conj(M[2]) + y * conj(M[3]);
  }
  W[row * K + m] = 0;
  return r;
}

/* W <- M(theta, phi) . W on rows (m, m+1), zeroing W[m+1][col]. */
static mzi_rec null_left(double complex *W, size_t K, size_t m, size_t col) {
  double complex a = W[m * K + col], b = W[(m + 1) * K + col];
  mzi_rec r = {m, 2.0 * atan2(cabs(a), cabs(b)), 0};
  if (cabs(a) > 0 && cabs(b) > 0)
    r.phi = wrap(carg(b) - carg(a));
  double complex M[4];
  zpt_mzi_matrix(r.theta, r.phi, M);
  for (size_t j = 0; j < K; j++) {
    double complex x = W[m * K + j], y = W[(m + 1) * K + j];
    W[m * K + j] = M[0] * x + M[1] * y;
    W[(m + 1) * K + j] = M[2] * x + M[3] * y;
  }
  W[(m + 1) * K + col] = 0;
  return r;
}

static int check_unitary(const double complex *U, size_t K) {
  double worst = 0;
  for (size_t i = 0; i < K; i++)
    for (size_t j = 0; j < K; j++) {
      double complex s = 0;
      for (size_t k = 0; k < K; k++)
        s += conj(U[k * K + i]) * U[k * K + j];
      double e = cabs(s - (i == j ? 1.0 : 0.0));
      if (!(e <= worst))
        worst = isnan(e) ? INFINITY : e;
    }
  if (!(worst <= 1e-6))
    return zpt_fail(ZPT_ENUMERIC, "mesh decomposition: matrix is not unitary "
                    "(max |U^H U - I| = %.3g, tolerance 1e-6)", worst);
  return ZPT_OK;
}

/* Places MZIs (in application order) into the topology's slots. */
static int place(const zpt_mesh_topology *t, const mzi_rec *seq, size_t n,
                 double *phases) {
  size_t *last = zpt_new_array(size_t, t->K, "mesh placement");
  unsigned char *used = zpt_zalloc(t->n_mzi + 1, "mesh placement");
  int rc = last && used ? ZPT_OK : ZPT_ENOMEM;
  for (size_t k = 0; rc == ZPT_OK && k < n; k++) {
    size_t m = seq[k].m;
    size_t c = last[m] > last[m + 1] ? last[m] : last[m + 1]; /* next free column + 0 */
    if (c % 2 != m % 2)
      c++;
    size_t slot = t->n_mzi;
    if (c < t->n_cols)
      for (size_t q = t->col_start[c]; q < t->col_start[c + 1]; q++)
        if (t->top[q] == m)
          slot = q;
    if (slot == t->n_mzi || used[slot]) {
      rc = zpt_fail(ZPT_ENUMERIC, "mesh decomposition: MZI %zu on channels (%zu, %zu) "
                    "has no free place in column %zu of the %s mesh (K = %zu)", k, m,
                    m + 1, c, zpt_mesh_kind_name(t->kind), t->K);
      break;
    }
    used[slot] = 1;
    phases[2 * slot] = seq[k].theta;
    phases[2 * slot + 1] = seq[k].phi;
    last[m] = last[m + 1] = c + 1;
  }
  for (size_t q = 0; rc == ZPT_OK && q < t->n_mzi; q++)
    if (!used[q])
      rc = zpt_fail(ZPT_ENUMERIC, "mesh decomposition: slot %zu of the %s mesh left empty",
                    q, zpt_mesh_kind_name(t->kind));
  zpt_free(last);
  zpt_free(used);
  return rc;
}

int zpt_mesh_decompose(const zpt_mesh_topology *t, const double complex *U,
                       double *phases, double *screen) {
  if (!t || !U || !phases || !screen)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_decompose: NULL argument");
  if (!t->universal)
    return zpt_fail(ZPT_EINVAL, "mesh decomposition: a %s mesh with %zu of its columns "
                    "(K = %zu) is not universal; use the full mesh",
                    zpt_mesh_kind_name(t->kind), t->n_cols, t->K);
  const size_t K = t->K;
  ZPT_TRY(check_unitary(U, K));
  double complex *W = zpt_new_array(double complex, K * K, "decomposition workspace");
  mzi_rec *right = zpt_new_array(mzi_rec, t->n_mzi + 1, "decomposition list");
  mzi_rec *left = zpt_new_array(mzi_rec, t->n_mzi + 1, "decomposition list");
  if (!W || !right || !left) {
    zpt_free(W);
    zpt_free(right);
    zpt_free(left);
    return ZPT_ENOMEM;
  }
  memcpy(W, U, K * K * sizeof *W);
  size_t nr = 0, nl = 0;
  if (t->kind == ZPT_MESH_RECK) {
    for (size_t r = K - 1; r >= 1; r--)
      for (size_t j = 0; j < r; j++)
        right[nr++] = null_right(W, K, r, j);
  } else {
    for (size_t i = 0; i + 1 < K; i++) {
      if (i % 2 == 0)
        for (size_t j = 0; j <= i; j++)
          right[nr++] = null_right(W, K, K - 1 - j, i - j);
      else
        for (size_t j = 0; j <= i; j++)
          left[nl++] = null_left(W, K, K + j - i - 2, j);
    }
  }
  /* U = L_1^H ... L_p^H D R_q ... R_1: move each L^H through D, innermost
   * first: L^H D = D' M(theta, phi') with phi' = arg d_m - arg d_{m+1},
   * d'_m = -e^{-i theta} e^{-i phi} d_{m+1}, d'_{m+1} = -e^{-i theta} d_{m+1}. */
  double complex *d = zpt_new_array(double complex, K, "decomposition diagonal");
  int rc = d ? ZPT_OK : ZPT_ENOMEM;
  if (rc == ZPT_OK) {
    for (size_t k = 0; k < K; k++)
      d[k] = W[k * K + k];
    for (size_t k = nl; k-- > 0;) {
      size_t m = left[k].m;
      double complex dm = d[m], dn = d[m + 1];
      double th = left[k].theta, ph = left[k].phi;
      double complex f = -cexp(-I * th);
      d[m] = f * cexp(-I * ph) * dn;
      d[m + 1] = f * dn;
      right[nr].m = m;
      right[nr].theta = th;
      right[nr].phi = wrap(carg(dm) - carg(dn));
      nr++;
    }
    rc = place(t, right, nr, phases);
    for (size_t k = 0; rc == ZPT_OK && k < K; k++)
      screen[k] = carg(d[k]);
  }
  zpt_free(d);
  zpt_free(W);
  zpt_free(right);
  zpt_free(left);
  return rc;
}
