/* The model: an ordered stack of layers over one flat theta, a tracked
 * per-sample activation shape, and the batched evaluation of parameter
 * variations with prefix reuse (see docs/layers.md, "Batched variations"). */
#include "nn/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/nn_internal.h"

/* What one variation needs during a batched call. */
typedef struct {
  size_t index;     /* position in the caller's vars[] */
  size_t first;     /* first layer whose parameters it perturbs (L: none) */
  size_t end;       /* one past the last perturbed layer */
  size_t diverge;   /* first layer it cannot share: min(first, stochastic) */
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
  nn_fused_fn *fused;
  int no_fusion; /* zpt_model_set_fusion(m, 0) */
  size_t n_layers, cap_layers;
  zpt_shape in_shape;
  size_t input_size;
  size_t param_end; /* end of the last layer's parameter range */
  int broken;       /* a constructor failed half-way: refuse further use */
  size_t chunk_floats;
  size_t n_threads;       /* threads of zpt_model_forward_variations */
  /* workspaces, grown on demand and reused across calls */
  fwd_ws ws[ZPT_MODEL_MAX_THREADS];
  zpt_buffer base_pp[2];  /* base pass ping-pong, n x widest */
  zpt_buffer base_store;  /* base activations at needed layer boundaries */
  zpt_buffer base_off;    /* size_t per boundary: offset in base_store */
  zpt_buffer plans;       /* var_plan per variation */
};

/* ---------------------------------------------------------------- shapes */

size_t zpt_shape_size(zpt_shape s) {
  if (s.rank < 1 || s.rank > 3)
    return 0;
  size_t n = 1;
  for (int d = 0; d < s.rank; d++) {
    if (s.dim[d] == 0)
      return 0;
    if (n > SIZE_MAX / s.dim[d])
      return 0;
    n *= s.dim[d];
  }
  return n;
}

void zpt_shape_str(zpt_shape s, char *buf, size_t len) {
  if (len == 0)
    return;
  buf[0] = '\0';
  if (s.rank < 1 || s.rank > 3) {
    snprintf(buf, len, "(rank %d)", s.rank);
    return;
  }
  size_t used = 0;
  for (int d = 0; d < s.rank && used < len; d++) {
    int k = snprintf(buf + used, len - used, d ? "x%zu" : "%zu", s.dim[d]);
    if (k < 0)
      break;
    used += (size_t)k;
  }
}

/* ---------------------------------------------------------------- layers */

zpt_layer *zpt_layer_alloc(const zpt_layer_ops *ops, const char *name,
                           size_t in_size, size_t out_size) {
  if (!ops || !ops->forward) {
    zpt_fail(ZPT_EINVAL, "layer '%s': no operations table (or no forward)",
             name ? name : "(null)");
    return NULL;
  }
  if (!name || !name[0] || strlen(name) >= sizeof(((zpt_layer *)0)->name)) {
    zpt_fail(ZPT_EINVAL, "%s layer name '%s': expected 1..%zu characters", ops->kind,
             name ? name : "(null)", sizeof(((zpt_layer *)0)->name) - 1);
    return NULL;
  }
  if (in_size == 0 || out_size == 0) {
    zpt_fail(ZPT_EINVAL, "%s layer '%s': in_size %zu, out_size %zu: both must be >= 1",
             ops->kind, name, in_size, out_size);
    return NULL;
  }
  zpt_layer *l = zpt_new(zpt_layer, "layer");
  if (!l)
    return NULL;
  l->ops = ops;
  strcpy(l->name, name);
  l->in_size = in_size;
  l->out_size = out_size;
  return l;
}

void zpt_layer_free(zpt_layer *l) {
  if (!l)
    return;
  if (l->ops && l->ops->destroy)
    l->ops->destroy(l);
  zpt_free(l);
}

/* ----------------------------------------------------------------- model */

zpt_model *zpt_model_alloc_shaped(zpt_shape input) {
  size_t size = zpt_shape_size(input);
  if (size == 0) {
    char s[64];
    zpt_shape_str(input, s, sizeof s);
    zpt_fail(ZPT_EINVAL, "model input shape %s: expected rank 1..3 and every dimension >= 1", s);
    return NULL;
  }
  zpt_model *m = zpt_new(zpt_model, "model");
  if (!m)
    return NULL;
  m->params = zpt_params_alloc();
  if (!m->params) {
    zpt_free(m);
    return NULL;
  }
  m->in_shape = input;
  m->input_size = size;
  m->chunk_floats = ZPT_MODEL_CHUNK_FLOATS;
  m->n_threads = 1;
  return m;
}

zpt_model *zpt_model_alloc(size_t input_size) {
  return zpt_model_alloc_shaped(zpt_shape_vec(input_size));
}

void zpt_model_free(zpt_model *m) {
  if (!m)
    return;
  for (size_t k = 0; k < m->n_layers; k++)
    zpt_layer_free(m->layers[k]);
  free(m->layers);
  free(m->shapes);
  free(m->span);
  free(m->fused);
  zpt_params_free(m->params);
  for (int i = 0; i < 2; i++)
    zpt_buffer_release(&m->base_pp[i]);
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++) {
    fwd_ws *w = &m->ws[t];
    zpt_buffer_release(&w->work);
    zpt_buffer_release(&w->act[0]);
    zpt_buffer_release(&w->act[1]);
    zpt_buffer_release(&w->pert);
    zpt_buffer_release(&w->plans);
    for (size_t i = 0; i < w->n_rngs; i++)
      zpt_rng_free(w->rngs[i]);
    free(w->rngs);
  }
  zpt_buffer_release(&m->base_store);
  zpt_buffer_release(&m->base_off);
  zpt_buffer_release(&m->plans);
  zpt_free(m);
}

zpt_params *zpt_model_params(zpt_model *m) { return m ? m->params : NULL; }

size_t zpt_model_n_layers(const zpt_model *m) { return m->n_layers; }

const zpt_layer *zpt_model_layer(const zpt_model *m, size_t k) {
  return k < m->n_layers ? m->layers[k] : NULL;
}

size_t zpt_model_input_size(const zpt_model *m) { return m->input_size; }

zpt_shape zpt_model_input_shape(const zpt_model *m) { return m->in_shape; }

zpt_shape zpt_model_shape(const zpt_model *m) {
  return m->n_layers ? m->shapes[m->n_layers - 1] : m->in_shape;
}

size_t zpt_model_output_size(const zpt_model *m) {
  return m->n_layers ? m->layers[m->n_layers - 1]->out_size : m->input_size;
}

size_t zpt_model_n_params(const zpt_model *m) { return m->params->n_params; }

const zpt_layer *zpt_model_find_layer(const zpt_model *m, const char *name) {
  if (!m || !name)
    return NULL;
  for (size_t k = 0; k < m->n_layers; k++)
    if (strcmp(m->layers[k]->name, name) == 0)
      return m->layers[k];
  return NULL;
}

void zpt_model_set_chunk_floats(zpt_model *m, size_t floats) {
  m->chunk_floats = floats ? floats : 1;
}

zpt_fwd_stats zpt_model_last_stats(const zpt_model *m) {
  zpt_fwd_stats s = {0, 0, 0, 0};
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++) {
    s.layer_calls += m->ws[t].stats.layer_calls;
    s.sample_forwards += m->ws[t].stats.sample_forwards;
    s.chunks += m->ws[t].stats.chunks;
    s.fused_calls += m->ws[t].stats.fused_calls;
  }
  return s;
}

int zpt_model_set_threads(zpt_model *m, size_t n) {
  if (!m || n < 1 || n > ZPT_MODEL_MAX_THREADS)
    return zpt_fail(ZPT_EINVAL, "zpt_model_set_threads: %zu threads: expected 1..%d", n,
                    ZPT_MODEL_MAX_THREADS);
  m->n_threads = n;
  return ZPT_OK;
}

size_t zpt_model_workspace_bytes(const zpt_model *m) {
  size_t b = m->base_store.bytes + m->base_off.bytes + m->plans.bytes;
  for (int i = 0; i < 2; i++)
    b += m->base_pp[i].bytes;
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++) {
    const fwd_ws *w = &m->ws[t];
    b += w->work.bytes + w->act[0].bytes + w->act[1].bytes + w->pert.bytes + w->plans.bytes;
  }
  return b;
}

static void clear_stats(zpt_model *m) {
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++)
    memset(&m->ws[t].stats, 0, sizeof m->ws[t].stats);
}

/* Marks the model unusable after a constructor failed half-way (views may
 * have been registered without their layer). */
void nn_model_mark_broken(zpt_model *m) { m->broken = 1; }

static int check_usable(const zpt_model *m, const char *what) {
  if (m->broken)
    return zpt_fail(ZPT_EINVAL, "%s: the model is unusable: an earlier layer "
                                "constructor failed after registering parameter views", what);
  return ZPT_OK;
}

/* Splits the layers into the steps of a forward: fused runs where a kernel
 * exists (nn_fusion_find) and fusion is on, single layers elsewhere.  A run
 * is only taken when its inner layers have no parameters and no noise: then
 * no variation can diverge inside it (d_v is a perturbed or a stochastic
 * layer), so prefix reuse sees the same boundaries as without fusion. */
static void plan_fusion(zpt_model *m) {
  size_t L = m->n_layers;
  for (size_t k = 0; k < L;) {
    size_t span = 1;
    nn_fused_fn f = m->no_fusion ? NULL
                                 : nn_fusion_find((const zpt_layer *const *)m->layers + k,
                                                  L - k, &span);
    if (f)
      for (size_t i = k + 1; i < k + span; i++)
        if (m->layers[i]->n_params || m->layers[i]->stochastic)
          f = NULL;
    if (!f || span < 2 || span > L - k)
      f = NULL, span = 1;
    m->span[k] = span;
    m->fused[k] = f;
    for (size_t i = k + 1; i < k + span; i++)
      m->span[i] = 0, m->fused[i] = NULL;
    k += span;
  }
}

int zpt_model_set_fusion(zpt_model *m, int on) {
  if (!m)
    return zpt_fail(ZPT_EINVAL, "zpt_model_set_fusion: model is NULL");
  m->no_fusion = !on;
  plan_fusion(m);
  return ZPT_OK;
}

int zpt_model_add_shaped(zpt_model *m, zpt_layer *l, zpt_shape out) {
  if (!m) {
    zpt_layer_free(l);
    return zpt_fail(ZPT_EINVAL, "zpt_model_add: model is NULL");
  }
  if (!l)
    return zpt_fail(ZPT_EINVAL, "zpt_model_add: layer is NULL");
  int rc = check_usable(m, "zpt_model_add");
  size_t cur = zpt_model_output_size(m);
  const zpt_params *p = m->params;
  if (rc != ZPT_OK) {
  } else if (zpt_model_find_layer(m, l->name)) {
    rc = zpt_fail(ZPT_EINVAL, "layer name '%s' used twice in the model", l->name);
  } else if (l->in_size != cur) {
    char s[64];
    zpt_shape_str(zpt_model_shape(m), s, sizeof s);
    rc = zpt_fail(ZPT_EINVAL, "%s layer '%s': in_size %zu, but the model's current output "
                  "has %zu floats (shape %s)", l->ops->kind, l->name, l->in_size, cur, s);
  } else if (zpt_shape_size(out) != l->out_size) {
    char s[64];
    zpt_shape_str(out, s, sizeof s);
    rc = zpt_fail(ZPT_EINVAL, "%s layer '%s': out_size %zu does not match its shape %s",
                  l->ops->kind, l->name, l->out_size, s);
  } else if (l->param_offset != m->param_end ||
             l->param_offset + l->n_params != p->n_params) {
    rc = zpt_fail(ZPT_EINVAL, "%s layer '%s': parameter range [%zu, %zu), but the views "
                  "registered since the previous layer cover [%zu, %zu)",
                  l->ops->kind, l->name, l->param_offset, l->param_offset + l->n_params,
                  m->param_end, p->n_params);
  } else if (m->n_layers == m->cap_layers) {
    size_t cap = m->cap_layers ? 2 * m->cap_layers : 8;
    zpt_layer **ls = realloc(m->layers, cap * sizeof *ls);
    if (ls)
      m->layers = ls;
    zpt_shape *ss = ls ? realloc(m->shapes, cap * sizeof *ss) : NULL;
    if (ss)
      m->shapes = ss;
    size_t *sp = ss ? realloc(m->span, cap * sizeof *sp) : NULL;
    if (sp)
      m->span = sp;
    nn_fused_fn *fu = sp ? realloc(m->fused, cap * sizeof *fu) : NULL;
    if (fu)
      m->fused = fu;
    if (!ls || !ss || !sp || !fu)
      rc = zpt_fail(ZPT_ENOMEM, "out of memory adding layer '%s'", l->name);
    else
      m->cap_layers = cap;
  }
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  m->layers[m->n_layers] = l;
  m->shapes[m->n_layers] = out;
  m->n_layers++;
  m->param_end = l->param_offset + l->n_params;
  plan_fusion(m);
  return ZPT_OK;
}

int zpt_model_add(zpt_model *m, zpt_layer *l) {
  if (!m || !l)
    return zpt_model_add_shaped(m, l, zpt_shape_vec(1));
  zpt_shape out = l->out_size == zpt_model_output_size(m) ? zpt_model_shape(m)
                                                           : zpt_shape_vec(l->out_size);
  return zpt_model_add_shaped(m, l, out);
}

int zpt_model_reshape(zpt_model *m, zpt_shape s) {
  if (!m)
    return zpt_fail(ZPT_EINVAL, "zpt_model_reshape: model is NULL");
  size_t size = zpt_shape_size(s);
  if (size != zpt_model_output_size(m)) {
    char a[64], b[64];
    zpt_shape_str(s, a, sizeof a);
    zpt_shape_str(zpt_model_shape(m), b, sizeof b);
    return zpt_fail(ZPT_EINVAL, "reshape to %s (%zu floats): the current shape %s has %zu floats",
                    a, size, b, zpt_model_output_size(m));
  }
  if (m->n_layers)
    m->shapes[m->n_layers - 1] = s;
  else
    m->in_shape = s;
  return ZPT_OK;
}

int zpt_model_flatten(zpt_model *m) {
  if (!m)
    return zpt_fail(ZPT_EINVAL, "zpt_model_flatten: model is NULL");
  return zpt_model_reshape(m, zpt_shape_vec(zpt_model_output_size(m)));
}

void zpt_model_init(zpt_model *m, uint64_t seed) {
  /* A stack stream: initialisation must not fail for want of memory. */
  uint64_t state[ZPT_RNG_STATE_WORDS];
  gsl_rng r = {zpt_rng_xoshiro, state};
  for (size_t k = 0; k < m->n_layers; k++) {
    zpt_layer *l = m->layers[k];
    if (!l->ops->init || l->n_params == 0)
      continue;
    zpt_rng_derive(&r, seed, ZPT_STREAM_INIT, k, 0);
    l->ops->init(l, m->params->theta + l->param_offset, &r);
  }
}

double zpt_model_flops(const zpt_model *m) {
  double f = 0;
  for (size_t k = 0; k < m->n_layers; k++)
    if (m->layers[k]->ops->flops)
      f += m->layers[k]->ops->flops(m->layers[k]);
  return f;
}

/* ---------------------------------------------------------------- forward */

/* Floats per sample written by the step starting at layer k. */
static size_t step_out_size(const zpt_model *m, size_t k) {
  return m->layers[k + m->span[k] - 1]->out_size;
}

/* The widest activation a forward writes: the input and the output of
 * every step (the inner activations of a fused run are never written). */
static size_t widest_activation(const zpt_model *m) {
  size_t w = m->input_size;
  for (size_t k = 0; k < m->n_layers; k += m->span[k])
    if (step_out_size(m, k) > w)
      w = step_out_size(m, k);
  return w;
}

static int check_ready(const zpt_model *m, const char *what) {
  ZPT_TRY(check_usable(m, what));
  if (m->n_layers == 0)
    return zpt_fail(ZPT_EINVAL, "%s: the model has no layers", what);
  if (m->param_end != m->params->n_params)
    return zpt_fail(ZPT_EINVAL, "%s: parameter views [%zu, %zu) were registered after the "
                    "last layer and belong to no layer", what, m->param_end,
                    m->params->n_params);
  return ZPT_OK;
}

/* Reserves n floats in buf; the size product is overflow-checked. */
static int reserve_floats(zpt_buffer *buf, size_t a, size_t b, const char *what) {
  size_t n, bytes;
  if (zpt_mul_size(a, b, &n) != ZPT_OK || zpt_mul_size(n, sizeof(float), &bytes) != ZPT_OK)
    return zpt_fail(ZPT_ERANGE, "workspace for %s: %zu x %zu floats overflows", what, a, b);
  return zpt_buffer_reserve(buf, bytes, what);
}

/* Runs the step starting at layer k (one layer, or a fused run of span[k]
 * layers) with that layer's parameters. */
static int run_step(const zpt_model *m, fwd_ws *w, size_t k, const float *params,
                    const float *in, float *out, size_t n, gsl_rng *noise) {
  const zpt_layer *l = m->layers[k];
  size_t span = m->span[k];
  zpt_fwd_ctx ctx = {noise, &w->work};
  w->stats.layer_calls += span;
  w->stats.sample_forwards += span * n;
  if (span > 1) {
    w->stats.fused_calls++;
    int rc = m->fused[k]((const zpt_layer *const *)m->layers + k, params, in, out, n, &ctx);
    if (rc != ZPT_OK)
      return zpt_fail_context(rc, "layers '%s'..'%s' (fused): ", l->name,
                              m->layers[k + span - 1]->name);
    return ZPT_OK;
  }
  int rc = l->ops->forward(l, params, in, out, n, &ctx);
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "%s layer '%s': ", l->ops->kind, l->name);
  return ZPT_OK;
}

int zpt_model_forward(zpt_model *m, const float *theta, const float *in,
                      size_t n, float *out, gsl_rng *noise) {
  static const float no_params[1] = {0};
  if (m && !theta && m->params->n_params == 0)
    theta = no_params; /* a model without parameters needs no theta */
  if (!m || !theta || !in || !out)
    return zpt_fail(ZPT_EINVAL, "zpt_model_forward: NULL %s",
                    !m ? "model" : !theta ? "theta" : !in ? "input" : "output");
  ZPT_TRY(check_ready(m, "zpt_model_forward"));
  if (n == 0)
    return zpt_fail(ZPT_EINVAL, "zpt_model_forward: batch of 0 samples");
  size_t wide = widest_activation(m);
  ZPT_TRY(reserve_floats(&m->base_pp[0], n, wide, "activations"));
  ZPT_TRY(reserve_floats(&m->base_pp[1], n, wide, "activations"));
  clear_stats(m);
  const float *src = in;
  int pp = 0; /* ping-pong: a step never writes the buffer it reads */
  for (size_t k = 0; k < m->n_layers; k += m->span[k]) {
    const zpt_layer *l = m->layers[k];
    float *dst = k + m->span[k] == m->n_layers ? out : m->base_pp[pp].data;
    ZPT_TRY(run_step(m, &m->ws[0], k, theta + l->param_offset, src, dst, n, noise));
    src = dst;
    pp ^= 1;
  }
  return ZPT_OK;
}

/* ------------------------------------------------ batched variations */

static int plan_cmp(const void *a, const void *b) {
  const var_plan *x = a, *y = b;
  if (x->diverge != y->diverge)
    return x->diverge < y->diverge ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* In-place heap sort of the plans (glibc's qsort may allocate; the key
 * includes the index, so stability does not matter). */
static void sift_down(var_plan *a, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && plan_cmp(&a[child], &a[child + 1]) < 0)
      child++;
    if (plan_cmp(&a[root], &a[child]) >= 0)
      return;
    var_plan t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

static void sort_plans(var_plan *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;)
    sift_down(a, i, n);
  for (size_t end = n; end-- > 1;) {
    var_plan t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

/* Does variation v give layer l a private (perturbed) parameter slice? */
static int perturbs(const zpt_variation *v, const zpt_layer *l) {
  return l->n_params > 0 && v->len > 0 && v->offset < l->param_offset + l->n_params &&
         l->param_offset < v->offset + v->len;
}

/* Writes layer l's parameters under variation v into dst. */
static void perturbed_slice(const zpt_layer *l, const float *theta,
                            const zpt_variation *v, float *dst) {
  size_t lo = l->param_offset, hi = lo + l->n_params;
  memcpy(dst, theta + lo, l->n_params * sizeof *dst);
  size_t a = v->offset > lo ? v->offset : lo;
  size_t b = v->offset + v->len < hi ? v->offset + v->len : hi;
  const float *d = v->delta + (a - v->offset);
  float s = v->scale;
  float *t = dst + (a - lo);
  for (size_t i = 0; i < b - a; i++)
    t[i] += s * d[i];
}

static int validate_vars(const zpt_model *m, const zpt_variation *vars, size_t n_vars) {
  size_t N = m->params->n_params;
  for (size_t v = 0; v < n_vars; v++) {
    const zpt_variation *x = &vars[v];
    if (x->len == 0)
      continue;
    if (x->offset > N || x->len > N - x->offset)
      return zpt_fail(ZPT_ERANGE, "variation %zu: range [%zu, %zu + %zu) exceeds the model's "
                      "%zu parameters", v, x->offset, x->offset, x->len, N);
    if (!x->delta)
      return zpt_fail(ZPT_EINVAL, "variation %zu: delta is NULL but len is %zu", v, x->len);
  }
  return ZPT_OK;
}

static int ensure_rngs(fwd_ws *m, size_t count) {
  if (count <= m->n_rngs)
    return ZPT_OK;
  gsl_rng **r = realloc(m->rngs, count * sizeof *r);
  if (!r)
    return zpt_fail(ZPT_ENOMEM, "out of memory for %zu noise streams", count);
  m->rngs = r;
  while (m->n_rngs < count) {
    r[m->n_rngs] = zpt_rng_alloc(0, ZPT_STREAM_NOISE, 0, 0);
    if (!r[m->n_rngs])
      return ZPT_ENOMEM;
    m->n_rngs++;
  }
  return ZPT_OK;
}

/* Base activations (unperturbed theta, no noise) at every layer boundary
 * some variation diverges at; boundary 0 is the input itself. */
static int base_pass(zpt_model *m, const float *theta, const float *in, size_t n,
                     const var_plan *plans, size_t n_vars, size_t **offsets) {
  size_t L = m->n_layers;
  ZPT_TRY(zpt_buffer_reserve(&m->base_off, (L + 1) * sizeof(size_t), "boundary offsets"));
  size_t *off = m->base_off.data;
  const size_t none = SIZE_MAX;
  for (size_t k = 0; k <= L; k++)
    off[k] = none;
  size_t deepest = 0;
  for (size_t v = 0; v < n_vars; v++) {
    off[plans[v].diverge] = 0;
    if (plans[v].diverge > deepest)
      deepest = plans[v].diverge;
  }
  size_t total = 0;
  for (size_t k = 1; k <= deepest; k++)
    if (off[k] != none) {
      off[k] = total;
      total += m->layers[k - 1]->out_size; /* per sample; scaled below */
    }
  ZPT_TRY(reserve_floats(&m->base_store, n, total ? total : 1, "base activations"));
  size_t wide = widest_activation(m);
  ZPT_TRY(reserve_floats(&m->base_pp[0], n, wide, "base activations"));
  ZPT_TRY(reserve_floats(&m->base_pp[1], n, wide, "base activations"));
  float *store = m->base_store.data;
  const float *src = in;
  int pp = 0;
  for (size_t k = 0; k < deepest; k += m->span[k]) {
    const zpt_layer *l = m->layers[k];
    size_t end = k + m->span[k];
    float *dst = off[end] != none ? store + n * off[end] : m->base_pp[pp].data;
    ZPT_TRY(run_step(m, &m->ws[0], k, theta + l->param_offset, src, dst, n, NULL));
    src = dst;
    pp ^= 1;
  }
  *offsets = off;
  return ZPT_OK;
}

static const float *base_at(const zpt_model *m, const size_t *off, size_t k,
                            const float *in, size_t n) {
  return k == 0 ? in : (const float *)m->base_store.data + n * off[k];
}

/* Runs the variations plans[0..count) (sorted by divergence layer) from
 * their divergence layer to the output. */
static int run_chunk(zpt_model *m, fwd_ws *w, const float *theta, const zpt_variation *vars,
                     const var_plan *plans, size_t count, const float *in, size_t n,
                     const size_t *off, float *out, uint64_t noise_seed,
                     uint64_t first_query) {
  size_t L = m->n_layers;
  size_t out_size = zpt_model_output_size(m);
  int noisy = noise_seed != 0;
  if (noisy) {
    ZPT_TRY(ensure_rngs(w, count));
    for (size_t i = 0; i < count; i++)
      zpt_rng_derive(w->rngs[i], noise_seed, ZPT_STREAM_NOISE,
                     first_query + plans[i].index, 0);
  }
  float *act_in = w->act[0].data, *act_out = w->act[1].data;
  float *pert = w->pert.data;
  for (size_t k = plans[0].diverge; k < L; k += m->span[k]) {
    const zpt_layer *l = m->layers[k];
    const float *base_params = theta + l->param_offset;
    size_t isz = l->in_size, osz = step_out_size(m, k);
    size_t i = 0;
    while (i < count && plans[i].diverge <= k) {
      const var_plan *p = &plans[i];
      const zpt_variation *v = &vars[p->index];
      int priv = perturbs(v, l);
      /* One call per variation, never one over several variations' samples:
       * a layer's arithmetic may depend on its row count (OpenBLAS picks
       * kernels by size; MZI meshes pick their route by n), so merging would
       * make a variation's output depend on which others share the call,
       * the thread count and, under zoptic-mpi, the number of ranks
       * (docs/distributed.md, "Bit-identical for every R"). */
      const float *params = base_params;
      if (priv) {
        perturbed_slice(l, theta, v, pert);
        params = pert;
      }
      const float *src = p->diverge == k ? base_at(m, off, k, in, n) : act_in + i * n * isz;
      ZPT_TRY(run_step(m, w, k, params, src, act_out + i * n * osz, n,
                       noisy ? w->rngs[i] : NULL));
      i++;
    }
    float *t = act_in;
    act_in = act_out;
    act_out = t;
  }
  size_t per_var = n * out_size;
  for (size_t i = 0; i < count; i++) {
    const float *src = plans[i].diverge == L ? base_at(m, off, L, in, n) : act_in + i * per_var;
    memcpy(out + plans[i].index * per_var, src, per_var * sizeof *out);
  }
  return ZPT_OK;
}

/* One thread's share of a batched call: its plans, in chunks. */
typedef struct {
  zpt_model *m;
  fwd_ws *w;
  const float *theta;
  const zpt_variation *vars;
  const var_plan *plans;
  size_t count, chunk;
  const float *in;
  size_t n;
  const size_t *off;
  float *out;
  uint64_t noise_seed, first_query;
  int rc;
  char msg[256]; /* the error message (messages are per thread) */
} fwd_job;

static void *fwd_worker(void *arg) {
  fwd_job *j = arg;
  for (size_t start = 0; start < j->count && j->rc == ZPT_OK; start += j->chunk) {
    size_t count = j->count - start < j->chunk ? j->count - start : j->chunk;
    j->w->stats.chunks++;
    j->rc = run_chunk(j->m, j->w, j->theta, j->vars, j->plans + start, count, j->in, j->n,
                      j->off, j->out, j->noise_seed, j->first_query);
  }
  if (j->rc != ZPT_OK)
    snprintf(j->msg, sizeof j->msg, "%s", zpt_error_message());
  return NULL;
}

int zpt_model_forward_variations(zpt_model *m, const float *theta,
                                 const zpt_variation *vars, size_t n_vars,
                                 const float *in, size_t n, float *out,
                                 uint64_t noise_seed, uint64_t first_query) {
  const char *fn = "zpt_model_forward_variations";
  static const float no_params[1] = {0};
  if (m && !theta && m->params->n_params == 0)
    theta = no_params;
  if (!m || !theta || !vars || !in || !out)
    return zpt_fail(ZPT_EINVAL, "%s: NULL %s", fn,
                    !m ? "model" : !theta ? "theta" : !vars ? "variations"
                    : !in ? "input" : "output");
  ZPT_TRY(check_ready(m, fn));
  if (n == 0 || n_vars == 0)
    return zpt_fail(ZPT_EINVAL, "%s: %zu variations of %zu samples: both must be >= 1", fn,
                    n_vars, n);
  ZPT_TRY(validate_vars(m, vars, n_vars));
  clear_stats(m);
  size_t L = m->n_layers;

  /* plan: where each variation stops sharing the base activations */
  size_t stoch = L;
  if (noise_seed != 0)
    for (size_t k = 0; k < L && stoch == L; k++)
      if (m->layers[k]->stochastic)
        stoch = k;
  ZPT_TRY(zpt_buffer_reserve(&m->plans, n_vars * sizeof(var_plan), "variation plans"));
  var_plan *plans = m->plans.data;
  for (size_t v = 0; v < n_vars; v++) {
    var_plan *p = &plans[v];
    p->index = v;
    p->first = L;
    p->end = L;
    for (size_t k = 0; k < L; k++)
      if (perturbs(&vars[v], m->layers[k])) {
        if (p->first == L)
          p->first = k;
        p->end = k + 1;
      }
    p->diverge = p->first < stoch ? p->first : stoch;
  }
  sort_plans(plans, n_vars);

  size_t *off;
  ZPT_TRY(base_pass(m, theta, in, n, plans, n_vars, &off));

  /* chunks of variations bounded by the activation workspace */
  size_t wide = widest_activation(m);
  size_t per_var = n * wide; /* cannot overflow: base_pass reserved n x wide */
  size_t chunk = m->chunk_floats / per_var;
  if (chunk < 1)
    chunk = 1;
  if (chunk > n_vars)
    chunk = n_vars;
  size_t max_params = 1;
  for (size_t k = 0; k < L; k++)
    if (m->layers[k]->n_params > max_params)
      max_params = m->layers[k]->n_params;
  /* threads: thread t takes plans t, t + T, t + 2T, ... (each share stays
   * sorted, and early-diverging, costly variations are spread evenly) */
  size_t T = m->n_threads < n_vars ? m->n_threads : n_vars;
  if (T > 1 && plans[0].diverge == L)
    T = 1; /* nothing left to compute after the base pass */
  size_t t_chunk = T > 1 ? (chunk + T - 1) / T : chunk;
  fwd_job jobs[ZPT_MODEL_MAX_THREADS];
  for (size_t t = 0; t < T; t++) {
    fwd_ws *w = &m->ws[t];
    size_t share = (n_vars - t + T - 1) / T;
    size_t c = t_chunk < share ? t_chunk : share;
    ZPT_TRY(reserve_floats(&w->pert, max_params, 1, "perturbed parameter slice"));
    if (plans[0].diverge < L) { /* someone needs per-variation activations */
      ZPT_TRY(reserve_floats(&w->act[0], c, per_var, "variation activations"));
      ZPT_TRY(reserve_floats(&w->act[1], c, per_var, "variation activations"));
    }
    const var_plan *mine = plans;
    if (T > 1) {
      ZPT_TRY(zpt_buffer_reserve(&w->plans, share * sizeof(var_plan), "variation plans"));
      var_plan *dst = w->plans.data;
      for (size_t k = 0; k < share; k++)
        dst[k] = plans[t + k * T];
      mine = dst;
    }
    jobs[t] = (fwd_job){m, w, theta, vars, mine, share, c, in, n, off, out,
                        noise_seed, first_query, ZPT_OK, ""};
  }
  pthread_t tid[ZPT_MODEL_MAX_THREADS];
  size_t started = 1;
  for (size_t t = 1; t < T; t++, started++)
    if (pthread_create(&tid[t], NULL, fwd_worker, &jobs[t]) != 0) {
      fwd_worker(&jobs[t]); /* no thread: run it here */
      break;
    }
  fwd_worker(&jobs[0]);
  for (size_t t = 1; t < started; t++)
    pthread_join(tid[t], NULL);
  for (size_t t = started + 1; t < T; t++)
    fwd_worker(&jobs[t]);
  for (size_t t = 0; t < T; t++)
    if (jobs[t].rc != ZPT_OK)
      return t == 0 ? jobs[t].rc : zpt_fail(jobs[t].rc, "%s", jobs[t].msg);
  return ZPT_OK;
}
