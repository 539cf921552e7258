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

typedef struct {
  const char *name; /* "zo-i", "zo-co", "zo-np" */
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
} zpt_sampler_type;

extern const zpt_sampler_type *const zpt_sampler_zo_i;
extern const zpt_sampler_type *const zpt_sampler_zo_co;
extern const zpt_sampler_type *const zpt_sampler_zo_np;

#ifdef __cplusplus
}
#endif
#endif
