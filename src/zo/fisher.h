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
 *   L_b L_b^T = F_b + rho I                     (packed Cholesky, double)
 *   u_b = sqrt(1 + rho) L_b^{-T} r, r ~ N(0, I) => Cov(u_b) = Sigma_b
 *                                                 = (1 + rho)(F_b + rho I)^{-1}
 * Blocks never updated keep F_b = I, i.e. Sigma_b = I, and use no memory:
 * F_b and L_b are allocated on a block's first update and stored packed
 * (lower triangle, row-major: row i holds n_b(i) entries at i(i+1)/2).
 * With alpha = 1 (the default: replace) F_b is never read again once L_b
 * is factorised, so only L_b is kept: half the memory per block (issue #18:
 * 3,334 blocks of 512 on the 1.7M mixer).  zpt_fisher_get and checkpoints
 * then give F_b = L_b L_b^T - shift_b I, recomputed (shift_b = rho, plus a
 * jitter if one was needed; within rounding of the F_b that was factorised).
 * The draws do not change.  A block is present when chol[b] != NULL.
 *
 * Working memory (no dense n_b x n_b matrix anywhere): an update
 * accumulates F_new in the packed array that becomes the block's new L_b
 * (zpt_packed_syrk), blends it into the new F_b, copies that into L_b and
 * factorises it in place (zpt_packed_cholesky, zbuf as its workspace).  On
 * a block's first update these are the block's own arrays; a later update
 * of the block builds a new pair and frees the old one on success (so a
 * failure leaves F_b, L_b intact).
 * With alpha = 1 the blend goes to one scratch array of max_len packed
 * doubles, allocated once, instead of a new F_b per update.
 * Fixed buffers: one of ZPT_FISHER_ZBUF_ROWS x n_max doubles (rows of Z
 * during an update, then the Cholesky's workspace; the panel of queued
 * draws otherwise) and n_max doubles of scratch.
 *
 * Natural perturbations are drawn in two steps: zpt_fisher_sample_defer()
 * draws r from the given stream at once and queues the solve; draws of the
 * same block queued one after the other (up to ZPT_PACKED_PANEL) are solved
 * together by zpt_fisher_flush(), one pass over L_b for all of them.  Every
 * draw's u is bit-identical to the one zpt_fisher_sample() gives alone
 * (packed.h).
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

#include <gsl/gsl_rng.h>

#include "core/state.h"
#include "zo/blocks.h"
#include "zo/packed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of Z buffered before one packed rank-k update. */
#define ZPT_FISHER_ZBUF_ROWS 32

typedef struct {
  const zpt_blocks *blocks; /* not owned */
  double rho;               /* >= 0 */
  int trace_norm;           /* normalise F_new to mean eigenvalue 1 */
  double avg;               /* alpha in (0, 1]; 1 = replace */
  int jitter;               /* rescue a failed Cholesky with jitter */
  double **fisher;          /* n_blocks pointers; NULL = not yet updated,
                               or alpha = 1 (not kept) */
  double **chol;            /* NULL = not yet updated */
  double *shift;            /* n_blocks: rho (+ jitter) of each L_b */
  size_t n_present;         /* blocks with a Fisher estimate */
  uint64_t n_jitter;        /* Cholesky rescues so far */
  /* the update in progress (accum_begin .. update): the block's next F_b
   * and L_b; next_L holds the accumulated F_new until the factorisation */
  size_t next_b, next_n;
  double *next_F, *next_L;
  double *scratch_F;        /* alpha = 1: next_F of every update */
  double *zbuf;             /* rows of Z not yet added, in panels of
                               ZPT_PACKED_PANEL columns (packed.h); also
                               the Cholesky workspace and `panel` */
  size_t zbuf_ld;           /* doubles per panel */
  size_t zbuf_rows;
  /* queued natural perturbations: all of block pend_b */
  double *panel;            /* max_len x ZPT_PACKED_PANEL: their r, then u
                               (= zbuf: no draw is queued during an update) */
  float *pend_u[ZPT_PACKED_PANEL];
  size_t pend_n, pend_b;
  double *vec;              /* max_len scratch */
} zpt_fisher;

int zpt_fisher_alloc(zpt_fisher **out, const zpt_blocks *blocks, double rho,
                     int trace_norm, double avg, int jitter);
void zpt_fisher_free(zpt_fisher *f);

/* Starts accumulating F_new for block b: allocates the arrays of its next
 * F_b and L_b (ZPT_ENOMEM if that fails).  An unfinished earlier
 * accumulation is dropped. */
int zpt_fisher_accum_begin(zpt_fisher *f, size_t b);
/* F_new += Z^T Z for `rows` rows of n_b doubles (row-major). */
void zpt_fisher_accum(zpt_fisher *f, const double *Z, size_t rows);
/* Finishes the update of block b (the block given to accum_begin) with
 * F_new = weight * accumulated (weight = 1/B): normalisation, averaging,
 * Cholesky.  Completes queued draws first. */
int zpt_fisher_update(zpt_fisher *f, size_t b, double weight);
/* As zpt_fisher_update with F_new given densely (n_b x n_b, symmetric,
 * lower triangle used).  For tests and for callers with white-box F. */
int zpt_fisher_update_dense(zpt_fisher *f, size_t b, const double *F_new);

/* Queues one draw from N(0, Sigma_b) into u[0..n_b): r's Gaussians
 * (ziggurat) are drawn now, u is written by zpt_fisher_flush() (or by a
 * later call that has to flush), so u must stay valid until then.  Blocks
 * without a Fisher estimate draw N(0, I) into u at once.  O(n_b^2) per
 * draw, batched per block. */
void zpt_fisher_sample_defer(zpt_fisher *f, size_t b, gsl_rng *r, float *u);
/* Completes every queued draw. */
void zpt_fisher_flush(zpt_fisher *f);
/* One draw, completed at once (defer + flush; other queued draws are
 * completed too). */
void zpt_fisher_sample(zpt_fisher *f, size_t b, gsl_rng *r, float *u);

/* Dense F_b and Sigma_b (n_b x n_b), identity for blocks not updated. */
void zpt_fisher_get(const zpt_fisher *f, size_t b, double *F);
int zpt_fisher_sigma(const zpt_fisher *f, size_t b, double *Sigma);

/* Checkpoint state under "<prefix>fisher/...". */
int zpt_fisher_save(const zpt_fisher *f, zpt_state_writer *w,
                    const char *prefix);
int zpt_fisher_load(zpt_fisher *f, zpt_state_reader *r, const char *prefix);

static inline size_t zpt_packed_size(size_t n) { return n * (n + 1) / 2; }

#ifdef __cplusplus
}
#endif

#endif
