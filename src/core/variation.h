/* A parameter variation: the base theta plus a scaled perturbation that is
 * non-zero only on one contiguous range of theta.
 *
 *   theta'[k] = theta[k] + scale * delta[k - offset]   for offset <= k < offset+len
 *   theta'[k] = theta[k]                               elsewhere
 *
 * len == 0 is the base point itself.  A perturbation of all of theta is
 * offset = 0, len = N.  This is how the trainer describes the Q+1 settings
 * of an iteration (and the n_b coordinate settings of a black-box Jacobian)
 * to a backend without materialising V copies of theta.
 */
#ifndef ZPT_VARIATION_H
#define ZPT_VARIATION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t offset;
  size_t len;
  float scale;
  const float *delta; /* len values; may be NULL when len == 0 */
} zpt_variation;

#ifdef __cplusplus
}
#endif
#endif
