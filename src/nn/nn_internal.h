/* Helpers shared by the layer implementations of src/nn (not public). */
#ifndef ZPT_NN_INTERNAL_H
#define ZPT_NN_INTERNAL_H

#include <limits.h>
#include <math.h>
#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "core/status.h"
#include "nn/layers.h"
#include "nn/model.h"

/* One parameter view a constructor registers: "<layer>.<suffix>". */
typedef struct {
  const char *suffix;
  int ndim;
  size_t shape[4];
} nn_view;

/* Resolves the layer name (NULL: "<kind><index>"), allocates the layer,
 * registers its views, and appends it with output shape `out`.  `impl`
 * (from zpt_alloc, freed by nn_destroy_impl) is owned by the layer, also on
 * failure. */
int nn_add(zpt_model *m, const zpt_layer_ops *ops, const char *name, size_t in_size,
           zpt_shape out, void *impl, size_t n_views, const nn_view *views);

/* Marks the model unusable (defined in model.c): views were registered
 * for a layer that could not be appended. */
void nn_model_mark_broken(zpt_model *m);

/* ops->destroy of every src/nn layer: frees l->impl. */
void nn_destroy_impl(zpt_layer *l);

/* Checks a constructor's model argument and init choice. */
int nn_check_model(const zpt_model *m, const char *kind, const char *name);
int nn_check_init(int init, const char *kind, const char *name);
/* ZPT_EINVAL "KIND layer 'NAME': A va, B vb: both must be >= 1" when either
 * size is 0. */
int nn_check_sizes(const char *kind, const char *name, const char *a, size_t va,
                   const char *b, size_t vb);
/* Both, for a layer with an init rule. */
int nn_check_layer(const zpt_model *m, const char *kind, const char *name, int init);
/* The model's current shape into *s, which a `kind` layer needs of rank
 * `rank`; else ZPT_EINVAL "KIND layer 'NAME': expects EXPECTS, found shape
 * SHAPE" + hint. */
int nn_expect_rank(const zpt_model *m, const char *kind, const char *name, int rank,
                   const char *expects, const char *hint, zpt_shape *s);
/* The name for messages ("(auto)" for NULL). */
static inline const char *nn_name(const char *name) { return name ? name : "(auto)"; }

/* Fills weights / biases per the zpt_init rule. */
void nn_init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, int init,
                     gsl_rng *r);
void nn_init_bias(float *b, size_t n, size_t fan_in, int init, gsl_rng *r);

/* C (M x N, row-major, ldc) = A (M x K, lda) * op(B) + beta C, where op(B)
 * is B^T (B stored N x K, ldb) when trans_b, else B (K x N, ldb).
 * Fails with ZPT_ERANGE when a dimension exceeds the BLAS int range. */
int nn_sgemm(int trans_b, size_t M, size_t N, size_t K, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* Scratch of `floats` floats in ctx->work. */
int nn_scratch(zpt_fwd_ctx *ctx, size_t floats, float **out);

/* Layer norm of `groups` rows of `features` floats (row stride `features`),
 * output row g written at out + g * out_stride_row with element stride
 * out_stride_elem (transposed writes for the mixer). */
void nn_layernorm_rows(const float *in, size_t groups, size_t features,
                       const float *gain, const float *bias, float *out,
                       size_t out_stride_row, size_t out_stride_elem);

#define NN_LN_EPS 1e-5f

static inline float nn_gelu(float x) {
  /* tanh approximation (Hendrycks & Gimpel), as in the Flax MLP-mixer:
   * 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as
   * x * sigmoid(2u) = x / (1 + exp(-2u)): the same function, one expf
   * instead of a (much slower) tanhf, and no cancellation for x < 0. */
  const float k2 = 1.5957691216057308f; /* 2 sqrt(2/pi) */
  return x / (1.0f + expf(-k2 * (x + 0.044715f * x * x * x)));
}


/* GELU (the function of nn_gelu) in place on n floats, vectorised with a
 * polynomial exp (mixer.c; the mixer's hidden activations). */
void nn_gelu_inplace(float *x, size_t n);

/* Geometry of a 2-D convolution (conv.c) for the direct kernels. */
typedef struct {
  size_t c, h, w;    /* input */
  size_t oc, oh, ow; /* output */
  size_t kh, kw, stride, pad;
} nn_conv_geom;

/* Direct convolution (conv_direct.c) of n samples with weight
 * [oc][c][kh][kw] and bias [oc]: returns 1 when it handled the call (stride
 * 1, no padding, and oc % 16 == 0 or ow >= 16), 0 when the caller must use
 * im2col + sgemm. */
int nn_conv_direct(const nn_conv_geom *g, const float *weight, const float *bias,
                   const float *in, float *out, size_t n, zpt_fwd_ctx *ctx);

/* Convolution + bias + ReLU + 2x2 max-pool at stride 2 in one pass
 * (conv_direct.c): out is oc x (oh/2) x (ow/2) per sample.  Only for
 * geometries where nn_conv_relu_pool_fusable() is true (stride 1, no
 * padding, even oh and ow, and oc % 16 == 0 or ow >= 16). */
int nn_conv_relu_pool_fusable(const nn_conv_geom *g);
int nn_conv_relu_pool(const nn_conv_geom *g, const float *weight, const float *bias,
                      const float *in, float *out, size_t n, zpt_fwd_ctx *ctx);


/* Is l an element-wise ReLU layer (zpt_model_add_act with ZPT_ACT_RELU)? */
int nn_is_relu(const zpt_layer *l);

#endif
