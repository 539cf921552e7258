/* Host-side losses, the output Fisher G and metrics (see loss.h). */
#include "zo/loss.h"

#include <math.h>

#include "core/status.h"

zpt_loss zpt_loss_xent(size_t n_classes) {
  zpt_loss l = {ZPT_LOSS_XENT, 1, n_classes, 1.0};
  return l;
}

zpt_loss zpt_loss_xent_seq(size_t n_steps, size_t n_classes,
                           double score_scale) {
  zpt_loss l = {ZPT_LOSS_XENT, n_steps, n_classes, score_scale};
  return l;
}

zpt_loss zpt_loss_mse(void) {
  zpt_loss l = {ZPT_LOSS_MSE, 0, 0, 1.0};
  return l;
}

int zpt_loss_check(const zpt_loss *loss, size_t output_size) {
  if (!loss)
    return zpt_fail(ZPT_EINVAL, "loss: NULL loss description");
  if (output_size == 0)
    return zpt_fail(ZPT_EINVAL, "loss: output size is 0");
  switch (loss->kind) {
  case ZPT_LOSS_MSE:
    return ZPT_OK;
  case ZPT_LOSS_XENT:
    if (loss->n_steps < 1 || loss->n_classes < 2)
      return zpt_fail(ZPT_EINVAL,
                      "cross-entropy loss: need n_steps >= 1 and n_classes "
                      ">= 2, got n_steps=%zu n_classes=%zu",
                      loss->n_steps, loss->n_classes);
    if (loss->n_steps * loss->n_classes != output_size)
      return zpt_fail(ZPT_EINVAL,
                      "cross-entropy loss: model output size %zu, expected "
                      "n_steps x n_classes = %zu x %zu = %zu",
                      output_size, loss->n_steps, loss->n_classes,
                      loss->n_steps * loss->n_classes);
    if (!(loss->score_scale > 0) || !isfinite(loss->score_scale))
      return zpt_fail(ZPT_EINVAL,
                      "cross-entropy loss: score_scale must be finite and > 0, "
                      "got %g", loss->score_scale);
    return ZPT_OK;
  }
  return zpt_fail(ZPT_EINVAL, "loss: unknown loss kind %d", (int)loss->kind);
}

size_t zpt_loss_target_size(const zpt_loss *loss, size_t output_size) {
  return loss->kind == ZPT_LOSS_XENT ? loss->n_steps : output_size;
}

/* Validated class index of a target entry, or -1. */
static long class_of(float t, size_t n_classes) {
  if (!(t >= 0.0f) || t >= (float)n_classes || t != floorf(t))
    return -1;
  return (long)t;
}

/* Stable log-sum-exp of c*s over n scores. */
static double log_sum_exp(const float *s, size_t n, double c, double *max_out) {
  double mx = c * s[0];
  for (size_t k = 1; k < n; k++)
    if (c * s[k] > mx)
      mx = c * s[k];
  double sum = 0;
  for (size_t k = 0; k < n; k++)
    sum += exp(c * s[k] - mx);
  *max_out = mx;
  return mx + log(sum);
}

int zpt_loss_eval(const zpt_loss *loss, const float *outputs,
                  const float *targets, size_t batch, size_t output_size,
                  double *per_sample, double *mean) {
  double total = 0;
  for (size_t i = 0; i < batch; i++) {
    const float *y = outputs + i * output_size;
    double li = 0;
    if (loss->kind == ZPT_LOSS_MSE) {
      const float *t = targets + i * output_size;
      for (size_t k = 0; k < output_size; k++) {
        double d = (double)y[k] - (double)t[k];
        li += d * d;
      }
      li /= (double)output_size;
    } else {
      const size_t C = loss->n_classes;
      const float *t = targets + i * loss->n_steps;
      for (size_t s = 0; s < loss->n_steps; s++) {
        long c = class_of(t[s], C);
        if (c < 0)
          return zpt_fail(ZPT_EINVAL,
                          "cross-entropy loss: sample %zu step %zu: target "
                          "%g is not a class index in [0, %zu)",
                          i, s, (double)t[s], C);
        double mx;
        double lse = log_sum_exp(y + s * C, C, loss->score_scale, &mx);
        li += lse - loss->score_scale * y[s * C + (size_t)c];
      }
      li /= (double)loss->n_steps;
    }
    if (!isfinite(li))
      return zpt_fail(ZPT_ENUMERIC,
                      "loss: sample %zu of %zu: non-finite loss (a model "
                      "output is NaN or infinite)", i, batch);
    if (per_sample)
      per_sample[i] = li;
    total += li;
  }
  *mean = batch ? total / (double)batch : 0.0;
  return ZPT_OK;
}

/* p = softmax(c * s) over n classes, in double. */
static void softmax(const float *s, size_t n, double c, double *p) {
  double mx;
  double lse = log_sum_exp(s, n, c, &mx);
  for (size_t k = 0; k < n; k++)
    p[k] = exp(c * s[k] - lse);
}

static int check_finite(const float *y, size_t m) {
  for (size_t k = 0; k < m; k++)
    if (!isfinite(y[k]))
      return zpt_fail(ZPT_ENUMERIC, "output Fisher: output %zu is not finite "
                      "(%g)", k, (double)y[k]);
  return ZPT_OK;
}

/* Largest class count we handle with a stack buffer for p. */
#define ZPT_LOSS_MAX_CLASSES 4096

/* The output Fisher keeps p on the stack. */
static int check_classes(size_t C) {
  if (C > ZPT_LOSS_MAX_CLASSES)
    return zpt_fail(ZPT_EINVAL, "output Fisher: %zu classes, at most %d "
                    "supported", C, ZPT_LOSS_MAX_CLASSES);
  return ZPT_OK;
}

int zpt_loss_fisher_G(const zpt_loss *loss, const float *y,
                      size_t output_size, double *G) {
  const size_t M = output_size;
  ZPT_TRY(check_finite(y, M));
  for (size_t k = 0; k < M * M; k++)
    G[k] = 0;
  if (loss->kind == ZPT_LOSS_MSE) {
    for (size_t k = 0; k < M; k++)
      G[k * M + k] = 1;
    return ZPT_OK;
  }
  const size_t C = loss->n_classes;
  ZPT_TRY(check_classes(C));
  double p[ZPT_LOSS_MAX_CLASSES];
  const double c2 = loss->score_scale * loss->score_scale;
  for (size_t s = 0; s < loss->n_steps; s++) {
    softmax(y + s * C, C, loss->score_scale, p);
    for (size_t a = 0; a < C; a++)
      for (size_t b = 0; b < C; b++)
        G[(s * C + a) * M + s * C + b] = c2 * ((a == b ? p[a] : 0) - p[a] * p[b]);
  }
  return ZPT_OK;
}

int zpt_loss_fisher_rows(const zpt_loss *loss, const float *y,
                         const double *J, size_t output_size, size_t n,
                         double *Z) {
  const size_t M = output_size;
  ZPT_TRY(check_finite(y, M));
  if (loss->kind == ZPT_LOSS_MSE) {
    for (size_t k = 0; k < M * n; k++)
      Z[k] = J[k];
    return ZPT_OK;
  }
  const size_t C = loss->n_classes;
  ZPT_TRY(check_classes(C));
  double p[ZPT_LOSS_MAX_CLASSES];
  for (size_t s = 0; s < loss->n_steps; s++) {
    softmax(y + s * C, C, loss->score_scale, p);
    const double *Js = J + s * C * n;
    double *Zs = Z + s * C * n;
    /* per column j: m = sum_l p_l J_lj, then Z_kj = c sqrt(p_k) (J_kj - m);
     * by chunks of columns along the rows (contiguous, vectorisable), the
     * same operations in the same order as column by column */
    double ck[ZPT_LOSS_MAX_CLASSES];
    for (size_t k = 0; k < C; k++)
      ck[k] = loss->score_scale * sqrt(p[k]);
    enum { CH = 64 };
    double m[CH];
    for (size_t j0 = 0; j0 < n; j0 += CH) {
      const size_t w = n - j0 < CH ? n - j0 : CH;
      for (size_t j = 0; j < w; j++)
        m[j] = 0;
      for (size_t l = 0; l < C; l++)
        for (size_t j = 0; j < w; j++)
          m[j] += p[l] * Js[l * n + j0 + j];
      for (size_t k = 0; k < C; k++)
        for (size_t j = 0; j < w; j++)
          Zs[k * n + j0 + j] = ck[k] * (Js[k * n + j0 + j] - m[j]);
    }
  }
  return ZPT_OK;
}

int zpt_metric_accuracy(const zpt_loss *loss, const float *outputs,
                        const float *targets, size_t batch,
                        size_t output_size, size_t *correct, size_t *total) {
  if (loss->kind != ZPT_LOSS_XENT)
    return zpt_fail(ZPT_EINVAL, "accuracy: defined for cross-entropy "
                    "(classification) losses only");
  const size_t C = loss->n_classes;
  for (size_t i = 0; i < batch; i++) {
    const float *t = targets + i * loss->n_steps;
    for (size_t s = 0; s < loss->n_steps; s++) {
      const float *y = outputs + i * output_size + s * C;
      long c = class_of(t[s], C);
      if (c < 0)
        return zpt_fail(ZPT_EINVAL, "accuracy: sample %zu step %zu: target "
                        "%g is not a class index in [0, %zu)",
                        i, s, (double)t[s], C);
      size_t best = 0;
      for (size_t k = 1; k < C; k++)
        if (y[k] > y[best])
          best = k;
      *correct += best == (size_t)c;
      *total += 1;
    }
  }
  return ZPT_OK;
}
