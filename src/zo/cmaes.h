/* CMA-ES (Hansen), ask/tell, as the derivative-free baseline of the papers
 * (AAAI Table 3).  Follows Hansen's tutorial (arXiv:1604.00772, 2016/2023),
 * the variant with negative ("active") recombination weights:
 *
 *   lambda = 4 + floor(3 ln n), mu = floor(lambda / 2)     (overridable)
 *   w'_i = ln((lambda + 1) / 2) - ln i, positive weights sum to 1, the
 *   negative ones scaled by min(1 + c1/cmu, 1 + 2 mueff-/(mueff + 2),
 *   (1 - c1 - cmu) / (n cmu)); cc, csigma, c1, cmu, dsigma as in the
 *   tutorial's Table 1; cm = 1.
 *
 * Two covariance models:
 *   FULL: C is n x n, eigendecomposed (GSL) lazily, every
 *         max(1, floor(1 / (10 n (c1 + cmu)))) generations;
 *   SEP:  C diagonal (Ros & Hansen 2008, "separable CMA-ES"), with the
 *         constants of python3-cmaes's SepCMA (mu positive weights, cmu of
 *         the 2008 paper times (n + 2) / 3, cc = 4 / (n + 4)); O(n) memory
 *         and time per candidate.
 *   AUTO picks FULL for n <= full_max, SEP above.
 *
 * A generation: ask() draws the lambda steps y_k = B D z_k (z_k ~ N(0, I))
 * so that the candidates are x_k = m + sigma y_k; the caller evaluates them
 * and passes the values to tell(), which sorts them and updates m, the two
 * evolution paths, C and sigma.  The random numbers come only from the
 * gsl_rng given to ask(), so a caller that derives it from (seed,
 * generation) can resume from the state alone (zpt_cmaes_state_*). */
#ifndef ZPT_ZO_CMAES_H
#define ZPT_ZO_CMAES_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

typedef enum {
  ZPT_CMAES_AUTO = 0,
  ZPT_CMAES_FULL = 1,
  ZPT_CMAES_SEP = 2
} zpt_cmaes_kind;

typedef struct {
  size_t lambda;   /* population (0: 4 + floor(3 ln n)) */
  size_t mu;       /* parents (0: lambda / 2) */
  double sigma0;   /* initial step size (> 0) */
  zpt_cmaes_kind kind; /* ZPT_CMAES_AUTO */
  size_t full_max; /* AUTO: FULL up to this n (2000) */
} zpt_cmaes_settings;

void zpt_cmaes_settings_default(zpt_cmaes_settings *s);

typedef struct zpt_cmaes zpt_cmaes;

/* A CMA-ES state in dimension n >= 1 with mean m0 (copied).  ZPT_EINVAL
 * naming the setting for a bad sigma0, lambda < 2 or mu > lambda. */
int zpt_cmaes_alloc(zpt_cmaes **out, size_t n, const double *m0,
                    const zpt_cmaes_settings *s);
void zpt_cmaes_free(zpt_cmaes *c);

size_t zpt_cmaes_lambda(const zpt_cmaes *c);
size_t zpt_cmaes_dim(const zpt_cmaes *c);
int zpt_cmaes_is_full(const zpt_cmaes *c);
const double *zpt_cmaes_mean(const zpt_cmaes *c);
/* The mean, writable: a caller may move it (e.g. to a theta set from
 * outside); the next ask() samples around it. */
double *zpt_cmaes_mean_data(zpt_cmaes *c);
double zpt_cmaes_sigma(const zpt_cmaes *c);
uint64_t zpt_cmaes_generation(const zpt_cmaes *c);

/* Draws this generation's lambda steps into y (lambda x n, row k = y_k);
 * the candidates are m + sigma y_k.  Keeps a copy for tell(). */
void zpt_cmaes_ask(zpt_cmaes *c, gsl_rng *r, float *y);

/* Updates from the lambda objective values (lower is better) of the
 * candidates of the last ask(), in the same order.  ZPT_ENUMERIC if a value
 * is not finite or the eigendecomposition fails. */
int zpt_cmaes_tell(zpt_cmaes *c, const double *f);

/* The state as named double arrays, for checkpoints: every array that
 * tell() and ask() read (mean, sigma and generation, the two paths, C, and
 * for FULL its eigenvectors/values and their age).  count() gives how many
 * arrays, get() the i-th name, pointer and length (the arrays themselves:
 * a loader writes into them).  The eigendecomposition is saved, not recomputed, so
 * that a resumed run is bit-identical. */
size_t zpt_cmaes_state_count(const zpt_cmaes *c);
void zpt_cmaes_state_get(const zpt_cmaes *c, size_t i, const char **name,
                         double **data, size_t *len);

#endif
