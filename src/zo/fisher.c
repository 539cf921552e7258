/* Fisher blocks, their Cholesky factors and natural-perturbation sampling
 * (see fisher.h). */
#include "zo/fisher.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "core/alloc.h"
#include "core/status.h"

static size_t panels_of(size_t n) {
  return (n + ZPT_PACKED_PANEL - 1) / ZPT_PACKED_PANEL;
}

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
  f->zbuf_ld = ZPT_FISHER_ZBUF_ROWS * ZPT_PACKED_PANEL;
  f->fisher = zpt_new_array(double *, blocks->n_blocks, "Fisher block pointers");
  f->chol = zpt_new_array(double *, blocks->n_blocks, "Cholesky block pointers");
  f->shift = zpt_doubles(blocks->n_blocks, "Cholesky shifts");
  f->vec = zpt_doubles(m, "Fisher sampling scratch");
  /* one buffer: Z rows of an update, the Cholesky's workspace, or the panel
   * of queued draws -- never two at once (each user empties it first) */
  size_t zn = panels_of(m) * f->zbuf_ld, pn = m * ZPT_PACKED_PANEL;
  f->zbuf = zpt_doubles(zn > pn ? zn : pn, "Fisher row and draw buffer");
  f->panel = f->zbuf;
  if (!f->fisher || !f->chol || !f->shift || !f->vec || !f->zbuf) {
    zpt_fisher_free(f);
    return ZPT_ENOMEM;
  }
  *out = f;
  return ZPT_OK;
}

static void drop_next(zpt_fisher *f) {
  if (f->next_F != f->scratch_F)
    zpt_free(f->next_F);
  zpt_free(f->next_L);
  f->next_F = f->next_L = NULL;
  f->next_n = 0;
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
  drop_next(f);
  zpt_free(f->fisher);
  zpt_free(f->chol);
  zpt_free(f->shift);
  zpt_free(f->scratch_F);
  zpt_free(f->vec);
  zpt_free(f->zbuf);
  zpt_free(f);
}

/* ---- accumulation ------------------------------------------------------- */

int zpt_fisher_accum_begin(zpt_fisher *f, size_t b) {
  if (b >= f->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu of %zu", b,
                    f->blocks->n_blocks);
  const size_t n = zpt_block_len(f->blocks, b), np = zpt_packed_size(n);
  zpt_fisher_flush(f); /* the buffer holds no queued draws from here */
  drop_next(f);
  /* alpha = 1: the new F_b is only needed until L_b is factorised: one
   * scratch array for every update (no allocation and free per update,
   * which fragmented the heap: 1.5-2x the blocks' bytes in peak RSS) */
  if (f->avg == 1.0 && !f->scratch_F)
    f->scratch_F = zpt_doubles(zpt_packed_size(f->blocks->max_len), "Fisher scratch");
  f->next_F = f->avg == 1.0 ? f->scratch_F : zpt_doubles(np, "Fisher block");
  f->next_L = zpt_doubles(np, "Cholesky block"); /* zeroed: the accumulator */
  if (!f->next_F || !f->next_L) {
    drop_next(f);
    return zpt_fail_context(ZPT_ENOMEM, "Fisher block %zu: ", b);
  }
  f->next_b = b;
  f->next_n = n;
  f->zbuf_rows = 0;
  /* the last panel's columns beyond n stay zero (packed.h) */
  memset(f->zbuf + (panels_of(n) - 1) * f->zbuf_ld, 0,
         f->zbuf_ld * sizeof(double));
  return ZPT_OK;
}

/* next_L += zbuf^T zbuf: one packed rank-k update (packed.c).  It replaced
 * a dense n x n accumulator updated by BLAS dsyrk, and before that a scalar
 * loop that took 8% of a ZO-NP run on the CNN. */
static void flush_rows(zpt_fisher *f) {
  if (f->zbuf_rows == 0 || !f->next_L)
    return;
  zpt_packed_syrk(f->next_L, f->next_n, f->zbuf, f->zbuf_ld, f->zbuf_rows);
  f->zbuf_rows = 0;
}

void zpt_fisher_accum(zpt_fisher *f, const double *Z, size_t rows) {
  const size_t n = f->next_n, P = ZPT_PACKED_PANEL;
  if (!f->next_L)
    return;
  zpt_fisher_flush(f); /* queued draws use the buffer */
  for (size_t r = 0; r < rows; r++) {
    const double *z = Z + r * n;
    double *dst = f->zbuf + f->zbuf_rows * P;
    for (size_t c = 0; c < n; c += P)
      memcpy(dst + (c / P) * f->zbuf_ld, z + c,
             (n - c < P ? n - c : P) * sizeof(double));
    if (++f->zbuf_rows == ZPT_FISHER_ZBUF_ROWS)
      flush_rows(f);
  }
}

/* ---- update ------------------------------------------------------------- */

/* L = chol(F + shift I), both packed; ZPT_OK or ZPT_ENUMERIC if not PD.
 * Uses zbuf (free once the rows are flushed) as the factorisation's
 * workspace. */
static int cholesky(zpt_fisher *f, const double *F, size_t n, double shift,
                    double *L) {
  memcpy(L, F, zpt_packed_size(n) * sizeof(double));
  for (size_t i = 0; i < n; i++)
    L[zpt_packed_size(i) + i] += shift;
  return zpt_packed_cholesky(L, n, f->zbuf, f->zbuf_ld) == 0 ? ZPT_OK
                                                             : ZPT_ENUMERIC;
}

/* Finishes the update of next_b from F_new = weight * next_L. */
static int finish_update(zpt_fisher *f, double weight) {
  const size_t b = f->next_b, n = f->next_n, np = zpt_packed_size(n);
  double *Fn = f->next_L, *Fb = f->next_F;
  /* queued draws may use the L_b this update replaces */
  zpt_fisher_flush(f);
  double tr = 0;
  for (size_t k = 0; k < np; k++) {
    Fn[k] *= weight;
    if (!isfinite(Fn[k])) {
      drop_next(f);
      return zpt_fail(ZPT_ENUMERIC, "Fisher block %zu (%zu parameters at "
                      "offset %zu): non-finite entry in the new estimate",
                      b, n, f->blocks->offset[b]);
    }
  }
  for (size_t i = 0; i < n; i++)
    tr += Fn[zpt_packed_size(i) + i];
  if (f->trace_norm && tr > 0) {
    double s = (double)n / tr;
    for (size_t k = 0; k < np; k++)
      Fn[k] *= s;
  }
  /* the new F_b = (1 - alpha) F_old + alpha F_new, F_old = I when fresh */
  const int fresh = f->chol[b] == NULL;
  const double a = f->avg, *old = f->fisher[b];
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      size_t k = zpt_packed_size(i) + j;
      if (a == 1.0) { /* old is NULL then (not kept) */
        Fb[k] = Fn[k];
        continue;
      }
      double o = fresh ? (i == j ? 1.0 : 0.0) : old[k];
      Fb[k] = (1 - a) * o + a * Fn[k];
    }
  /* F_new is no longer needed: its array receives L_b */
  double shift = f->rho;
  int rc = cholesky(f, Fb, n, shift, Fn);
  if (rc != ZPT_OK && f->jitter) {
    double mean_diag = 0;
    for (size_t i = 0; i < n; i++)
      mean_diag += fabs(Fb[zpt_packed_size(i) + i]);
    mean_diag = mean_diag > 0 ? mean_diag / (double)n : 1.0;
    for (double d = 1e-12; d <= 1.001e-2 && rc != ZPT_OK; d *= 100) {
      shift = f->rho + d * mean_diag;
      rc = cholesky(f, Fb, n, shift, Fn);
    }
    if (rc == ZPT_OK)
      f->n_jitter++;
  }
  if (rc != ZPT_OK) {
    drop_next(f);
    return zpt_fail(ZPT_ENUMERIC,
                    "Fisher block %zu (%zu parameters at offset %zu): F + "
                    "rho I (rho = %g) is not positive definite%s", b, n,
                    f->blocks->offset[b], f->rho,
                    f->jitter ? " even with jitter up to 1e-2 x mean diagonal"
                              : " (jitter disabled)");
  }
  zpt_free(f->fisher[b]);
  zpt_free(f->chol[b]);
  if (a == 1.0) /* F_b is not needed again (fisher.h); Fb is scratch_F */
    Fb = NULL;
  f->fisher[b] = Fb;
  f->chol[b] = Fn;
  f->shift[b] = shift;
  f->next_F = f->next_L = NULL;
  f->next_n = 0;
  if (fresh)
    f->n_present++;
  return ZPT_OK;
}

int zpt_fisher_update(zpt_fisher *f, size_t b, double weight) {
  if (b >= f->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu of %zu", b,
                    f->blocks->n_blocks);
  if (!f->next_L || f->next_b != b)
    return zpt_fail(ZPT_EINVAL, "Fisher update: block %zu has no "
                    "accumulation in progress (zpt_fisher_accum_begin)", b);
  flush_rows(f);
  return finish_update(f, weight);
}

int zpt_fisher_update_dense(zpt_fisher *f, size_t b, const double *F_new) {
  ZPT_TRY(zpt_fisher_accum_begin(f, b));
  const size_t n = f->next_n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++)
      f->next_L[zpt_packed_size(i) + j] = F_new[i * n + j];
  return finish_update(f, 1.0);
}

/* ---- natural perturbations ---------------------------------------------- */

void zpt_fisher_sample_defer(zpt_fisher *f, size_t b, gsl_rng *r, float *u) {
  const size_t n = zpt_block_len(f->blocks, b);
  if (!f->chol[b]) {
    for (size_t k = 0; k < n; k++)
      u[k] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
    return;
  }
  /* the buffer is the panel now: add buffered rows of an update first */
  flush_rows(f);
  if (f->pend_n && (f->pend_b != b || f->pend_n == ZPT_PACKED_PANEL))
    zpt_fisher_flush(f);
  const size_t c = f->pend_n++;
  f->pend_b = b;
  f->pend_u[c] = u;
  double *x = f->panel + c;
  for (size_t k = 0; k < n; k++)
    x[k * ZPT_PACKED_PANEL] = gsl_ran_gaussian_ziggurat(r, 1.0);
}

/* u = sqrt(1 + rho) L_b^{-T} r for every queued draw: one panel solve for
 * 3..16 draws (packed.c), a row-vectorised solve per draw for 1 or 2 (one
 * pass over L_b each is as fast as a panel then).  The same values either
 * way.  OpenBLAS's dtpsv per draw (same operations) took 16% of a K = 16
 * MZI ZO-NP run (Q = 64 draws of n_b = 384 per iteration); a panel of 32
 * draws is ~5x faster than 32 dtpsv calls. */
void zpt_fisher_flush(zpt_fisher *f) {
  const size_t w = f->pend_n, P = ZPT_PACKED_PANEL;
  if (w == 0)
    return;
  const size_t b = f->pend_b, n = zpt_block_len(f->blocks, b);
  const double *L = f->chol[b];
  const double s = sqrt(1.0 + f->rho);
  if (w <= 2) {
    for (size_t c = 0; c < w; c++) {
      for (size_t k = 0; k < n; k++)
        f->vec[k] = f->panel[k * P + c];
      zpt_packed_solve_lt_vec(L, n, f->vec);
      for (size_t k = 0; k < n; k++)
        f->pend_u[c][k] = (float)(s * f->vec[k]);
    }
  } else {
    /* unused lanes of the kernel: zeros rather than stale values */
    const size_t lanes = w <= 8 ? 8 : P;
    for (size_t k = 0; k < n; k++)
      for (size_t c = w; c < lanes; c++)
        f->panel[k * P + c] = 0;
    zpt_packed_solve_lt(L, n, f->panel, w);
    for (size_t c = 0; c < w; c++)
      for (size_t k = 0; k < n; k++)
        f->pend_u[c][k] = (float)(s * f->panel[k * P + c]);
  }
  f->pend_n = 0;
}

void zpt_fisher_sample(zpt_fisher *f, size_t b, gsl_rng *r, float *u) {
  zpt_fisher_sample_defer(f, b, r, u);
  zpt_fisher_flush(f);
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

/* Packed F_b = L_b L_b^T - shift_b I of a block whose F_b is not kept. */
static void fisher_from_chol(const zpt_fisher *f, size_t b, double *Fp) {
  const size_t n = zpt_block_len(f->blocks, b);
  const double *L = f->chol[b];
  for (size_t i = 0; i < n; i++) {
    const double *li = L + zpt_packed_size(i);
    for (size_t j = 0; j <= i; j++) {
      const double *lj = L + zpt_packed_size(j);
      double s = 0;
      for (size_t k = 0; k <= j; k++)
        s += li[k] * lj[k];
      Fp[zpt_packed_size(i) + j] = i == j ? s - f->shift[b] : s;
    }
  }
}

void zpt_fisher_get(const zpt_fisher *f, size_t b, double *F) {
  const size_t n = zpt_block_len(f->blocks, b);
  const double *Fp = f->fisher[b];
  if (!Fp && f->chol[b]) { /* recomputed into the upper triangle's place */
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j <= i; j++) {
        double s = 0;
        const double *li = f->chol[b] + zpt_packed_size(i),
                     *lj = f->chol[b] + zpt_packed_size(j);
        for (size_t k = 0; k <= j; k++)
          s += li[k] * lj[k];
        F[i * n + j] = F[j * n + i] = i == j ? s - f->shift[b] : s;
      }
    return;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      size_t hi = i > j ? i : j, lo = i > j ? j : i;
      F[i * n + j] = Fp ? Fp[zpt_packed_size(hi) + lo] : (i == j ? 1.0 : 0.0);
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

/* Checkpoint: fisher/present (block indices), fisher/n_jitter, and per
 * present block fisher/block_<b>/F and .../chol (packed doubles; F
 * recomputed from L when not kept), plus fisher/shift (one per present
 * block, in the order of the list; absent from checkpoints before #18, then
 * derived as L_00^2 - F_00 on loading). */
int zpt_fisher_save(const zpt_fisher *f, zpt_state_writer *w,
                    const char *prefix) {
  char name[256];
  const size_t nb = f->blocks->n_blocks;
  uint64_t *present = zpt_new_array(uint64_t, f->n_present + 1, "Fisher list");
  double *shift = zpt_doubles(f->n_present + 1, "Fisher shifts");
  double *tmp = zpt_doubles(zpt_packed_size(f->blocks->max_len), "Fisher block");
  int rc = present && shift && tmp ? ZPT_OK : ZPT_ENOMEM;
  size_t k = 0;
  for (size_t b = 0; rc == ZPT_OK && b < nb; b++)
    if (f->chol[b]) {
      shift[k] = f->shift[b];
      present[k++] = b;
    }
  snprintf(name, sizeof name, "%sfisher/present", prefix);
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_U64, present, k);
  snprintf(name, sizeof name, "%sfisher/shift", prefix);
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_F64, shift, k);
  uint64_t jit = f->n_jitter;
  snprintf(name, sizeof name, "%sfisher/n_jitter", prefix);
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_U64, &jit, 1);
  for (size_t b = 0; rc == ZPT_OK && b < nb; b++) {
    if (!f->chol[b])
      continue;
    size_t np = zpt_packed_size(zpt_block_len(f->blocks, b));
    const double *F = f->fisher[b];
    if (!F) {
      fisher_from_chol(f, b, tmp);
      F = tmp;
    }
    snprintf(name, sizeof name, "%sfisher/block_%zu/F", prefix, b);
    rc = w->put(w, name, ZPT_T_F64, F, np);
    snprintf(name, sizeof name, "%sfisher/block_%zu/chol", prefix, b);
    if (rc == ZPT_OK)
      rc = w->put(w, name, ZPT_T_F64, f->chol[b], np);
  }
  zpt_free(present);
  zpt_free(shift);
  zpt_free(tmp);
  return rc;
}

/* Reads block b's saved F (kept only when alpha < 1) and L, and its shift
 * (from the list, else derived). */
static int load_block(zpt_fisher *f, zpt_state_reader *r, const char *prefix, size_t b,
                      const double *shifts, size_t k, double *tmp) {
  char name[256];
  size_t np = zpt_packed_size(zpt_block_len(f->blocks, b));
  f->chol[b] = zpt_doubles(np, "Cholesky block");
  if (f->avg != 1.0)
    f->fisher[b] = zpt_doubles(np, "Fisher block");
  if (!f->chol[b] || (f->avg != 1.0 && !f->fisher[b]))
    return ZPT_ENOMEM;
  f->n_present++;
  double *F = f->fisher[b] ? f->fisher[b] : tmp;
  snprintf(name, sizeof name, "%sfisher/block_%zu/F", prefix, b);
  ZPT_TRY(r->get(r, name, ZPT_T_F64, F, np));
  snprintf(name, sizeof name, "%sfisher/block_%zu/chol", prefix, b);
  ZPT_TRY(r->get(r, name, ZPT_T_F64, f->chol[b], np));
  f->shift[b] = shifts ? shifts[k] : f->chol[b][0] * f->chol[b][0] - F[0];
  return ZPT_OK;
}

int zpt_fisher_load(zpt_fisher *f, zpt_state_reader *r, const char *prefix) {
  char name[256];
  const size_t nb = f->blocks->n_blocks;
  size_t count, n_shift = 0;
  snprintf(name, sizeof name, "%sfisher/present", prefix);
  ZPT_TRY(r->size(r, name, ZPT_T_U64, &count));
  if (count > nb)
    return zpt_fail(ZPT_EFORMAT, "%s: %zu Fisher blocks listed, the model "
                    "has %zu blocks", name, count, nb);
  uint64_t *present = zpt_new_array(uint64_t, count + 1, "Fisher list");
  double *shifts = zpt_doubles(count + 1, "Fisher shifts");
  double *tmp = zpt_doubles(zpt_packed_size(f->blocks->max_len), "Fisher block");
  int rc = present && shifts && tmp ? r->get(r, name, ZPT_T_U64, present, count)
                                    : ZPT_ENOMEM;
  for (size_t k = 0; rc == ZPT_OK && k < count; k++)
    if (present[k] >= nb || (k > 0 && present[k] <= present[k - 1]))
      rc = zpt_fail(ZPT_EFORMAT, "%s: entry %zu is block %llu: expected "
                    "increasing block indices below %zu", name, k,
                    (unsigned long long)present[k], nb);
  snprintf(name, sizeof name, "%sfisher/shift", prefix);
  int have_shift = rc == ZPT_OK && r->size(r, name, ZPT_T_F64, &n_shift) == ZPT_OK;
  if (have_shift && n_shift != count)
    rc = zpt_fail(ZPT_EFORMAT, "%s: %zu shifts for %zu listed Fisher blocks", name,
                  n_shift, count);
  else if (have_shift)
    rc = r->get(r, name, ZPT_T_F64, shifts, count);
  if (rc == ZPT_OK && !have_shift)
    zpt_error_clear(); /* an older checkpoint: shifts derived */
  /* complete queued draws and drop an unfinished update, then the current
   * blocks; then read the saved ones */
  if (rc == ZPT_OK) {
    zpt_fisher_flush(f);
    drop_next(f);
  }
  for (size_t b = 0; rc == ZPT_OK && b < nb; b++) {
    zpt_free(f->fisher[b]);
    zpt_free(f->chol[b]);
    f->fisher[b] = f->chol[b] = NULL;
  }
  if (rc == ZPT_OK)
    f->n_present = 0;
  for (size_t k = 0; rc == ZPT_OK && k < count; k++)
    rc = load_block(f, r, prefix, (size_t)present[k], have_shift ? shifts : NULL, k, tmp);
  zpt_free(present);
  zpt_free(shifts);
  zpt_free(tmp);
  if (rc == ZPT_OK) {
    uint64_t jit;
    snprintf(name, sizeof name, "%sfisher/n_jitter", prefix);
    rc = r->get(r, name, ZPT_T_U64, &jit, 1);
    if (rc == ZPT_OK)
      f->n_jitter = jit;
  }
  return rc;
}
