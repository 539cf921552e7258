/* An iteration's perturbations (and zpt_trainer_draw), its variations, and
 * its draws, queries and losses: all in this process, or shared out among
 * the processes of a black box that has query_shared
 * (blackbox.h; zoptic-mpi, docs/distributed.md).
 *
 * Shared: every process holds the same trainer (theta, state, seeds) and
 * makes the same call.  Each draws only the perturbations of the variations
 * it evaluates, computes only their losses, and sends one record per
 * variation: its loss and its perturbation's values.  Every process then
 * has every loss and every u_q, the same bits one process computes (a
 * draw is a function of (seed, iteration, q, block, sampler state) alone,
 * a loss of the variation's outputs alone), and forms the same estimate
 * with the same operations in the same order (trainer_step.c).  Used for
 * the samplers whose support is known before the draw (range_support:
 * every sampler but ZO-co), when the iteration is one call, and without
 * several devices (device_base); otherwise, and in one process, every
 * perturbation is drawn and every loss computed here. */
#include "zo/trainer_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"

/* ---- perturbations ------------------------------------------------------ */

/* Draws perturbation q of iteration iter on block b (block mode) or on all
 * blocks into u; support in *off, *len.  Not normalised, and for ZO-NP
 * complete only after flush_draws(). */
static void draw_raw(zpt_trainer *t, uint64_t iter, size_t q, size_t b,
                     float *u, size_t *off, size_t *len) {
  zpt_rng_derive(t->rng, t->cfg.seed, ZPT_STREAM_PERTURB, iter, q);
  size_t b0 = t->cfg.mode == ZPT_PERTURB_BLOCK ? b : 0;
  size_t nbl = t->cfg.mode == ZPT_PERTURB_BLOCK ? 1 : t->blocks->n_blocks;
  t->sampler->sample(t->sampler_state, t->blocks, t->rng, b0, nbl, u, off,
                     len);
}

static void flush_draws(zpt_trainer *t) {
  if (t->sampler->flush)
    t->sampler->flush(t->sampler_state);
}

/* ||u|| = sqrt(N) (method.md §2). */
static void normalise(const zpt_trainer *t, float *u, size_t len) {
  if (!t->cfg.normalize)
    return;
  double ss = 0;
  for (size_t k = 0; k < len; k++)
    ss += (double)u[k] * u[k];
  if (ss > 0) {
    float s = (float)sqrt((double)t->N / ss);
    for (size_t k = 0; k < len; k++)
      u[k] *= s;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Perturbations qs[0..n) of iteration iter (blocks already in u_block;
 * qs increasing).  Each comes from its own stream, so the order of the
 * draws, and which others are drawn, does not matter: a sampler that defers
 * its work (ZO-NP) gets those of the same block one after the other, which
 * it solves together (the same values as one by one: fisher.h). */
static void draw_list(zpt_trainer *t, uint64_t iter, const size_t *qs, size_t n) {
  const size_t Q = t->cfg.q;
  for (size_t k = 0; k < n; k++)
    t->u_order[k] = (uint64_t)t->u_block[qs[k]] * Q + qs[k];
  if (t->sampler->flush && n > 1)
    qsort(t->u_order, n, sizeof *t->u_order, cmp_u64);
  for (size_t k = 0; k < n; k++) {
    size_t q = (size_t)(t->u_order[k] % Q);
    draw_raw(t, iter, q, t->u_block[q], t->u + q * t->u_stride, &t->u_off[q],
             &t->u_len[q]);
  }
  flush_draws(t);
  for (size_t k = 0; k < n; k++)
    normalise(t, t->u + qs[k] * t->u_stride, t->u_len[qs[k]]);
}

int zpt_trainer_draw(zpt_trainer *t, uint64_t iter, size_t q, size_t block,
                     float *u, size_t *off, size_t *len) {
  if (!t->sampler)
    return zpt_fail(ZPT_EINVAL, "draw: method %s has no perturbation "
                    "sampler", zpt_zo_method_name(t->cfg.method));
  if (block >= t->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "draw: block %zu of %zu", block,
                    t->blocks->n_blocks);
  draw_raw(t, iter, q, block, u, off, len);
  flush_draws(t);
  normalise(t, u, *len);
  return ZPT_OK;
}

/* The variations of an iteration's call: the base (with_base), then
 * theta + h u_q (and theta - h u_q) for each q; returns their number. */
static size_t make_vars(zpt_trainer *t, int with_base, int central,
                        double h) {
  size_t nv = 0;
  if (with_base)
    t->vars[nv++] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t q = 0; q < t->cfg.q; q++) {
    const float *uq = t->u + q * t->u_stride;
    t->vars[nv++] = (zpt_variation){t->u_off[q], t->u_len[q], (float)h, uq};
    if (central)
      t->vars[nv++] = (zpt_variation){t->u_off[q], t->u_len[q], (float)-h, uq};
  }
  return nv;
}

/* ---- one call, shared out ------------------------------------------------ */

typedef struct {
  zpt_trainer *t;
  int with_base, central;
  const float *targets;
  size_t batch, rec_bytes;
} share_ctx;

/* The first variation of perturbation q. */
static size_t var_of(const share_ctx *c, size_t q) {
  return c->central ? 2 * q : (size_t)c->with_base + q;
}

/* blackbox.h, prepare: draws the perturbations of variations share[0..n)
 * (a central pair's two variations share one; the base has none). */
static void prepare(void *ctx, const size_t *share, size_t n) {
  const share_ctx *c = ctx;
  zpt_trainer *t = c->t;
  size_t nq = 0;
  for (size_t k = 0; k < n; k++) {
    size_t v = share[k], q;
    if (c->central)
      q = v / 2;
    else if (v < (size_t)c->with_base)
      continue;
    else
      q = v - (size_t)c->with_base;
    if (nq == 0 || t->u_list[nq - 1] != q)
      t->u_list[nq++] = q;
  }
  draw_list(t, t->c.iterations, t->u_list, nq);
}

/* blackbox.h, fill: record of variation v = its loss (a double), then its
 * delta's len floats, zeros to rec_bytes. */
static int fill(void *ctx, const size_t *share, size_t n, const float *out, void *rec) {
  const share_ctx *c = ctx;
  zpt_trainer *t = c->t;
  for (size_t k = 0; k < n; k++) {
    const size_t v = share[k];
    char *r = (char *)rec + k * c->rec_bytes;
    double loss;
    int rc = zpt_loss_eval(&t->cfg.loss, out + k * c->batch * t->M, c->targets, c->batch,
                           t->M, NULL, &loss);
    if (rc)
      return zpt_fail_context(rc, "iteration %llu, variation %zu: ",
                              (unsigned long long)t->c.iterations, v);
    memcpy(r, &loss, sizeof loss);
    const size_t du = t->vars[v].len * sizeof(float);
    if (du)
      memcpy(r + sizeof loss, t->vars[v].delta, du);
    memset(r + sizeof loss + du, 0, c->rec_bytes - sizeof loss - du);
  }
  return ZPT_OK;
}

static int shared_ok(const zpt_trainer *t, size_t nv) {
  const zpt_blackbox_type *ty = t->bb->type;
  return ty->query_shared && !ty->device_base && t->sampler->range_support &&
         (!t->bb->max_vars || t->bb->max_vars >= nv);
}

/* Every perturbation's support before its draw (range_support). */
static size_t set_supports(zpt_trainer *t) {
  const zpt_blocks *bl = t->blocks;
  size_t maxlen = 0;
  for (size_t q = 0; q < t->cfg.q; q++) {
    const int block = t->cfg.mode == ZPT_PERTURB_BLOCK;
    size_t b0 = block ? t->u_block[q] : 0, nb = block ? 1 : bl->n_blocks;
    t->u_off[q] = bl->offset[b0];
    t->u_len[q] = bl->offset[b0 + nb] - t->u_off[q];
    maxlen = t->u_len[q] > maxlen ? t->u_len[q] : maxlen;
  }
  return maxlen;
}

static int query_shared(zpt_trainer *t, int with_base, double h,
                        const float *inputs, const float *targets,
                        size_t batch, uint64_t first) {
  const int central = t->cfg.diff == ZPT_DIFF_CENTRAL;
  const size_t maxlen = set_supports(t);
  const size_t nv = make_vars(t, with_base, central, h);
  share_ctx c = {t, with_base, central, targets, batch, 0};
  /* a multiple of 8 bytes: the doubles of the records stay aligned */
  c.rec_bytes = (sizeof(double) + maxlen * sizeof(float) + 7) / 8 * 8;
  size_t bytes;
  if (zpt_mul_size(nv, c.rec_bytes, &bytes))
    return zpt_fail(ZPT_ERANGE, "trainer: %zu records of %zu bytes", nv,
                    c.rec_bytes);
  ZPT_TRY(zpt_buffer_reserve(&t->out, bytes, "query records"));
  zpt_shared_call call = {c.rec_bytes, t->out.data, &c, prepare, fill};
  int rc = t->bb->type->query_shared(t->bb, t->theta, t->vars, nv, inputs,
                                     batch, first, &call);
  if (rc)
    return zpt_fail_context(rc, "iteration %llu: black box '%s' failed on "
                            "perturbed queries %llu..%llu: ",
                            (unsigned long long)t->c.iterations,
                            t->bb->type->name, (unsigned long long)first,
                            (unsigned long long)(first + nv - 1));
  const char *rec = t->out.data;
  for (size_t v = 0; v < nv; v++)
    memcpy(&t->var_loss[v], rec + v * c.rec_bytes, sizeof(double));
  for (size_t q = 0; q < t->cfg.q; q++)
    memcpy(t->u + q * t->u_stride, rec + var_of(&c, q) * c.rec_bytes +
           sizeof(double), t->u_len[q] * sizeof(float));
  return ZPT_OK;
}

int zpt_tr_query_iteration(zpt_trainer *t, int with_base, double h,
                           const float *inputs, const float *targets,
                           size_t batch, uint64_t first) {
  const int central = t->cfg.diff == ZPT_DIFF_CENTRAL;
  const size_t Q = t->cfg.q;
  if (shared_ok(t, central ? 2 * Q : Q + (size_t)with_base))
    return query_shared(t, with_base, h, inputs, targets, batch, first);
  for (size_t q = 0; q < Q; q++)
    t->u_list[q] = q;
  draw_list(t, t->c.iterations, t->u_list, Q);
  const size_t nv = make_vars(t, with_base, central, h);
  ZPT_TRY(zpt_tr_reserve_out(t, nv, batch));
  ZPT_TRY(zpt_tr_run_queries(t, t->vars, nv, inputs, batch, t->out.data,
                             first, "perturbed"));
  return zpt_tr_losses_of(t, t->out.data, nv, targets, batch, t->var_loss);
}
