/* Kernels on packed lower-triangular matrices (row-major: row i holds its
 * i + 1 entries at i(i+1)/2), the storage of the Fisher blocks and their
 * Cholesky factors (fisher.h).  None needs a dense n x n workspace.
 *
 *   zpt_packed_solve_lt  X <- L^{-T} X for up to ZPT_PACKED_PANEL columns at
 *                        once (the natural perturbations of one block);
 *   zpt_packed_syrk      A += Z^T Z for a few rows of Z (the Fisher
 *                        accumulation);
 *   zpt_packed_cholesky  A = L L^T in place (blocked, on the rank-k kernel).
 *
 * The solve computes every column with exactly the same sequence of
 * floating-point operations, whatever the number of columns and whatever
 * column of the panel it sits in: for each entry, fused multiply-subtracts
 * x_i <- x_i - L_ki x_k for k = n-1 down to i+1, then x_i <- x_i / L_ii (the
 * order of a column-oriented back substitution, e.g. BLAS dtpsv).  So one
 * draw solved alone and the same draw solved in a panel with 15 others are
 * bit-identical (tests/test_zo_method.c checks both against a scalar
 * reference).
 */
#ifndef ZPT_ZO_PACKED_H
#define ZPT_ZO_PACKED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Columns of a solve panel. */
#define ZPT_PACKED_PANEL 16

/* Solves L^T X = R in place for the first `w` (1..ZPT_PACKED_PANEL) columns
 * of the row-major n x ZPT_PACKED_PANEL panel X (row i of X holds entry i of
 * every column).  Columns w.. of X are overwritten with scratch values.
 * L: packed lower, n x n, non-zero diagonal.  O(n^2 w). */
void zpt_packed_solve_lt(const double *L, size_t n, double *X, size_t w);

/* As zpt_packed_solve_lt for one contiguous column x (n doubles), with the
 * same result: vectorised over the rows, it streams L once, which is faster
 * than a panel for one or two columns. */
void zpt_packed_solve_lt_vec(const double *L, size_t n, double *x);

/* A += Z^T Z, A packed lower n x n, Z `rows` x n in panels of
 * ZPT_PACKED_PANEL columns: entry (r, c) at Zp[(c / 16) * ld + r * 16 +
 * c % 16] (ld >= 16 rows, a multiple of 16).  The last panel's columns
 * beyond n must hold finite values (zeros).  The panels make both of the
 * kernel's access patterns streams (a row-major Z of a few hundred columns
 * has a stride the hardware prefetcher does not follow).  O(n^2 rows / 2). */
void zpt_packed_syrk(double *A, size_t n, const double *Zp, size_t ld,
                     size_t rows);

/* Cholesky A = L L^T in place (A packed lower on entry, L on return).
 * Returns 0, or k > 0 if the leading minor of order k is not positive
 * definite (A is then partly overwritten).  work: panels as for
 * zpt_packed_syrk, ceil(n / 16) x ld doubles (ld a multiple of 16, at
 * least 16; blocks of min(32, ld / 16) columns, so ld >= 512 is best).
 * O(n^3 / 6). */
int zpt_packed_cholesky(double *A, size_t n, double *work, size_t ld);

#ifdef __cplusplus
}
#endif
#endif
