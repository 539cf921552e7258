/* The zeroth-order trainer: ZO-I, ZO-co, ZO-NP (natural perturbations), the
 * reading list's samplers (zo-sparse, zo-guided, zo-adapt) and CMA-ES over a
 * black box (docs/method.md describes the method as implemented,
 * every setting and the query accounting rules).
 *
 * The caller owns the loop (GSL multimin style):
 *
 *   zpt_zo_config cfg;  zpt_zo_config_default(&cfg);
 *   cfg.loss = zpt_loss_xent(10);  cfg.budget = 1000000;
 *   zpt_trainer *t;
 *   ZPT_TRY(zpt_trainer_alloc(&t, bb, theta0, &cfg));
 *   while ((rc = zpt_trainer_iterate(t, x, y, batch, &info)) == ZPT_OK) {
 *     ... next mini-batch, evaluate on a schedule, save checkpoints ...
 *   }
 *   if (rc != ZPT_EBUDGET) report zpt_error_message();
 *   zpt_trainer_free(t);
 */
#ifndef ZPT_ZO_TRAINER_H
#define ZPT_ZO_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "core/state.h"
#include "zo/blackbox.h"
#include "zo/blocks.h"
#include "zo/fisher.h"
#include "zo/loss.h"
#include "zo/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_ZO_I = 0,  /* Gaussian perturbations */
  ZPT_ZO_CO = 1, /* coordinate perturbations */
  ZPT_ZO_NP = 2, /* natural perturbations (block Fisher covariances) */
  ZPT_ZO_SPARSE = 3, /* Gaussian on a random fraction of the coordinates */
  ZPT_ZO_GUIDED = 4, /* guided ES: isotropic + the last k estimates' span */
  ZPT_ZO_ADAPT = 5,  /* diagonal covariance from past estimates' g^2 */
  ZPT_ZO_CMAES = 6   /* Hansen's CMA-ES (cmaes.h): theta is the
                        distribution mean; an iteration is one generation,
                        lambda candidate queries on its mini-batch (no
                        estimator, no optimizer) */
} zpt_zo_method;

typedef enum {
  ZPT_PERTURB_BLOCK = 0, /* each u_q non-zero in one block (a cycle of
                            random permutations of the blocks) */
  ZPT_PERTURB_ALL = 1    /* every u_q covers all blocks at once */
} zpt_perturb_mode;

typedef enum {
  ZPT_DIFF_FORWARD = 0, /* Q + 1 queries per iteration */
  ZPT_DIFF_CENTRAL = 1  /* 2Q queries per iteration */
} zpt_diff_kind;

typedef enum {
  ZPT_FISHER_RANDOM = 0, /* block drawn uniformly WITH replacement */
  ZPT_FISHER_CYCLE = 1   /* random permutation cycle: each block once */
} zpt_fisher_schedule;

typedef enum { ZPT_OPT_ADAM = 0, ZPT_OPT_SGD = 1 } zpt_opt_kind;

typedef enum {
  ZPT_LR_CONSTANT = 0, /* lr throughout */
  ZPT_LR_COSINE = 1    /* lr_final + (lr - lr_final) (1 + cos(pi s)) / 2,
                          s = training queries spent / budget (needs a
                          budget): the same schedule in queries for every
                          sampler, whatever its iterations cost */
} zpt_lr_schedule;

typedef struct {
  zpt_zo_method method;      /* ZPT_ZO_NP */
  zpt_perturb_mode mode;     /* ZPT_PERTURB_BLOCK */
  size_t q;                  /* perturbations per iteration: 20 */
  double mu;                 /* parameter-space length of u: 1e-3 */
  double lambda;             /* gradient scale: 1 */
  size_t n_max;              /* largest block: 512 */
  const size_t *cuts;        /* [design] block cuts (copied): NULL */
  size_t n_cuts;             /* 0 */
  int normalize;             /* rescale u to ||u|| = sqrt(N): 1, raw draw: 0;
                                ZPT_NORMALIZE_AUTO (the default): 1 for ZO-I
                                and ZO-co, 0 for ZO-NP (round 3's
                                pre-registered validation, docs/method.md) */
  zpt_diff_kind diff;        /* ZPT_DIFF_FORWARD */
  double rho;                /* Sigma = (1+rho)(F+rho I)^-1: 1 */
  size_t t_ud;               /* Fisher update period (iterations): 100 */
  int trace_norm;            /* F <- F / (tr F / n_b): 1 */
  double fisher_avg;         /* alpha, 1 = replace: 1.0 */
  zpt_fisher_schedule fisher_schedule; /* ZPT_FISHER_RANDOM */
  double jac_eps;            /* Jacobian coordinate step: 1e-3 */
  int chol_jitter;           /* rescue a failed Cholesky: 1 */
  zpt_opt_kind optimizer;    /* ZPT_OPT_ADAM */
  zpt_optim_settings optim;  /* lr 1e-3, beta1 .9, beta2 .999, eps 1e-8,
                                momentum .9 (SGD) */
  zpt_lr_schedule lr_schedule; /* ZPT_LR_CONSTANT */
  double lr_final;           /* cosine: rate at the end of the budget: 0 */
  uint64_t seed;             /* 1 */
  uint64_t budget;           /* training queries allowed, 0 = unlimited */
  zpt_loss loss;             /* REQUIRED (kind 0 = unset is refused) */
  /* the reading list's samplers (sampler.h; same estimator, optimizer and
   * schedule as ZO-I) */
  double sparse_frac;        /* zo-sparse: share of a range perturbed: 0.1 */
  size_t guided_k;           /* zo-guided: estimates kept: 4 */
  double guided_alpha;       /* zo-guided: isotropic share: 0.5 */
  double adapt_beta;         /* zo-adapt: decay of the mean of g^2: 0.99 */
  double adapt_floor;        /* zo-adapt: smallest variance (mean 1): 0.1 */
  /* CMA-ES (cmaes.h): each candidate is one query on the iteration's
   * mini-batch; mode, q, mu, lambda, normalize, diff and the optimizer
   * settings are not used */
  double cmaes_sigma;        /* initial step size sigma0: 0.1 */
  size_t cmaes_lambda;       /* population, 0 = 4 + floor(3 ln N): 0 */
  size_t cmaes_full_max;     /* full covariance up to this N, separable
                                above: 2000 */
} zpt_zo_config;

/* cfg.normalize: decided by the method (zpt_zo_normalize_resolve). */
#define ZPT_NORMALIZE_AUTO (-1)

/* The normalisation a method uses: cfg->normalize, or when it is
 * ZPT_NORMALIZE_AUTO, 0 for ZO-NP (the raw draw keeps E[g] = Sigma grad)
 * and 1 otherwise. */
int zpt_zo_normalize_resolve(const zpt_zo_config *cfg);

/* Fills every field with its default (loss left unset). */
void zpt_zo_config_default(zpt_zo_config *cfg);

/* Validates a configuration for a black box (ZPT_EINVAL naming the field,
 * its value and what is allowed). */
int zpt_zo_config_check(const zpt_zo_config *cfg, const zpt_blackbox *bb);

/* Method / mode names ("zo-np", "block"...) for logs. */
const char *zpt_zo_method_name(zpt_zo_method m);
/* The method of a name zpt_zo_method_name gives ("zo-i", ..., "cmaes");
 * ZPT_EINVAL listing the names for any other. */
int zpt_zo_method_parse(const char *name, zpt_zo_method *m);

typedef struct {
  uint64_t iterations;       /* completed iterations */
  uint64_t queries;          /* training queries = base + perturbed +
                                jacobian; what the budget counts */
  uint64_t base_queries;     /* unperturbed theta */
  uint64_t perturbed_queries;/* theta + h u_q (and theta - h u_q); CMA-ES:
                                its candidates */
  uint64_t jacobian_queries; /* theta + eps e_j for Fisher blocks */
  uint64_t sample_forwards;  /* training queries x batch */
  uint64_t eval_queries;     /* evaluation: NOT in queries or the budget */
  uint64_t eval_sample_forwards;
  uint64_t fisher_updates;   /* Fisher block updates done */
  uint64_t fisher_blocks;    /* distinct blocks with a Fisher estimate */
  uint64_t chol_jitters;     /* Cholesky factorisations rescued by jitter */
  uint64_t perturbations;    /* perturbations drawn (block-cycle position) */
  double iter_seconds;       /* wall clock inside zpt_trainer_iterate */
  double fisher_seconds;     /* of which Jacobian + Fisher + Cholesky */
} zpt_zo_counters;

typedef struct {
  double loss;           /* forward: l_B(theta) of the base query;
                            central: mean of the 2Q perturbed losses;
                            CMA-ES: mean of the lambda candidates' losses */
  uint64_t queries;      /* training queries of this iteration */
  int fisher_updated;    /* 1 if a Fisher block was updated */
  size_t fisher_block;   /* which one */
  double seconds;        /* wall clock of the iteration */
} zpt_iter_info;

typedef struct {
  double loss;      /* mean per-sample loss over the data set */
  double accuracy;  /* correct / total (cross-entropy only, else NaN) */
  size_t correct, total; /* argmax decisions (steps x samples) */
  size_t n;         /* samples */
  uint64_t queries; /* evaluation queries used */
} zpt_eval_result;

typedef struct zpt_trainer zpt_trainer;

/* A trainer over bb (not owned; must outlive the trainer), starting from
 * theta0 (bb->n_params values, copied).  Allocates everything an iteration
 * needs except the Fisher blocks (lazily, on each block's first update) and
 * output buffers (grown to the largest batch seen). */
int zpt_trainer_alloc(zpt_trainer **out, zpt_blackbox *bb,
                      const float *theta0, const zpt_zo_config *cfg);
/* The same, but the trainer works on the caller's theta in place (no copy;
 * e.g. a model's parameter store): every iteration updates it, and it must
 * outlive the trainer.  theta then has one home, the caller's, who also
 * keeps it in checkpoints: zpt_trainer_save leaves it out and
 * zpt_trainer_load expects the caller to have restored it (an older state
 * that still holds "zo/theta" must agree with it).  A trainer that owns its
 * copy saves and loads "zo/theta"; loading a state without it (written by
 * a borrowing trainer) keeps theta, which the caller sets first with
 * zpt_trainer_set_theta. */
int zpt_trainer_alloc_borrow(zpt_trainer **out, zpt_blackbox *bb, float *theta,
                             const zpt_zo_config *cfg);
void zpt_trainer_free(zpt_trainer *t);

/* One iteration on a mini-batch: inputs batch x bb->input_size, targets
 * batch x zpt_loss_target_size().  Refuses with ZPT_EBUDGET, changing
 * nothing, when the iteration's queries (including a Fisher update's
 * Jacobian) would exceed the budget: no partial iteration is ever run.
 * A failed iteration counts no queries and, unless a Fisher block was
 * already updated in it, leaves the trainer exactly as before (so it can be
 * retried).  A failure after a Fisher update (black-box error on the
 * perturbed queries, non-finite loss) leaves the trainer unusable: later
 * calls fail with ZPT_EINVAL until a checkpoint is loaded. */
int zpt_trainer_iterate(zpt_trainer *t, const float *inputs,
                        const float *targets, size_t batch,
                        zpt_iter_info *info);

/* Queries the next iteration will use (Q+1 or 2Q, plus 1 + n_b with a
 * central-difference Fisher update or n_b with a forward one; CMA-ES:
 * lambda). */
uint64_t zpt_trainer_next_cost(const zpt_trainer *t);

/* Mean loss and accuracy of the current theta over n samples, queried in
 * chunks of `batch` (0: bb->max_batch, or 256 if unlimited).  Counted as
 * evaluation queries, outside the budget; their first_query indices are
 * ZPT_EVAL_QUERY_BASE + eval_queries so that they never collide with
 * training query indices (a noisy backend stays reproducible no matter how
 * often a run evaluates). */
#define ZPT_EVAL_QUERY_BASE (UINT64_C(1) << 63)
int zpt_trainer_evaluate(zpt_trainer *t, const float *inputs,
                         const float *targets, size_t n, size_t batch,
                         zpt_eval_result *res);

/* Mean loss and accuracy of any theta over a data set through a black box
 * (what zpt_trainer_evaluate uses).  *queries_used receives the number of
 * queries made (one per chunk). */
int zpt_zo_evaluate(zpt_blackbox *bb, const float *theta,
                    const zpt_loss *loss, const float *inputs,
                    const float *targets, size_t n, size_t batch,
                    uint64_t first_query, zpt_eval_result *res);

const float *zpt_trainer_theta(const zpt_trainer *t);
/* Replaces theta (N values); optimizer state and counters are kept (CMA-ES:
 * the next generation's mean becomes theta). */
void zpt_trainer_set_theta(zpt_trainer *t, const float *theta);
/* The gradient estimate g of the last iteration (N values, zeros before
 * the first; always zeros for CMA-ES, which makes none). */
const float *zpt_trainer_gradient(const zpt_trainer *t);
size_t zpt_trainer_n_params(const zpt_trainer *t);
const zpt_zo_counters *zpt_trainer_counters(const zpt_trainer *t);
const zpt_blocks *zpt_trainer_blocks(const zpt_trainer *t);
/* The Fisher store (ZO-NP), else NULL. */
const zpt_fisher *zpt_trainer_fisher(const zpt_trainer *t);
const zpt_zo_config *zpt_trainer_config(const zpt_trainer *t);

/* The learning rate of the next step under cfg.lr_schedule. */
double zpt_trainer_lr(const zpt_trainer *t);

/* The q-th perturbation of iteration `iter` as the trainer would draw it
 * from the CURRENT sampler state (Fisher blocks, block cycle): u receives
 * the normalised values of the support [*off, *off + *len).  u must hold
 * blocks->max_len (block mode) or N (all-at-once) floats.  Does not change
 * the trainer.  For tests and diagnostics. */
int zpt_trainer_draw(zpt_trainer *t, uint64_t iter, size_t q, size_t block,
                     float *u, size_t *off, size_t *len);

/* Complete resumable state under "zo/": theta, optimizer moments and step
 * count, all counters, the block-cycle permutations, the Fisher blocks that
 * exist with their Cholesky factors, and a description of the configuration
 * that load() checks.  There is no running RNG state to save: every draw
 * comes from a stream derived from (seed, purpose, counter), and the
 * counters are saved.  Load into a trainer allocated with the same black
 * box shape and configuration; resuming continues bit-identically. */
int zpt_trainer_save(const zpt_trainer *t, zpt_state_writer *w);
int zpt_trainer_load(zpt_trainer *t, zpt_state_reader *r);

#ifdef __cplusplus
}
#endif
#endif
