/* The models for a table of data (data.task = csv; the file is read by
 * data.c): the dense MLP and the MZI classifier on plain features
 * (docs/tasks.md, "A table of your own"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "tasks/internal.h"
#include "mzi/builders.h"
#include "nn/builders.h"

int zpt_setup_build_mlp(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, zpt_setup_model_info *info) {
  if (meta->kind != ZPT_TASK_CLASSIFICATION)
    return zpt_fail(ZPT_EINVAL, "model.kind = mlp is a classifier; %s is not a "
                    "classification set", meta->name);
  zpt_mlp_config c = zpt_mlp_default(meta->input_size, meta->n_classes);
  size_t width, layers;
  ZPT_TRY(zpt_setup_get_size(cfg, "model.width", &width));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.layers", &layers));
  if (width)
    c.hidden = width;
  if (layers)
    c.layers = layers;
  *model = zpt_mlp_alloc(&c);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = mlp: ");
  info->loss = zpt_loss_xent(meta->n_classes);
  return ZPT_OK;
}

int zpt_setup_mzi_features(const zpt_dataset *meta, size_t K, size_t L, double scale,
                           const zpt_chip_config *chip, zpt_model **model,
                           zpt_setup_model_info *info) {
  size_t C = meta->n_classes;
  if (!K)
    K = C > 16 ? C + (C & 1) : 16;
  if (K < C || (L && L > K))
    return zpt_fail(ZPT_EINVAL, "model.K = %zu, model.L = %zu: the mzi-classifier on %s "
                    "reads %zu classes from K channels; need K >= %zu and L <= K", K, L,
                    meta->name, C, C);
  ZPT_TRY(zpt_mzi_feature_classifier_alloc(meta->input_size, K, L, C, chip, model));
  info->loss = zpt_loss_xent_seq(1, C, scale);
  return ZPT_OK;
}
