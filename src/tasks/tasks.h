/* The tasks module: a run built from a zoptic configuration -- the data
 * sets of [data] (data.task), the simulated model of [model] + [chip]
 * (model.kind), and the trainer settings of [zo].
 * Shared by `zoptic train/eval` (src/cli/task.c) and `zoptic-chipd --config`
 * (src/chipd/main.c), so a driver serves exactly the model the in-process
 * backend would run.  docs/tasks.md describes every task kind.
 */
#ifndef ZPT_TASKS_TASKS_H
#define ZPT_TASKS_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "io/config.h"
#include "nn/model.h"
#include "zo/blackbox.h"
#include "zo/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The train and test sets of [data] (loaded or generated, split, scaled,
 * standardised and DFT-encoded as configured).  Errors: ZPT_EINVAL for a
 * configuration problem (naming the key), the loaders' ZPT_EIO / EFORMAT /
 * ERANGE / ENOTFOUND for data problems (naming the file). */
int zpt_setup_data(const zpt_config *cfg, zpt_dataset **train,
                   zpt_dataset **test);

/* What the last zpt_setup_data of this thread found that the user should
 * see ("" if nothing): for data.task = csv the header line taken, rows,
 * features, the label column and the classes with their row counts (and
 * the mapping of the labels, if any). */
const char *zpt_setup_data_note(void);

/* What a model kind implies for training. */
typedef struct {
  zpt_loss loss;       /* cross-entropy over the model's outputs */
  size_t n_max;        /* the paper's largest block (zo.n_max = 0) */
  const char *metric;  /* "accuracy", "ser" or "relative_loss" */
  uint64_t noise_seed; /* read-out noise seed of the simulated backend */
} zpt_setup_model_info;

/* The model of [model] (and [chip] for MZI models) for data shaped like
 * `meta` (only its metadata is read), with theta initialised from
 * model.init_seed and scaled by model.init_scale. */
int zpt_setup_model(const zpt_config *cfg, const zpt_dataset *meta,
                    zpt_model **model, zpt_setup_model_info *info);

/* The model kinds zpt_setup_model builds, e.g. "cnn, mixer, ...". */
const char *zpt_setup_model_kinds(void);

/* zpt_zo_config from [zo] and train.budget (loss and n_max from info). */
int zpt_setup_zo_config(const zpt_config *cfg, const zpt_setup_model_info *info,
                        zpt_zo_config *zc);

#ifdef __cplusplus
}
#endif
#endif
