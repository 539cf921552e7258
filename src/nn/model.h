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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zpt_layer zpt_layer;

/* Per-call context of a forward pass. */
typedef struct {
  gsl_rng *noise;   /* fresh per query; NULL means "no read-out noise" */
  zpt_buffer *work; /* scratch owned by the caller, grown as needed */
} zpt_fwd_ctx;

/* A kernel that evaluates consecutive layers ls[0..span) in one call,
 * reading ls[0]'s input and parameters (the others have none) and writing
 * the last one's output. */
typedef int (*zpt_fused_fn)(const zpt_layer *const *ls, const float *params,
                            const float *in, float *out, size_t n,
                            zpt_fwd_ctx *ctx);

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
  /* Fusion hook (NULL: none): for a run of `count` layers starting at
   * ls[0] (this layer), a kernel that evaluates the first *span of them in
   * one call, or NULL.  The model asks the first layer of every step. */
  zpt_fused_fn (*fuse)(const zpt_layer *const *ls, size_t count, size_t *span);
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

/* The model's parameters theta (zpt_model_n_params values, which the model
 * owns), what zpt_model_init fills and what a trainer starts from.  Valid
 * until the next zpt_model_add (which may grow the store) or
 * zpt_model_free.  Writable: copy a trained theta back here to keep it with
 * the model. */
float *zpt_model_theta(zpt_model *m);

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
 * first_query + v, 0); noise_seed == 0 means no noise.
 *
 * Groups: after its divergence layer, a variation that uses the base
 * parameters at a layer runs there in ONE call with the other variations of
 * its group, over G x n samples: the group of variation v is
 * (first_query + v) / G and its place in the call (first_query + v) mod G,
 * whatever the call holds; places of variations absent from the call (or
 * not at that layer yet) are computed on zeros and dropped.  Every layer
 * call thus has a shape and a place fixed by the query index, so a
 * variation's outputs are a function of (theta, the variation, the batch,
 * first_query + v, G) alone: the same bits however a caller splits its calls
 * (zoptic-mpi's ranks), on any thread count and chunk size
 * (zpt_model_set_group; docs/layers.md). */
int zpt_model_forward_variations(zpt_model *m, const float *theta,
                                 const zpt_variation *vars, size_t n_vars,
                                 const float *in, size_t n, float *out,
                                 uint64_t noise_seed, uint64_t first_query);

/* As zpt_model_forward_variations, for variations that are not consecutive
 * queries: variation v is query queries[v] (strictly increasing), which
 * fixes its noise stream and group.  Each variation's outputs are those a
 * call holding every query from queries[0] to queries[n_vars - 1] gives it
 * (zoptic-mpi hands a rank such a subset of a call). */
int zpt_model_forward_variations_at(zpt_model *m, const float *theta,
                                    const zpt_variation *vars, size_t n_vars,
                                    const uint64_t *queries, const float *in, size_t n,
                                    float *out, uint64_t noise_seed);

/* Floating-point operations per sample-forward of the whole model. */
double zpt_model_flops(const zpt_model *m);

/* ---- Additions: activation shapes, shaped layers, lookup, workspaces ---- */

/* The per-sample shape of an activation, used by builders so that layers
 * can be added without restating input sizes.  Layouts are row-major:
 *   rank 1: F           a flat vector
 *   rank 2: T x F       a sequence of T steps (or tokens) of F features;
 *                       step t occupies floats [t*F, (t+1)*F)
 *   rank 3: C x H x W   channels, rows, columns (CHW) */
typedef struct {
  int rank;
  size_t dim[3]; /* dim[0..rank) */
} zpt_shape;

static inline zpt_shape zpt_shape_vec(size_t f) {
  zpt_shape s = {1, {f, 1, 1}};
  return s;
}
static inline zpt_shape zpt_shape_seq(size_t t, size_t f) {
  zpt_shape s = {2, {t, f, 1}};
  return s;
}
static inline zpt_shape zpt_shape_chw(size_t c, size_t h, size_t w) {
  zpt_shape s = {3, {c, h, w}};
  return s;
}
/* Number of floats (0 for an invalid rank or on overflow). */
size_t zpt_shape_size(zpt_shape s);
/* Formats "3x32x32" into buf. */
void zpt_shape_str(zpt_shape s, char *buf, size_t len);

/* A model whose input has the given per-sample shape (NULL with a message
 * on a zero dimension or a bad rank). */
zpt_model *zpt_model_alloc_shaped(zpt_shape input);

/* The tracked shape of the current output (the input shape while empty). */
zpt_shape zpt_model_shape(const zpt_model *m);
zpt_shape zpt_model_input_shape(const zpt_model *m);

/* Reinterprets the current output shape (same number of floats, no data
 * movement, no layer): e.g. flatten C x H x W to a vector, or view a vector
 * of T*F floats as a T x F sequence. */
int zpt_model_reshape(zpt_model *m, zpt_shape s);

/* zpt_model_reshape to a vector of the current size (a no-op for data). */
int zpt_model_flatten(zpt_model *m);

/* As zpt_model_add, and the output shape becomes `out` (its size must equal
 * l->out_size).  zpt_model_add itself keeps the current shape when
 * out_size equals the current size and otherwise makes it a vector. */
int zpt_model_add_shaped(zpt_model *m, zpt_layer *l, zpt_shape out);

/* The layer called `name`, or NULL. */
const zpt_layer *zpt_model_find_layer(const zpt_model *m, const char *name);

/* Workspaces: a model keeps its activation and scratch buffers between
 * calls (they only grow), so forwards of one model must not run
 * concurrently; use one model per thread. */

/* Bounds the activation workspace of zpt_model_forward_variations: the
 * variations are processed in chunks so that one chunk's activations
 * (variations x samples x widest activation) stay below `floats` (at least
 * one variation per chunk).  Default ZPT_MODEL_CHUNK_FLOATS. */
#define ZPT_MODEL_CHUNK_FLOATS ((size_t)1 << 20)
void zpt_model_set_chunk_floats(zpt_model *m, size_t floats);

/* Variations per group G of zpt_model_forward_variations (see there),
 * 1..ZPT_MODEL_GROUP_MAX; default 1: every variation runs every layer after
 * its divergence as its own call over its n samples.  G > 1 merges a group's
 * variations that use the base parameters at a layer into one call over
 * G x n samples, padded: an absent or not yet diverged member's place is
 * computed on zeros.  The trainer's block-coordinate queries perturb a
 * different block each, so a group mixes variations diverging at different
 * layers and the padding costs more than the larger calls save (measured,
 * docs/performance.md, "Grouping"): hence the default.  Changing G changes
 * the low bits of outputs (BLAS and the MZI meshes pick kernels by the
 * sample count): every process of a run must use the same G. */
#define ZPT_MODEL_GROUP_MAX 8
int zpt_model_set_group(zpt_model *m, size_t g);

/* Threads of zpt_model_forward_variations (default 1): the variations of a
 * call are dealt round-robin to n threads (the caller's and n - 1 POSIX
 * threads started per call), each with its own workspace, so layers must
 * not write to shared state in forward() (none does).  The base pass and
 * zpt_model_forward stay on the caller's thread.  Outputs equal those of
 * one thread up to the rounding of BLAS calls over other batch sizes (as
 * with chunking); noise streams are per query, unchanged.  Use with single-threaded BLAS (zpt_set_threads(1)):
 * docs/performance.md measured this against OpenBLAS threads. */
#define ZPT_MODEL_MAX_THREADS 16
int zpt_model_set_threads(zpt_model *m, size_t n);

/* Layer fusion (default on): runs of layers that one kernel evaluates in a
 * single pass are run fused by zpt_model_forward and
 * zpt_model_forward_variations.  Today that is conv2d -> ReLU -> 2x2
 * max-pool at stride 2 when the convolution has stride 1, no padding, an
 * even output size, and 16k output channels (kernel width <= 7, output
 * width >= 8) or an output width >= 16 (nn/layers.h; docs/layers.md): only
 * the pooled map is written.  Nothing else changes: the layers, their
 * parameters and the prefix reuse are those of the unfused model (the inner
 * layers of a run have no parameters, so a variation perturbing the
 * convolution diverges there as before) and the outputs are identical.
 * zpt_model_set_fusion(m, 0) runs every layer on its own (for comparisons).
 * zpt_model_last_stats counts a fused call as the calls of its layers. */
int zpt_model_set_fusion(zpt_model *m, int on);

/* Bytes currently held in reusable workspaces (for tests and benchmarks:
 * it stops growing once the largest call has been seen). */
size_t zpt_model_workspace_bytes(const zpt_model *m);

/* Counters of the last zpt_model_forward_variations call, for tests and
 * benchmarks: layer forwards evaluated and samples pushed through them
 * (zpt_model_forward resets and counts them too). */
typedef struct {
  size_t layer_calls;     /* calls of ops->forward */
  size_t sample_forwards; /* sum over calls of their sample counts */
  size_t chunks;          /* variation chunks */
  size_t fused_calls;     /* of which fused runs (each counted above as its layers) */
  size_t prefix_hits;     /* base passes skipped: the last call's were reused */
} zpt_fwd_stats;

/* The prefix cache (zpt_model_forward_variations reuses the last call's base
 * activations when its inputs and parameter prefix are bit for bit the
 * same; docs/layers.md) checks theta and the inputs, not the layers: call
 * this after changing a layer's behaviour by other means (the MZI chip
 * errors' loader does). */
void zpt_model_forget_prefix(zpt_model *m);
zpt_fwd_stats zpt_model_last_stats(const zpt_model *m);

#ifdef __cplusplus
}
#endif
#endif
