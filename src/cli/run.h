/* The task interface of `zoptic train` / `zoptic eval`: what a model kind
 * must provide so that the generic training loop (src/cli/train.c) can run
 * it, checkpoint it, resume it bit for bit and evaluate it.
 *
 * A task owns everything of one run except the loop: the data (loaded or
 * generated from the [data] section), the backend (black box: simulated
 * model or chip driver, from [model] and [chip]), theta (a zpt_params store
 * whose views name the tensors saved under /params in checkpoints) and the
 * trainer (sampler + optimizer from [zo]).  The loop owns the counters
 * (iteration, queries, sample forwards, seconds), evaluation schedule,
 * log.csv, progress display and checkpoints.
 *
 * Contract:
 * - create() builds everything from the resolved configuration and sets
 *   task->impl (the caller sets task->type); theta is initialised; on
 *   failure it frees what it built.  Errors: ZPT_EINVAL for configuration problems (exit code
 *   2), ZPT_EIO / ZPT_EFORMAT / ZPT_ENOTFOUND for data problems (exit 3).
 * - step(ctx) performs training iteration ctx->iteration (0-based) and
 *   reports the queries it spent.  Everything random in it must come from
 *   streams derived from (seed, purpose, iteration, ...) or from streams
 *   whose state save() writes, so that save/load + step gives the same
 *   result as an uninterrupted run.
 * - evaluate() measures the test loss and the task's metric on the first
 *   max_samples test samples (0: all); it must not change training state.
 * - save()/load() write/read everything beyond theta needed to resume
 *   (optimizer moments, Fisher blocks, RNG states) under names of their own
 *   ("trainer/...", "sampler/..."); the loop writes "run/..." and theta.
 *
 * Every model kind (cnn, mixer, mlp, mzi-*, toy-linear) shares one generic
 * implementation (src/cli/task.c) over the library's builders (io/setup.h)
 * and registers in the table of run.c.  A step may return ZPT_EBUDGET (without spending anything) when
 * its iteration would exceed the budget: the loop then ends the run
 * cleanly, as if the budget were spent.
 */
#ifndef ZPT_CLI_RUN_H
#define ZPT_CLI_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "core/params.h"
#include "core/state.h"
#include "io/config.h"
#include "zo/blackbox.h"

typedef struct zpt_task_type zpt_task_type;

typedef struct {
  const zpt_task_type *type;
  void *impl;
  /* Set by the caller before create() for `zoptic eval`: the task is only
   * evaluated (no batches are drawn: step(), save() and load() are not
   * called), so the training set may be smaller than data.batch. */
  int eval_only;
} zpt_task;

/* What the loop tells a training step. */
typedef struct {
  uint64_t iteration;    /* 0-based index of this iteration */
  uint64_t first_query;  /* global index of this iteration's first query (=
                            queries spent so far): pass it to
                            zpt_blackbox_query so read-out noise is
                            reproducible and resumable */
  uint64_t queries_left; /* budget minus queries spent (>= 1); a step may
                            spend more only by finishing its iteration */
} zpt_step_ctx;

typedef struct {
  uint64_t queries;         /* black-box queries (parameter settings) spent */
  uint64_t sample_forwards; /* sum over those queries of their batch sizes */
  double train_loss;        /* loss of the unperturbed theta on the batch */
} zpt_step_info;

typedef struct {
  double loss;     /* mean test loss */
  double metric;   /* value of the task's metric */
  uint64_t samples; /* test samples evaluated */
} zpt_task_eval;

struct zpt_task_type {
  const char *kind;   /* the model.kind it serves, e.g. "toy-linear" */
  const char *metric; /* its metric: "accuracy", "ser" or "relative_loss" */
  int (*create)(const zpt_config *cfg, zpt_task *task);
  zpt_params *(*params)(zpt_task *task);
  int (*step)(zpt_task *task, const zpt_step_ctx *ctx, zpt_step_info *info);
  int (*evaluate)(zpt_task *task, uint64_t max_samples, zpt_task_eval *res);
  /* CSV of the model's outputs on the test set (header line first). */
  int (*write_outputs)(zpt_task *task, FILE *csv);
  int (*save)(zpt_task *task, zpt_state_writer *w);
  int (*load)(zpt_task *task, zpt_state_reader *r);
  void (*destroy)(zpt_task *task); /* frees task->impl */
  /* Restores what defines the model besides theta (the chip's realised
   * fabrication errors, mzi/chip_errors.h) from a checkpoint; used by
   * eval and by load.  NULL: nothing to restore. */
  int (*load_model)(zpt_task *task, zpt_state_reader *r);
};

/* Hooks of the zoptic-mpi program (src/mpi/main.c, docs/distributed.md);
 * the plain CLI leaves them zero.  wrap_backend, when set, replaces a task's
 * freshly opened backend by a decorator that owns it; read_only makes the
 * process a non-writing rank (no run directory, log.csv nor checkpoints);
 * rank replaces "{rank}" in chip.driver and chip.socket. */
typedef struct {
  int (*wrap_backend)(zpt_blackbox **bb, void *ctx);
  void *ctx;
  int read_only;
  int rank;
} zpt_cli_hooks;
extern zpt_cli_hooks zpt_cli_hook;
/* in with every "{rank}" replaced by zpt_cli_hook.rank (0 in the plain CLI). */
int zpt_cli_expand_rank(const char *in, char *out, size_t len);
/* Applies zpt_cli_hook.wrap_backend to *bb (no-op when unset). */
int zpt_cli_wrap_backend(zpt_blackbox **bb);

/* The task type for a model.kind, or NULL when this build has none. */
const zpt_task_type *zpt_task_find(const char *kind);
/* "cnn, mixer, ..." : the kinds this build can run. */
const char *zpt_task_kinds(void);

/* The tasks (src/cli/task.c): one generic implementation. */
extern const zpt_task_type zpt_task_cnn;
extern const zpt_task_type zpt_task_mixer;
extern const zpt_task_type zpt_task_mlp;
extern const zpt_task_type zpt_task_mzi_classifier;
extern const zpt_task_type zpt_task_mzi_equalizer;
extern const zpt_task_type zpt_task_mzi_rnn;
extern const zpt_task_type zpt_task_toy_linear;

#endif
