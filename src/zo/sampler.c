/* ZO-I, ZO-co and ZO-NP samplers (see sampler.h). */
#include "zo/sampler.h"

#include "core/rng.h"

static void range_of(const zpt_blocks *blocks, size_t b0, size_t nb,
                     size_t *off, size_t *len) {
  *off = blocks->offset[b0];
  *len = blocks->offset[b0 + nb] - *off;
}

static void sample_i(void *state, const zpt_blocks *blocks, gsl_rng *r,
                     size_t b0, size_t nb, float *u, size_t *off, size_t *len) {
  (void)state;
  range_of(blocks, b0, nb, off, len);
  zpt_rng_gaussians(r, u, *len, 1.0);
}

static void sample_co(void *state, const zpt_blocks *blocks, gsl_rng *r,
                      size_t b0, size_t nb, float *u, size_t *off, size_t *len) {
  (void)state;
  size_t o, n;
  range_of(blocks, b0, nb, &o, &n);
  *off = o + (size_t)zpt_rng_below(r, n);
  *len = 1;
  u[0] = 1.0f;
}

static void sample_np(void *state, const zpt_blocks *blocks, gsl_rng *r,
                      size_t b0, size_t nb, float *u, size_t *off, size_t *len) {
  range_of(blocks, b0, nb, off, len);
  for (size_t b = b0; b < b0 + nb; b++)
    zpt_fisher_sample_defer(state, b, r, u + (blocks->offset[b] - *off));
}

static void flush_np(void *state) { zpt_fisher_flush(state); }

static int alloc_none(void **state, const zpt_blocks *blocks,
                      const zpt_sampler_settings *settings) {
  (void)blocks;
  (void)settings;
  *state = NULL;
  return 0;
}

static zpt_fisher *fisher_none(void *state) {
  (void)state;
  return NULL;
}

static void free_none(void *state) { (void)state; }

static int alloc_np(void **state, const zpt_blocks *blocks,
                    const zpt_sampler_settings *s) {
  zpt_fisher *f;
  int rc = zpt_fisher_alloc(&f, blocks, s->rho, s->trace_norm, s->fisher_avg,
                            s->chol_jitter);
  *state = rc == 0 ? f : NULL;
  return rc;
}

static zpt_fisher *fisher_np(void *state) { return state; }

static void free_np(void *state) { zpt_fisher_free(state); }

static const zpt_sampler_type type_i = {"zo-i", alloc_none, sample_i,
                                        fisher_none, free_none, NULL,
                                        NULL, NULL, NULL, 1};
static const zpt_sampler_type type_co = {"zo-co", alloc_none, sample_co,
                                         fisher_none, free_none, NULL,
                                         NULL, NULL, NULL, 0};
static const zpt_sampler_type type_np = {"zo-np", alloc_np, sample_np,
                                         fisher_np, free_np, flush_np,
                                         NULL, NULL, NULL, 1};

const zpt_sampler_type *const zpt_sampler_zo_i = &type_i;
const zpt_sampler_type *const zpt_sampler_zo_co = &type_co;
const zpt_sampler_type *const zpt_sampler_zo_np = &type_np;
