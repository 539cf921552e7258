/* Fisher blocks, their Cholesky factors and natural-perturbation sampling
 * (see fisher.h). */
#include "zo/fisher.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "core/status.h"

int zpt_fisher_alloc(zpt_fisher **out, const zpt_blocks *blocks, double rho,
                     int trace_norm, double avg, int jitter) {
  *out = NULL;
  if (!(rho >= 0) || !isfinite(rho))
    return zpt_fail(ZPT_EINVAL, "Fisher blocks: rho must be finite and >= 0, "
                    "got %g", rho);
  if (!(avg > 0 && avg <= 1))
    return zpt_fail(ZPT_EINVAL, "Fisher blocks: averaging weight alpha must "
                    "be in (0, 1], got %g", avg);
  zpt_fisher *f = zpt_new(zpt_fisher, "Fisher block store");
  if (!f)
    return ZPT_ENOMEM;
  f->blocks = blocks;
  f->rho = rho;
  f->trace_norm = trace_norm;
  f->avg = avg;
  f->jitter = jitter;
  size_t m = blocks->max_len;
  f->fisher = zpt_new_array(double *, blocks->n_blocks, "Fisher block pointers");
  f->chol = zpt_new_array(double *, blocks->n_blocks, "Cholesky block pointers");
  f->acc = zpt_doubles(zpt_packed_size(m), "Fisher accumulator");
  f->vec = zpt_doubles(m, "Fisher sampling scratch");
  f->zbuf = zpt_doubles(ZPT_FISHER_ZBUF_ROWS * m, "Fisher row buffer");
  if (f->fisher && f->chol && f->acc && f->vec && f->zbuf) {
    f->work = gsl_matrix_alloc(m, m);
    if (!f->work)
      zpt_fail(ZPT_ENOMEM, "Fisher blocks: out of memory for a %zu x %zu "
               "Cholesky workspace", m, m);
  }
  if (!f->work) {
    zpt_fisher_free(f);
    return ZPT_ENOMEM;
  }
  *out = f;
  return ZPT_OK;
}

void zpt_fisher_free(zpt_fisher *f) {
  if (!f)
    return;
  if (f->fisher)
    for (size_t b = 0; b < f->blocks->n_blocks; b++)
      zpt_free(f->fisher[b]);
  if (f->chol)
    for (size_t b = 0; b < f->blocks->n_blocks; b++)
      zpt_free(f->chol[b]);
  zpt_free(f->fisher);
  zpt_free(f->chol);
  zpt_free(f->acc);
  zpt_free(f->vec);
  zpt_free(f->zbuf);
  if (f->work)
    gsl_matrix_free(f->work);
  zpt_free(f);
}

/* The accumulator: the lower triangle of work[0..n, 0..n] (work is free
 * between updates; the Cholesky reuses it only after acc_to_packed). */
void zpt_fisher_accum_reset(zpt_fisher *f, size_t n) {
  f->acc_n = n;
  f->zbuf_rows = 0;
  for (size_t i = 0; i < n; i++)
    memset(gsl_matrix_ptr(f->work, i, 0), 0, (i + 1) * sizeof(double));
}

/* acc += zbuf^T zbuf: one rank-k update (BLAS dsyrk through GSL, which the
 * Makefile links to OpenBLAS).  The former row-by-row packed loop took 8% of
 * a ZO-NP run on the CNN (bench). */
static void flush_rows(zpt_fisher *f) {
  const size_t n = f->acc_n;
  if (f->zbuf_rows == 0 || n == 0)
    return;
  gsl_matrix_const_view Z = gsl_matrix_const_view_array(f->zbuf, f->zbuf_rows, n);
  gsl_matrix_view A = gsl_matrix_submatrix(f->work, 0, 0, n, n);
  gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &Z.matrix, 1.0, &A.matrix);
  f->zbuf_rows = 0;
}

void zpt_fisher_accum(zpt_fisher *f, const double *Z, size_t rows) {
  const size_t n = f->acc_n;
  for (size_t r = 0; r < rows; r++) {
    memcpy(f->zbuf + f->zbuf_rows * n, Z + r * n, n * sizeof(double));
    if (++f->zbuf_rows == ZPT_FISHER_ZBUF_ROWS)
      flush_rows(f);
  }
}

/* Moves the dense accumulator into the packed f->acc. */
static void acc_to_packed(zpt_fisher *f) {
  flush_rows(f);
  for (size_t i = 0; i < f->acc_n; i++)
    memcpy(f->acc + zpt_packed_size(i), gsl_matrix_const_ptr(f->work, i, 0),
           (i + 1) * sizeof(double));
}

/* Cholesky of F + (rho + d) I into the packed `chol`; GSL_EDOM if not PD. */
static int cholesky(zpt_fisher *f, const double *F, size_t n, double shift,
                    double *chol) {
  gsl_matrix_view A = gsl_matrix_submatrix(f->work, 0, 0, n, n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      double v = F[zpt_packed_size(i) + j] + (i == j ? shift : 0.0);
      gsl_matrix_set(&A.matrix, i, j, v);
      gsl_matrix_set(&A.matrix, j, i, v);
    }
  /* GSL's default error handler aborts on a non-positive-definite matrix:
   * switch it off around the call (and restore the caller's handler), so
   * that the failure comes back as a status. */
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int rc = gsl_linalg_cholesky_decomp1(&A.matrix);
  gsl_set_error_handler(old);
  if (rc != GSL_SUCCESS)
    return rc;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++)
      chol[zpt_packed_size(i) + j] = gsl_matrix_get(&A.matrix, i, j);
  return GSL_SUCCESS;
}

/* Finishes an update from F_new held (packed) in f->acc. */
static int finish_update(zpt_fisher *f, size_t b) {
  const size_t n = zpt_block_len(f->blocks, b), np = zpt_packed_size(n);
  double *Fn = f->acc;
  double tr = 0;
  for (size_t k = 0; k < np; k++)
    if (!isfinite(Fn[k]))
      return zpt_fail(ZPT_ENUMERIC, "Fisher block %zu (%zu parameters at "
                      "offset %zu): non-finite entry in the new estimate",
                      b, n, f->blocks->offset[b]);
  for (size_t i = 0; i < n; i++)
    tr += Fn[zpt_packed_size(i) + i];
  if (f->trace_norm && tr > 0) {
    double s = (double)n / tr;
    for (size_t k = 0; k < np; k++)
      Fn[k] *= s;
  }
  int fresh = f->fisher[b] == NULL;
  double *Fb = fresh ? zpt_doubles(np, "Fisher block") : f->fisher[b];
  double *Lb = fresh ? zpt_doubles(np, "Cholesky block") : f->chol[b];
  if (!Fb || !Lb) {
    if (fresh) {
      zpt_free(Fb);
      zpt_free(Lb);
    }
    return zpt_fail_context(ZPT_ENOMEM, "Fisher block %zu: ", b);
  }
  /* blended = (1 - alpha) F_old + alpha F_new, F_old = I when fresh; built
   * in the accumulator so that a failed factorisation leaves F_b intact. */
  const double a = f->avg;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      size_t k = zpt_packed_size(i) + j;
      double old = fresh ? (i == j ? 1.0 : 0.0) : Fb[k];
      Fn[k] = a == 1.0 ? Fn[k] : (1 - a) * old + a * Fn[k];
    }
  int rc = cholesky(f, Fn, n, f->rho, Lb);
  if (rc != GSL_SUCCESS && f->jitter) {
    double mean_diag = 0;
    for (size_t i = 0; i < n; i++)
      mean_diag += fabs(Fn[zpt_packed_size(i) + i]);
    mean_diag = mean_diag > 0 ? mean_diag / (double)n : 1.0;
    for (double d = 1e-12; d <= 1.001e-2 && rc != GSL_SUCCESS; d *= 100)
      rc = cholesky(f, Fn, n, f->rho + d * mean_diag, Lb);
    if (rc == GSL_SUCCESS)
      f->n_jitter++;
  }
  if (rc != GSL_SUCCESS) {
    if (fresh) {
      zpt_free(Fb);
      zpt_free(Lb);
    }
    return zpt_fail(ZPT_ENUMERIC,
                    "Fisher block %zu (%zu parameters at offset %zu): F + "
                    "rho I (rho = %g) is not positive definite%s", b, n,
                    f->blocks->offset[b], f->rho,
                    f->jitter ? " even with jitter up to 1e-2 x mean diagonal"
                              : " (jitter disabled)");
  }
  memcpy(Fb, Fn, np * sizeof(double));
  if (fresh) {
    f->fisher[b] = Fb;
    f->chol[b] = Lb;
    f->n_present++;
  }
  return ZPT_OK;
}

int zpt_fisher_update(zpt_fisher *f, size_t b, double weight) {
  if (b >= f->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu of %zu", b,
                    f->blocks->n_blocks);
  const size_t n = zpt_block_len(f->blocks, b);
  if (f->acc_n != n)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu has %zu "
                    "parameters, accumulator holds %zu", b, n, f->acc_n);
  acc_to_packed(f);
  for (size_t k = 0; k < zpt_packed_size(n); k++)
    f->acc[k] *= weight;
  return finish_update(f, b);
}

int zpt_fisher_update_dense(zpt_fisher *f, size_t b, const double *F_new) {
  if (b >= f->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu of %zu", b,
                    f->blocks->n_blocks);
  const size_t n = zpt_block_len(f->blocks, b);
  f->acc_n = n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++)
      f->acc[zpt_packed_size(i) + j] = F_new[i * n + j];
  return finish_update(f, b);
}

/* Solves L^T x = r in place (x overwrites r); L packed lower, row-major.
 * Column-oriented back substitution: row k of L is contiguous. */
static void solve_lt(const double *L, double *r, size_t n) {
  for (size_t k = n; k-- > 0;) {
    const double *row = L + zpt_packed_size(k);
    double xk = r[k] / row[k];
    r[k] = xk;
    for (size_t i = 0; i < k; i++)
      r[i] -= row[i] * xk;
  }
}

/* Solves L y = r in place. */
static void solve_l(const double *L, double *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double *row = L + zpt_packed_size(i);
    double s = r[i];
    for (size_t j = 0; j < i; j++)
      s -= row[j] * r[j];
    r[i] = s / row[i];
  }
}

void zpt_fisher_sample(zpt_fisher *f, size_t b, gsl_rng *r, float *u) {
  const size_t n = zpt_block_len(f->blocks, b);
  if (!f->chol[b]) {
    for (size_t k = 0; k < n; k++)
      u[k] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
    return;
  }
  double *x = f->vec;
  for (size_t k = 0; k < n; k++)
    x[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
  /* x <- L^-T x: OpenBLAS's packed triangular solve (row-major lower
   * packed is the layout of chol[b]); the scalar solve_lt took ~2 ms of a
   * 5.7 ms iteration of the K = 16 MZI classifier (Q = 64, n_b = 384). */
  cblas_dtpsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)n, f->chol[b], x, 1);
  const double s = sqrt(1.0 + f->rho);
  for (size_t k = 0; k < n; k++)
    u[k] = (float)(s * x[k]);
}

void zpt_fisher_get(const zpt_fisher *f, size_t b, double *F) {
  const size_t n = zpt_block_len(f->blocks, b);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      size_t hi = i > j ? i : j, lo = i > j ? j : i;
      F[i * n + j] = f->fisher[b] ? f->fisher[b][zpt_packed_size(hi) + lo]
                                  : (i == j ? 1.0 : 0.0);
    }
}

int zpt_fisher_sigma(const zpt_fisher *f, size_t b, double *Sigma) {
  const size_t n = zpt_block_len(f->blocks, b);
  if (!f->chol[b]) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++)
        Sigma[i * n + j] = i == j;
    return ZPT_OK;
  }
  double *col = zpt_doubles(n, "Sigma column");
  if (!col)
    return ZPT_ENOMEM;
  for (size_t k = 0; k < n; k++) {
    memset(col, 0, n * sizeof(double));
    col[k] = 1;
    solve_l(f->chol[b], col, n);
    solve_lt(f->chol[b], col, n);
    for (size_t i = 0; i < n; i++)
      Sigma[i * n + k] = (1.0 + f->rho) * col[i];
  }
  zpt_free(col);
  return ZPT_OK;
}

int zpt_fisher_save(const zpt_fisher *f, zpt_state_writer *w,
                    const char *prefix) {
  char name[256];
  const size_t nb = f->blocks->n_blocks;
  uint64_t *present = zpt_new_array(uint64_t, f->n_present + 1, "Fisher list");
  if (!present)
    return ZPT_ENOMEM;
  size_t k = 0;
  for (size_t b = 0; b < nb; b++)
    if (f->fisher[b])
      present[k++] = b;
  snprintf(name, sizeof name, "%sfisher/present", prefix);
  int rc = w->put(w, name, ZPT_T_U64, present, k);
  zpt_free(present);
  ZPT_TRY(rc);
  uint64_t jit = f->n_jitter;
  snprintf(name, sizeof name, "%sfisher/n_jitter", prefix);
  ZPT_TRY(w->put(w, name, ZPT_T_U64, &jit, 1));
  for (size_t b = 0; b < nb; b++) {
    if (!f->fisher[b])
      continue;
    size_t np = zpt_packed_size(zpt_block_len(f->blocks, b));
    snprintf(name, sizeof name, "%sfisher/block_%zu/F", prefix, b);
    ZPT_TRY(w->put(w, name, ZPT_T_F64, f->fisher[b], np));
    snprintf(name, sizeof name, "%sfisher/block_%zu/chol", prefix, b);
    ZPT_TRY(w->put(w, name, ZPT_T_F64, f->chol[b], np));
  }
  return ZPT_OK;
}

int zpt_fisher_load(zpt_fisher *f, zpt_state_reader *r, const char *prefix) {
  char name[256];
  const size_t nb = f->blocks->n_blocks;
  size_t count;
  snprintf(name, sizeof name, "%sfisher/present", prefix);
  ZPT_TRY(r->size(r, name, ZPT_T_U64, &count));
  if (count > nb)
    return zpt_fail(ZPT_EFORMAT, "%s: %zu Fisher blocks listed, the model "
                    "has %zu blocks", name, count, nb);
  uint64_t *present = zpt_new_array(uint64_t, count + 1, "Fisher list");
  if (!present)
    return ZPT_ENOMEM;
  int rc = r->get(r, name, ZPT_T_U64, present, count);
  for (size_t k = 0; rc == ZPT_OK && k < count; k++)
    if (present[k] >= nb || (k > 0 && present[k] <= present[k - 1]))
      rc = zpt_fail(ZPT_EFORMAT, "%s: entry %zu is block %llu: expected "
                    "increasing block indices below %zu", name, k,
                    (unsigned long long)present[k], nb);
  /* drop the current blocks, then read the saved ones */
  for (size_t b = 0; rc == ZPT_OK && b < nb; b++) {
    zpt_free(f->fisher[b]);
    zpt_free(f->chol[b]);
    f->fisher[b] = f->chol[b] = NULL;
  }
  if (rc == ZPT_OK)
    f->n_present = 0;
  for (size_t k = 0; rc == ZPT_OK && k < count; k++) {
    size_t b = (size_t)present[k];
    size_t np = zpt_packed_size(zpt_block_len(f->blocks, b));
    f->fisher[b] = zpt_doubles(np, "Fisher block");
    f->chol[b] = zpt_doubles(np, "Cholesky block");
    if (!f->fisher[b] || !f->chol[b]) {
      rc = ZPT_ENOMEM;
      break;
    }
    f->n_present++;
    snprintf(name, sizeof name, "%sfisher/block_%zu/F", prefix, b);
    rc = r->get(r, name, ZPT_T_F64, f->fisher[b], np);
    if (rc == ZPT_OK) {
      snprintf(name, sizeof name, "%sfisher/block_%zu/chol", prefix, b);
      rc = r->get(r, name, ZPT_T_F64, f->chol[b], np);
    }
  }
  zpt_free(present);
  if (rc == ZPT_OK) {
    uint64_t jit;
    snprintf(name, sizeof name, "%sfisher/n_jitter", prefix);
    rc = r->get(r, name, ZPT_T_U64, &jit, 1);
    if (rc == ZPT_OK)
      f->n_jitter = jit;
  }
  return rc;
}
