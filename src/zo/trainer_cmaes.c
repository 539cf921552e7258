/* CMA-ES as a trainer method (zo.method = cmaes; docs/method.md §3).
 *
 * theta is the distribution mean (in single precision; the mean itself is
 * kept in double by cmaes.c), so evaluation, checkpoints and the caller see
 * the mean.  One iteration is one generation: ask() draws lambda steps y_k
 * from the stream (seed, ZPT_STREAM_PERTURB, iteration, 0), the black box
 * evaluates the candidates theta + sigma y_k -- each one query, all on the
 * iteration's mini-batch, described as variations like every other
 * method's perturbations -- and tell() updates the mean, the paths, C and
 * sigma from their losses.  Everything is a function of the saved state and
 * the seed, so every rank of an MPI run makes the same candidates and a
 * resumed run continues bit-identically.  No gradient estimate and no
 * optimizer step: zpt_trainer_gradient() stays 0. */
#include "zo/trainer_internal.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/timer.h"
#include "zo/state_io.h"

int zpt_tr_cmaes_alloc(zpt_trainer *t) {
  zpt_cmaes_settings s;
  zpt_cmaes_settings_default(&s);
  s.sigma0 = t->cfg.cmaes_sigma;
  s.lambda = t->cfg.cmaes_lambda;
  s.full_max = t->cfg.cmaes_full_max;
  double *m0 = zpt_doubles(t->N, "CMA-ES initial mean");
  if (!m0)
    return ZPT_ENOMEM;
  for (size_t i = 0; i < t->N; i++)
    m0[i] = t->theta[i];
  int rc = zpt_cmaes_alloc(&t->es, t->N, m0, &s);
  zpt_free(m0);
  return rc ? zpt_fail_context(rc, "zo method cmaes: ") : ZPT_OK;
}

/* A theta changed from outside (zpt_trainer_set_theta, the caller's store
 * of a borrowed theta) moves the mean to it; otherwise theta is the mean
 * rounded to float and nothing changes. */
static void sync_mean(zpt_trainer *t) {
  double *m = zpt_cmaes_mean_data(t->es);
  size_t i = 0;
  while (i < t->N && (float)m[i] == t->theta[i])
    i++;
  if (i == t->N)
    return;
  for (i = 0; i < t->N; i++)
    m[i] = t->theta[i];
}

int zpt_tr_cmaes_iterate(zpt_trainer *t, const float *inputs,
                         const float *targets, size_t batch,
                         zpt_iter_info *info, double t_start) {
  const size_t lam = zpt_cmaes_lambda(t->es), N = t->N;
  const uint64_t iter = t->c.iterations;
  sync_mean(t);
  zpt_rng_derive(t->rng, t->cfg.seed, ZPT_STREAM_PERTURB, iter, 0);
  zpt_cmaes_ask(t->es, t->rng, t->u); /* changes nothing tell() has not */
  const float sigma = (float)zpt_cmaes_sigma(t->es);
  for (size_t k = 0; k < lam; k++)
    t->vars[k] = (zpt_variation){0, N, sigma, t->u + k * N};
  ZPT_TRY(zpt_tr_reserve_out(t, lam, batch));
  ZPT_TRY(zpt_tr_run_queries(t, t->vars, lam, inputs, batch, t->out.data,
                             t->c.queries, "candidate"));
  ZPT_TRY(zpt_tr_losses_of(t, t->out.data, lam, targets, batch, t->var_loss));
  double mean_loss = 0;
  for (size_t k = 0; k < lam; k++) {
    if (!isfinite(t->var_loss[k]))
      return zpt_fail(ZPT_ENUMERIC, "iteration %llu: CMA-ES candidate %zu: "
                      "loss %g is not finite", (unsigned long long)iter, k,
                      t->var_loss[k]);
    mean_loss += t->var_loss[k];
  }
  int rc = zpt_cmaes_tell(t->es, t->var_loss);
  if (rc) {
    t->failed = 1; /* the update may have changed part of the state */
    return zpt_fail_context(rc, "iteration %llu: ", (unsigned long long)iter);
  }
  const double *m = zpt_cmaes_mean(t->es);
  for (size_t i = 0; i < N; i++)
    t->theta[i] = (float)m[i];
  t->c.perturbed_queries += lam;
  t->c.queries += lam;
  t->c.sample_forwards += (uint64_t)lam * batch;
  t->c.iterations++;
  double dt = zpt_now() - t_start;
  t->c.iter_seconds += dt;
  if (info) {
    info->loss = mean_loss / (double)lam;
    info->queries = lam;
    info->fisher_updated = 0;
    info->fisher_block = 0;
    info->seconds = dt;
  }
  return ZPT_OK;
}

/* ---- checkpoint: "zo/cmaes/shape" = {lambda, full}, then the arrays ---- */

static void es_shape(const zpt_trainer *t, uint64_t s[2]) {
  s[0] = zpt_cmaes_lambda(t->es);
  s[1] = (uint64_t)zpt_cmaes_is_full(t->es);
}

/* The arrays of zpt_cmaes_state_get as "zo/cmaes/<name>": saved (w) or
 * loaded (r). */
static int es_arrays_io(zpt_cmaes *es, zpt_state_writer *w,
                        zpt_state_reader *r) {
  for (size_t i = 0; i < zpt_cmaes_state_count(es); i++) {
    const char *key;
    double *data;
    size_t len;
    zpt_cmaes_state_get(es, i, &key, &data, &len);
    ZPT_TRY(zpt_state_xfer(w, r, "zo/cmaes/", key, ZPT_T_F64, data, len));
  }
  return ZPT_OK;
}

int zpt_tr_cmaes_save(const zpt_trainer *t, zpt_state_writer *w) {
  uint64_t shape[2];
  es_shape(t, shape);
  ZPT_TRY(w->put(w, "zo/cmaes/shape", ZPT_T_U64, shape, 2));
  return es_arrays_io(t->es, w, NULL); /* only read */
}

int zpt_tr_cmaes_load(zpt_trainer *t, zpt_state_reader *r) {
  uint64_t shape[2], want[2];
  es_shape(t, want);
  ZPT_TRY(r->get(r, "zo/cmaes/shape", ZPT_T_U64, shape, 2));
  if (shape[0] != want[0] || shape[1] != want[1])
    return zpt_fail(ZPT_EFORMAT, "zo/cmaes/shape: the checkpoint's CMA-ES has "
                    "lambda %llu, %s covariance; this trainer's lambda %llu, "
                    "%s", (unsigned long long)shape[0],
                    shape[1] ? "full" : "separable", (unsigned long long)want[0],
                    want[1] ? "full" : "separable");
  return es_arrays_io(t->es, NULL, r);
}
