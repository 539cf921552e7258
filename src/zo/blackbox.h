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
  /* Optional, NULL for one device.  A black box spread over several devices
   * (zoptic-mpi --chip-per-rank: one chip per rank, each with its own
   * fabrication errors) returns the outputs (batch x output_size) of the
   * base query (the unperturbed theta, on the batch of query `query`'s
   * call) on the device that evaluated query `query` — a global index since
   * its last call with a base query — or NULL when that device is the one
   * that evaluated the base query the caller holds.  The trainer takes each
   * finite difference against that base: on one device. */
  const float *(*device_base)(zpt_blackbox *bb, uint64_t query);
  /* Optional, NULL: every variation costs the same.  The relative cost of
   * variation v in a batched call beyond the work the call shares (the
   * simulated model: flops per sample from the first layer v perturbs to
   * the output; a base query: 0).  A scheduler that splits calls
   * (zoptic-mpi) balances it. */
  double (*cost)(zpt_blackbox *bb, const zpt_variation *v);
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

/* The base outputs to difference query `query`'s outputs against: the
 * device's (see device_base), else `own`. */
static inline const float *zpt_blackbox_device_base(zpt_blackbox *bb, uint64_t query,
                                                    const float *own) {
  const float *b = bb->type->device_base ? bb->type->device_base(bb, query) : NULL;
  return b ? b : own;
}

static inline void zpt_blackbox_free(zpt_blackbox *bb) {
  if (bb && bb->type && bb->type->free)
    bb->type->free(bb);
}

#ifdef __cplusplus
}
#endif
#endif
