/* The trainer's black-box queries and the Fisher update of a block from
 * its finite-difference Jacobian. */
#include "zo/trainer_internal.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

/* ---- queries ------------------------------------------------------------ */

/* Queries of an iteration without a Fisher update: Q + 1, 2Q, or CMA-ES's
 * lambda candidates (<= n_vars_cap). */
size_t zpt_tr_iter_vars(const zpt_trainer *t) {
  if (t->es)
    return zpt_cmaes_lambda(t->es);
  return t->cfg.diff == ZPT_DIFF_CENTRAL ? 2 * t->cfg.q : t->cfg.q + 1;
}

/* Variations per black-box call: the black box's max_vars, at most one
 * iteration's worth. */
static size_t call_size(const zpt_trainer *t) {
  size_t iter_vars = zpt_tr_iter_vars(t);
  return t->bb->max_vars && t->bb->max_vars < iter_vars ? t->bb->max_vars
                                                         : iter_vars;
}

/* Runs n variations on the batch into out (n x batch x M), in chunks of the
 * black box's max_vars and at most one iteration's worth (Q+1 or 2Q)
 * each, numbering queries from first.  The second bound keeps the backend's
 * workspace of a Fisher update's n_b Jacobian queries at the size of an
 * iteration's (bench: ZO-NP's peak RSS on the CNN went from 70 to ~30 MB). */
int zpt_tr_run_queries(zpt_trainer *t, const zpt_variation *vars, size_t n,
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

int zpt_tr_reserve_out(zpt_trainer *t, size_t n_vars, size_t batch) {
  size_t count, bytes;
  if (zpt_mul_size(n_vars, batch, &count) ||
      zpt_mul_size(count, t->M * sizeof(float), &bytes))
    return zpt_fail_context(ZPT_ERANGE, "trainer: output buffer: ");
  return zpt_buffer_reserve(&t->out, bytes, "query outputs");
}

/* Losses of n variations' outputs. */
int zpt_tr_losses_of(zpt_trainer *t, const float *out, size_t n,
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
int zpt_tr_fisher_update(zpt_trainer *t, size_t b, const float *inputs,
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
  ZPT_TRY(zpt_tr_reserve_out(t, 1 + nb, batch));
  float *out = t->out.data;
  /* the base query and the n_b coordinate queries, described one black-box
   * call at a time (the calls run_queries would make) */
  const size_t chunk = call_size(t);
  for (size_t v0 = 0; v0 < 1 + nb; v0 += chunk) {
    size_t k = 1 + nb - v0 < chunk ? 1 + nb - v0 : chunk;
    for (size_t v = v0; v < v0 + k; v++)
      t->vars[v - v0] = v == 0 ? (zpt_variation){0, 0, 0.0f, NULL}
                               : (zpt_variation){off + v - 1, 1, eps, &t->one};
    ZPT_TRY(zpt_tr_run_queries(t, t->vars, k, inputs, batch,
                               out + v0 * batch * M, t->c.queries + v0,
                               "Jacobian"));
  }
  ZPT_TRY(zpt_tr_losses_of(t, out, 1, targets, batch, base_loss));
  /* per sample: J (M x n_b), Z = R J in place, F_new += Z^T Z */
  double *J = t->jz.data;
  ZPT_TRY(zpt_fisher_accum_begin(t->fisher, b));
  for (size_t i = 0; i < batch; i++) {
    const float *y0 = out + i * M;
    for (size_t j = 0; j < nb; j++) {
      const float *yj = out + ((1 + j) * batch + i) * M;
      /* on the device that evaluated column j (blackbox.h, device_base) */
      const float *dev = zpt_blackbox_device_base(t->bb, t->c.queries + 1 + j, NULL);
      const float *b0 = dev ? dev + i * M : y0;
      for (size_t m = 0; m < M; m++)
        J[m * nb + j] = ((double)yj[m] - (double)b0[m]) / t->jac_step[j];
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
