/* Layers and models: an ordered stack of layers over ONE flat theta, with
 * batched evaluation of many parameter variations.
 *
 * Both the real-valued layers of src/nn and the photonic layers of src/mzi
 * implement zpt_layer_ops.  Activations are float arrays; a complex-valued
 * layer reads and writes interleaved (re, im) pairs, i.e. C99 float complex,
 * so its in_size / out_size count floats (2 per complex channel).
 *
 * A layer owns a contiguous range [param_offset, param_offset + n_params)
 * of theta; its constructor registers the named views of that range in the
 * model's parameter store.  forward() receives a pointer to the layer's own
 * parameter values (which may be the base theta or a private perturbed copy),
 * never the whole theta.
 */
#ifndef ZPT_MODEL_H
#define ZPT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "core/alloc.h"
#include "core/params.h"
#include "core/variation.h"

typedef struct zpt_layer zpt_layer;

/* Per-call context of a forward pass. */
typedef struct {
  gsl_rng *noise;   /* fresh per query; NULL means "no read-out noise" */
  zpt_buffer *work; /* scratch owned by the caller, grown as needed */
} zpt_fwd_ctx;

typedef struct {
  const char *kind; /* "dense", "conv2d", "clements", ... */
  /* Forward n samples: in is n x in_size floats, out n x out_size floats,
   * params the layer's n_params values.  in and out never alias. */
  int (*forward)(const zpt_layer *l, const float *params, const float *in,
                 float *out, size_t n, zpt_fwd_ctx *ctx);
  /* Writes initial values of the layer's parameters from stream r
   * (NULL: the layer has no parameters or keeps zeros). */
  void (*init)(const zpt_layer *l, float *params, gsl_rng *r);
  /* Floating-point operations per sample of one forward (for benchmarks). */
  double (*flops)(const zpt_layer *l);
  /* Frees l->impl (NULL: nothing to free). */
  void (*destroy)(zpt_layer *l);
} zpt_layer_ops;

struct zpt_layer {
  const zpt_layer_ops *ops;
  char name[32];
  size_t in_size, out_size;      /* floats per sample */
  size_t param_offset, n_params; /* this layer's range of theta */
  int stochastic;                /* output depends on ctx->noise */
  void *impl;                    /* layer-specific data */
};

/* Allocates a bare layer struct; constructors fill it in. */
zpt_layer *zpt_layer_alloc(const zpt_layer_ops *ops, const char *name,
                           size_t in_size, size_t out_size);
void zpt_layer_free(zpt_layer *l);

typedef struct zpt_model zpt_model;

/* A model whose first layer reads `input_size` floats per sample. */
zpt_model *zpt_model_alloc(size_t input_size);
void zpt_model_free(zpt_model *m);

/* The model's parameter store; layer constructors register views in it. */
zpt_params *zpt_model_params(zpt_model *m);

/* Appends a layer (the model takes ownership, also on failure).  Its
 * in_size must equal the current output size; its parameter range must be
 * the views registered since the previous layer was added. */
int zpt_model_add(zpt_model *m, zpt_layer *l);

size_t zpt_model_n_layers(const zpt_model *m);
const zpt_layer *zpt_model_layer(const zpt_model *m, size_t k);
size_t zpt_model_input_size(const zpt_model *m);
size_t zpt_model_output_size(const zpt_model *m);
size_t zpt_model_n_params(const zpt_model *m);

/* Initialises theta: layer k draws from stream (seed, ZPT_STREAM_INIT, k). */
void zpt_model_init(zpt_model *m, uint64_t seed);

/* One forward of n samples with the given theta (n_params values). */
int zpt_model_forward(zpt_model *m, const float *theta, const float *in,
                      size_t n, float *out, gsl_rng *noise);

/* Batched variations: evaluates n_vars variations of theta on the same n
 * inputs; out is n_vars x n x output_size.  Does not copy theta per
 * variation: a variation's perturbed layer parameters live in a private
 * slice.  Activations of the layers before a variation's first perturbed
 * layer are computed once and shared (prefix reuse), except that reuse stops
 * at the first stochastic layer.  When noise_seed != 0 every variation v
 * draws read-out noise from stream (noise_seed, ZPT_STREAM_NOISE,
 * first_query + v, 0); noise_seed == 0 means no noise. */
int zpt_model_forward_variations(zpt_model *m, const float *theta,
                                 const zpt_variation *vars, size_t n_vars,
                                 const float *in, size_t n, float *out,
                                 uint64_t noise_seed, uint64_t first_query);

/* Floating-point operations per sample-forward of the whole model. */
double zpt_model_flops(const zpt_model *m);

#endif
