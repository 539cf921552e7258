/* One iteration of the zeroth-order trainer (the Fisher update when due,
 * the perturbations' queries and losses by trainer_share.c, the gradient
 * estimate, the update) and evaluation. */
#include "zo/trainer_internal.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/timer.h"

/* ---- one iteration ------------------------------------------------------ */

static int iterate(zpt_trainer *t, const float *inputs, const float *targets,
                   size_t batch, zpt_iter_info *info, double t_start) {
  const size_t Q = t->cfg.q;
  const int central = t->cfg.diff == ZPT_DIFF_CENTRAL;
  const double h = t->cfg.mu / sqrt((double)t->N);
  const uint64_t iter = t->c.iterations;
  uint64_t q_base = 0, q_jac = 0, q_pert = 0;
  double base_loss = NAN;
  int fisher_now = zpt_tr_fisher_due(t);
  size_t fb = t->next_fblock;
  if (fisher_now) {
    double tf = zpt_now();
    ZPT_TRY(zpt_tr_fisher_update(t, fb, inputs, targets, batch, &base_loss));
    t->failed = 1; /* the Fisher store changed: no rollback possible */
    q_base = 1;
    q_jac = zpt_block_len(t->blocks, fb);
    t->c.fisher_updates++;
    zpt_tr_refresh_fisher_schedule(t, 1);
    t->c.fisher_seconds += zpt_now() - tf;
  }
  /* perturbations (after the Fisher update: they use the new Sigma_b) */
  for (size_t q = 0; q < Q; q++)
    t->u_block[q] =
        t->cfg.mode == ZPT_PERTURB_BLOCK ? zpt_tr_next_perturb_block(t) : 0;
  const int with_base = !central && !fisher_now;
  uint64_t first = t->c.queries + q_base + q_jac;
  /* draws, queries, losses: here or shared out (trainer_share.c) */
  ZPT_TRY(zpt_tr_query_iteration(t, with_base, h, inputs, targets, batch,
                                 first));
  q_base += (uint64_t)with_base;
  q_pert = 2 * Q * (uint64_t)central + Q * (uint64_t)!central;
  const double *lp = t->var_loss + with_base;
  if (with_base)
    base_loss = t->var_loss[0];
  /* g = (lambda / Q) sum_q dl_q u_q */
  memset(t->grad, 0, t->N * sizeof(float));
  double reported = 0, dev_loss = base_loss;
  const float *dev = NULL; /* several devices: the base dev_loss is of */
  for (size_t q = 0; q < Q; q++) {
    double dl;
    if (central) {
      dl = (lp[2 * q] - lp[2 * q + 1]) / (2 * h);
      reported += lp[2 * q] + lp[2 * q + 1];
    } else {
      /* on the device that evaluated query q (blackbox.h, device_base) */
      const float *y0 = zpt_blackbox_device_base(t->bb, first + with_base + q, NULL);
      if (y0 && y0 != dev)
        ZPT_TRY(zpt_tr_losses_of(t, y0, 1, targets, batch, &dev_loss));
      dev = y0;
      dl = (lp[q] - (y0 ? dev_loss : base_loss)) / h;
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
  if (t->sampler->observe) /* adaptive samplers learn from the estimate */
    t->sampler->observe(t->sampler_state, t->grad, t->N);
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
                    zpt_tr_fisher_due(t) ? " (including a Fisher block's Jacobian)"
                                  : "");
  const uint64_t p0 = t->c.perturbations;
  int rc = t->es ? zpt_tr_cmaes_iterate(t, inputs, targets, batch, info, t0)
                 : iterate(t, inputs, targets, batch, info, t0);
  if (rc && !t->failed && t->cfg.mode == ZPT_PERTURB_BLOCK &&
      t->c.perturbations != p0) {
    /* nothing but the block cycle moved: roll it back (it is a function of
     * the perturbation count), so the failed iteration leaves no trace */
    const size_t nb = t->blocks->n_blocks;
    t->c.perturbations = p0;
    zpt_tr_make_perm(t, t->perm_perturb, p0 / nb, BLOCK_PERTURB_PERM);
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
