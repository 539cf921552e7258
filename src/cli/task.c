/* The tasks: one generic implementation of run.h for every simulated
 * model kind (cnn, mixer, mlp, mzi-*, toy-linear).  Only building the
 * model differs between kinds, and that lives in the library (io/setup.h, shared with
 * zoptic-chipd --config); the data, batcher, trainer, evaluation and
 * save/load are the same for all.
 *
 * - data: zpt_setup_data ([data]); mini-batches from a zpt_batcher seeded
 *   with data.seed whose state is checkpointed under "task/batcher";
 * - backend: the model in-process (zpt_model_blackbox, read-out noise seed
 *   chip.seed), or a chip driver (chip.driver command / chip.socket) whose
 *   handshake must announce the model's sizes;
 * - trainer: zpt_trainer with the [zo] settings and train.budget; the
 *   trainer's state is checkpointed under "zo/";
 * - evaluation: zpt_zo_evaluate on the test set in chunks of 256 samples,
 *   always with the same query indices (so `zoptic eval` reproduces the
 *   logged value exactly, read-out noise included);
 * - metric: accuracy, ser = 1 - symbol accuracy, or relative_loss = test
 *   loss / the data set's baseline (copying: the memoryless one; toy
 *   regression: the zero predictor's).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/run.h"
#include "hw/chip_client.h"
#include "io/ckpt_model.h"
#include "nn/sim_backend.h"
#include "tasks/tasks.h"
#include "zoptic.h"

#define EVAL_CHUNK 256

typedef enum { METRIC_ACCURACY, METRIC_SER, METRIC_RELATIVE } metric_kind;

typedef struct {
  zpt_dataset *train, *test;
  zpt_model *model;
  zpt_setup_model_info info;
  zpt_blackbox *bb;
  zpt_trainer *trainer;
  zpt_batcher *batcher;
  metric_kind metric;
  float *xb, *yb, *out;
  size_t batch;
  char *architecture; /* the checkpoint's model/architecture (io/ckpt_model.h) */
} gtask;

static void gtask_free(gtask *g) {
  if (!g)
    return;
  zpt_trainer_free(g->trainer);
  zpt_blackbox_free(g->bb);
  zpt_model_free(g->model);
  zpt_batcher_free(g->batcher);
  zpt_dataset_free(g->train);
  zpt_dataset_free(g->test);
  zpt_free(g->xb);
  zpt_free(g->yb);
  zpt_free(g->out);
  zpt_free(g->architecture);
  zpt_free(g);
}

static void task_destroy(zpt_task *task) {
  gtask_free(task->impl);
  task->impl = NULL;
}

/* The backend: a chip driver when chip.driver or chip.socket is set. */
static int open_backend(const zpt_config *cfg, gtask *g) {
  const char *driver, *sock;
  ZPT_TRY(zpt_config_string(cfg, "chip.driver", &driver));
  ZPT_TRY(zpt_config_string(cfg, "chip.socket", &sock));
  if (*driver && *sock)
    return zpt_fail(ZPT_EINVAL, "chip.driver = %s and chip.socket = %s: set one of them",
                    driver, sock);
  if (!*driver && !*sock) {
    g->bb = zpt_model_blackbox(g->model, g->info.noise_seed);
    return g->bb ? zpt_cli_wrap_backend(&g->bb) : zpt_error_status();
  }
  zpt_chip_options opt = zpt_chip_options_default();
  long long retries;
  ZPT_TRY(zpt_config_double(cfg, "chip.timeout_s", &opt.timeout_s));
  ZPT_TRY(zpt_config_int(cfg, "chip.retries", &retries));
  opt.retries = (int)retries;
  opt.n_params = zpt_model_n_params(g->model);
  opt.input_size = zpt_model_input_size(g->model);
  opt.output_size = zpt_model_output_size(g->model);
  char spec[4200];
  snprintf(spec, sizeof spec, "%s", *sock ? "unix:" : "");
  int rc = zpt_cli_expand_rank(*sock ? sock : driver, spec + strlen(spec),
                               sizeof spec - strlen(spec));
  if (rc == ZPT_OK)
    rc = zpt_chip_client_open(spec, &opt, &g->bb);
  /* A driver that cannot be started or reached is a runtime failure of the
   * backend (exit 1), not a data error; a handshake that contradicts the
   * configuration stays a configuration error (exit 2). */
  if (rc != ZPT_OK && rc != ZPT_EINVAL && rc != ZPT_ERANGE)
    rc = ZPT_EBACKEND;
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "chip.%s = %s: ", *sock ? "socket" : "driver",
                            *sock ? sock : driver);
  return zpt_cli_wrap_backend(&g->bb);
}

static int task_create_kind(const zpt_config *cfg, zpt_task *task,
                            const char *default_metric) {
  gtask *g = zpt_alloc(sizeof *g, "task");
  if (!g)
    return ZPT_ENOMEM;
  memset(g, 0, sizeof *g);
  int rc = zpt_setup_data(cfg, &g->train, &g->test);
  if (rc == ZPT_OK && *zpt_setup_data_note())
    fprintf(stderr, "zoptic: data: %s\n", zpt_setup_data_note());
  if (rc == ZPT_OK)
    rc = zpt_setup_model(cfg, g->train, &g->model, &g->info);
  if (rc == ZPT_OK && !(g->architecture = zpt_ckpt_model_describe(g->model, cfg)))
    rc = zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  const char *metric = "auto";
  if (rc == ZPT_OK)
    rc = zpt_config_string(cfg, "train.metric", &metric);
  if (rc == ZPT_OK) {
    if (!strcmp(metric, "auto"))
      metric = default_metric;
    if (!strcmp(metric, "accuracy"))
      g->metric = METRIC_ACCURACY;
    else if (!strcmp(metric, "ser"))
      g->metric = METRIC_SER;
    else {
      g->metric = METRIC_RELATIVE;
      if (!(g->test->baseline_loss > 0))
        rc = zpt_fail(ZPT_EINVAL, "train.metric = relative_loss needs a task with a "
                      "baseline loss (data.task = copying or toy); %s has none",
                      g->test->name);
    }
    if (rc == ZPT_OK && g->metric != METRIC_RELATIVE && g->info.loss.kind == ZPT_LOSS_MSE)
      rc = zpt_fail(ZPT_EINVAL, "train.metric = %s counts class decisions; %s is a "
                    "regression set: use relative_loss", metric, g->train->name);
  }
  uint64_t batch = 0, seed = 0;
  int shuffle = 1, drop_last = 0;
  if (rc == ZPT_OK)
    rc = zpt_config_u64(cfg, "data.batch", &batch);
  if (rc == ZPT_OK)
    rc = zpt_config_u64(cfg, "data.seed", &seed);
  if (rc == ZPT_OK)
    rc = zpt_config_bool(cfg, "data.shuffle", &shuffle);
  if (rc == ZPT_OK)
    rc = zpt_config_bool(cfg, "data.drop_last", &drop_last);
  if (rc == ZPT_OK && task->eval_only)
    batch = 1; /* no batches are drawn */
  if (rc == ZPT_OK && batch > g->train->n)
    rc = zpt_fail(ZPT_EINVAL, "data.batch = %" PRIu64 " exceeds the %zu training samples "
                  "of %s", batch, g->train->n, g->train->name);
  if (rc == ZPT_OK) {
    g->batch = (size_t)batch;
    rc = zpt_batcher_alloc(&g->batcher, g->train->n, g->batch, seed, shuffle,
                           drop_last ? ZPT_BATCH_DROP_LAST : ZPT_BATCH_SHORT_LAST);
  }
  if (rc == ZPT_OK)
    rc = open_backend(cfg, g);
  zpt_zo_config zc;
  if (rc == ZPT_OK)
    rc = zpt_setup_zo_config(cfg, &g->info, &zc);
  if (rc == ZPT_OK && zc.loss.kind == ZPT_LOSS_XENT &&
      zpt_loss_target_size(&zc.loss, g->bb->output_size) != g->train->target_size)
    rc = zpt_fail(ZPT_EINVAL, "model.kind: the model's %zu outputs give %zu targets per "
                  "sample, data.task %s has %zu", g->bb->output_size,
                  zpt_loss_target_size(&zc.loss, g->bb->output_size), g->train->name,
                  g->train->target_size);
  if (rc == ZPT_OK && zc.loss.kind == ZPT_LOSS_MSE && g->bb->output_size != g->train->target_size)
    rc = zpt_fail(ZPT_EINVAL, "model.kind: the model's %zu outputs are compared with %zu "
                  "targets per sample of data.task %s", g->bb->output_size,
                  g->train->target_size, g->train->name);
  if (rc == ZPT_OK && g->bb->input_size != g->train->input_size)
    rc = zpt_fail(ZPT_EINVAL, "the model takes %zu inputs per sample, data.task %s has %zu",
                  g->bb->input_size, g->train->name, g->train->input_size);
  if (rc == ZPT_OK)
    rc = zpt_trainer_alloc_borrow(&g->trainer, g->bb, zpt_model_params(g->model)->theta, &zc);
  if (rc == ZPT_OK) {
    size_t chunk = g->test->n < EVAL_CHUNK ? g->test->n : EVAL_CHUNK;
    g->xb = zpt_floats(g->batch * g->train->input_size, "batch inputs");
    g->yb = zpt_floats(g->batch * g->train->target_size, "batch targets");
    g->out = zpt_floats(chunk * g->bb->output_size, "model outputs");
    if (!g->xb || !g->yb || !g->out)
      rc = ZPT_ENOMEM;
  }
  if (rc != ZPT_OK) {
    gtask_free(g);
    return rc;
  }
  task->impl = g;
  return ZPT_OK;
}

static zpt_params *task_params(zpt_task *task) {
  gtask *g = task->impl;
  return zpt_model_params(g->model);
}

static int task_step(zpt_task *task, const zpt_step_ctx *ctx, zpt_step_info *info) {
  gtask *g = task->impl;
  if (zpt_trainer_next_cost(g->trainer) > ctx->queries_left)
    return ZPT_EBUDGET; /* a clean stop: the loop ends the run */
  const size_t *idx;
  size_t n = zpt_batcher_next(g->batcher, &idx);
  ZPT_TRY(zpt_batch_gather(g->train, idx, n, g->xb, g->yb));
  zpt_iter_info it;
  ZPT_TRY(zpt_trainer_iterate(g->trainer, g->xb, g->yb, n, &it));
  info->queries = it.queries;
  info->sample_forwards = it.queries * n;
  info->train_loss = it.loss;
  return ZPT_OK;
}

static const zpt_loss *task_loss(gtask *g) {
  return &zpt_trainer_config(g->trainer)->loss;
}

static int task_evaluate(zpt_task *task, uint64_t max_samples, zpt_task_eval *res) {
  gtask *g = task->impl;
  size_t n = g->test->n;
  if (max_samples && max_samples < n)
    n = (size_t)max_samples;
  zpt_eval_result r;
  ZPT_TRY(zpt_zo_evaluate(g->bb, zpt_model_params(g->model)->theta, task_loss(g),
                          g->test->inputs, g->test->targets, n, EVAL_CHUNK,
                          ZPT_EVAL_QUERY_BASE, &r));
  res->loss = r.loss;
  res->samples = n;
  switch (g->metric) {
  case METRIC_ACCURACY: res->metric = r.accuracy; break;
  case METRIC_SER: res->metric = 1.0 - r.accuracy; break;
  case METRIC_RELATIVE: res->metric = r.loss / g->test->baseline_loss; break;
  }
  return ZPT_OK;
}

/* sample, output_*, prediction (per step for sequences), target_*. */
static int task_write_outputs(zpt_task *task, FILE *csv) {
  gtask *g = task->impl;
  const zpt_loss *loss = task_loss(g);
  size_t m = g->bb->output_size, ts = g->test->target_size;
  /* a class decision per step for cross-entropy, none for regression */
  size_t steps = loss->kind != ZPT_LOSS_XENT ? 0 : loss->n_steps ? loss->n_steps : 1;
  size_t classes = loss->n_classes;
  fprintf(csv, "sample");
  for (size_t k = 0; k < m; k++)
    fprintf(csv, ",output_%zu", k);
  for (size_t s = 0; s < steps; s++)
    fprintf(csv, steps == 1 ? ",prediction" : ",prediction_%zu", s);
  for (size_t k = 0; k < ts; k++)
    fprintf(csv, ",target_%zu", k);
  fputc('\n', csv);
  zpt_variation base = {0, 0, 0.0f, NULL};
  const float *theta = zpt_model_params(g->model)->theta;
  for (size_t first = 0; first < g->test->n; first += EVAL_CHUNK) {
    size_t n = g->test->n - first < EVAL_CHUNK ? g->test->n - first : EVAL_CHUNK;
    /* the query index evaluate() gives this chunk: the same outputs */
    ZPT_TRY(zpt_blackbox_query(g->bb, theta, &base, 1, zpt_dataset_input(g->test, first),
                               n, g->out, ZPT_EVAL_QUERY_BASE + first / EVAL_CHUNK));
    for (size_t i = 0; i < n; i++) {
      const float *y = g->out + i * m;
      fprintf(csv, "%zu", first + i);
      for (size_t k = 0; k < m; k++)
        fprintf(csv, ",%.9g", y[k]);
      for (size_t s = 0; s < steps; s++) {
        size_t best = 0;
        for (size_t c = 1; c < classes; c++)
          if (y[s * classes + c] > y[s * classes + best])
            best = c;
        fprintf(csv, ",%zu", best);
      }
      const float *t = zpt_dataset_target(g->test, first + i);
      for (size_t k = 0; k < ts; k++)
        fprintf(csv, ",%.9g", t[k]);
      fputc('\n', csv);
    }
  }
  return ferror(csv) ? zpt_fail(ZPT_EIO, "writing the outputs failed") : ZPT_OK;
}

/* The chip's realised errors (in-process chips only: behind a driver the
 * errors are the driver's, unknown here). */
static int task_save(zpt_task *task, zpt_state_writer *w) {
  gtask *g = task->impl;
  ZPT_TRY(zpt_trainer_save(g->trainer, w));
  if (!zpt_chip_client_info(g->bb))
    ZPT_TRY(zpt_chip_errors_save(g->model, w));
  ZPT_TRY(zpt_batcher_save(g->batcher, w, "task/batcher"));
  ZPT_TRY(zpt_ckpt_model_save(g->model, g->architecture, w));
  /* the split: which rows of the data file trained and which tested */
  ZPT_TRY(zpt_split_save(g->train, w, "task/split/train_rows"));
  return zpt_split_save(g->test, w, "task/split/test_rows");
}

static int task_load_model(zpt_task *task, zpt_state_reader *r) {
  gtask *g = task->impl;
  size_t found;
  return zpt_chip_errors_load(g->model, r, &found);
}

static int task_load(zpt_task *task, zpt_state_reader *r) {
  gtask *g = task->impl;
  ZPT_TRY(task_load_model(task, r));
  ZPT_TRY(zpt_trainer_load(g->trainer, r));
  ZPT_TRY(zpt_batcher_restore(g->batcher, r, "task/batcher"));
  return ZPT_OK;
}

/* One task type per model kind; all share the functions above. */
#define TASK_TYPE(fn, kind, metric)                                            \
  static int create_##fn(const zpt_config *cfg, zpt_task *task) {              \
    return task_create_kind(cfg, task, metric);                                \
  }                                                                            \
  const zpt_task_type zpt_task_##fn = {kind, metric, create_##fn, task_params, \
                                       task_step, task_evaluate,               \
                                       task_write_outputs, task_save,          \
                                       task_load, task_destroy, task_load_model};
TASK_TYPE(cnn, "cnn", "accuracy")
TASK_TYPE(mixer, "mixer", "accuracy")
TASK_TYPE(mlp, "mlp", "accuracy")
TASK_TYPE(mzi_classifier, "mzi-classifier", "accuracy")
TASK_TYPE(mzi_equalizer, "mzi-equalizer", "ser")
TASK_TYPE(mzi_rnn, "mzi-rnn", "relative_loss")
TASK_TYPE(toy_linear, "toy-linear", "relative_loss")
