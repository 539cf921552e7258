/* Perturbation samplers as const function tables (GSL multimin style).
 *
 * A sampler draws one raw perturbation over a range of consecutive blocks
 * [b0, b0 + nb): one block in block-coordinate mode, all blocks in
 * all-at-once mode.  The trainer then rescales it to ||u|| = sqrt(N)
 * (method.md §2) and describes it to the black box as a zpt_variation.
 *
 *   ZO-I  : u ~ N(0, I) on the range.
 *   ZO-co : u = e_j, j uniform over the range's coordinates (with
 *           replacement across draws); sample() reports the one-element
 *           support so that no dense vector is built.
 *   ZO-NP : u_b ~ N(0, Sigma_b) for each block of the range (zpt_fisher);
 *           blocks without a Fisher estimate draw N(0, I).
 *
 * Every draw consumes only the stream it is given, which the trainer
 * derives from (seed, ZPT_STREAM_PERTURB, iteration, q): perturbations are
 * regenerated, never stored beyond the iteration.  So the draws of an
 * iteration can be made in any order: the trainer makes those of the same
 * block one after the other, and ZO-NP's sample() only queues the solve
 * with Sigma_b's factor, which flush() then does for all queued draws of a
 * block at once (fisher.h).  The values are the same as drawn one by one.
 */
#ifndef ZPT_ZO_SAMPLER_H
#define ZPT_ZO_SAMPLER_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "zo/blocks.h"
#include "zo/fisher.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Settings a sampler may use (ZO-NP's; the others ignore them). */
typedef struct {
  double rho;        /* Sigma_b = (1 + rho)(F_b + rho I)^-1 */
  int trace_norm;    /* normalise each new F to mean eigenvalue 1 */
  double fisher_avg; /* alpha: F_b <- (1 - alpha) F_b + alpha F_new */
  int chol_jitter;   /* rescue a failed Cholesky with jitter */
} zpt_sampler_settings;

/* Settings of the reading-list samplers (sampler_extra.c); 0 = the
 * default.  Their table entries' alloc() uses the defaults;
 * zpt_sampler_extra_alloc() takes these. */
typedef struct {
  double sparse_frac;  /* zo-sparse: fraction of the range perturbed (0.1) */
  size_t guided_k;     /* zo-guided: gradient estimates kept (4) */
  double guided_alpha; /* zo-guided: isotropic share of the variance (0.5) */
  double adapt_beta;   /* zo-adapt: decay of the running mean of g^2 (0.99) */
  double adapt_floor;  /* zo-adapt: smallest variance, of mean 1 (0.1) */
} zpt_sampler_extra_settings;

typedef struct {
  const char *name; /* "zo-i", "zo-co", "zo-np", "zo-sparse", ... */
  /* Allocates the sampler's state (*state = NULL for stateless samplers);
   * blocks must outlive it. */
  int (*alloc)(void **state, const zpt_blocks *blocks,
               const zpt_sampler_settings *settings);
  /* Draws into u; on return the non-zero support is [*off, *off + *len)
   * and u[0..*len) holds its values -- once flush() has run, if the
   * sampler has one (u must stay valid until then).  u has room for the
   * range's length. */
  void (*sample)(void *state, const zpt_blocks *blocks, gsl_rng *r,
                 size_t b0, size_t nb, float *u, size_t *off, size_t *len);
  /* The Fisher block store of a natural-perturbation sampler, else NULL. */
  zpt_fisher *(*fisher)(void *state);
  void (*free)(void *state);
  /* Completes the draws sample() deferred; NULL for samplers that write u
   * at once. */
  void (*flush)(void *state);
  /* Adaptive samplers: sees each iteration's gradient estimate g (N
   * values) after the step; NULL for the others. */
  void (*observe)(void *state, const float *g, size_t n);
  /* Adaptive samplers' state for checkpoints, as named float arrays
   * (count, then the i-th); NULL when stateless. */
  size_t (*state_count)(const void *state);
  void (*state_get)(void *state, size_t i, const char **name, float **data,
                    size_t *len);
  /* 1: a draw's support is always the whole range (ZO-I, ZO-NP, zo-sparse,
   * zo-guided, zo-adapt), known before the draw; 0 (ZO-co): drawn. */
  int range_support;
} zpt_sampler_type;

extern const zpt_sampler_type *const zpt_sampler_zo_i;
extern const zpt_sampler_type *const zpt_sampler_zo_co;
extern const zpt_sampler_type *const zpt_sampler_zo_np;
/* The reading list's samplers (sampler_extra.c, docs/results.md round 3):
 *   zo-sparse: Sparse-MeZO-like: N(0, I) on a uniformly drawn subset of
 *              ceil(sparse_frac * len) coordinates of the range, 0 elsewhere;
 *   zo-guided: guided ES (Maheswaranathan et al. 2019): on a range of n
 *              coordinates, u = sqrt(alpha / n) e_n + sqrt((1 - alpha) / k) U e_k
 *              with U an orthonormal basis of the range's part of the last
 *              k gradient estimates (before any: N(0, I / n));
 *   zo-adapt:  diagonal covariance from past estimates: u_i ~ N(0, d_i),
 *              d = max(floor, v / mean(v)), v the running mean of g^2
 *              (before any: d = 1). */
extern const zpt_sampler_type *const zpt_sampler_zo_sparse;
extern const zpt_sampler_type *const zpt_sampler_zo_guided;
extern const zpt_sampler_type *const zpt_sampler_zo_adapt;

/* alloc() of one of the three samplers above with explicit settings
 * (ZPT_EINVAL naming the zo.* key for a value out of range). */
int zpt_sampler_extra_alloc(const zpt_sampler_type *type, void **state,
                            const zpt_blocks *blocks,
                            const zpt_sampler_extra_settings *x);

/* After the arrays of state_get() were loaded from a checkpoint: rebuilds
 * what follows from them (zo-adapt's deviations, zo-guided's ring
 * position).  A no-op for the other samplers. */
void zpt_sampler_reloaded(const zpt_sampler_type *type, void *state);

#ifdef __cplusplus
}
#endif
#endif
