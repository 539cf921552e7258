/* The black box: the ONLY way the trainer sees a model.
 *
 * "Given these parameter settings and this batch, return the outputs."
 * The trainer computes losses, Fisher blocks and updates from the outputs;
 * it never sees gradients, layers, meshes or hardware errors.  Nothing in
 * src/zo includes a header of src/nn or src/mzi.
 *
 * Implementations: the in-process simulated models (src/nn/sim_backend.c)
 * and a separate driver process speaking the chip protocol (docs/hardware.md).
 */
#ifndef ZPT_BLACKBOX_H
#define ZPT_BLACKBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/variation.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zpt_blackbox zpt_blackbox;

typedef struct {
  const char *name;
  /* Evaluates n_vars parameter settings (variations of theta, which has
   * bb->n_params values) on the same `batch` inputs (batch x input_size
   * floats).  outputs: n_vars x batch x output_size floats.  first_query is
   * the global index of the first of these n_vars queries (a backend with
   * read-out noise derives query v's noise from first_query + v, which makes
   * a run reproducible and resumable).  Returns a zoptic status. */
  int (*query)(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
               size_t n_vars, const float *inputs, size_t batch, float *outputs,
               uint64_t first_query);
  void (*free)(zpt_blackbox *bb);
} zpt_blackbox_type;

struct zpt_blackbox {
  const zpt_blackbox_type *type;
  void *impl;
  size_t n_params;
  size_t input_size;  /* floats per sample input */
  size_t output_size; /* floats per sample output (M) */
  size_t max_batch;   /* largest batch per call, 0 = unlimited */
  size_t max_vars;    /* largest n_vars per call, 0 = unlimited */
};

static inline int zpt_blackbox_query(zpt_blackbox *bb, const float *theta,
                                     const zpt_variation *vars, size_t n_vars,
                                     const float *inputs, size_t batch,
                                     float *outputs, uint64_t first_query) {
  return bb->type->query(bb, theta, vars, n_vars, inputs, batch, outputs,
                         first_query);
}

static inline void zpt_blackbox_free(zpt_blackbox *bb) {
  if (bb && bb->type && bb->type->free)
    bb->type->free(bb);
}

#ifdef __cplusplus
}
#endif
#endif
