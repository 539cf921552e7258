/* What the files of the tasks module share (data.c: the data sets, tables
 * included; models.c: the models; table_models.c: the models for tables;
 * zo_settings.c: the trainer settings); not installed. */
#ifndef ZPT_TASKS_INTERNAL_H
#define ZPT_TASKS_INTERNAL_H

#include "data/dataset.h"
#include "io/config.h"
#include "tasks/tasks.h"
#include "mzi/chip.h"
#include "nn/model.h"

/* The integer key `name` as a size (negative values: 0). */
int zpt_setup_get_size(const zpt_config *cfg, const char *name, size_t *out);

/* An "auto|true|false|yes|no|on|off|1|0" key's value other than auto:
 * 1 for true, yes, on and 1. */
int zpt_setup_truthy(const char *s);

/* data.task = csv: reads data.path with data.header, data.label_column and
 * data.n_classes; what the file held becomes zpt_setup_data_note(). */
int zpt_setup_load_csv(const zpt_config *cfg, const char *path, zpt_dataset **all);
void zpt_setup_clear_note(void);

/* model.kind = mlp (model.width, model.layers). */
int zpt_setup_build_mlp(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, zpt_setup_model_info *info);

/* model.kind = mzi-classifier on plain features: the projection to K
 * channels (K = 0: 16, or the class count rounded up to even if larger). */
int zpt_setup_mzi_features(const zpt_dataset *meta, size_t K, size_t L, double scale,
                           const zpt_chip_config *chip, zpt_model **model,
                           zpt_setup_model_info *info);

#endif
