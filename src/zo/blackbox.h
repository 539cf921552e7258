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

/* A call whose variations are shared out among processes (query_shared
 * below): what the caller does with its share, and where every
 * variation's record comes back. */
typedef struct {
  size_t rec_bytes; /* bytes of one variation's record */
  void *records;    /* n_vars x rec_bytes: on return, every variation's */
  void *ctx;        /* the caller's, passed to prepare and fill */
  /* Called once this process's share is known: it evaluates the n
   * variations share[0..n) (increasing indices; n == 0: none).  The deltas
   * of those must be set on return; the others' are never read here. */
  void (*prepare)(void *ctx, const size_t *share, size_t n);
  /* Fills the records of variations share[0..n) (rec: n x rec_bytes, in
   * that order) from their outputs (out: n x batch x output_size).  Must
   * be a function of each variation (its outputs, its delta) alone. */
  int (*fill)(void *ctx, const size_t *share, size_t n, const float *out, void *rec);
} zpt_shared_call;

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
  /* Optional, NULL for a box evaluated by one process.  A box spread over
   * several processes, each running the same caller with the same
   * arguments (zoptic-mpi), evaluates here only this process's share of
   * the n_vars variations (call->prepare says which, before their deltas
   * are needed: only each variation's offset and len must be set on
   * entry), has call->fill turn that share's outputs into records, and
   * gathers every process's records in variation order into
   * call->records.  Every process returns the same records, bit for bit
   * those one process filling all of them would make.  The outputs do not
   * travel.  A failure anywhere (a share's query or fill) fails the call
   * on every process with the same message. */
  int (*query_shared)(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                      size_t n_vars, const float *inputs, size_t batch,
                      uint64_t first_query, zpt_shared_call *call);
  /* Optional, NULL: calls hold consecutive queries only.  As query, but
   * variation v is query number queries[v] (strictly increasing, not
   * necessarily consecutive): its outputs are those a call of consecutive
   * queries gives it at that index.  Lets a scheduler hand a process a
   * subset of a call (zoptic-mpi, by the layers the variations perturb). */
  int (*query_at)(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                  size_t n_vars, const uint64_t *queries, const float *inputs,
                  size_t batch, float *outputs);
  /* Optional, with cost: the shared work variation v needs before its own
   * (the simulated model: flops per sample of the base activations up to
   * the first layer it perturbs; a base query: the whole forward).  A
   * process evaluating a set of variations pays the largest of these once,
   * plus their costs. */
  double (*shared_cost)(zpt_blackbox *bb, const zpt_variation *v);
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
