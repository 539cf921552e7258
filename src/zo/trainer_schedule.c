/* The trainer's schedules: block cycles of perturbations and Fisher
 * updates, the query cost of the next iteration, the learning rate. */
#include "zo/trainer_internal.h"

#include <math.h>

#include "core/rng.h"

/* ---- block schedules ---------------------------------------------------- */

void zpt_tr_make_perm(zpt_trainer *t, size_t *perm, uint64_t cycle,
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
void zpt_tr_refresh_fisher_schedule(zpt_trainer *t, int regen) {
  if (!t->fisher)
    return;
  const size_t nb = t->blocks->n_blocks;
  uint64_t k = t->c.fisher_updates;
  if (t->cfg.fisher_schedule == ZPT_FISHER_CYCLE && regen && k % nb == 0)
    zpt_tr_make_perm(t, t->perm_fisher, k / nb, BLOCK_FISHER_PERM);
  t->next_fblock = fisher_block_of(t, k);
}

/* Block of the next perturbation in block-coordinate mode; advances. */
size_t zpt_tr_next_perturb_block(zpt_trainer *t) {
  const size_t nb = t->blocks->n_blocks;
  size_t b = t->perm_perturb[t->c.perturbations % nb];
  t->c.perturbations++;
  if (t->c.perturbations % nb == 0)
    zpt_tr_make_perm(t, t->perm_perturb, t->c.perturbations / nb,
                     BLOCK_PERTURB_PERM);
  return b;
}

int zpt_tr_fisher_due(const zpt_trainer *t) {
  return t->fisher && t->c.iterations % t->cfg.t_ud == 0;
}

uint64_t zpt_trainer_next_cost(const zpt_trainer *t) {
  uint64_t cost = zpt_tr_iter_vars(t);
  if (zpt_tr_fisher_due(t))
    cost += zpt_block_len(t->blocks, t->next_fblock) +
            (t->cfg.diff == ZPT_DIFF_CENTRAL ? 1 : 0);
  return cost;
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
