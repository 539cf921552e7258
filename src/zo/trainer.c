/* The zeroth-order trainer (see trainer.h and docs/method.md). */
#include "zo/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/timer.h"
#include "zo/sampler.h"

/* Sub-streams of ZPT_STREAM_BLOCK (the j coordinate). */
enum {
  BLOCK_FISHER_DRAW = 0, /* i = Fisher update index */
  BLOCK_FISHER_PERM = 1, /* i = Fisher permutation cycle */
  BLOCK_PERTURB_PERM = 2 /* i = perturbation block cycle */
};

#define ZPT_TRAINER_FORMAT 1

struct zpt_trainer {
  zpt_zo_config cfg;
  size_t *cuts; /* owned copy of cfg.cuts */
  zpt_blackbox *bb;
  size_t N, M, target_size;
  float *theta;
  float *grad;
  zpt_blocks *blocks;
  const zpt_sampler_type *sampler;
  void *sampler_state;
  zpt_fisher *fisher; /* sampler's store (ZO-NP) or NULL */
  const zpt_optimizer_type *opt;
  void *opt_state;
  gsl_rng *rng;       /* re-derived for every use */
  float *u;           /* Q x u_stride perturbation values */
  size_t u_stride;
  size_t *u_off, *u_len;
  size_t *u_block;     /* block of each perturbation of the iteration */
  uint64_t *u_order;   /* draw order: block * Q + q, sorted */
  zpt_variation *vars; /* room for n_vars_cap = max(2Q, Q + 1) */
  size_t n_vars_cap;
  double *var_loss;
  double *jac_step; /* realised coordinate steps of a Jacobian */
  size_t *perm_perturb, *perm_fisher;
  size_t next_fblock; /* block of the next Fisher update */
  zpt_buffer out;     /* outputs of one iteration's queries */
  zpt_buffer jz;      /* one sample's J, then Z in place: M x max_len */
  float one;          /* delta of a coordinate variation */
  int failed;
  zpt_zo_counters c;
};

void zpt_zo_config_default(zpt_zo_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->method = ZPT_ZO_NP;
  cfg->mode = ZPT_PERTURB_BLOCK;
  cfg->q = 20;
  cfg->mu = 1e-3;
  cfg->lambda = 1.0;
  cfg->n_max = 512;
  cfg->normalize = 1;
  cfg->diff = ZPT_DIFF_FORWARD;
  cfg->rho = 1.0;
  cfg->t_ud = 100;
  cfg->trace_norm = 1;
  cfg->fisher_avg = 1.0;
  cfg->fisher_schedule = ZPT_FISHER_RANDOM;
  cfg->jac_eps = 1e-3;
  cfg->chol_jitter = 1;
  cfg->optimizer = ZPT_OPT_ADAM;
  cfg->optim.lr = 1e-3;
  cfg->optim.beta1 = 0.9;
  cfg->optim.beta2 = 0.999;
  cfg->optim.eps = 1e-8;
  cfg->optim.momentum = 0.9;
  cfg->lr_schedule = ZPT_LR_CONSTANT;
  cfg->lr_final = 0;
  cfg->seed = 1;
  cfg->budget = 0;
}

const char *zpt_zo_method_name(zpt_zo_method m) {
  switch (m) {
  case ZPT_ZO_I: return "zo-i";
  case ZPT_ZO_CO: return "zo-co";
  case ZPT_ZO_NP: return "zo-np";
  }
  return "unknown";
}

static int finite_pos(double x) { return x > 0 && isfinite(x); }

int zpt_zo_config_check(const zpt_zo_config *cfg, const zpt_blackbox *bb) {
  if (!cfg)
    return zpt_fail(ZPT_EINVAL, "zo config: NULL");
  if (!bb || !bb->type || !bb->type->query)
    return zpt_fail(ZPT_EINVAL, "zo config: black box missing or without a "
                    "query function");
  if (bb->n_params == 0 || bb->output_size == 0)
    return zpt_fail(ZPT_EINVAL, "zo config: black box '%s' has n_params=%zu "
                    "output_size=%zu (both must be >= 1)", bb->type->name,
                    bb->n_params, bb->output_size);
  if (cfg->method != ZPT_ZO_I && cfg->method != ZPT_ZO_CO &&
      cfg->method != ZPT_ZO_NP)
    return zpt_fail(ZPT_EINVAL, "zo config: method %d is not ZPT_ZO_I, "
                    "ZPT_ZO_CO or ZPT_ZO_NP", (int)cfg->method);
  if (cfg->mode != ZPT_PERTURB_BLOCK && cfg->mode != ZPT_PERTURB_ALL)
    return zpt_fail(ZPT_EINVAL, "zo config: mode %d is not block (0) or all "
                    "(1)", (int)cfg->mode);
  if (cfg->q < 1)
    return zpt_fail(ZPT_EINVAL, "zo config: q (perturbations per iteration) "
                    "must be >= 1");
  if (!finite_pos(cfg->mu))
    return zpt_fail(ZPT_EINVAL, "zo config: mu must be finite and > 0, got "
                    "%g", cfg->mu);
  if (!finite_pos(cfg->lambda))
    return zpt_fail(ZPT_EINVAL, "zo config: lambda must be finite and > 0, "
                    "got %g", cfg->lambda);
  if (cfg->n_max < 1)
    return zpt_fail(ZPT_EINVAL, "zo config: n_max must be >= 1");
  if (cfg->diff != ZPT_DIFF_FORWARD && cfg->diff != ZPT_DIFF_CENTRAL)
    return zpt_fail(ZPT_EINVAL, "zo config: diff %d is not forward (0) or "
                    "central (1)", (int)cfg->diff);
  if (cfg->method == ZPT_ZO_NP) {
    if (!(cfg->rho >= 0) || !isfinite(cfg->rho))
      return zpt_fail(ZPT_EINVAL, "zo config: rho must be finite and >= 0, "
                      "got %g", cfg->rho);
    if (cfg->t_ud < 1)
      return zpt_fail(ZPT_EINVAL, "zo config: t_ud (Fisher update period) "
                      "must be >= 1");
    if (!(cfg->fisher_avg > 0 && cfg->fisher_avg <= 1))
      return zpt_fail(ZPT_EINVAL, "zo config: fisher_avg must be in (0, 1], "
                      "got %g", cfg->fisher_avg);
    if (cfg->fisher_schedule != ZPT_FISHER_RANDOM &&
        cfg->fisher_schedule != ZPT_FISHER_CYCLE)
      return zpt_fail(ZPT_EINVAL, "zo config: fisher_schedule %d is not "
                      "random (0) or cycle (1)", (int)cfg->fisher_schedule);
    if (!finite_pos(cfg->jac_eps))
      return zpt_fail(ZPT_EINVAL, "zo config: jac_eps must be finite and > "
                      "0, got %g", cfg->jac_eps);
  }
  if (cfg->optimizer != ZPT_OPT_ADAM && cfg->optimizer != ZPT_OPT_SGD)
    return zpt_fail(ZPT_EINVAL, "zo config: optimizer %d is not adam (0) or "
                    "sgd (1)", (int)cfg->optimizer);
  ZPT_TRY(zpt_optim_check(cfg->optimizer == ZPT_OPT_ADAM ? zpt_optimizer_adam
                                                         : zpt_optimizer_sgd,
                          &cfg->optim));
  if (cfg->lr_schedule != ZPT_LR_CONSTANT && cfg->lr_schedule != ZPT_LR_COSINE)
    return zpt_fail(ZPT_EINVAL, "zo config: lr_schedule %d is not constant "
                    "(0) or cosine (1)", (int)cfg->lr_schedule);
  if (cfg->lr_schedule == ZPT_LR_COSINE) {
    if (cfg->budget == 0)
      return zpt_fail(ZPT_EINVAL, "zo config: lr_schedule = cosine needs a "
                      "query budget (budget = 0 means unlimited)");
    if (!(cfg->lr_final >= 0 && cfg->lr_final <= cfg->optim.lr))
      return zpt_fail(ZPT_EINVAL, "zo config: lr_final must be in [0, lr = "
                      "%g], got %g", cfg->optim.lr, cfg->lr_final);
  }
  if (cfg->loss.kind == 0)
    return zpt_fail(ZPT_EINVAL, "zo config: loss not set (use "
                    "zpt_loss_xent(), zpt_loss_xent_seq() or zpt_loss_mse())");
  int rc = zpt_loss_check(&cfg->loss, bb->output_size);
  if (rc)
    return zpt_fail_context(rc, "zo config: ");
  return ZPT_OK;
}

/* ---- block schedules ---------------------------------------------------- */

static void make_perm(zpt_trainer *t, size_t *perm, uint64_t cycle,
                      uint64_t which) {
  zpt_rng_derive(t->rng, t->cfg.seed, ZPT_STREAM_BLOCK, cycle, which);
  zpt_rng_permutation(t->rng, perm, t->blocks->n_blocks);
}

/* Block of Fisher update k (the permutation must be current for k). */
static size_t fisher_block_of(zpt_trainer *t, uint64_t k) {
  const size_t nb = t->blocks->n_blocks;
  if (t->cfg.fisher_schedule == ZPT_FISHER_CYCLE)
    return t->perm_fisher[k % nb];
  zpt_rng_derive(t->rng, t->cfg.seed, ZPT_STREAM_BLOCK, k, BLOCK_FISHER_DRAW);
  return (size_t)zpt_rng_below(t->rng, nb);
}

/* Makes perm_fisher and next_fblock current for fisher_updates. */
static void refresh_fisher_schedule(zpt_trainer *t, int regen) {
  if (!t->fisher)
    return;
  const size_t nb = t->blocks->n_blocks;
  uint64_t k = t->c.fisher_updates;
  if (t->cfg.fisher_schedule == ZPT_FISHER_CYCLE && regen && k % nb == 0)
    make_perm(t, t->perm_fisher, k / nb, BLOCK_FISHER_PERM);
  t->next_fblock = fisher_block_of(t, k);
}

/* Block of the next perturbation in block-coordinate mode; advances. */
static size_t next_perturb_block(zpt_trainer *t) {
  const size_t nb = t->blocks->n_blocks;
  size_t b = t->perm_perturb[t->c.perturbations % nb];
  t->c.perturbations++;
  if (t->c.perturbations % nb == 0)
    make_perm(t, t->perm_perturb, t->c.perturbations / nb, BLOCK_PERTURB_PERM);
  return b;
}

static int fisher_due(const zpt_trainer *t) {
  return t->fisher && t->c.iterations % t->cfg.t_ud == 0;
}

uint64_t zpt_trainer_next_cost(const zpt_trainer *t) {
  uint64_t cost = t->cfg.diff == ZPT_DIFF_CENTRAL ? 2 * t->cfg.q : t->cfg.q + 1;
  if (fisher_due(t))
    cost += zpt_block_len(t->blocks, t->next_fblock) +
            (t->cfg.diff == ZPT_DIFF_CENTRAL ? 1 : 0);
  return cost;
}

/* ---- allocation --------------------------------------------------------- */

void zpt_trainer_free(zpt_trainer *t) {
  if (!t)
    return;
  if (t->sampler)
    t->sampler->free(t->sampler_state);
  if (t->opt)
    t->opt->free(t->opt_state);
  zpt_blocks_free(t->blocks);
  zpt_rng_free(t->rng);
  zpt_free(t->cuts);
  zpt_free(t->theta);
  zpt_free(t->grad);
  zpt_free(t->u);
  zpt_free(t->u_off);
  zpt_free(t->u_len);
  zpt_free(t->u_block);
  zpt_free(t->u_order);
  zpt_free(t->vars);
  zpt_free(t->var_loss);
  zpt_free(t->jac_step);
  zpt_free(t->perm_perturb);
  zpt_free(t->perm_fisher);
  zpt_buffer_release(&t->out);
  zpt_buffer_release(&t->jz);
  zpt_free(t);
}

int zpt_trainer_alloc(zpt_trainer **out, zpt_blackbox *bb,
                      const float *theta0, const zpt_zo_config *cfg) {
  *out = NULL;
  ZPT_TRY(zpt_zo_config_check(cfg, bb));
  if (!theta0)
    return zpt_fail(ZPT_EINVAL, "trainer: NULL initial theta");
  zpt_trainer *t = zpt_new(zpt_trainer, "zo trainer");
  if (!t)
    return ZPT_ENOMEM;
  int rc = ZPT_OK;
  t->cfg = *cfg;
  t->bb = bb;
  t->N = bb->n_params;
  t->M = bb->output_size;
  t->target_size = zpt_loss_target_size(&cfg->loss, t->M);
  t->one = 1.0f;
  if (cfg->n_cuts) {
    t->cuts = zpt_new_array(size_t, cfg->n_cuts, "block cuts");
    if (!t->cuts)
      goto nomem;
    memcpy(t->cuts, cfg->cuts, cfg->n_cuts * sizeof(size_t));
    t->cfg.cuts = t->cuts;
  } else {
    t->cfg.cuts = NULL;
  }
  rc = zpt_blocks_alloc(&t->blocks, t->N, cfg->n_max, cfg->cuts, cfg->n_cuts);
  if (rc)
    goto fail;
  t->rng = zpt_rng_alloc(cfg->seed, ZPT_STREAM_PERTURB, 0, 0);
  if (!t->rng)
    goto nomem;
  t->sampler = cfg->method == ZPT_ZO_I    ? zpt_sampler_zo_i
               : cfg->method == ZPT_ZO_CO ? zpt_sampler_zo_co
                                          : zpt_sampler_zo_np;
  zpt_sampler_settings ss = {cfg->rho, cfg->trace_norm, cfg->fisher_avg,
                             cfg->chol_jitter};
  rc = t->sampler->alloc(&t->sampler_state, t->blocks, &ss);
  if (rc)
    goto fail;
  t->fisher = t->sampler->fisher(t->sampler_state);
  t->opt = cfg->optimizer == ZPT_OPT_ADAM ? zpt_optimizer_adam
                                          : zpt_optimizer_sgd;
  rc = t->opt->alloc(&t->opt_state, t->N, &cfg->optim);
  if (rc)
    goto fail;
  const size_t Q = cfg->q, nb = t->blocks->n_blocks;
  t->u_stride = cfg->mode == ZPT_PERTURB_BLOCK ? t->blocks->max_len : t->N;
  size_t u_count;
  if (zpt_mul_size(Q, t->u_stride, &u_count)) {
    rc = zpt_fail_context(ZPT_ERANGE, "trainer: Q x N perturbation values: ");
    goto fail;
  }
  t->n_vars_cap = 2 * Q > Q + 1 ? 2 * Q : Q + 1;
  t->theta = zpt_floats(t->N, "theta");
  t->grad = zpt_floats(t->N, "gradient estimate");
  t->u = zpt_floats(u_count, "perturbations of one iteration");
  t->u_off = zpt_new_array(size_t, Q, "perturbation offsets");
  t->u_len = zpt_new_array(size_t, Q, "perturbation lengths");
  t->u_block = zpt_new_array(size_t, Q, "perturbation blocks");
  t->u_order = zpt_new_array(uint64_t, Q, "perturbation draw order");
  t->vars = zpt_new_array(zpt_variation, t->n_vars_cap, "variations");
  t->var_loss = zpt_doubles(t->n_vars_cap, "variation losses");
  t->perm_perturb = zpt_new_array(size_t, nb, "perturbation block cycle");
  t->perm_fisher = zpt_new_array(size_t, nb, "Fisher block cycle");
  if (t->fisher)
    t->jac_step = zpt_doubles(t->blocks->max_len, "Jacobian steps");
  if (!t->theta || !t->grad || !t->u || !t->u_off || !t->u_len ||
      !t->u_block || !t->u_order || !t->vars ||
      !t->var_loss || !t->perm_perturb || !t->perm_fisher ||
      (t->fisher && !t->jac_step))
    goto nomem;
  if (t->fisher &&
      zpt_buffer_reserve(&t->jz, t->M * t->blocks->max_len * sizeof(double),
                         "Jacobian and Fisher rows of one sample"))
    goto nomem;
  memcpy(t->theta, theta0, t->N * sizeof(float));
  make_perm(t, t->perm_perturb, 0, BLOCK_PERTURB_PERM);
  make_perm(t, t->perm_fisher, 0, BLOCK_FISHER_PERM);
  refresh_fisher_schedule(t, 0);
  *out = t;
  return ZPT_OK;
nomem:
  rc = ZPT_ENOMEM;
fail:
  zpt_trainer_free(t);
  return rc;
}

/* ---- queries ------------------------------------------------------------ */

/* Variations per black-box call: the black box's max_vars, at most one
 * iteration's worth (Q + 1 or 2Q, <= n_vars_cap). */
static size_t call_size(const zpt_trainer *t) {
  size_t iter_vars = t->cfg.diff == ZPT_DIFF_CENTRAL ? 2 * t->cfg.q : t->cfg.q + 1;
  return t->bb->max_vars && t->bb->max_vars < iter_vars ? t->bb->max_vars
                                                         : iter_vars;
}

/* Runs n variations on the batch into out (n x batch x M), in chunks of the
 * black box's max_vars and at most one iteration's worth (Q+1 or 2Q)
 * each, numbering queries from first.  The second bound keeps the backend's
 * workspace of a Fisher update's n_b Jacobian queries at the size of an
 * iteration's (bench: ZO-NP's peak RSS on the CNN went from 70 to ~30 MB). */
static int run_queries(zpt_trainer *t, const zpt_variation *vars, size_t n,
                       const float *inputs, size_t batch, float *out,
                       uint64_t first, const char *what) {
  const size_t chunk = call_size(t);
  for (size_t v = 0; v < n; v += chunk) {
    size_t k = n - v < chunk ? n - v : chunk;
    int rc = zpt_blackbox_query(t->bb, t->theta, vars + v, k, inputs, batch,
                                out + v * batch * t->M, first + v);
    if (rc)
      return zpt_fail_context(rc, "iteration %llu: black box '%s' failed on "
                              "%s queries %llu..%llu: ",
                              (unsigned long long)t->c.iterations,
                              t->bb->type->name, what,
                              (unsigned long long)(first + v),
                              (unsigned long long)(first + v + k - 1));
  }
  return ZPT_OK;
}

static int reserve_out(zpt_trainer *t, size_t n_vars, size_t batch) {
  size_t count, bytes;
  if (zpt_mul_size(n_vars, batch, &count) ||
      zpt_mul_size(count, t->M * sizeof(float), &bytes))
    return zpt_fail_context(ZPT_ERANGE, "trainer: output buffer: ");
  return zpt_buffer_reserve(&t->out, bytes, "query outputs");
}

/* Losses of n variations' outputs. */
static int losses_of(zpt_trainer *t, const float *out, size_t n,
                     const float *targets, size_t batch, double *loss) {
  for (size_t v = 0; v < n; v++) {
    int rc = zpt_loss_eval(&t->cfg.loss, out + v * batch * t->M, targets,
                           batch, t->M, NULL, &loss[v]);
    if (rc)
      return zpt_fail_context(rc, "iteration %llu, variation %zu: ",
                              (unsigned long long)t->c.iterations, v);
  }
  return ZPT_OK;
}

/* ---- Fisher update ------------------------------------------------------ */

/* Jacobian of block b from n_b coordinate queries plus the base query
 * (outputs[0]), F_new = (1/B) sum J^T G J, update of the block.  On return
 * *base_loss is the loss of the base query. */
static int fisher_update(zpt_trainer *t, size_t b, const float *inputs,
                         const float *targets, size_t batch,
                         double *base_loss) {
  const size_t nb = zpt_block_len(t->blocks, b), off = t->blocks->offset[b];
  const size_t M = t->M;
  const float eps = (float)t->cfg.jac_eps;
  for (size_t j = 0; j < nb; j++) {
    /* the step the backend realises in float: fl(theta + eps) - theta */
    float moved = t->theta[off + j] + eps * t->one;
    t->jac_step[j] = (double)moved - (double)t->theta[off + j];
    if (t->jac_step[j] == 0)
      return zpt_fail(ZPT_EINVAL, "Fisher block %zu: jac_eps = %g does not "
                      "change theta[%zu] = %g in single precision", b,
                      t->cfg.jac_eps, off + j, (double)t->theta[off + j]);
  }
  ZPT_TRY(reserve_out(t, 1 + nb, batch));
  float *out = t->out.data;
  /* the base query and the n_b coordinate queries, described one black-box
   * call at a time (the calls run_queries would make) */
  const size_t chunk = call_size(t);
  for (size_t v0 = 0; v0 < 1 + nb; v0 += chunk) {
    size_t k = 1 + nb - v0 < chunk ? 1 + nb - v0 : chunk;
    for (size_t v = v0; v < v0 + k; v++)
      t->vars[v - v0] = v == 0 ? (zpt_variation){0, 0, 0.0f, NULL}
                               : (zpt_variation){off + v - 1, 1, eps, &t->one};
    ZPT_TRY(run_queries(t, t->vars, k, inputs, batch, out + v0 * batch * M,
                        t->c.queries + v0, "Jacobian"));
  }
  ZPT_TRY(losses_of(t, out, 1, targets, batch, base_loss));
  /* per sample: J (M x n_b), Z = R J in place, F_new += Z^T Z */
  double *J = t->jz.data;
  ZPT_TRY(zpt_fisher_accum_begin(t->fisher, b));
  for (size_t i = 0; i < batch; i++) {
    const float *y0 = out + i * M;
    for (size_t j = 0; j < nb; j++) {
      const float *yj = out + ((1 + j) * batch + i) * M;
      for (size_t m = 0; m < M; m++)
        J[m * nb + j] = ((double)yj[m] - (double)y0[m]) / t->jac_step[j];
    }
    int rc = zpt_loss_fisher_rows(&t->cfg.loss, y0, J, M, nb, J);
    if (rc)
      return zpt_fail_context(rc, "Fisher block %zu, sample %zu: ", b, i);
    zpt_fisher_accum(t->fisher, J, M);
  }
  int rc = zpt_fisher_update(t->fisher, b, 1.0 / (double)batch);
  if (rc)
    return zpt_fail_context(rc, "iteration %llu: ",
                            (unsigned long long)t->c.iterations);
  return ZPT_OK;
}

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

/* The Q perturbations of iteration iter (blocks already in u_block).  Each
 * comes from its own stream, so the order of the draws does not matter:
 * a sampler that defers its work (ZO-NP) gets those of the same block one
 * after the other, which it solves together. */
static void draw_all(zpt_trainer *t, uint64_t iter) {
  const size_t Q = t->cfg.q;
  for (size_t q = 0; q < Q; q++)
    t->u_order[q] = (uint64_t)t->u_block[q] * Q + q;
  if (t->sampler->flush && Q > 1)
    qsort(t->u_order, Q, sizeof *t->u_order, cmp_u64);
  for (size_t k = 0; k < Q; k++) {
    size_t q = (size_t)(t->u_order[k] % Q);
    draw_raw(t, iter, q, t->u_block[q], t->u + q * t->u_stride, &t->u_off[q],
             &t->u_len[q]);
  }
  flush_draws(t);
  for (size_t q = 0; q < Q; q++)
    normalise(t, t->u + q * t->u_stride, t->u_len[q]);
}

int zpt_trainer_draw(zpt_trainer *t, uint64_t iter, size_t q, size_t block,
                     float *u, size_t *off, size_t *len) {
  if (block >= t->blocks->n_blocks)
    return zpt_fail(ZPT_EINVAL, "draw: block %zu of %zu", block,
                    t->blocks->n_blocks);
  draw_raw(t, iter, q, block, u, off, len);
  flush_draws(t);
  normalise(t, u, *len);
  return ZPT_OK;
}

/* ---- learning-rate schedule --------------------------------------------- */

double zpt_trainer_lr(const zpt_trainer *t) {
  const zpt_zo_config *c = &t->cfg;
  if (c->lr_schedule != ZPT_LR_COSINE || c->budget == 0)
    return c->optim.lr;
  double s = (double)t->c.queries / (double)c->budget;
  if (s > 1)
    s = 1;
  return c->lr_final + (c->optim.lr - c->lr_final) * 0.5 * (1 + cos(M_PI * s));
}

/* ---- one iteration ------------------------------------------------------ */

static int iterate(zpt_trainer *t, const float *inputs, const float *targets,
                   size_t batch, zpt_iter_info *info, double t_start) {
  const size_t Q = t->cfg.q;
  const int central = t->cfg.diff == ZPT_DIFF_CENTRAL;
  const double h = t->cfg.mu / sqrt((double)t->N);
  const uint64_t iter = t->c.iterations;
  uint64_t q_base = 0, q_jac = 0, q_pert = 0;
  double base_loss = NAN;
  int fisher_now = fisher_due(t);
  size_t fb = t->next_fblock;
  if (fisher_now) {
    double tf = zpt_now();
    ZPT_TRY(fisher_update(t, fb, inputs, targets, batch, &base_loss));
    t->failed = 1; /* the Fisher store changed: no rollback possible */
    q_base = 1;
    q_jac = zpt_block_len(t->blocks, fb);
    t->c.fisher_updates++;
    refresh_fisher_schedule(t, 1);
    t->c.fisher_seconds += zpt_now() - tf;
  }
  /* perturbations (after the Fisher update: they use the new Sigma_b) */
  for (size_t q = 0; q < Q; q++)
    t->u_block[q] = t->cfg.mode == ZPT_PERTURB_BLOCK ? next_perturb_block(t) : 0;
  draw_all(t, iter);
  /* the variations of this call */
  size_t nv = 0;
  int with_base = !central && !fisher_now;
  if (with_base)
    t->vars[nv++] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t q = 0; q < Q; q++) {
    const float *uq = t->u + q * t->u_stride;
    t->vars[nv++] = (zpt_variation){t->u_off[q], t->u_len[q], (float)h, uq};
    if (central)
      t->vars[nv++] = (zpt_variation){t->u_off[q], t->u_len[q], (float)-h, uq};
  }
  ZPT_TRY(reserve_out(t, nv, batch));
  uint64_t first = t->c.queries + q_base + q_jac;
  ZPT_TRY(run_queries(t, t->vars, nv, inputs, batch, t->out.data, first,
                      "perturbed"));
  ZPT_TRY(losses_of(t, t->out.data, nv, targets, batch, t->var_loss));
  q_base += (uint64_t)with_base;
  q_pert = 2 * Q * (uint64_t)central + Q * (uint64_t)!central;
  const double *lp = t->var_loss + with_base;
  if (with_base)
    base_loss = t->var_loss[0];
  /* g = (lambda / Q) sum_q dl_q u_q */
  memset(t->grad, 0, t->N * sizeof(float));
  double reported = 0;
  for (size_t q = 0; q < Q; q++) {
    double dl;
    if (central) {
      dl = (lp[2 * q] - lp[2 * q + 1]) / (2 * h);
      reported += lp[2 * q] + lp[2 * q + 1];
    } else {
      dl = (lp[q] - base_loss) / h;
    }
    const float coef = (float)(t->cfg.lambda / (double)Q * dl);
    const float *uq = t->u + q * t->u_stride;
    float *g = t->grad + t->u_off[q];
    for (size_t k = 0; k < t->u_len[q]; k++)
      g[k] += coef * uq[k];
  }
  for (size_t k = 0; k < t->N; k++)
    if (!isfinite(t->grad[k]))
      return zpt_fail(ZPT_ENUMERIC, "iteration %llu: non-finite gradient "
                      "estimate at theta[%zu]", (unsigned long long)iter, k);
  t->opt->set_lr(t->opt_state, zpt_trainer_lr(t));
  t->opt->step(t->opt_state, t->theta, t->grad);
  /* accounting */
  uint64_t nq = q_base + q_jac + q_pert;
  t->c.base_queries += q_base;
  t->c.jacobian_queries += q_jac;
  t->c.perturbed_queries += q_pert;
  t->c.queries += nq;
  t->c.sample_forwards += nq * batch;
  t->c.iterations++;
  if (t->fisher) {
    t->c.fisher_blocks = t->fisher->n_present;
    t->c.chol_jitters = t->fisher->n_jitter;
  }
  double dt = zpt_now() - t_start;
  t->c.iter_seconds += dt;
  t->failed = 0;
  if (info) {
    info->loss = central ? reported / (2.0 * Q) : base_loss;
    if (central && fisher_now)
      info->loss = base_loss;
    info->queries = nq;
    info->fisher_updated = fisher_now;
    info->fisher_block = fisher_now ? fb : 0;
    info->seconds = dt;
  }
  return ZPT_OK;
}

int zpt_trainer_iterate(zpt_trainer *t, const float *inputs,
                        const float *targets, size_t batch,
                        zpt_iter_info *info) {
  double t0 = zpt_now();
  if (t->failed)
    return zpt_fail(ZPT_EINVAL, "trainer: an earlier iteration failed after "
                    "changing the trainer's state (iteration %llu); load a "
                    "checkpoint to continue",
                    (unsigned long long)t->c.iterations);
  if (!inputs || !targets || batch == 0)
    return zpt_fail(ZPT_EINVAL, "iteration %llu: empty mini-batch (inputs "
                    "%p, targets %p, batch %zu)",
                    (unsigned long long)t->c.iterations, (const void *)inputs,
                    (const void *)targets, batch);
  if (t->bb->max_batch && batch > t->bb->max_batch)
    return zpt_fail(ZPT_EINVAL, "iteration %llu: mini-batch of %zu samples, "
                    "black box '%s' takes at most %zu per query",
                    (unsigned long long)t->c.iterations, batch,
                    t->bb->type->name, t->bb->max_batch);
  uint64_t cost = zpt_trainer_next_cost(t);
  if (t->cfg.budget && t->c.queries + cost > t->cfg.budget)
    return zpt_fail(ZPT_EBUDGET, "query budget %llu: %llu spent, iteration "
                    "%llu needs %llu more%s",
                    (unsigned long long)t->cfg.budget,
                    (unsigned long long)t->c.queries,
                    (unsigned long long)t->c.iterations,
                    (unsigned long long)cost,
                    fisher_due(t) ? " (including a Fisher block's Jacobian)"
                                  : "");
  const uint64_t p0 = t->c.perturbations;
  int rc = iterate(t, inputs, targets, batch, info, t0);
  if (rc && !t->failed && t->cfg.mode == ZPT_PERTURB_BLOCK &&
      t->c.perturbations != p0) {
    /* nothing but the block cycle moved: roll it back (it is a function of
     * the perturbation count), so the failed iteration leaves no trace */
    const size_t nb = t->blocks->n_blocks;
    t->c.perturbations = p0;
    make_perm(t, t->perm_perturb, p0 / nb, BLOCK_PERTURB_PERM);
  }
  return rc;
}

/* ---- evaluation --------------------------------------------------------- */

int zpt_zo_evaluate(zpt_blackbox *bb, const float *theta,
                    const zpt_loss *loss, const float *inputs,
                    const float *targets, size_t n, size_t batch,
                    uint64_t first_query, zpt_eval_result *res) {
  memset(res, 0, sizeof *res);
  res->accuracy = NAN;
  if (n == 0 || !inputs || !targets)
    return zpt_fail(ZPT_EINVAL, "evaluate: empty data set");
  ZPT_TRY(zpt_loss_check(loss, bb->output_size));
  if (batch == 0)
    batch = bb->max_batch ? bb->max_batch : 256;
  if (bb->max_batch && batch > bb->max_batch)
    batch = bb->max_batch;
  if (batch > n)
    batch = n;
  const size_t M = bb->output_size, ts = zpt_loss_target_size(loss, M);
  float *out = zpt_floats(batch * M, "evaluation outputs");
  if (!out)
    return ZPT_ENOMEM;
  zpt_variation base = {0, 0, 0.0f, NULL};
  double total = 0;
  int rc = ZPT_OK;
  for (size_t s = 0; s < n && rc == ZPT_OK; s += batch) {
    size_t k = n - s < batch ? n - s : batch;
    rc = zpt_blackbox_query(bb, theta, &base, 1, inputs + s * bb->input_size,
                            k, out, first_query + res->queries);
    if (rc) {
      zpt_fail_context(rc, "evaluate: black box '%s' failed on samples "
                       "%zu..%zu: ", bb->type->name, s, s + k - 1);
      break;
    }
    res->queries++;
    double mean;
    rc = zpt_loss_eval(loss, out, targets + s * ts, k, M, NULL, &mean);
    if (rc) {
      zpt_fail_context(rc, "evaluate: samples %zu..%zu: ", s, s + k - 1);
      break;
    }
    total += mean * (double)k;
    if (loss->kind == ZPT_LOSS_XENT)
      rc = zpt_metric_accuracy(loss, out, targets + s * ts, k, M,
                               &res->correct, &res->total);
  }
  zpt_free(out);
  if (rc)
    return rc;
  res->n = n;
  res->loss = total / (double)n;
  if (res->total)
    res->accuracy = (double)res->correct / (double)res->total;
  return ZPT_OK;
}

int zpt_trainer_evaluate(zpt_trainer *t, const float *inputs,
                         const float *targets, size_t n, size_t batch,
                         zpt_eval_result *res) {
  int rc = zpt_zo_evaluate(t->bb, t->theta, &t->cfg.loss, inputs, targets, n,
                           batch, ZPT_EVAL_QUERY_BASE + t->c.eval_queries,
                           res);
  /* every sample of every successful chunk went through one forward */
  t->c.eval_queries += res->queries;
  t->c.eval_sample_forwards += rc == ZPT_OK ? n : 0;
  return rc;
}

/* ---- accessors ---------------------------------------------------------- */

const float *zpt_trainer_theta(const zpt_trainer *t) { return t->theta; }
void zpt_trainer_set_theta(zpt_trainer *t, const float *theta) {
  memcpy(t->theta, theta, t->N * sizeof(float));
}
const float *zpt_trainer_gradient(const zpt_trainer *t) { return t->grad; }
size_t zpt_trainer_n_params(const zpt_trainer *t) { return t->N; }
const zpt_zo_counters *zpt_trainer_counters(const zpt_trainer *t) {
  return &t->c;
}
const zpt_blocks *zpt_trainer_blocks(const zpt_trainer *t) {
  return t->blocks;
}
const zpt_fisher *zpt_trainer_fisher(const zpt_trainer *t) {
  return t->fisher;
}
const zpt_zo_config *zpt_trainer_config(const zpt_trainer *t) {
  return &t->cfg;
}

/* ---- checkpoints -------------------------------------------------------- */

#define N_COUNTERS 12
#define N_SHAPE 10

static void shape_of(const zpt_trainer *t, uint64_t s[N_SHAPE]) {
  s[0] = ZPT_TRAINER_FORMAT;
  s[1] = t->N;
  s[2] = t->M;
  s[3] = t->blocks->n_blocks;
  s[4] = (uint64_t)t->cfg.method;
  s[5] = (uint64_t)t->cfg.mode;
  s[6] = t->cfg.q;
  s[7] = (uint64_t)t->cfg.diff;
  s[8] = (uint64_t)t->cfg.optimizer;
  s[9] = t->cfg.seed;
}

static const char *const shape_names[N_SHAPE] = {
    "format version", "n_params", "output_size", "number of blocks", "method",
    "perturbation mode", "q", "difference type", "optimizer", "seed"};

static void counters_out(const zpt_zo_counters *c, uint64_t v[N_COUNTERS]) {
  uint64_t a[N_COUNTERS] = {c->iterations,       c->queries,
                            c->base_queries,     c->perturbed_queries,
                            c->jacobian_queries, c->sample_forwards,
                            c->eval_queries,     c->eval_sample_forwards,
                            c->fisher_updates,   c->fisher_blocks,
                            c->chol_jitters,     c->perturbations};
  memcpy(v, a, sizeof a);
}

static void counters_in(zpt_zo_counters *c, const uint64_t v[N_COUNTERS]) {
  c->iterations = v[0];
  c->queries = v[1];
  c->base_queries = v[2];
  c->perturbed_queries = v[3];
  c->jacobian_queries = v[4];
  c->sample_forwards = v[5];
  c->eval_queries = v[6];
  c->eval_sample_forwards = v[7];
  c->fisher_updates = v[8];
  c->fisher_blocks = v[9];
  c->chol_jitters = v[10];
  c->perturbations = v[11];
}

static int put_perm(zpt_state_writer *w, const char *name, const size_t *p,
                    size_t n) {
  uint64_t *v = zpt_new_array(uint64_t, n, "permutation copy");
  if (!v)
    return ZPT_ENOMEM;
  for (size_t k = 0; k < n; k++)
    v[k] = p[k];
  int rc = w->put(w, name, ZPT_T_U64, v, n);
  zpt_free(v);
  return rc;
}

static int get_perm(zpt_state_reader *r, const char *name, size_t *p,
                    size_t n) {
  uint64_t *v = zpt_new_array(uint64_t, n, "permutation copy");
  unsigned char *seen = zpt_new_array(unsigned char, n, "permutation check");
  int rc = (!v || !seen) ? ZPT_ENOMEM : r->get(r, name, ZPT_T_U64, v, n);
  for (size_t k = 0; rc == ZPT_OK && k < n; k++) {
    if (v[k] >= n || seen[v[k]])
      rc = zpt_fail(ZPT_EFORMAT, "%s: entry %zu = %llu: not a permutation "
                    "of 0..%zu", name, k, (unsigned long long)v[k], n - 1);
    else
      seen[v[k]] = 1;
  }
  for (size_t k = 0; rc == ZPT_OK && k < n; k++)
    p[k] = (size_t)v[k];
  zpt_free(v);
  zpt_free(seen);
  return rc;
}

int zpt_trainer_save(const zpt_trainer *t, zpt_state_writer *w) {
  if (t->failed)
    return zpt_fail(ZPT_EINVAL, "trainer save: the trainer is in a failed "
                    "state (an iteration failed midway); refusing to write "
                    "an inconsistent checkpoint");
  uint64_t shape[N_SHAPE], cnt[N_COUNTERS];
  shape_of(t, shape);
  counters_out(&t->c, cnt);
  double secs[2] = {t->c.iter_seconds, t->c.fisher_seconds};
  ZPT_TRY(w->put(w, "zo/shape", ZPT_T_U64, shape, N_SHAPE));
  ZPT_TRY(w->put(w, "zo/theta", ZPT_T_F32, t->theta, t->N));
  ZPT_TRY(w->put(w, "zo/gradient", ZPT_T_F32, t->grad, t->N));
  ZPT_TRY(w->put(w, "zo/counters", ZPT_T_U64, cnt, N_COUNTERS));
  ZPT_TRY(w->put(w, "zo/seconds", ZPT_T_F64, secs, 2));
  ZPT_TRY(put_perm(w, "zo/perm_perturb", t->perm_perturb, t->blocks->n_blocks));
  ZPT_TRY(put_perm(w, "zo/perm_fisher", t->perm_fisher, t->blocks->n_blocks));
  ZPT_TRY(t->opt->save(t->opt_state, w, "zo/"));
  if (t->fisher)
    ZPT_TRY(zpt_fisher_save(t->fisher, w, "zo/"));
  return ZPT_OK;
}

int zpt_trainer_load(zpt_trainer *t, zpt_state_reader *r) {
  uint64_t shape[N_SHAPE], want[N_SHAPE], cnt[N_COUNTERS];
  double secs[2];
  int rc = r->get(r, "zo/shape", ZPT_T_U64, shape, N_SHAPE);
  if (rc)
    return zpt_fail_context(rc, "trainer load: ");
  shape_of(t, want);
  for (int k = 0; k < N_SHAPE; k++)
    if (shape[k] != want[k])
      return zpt_fail(ZPT_EFORMAT, "trainer load: checkpoint %s is %llu, "
                      "this trainer has %llu", shape_names[k],
                      (unsigned long long)shape[k],
                      (unsigned long long)want[k]);
  /* from here a failure leaves a partly loaded trainer: mark it failed */
  t->failed = 1;
  if ((rc = r->get(r, "zo/theta", ZPT_T_F32, t->theta, t->N)) ||
      (rc = r->get(r, "zo/gradient", ZPT_T_F32, t->grad, t->N)) ||
      (rc = r->get(r, "zo/counters", ZPT_T_U64, cnt, N_COUNTERS)) ||
      (rc = r->get(r, "zo/seconds", ZPT_T_F64, secs, 2)) ||
      (rc = get_perm(r, "zo/perm_perturb", t->perm_perturb,
                     t->blocks->n_blocks)) ||
      (rc = get_perm(r, "zo/perm_fisher", t->perm_fisher,
                     t->blocks->n_blocks)) ||
      (rc = t->opt->load(t->opt_state, r, "zo/")) ||
      (t->fisher && (rc = zpt_fisher_load(t->fisher, r, "zo/"))))
    return zpt_fail_context(rc, "trainer load: ");
  counters_in(&t->c, cnt);
  t->c.iter_seconds = secs[0];
  t->c.fisher_seconds = secs[1];
  if (t->fisher && t->fisher->n_present != t->c.fisher_blocks)
    return zpt_fail(ZPT_EFORMAT, "trainer load: counters say %llu blocks "
                    "have a Fisher estimate, the checkpoint holds %zu",
                    (unsigned long long)t->c.fisher_blocks,
                    t->fisher->n_present);
  refresh_fisher_schedule(t, 0);
  t->failed = 0;
  return ZPT_OK;
}
