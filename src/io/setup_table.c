/* Building a run on a table of data (data.task = csv): the file with its
 * header and labels, the dense MLP and the MZI classifier on plain
 * features (docs/tasks.md, "A table of your own"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "data/loaders.h"
#include "io/setup_internal.h"
#include "mzi/builders.h"
#include "nn/builders.h"

static _Thread_local char note[1024];

const char *zpt_setup_data_note(void) { return note; }

void zpt_setup_clear_note(void) { note[0] = 0; }

static int get_size(const zpt_config *cfg, const char *name, size_t *out) {
  long long v;
  ZPT_TRY(zpt_config_int(cfg, name, &v));
  *out = v < 0 ? 0 : (size_t)v;
  return ZPT_OK;
}

int zpt_setup_load_csv(const zpt_config *cfg, const char *path, zpt_dataset **all) {
  zpt_csv_options opt = zpt_csv_defaults();
  long long col;
  const char *header;
  ZPT_TRY(zpt_config_int(cfg, "data.label_column", &col));
  ZPT_TRY(zpt_config_string(cfg, "data.header", &header));
  ZPT_TRY(get_size(cfg, "data.n_classes", &opt.n_classes));
  opt.label_column = (long)col;
  opt.header = !strcmp(header, "auto") ? ZPT_CSV_HEADER_AUTO
               : !strcmp(header, "true") ? ZPT_CSV_HEADER_YES : ZPT_CSV_HEADER_NO;
  zpt_csv_info ci;
  ZPT_TRY(zpt_csv_load_info(path, &opt, "csv", all, &ci));
  char head[64] = "no header line";
  if (ci.header_line)
    snprintf(head, sizeof head, "line %zu taken as the header", ci.header_line);
  snprintf(note, sizeof note, "%s: %s; %zu rows, %zu features, label column %zu "
           "(data.label_column = %lld), %zu classes%s: %s", path, head, ci.rows, ci.features,
           ci.label_column, col, ci.n_classes, ci.mapped ? ", labels mapped" : "",
           ci.classes);
  return ZPT_OK;
}

int zpt_setup_build_mlp(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, zpt_setup_model_info *info) {
  if (meta->kind != ZPT_TASK_CLASSIFICATION)
    return zpt_fail(ZPT_EINVAL, "model.kind = mlp is a classifier; %s is not a "
                    "classification set", meta->name);
  zpt_mlp_config c = zpt_mlp_default(meta->input_size, meta->n_classes);
  size_t width, layers;
  ZPT_TRY(get_size(cfg, "model.width", &width));
  ZPT_TRY(get_size(cfg, "model.layers", &layers));
  if (width)
    c.hidden = width;
  if (layers)
    c.layers = layers;
  *model = zpt_mlp_alloc(&c);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = mlp: ");
  info->loss = zpt_loss_xent(meta->n_classes);
  info->metric = "accuracy";
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
  info->n_max = 512;
  info->metric = "accuracy";
  return ZPT_OK;
}
