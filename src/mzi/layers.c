/* modReLU, photodetection, complex input map, DFT encoder (layers.h). */
#include "mzi/layers.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>


#include "core/rng.h"
#include "core/status.h"
#include "mzi/internal.h"

/* Layer allocation with the impl attached; frees impl on failure. */
static int new_layer(const zpt_layer_ops *ops, const char *name, size_t in_size,
                     size_t out_size, void *impl, void (*free_impl)(void *),
                     zpt_layer **out) {
  zpt_layer *l = zpt_layer_alloc(ops, name, in_size, out_size);
  if (!l) {
    free_impl(impl);
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  }
  l->impl = impl;
  *out = l;
  return ZPT_OK;
}

static void free_plain(void *p) { zpt_free(p); }

static void destroy_plain(zpt_layer *l) {
  zpt_free(l->impl);
  l->impl = NULL;
}

/* ---------------------------------------------------------------- modReLU */

typedef struct {
  size_t K;
} modrelu_impl;

__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic"))) void
zpt_modrelu_apply(const float *in, float *out, const float *bias,
                  size_t K) {
  for (size_t k = 0; k < K; k++) {
    float re = in[2 * k], im = in[2 * k + 1];
    float s = 1.0f + bias[k] / (sqrtf(re * re + im * im) + ZPT_MODRELU_EPS);
    s = s >= 0 ? s : 0.0f;
    out[2 * k] = s * re;
    out[2 * k + 1] = s * im;
  }
}

static int modrelu_forward(const zpt_layer *l, const float *params, const float *in,
                           float *out, size_t n, zpt_fwd_ctx *ctx) {
  const size_t K = ((const modrelu_impl *)l->impl)->K;
  for (size_t s = 0; s < n; s++)
    zpt_modrelu_apply(in + 2 * K * s, out + 2 * K * s, params, K);
  return ZPT_OK;
}

static double modrelu_flops(const zpt_layer *l) {
  return 8.0 * ((const modrelu_impl *)l->impl)->K;
}

static const zpt_layer_ops modrelu_ops = {"modrelu", modrelu_forward, NULL, modrelu_flops,
                                          destroy_plain, NULL};

int zpt_modrelu_layer_alloc(zpt_params *p, const char *name, size_t K, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "modrelu layer: NULL output pointer");
  *out = NULL;
  if (!p)
    return zpt_fail(ZPT_EINVAL, "modrelu layer %s: NULL params store", name ? name : "");
  ZPT_TRY(zpt_mzi_check_name("modrelu layer", name));
  if (K < 1)
    return zpt_fail(ZPT_EINVAL, "modrelu layer %s: K = 0 channels", name);
  modrelu_impl *mi = zpt_new(modrelu_impl, "modrelu layer");
  if (!mi)
    return ZPT_ENOMEM;
  mi->K = K;
  zpt_layer *l = NULL;
  ZPT_TRY(new_layer(&modrelu_ops, name, 2 * K, 2 * K, mi, free_plain, &l));
  int rc = zpt_mzi_add_view(p, name, ".bias", 1, &K, &l->param_offset);
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  l->n_params = K;
  *out = l;
  return ZPT_OK;
}

/* ---------------------------------------------------------- photodetection */

typedef struct {
  size_t K, start, count, groups;
  zpt_chip_config cfg;
} detect_impl;

static int detect_forward(const zpt_layer *l, const float *params, const float *in,
                          float *out, size_t n, zpt_fwd_ctx *ctx) {
  const detect_impl *d = l->impl;
  const size_t rows = n * d->groups;
  for (size_t r = 0; r < rows; r++) {
    const float *x = in + 2 * (r * d->K + d->start);
    float *y = out + r * d->count;
    for (size_t c = 0; c < d->count; c++)
      y[c] = x[2 * c] * x[2 * c] + x[2 * c + 1] * x[2 * c + 1];
  }
  if (l->stochastic && ctx && ctx->noise)
    zpt_chip_readout_noise(&d->cfg, ctx->noise, out, rows * d->count);
  return ZPT_OK;
}

static double detect_flops(const zpt_layer *l) {
  const detect_impl *d = l->impl;
  return 3.0 * d->count * d->groups;
}

static const zpt_layer_ops detect_ops = {"detect", detect_forward, NULL, detect_flops,
                                         destroy_plain, NULL};

int zpt_detect_layer_alloc(zpt_params *p, const char *name, size_t K, size_t start, size_t count,
                           size_t groups, const zpt_chip *chip, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "detect layer: NULL output pointer");
  *out = NULL;
  ZPT_TRY(zpt_mzi_check_name("detect layer", name));
  if (K < 1 || count < 1 || groups < 1)
    return zpt_fail(ZPT_EINVAL, "detect layer %s: K = %zu, count = %zu, groups = %zu, "
                    "expected all >= 1", name, K, count, groups);
  if (start > K || count > K - start)
    return zpt_fail(ZPT_EINVAL, "detect layer %s: channels [%zu, %zu) do not fit in "
                    "K = %zu channels", name, start, start + count, K);
  if (chip)
    ZPT_TRY(zpt_chip_config_check(&chip->cfg));
  detect_impl *d = zpt_new(detect_impl, "detect layer");
  if (!d)
    return ZPT_ENOMEM;
  d->K = K;
  d->start = start;
  d->count = count;
  d->groups = groups;
  d->cfg = chip ? chip->cfg : zpt_chip_config_ideal();
  zpt_layer *l = NULL;
  ZPT_TRY(new_layer(&detect_ops, name, 2 * K * groups, count * groups, d, free_plain, &l));
  l->stochastic = zpt_chip_config_has_noise(&d->cfg);
  l->param_offset = p ? p->n_params : 0;
  *out = l;
  return ZPT_OK;
}

/* ------------------------------------------------------ complex input map */

typedef struct {
  size_t in_dim, out_dim;
  int complex_input;
} cmap_impl;

static int cmap_forward(const zpt_layer *l, const float *params, const float *in,
                        float *out, size_t n, zpt_fwd_ctx *ctx) {
  const cmap_impl *c = l->impl;
  if (n == 0)
    return ZPT_OK;
  const size_t I_ = c->in_dim, O = c->out_dim, WN = I_ * O;
  const float *re = params, *im = params + WN;
  zpt_buffer local = {0};
  zpt_buffer *w = ctx && ctx->work ? ctx->work : &local;
  int rc = zpt_buffer_reserve(w, 2 * WN * sizeof(float), "complex map weights");
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "layer %s: ", l->name);
  float *W = w->data;
  if (!c->complex_input) {
    /* rows 2j, 2j+1 of W are Re and Im of row j: Y (n x 2 O) = X . W^T is
     * the interleaved complex output directly */
    for (size_t j = 0; j < O; j++) {
      memcpy(W + (2 * j) * I_, re + j * I_, I_ * sizeof(float));
      memcpy(W + (2 * j + 1) * I_, im + j * I_, I_ * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)(2 * O), (int)I_,
                1.0f, in, (int)I_, W, (int)I_, 0.0f, out, (int)(2 * O));
  } else {
    for (size_t k = 0; k < WN; k++) {
      W[2 * k] = re[k];
      W[2 * k + 1] = im[k];
    }
    const float one[2] = {1, 0}, zero[2] = {0, 0};
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)O, (int)I_, one, in,
                (int)I_, W, (int)I_, zero, out, (int)O);
  }
  zpt_buffer_release(&local);
  return ZPT_OK;
}

static void cmap_init(const zpt_layer *l, float *params, gsl_rng *r) {
  const cmap_impl *c = l->impl;
  zpt_rng_gaussians(r, params, l->n_params, sqrt(1.0 / (2.0 * c->in_dim)));
}

static double cmap_flops(const zpt_layer *l) {
  const cmap_impl *c = l->impl;
  return (c->complex_input ? 8.0 : 4.0) * c->in_dim * c->out_dim;
}

static const zpt_layer_ops cmap_ops = {"cmap", cmap_forward, cmap_init, cmap_flops,
                                       destroy_plain, NULL};

int zpt_cmap_layer_alloc(zpt_params *p, const char *name, size_t in_dim, size_t out_dim,
                         int complex_input, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "cmap layer: NULL output pointer");
  *out = NULL;
  if (!p)
    return zpt_fail(ZPT_EINVAL, "cmap layer %s: NULL params store", name ? name : "");
  ZPT_TRY(zpt_mzi_check_name("cmap layer", name));
  if (in_dim < 1 || out_dim < 1 || in_dim > (1u << 20) || out_dim > (1u << 20))
    return zpt_fail(ZPT_EINVAL, "cmap layer %s: %zu -> %zu, expected sizes 1..2^20", name,
                    in_dim, out_dim);
  cmap_impl *c = zpt_new(cmap_impl, "cmap layer");
  if (!c)
    return ZPT_ENOMEM;
  c->in_dim = in_dim;
  c->out_dim = out_dim;
  c->complex_input = complex_input != 0;
  zpt_layer *l = NULL;
  ZPT_TRY(new_layer(&cmap_ops, name, (c->complex_input ? 2 : 1) * in_dim, 2 * out_dim, c,
                    free_plain, &l));
  size_t shape[2] = {out_dim, in_dim};
  int rc = zpt_mzi_add_view(p, name, ".re", 2, shape, &l->param_offset);
  if (rc == ZPT_OK)
    rc = zpt_mzi_add_view(p, name, ".im", 2, shape, NULL);
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  l->n_params = 2 * in_dim * out_dim;
  *out = l;
  return ZPT_OK;
}

/* ------------------------------------------------------------ DFT encoder */

/* The K bins as a matrix product: basis[j][c] = e^{-2 pi i b_c j / P} / sqrt(P)
 * (P x K complex, interleaved floats), computed once in double.  One sgemm
 * per forward replaced a GSL real FFT per sample, which took 30-40% of an
 * MZI-classifier iteration (the matrix costs 4PK flops per sample against
 * the FFT's ~2.5 P log2 P, but runs at sgemm speed; docs/performance.md). */
typedef struct {
  size_t P, K;
  size_t *bin;  /* K: the bin of each channel */
  float *basis; /* P x 2K */
} dft_impl;

static void dft_free(void *p) {
  dft_impl *d = p;
  if (!d)
    return;
  zpt_free(d->bin);
  zpt_free(d->basis);
  zpt_free(d);
}

static void dft_destroy(zpt_layer *l) {
  dft_free(l->impl);
  l->impl = NULL;
}

size_t zpt_dft_channel_bin(size_t K, int centred, size_t c) {
  if (!centred)
    return c + 1;
  size_t n_even_bins = K / 2; /* bins 2, 4, ..., placed first in reverse */
  return c < n_even_bins ? 2 * (n_even_bins - c) : 2 * (c - n_even_bins) + 1;
}

static int dft_forward(const zpt_layer *l, const float *params, const float *in,
                       float *out, size_t n, zpt_fwd_ctx *ctx) {
  const dft_impl *d = l->impl;
  if (n > INT_MAX)
    return zpt_fail(ZPT_ERANGE, "layer %s: %zu samples exceed the BLAS int range", l->name, n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)(2 * d->K), (int)d->P,
              1.0f, in, (int)d->P, d->basis, (int)(2 * d->K), 0.0f, out, (int)(2 * d->K));
  return ZPT_OK;
}

static double dft_flops(const zpt_layer *l) {
  const dft_impl *d = l->impl;
  return 2.5 * d->P * log2((double)d->P) + 2.0 * d->K;
}

static const zpt_layer_ops dft_ops = {"dft", dft_forward, NULL, dft_flops, dft_destroy, NULL};

int zpt_dft_layer_alloc(zpt_params *p, const char *name, size_t P, size_t K, int centred,
                        zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "dft layer: NULL output pointer");
  *out = NULL;
  ZPT_TRY(zpt_mzi_check_name("dft layer", name));
  if (P < 2 || K < 1 || K > P / 2)
    return zpt_fail(ZPT_EINVAL, "dft layer %s: K = %zu bins from a signal of length "
                    "P = %zu, expected P >= 2 and 1 <= K <= P/2", name, K, P);
  dft_impl *d = zpt_new(dft_impl, "dft layer");
  if (!d)
    return ZPT_ENOMEM;
  d->P = P;
  d->K = K;
  d->bin = zpt_new_array(size_t, K, "dft bins");
  d->basis = zpt_floats(2 * K * P, "dft basis");
  if (!d->bin || !d->basis) {
    dft_free(d);
    return zpt_fail(ZPT_ENOMEM, "dft layer %s: cannot allocate the DFT basis (P = %zu, "
                    "K = %zu)", name, P, K);
  }
  const double scale = 1.0 / sqrt((double)P);
  for (size_t c = 0; c < K; c++) {
    size_t b = d->bin[c] = zpt_dft_channel_bin(K, centred, c);
    for (size_t j = 0; j < P; j++) {
      double a = 2.0 * M_PI * (double)(b * j % P) / (double)P;
      d->basis[j * 2 * K + 2 * c] = (float)(scale * cos(a));
      d->basis[j * 2 * K + 2 * c + 1] = (float)(-scale * sin(a));
    }
  }
  ZPT_TRY(new_layer(&dft_ops, name, P, 2 * K, d, dft_free, out));
  (*out)->param_offset = p ? p->n_params : 0;
  return ZPT_OK;
}
