/* The model: an ordered stack of layers over one flat theta, a tracked
 * per-sample activation shape, and the batched evaluation of parameter
 * variations with prefix reuse (see docs/layers.md, "Batched variations"). */
#include "nn/model.h"
#include "nn/model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/nn_internal.h"

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
  m->group = 1;
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
  zpt_buffer_release(&m->pc_theta);
  zpt_buffer_release(&m->pc_in);
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

int zpt_model_set_group(zpt_model *m, size_t g) {
  if (!m || g < 1 || g > ZPT_MODEL_GROUP_MAX)
    return zpt_fail(ZPT_EINVAL, "zpt_model_set_group: %zu variations per group: expected "
                    "1..%d", g, ZPT_MODEL_GROUP_MAX);
  m->group = g;
  return ZPT_OK;
}

zpt_fwd_stats zpt_model_last_stats(const zpt_model *m) {
  zpt_fwd_stats s = {0, 0, 0, 0, 0};
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++) {
    s.layer_calls += m->ws[t].stats.layer_calls;
    s.sample_forwards += m->ws[t].stats.sample_forwards;
    s.chunks += m->ws[t].stats.chunks;
    s.fused_calls += m->ws[t].stats.fused_calls;
    s.prefix_hits += m->ws[t].stats.prefix_hits;
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
  size_t b = m->base_store.bytes + m->base_off.bytes + m->plans.bytes + m->pc_theta.bytes +
             m->pc_in.bytes;
  for (int i = 0; i < 2; i++)
    b += m->base_pp[i].bytes;
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++) {
    const fwd_ws *w = &m->ws[t];
    b += w->work.bytes + w->act[0].bytes + w->act[1].bytes + w->pert.bytes + w->plans.bytes;
  }
  return b;
}

void nn_model_clear_stats(zpt_model *m) {
  for (size_t t = 0; t < ZPT_MODEL_MAX_THREADS; t++)
    memset(&m->ws[t].stats, 0, sizeof m->ws[t].stats);
}

/* Marks the model unusable after a constructor failed half-way (views may
 * have been registered without their layer). */
void nn_model_mark_broken(zpt_model *m) { m->broken = 1; }

int nn_model_check_usable(const zpt_model *m, const char *what) {
  if (m->broken)
    return zpt_fail(ZPT_EINVAL, "%s: the model is unusable: an earlier layer "
                                "constructor failed after registering parameter views", what);
  return ZPT_OK;
}

/* Splits the layers into the steps of a forward: fused runs where a kernel
 * exists (the first layer's ops->fuse hook) and fusion is on, single layers
 * elsewhere.  A run
 * is only taken when its inner layers have no parameters and no noise: then
 * no variation can diverge inside it (d_v is a perturbed or a stochastic
 * layer), so prefix reuse sees the same boundaries as without fusion. */
static void plan_fusion(zpt_model *m) {
  size_t L = m->n_layers;
  for (size_t k = 0; k < L;) {
    size_t span = 1;
    const zpt_layer_ops *ops = m->layers[k]->ops;
    zpt_fused_fn f = m->no_fusion || !ops->fuse
                         ? NULL
                         : ops->fuse((const zpt_layer *const *)m->layers + k, L - k, &span);
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

void zpt_model_forget_prefix(zpt_model *m) {
  if (m)
    m->pc_valid = 0;
}

int zpt_model_set_fusion(zpt_model *m, int on) {
  if (!m)
    return zpt_fail(ZPT_EINVAL, "zpt_model_set_fusion: model is NULL");
  m->no_fusion = !on;
  m->pc_valid = 0;
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
  int rc = nn_model_check_usable(m, "zpt_model_add");
  m->pc_valid = 0;
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
    zpt_fused_fn *fu = sp ? realloc(m->fused, cap * sizeof *fu) : NULL;
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
