/* Optimizers driven by the zeroth-order gradient estimate, as const
 * function tables: Adam (default) and SGD with momentum.
 *
 * Adam (Kingma & Ba, with bias correction; state m, v in float, step count
 * in the state):  m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
 *   theta <- theta - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * SGD with momentum:  v <- momentum v + g,  theta <- theta - lr v.
 */
#ifndef ZPT_ZO_OPTIM_H
#define ZPT_ZO_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/state.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double lr;       /* learning rate (default 1e-3) */
  double beta1;    /* Adam (default 0.9) */
  double beta2;    /* Adam (default 0.999) */
  double eps;      /* Adam (default 1e-8) */
  double momentum; /* SGD (default 0.9; 0 = plain SGD) */
} zpt_optim_settings;

typedef struct {
  const char *name; /* "adam", "sgd" */
  int (*alloc)(void **state, size_t n, const zpt_optim_settings *s);
  /* theta[0..n) -= update(g) */
  void (*step)(void *state, float *theta, const float *g);
  /* Changes the learning rate of the following steps (a schedule); the
   * rate is not part of the checkpointed state: a schedule recomputes it. */
  void (*set_lr)(void *state, double lr);
  /* Checkpoint state under "<prefix>optimizer/..." */
  int (*save)(const void *state, zpt_state_writer *w, const char *prefix);
  int (*load)(void *state, zpt_state_reader *r, const char *prefix);
  void (*free)(void *state);
} zpt_optimizer_type;

extern const zpt_optimizer_type *const zpt_optimizer_adam;
extern const zpt_optimizer_type *const zpt_optimizer_sgd;

/* Validates settings for a type (ZPT_EINVAL naming the field). */
int zpt_optim_check(const zpt_optimizer_type *t, const zpt_optim_settings *s);

#ifdef __cplusplus
}
#endif
#endif
