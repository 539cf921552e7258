/* The simulated chip: a zpt_model behind zpt_blackbox_type. */
#include "nn/sim_backend.h"

#include "core/alloc.h"
#include "core/status.h"

typedef struct {
  zpt_blackbox bb; /* first: the adapter is one allocation */
  zpt_model *model;
  uint64_t noise_seed;
} sim_adapter;

static int sim_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                     size_t n_vars, const float *inputs, size_t batch, float *outputs,
                     uint64_t first_query) {
  sim_adapter *a = bb->impl;
  int rc = zpt_model_forward_variations(a->model, theta, vars, n_vars, inputs, batch,
                                        outputs, a->noise_seed, first_query);
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "simulated backend, queries %llu..%llu: ",
                            (unsigned long long)first_query,
                            (unsigned long long)(first_query + n_vars - 1));
  return ZPT_OK;
}

static int sim_query_at(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                        size_t n_vars, const uint64_t *queries, const float *inputs,
                        size_t batch, float *outputs) {
  sim_adapter *a = bb->impl;
  int rc = zpt_model_forward_variations_at(a->model, theta, vars, n_vars, queries, inputs,
                                           batch, outputs, a->noise_seed);
  if (rc != ZPT_OK && n_vars > 0)
    return zpt_fail_context(rc, "simulated backend, %zu queries from %llu to %llu: ",
                            n_vars, (unsigned long long)queries[0],
                            (unsigned long long)queries[n_vars - 1]);
  return rc;
}

static void sim_free(zpt_blackbox *bb) {
  if (bb)
    zpt_free(bb->impl);
}

/* blackbox.h, cost: the flops per sample of the layers a variation runs
 * beyond the call's shared base activations — from the first layer it
 * perturbs (or the first stochastic one, with read-out noise) to the
 * output; 0 for the base query. */
/* The layer variation v diverges at: the first it perturbs (or the first
 * stochastic one, with read-out noise); L for the base query. */
static size_t diverge_layer(const sim_adapter *a, const zpt_variation *v) {
  const size_t L = zpt_model_n_layers(a->model);
  if (v->len == 0)
    return L;
  size_t k = 0;
  for (; k < L; k++) {
    const zpt_layer *l = zpt_model_layer(a->model, k);
    if ((a->noise_seed && l->stochastic) ||
        (l->n_params > 0 && v->offset < l->param_offset + l->n_params &&
         l->param_offset < v->offset + v->len))
      break;
  }
  return k;
}

static double layer_flops(const sim_adapter *a, size_t k0, size_t k1) {
  double f = 0;
  for (size_t k = k0; k < k1; k++) {
    const zpt_layer *l = zpt_model_layer(a->model, k);
    f += l->ops->flops ? l->ops->flops(l) : 1;
  }
  return f;
}

static double sim_cost(zpt_blackbox *bb, const zpt_variation *v) {
  const sim_adapter *a = bb->impl;
  return layer_flops(a, diverge_layer(a, v), zpt_model_n_layers(a->model));
}

/* blackbox.h, shared_cost: the base activations up to the divergence layer
 * (the base query: all layers). */
static double sim_shared_cost(zpt_blackbox *bb, const zpt_variation *v) {
  const sim_adapter *a = bb->impl;
  return layer_flops(a, 0, diverge_layer(a, v));
}

static const zpt_blackbox_type sim_type = {.name = "sim",
                                           .query = sim_query,
                                           .free = sim_free,
                                           .cost = sim_cost,
                                           .query_at = sim_query_at,
                                           .shared_cost = sim_shared_cost};
const zpt_blackbox_type *zpt_sim_blackbox_type = &sim_type;

zpt_blackbox *zpt_model_blackbox(zpt_model *m, uint64_t noise_seed) {
  if (!m) {
    zpt_fail(ZPT_EINVAL, "zpt_model_blackbox: model is NULL");
    return NULL;
  }
  if (zpt_model_n_layers(m) == 0) {
    zpt_fail(ZPT_EINVAL, "zpt_model_blackbox: the model has no layers");
    return NULL;
  }
  sim_adapter *a = zpt_new(sim_adapter, "simulated backend");
  if (!a)
    return NULL;
  a->model = m;
  a->noise_seed = noise_seed;
  a->bb.type = &sim_type;
  a->bb.impl = a;
  a->bb.n_params = zpt_model_n_params(m);
  a->bb.input_size = zpt_model_input_size(m);
  a->bb.output_size = zpt_model_output_size(m);
  a->bb.max_batch = 0;
  a->bb.max_vars = 0;
  return &a->bb;
}
