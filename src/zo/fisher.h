/* Fisher blocks and the natural-perturbation covariance of each block
 * (method.md §5).
 *
 * For a block b with n_b parameters:
 *   F_new = (1/B) sum_i J_i^T G_i J_i           (accumulated in double as
 *                                                 Z^T Z, Z_i = R_i J_i)
 *   F_new <- F_new / (tr F_new / n_b)           (trace_norm; skipped when the
 *                                                 trace is 0: a block with no
 *                                                 effect on the outputs)
 *   F_b   <- (1 - alpha) F_b + alpha F_new      (alpha = 1: replace; F_b = I
 *                                                 before the first update)
 *   L_b L_b^T = F_b + rho I                     (GSL Cholesky, double)
 *   u_b = sqrt(1 + rho) L_b^{-T} r, r ~ N(0, I) => Cov(u_b) = Sigma_b
 *                                                 = (1 + rho)(F_b + rho I)^{-1}
 * Blocks never updated keep F_b = I, i.e. Sigma_b = I, and use no memory:
 * F_b and L_b are allocated on a block's first update and stored packed
 * (lower triangle, row-major: row i holds n_b(i) entries at i(i+1)/2).
 *
 * Cholesky failure (F_b + rho I not positive definite in floating point,
 * only possible when rho = 0 or F_b is badly scaled): with jitter enabled
 * (default) the factorisation is retried with F_b + (rho + d) I for
 * d = 1e-12, 1e-10, ..., 1e-2 times the mean diagonal of F_b; each rescue
 * is counted (n_jitter).  If all fail, or jitter is disabled, the update
 * fails with ZPT_ENUMERIC naming the block and the block keeps its previous
 * F_b and L_b.  Non-finite Fisher entries always fail with ZPT_ENUMERIC.
 */
#ifndef ZPT_ZO_FISHER_H
#define ZPT_ZO_FISHER_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>

#include "core/state.h"
#include "zo/blocks.h"

#define ZPT_FISHER_ZBUF_ROWS 64

typedef struct {
  const zpt_blocks *blocks; /* not owned */
  double rho;               /* >= 0 */
  int trace_norm;           /* normalise F_new to mean eigenvalue 1 */
  double avg;               /* alpha in (0, 1]; 1 = replace */
  int jitter;               /* rescue a failed Cholesky with jitter */
  double **fisher;          /* n_blocks pointers, NULL = not yet updated */
  double **chol;
  size_t n_present;         /* blocks with a Fisher estimate */
  uint64_t n_jitter;        /* Cholesky rescues so far */
  double *acc;              /* packed accumulator of the current F_new */
  size_t acc_n;             /* its dimension */
  double *zbuf;             /* rows of Z not yet added (ZPT_FISHER_ZBUF_ROWS
                               x max_len); added to a dense accumulator in
                               `work` by one BLAS dsyrk per full buffer */
  size_t zbuf_rows;
  gsl_matrix *work;         /* max_len x max_len Cholesky workspace */
  double *vec;              /* max_len scratch for sampling */
} zpt_fisher;

int zpt_fisher_alloc(zpt_fisher **out, const zpt_blocks *blocks, double rho,
                     int trace_norm, double avg, int jitter);
void zpt_fisher_free(zpt_fisher *f);

/* Starts accumulating F_new for a block of dimension n. */
void zpt_fisher_accum_reset(zpt_fisher *f, size_t n);
/* acc += Z^T Z for `rows` rows of n doubles (row-major). */
void zpt_fisher_accum(zpt_fisher *f, const double *Z, size_t rows);
/* Finishes the update of block b with F_new = weight * acc (weight = 1/B):
 * normalisation, averaging, Cholesky.  Allocates the block's storage on its
 * first update. */
int zpt_fisher_update(zpt_fisher *f, size_t b, double weight);
/* As zpt_fisher_update with F_new given densely (n_b x n_b, symmetric,
 * lower triangle used).  For tests and for callers with white-box F. */
int zpt_fisher_update_dense(zpt_fisher *f, size_t b, const double *F_new);

/* One draw from N(0, Sigma_b) into u[0..n_b), generated from r (Gaussian
 * ziggurat).  Blocks without a Fisher estimate draw N(0, I).  O(n_b^2). */
void zpt_fisher_sample(zpt_fisher *f, size_t b, gsl_rng *r, float *u);

/* Dense F_b and Sigma_b (n_b x n_b), identity for blocks not updated. */
void zpt_fisher_get(const zpt_fisher *f, size_t b, double *F);
int zpt_fisher_sigma(const zpt_fisher *f, size_t b, double *Sigma);

/* Checkpoint state under "<prefix>fisher/...". */
int zpt_fisher_save(const zpt_fisher *f, zpt_state_writer *w,
                    const char *prefix);
int zpt_fisher_load(zpt_fisher *f, zpt_state_reader *r, const char *prefix);

static inline size_t zpt_packed_size(size_t n) { return n * (n + 1) / 2; }

#endif
