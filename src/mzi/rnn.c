/* The MZI Elman RNN cell (rnn.h).  U is built once per forward (its cost is
 * shared by the n samples and T steps), then every step is one sgemm/cgemm
 * for W x_t, one cgemm for U h_{t-1} accumulated in place, and modReLU;
 * the steps are computed directly in the output array (strided gemms). */
#include "mzi/rnn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "mzi/internal.h"
#include "mzi/layers.h"

#define TWO_PI 6.283185307179586476925286766559

typedef struct {
  zpt_rnn_spec spec;
  zpt_mesh_topology *topo;
  zpt_mesh_hw *hw;
  size_t off_screen, off_re, off_im, off_bias; /* within the layer's params */
} rnn_impl;

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

static int rnn_build_U(const rnn_impl *r, const float *params, zpt_mzi_coef *coef,
                       zpt_cfloat *screen, zpt_cfloat *U) {
  zpt_mesh_hw_coef(r->hw, r->topo, params, r->spec.screen ? params + r->off_screen : NULL,
                   coef, screen);
  return zpt_mesh_matrix_from_coef(r->topo, coef, r->spec.screen ? screen : NULL, U, NULL);
}

static int rnn_forward(const zpt_layer *l, const float *params, const float *in,
                       float *out, size_t n, zpt_fwd_ctx *ctx) {
  const rnn_impl *r = l->impl;
  const size_t K = r->spec.K, D = r->spec.in_dim, T = r->spec.steps;
  const int cin = r->spec.complex_input;
  if (n == 0)
    return ZPT_OK;
  size_t b_coef = align64((r->topo->n_mzi + 1) * sizeof(zpt_mzi_coef));
  size_t b_scr = align64(K * sizeof(zpt_cfloat));
  size_t b_U = align64(K * K * sizeof(zpt_cfloat));
  size_t b_W = align64(2 * K * D * sizeof(float));
  zpt_buffer local = {0};
  zpt_buffer *w = ctx && ctx->work ? ctx->work : &local;
  int rc = zpt_buffer_reserve(w, b_coef + b_scr + b_U + b_W, "rnn scratch");
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "layer %s: ", l->name);
  char *base = w->data;
  zpt_mzi_coef *coef = (zpt_mzi_coef *)base;
  zpt_cfloat *screen = (zpt_cfloat *)(base + b_coef);
  zpt_cfloat *U = (zpt_cfloat *)(base + b_coef + b_scr);
  float *W = (float *)(base + b_coef + b_scr + b_U);
  rc = rnn_build_U(r, params, coef, screen, U);
  if (rc != ZPT_OK) {
    zpt_buffer_release(&local);
    return zpt_fail_context(rc, "layer %s: ", l->name);
  }
  const float *re = params + r->off_re, *im = params + r->off_im, *bias = params + r->off_bias;
  if (!cin) {
    for (size_t j = 0; j < K; j++) { /* rows 2j, 2j+1: Re and Im of W's row j */
      memcpy(W + 2 * j * D, re + j * D, D * sizeof(float));
      memcpy(W + (2 * j + 1) * D, im + j * D, D * sizeof(float));
    }
  } else {
    for (size_t k = 0; k < K * D; k++) {
      W[2 * k] = re[k];
      W[2 * k + 1] = im[k];
    }
  }
  const float one[2] = {1, 0}, zero[2] = {0, 0};
  const int ldo = (int)(T * K); /* complex elements between samples' h_t */
  /* W x_t for every sample and step at once: the inputs are (n T) x D and
   * the outputs (n T) x K complex, both contiguous */
  if (!cin)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n * T), (int)(2 * K), (int)D,
                1.0f, in, (int)D, W, (int)D, 0.0f, out, (int)(2 * K));
  else
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n * T), (int)K, (int)D, one, in,
                (int)D, W, (int)D, zero, out, (int)K);
  for (size_t t = 0; t < T; t++) {
    float *ht = out + 2 * K * t;
    if (t > 0) /* += h_{t-1} U^T */
      cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)K, one,
                  ht - 2 * K, ldo, U, (int)K, one, ht, ldo);
    for (size_t s = 0; s < n; s++) {
      float *h = ht + 2 * (size_t)ldo * s;
      zpt_modrelu_apply(h, h, bias, K);
    }
  }
  zpt_buffer_release(&local);
  return ZPT_OK;
}

static void rnn_init(const zpt_layer *l, float *params, gsl_rng *g) {
  const rnn_impl *r = l->impl;
  for (size_t k = 0; k < r->off_re; k++) /* mesh and screen phases */
    params[k] = (float)(TWO_PI * gsl_rng_uniform(g));
  zpt_rng_gaussians(g, params + r->off_re, 2 * r->spec.K * r->spec.in_dim,
                    sqrt(1.0 / (2.0 * r->spec.in_dim)));
  for (size_t k = 0; k < r->spec.K; k++)
    params[r->off_bias + k] = 0;
}

static double rnn_flops(const zpt_layer *l) {
  const rnn_impl *r = l->impl;
  double K = (double)r->spec.K, D = (double)r->spec.in_dim;
  double in = r->spec.complex_input ? 8 * K * D : 4 * K * D;
  return (double)r->spec.steps * (8 * K * K + in + 8 * K);
}

static void rnn_destroy(zpt_layer *l) {
  rnn_impl *r = l->impl;
  if (!r)
    return;
  zpt_mesh_topology_free(r->topo);
  zpt_mesh_hw_free(r->hw);
  zpt_free(r);
  l->impl = NULL;
}

static const zpt_layer_ops rnn_ops = {"mzi_rnn", rnn_forward, rnn_init, rnn_flops,
                                      rnn_destroy, NULL};

zpt_mesh_hw *zpt_rnn_layer_hw(const zpt_layer *l) {
  return l && l->ops == &rnn_ops ? ((const rnn_impl *)l->impl)->hw : NULL;
}

int zpt_rnn_layer_matrix(const zpt_layer *l, const float *params, zpt_cfloat *U) {
  if (!l || l->ops != &rnn_ops || !params || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_rnn_layer_matrix: %s is not an RNN layer or NULL "
                    "params/U", l ? l->name : "NULL");
  const rnn_impl *r = l->impl;
  zpt_mzi_coef *coef = zpt_new_array(zpt_mzi_coef, r->topo->n_mzi + 1, "rnn coefficients");
  zpt_cfloat *screen = zpt_cfloats(r->spec.K, "rnn screen");
  int rc = coef && screen ? rnn_build_U(r, params, coef, screen, U) : ZPT_ENOMEM;
  zpt_free(coef);
  zpt_free(screen);
  return rc;
}

int zpt_rnn_layer_alloc(zpt_params *p, const char *name, const zpt_rnn_spec *spec,
                        zpt_chip *chip, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "rnn layer: NULL output pointer");
  *out = NULL;
  if (!p || !spec)
    return zpt_fail(ZPT_EINVAL, "rnn layer %s: NULL params store or spec", name ? name : "");
  ZPT_TRY(zpt_mzi_check_name("rnn layer", name));
  if (spec->in_dim < 1 || spec->steps < 1 || spec->in_dim > (1u << 20) ||
      spec->steps > (1u << 24))
    return zpt_fail(ZPT_EINVAL, "rnn layer %s: in_dim = %zu, steps = %zu, expected "
                    "1..2^20 and 1..2^24", name, spec->in_dim, spec->steps);
  rnn_impl *r = zpt_new(rnn_impl, "rnn layer");
  if (!r)
    return ZPT_ENOMEM;
  r->spec = *spec;
  r->spec.complex_input = spec->complex_input != 0;
  r->spec.screen = spec->screen != 0;
  int rc = zpt_mesh_topology_alloc(spec->kind, spec->K, spec->n_cols, &r->topo);
  if (rc == ZPT_OK)
    rc = zpt_mesh_hw_alloc(r->topo, r->spec.screen, chip, &r->hw);
  if (rc != ZPT_OK) {
    zpt_fail_context(rc, "rnn layer %s: ", name);
    zpt_mesh_topology_free(r->topo);
    zpt_free(r);
    return rc;
  }
  const size_t K = spec->K, D = spec->in_dim, T = spec->steps;
  zpt_layer *l = zpt_layer_alloc(&rnn_ops, name, (r->spec.complex_input ? 2 : 1) * D * T,
                                 2 * K * T);
  if (!l) {
    zpt_mesh_topology_free(r->topo);
    zpt_mesh_hw_free(r->hw);
    zpt_free(r);
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  }
  l->impl = r;
  size_t shape[2] = {r->topo->n_mzi, 2}, wshape[2] = {K, D}, off = 0;
  rc = zpt_mzi_add_view(p, name, ".phase", 2, shape, &l->param_offset);
  if (rc == ZPT_OK && r->spec.screen)
    rc = zpt_mzi_add_view(p, name, ".screen", 1, &K, &off);
  if (rc == ZPT_OK)
    rc = zpt_mzi_add_view(p, name, ".in.re", 2, wshape, &off);
  if (rc == ZPT_OK)
    rc = zpt_mzi_add_view(p, name, ".in.im", 2, wshape, NULL);
  if (rc == ZPT_OK)
    rc = zpt_mzi_add_view(p, name, ".bias", 1, &K, NULL);
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  r->off_screen = 2 * r->topo->n_mzi;
  r->off_re = r->off_screen + (r->spec.screen ? K : 0);
  r->off_im = r->off_re + K * D;
  r->off_bias = r->off_im + K * D;
  l->n_params = r->off_bias + K;
  *out = l;
  return ZPT_OK;
}
