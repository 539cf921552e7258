/* The reading list's samplers: sparse, guided ES and a diagonal adaptive
 * one (sampler.h describes each; docs/results.md round 3 what the papers
 * claim and what was measured). */
#include "zo/sampler.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"

static void range_of(const zpt_blocks *blocks, size_t b0, size_t nb,
                     size_t *off, size_t *len) {
  *off = blocks->offset[b0];
  *len = blocks->offset[b0 + nb] - *off;
}

static zpt_fisher *fisher_none(void *state) {
  (void)state;
  return NULL;
}

/* ---- zo-sparse ------------------------------------------------------------ */

typedef struct {
  double frac;
  size_t *idx; /* scratch: a partial Fisher-Yates shuffle of the range */
  size_t cap;
} sparse_state;

static int with_sparse(void **state, const zpt_blocks *blocks,
                        const zpt_sampler_extra_settings *s) {
  double frac = s->sparse_frac > 0 ? s->sparse_frac : 0.1;
  if (!(frac <= 1))
    return zpt_fail(ZPT_EINVAL, "zo.sparse_frac = %g: need 0 < frac <= 1", frac);
  sparse_state *st = zpt_new(sparse_state, "zo-sparse");
  size_t *idx = zpt_new_array(size_t, blocks->n_params, "zo-sparse indices");
  if (!st || !idx) {
    zpt_free(st);
    zpt_free(idx);
    return zpt_fail_context(ZPT_ENOMEM, "zo-sparse: ");
  }
  st->frac = frac;
  st->idx = idx;
  st->cap = blocks->n_params;
  *state = st;
  return ZPT_OK;
}

/* The number of coordinates a draw over len perturbs. */
static size_t sparse_count(double frac, size_t len) {
  size_t k = (size_t)ceil(frac * (double)len - 1e-9);
  return k < 1 ? 1 : k > len ? len : k;
}

static void sample_sparse(void *state, const zpt_blocks *blocks, gsl_rng *r,
                          size_t b0, size_t nb, float *u, size_t *off,
                          size_t *len) {
  sparse_state *st = state;
  range_of(blocks, b0, nb, off, len);
  const size_t n = *len, k = sparse_count(st->frac, n);
  memset(u, 0, n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    st->idx[i] = i;
  for (size_t i = 0; i < k; i++) { /* k uniform draws without replacement */
    size_t j = i + (size_t)zpt_rng_below(r, n - i);
    size_t t = st->idx[i];
    st->idx[i] = st->idx[j];
    st->idx[j] = t;
    float z;
    zpt_rng_gaussians(r, &z, 1, 1.0);
    u[st->idx[i]] = z;
  }
}

static void free_sparse(void *state) {
  sparse_state *st = state;
  if (st)
    zpt_free(st->idx);
  zpt_free(st);
}

/* ---- zo-guided ------------------------------------------------------------ */

typedef struct {
  size_t k, n, have, next; /* ring of the last k estimates */
  double alpha;
  float *hist;  /* k x n */
  double *basis; /* k x (range length): scratch */
  float *count; /* [have, next] as floats for the checkpoint */
} guided_state;

static int with_guided(void **state, const zpt_blocks *blocks,
                        const zpt_sampler_extra_settings *s) {
  size_t k = s->guided_k ? s->guided_k : 4;
  double alpha = s->guided_alpha > 0 ? s->guided_alpha : 0.5;
  if (!(alpha <= 1))
    return zpt_fail(ZPT_EINVAL, "zo.guided_alpha = %g: need 0 < alpha <= 1", alpha);
  guided_state *st = zpt_new(guided_state, "zo-guided");
  if (!st)
    return zpt_fail_context(ZPT_ENOMEM, "zo-guided: ");
  memset(st, 0, sizeof *st);
  st->k = k;
  st->n = blocks->n_params;
  st->alpha = alpha;
  st->hist = zpt_new_array(float, k * st->n, "zo-guided history");
  st->basis = zpt_new_array(double, k * st->n, "zo-guided basis");
  st->count = zpt_new_array(float, 2, "zo-guided counters");
  if (!st->hist || !st->basis || !st->count) {
    zpt_free(st->hist);
    zpt_free(st->basis);
    zpt_free(st->count);
    zpt_free(st);
    return zpt_fail_context(ZPT_ENOMEM, "zo-guided (k = %zu): ", k);
  }
  st->count[0] = st->count[1] = 0;
  *state = st;
  return ZPT_OK;
}

/* Orthonormal basis (Gram-Schmidt, twice) of the range [off, off + n) of
 * the stored estimates; returns its size (<= have), dropping vectors that
 * are (numerically) in the span of the earlier ones. */
static size_t guided_basis(guided_state *st, size_t off, size_t n) {
  size_t m = 0;
  for (size_t j = 0; j < st->have; j++) {
    double *b = st->basis + m * n, norm0 = 0, norm = 0;
    const float *g = st->hist + j * st->n + off;
    for (size_t i = 0; i < n; i++) {
      b[i] = g[i];
      norm0 += b[i] * b[i];
    }
    for (int pass = 0; pass < 2; pass++)
      for (size_t p = 0; p < m; p++) {
        const double *q = st->basis + p * n;
        double d = 0;
        for (size_t i = 0; i < n; i++)
          d += q[i] * b[i];
        for (size_t i = 0; i < n; i++)
          b[i] -= d * q[i];
      }
    for (size_t i = 0; i < n; i++)
      norm += b[i] * b[i];
    if (!(norm > 1e-12 * norm0) || norm == 0)
      continue;
    norm = 1 / sqrt(norm);
    for (size_t i = 0; i < n; i++)
      b[i] *= norm;
    m++;
  }
  return m;
}

static void sample_guided(void *state, const zpt_blocks *blocks, gsl_rng *r,
                          size_t b0, size_t nb, float *u, size_t *off,
                          size_t *len) {
  guided_state *st = state;
  range_of(blocks, b0, nb, off, len);
  const size_t n = *len, m = guided_basis(st, *off, n);
  const double a = m ? st->alpha : 1.0;
  zpt_rng_gaussians(r, u, n, sqrt(a / (double)n));
  for (size_t p = 0; p < m; p++) {
    float z;
    zpt_rng_gaussians(r, &z, 1, 1.0);
    const double c = sqrt((1 - a) / (double)m) * z;
    const double *q = st->basis + p * n;
    for (size_t i = 0; i < n; i++)
      u[i] += (float)(c * q[i]);
  }
}

static void observe_guided(void *state, const float *g, size_t n) {
  guided_state *st = state;
  if (n != st->n)
    return;
  memcpy(st->hist + st->next * st->n, g, n * sizeof(float));
  st->next = (st->next + 1) % st->k;
  if (st->have < st->k)
    st->have++;
  st->count[0] = (float)st->have;
  st->count[1] = (float)st->next;
}

static size_t count_guided(const void *state) {
  (void)state;
  return 2;
}

static void get_guided(void *state, size_t i, const char **name, float **data,
                       size_t *len) {
  guided_state *st = state;
  if (i == 0) {
    *name = "guided_history";
    *data = st->hist;
    *len = st->k * st->n;
  } else {
    *name = "guided_counters"; /* have, next (exact in float up to 2^24) */
    *data = st->count;
    *len = 2;
  }
}

static void free_guided(void *state) {
  guided_state *st = state;
  if (st) {
    zpt_free(st->hist);
    zpt_free(st->basis);
    zpt_free(st->count);
  }
  zpt_free(st);
}

/* ---- zo-adapt ------------------------------------------------------------- */

typedef struct {
  size_t n;
  double beta, floor;
  float *v;   /* running mean of g^2, then (last slot) the number seen */
  float *sd;  /* per-coordinate standard deviation sqrt(d_i) */
} adapt_state;

static int with_adapt(void **state, const zpt_blocks *blocks,
                       const zpt_sampler_extra_settings *s) {
  double beta = s->adapt_beta > 0 ? s->adapt_beta : 0.99;
  double fl = s->adapt_floor > 0 ? s->adapt_floor : 0.1;
  if (!(beta < 1) || !(fl <= 1))
    return zpt_fail(ZPT_EINVAL, "zo.adapt_beta = %g, zo.adapt_floor = %g: need "
                    "0 < beta < 1 and 0 < floor <= 1", beta, fl);
  adapt_state *st = zpt_new(adapt_state, "zo-adapt");
  if (!st)
    return zpt_fail_context(ZPT_ENOMEM, "zo-adapt: ");
  st->n = blocks->n_params;
  st->beta = beta;
  st->floor = fl;
  st->v = zpt_new_array(float, st->n + 1, "zo-adapt second moments");
  st->sd = zpt_new_array(float, st->n, "zo-adapt deviations");
  if (!st->v || !st->sd) {
    zpt_free(st->v);
    zpt_free(st->sd);
    zpt_free(st);
    return zpt_fail_context(ZPT_ENOMEM, "zo-adapt: ");
  }
  memset(st->v, 0, (st->n + 1) * sizeof(float));
  for (size_t i = 0; i < st->n; i++)
    st->sd[i] = 1;
  *state = st;
  return ZPT_OK;
}

/* sd from v: d = max(floor, v / mean(v)) (bias-corrected mean, so the
 * first estimate counts fully). */
static void adapt_refresh(adapt_state *st) {
  double mean = 0;
  for (size_t i = 0; i < st->n; i++)
    mean += st->v[i];
  mean /= (double)st->n;
  for (size_t i = 0; i < st->n; i++) {
    double d = mean > 0 ? st->v[i] / mean : 1;
    st->sd[i] = (float)sqrt(d > st->floor ? d : st->floor);
  }
}

static void observe_adapt(void *state, const float *g, size_t n) {
  adapt_state *st = state;
  if (n != st->n)
    return;
  double seen = st->v[n];
  double b = seen > 0 ? st->beta : 0; /* the first estimate replaces v */
  for (size_t i = 0; i < n; i++)
    st->v[i] = (float)(b * st->v[i] + (1 - b) * (double)g[i] * g[i]);
  st->v[n] = (float)(seen + 1);
  adapt_refresh(st);
}

static void sample_adapt(void *state, const zpt_blocks *blocks, gsl_rng *r,
                         size_t b0, size_t nb, float *u, size_t *off,
                         size_t *len) {
  adapt_state *st = state;
  range_of(blocks, b0, nb, off, len);
  zpt_rng_gaussians(r, u, *len, 1.0);
  const float *sd = st->sd + *off;
  for (size_t i = 0; i < *len; i++)
    u[i] *= sd[i];
}

static size_t count_adapt(const void *state) {
  (void)state;
  return 1;
}

static void get_adapt(void *state, size_t i, const char **name, float **data,
                      size_t *len) {
  adapt_state *st = state;
  (void)i;
  *name = "adapt_second_moments"; /* n values, then the count seen */
  *data = st->v;
  *len = st->n + 1;
}

static void free_adapt(void *state) {
  adapt_state *st = state;
  if (st) {
    zpt_free(st->v);
    zpt_free(st->sd);
  }
  zpt_free(st);
}

void zpt_sampler_reloaded(const zpt_sampler_type *type, void *state) {
  if (type->observe == observe_adapt) {
    adapt_state *st = state;
    if (st->v[st->n] > 0)
      adapt_refresh(st);
  } else if (type->observe == observe_guided) {
    guided_state *st = state;
    st->have = (size_t)st->count[0];
    st->next = (size_t)st->count[1];
  }
}

static int alloc_sparse(void **state, const zpt_blocks *blocks,
                        const zpt_sampler_settings *s) {
  zpt_sampler_extra_settings x = {0, 0, 0, 0, 0};
  (void)s;
  return with_sparse(state, blocks, &x);
}

static int alloc_guided(void **state, const zpt_blocks *blocks,
                        const zpt_sampler_settings *s) {
  zpt_sampler_extra_settings x = {0, 0, 0, 0, 0};
  (void)s;
  return with_guided(state, blocks, &x);
}

static int alloc_adapt(void **state, const zpt_blocks *blocks,
                       const zpt_sampler_settings *s) {
  zpt_sampler_extra_settings x = {0, 0, 0, 0, 0};
  (void)s;
  return with_adapt(state, blocks, &x);
}

static const zpt_sampler_type type_sparse = {
    "zo-sparse", alloc_sparse, sample_sparse, fisher_none, free_sparse, NULL,
    NULL, NULL, NULL, 1};
static const zpt_sampler_type type_guided = {
    "zo-guided", alloc_guided, sample_guided, fisher_none, free_guided, NULL,
    observe_guided, count_guided, get_guided, 1};
static const zpt_sampler_type type_adapt = {
    "zo-adapt", alloc_adapt, sample_adapt, fisher_none, free_adapt, NULL,
    observe_adapt, count_adapt, get_adapt, 1};

const zpt_sampler_type *const zpt_sampler_zo_sparse = &type_sparse;
const zpt_sampler_type *const zpt_sampler_zo_guided = &type_guided;
const zpt_sampler_type *const zpt_sampler_zo_adapt = &type_adapt;

int zpt_sampler_extra_alloc(const zpt_sampler_type *type, void **state,
                            const zpt_blocks *blocks,
                            const zpt_sampler_extra_settings *x) {
  *state = NULL;
  if (type == zpt_sampler_zo_sparse)
    return with_sparse(state, blocks, x);
  if (type == zpt_sampler_zo_guided)
    return with_guided(state, blocks, x);
  if (type == zpt_sampler_zo_adapt)
    return with_adapt(state, blocks, x);
  return zpt_fail(ZPT_EINVAL, "zpt_sampler_extra_alloc: sampler '%s' has no extra settings",
                  type->name);
}
