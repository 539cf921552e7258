/* CMA-ES, full and separable (see cmaes.h). */
#include "zo/cmaes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h> /* the declarations; OpenBLAS's symbols at link */
#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "core/status.h"

/* Indices of zpt_cmaes_state_get: the saved arrays. */
enum { ST_MEAN, ST_SCALARS, ST_PSIGMA, ST_PC, ST_C, ST_D, ST_B, N_STATE };

struct zpt_cmaes {
  size_t n, lambda, mu;
  int full;
  /* strategy constants */
  double *w;     /* lambda weights (negative ones for the active update) */
  double mueff, cc, cs, c1, cmu, ds, chin, wsum;
  size_t eig_every;
  /* state */
  double *m;       /* mean */
  double scal[4];  /* sigma, generation, generation of the last eigen, 0 */
  double *ps, *pc; /* evolution paths */
  double *C;       /* n x n (FULL) or n (SEP) */
  double *B;       /* FULL: eigenvectors, columns (row-major n x n) */
  double *D;       /* sqrt of the eigenvalues (FULL) or of diag C (SEP) */
  /* per generation */
  double *z, *y;   /* lambda x n: z ~ N(0, I), y = B D z */
  size_t *order;
  double *wp;      /* weights of this generation's covariance update */
  double *tmp, *tmp2, *yw;
  /* FULL: LAPACK dsyevr's arrays (column-major): C's copy, eigenvectors,
   * eigenvalues, workspaces */
  double *ea, *ez, *ew, *work;
  int *iwork, *isuppz;
  int lwork, liwork;
};

/* LAPACK's symmetric eigensolver (MRRR), from OpenBLAS; the trailing
 * arguments are the lengths of the three character arguments (gfortran's
 * calling convention). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);

/* dsyevr on c->ea (n x n, symmetric): eigenvalues in c->ew (ascending),
 * eigenvectors in the columns of c->ez; lwork < 0: the workspace query. */
static int syevr(zpt_cmaes *c, int lwork, int liwork, double *work, int *iwork) {
  const int n = (int)c->n, il = 0, iu = 0;
  const double vl = 0, vu = 0, abstol = 0;
  int m = 0, info = 0;
  dsyevr_("V", "A", "U", &n, c->ea, &n, &vl, &vu, &il, &iu, &abstol, &m, c->ew, c->ez, &n,
          c->isuppz, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
  return info;
}

void zpt_cmaes_settings_default(zpt_cmaes_settings *s) {
  s->lambda = 0;
  s->mu = 0;
  s->sigma0 = 0.1;
  s->kind = ZPT_CMAES_AUTO;
  s->full_max = 2000;
}

void zpt_cmaes_free(zpt_cmaes *c) {
  if (!c)
    return;
  double *arrays[] = {c->w, c->m, c->ps, c->pc, c->C, c->B, c->D,
                      c->z, c->y, c->tmp, c->tmp2, c->yw, c->wp};
  for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
    zpt_free(arrays[i]);
  zpt_free(c->order);
  double *lapack[] = {c->ea, c->ez, c->ew, c->work};
  for (size_t i = 0; i < sizeof lapack / sizeof *lapack; i++)
    zpt_free(lapack[i]);
  zpt_free(c->iwork);
  zpt_free(c->isuppz);
  zpt_free(c);
}

/* SEP: Ros & Hansen 2008 as python3-cmaes's SepCMA has it: mu positive
 * weights ln(mu + 1) - ln i, c1 as FULL, cmu of their combined rate times
 * (n + 2) / 3, cc = 4 / (n + 4), csigma = (mueff + 2) / (n + mueff + 3). */
static void constants_sep(zpt_cmaes *c) {
  const double n = (double)c->n, mu = (double)c->mu;
  double sp = 0, sp2 = 0;
  for (size_t i = 0; i < c->lambda; i++)
    c->w[i] = i < c->mu ? log(mu + 1) - log((double)i + 1) : 0;
  for (size_t i = 0; i < c->mu; i++)
    sp += c->w[i];
  for (size_t i = 0; i < c->mu; i++) {
    c->w[i] /= sp;
    sp2 += c->w[i] * c->w[i];
  }
  c->mueff = 1 / sp2;
  c->c1 = 2 / ((n + 1.3) * (n + 1.3) + c->mueff);
  double full = 2 / c->mueff / ((n + sqrt(2.0)) * (n + sqrt(2.0))) +
                (1 - 1 / c->mueff) *
                    fmin(1, (2 * c->mueff - 1) / ((n + 2) * (n + 2) + c->mueff));
  c->cmu = (n + 2) / 3 * full;
  c->cs = (c->mueff + 2) / (n + c->mueff + 3);
  c->cc = 4 / (n + 4);
  c->wsum = 1;
}

/* Hansen's tutorial, Table 1 (with cm = 1 and alpha_cov = 2). */
static void constants(zpt_cmaes *c) {
  const double n = (double)c->n, lam = (double)c->lambda;
  c->chin = sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  c->eig_every = 1;
  if (!c->full) {
    constants_sep(c);
    c->ds = 1 + 2 * fmax(0, sqrt((c->mueff - 1) / (n + 1)) - 1) + c->cs;
    return;
  }
  double spos = 0, spos2 = 0, sneg = 0, sneg2 = 0;
  for (size_t i = 0; i < c->lambda; i++) {
    double wi = log((lam + 1) / 2) - log((double)i + 1);
    c->w[i] = wi;
    if (i < c->mu) {
      spos += wi;
      spos2 += wi * wi;
    } else {
      sneg += wi;
      sneg2 += wi * wi;
    }
  }
  c->mueff = spos * spos / spos2;
  double mueffm = sneg2 > 0 ? sneg * sneg / sneg2 : 0;
  c->cc = (4 + c->mueff / n) / (n + 4 + 2 * c->mueff / n);
  c->cs = (c->mueff + 2) / (n + c->mueff + 5);
  c->c1 = 2 / ((n + 1.3) * (n + 1.3) + c->mueff);
  c->cmu = fmin(1 - c->c1, 2 * (c->mueff - 2 + 1 / c->mueff) /
                               ((n + 2) * (n + 2) + c->mueff));
  c->ds = 1 + 2 * fmax(0, sqrt((c->mueff - 1) / (n + 1)) - 1) + c->cs;
  double am = 1 + c->c1 / c->cmu;
  double ame = 1 + 2 * mueffm / (c->mueff + 2);
  double apd = (1 - c->c1 - c->cmu) / (n * c->cmu);
  double aneg = fmin(am, fmin(ame, apd));
  c->wsum = 0;
  for (size_t i = 0; i < c->lambda; i++) {
    c->w[i] = i < c->mu ? c->w[i] / spos : aneg * c->w[i] / -sneg;
    c->wsum += c->w[i];
  }
  double every = 1 / (10 * n * (c->c1 + c->cmu));
  c->eig_every = every < 1 ? 1 : (size_t)every;
}

int zpt_cmaes_alloc(zpt_cmaes **out, size_t n, const double *m0,
                    const zpt_cmaes_settings *s) {
  *out = NULL;
  if (n == 0)
    return zpt_fail(ZPT_EINVAL, "cmaes: dimension 0");
  if (!(s->sigma0 > 0) || !isfinite(s->sigma0))
    return zpt_fail(ZPT_EINVAL, "cmaes: sigma0 = %g: need a finite value > 0",
                    s->sigma0);
  size_t lambda = s->lambda ? s->lambda : 4 + (size_t)floor(3 * log((double)n));
  size_t mu = s->mu ? s->mu : lambda / 2;
  if (lambda < 2 || mu < 1 || mu > lambda)
    return zpt_fail(ZPT_EINVAL, "cmaes: lambda = %zu, mu = %zu: need lambda >= 2 "
                    "and 1 <= mu <= lambda", lambda, mu);
  zpt_cmaes *c = zpt_new(zpt_cmaes, "cmaes");
  if (!c)
    return zpt_fail_context(ZPT_ENOMEM, "cmaes: ");
  memset(c, 0, sizeof *c);
  c->n = n;
  c->lambda = lambda;
  c->mu = mu;
  c->full = s->kind == ZPT_CMAES_FULL ||
            (s->kind == ZPT_CMAES_AUTO && n <= s->full_max);
  size_t nc = c->full ? n * n : n;
  c->w = zpt_new_array(double, lambda, "cmaes weights");
  c->m = zpt_new_array(double, n, "cmaes mean");
  c->ps = zpt_new_array(double, n, "cmaes path");
  c->pc = zpt_new_array(double, n, "cmaes path");
  c->C = zpt_new_array(double, nc, "cmaes covariance");
  c->B = zpt_new_array(double, c->full ? n * n : 1, "cmaes eigenvectors");
  c->D = zpt_new_array(double, n, "cmaes eigenvalues");
  c->z = zpt_new_array(double, lambda * n, "cmaes z");
  c->y = zpt_new_array(double, lambda * n, "cmaes y");
  c->order = zpt_new_array(size_t, lambda, "cmaes order");
  c->wp = zpt_new_array(double, lambda, "cmaes weights");
  c->tmp = zpt_new_array(double, n, "cmaes tmp");
  c->tmp2 = zpt_new_array(double, n, "cmaes tmp");
  c->yw = zpt_new_array(double, n, "cmaes tmp");
  if (!c->w || !c->m || !c->ps || !c->pc || !c->C || !c->B || !c->D || !c->z ||
      !c->y || !c->order || !c->wp || !c->tmp || !c->tmp2 || !c->yw) {
    int full = c->full;
    zpt_cmaes_free(c);
    return zpt_fail_context(ZPT_ENOMEM, "cmaes (n = %zu%s): ", n,
                            full ? ", full covariance" : "");
  }
  if (c->full) {
    c->ea = zpt_new_array(double, n * n, "cmaes eigen matrix");
    c->ez = zpt_new_array(double, n * n, "cmaes eigen vectors");
    c->ew = zpt_new_array(double, n, "cmaes eigen values");
    c->isuppz = zpt_new_array(int, 2 * n, "cmaes eigen support");
    double wq = 0;
    int iq = 0;
    if (c->ea && c->ez && c->ew && c->isuppz && syevr(c, -1, -1, &wq, &iq) == 0) {
      c->lwork = (int)wq > 26 * (int)n ? (int)wq : 26 * (int)n;
      c->liwork = iq > 10 * (int)n ? iq : 10 * (int)n;
      c->work = zpt_new_array(double, (size_t)c->lwork, "cmaes eigen workspace");
      c->iwork = zpt_new_array(int, (size_t)c->liwork, "cmaes eigen workspace");
    }
    if (!c->work || !c->iwork) {
      zpt_cmaes_free(c);
      return zpt_fail(ZPT_ENOMEM, "cmaes: eigen workspace for n = %zu", n);
    }
  }
  memcpy(c->m, m0, n * sizeof(double));
  memset(c->ps, 0, n * sizeof(double));
  memset(c->pc, 0, n * sizeof(double));
  memset(c->C, 0, nc * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    c->C[c->full ? i * n + i : i] = 1;
    c->D[i] = 1;
    if (c->full)
      for (size_t j = 0; j < n; j++)
        c->B[i * n + j] = i == j;
  }
  c->scal[0] = s->sigma0;
  c->scal[1] = c->scal[2] = c->scal[3] = 0;
  constants(c);
  *out = c;
  return ZPT_OK;
}

size_t zpt_cmaes_lambda(const zpt_cmaes *c) { return c->lambda; }
size_t zpt_cmaes_dim(const zpt_cmaes *c) { return c->n; }
int zpt_cmaes_is_full(const zpt_cmaes *c) { return c->full; }
const double *zpt_cmaes_mean(const zpt_cmaes *c) { return c->m; }
double *zpt_cmaes_mean_data(zpt_cmaes *c) { return c->m; }
double zpt_cmaes_sigma(const zpt_cmaes *c) { return c->scal[0]; }
uint64_t zpt_cmaes_generation(const zpt_cmaes *c) {
  return (uint64_t)c->scal[1];
}

/* out = B v (FULL: B row-major n x n). */
static void b_times(const zpt_cmaes *c, const double *v, double *out) {
  const size_t n = c->n;
  for (size_t i = 0; i < n; i++) {
    const double *bi = c->B + i * n;
    double s = 0;
    for (size_t j = 0; j < n; j++)
      s += bi[j] * v[j];
    out[i] = s;
  }
}

/* FULL: every candidate's y_k = B (D z_k) in one product, Y = (Z D) B^T
 * (lambda x n, row-major; z is overwritten by Z D). */
static void sample_full(zpt_cmaes *c) {
  const int n = (int)c->n, lam = (int)c->lambda;
  for (size_t k = 0; k < c->lambda; k++)
    for (size_t j = 0; j < c->n; j++)
      c->z[k * c->n + j] *= c->D[j];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, lam, n, n, 1.0, c->z, n, c->B, n,
              0.0, c->y, n);
}

void zpt_cmaes_ask(zpt_cmaes *c, gsl_rng *r, float *y) {
  const size_t n = c->n;
  for (size_t k = 0; k < c->lambda; k++) {
    double *z = c->z + k * n;
    for (size_t i = 0; i < n; i++)
      z[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    if (!c->full)
      for (size_t i = 0; i < n; i++)
        c->y[k * n + i] = c->D[i] * z[i];
  }
  if (c->full)
    sample_full(c);
  for (size_t k = 0; k < c->lambda * n; k++)
    y[k] = (float)c->y[k];
}

/* out = C^-1/2 v = B D^-1 B^T v (FULL) or v / D (SEP). */
static void inv_sqrt_times(zpt_cmaes *c, const double *v, double *out) {
  const size_t n = c->n;
  if (!c->full) {
    for (size_t i = 0; i < n; i++)
      out[i] = v[i] / c->D[i];
    return;
  }
  for (size_t j = 0; j < n; j++)
    c->tmp2[j] = 0;
  for (size_t i = 0; i < n; i++) { /* tmp2 = B^T v */
    const double *bi = c->B + i * n;
    for (size_t j = 0; j < n; j++)
      c->tmp2[j] += bi[j] * v[i];
  }
  for (size_t j = 0; j < n; j++)
    c->tmp2[j] /= c->D[j];
  b_times(c, c->tmp2, out);
}

/* order = the candidates by increasing f (ties: lower index first);
 * insertion sort, lambda is small. */
static void sort_order(size_t *order, const double *f, size_t lam) {
  for (size_t k = 0; k < lam; k++)
    order[k] = k;
  for (size_t k = 1; k < lam; k++) {
    size_t v = order[k], j = k;
    while (j > 0 && f[order[j - 1]] > f[v]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

/* C = B diag(D)^2 B^T by LAPACK's dsyevr (GSL's symmv took 4.2 s at
 * n = 768 against dsyevr's 0.12 s on this machine: 32 times, and a full-
 * covariance run at N = 768 spent nearly all its time there). */
static int eigen(zpt_cmaes *c) {
  const size_t n = c->n;
  for (size_t i = 0; i < n; i++) /* symmetrise from the upper triangle */
    for (size_t j = i; j < n; j++)
      c->ea[i * n + j] = c->ea[j * n + i] = c->C[i * n + j];
  for (size_t k = 0; k < n * n; k++)
    if (!isfinite(c->ea[k]))
      return zpt_fail(ZPT_ENUMERIC, "cmaes: C has a non-finite entry (generation %.0f)",
                      c->scal[1]);
  int info = syevr(c, c->lwork, c->liwork, c->work, c->iwork);
  if (info != 0)
    return zpt_fail(ZPT_ENUMERIC, "cmaes: eigendecomposition of C failed (LAPACK dsyevr "
                    "info %d, generation %.0f)", info, c->scal[1]);
  for (size_t j = 0; j < n; j++) {
    double ev = c->ew[j];
    if (!(ev > 0) || !isfinite(ev))
      return zpt_fail(ZPT_ENUMERIC, "cmaes: C lost positive definiteness "
                      "(eigenvalue %g, generation %.0f)", ev, c->scal[1]);
    c->D[j] = sqrt(ev);
    for (size_t i = 0; i < n; i++) /* column-major eigenvector j */
      c->B[i * n + j] = c->ez[i + j * n];
  }
  c->scal[2] = c->scal[1];
  return ZPT_OK;
}

/* C <- a C + c1 pc pc^T + cmu sum_i w_i' y_i y_i^T (upper triangle for
 * FULL; the lower one is filled by symmetry when decomposed). */
static void update_cov(zpt_cmaes *c, double a) {
  const size_t n = c->n;
  /* FULL: T = Y B (lambda x n, into z): ||C^-1/2 y_k||^2 = ||D^-1 B^T y_k||^2
   * = sum_j (T_kj / D_j)^2, B being orthonormal */
  if (c->full)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->lambda, (int)n, (int)n,
                1.0, c->y, (int)n, c->B, (int)n, 0.0, c->z, (int)n);
  for (size_t r = 0; r < c->lambda; r++) { /* w_i' of the active update */
    size_t k = c->order[r];
    double wi = c->w[r];
    if (wi < 0) {
      double s = 0;
      if (c->full) {
        for (size_t j = 0; j < n; j++) {
          double t = c->z[k * n + j] / c->D[j];
          s += t * t;
        }
      } else {
        inv_sqrt_times(c, c->y + k * n, c->tmp);
        for (size_t i = 0; i < n; i++)
          s += c->tmp[i] * c->tmp[i];
      }
      wi *= (double)n / (s > 0 ? s : 1);
    }
    c->wp[r] = wi;
  }
  if (!c->full) {
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      for (size_t r = 0; r < c->lambda; r++) {
        double yi = c->y[c->order[r] * n + i];
        s += c->wp[r] * yi * yi;
      }
      c->C[i] = a * c->C[i] + c->c1 * c->pc[i] * c->pc[i] + c->cmu * s;
    }
    return;
  }
  /* both triangles (eigen reads the upper one): C = a C + c1 pc pc^T, then
   * C += Yw^T Y with row k of Yw = cmu w_k' y_k (into z) */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      c->C[i * n + j] = a * c->C[i * n + j] + c->c1 * c->pc[i] * c->pc[j];
  for (size_t r = 0; r < c->lambda; r++) {
    const size_t k = c->order[r];
    const double f = c->cmu * c->wp[r];
    for (size_t i = 0; i < n; i++)
      c->z[k * n + i] = f * c->y[k * n + i];
  }
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)n, (int)c->lambda, 1.0,
              c->z, (int)n, c->y, (int)n, 1.0, c->C, (int)n);
}

int zpt_cmaes_tell(zpt_cmaes *c, const double *f) {
  const size_t n = c->n, lam = c->lambda;
  for (size_t k = 0; k < lam; k++) {
    if (!isfinite(f[k]))
      return zpt_fail(ZPT_ENUMERIC, "cmaes: generation %.0f, candidate %zu: "
                      "objective value %g is not finite", c->scal[1], k, f[k]);
  }
  sort_order(c->order, f, lam);
  double sigma = c->scal[0], g = c->scal[1] + 1;
  for (size_t i = 0; i < n; i++) { /* <y>_w over the mu best */
    double s = 0;
    for (size_t r = 0; r < c->mu; r++)
      s += c->w[r] * c->y[c->order[r] * n + i];
    c->yw[i] = s;
    c->m[i] += sigma * s;
  }
  inv_sqrt_times(c, c->yw, c->tmp);
  double as = sqrt(c->cs * (2 - c->cs) * c->mueff), nps = 0;
  for (size_t i = 0; i < n; i++) {
    c->ps[i] = (1 - c->cs) * c->ps[i] + as * c->tmp[i];
    nps += c->ps[i] * c->ps[i];
  }
  nps = sqrt(nps);
  int hs = nps / sqrt(1 - pow(1 - c->cs, 2 * (g + 1))) <
           (1.4 + 2 / ((double)n + 1)) * c->chin;
  double ac = sqrt(c->cc * (2 - c->cc) * c->mueff);
  for (size_t i = 0; i < n; i++)
    c->pc[i] = (1 - c->cc) * c->pc[i] + (hs ? ac * c->yw[i] : 0);
  double dh = (1 - hs) * c->cc * (2 - c->cc);
  update_cov(c, 1 + c->c1 * dh - c->c1 - c->cmu * c->wsum);
  c->scal[0] = sigma * exp(c->cs / c->ds * (nps / c->chin - 1));
  c->scal[1] = g;
  if (!c->full) {
    for (size_t i = 0; i < n; i++) {
      if (!(c->C[i] > 0) || !isfinite(c->C[i]))
        return zpt_fail(ZPT_ENUMERIC, "cmaes: C[%zu] = %g (generation %.0f)",
                        i, c->C[i], g);
      c->D[i] = sqrt(c->C[i]);
    }
  } else if (g - c->scal[2] >= (double)c->eig_every) {
    ZPT_TRY(eigen(c));
  }
  if (!isfinite(c->scal[0]) || !(c->scal[0] > 0))
    return zpt_fail(ZPT_ENUMERIC, "cmaes: step size %g (generation %.0f)",
                    c->scal[0], g);
  return ZPT_OK;
}

size_t zpt_cmaes_state_count(const zpt_cmaes *c) {
  return c->full ? N_STATE : ST_B; /* SEP: no B */
}

void zpt_cmaes_state_get(const zpt_cmaes *c, size_t i, const char **name,
                         double **data, size_t *len) {
  static const char *const names[N_STATE] = {"mean", "scalars", "p_sigma",
                                             "p_c", "C", "D", "B"};
  zpt_cmaes *m = (zpt_cmaes *)c;
  double *arr[N_STATE] = {m->m, m->scal, m->ps, m->pc, m->C, m->D, m->B};
  size_t n = c->n;
  size_t lens[N_STATE] = {n, 4, n, n, c->full ? n * n : n, n, n * n};
  *name = names[i];
  *data = arr[i];
  *len = lens[i];
}
