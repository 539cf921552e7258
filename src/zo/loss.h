/* Losses computed on the host from black-box outputs, the Fisher of the
 * output distribution with respect to the outputs (G), and metrics.
 *
 * Output and target conventions (shared with src/data):
 *   outputs: batch x output_size floats, output_size = M.
 *   Cross-entropy: M = n_steps x n_classes (one score vector per step, a
 *     plain classifier has n_steps = 1); targets: batch x n_steps floats,
 *     each a class index stored as a float.  The per-sample loss is the MEAN
 *     over steps of -log softmax(scale * s)[target].  score_scale multiplies
 *     the scores before the softmax (photodetected powers used as logits).
 *   MSE: targets batch x M; per-sample loss (1/M) sum_k (y_k - t_k)^2.
 *
 * G (the Fisher of p(z | y) with respect to y, used for Fisher blocks
 * F = (1/B) sum_i J_i^T G_i J_i):
 *   softmax on scaled scores: G = scale^2 (diag(p) - p p^T);
 *   sequences: block-diagonal over steps (the KL of the joint distribution
 *   of independent steps is the SUM of per-step KLs);
 *   MSE (Gaussian with unit variance): G = I.
 */
#ifndef ZPT_ZO_LOSS_H
#define ZPT_ZO_LOSS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_LOSS_XENT = 1, /* softmax cross-entropy, optionally over a sequence */
  ZPT_LOSS_MSE = 2   /* mean squared error */
} zpt_loss_kind;

typedef struct {
  zpt_loss_kind kind;
  size_t n_steps;     /* XENT: steps per sample (>= 1); ignored for MSE */
  size_t n_classes;   /* XENT: classes per step (>= 2); ignored for MSE */
  double score_scale; /* XENT: logits = score_scale * outputs (> 0) */
} zpt_loss;

/* A plain classifier: one step, score scale 1. */
zpt_loss zpt_loss_xent(size_t n_classes);
/* A sequence classifier: n_steps x n_classes outputs per sample. */
zpt_loss zpt_loss_xent_seq(size_t n_steps, size_t n_classes, double score_scale);
zpt_loss zpt_loss_mse(void);

/* Checks the loss against a model's output size (ZPT_EINVAL with what was
 * expected). */
int zpt_loss_check(const zpt_loss *loss, size_t output_size);

/* Floats per sample target: n_steps (XENT) or output_size (MSE). */
size_t zpt_loss_target_size(const zpt_loss *loss, size_t output_size);

/* Per-sample losses (per_sample may be NULL) and their mean (accumulated in
 * double) over a batch.  Fails with ZPT_EINVAL naming the sample and step
 * when a class target is not an integer in [0, n_classes), and with
 * ZPT_ENUMERIC when an output is not finite. */
int zpt_loss_eval(const zpt_loss *loss, const float *outputs,
                  const float *targets, size_t batch, size_t output_size,
                  double *per_sample, double *mean);

/* Dense G (output_size x output_size, row-major, double) of one sample. */
int zpt_loss_fisher_G(const zpt_loss *loss, const float *y,
                      size_t output_size, double *G);

/* Z = R J for one sample, where R^T R = G (so J^T G J = Z^T Z).
 * J is output_size x n (row-major, double), Z the same shape.  For softmax
 * row k of a step is scale * sqrt(p_k) (J_k - sum_l p_l J_l); for MSE Z = J.
 * O(output_size * n): no dense G is formed.  Z may be J (in place). */
int zpt_loss_fisher_rows(const zpt_loss *loss, const float *y,
                         const double *J, size_t output_size, size_t n,
                         double *Z);

/* Accuracy counts: XENT only (argmax per step against the target class;
 * ties go to the lowest index).  *correct and *total (= batch * n_steps)
 * are ADDED to, so a caller can accumulate over a data set. */
int zpt_metric_accuracy(const zpt_loss *loss, const float *outputs,
                        const float *targets, size_t batch,
                        size_t output_size, size_t *correct, size_t *total);

#ifdef __cplusplus
}
#endif
#endif
