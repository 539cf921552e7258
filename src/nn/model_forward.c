/* The model's forward pass and the batched evaluation of parameter
 * variations with prefix reuse (see docs/layers.md, "Batched variations");
 * building a model is in model.c. */
#include "nn/model.h"
#include "nn/model_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/nn_internal.h"

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
  ZPT_TRY(nn_model_check_usable(m, what));
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
  nn_model_clear_stats(m);
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

/* The parameters the activations at boundary k depend on: theta[0, end). */
static size_t prefix_params(const zpt_model *m, size_t k) {
  size_t end = 0;
  for (size_t i = 0; i < k; i++)
    if (m->layers[i]->param_offset + m->layers[i]->n_params > end)
      end = m->layers[i]->param_offset + m->layers[i]->n_params;
  return end;
}

/* Prefix cache: does the last base pass hold every boundary these plans
 * need, computed from the same n inputs and the same parameters (compared
 * bit for bit with the copies kept)?  Then the base pass is skipped: the
 * Jacobian queries of a Fisher update (n_b + 1 queries of one block, in
 * calls of Q + 1) share one prefix.  The activations are those the pass
 * would compute (same steps, same n): outputs do not change. */
static int prefix_cached(const zpt_model *m, const float *theta, const float *in, size_t n,
                         const var_plan *plans, size_t n_vars, size_t deepest) {
  const size_t *off = m->base_off.data;
  if (!m->pc_valid || m->pc_n != n || deepest > m->pc_deepest)
    return 0;
  for (size_t v = 0; v < n_vars; v++)
    if (plans[v].diverge > 0 && off[plans[v].diverge] == SIZE_MAX)
      return 0;
  size_t plen = prefix_params(m, deepest);
  return !memcmp(theta, m->pc_theta.data, plen * sizeof *theta) &&
         !memcmp(in, m->pc_in.data, n * m->input_size * sizeof *in);
}

/* Keeps copies of what the base pass just computed from, when the call
 * looks like a Jacobian call: every variation that diverges at all diverges
 * at one layer (the trainer's own iterations perturb a block per query, at
 * many layers, and would pay the copies for nothing).  Whether it keeps
 * them changes no output. */
static int prefix_keep(zpt_model *m, const float *theta, const float *in, size_t n,
                       const var_plan *plans, size_t n_vars, size_t deepest) {
  m->pc_valid = 0;
  size_t L = m->n_layers, d = L;
  for (size_t v = 0; v < n_vars; v++)
    if (plans[v].diverge < L) {
      if (d < L && plans[v].diverge != d)
        return ZPT_OK;
      d = plans[v].diverge;
    }
  if (deepest == 0 || d == 0 || d == L)
    return ZPT_OK; /* nothing computed, or nothing a next call would reuse */
  size_t plen = prefix_params(m, deepest);
  ZPT_TRY(reserve_floats(&m->pc_theta, plen ? plen : 1, 1, "prefix cache"));
  ZPT_TRY(reserve_floats(&m->pc_in, n, m->input_size, "prefix cache"));
  memcpy(m->pc_theta.data, theta, plen * sizeof *theta);
  memcpy(m->pc_in.data, in, n * m->input_size * sizeof *in);
  m->pc_n = n;
  m->pc_deepest = deepest;
  m->pc_valid = 1;
  return ZPT_OK;
}

/* Base activations (unperturbed theta, no noise) at every layer boundary
 * some variation diverges at; boundary 0 is the input itself. */
static int base_pass(zpt_model *m, const float *theta, const float *in, size_t n,
                     const var_plan *plans, size_t n_vars, size_t **offsets) {
  size_t L = m->n_layers;
  ZPT_TRY(zpt_buffer_reserve(&m->base_off, (L + 1) * sizeof(size_t), "boundary offsets"));
  size_t *off = m->base_off.data;
  size_t deepest = 0;
  for (size_t v = 0; v < n_vars; v++)
    if (plans[v].diverge > deepest)
      deepest = plans[v].diverge;
  *offsets = off;
  if (prefix_cached(m, theta, in, n, plans, n_vars, deepest)) {
    m->ws[0].stats.prefix_hits++;
    return ZPT_OK;
  }
  m->pc_valid = 0;
  const size_t none = SIZE_MAX;
  for (size_t k = 0; k <= L; k++)
    off[k] = none;
  for (size_t v = 0; v < n_vars; v++)
    off[plans[v].diverge] = 0;
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
  return prefix_keep(m, theta, in, n, plans, n_vars, deepest);
}

static const float *base_at(const zpt_model *m, const size_t *off, size_t k,
                            const float *in, size_t n) {
  return k == 0 ? in : (const float *)m->base_store.data + n * off[k];
}

/* The group of the plan's query q (docs: zpt_model_forward_variations). */
static uint64_t group_of(const var_plan *p, size_t G) { return p->query / G; }

/* One past the last of the plans [start, count) that lie in at most
 * `groups` groups (plans are in query order, so a group is a run). */
static size_t groups_end(const var_plan *plans, size_t start, size_t count, size_t groups,
                         size_t G) {
  size_t i = start, seen = 0;
  while (i < count) {
    uint64_t g = group_of(&plans[i], G);
    if (++seen > groups)
      break;
    while (i < count && group_of(&plans[i], G) == g)
      i++;
  }
  return i;
}

/* The merged call of layer step k for the group whose places start at
 * slot gs, members plans[i..j): those that diverged before k and use the
 * base parameters there.  Places holding no activation of this step
 * (absent variations, members not diverged yet) are zeroed first: their
 * outputs are dropped, and zeros keep them finite and deterministic. */
static int run_group(const zpt_model *m, fwd_ws *w, size_t k, const float *params,
                     const zpt_variation *vars, const var_plan *plans, size_t i, size_t j,
                     size_t gs, size_t G, float *act_in, float *act_out, size_t n) {
  const zpt_layer *l = m->layers[k];
  size_t merge = 0;
  uint64_t valid = 0; /* places with this step's input (G <= 64) */
  for (size_t u = i; u < j; u++)
    if (plans[u].diverge < k) {
      valid |= (uint64_t)1 << (plans[u].slot - gs);
      merge += !perturbs(&vars[plans[u].index], l);
    }
  if (!merge)
    return ZPT_OK;
  size_t isz = l->in_size;
  for (size_t s = 0; s < G; s++)
    if (!(valid >> s & 1))
      memset(act_in + (gs + s) * n * isz, 0, n * isz * sizeof *act_in);
  return run_step(m, w, k, params, act_in + gs * n * isz, act_out + gs * n * step_out_size(m, k),
                  G * n, NULL);
}

/* Runs the variations plans[0..count) (in query order, whole groups) from
 * their divergence layer to the output. */
static int run_chunk(zpt_model *m, fwd_ws *w, const float *theta, const zpt_variation *vars,
                     var_plan *plans, size_t count, const float *in, size_t n,
                     const size_t *off, float *out, uint64_t noise_seed, size_t G) {
  size_t L = m->n_layers;
  size_t out_size = zpt_model_output_size(m);
  int noisy = noise_seed != 0;
  if (noisy) {
    ZPT_TRY(ensure_rngs(w, count));
    for (size_t i = 0; i < count; i++)
      zpt_rng_derive(w->rngs[i], noise_seed, ZPT_STREAM_NOISE, plans[i].query, 0);
  }
  /* places: the chunk's g-th group holds places g G .. g G + G - 1 */
  size_t start = L, ord = 0;
  for (size_t i = 0; i < count; i++) {
    if (i > 0 && group_of(&plans[i], G) != group_of(&plans[i - 1], G))
      ord++;
    plans[i].slot = ord * G + (size_t)(plans[i].query % G);
    if (plans[i].diverge < start)
      start = plans[i].diverge;
  }
  float *act_in = w->act[0].data, *act_out = w->act[1].data;
  float *pert = w->pert.data;
  for (size_t k = start; k < L; k += m->span[k]) {
    const zpt_layer *l = m->layers[k];
    const float *base_params = theta + l->param_offset;
    int stoch = noisy && l->stochastic; /* every variation draws its own noise */
    size_t isz = l->in_size, osz = step_out_size(m, k);
    for (size_t i = 0, j; i < count; i = j) {
      size_t gs = plans[i].slot - plans[i].slot % G;
      for (j = i + 1; j < count && plans[j].slot - plans[j].slot % G == gs; j++)
        ;
      if (!stoch)
        ZPT_TRY(run_group(m, w, k, base_params, vars, plans, i, j, gs, G, act_in, act_out, n));
      /* the members that run alone: diverging here, perturbing this layer
       * or drawing noise */
      for (size_t u = i; u < j; u++) {
        const var_plan *p = &plans[u];
        const zpt_variation *v = &vars[p->index];
        int priv = perturbs(v, l);
        if (p->diverge > k || (p->diverge < k && !priv && !stoch))
          continue;
        const float *params = base_params;
        if (priv) {
          perturbed_slice(l, theta, v, pert);
          params = pert;
        }
        const float *src =
            p->diverge == k ? base_at(m, off, k, in, n) : act_in + p->slot * n * isz;
        ZPT_TRY(run_step(m, w, k, params, src, act_out + p->slot * n * osz, n,
                         noisy ? w->rngs[u] : NULL));
      }
    }
    float *t = act_in;
    act_in = act_out;
    act_out = t;
  }
  size_t per_var = n * out_size;
  for (size_t i = 0; i < count; i++) {
    const float *src =
        plans[i].diverge == L ? base_at(m, off, L, in, n) : act_in + plans[i].slot * per_var;
    memcpy(out + plans[i].index * per_var, src, per_var * sizeof *out);
  }
  return ZPT_OK;
}

/* One thread's share of a batched call: its plans (whole groups), in
 * chunks of at most `chunk` groups. */
typedef struct {
  zpt_model *m;
  fwd_ws *w;
  const float *theta;
  const zpt_variation *vars;
  var_plan *plans;
  size_t count, chunk, group;
  const float *in;
  size_t n;
  const size_t *off;
  float *out;
  uint64_t noise_seed;
  int rc;
  char msg[256]; /* the error message (messages are per thread) */
} fwd_job;

static void *fwd_worker(void *arg) {
  fwd_job *j = arg;
  for (size_t start = 0, end; start < j->count && j->rc == ZPT_OK; start = end) {
    end = groups_end(j->plans, start, j->count, j->chunk, j->group);
    j->w->stats.chunks++;
    j->rc = run_chunk(j->m, j->w, j->theta, j->vars, j->plans + start, end - start, j->in,
                      j->n, j->off, j->out, j->noise_seed, j->group);
  }
  if (j->rc != ZPT_OK)
    snprintf(j->msg, sizeof j->msg, "%s", zpt_error_message());
  return NULL;
}

/* The plans of a call, in query order: where each variation stops sharing
 * the base activations (its first perturbed layer, or the first stochastic
 * one when the call has read-out noise).  *first_diverge: the smallest. */
static int plan_variations(zpt_model *m, const zpt_variation *vars, size_t n_vars,
                           uint64_t noise_seed, uint64_t first_query,
                           const uint64_t *queries, var_plan **out, size_t *first_diverge) {
  size_t L = m->n_layers;
  size_t stoch = L;
  if (noise_seed != 0)
    for (size_t k = 0; k < L && stoch == L; k++)
      if (m->layers[k]->stochastic)
        stoch = k;
  ZPT_TRY(zpt_buffer_reserve(&m->plans, n_vars * sizeof(var_plan), "variation plans"));
  var_plan *plans = m->plans.data;
  *first_diverge = L;
  for (size_t v = 0; v < n_vars; v++) {
    var_plan *p = &plans[v];
    p->index = v;
    p->query = queries ? queries[v] : first_query + v;
    p->first = L;
    p->end = L;
    for (size_t k = 0; k < L; k++)
      if (perturbs(&vars[v], m->layers[k])) {
        if (p->first == L)
          p->first = k;
        p->end = k + 1;
      }
    p->diverge = p->first < stoch ? p->first : stoch;
    if (p->diverge < *first_diverge)
      *first_diverge = p->diverge;
  }
  *out = plans;
  return ZPT_OK;
}

/* Threads for a call of `groups` groups: at most one per group and one per
 * ~2e7 flops (below that, starting and joining a thread costs more than it
 * saves: the equalizer, 3,308 flops per sample, ran 21 variations of 100
 * samples at half the one-thread speed on two threads, issue #18).
 * Outputs do not depend on the thread count. */
static size_t thread_count(const zpt_model *m, size_t groups, size_t n, size_t n_vars) {
  size_t T = m->n_threads < groups ? m->n_threads : groups;
  double work = zpt_model_flops(m) * (double)n * (double)n_vars;
  if (T > 1 && work < 2e7 * (double)T)
    T = work < 4e7 ? 1 : (size_t)(work / 2e7);
  return T;
}

/* Deals the groups of the call round-robin to T threads (thread t: groups
 * t, t + T, ...; costly early-diverging groups spread evenly) and sizes
 * their workspaces. */
static int make_jobs(zpt_model *m, fwd_job *jobs, size_t T, const fwd_job *tmpl,
                     var_plan *plans, size_t n_vars, size_t groups, size_t chunk,
                     size_t per_var, int need_act) {
  size_t G = tmpl->group, max_params = 1;
  for (size_t k = 0; k < m->n_layers; k++)
    if (m->layers[k]->n_params > max_params)
      max_params = m->layers[k]->n_params;
  size_t t_chunk = T > 1 ? (chunk + T - 1) / T : chunk; /* the bound is shared */
  uint64_t g0 = group_of(&plans[0], G);
  for (size_t t = 0; t < T; t++) {
    fwd_ws *w = &m->ws[t];
    size_t share = (groups - t + T - 1) / T;
    size_t c = t_chunk < share ? t_chunk : share;
    ZPT_TRY(reserve_floats(&w->pert, max_params, 1, "perturbed parameter slice"));
    if (need_act) {
      ZPT_TRY(reserve_floats(&w->act[0], c * G, per_var, "variation activations"));
      ZPT_TRY(reserve_floats(&w->act[1], c * G, per_var, "variation activations"));
    }
    jobs[t] = *tmpl;
    jobs[t].w = w;
    jobs[t].plans = plans;
    jobs[t].count = n_vars;
    jobs[t].chunk = c;
    if (T > 1) {
      ZPT_TRY(zpt_buffer_reserve(&w->plans, n_vars * sizeof(var_plan), "variation plans"));
      var_plan *dst = w->plans.data;
      size_t k = 0;
      for (size_t v = 0; v < n_vars; v++)
        if ((group_of(&plans[v], G) - g0) % T == t)
          dst[k++] = plans[v];
      jobs[t].plans = dst;
      jobs[t].count = k;
    }
  }
  return ZPT_OK;
}

/* Both entry points: variation v is query queries[v] (queries: strictly
 * increasing) or, with queries NULL, first_query + v. */
static int forward_vars(zpt_model *m, const float *theta, const zpt_variation *vars,
                        size_t n_vars, const float *in, size_t n, float *out,
                        uint64_t noise_seed, uint64_t first_query,
                        const uint64_t *queries, const char *fn) {
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
  if (!queries && first_query > UINT64_MAX - n_vars)
    return zpt_fail(ZPT_ERANGE, "%s: query indices from %llu overflow", fn,
                    (unsigned long long)first_query);
  for (size_t v = 1; queries && v < n_vars; v++)
    if (queries[v] <= queries[v - 1])
      return zpt_fail(ZPT_EINVAL, "%s: query indices must increase: variation %zu is "
                      "query %llu after %llu", fn, v, (unsigned long long)queries[v],
                      (unsigned long long)queries[v - 1]);
  ZPT_TRY(validate_vars(m, vars, n_vars));
  nn_model_clear_stats(m);
  size_t L = m->n_layers;

  var_plan *plans;
  size_t first_diverge;
  ZPT_TRY(plan_variations(m, vars, n_vars, noise_seed, first_query, queries, &plans,
                          &first_diverge));

  size_t *off;
  ZPT_TRY(base_pass(m, theta, in, n, plans, n_vars, &off));

  size_t wide = widest_activation(m);
  size_t per_var = n * wide; /* cannot overflow: base_pass reserved n x wide */
  size_t G = m->group;
  size_t groups = (size_t)(group_of(&plans[n_vars - 1], G) - group_of(&plans[0], G) + 1);
  /* chunks of whole groups bounded by the activation workspace */
  size_t chunk = m->chunk_floats / (per_var * G);
  if (chunk < 1)
    chunk = 1;
  if (chunk > groups)
    chunk = groups;
  size_t T = first_diverge == L ? 1 : thread_count(m, groups, n, n_vars);
  fwd_job jobs[ZPT_MODEL_MAX_THREADS];
  fwd_job tmpl = {m, NULL, theta, vars, NULL, 0, 0, G, in, n, off, out,
                  noise_seed, ZPT_OK, ""};
  ZPT_TRY(make_jobs(m, jobs, T, &tmpl, plans, n_vars, groups, chunk, per_var,
                    first_diverge < L));
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

int zpt_model_forward_variations(zpt_model *m, const float *theta,
                                 const zpt_variation *vars, size_t n_vars,
                                 const float *in, size_t n, float *out,
                                 uint64_t noise_seed, uint64_t first_query) {
  return forward_vars(m, theta, vars, n_vars, in, n, out, noise_seed, first_query, NULL,
                      "zpt_model_forward_variations");
}

int zpt_model_forward_variations_at(zpt_model *m, const float *theta,
                                    const zpt_variation *vars, size_t n_vars,
                                    const uint64_t *queries, const float *in, size_t n,
                                    float *out, uint64_t noise_seed) {
  if (!queries)
    return zpt_fail(ZPT_EINVAL, "zpt_model_forward_variations_at: NULL query indices");
  return forward_vars(m, theta, vars, n_vars, in, n, out, noise_seed, 0, queries,
                      "zpt_model_forward_variations_at");
}
