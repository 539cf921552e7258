/* The zeroth-order trainer (see trainer.h and docs/method.md): its
 * configuration, allocation and accessors.  The iteration is in
 * trainer_step.c; see trainer_internal.h for the other parts. */
#include "zo/trainer_internal.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"

void zpt_zo_config_default(zpt_zo_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->method = ZPT_ZO_NP;
  cfg->mode = ZPT_PERTURB_BLOCK;
  cfg->q = 20;
  cfg->mu = 1e-3;
  cfg->lambda = 1.0;
  cfg->n_max = 512;
  cfg->normalize = ZPT_NORMALIZE_AUTO;
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
  cfg->sparse_frac = 0.1;
  cfg->guided_k = 4;
  cfg->guided_alpha = 0.5;
  cfg->adapt_beta = 0.99;
  cfg->adapt_floor = 0.1;
  cfg->cmaes_sigma = 0.1;
  cfg->cmaes_lambda = 0;
  cfg->cmaes_full_max = 2000;
}

#define N_METHODS 7

const char *zpt_zo_method_name(zpt_zo_method m) {
  static const char *const names[N_METHODS] = {
      "zo-i", "zo-co", "zo-np", "zo-sparse", "zo-guided", "zo-adapt", "cmaes"};
  return (unsigned)m < N_METHODS ? names[m] : "unknown";
}

int zpt_zo_method_parse(const char *name, zpt_zo_method *m) {
  for (int k = 0; k < N_METHODS; k++)
    if (name && !strcmp(name, zpt_zo_method_name((zpt_zo_method)k))) {
      *m = (zpt_zo_method)k;
      return ZPT_OK;
    }
  return zpt_fail(ZPT_EINVAL, "zo method '%s': not one of zo-i, zo-co, zo-np, "
                  "zo-sparse, zo-guided, zo-adapt, cmaes", name ? name : "(null)");
}

/* The sampler table entry of a perturbation method (NULL for CMA-ES). */
static const zpt_sampler_type *sampler_of(zpt_zo_method m) {
  switch (m) {
  case ZPT_ZO_I: return zpt_sampler_zo_i;
  case ZPT_ZO_CO: return zpt_sampler_zo_co;
  case ZPT_ZO_NP: return zpt_sampler_zo_np;
  case ZPT_ZO_SPARSE: return zpt_sampler_zo_sparse;
  case ZPT_ZO_GUIDED: return zpt_sampler_zo_guided;
  case ZPT_ZO_ADAPT: return zpt_sampler_zo_adapt;
  case ZPT_ZO_CMAES: return NULL;
  }
  return NULL;
}

static int finite_pos(double x) { return x > 0 && isfinite(x); }

/* The reading-list samplers' and CMA-ES's settings (checked whatever the
 * method, so that a bad value never waits for the method that reads it). */
static int extra_check(const zpt_zo_config *cfg) {
  if (!(cfg->sparse_frac > 0 && cfg->sparse_frac <= 1))
    return zpt_fail(ZPT_EINVAL, "zo config: sparse_frac must be in (0, 1], "
                    "got %g", cfg->sparse_frac);
  if (cfg->guided_k < 1)
    return zpt_fail(ZPT_EINVAL, "zo config: guided_k must be >= 1");
  if (!(cfg->guided_alpha > 0 && cfg->guided_alpha <= 1))
    return zpt_fail(ZPT_EINVAL, "zo config: guided_alpha must be in (0, 1], "
                    "got %g", cfg->guided_alpha);
  if (!(cfg->adapt_beta > 0 && cfg->adapt_beta < 1))
    return zpt_fail(ZPT_EINVAL, "zo config: adapt_beta must be in (0, 1), "
                    "got %g", cfg->adapt_beta);
  if (!(cfg->adapt_floor > 0 && cfg->adapt_floor <= 1))
    return zpt_fail(ZPT_EINVAL, "zo config: adapt_floor must be in (0, 1], "
                    "got %g", cfg->adapt_floor);
  if (!finite_pos(cfg->cmaes_sigma))
    return zpt_fail(ZPT_EINVAL, "zo config: cmaes_sigma must be finite and > "
                    "0, got %g", cfg->cmaes_sigma);
  if (cfg->cmaes_lambda == 1)
    return zpt_fail(ZPT_EINVAL, "zo config: cmaes_lambda = 1: need 0 "
                    "(Hansen's default) or >= 2");
  return ZPT_OK;
}

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
  if ((unsigned)cfg->method >= N_METHODS)
    return zpt_fail(ZPT_EINVAL, "zo config: method %d is not one of "
                    "ZPT_ZO_I .. ZPT_ZO_CMAES (0 .. %d)", (int)cfg->method,
                    N_METHODS - 1);
  ZPT_TRY(extra_check(cfg));
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

/* ---- allocation --------------------------------------------------------- */

void zpt_trainer_free(zpt_trainer *t) {
  if (!t)
    return;
  if (t->sampler)
    t->sampler->free(t->sampler_state);
  zpt_cmaes_free(t->es);
  if (t->opt)
    t->opt->free(t->opt_state);
  zpt_blocks_free(t->blocks);
  zpt_rng_free(t->rng);
  zpt_free(t->cuts);
  if (t->owns_theta)
    zpt_free(t->theta);
  zpt_free(t->grad);
  zpt_free(t->u);
  zpt_free(t->u_off);
  zpt_free(t->u_len);
  zpt_free(t->u_block);
  zpt_free(t->u_order);
  zpt_free(t->u_list);
  zpt_free(t->vars);
  zpt_free(t->var_loss);
  zpt_free(t->jac_step);
  zpt_free(t->perm_perturb);
  zpt_free(t->perm_fisher);
  zpt_buffer_release(&t->out);
  zpt_buffer_release(&t->jz);
  zpt_free(t);
}

/* The sampler's state: the reading-list samplers take their zo.* settings,
 * the others zpt_sampler_settings. */
static int sampler_alloc(zpt_trainer *t) {
  const zpt_zo_config *c = &t->cfg;
  if (c->method == ZPT_ZO_SPARSE || c->method == ZPT_ZO_GUIDED ||
      c->method == ZPT_ZO_ADAPT) {
    zpt_sampler_extra_settings x = {c->sparse_frac, c->guided_k,
                                    c->guided_alpha, c->adapt_beta,
                                    c->adapt_floor};
    return zpt_sampler_extra_alloc(t->sampler, &t->sampler_state, t->blocks,
                                   &x);
  }
  zpt_sampler_settings ss = {c->rho, c->trace_norm, c->fisher_avg,
                             c->chol_jitter};
  return t->sampler->alloc(&t->sampler_state, t->blocks, &ss);
}

int zpt_zo_normalize_resolve(const zpt_zo_config *cfg) {
  if (cfg->normalize == ZPT_NORMALIZE_AUTO)
    return cfg->method != ZPT_ZO_NP;
  return cfg->normalize != 0;
}

/* A trainer working on theta (bb->n_params values); on success it frees
 * theta with itself when owns is set.  The config is checked. */

static int trainer_new(zpt_trainer **out, zpt_blackbox *bb, float *theta,
                       int owns, const zpt_zo_config *cfg) {
  zpt_trainer *t = zpt_new(zpt_trainer, "zo trainer");
  if (!t)
    return ZPT_ENOMEM;
  int rc = ZPT_OK;
  t->cfg = *cfg;
  t->cfg.normalize = zpt_zo_normalize_resolve(cfg);
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
  t->theta = theta;
  t->sampler = sampler_of(cfg->method);
  rc = t->sampler ? sampler_alloc(t) : zpt_tr_cmaes_alloc(t);
  if (rc)
    goto fail;
  t->fisher = t->sampler ? t->sampler->fisher(t->sampler_state) : NULL;
  t->opt = cfg->optimizer == ZPT_OPT_ADAM ? zpt_optimizer_adam
                                          : zpt_optimizer_sgd;
  rc = t->opt->alloc(&t->opt_state, t->N, &cfg->optim);
  if (rc)
    goto fail;
  const size_t Q = cfg->q, nb = t->blocks->n_blocks;
  /* the draws of an iteration: Q perturbations, or lambda candidates */
  const size_t n_u = t->es ? zpt_cmaes_lambda(t->es) : Q;
  t->u_stride = cfg->mode == ZPT_PERTURB_BLOCK && !t->es ? t->blocks->max_len
                                                         : t->N;
  size_t u_count;
  if (zpt_mul_size(n_u, t->u_stride, &u_count)) {
    rc = zpt_fail_context(ZPT_ERANGE, "trainer: %zu x %zu perturbation "
                          "values: ", n_u, t->u_stride);
    goto fail;
  }
  t->n_vars_cap = 2 * Q > Q + 1 ? 2 * Q : Q + 1;
  if (n_u > t->n_vars_cap)
    t->n_vars_cap = n_u;
  t->grad = zpt_floats(t->N, "gradient estimate");
  t->u = zpt_floats(u_count, "perturbations of one iteration");
  t->u_off = zpt_new_array(size_t, Q, "perturbation offsets");
  t->u_len = zpt_new_array(size_t, Q, "perturbation lengths");
  t->u_block = zpt_new_array(size_t, Q, "perturbation blocks");
  t->u_order = zpt_new_array(uint64_t, Q, "perturbation draw order");
  t->u_list = zpt_new_array(size_t, Q, "perturbations to draw");
  t->vars = zpt_new_array(zpt_variation, t->n_vars_cap, "variations");
  t->var_loss = zpt_doubles(t->n_vars_cap, "variation losses");
  t->perm_perturb = zpt_new_array(size_t, nb, "perturbation block cycle");
  t->perm_fisher = zpt_new_array(size_t, nb, "Fisher block cycle");
  if (t->fisher)
    t->jac_step = zpt_doubles(t->blocks->max_len, "Jacobian steps");
  if (!t->grad || !t->u || !t->u_off || !t->u_len ||
      !t->u_block || !t->u_order || !t->u_list || !t->vars ||
      !t->var_loss || !t->perm_perturb || !t->perm_fisher ||
      (t->fisher && !t->jac_step))
    goto nomem;
  if (t->fisher &&
      zpt_buffer_reserve(&t->jz, t->M * t->blocks->max_len * sizeof(double),
                         "Jacobian and Fisher rows of one sample"))
    goto nomem;
  t->owns_theta = owns;
  zpt_tr_make_perm(t, t->perm_perturb, 0, BLOCK_PERTURB_PERM);
  zpt_tr_make_perm(t, t->perm_fisher, 0, BLOCK_FISHER_PERM);
  zpt_tr_refresh_fisher_schedule(t, 0);
  *out = t;
  return ZPT_OK;
nomem:
  rc = ZPT_ENOMEM;
fail:
  zpt_trainer_free(t);
  return rc;
}

int zpt_trainer_alloc(zpt_trainer **out, zpt_blackbox *bb,
                      const float *theta0, const zpt_zo_config *cfg) {
  *out = NULL;
  ZPT_TRY(zpt_zo_config_check(cfg, bb));
  if (!theta0)
    return zpt_fail(ZPT_EINVAL, "trainer: NULL initial theta");
  float *theta = zpt_floats(bb->n_params, "theta");
  if (!theta)
    return ZPT_ENOMEM;
  memcpy(theta, theta0, bb->n_params * sizeof(float));
  int rc = trainer_new(out, bb, theta, 1, cfg);
  if (rc)
    zpt_free(theta);
  return rc;
}

int zpt_trainer_alloc_borrow(zpt_trainer **out, zpt_blackbox *bb, float *theta,
                             const zpt_zo_config *cfg) {
  *out = NULL;
  ZPT_TRY(zpt_zo_config_check(cfg, bb));
  if (!theta)
    return zpt_fail(ZPT_EINVAL, "trainer: NULL theta");
  return trainer_new(out, bb, theta, 0, cfg);
}

/* ---- accessors ---------------------------------------------------------- */

const float *zpt_trainer_theta(const zpt_trainer *t) { return t->theta; }
void zpt_trainer_set_theta(zpt_trainer *t, const float *theta) {
  if (theta != t->theta)
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
