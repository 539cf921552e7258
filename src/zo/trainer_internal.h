/* Internals of the zeroth-order trainer shared by its source files
 * (trainer.c: configuration, allocation, accessors; trainer_schedule.c:
 * block and learning-rate schedules; trainer_query.c: black-box queries and
 * the Fisher update; trainer_step.c: one iteration, evaluation;
 * trainer_share.c: perturbations, an iteration's queries and losses, in
 * one process or shared out; trainer_state.c: checkpoint state).  Not a public header. */
#ifndef ZPT_ZO_TRAINER_INTERNAL_H
#define ZPT_ZO_TRAINER_INTERNAL_H

#include "zo/trainer.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "zo/cmaes.h"
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
  float *theta;       /* the caller's (borrowed) or the trainer's copy */
  int owns_theta;     /* theta is the trainer's: free it, keep it in state */
  float *grad;
  zpt_blocks *blocks;
  const zpt_sampler_type *sampler; /* NULL for CMA-ES */
  void *sampler_state;
  zpt_cmaes *es;      /* CMA-ES's state, else NULL */
  zpt_fisher *fisher; /* sampler's store (ZO-NP) or NULL */
  const zpt_optimizer_type *opt;
  void *opt_state;
  gsl_rng *rng;       /* re-derived for every use */
  float *u;           /* Q x u_stride perturbation values */
  size_t u_stride;
  size_t *u_off, *u_len;
  size_t *u_block;     /* block of each perturbation of the iteration */
  uint64_t *u_order;   /* draw order: block * Q + q, sorted */
  size_t *u_list;      /* the perturbations to draw (a share of a call) */
  zpt_variation *vars; /* room for n_vars_cap = max(2Q, Q + 1, lambda) */
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

/* trainer_schedule.c */
void zpt_tr_make_perm(zpt_trainer *t, size_t *perm, uint64_t cycle,
                      uint64_t which);
void zpt_tr_refresh_fisher_schedule(zpt_trainer *t, int regen);
size_t zpt_tr_next_perturb_block(zpt_trainer *t);
int zpt_tr_fisher_due(const zpt_trainer *t);

/* trainer_query.c */
size_t zpt_tr_iter_vars(const zpt_trainer *t);
int zpt_tr_run_queries(zpt_trainer *t, const zpt_variation *vars, size_t n,
                       const float *inputs, size_t batch, float *out,
                       uint64_t first, const char *what);
int zpt_tr_reserve_out(zpt_trainer *t, size_t n_vars, size_t batch);
int zpt_tr_losses_of(zpt_trainer *t, const float *out, size_t n,
                     const float *targets, size_t batch, double *loss);
int zpt_tr_fisher_update(zpt_trainer *t, size_t b, const float *inputs,
                         const float *targets, size_t batch, double *base_loss);

/* trainer_share.c: an iteration's draws, queries and losses (t->u,
 * t->u_off, t->u_len, t->vars and t->var_loss filled for all of them) */
int zpt_tr_query_iteration(zpt_trainer *t, int with_base, double h,
                           const float *inputs, const float *targets,
                           size_t batch, uint64_t first);

/* trainer_cmaes.c: CMA-ES as a method (t->es) */
int zpt_tr_cmaes_alloc(zpt_trainer *t);
int zpt_tr_cmaes_iterate(zpt_trainer *t, const float *inputs,
                         const float *targets, size_t batch,
                         zpt_iter_info *info, double t_start);
int zpt_tr_cmaes_save(const zpt_trainer *t, zpt_state_writer *w);
int zpt_tr_cmaes_load(zpt_trainer *t, zpt_state_reader *r);

#endif
