/* Internals of the model shared by model.c (building, accessors) and
 * model_forward.c (forward, batched variations).  Not a public header. */
#ifndef ZPT_NN_MODEL_INTERNAL_H
#define ZPT_NN_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "core/alloc.h"
#include "nn/model.h"
#include "nn/nn_internal.h"

/* What one variation needs during a batched call. */
typedef struct {
  size_t index;     /* position in the caller's vars[] */
  size_t first;     /* first layer whose parameters it perturbs (L: none) */
  size_t end;       /* one past the last perturbed layer */
  size_t diverge;   /* first layer it cannot share: min(first, stochastic) */
  size_t slot;      /* its activation slot in the chunk: group ordinal x G + q mod G */
  uint64_t query;   /* its global query index q (noise stream, group q / G) */
} var_plan;

/* The workspace of one thread of zpt_model_forward_variations (thread 0 is
 * the caller's; zpt_model_forward uses it too). */
typedef struct {
  zpt_buffer work;   /* ctx->work for the layers */
  zpt_buffer act[2]; /* per-variation activations, chunk x n x widest */
  zpt_buffer pert;   /* one layer's perturbed parameter slice */
  zpt_buffer plans;  /* this thread's share of the plans (threads > 1) */
  gsl_rng **rngs;    /* noise streams, one per variation of a chunk */
  size_t n_rngs;
  zpt_fwd_stats stats;
} fwd_ws;

struct zpt_model {
  zpt_params *params;
  zpt_layer **layers;
  zpt_shape *shapes; /* shapes[k]: output shape of layer k */
  /* the steps a forward takes: layers [k, k + span[k]) run as one call, by
   * fused[k] when span[k] > 1; span is 0 inside a fused run */
  size_t *span;
  zpt_fused_fn *fused;
  int no_fusion; /* zpt_model_set_fusion(m, 0) */
  size_t n_layers, cap_layers;
  zpt_shape in_shape;
  size_t input_size;
  size_t param_end; /* end of the last layer's parameter range */
  int broken;       /* a constructor failed half-way: refuse further use */
  size_t chunk_floats;
  size_t n_threads;       /* threads of zpt_model_forward_variations */
  size_t group;           /* zpt_model_set_group: variations per group, G */
  /* workspaces, grown on demand and reused across calls */
  fwd_ws ws[ZPT_MODEL_MAX_THREADS];
  zpt_buffer base_pp[2];  /* base pass ping-pong, n x widest */
  zpt_buffer base_store;  /* base activations at needed layer boundaries */
  zpt_buffer base_off;    /* size_t per boundary: offset in base_store */
  zpt_buffer plans;       /* var_plan per variation */
  /* prefix cache: what the base activations in base_store were computed
   * from (model_forward.c, prefix_cached) */
  zpt_buffer pc_theta;    /* theta[0, parameters of the layers before pc_deepest) */
  zpt_buffer pc_in;       /* the pc_n input samples */
  size_t pc_n, pc_deepest;
  int pc_valid;
};

/* Resets the statistics of the last forward. */
void nn_model_clear_stats(zpt_model *m);
/* Fails on a model a constructor left broken. */
int nn_model_check_usable(const zpt_model *m, const char *what);

#endif
