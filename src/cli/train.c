/* `zoptic train` and `zoptic eval`: the generic training loop over the task
 * interface of run.h, with checkpoints, log.csv and progress display. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/datapaths.h"
#include "cli/run.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/runlog.h"
#include "io/runcheck.h"
#include "io/runlock.h"
#include "zoptic.h"

#define DIR_MAX 4096

/* The loop's own counters, saved as run/... in every checkpoint. */
typedef struct {
  uint64_t iteration, queries, sample_forwards;
  double seconds;          /* training time before this process */
  double loss_sum;         /* train losses since the last log line */
  uint64_t loss_count;
  double test_loss, test_metric; /* last evaluation (NaN before the first) */
} run_counters;

int zpt_cli_error(int code, const char *what) {
  fprintf(stderr, "zoptic: %s: %s\n", what, zpt_error_message());
  return code;
}

/* Exit code of a task-creation failure (contract of run.h). */
static int create_exit_code(int status) {
  if (status == ZPT_EINVAL || status == ZPT_ERANGE)
    return ZPT_EXIT_USAGE;
  if (status == ZPT_EIO || status == ZPT_EFORMAT || status == ZPT_ENOTFOUND)
    return ZPT_EXIT_DATA;
  return ZPT_EXIT_FAILURE;
}

static int save_counters(zpt_state_writer *w, const run_counters *c,
                         double seconds) {
  ZPT_TRY(w->put(w, "run/iteration", ZPT_T_U64, &c->iteration, 1));
  ZPT_TRY(w->put(w, "run/queries", ZPT_T_U64, &c->queries, 1));
  ZPT_TRY(w->put(w, "run/sample_forwards", ZPT_T_U64, &c->sample_forwards, 1));
  ZPT_TRY(w->put(w, "run/seconds", ZPT_T_F64, &seconds, 1));
  ZPT_TRY(w->put(w, "run/loss_sum", ZPT_T_F64, &c->loss_sum, 1));
  ZPT_TRY(w->put(w, "run/loss_count", ZPT_T_U64, &c->loss_count, 1));
  ZPT_TRY(w->put(w, "run/test_loss", ZPT_T_F64, &c->test_loss, 1));
  ZPT_TRY(w->put(w, "run/test_metric", ZPT_T_F64, &c->test_metric, 1));
  return ZPT_OK;
}

static int load_counters(zpt_state_reader *r, run_counters *c) {
  ZPT_TRY(r->get(r, "run/iteration", ZPT_T_U64, &c->iteration, 1));
  ZPT_TRY(r->get(r, "run/queries", ZPT_T_U64, &c->queries, 1));
  ZPT_TRY(r->get(r, "run/sample_forwards", ZPT_T_U64, &c->sample_forwards, 1));
  ZPT_TRY(r->get(r, "run/seconds", ZPT_T_F64, &c->seconds, 1));
  ZPT_TRY(r->get(r, "run/loss_sum", ZPT_T_F64, &c->loss_sum, 1));
  ZPT_TRY(r->get(r, "run/loss_count", ZPT_T_U64, &c->loss_count, 1));
  ZPT_TRY(r->get(r, "run/test_loss", ZPT_T_F64, &c->test_loss, 1));
  ZPT_TRY(r->get(r, "run/test_metric", ZPT_T_F64, &c->test_metric, 1));
  return ZPT_OK;
}

static int write_checkpoint(const char *path, const char *config_text,
                            zpt_task *task, const run_counters *c,
                            double seconds) {
  if (zpt_cli_hook.read_only) /* a zoptic-mpi rank other than 0 */
    return ZPT_OK;
  zpt_ckpt_writer *w;
  ZPT_TRY(zpt_ckpt_create(path, config_text, &w));
  zpt_state_writer *sw = zpt_ckpt_state_writer(w);
  int rc = zpt_ckpt_put_params(w, task->type->params(task));
  if (rc == ZPT_OK)
    rc = save_counters(sw, c, seconds);
  if (rc == ZPT_OK)
    rc = task->type->save(task, sw);
  if (rc != ZPT_OK) {
    zpt_ckpt_abort(w);
    return rc;
  }
  return zpt_ckpt_commit(w);
}

static void train_usage(FILE *out) {
  fprintf(out,
          "usage: zoptic train CONFIG [--set section.key=value ...] [--out RUN_DIR]\n"
          "       zoptic train --resume RUN_DIR\n"
          "\n"
          "Trains the model described by CONFIG (INI, see docs/config.md) until\n"
          "train.budget queries are spent.  The run directory (--out, else\n"
          "output.dir, else runs/<CONFIG name>) receives config.ini (resolved\n"
          "configuration), log.csv (one line per evaluation) and ckpt.h5\n"
          "(every train.checkpoint_every iterations and at the end).\n"
          "--resume continues an interrupted run from its last checkpoint; the\n"
          "result is identical to an uninterrupted run.\n"
          "The last line printed is 'final: test_metric=<v> queries=<n> seconds=<s>'.\n"
          "\n"
          "options:\n"
          "  --set section.key=value  override a configuration key (repeatable)\n"
          "  --out RUN_DIR            run directory\n"
          "  --resume RUN_DIR         resume the run in RUN_DIR\n"
          "  --help                   this text\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage/configuration error,\n"
          "            3 data error, 4 checkpoint error (docs/cli.md)\n");
}

/* Configuration of a new run: CONFIG + overrides, required keys checked. */
static int load_new_config(const char *path, char **sets, int n_sets,
                           zpt_config **out) {
  zpt_config *cfg = zpt_config_alloc();
  if (!cfg)
    return zpt_error_status();
  int rc = zpt_config_parse_file(cfg, path);
  for (int i = 0; rc == ZPT_OK && i < n_sets; i++)
    rc = zpt_config_set(cfg, sets[i]);
  if (rc == ZPT_OK)
    rc = zpt_config_check_required(cfg, path);
  if (rc != ZPT_OK) {
    zpt_config_free(cfg);
    return rc;
  }
  *out = cfg;
  return ZPT_OK;
}

static void default_run_dir(const char *config_path, char *buf, size_t len) {
  char tmp[DIR_MAX];
  snprintf(tmp, sizeof tmp, "%s", config_path);
  char *base = basename(tmp);
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = '\0';
  snprintf(buf, len, "runs/%s", base);
}

typedef struct {
  zpt_config *cfg;
  char *config_text;
  zpt_task task;
  zpt_runlog *log;
  zpt_runlock *lock; /* this process owns dir (io/runlock.h) */
  char dir[DIR_MAX];
  char ckpt[DIR_MAX];
} train_run;

static void train_run_free(train_run *r) {
  if (r->task.type)
    r->task.type->destroy(&r->task);
  zpt_runlog_close(r->log);
  zpt_runlock_release(r->lock);
  zpt_free(r->config_text);
  zpt_config_free(r->cfg);
}

/* Evaluates, appends a log row and (off a terminal) prints a line. */
static int evaluate_and_log(train_run *r, run_counters *c, uint64_t eval_batch,
                            uint64_t budget, const char *metric, double elapsed,
                            double rate, int is_tty) {
  zpt_task *task = &r->task;
  zpt_task_eval ev;
  ZPT_TRY(task->type->evaluate(task, eval_batch, &ev));
  zpt_log_row row = {c->iteration, c->queries, c->sample_forwards,
                     c->seconds + elapsed, c->loss_sum / (double)c->loss_count,
                     ev.loss, ev.metric};
  if (r->log) /* NULL on a read-only (zoptic-mpi) rank */
    ZPT_TRY(zpt_runlog_append(r->log, &row));
  c->loss_sum = 0;
  c->loss_count = 0;
  c->test_loss = ev.loss;
  c->test_metric = ev.metric;
  if (!is_tty) {
    char el[32];
    zpt_format_duration(c->seconds + elapsed, el, sizeof el);
    printf("iteration %" PRIu64 " queries %" PRIu64 "/%" PRIu64
           " train_loss %.6g test_loss %.6g %s %.6g elapsed %s queries/s %.4g\n",
           c->iteration, c->queries, budget, row.train_loss, ev.loss,
           metric, ev.metric, el, rate);
    fflush(stdout);
  }
  return ZPT_OK;
}

static double query_rate(const run_counters *c, uint64_t q0, double elapsed) {
  return elapsed > 0 ? (double)(c->queries - q0) / elapsed : 0;
}

static int run_loop(train_run *r, run_counters *c) {
  uint64_t budget, eval_batch;
  long long eval_every, ckpt_every;
  const char *progress_mode, *metric;
  ZPT_TRY(zpt_config_u64(r->cfg, "train.budget", &budget));
  ZPT_TRY(zpt_config_u64(r->cfg, "train.eval_batch", &eval_batch));
  ZPT_TRY(zpt_config_int(r->cfg, "train.eval_every", &eval_every));
  ZPT_TRY(zpt_config_int(r->cfg, "train.checkpoint_every", &ckpt_every));
  ZPT_TRY(zpt_config_string(r->cfg, "output.progress", &progress_mode));
  ZPT_TRY(zpt_config_string(r->cfg, "train.metric", &metric));
  zpt_progress prog;
  zpt_progress_init(&prog, stderr, 0.2);
  if (!strcmp(progress_mode, "on"))
    zpt_progress_set_tty(&prog, 1);
  else if (!strcmp(progress_mode, "off"))
    zpt_progress_set_tty(&prog, 0);
  double t0 = zpt_now();
  uint64_t q0 = c->queries;
  zpt_task *task = &r->task;
  while (c->queries < budget) {
    zpt_step_info info = {0, 0, 0};
    zpt_step_ctx ctx = {c->iteration, c->queries, budget - c->queries};
    int rc = task->type->step(task, &ctx, &info);
    if (rc == ZPT_EBUDGET && c->iteration == 0) {
      /* not even one iteration fits: a configuration error, not a run that
       * trained nothing and reports test_metric=nan */
      zpt_progress_finish(&prog);
      return zpt_fail(ZPT_ERANGE, "train.budget = %" PRIu64 " queries is less than one "
                      "iteration of this task costs: nothing would be trained (raise "
                      "train.budget or lower zo.Q)", budget);
    }
    if (rc == ZPT_EBUDGET) {
      /* the next iteration would exceed the budget: the run is complete;
       * log the iterations since the last evaluation */
      if (c->loss_count > 0)
        ZPT_TRY(evaluate_and_log(r, c, eval_batch, budget, metric, zpt_now() - t0,
                                 query_rate(c, q0, zpt_now() - t0), prog.is_tty));
      break;
    }
    if (rc == ZPT_OK && info.queries == 0)
      rc = zpt_fail(ZPT_EINVAL, "task %s: a step spent no queries",
                    task->type->kind);
    if (rc != ZPT_OK) {
      zpt_progress_finish(&prog);
      return zpt_fail_context(rc, "iteration %" PRIu64 ": ", c->iteration);
    }
    c->iteration++;
    c->queries += info.queries;
    c->sample_forwards += info.sample_forwards;
    c->loss_sum += info.train_loss;
    c->loss_count++;
    int done = c->queries >= budget;
    double elapsed = zpt_now() - t0;
    /* queries/s of the whole job (every zoptic-mpi rank counts all queries) */
    double rate = query_rate(c, q0, elapsed);
    if (c->iteration % (uint64_t)eval_every == 0 || done)
      ZPT_TRY(evaluate_and_log(r, c, eval_batch, budget, metric, elapsed, rate,
                               prog.is_tty));
    if (!done && ckpt_every > 0 && c->iteration % (uint64_t)ckpt_every == 0)
      ZPT_TRY(write_checkpoint(r->ckpt, r->config_text, task, c,
                               c->seconds + zpt_now() - t0));
    if (prog.is_tty) {
      char el[32], eta[32];
      zpt_format_duration(c->seconds + elapsed, el, sizeof el);
      zpt_format_duration(rate > 0 ? (double)(budget - (done ? budget : c->queries)) / rate : -1,
                          eta, sizeof eta);
      char last[32] = "-"; /* no evaluation yet */
      if (!isnan(c->test_metric))
        snprintf(last, sizeof last, "%.4g", c->test_metric);
      zpt_progress_update(&prog, done, "%3.0f%%  iter %" PRIu64 "  queries %" PRIu64
                          "/%" PRIu64 "  train_loss %.4g  %s %s  %.4g queries/s"
                          "  elapsed %s  eta %s", 100.0 * (double)c->queries / (double)budget,
                          c->iteration, c->queries, budget,
                          info.train_loss, metric, last, rate, el, eta);
    }
  }
  zpt_progress_finish(&prog);
  double seconds = c->seconds + (zpt_now() - t0);
  ZPT_TRY(write_checkpoint(r->ckpt, r->config_text, task, c, seconds));
  c->seconds = seconds;
  return ZPT_OK;
}

/* A resumed run's configuration: from its checkpoint (*ck stays open for
 * the state), or from config.ini when it was killed before the first
 * checkpoint.  Returns an exit code. */
static int resume_config(train_run *r, const char *resume, zpt_ckpt_reader **ck) {
  snprintf(r->dir, sizeof r->dir, "%s", resume);
  if (zpt_rundir_path(r->dir, ZPT_RUN_CHECKPOINT, r->ckpt, sizeof r->ckpt) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_USAGE, "train --resume");
  int rc;
  if (!zpt_cli_hook.read_only && /* rank 0 of zoptic-mpi holds the lock */
      (rc = zpt_runlock_acquire(r->dir, &r->lock)) != ZPT_OK && rc != ZPT_ENOTFOUND)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "train --resume");
  r->cfg = zpt_config_alloc();
  if (!r->cfg)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "train");
  if (access(r->ckpt, F_OK) == 0) {
    char *text = NULL;
    char origin[DIR_MAX + 16];
    snprintf(origin, sizeof origin, "%s[config]", r->ckpt);
    rc = zpt_ckpt_open(r->ckpt, ck);
    if (rc == ZPT_OK)
      rc = zpt_ckpt_attr_text(*ck, "config", &text);
    if (rc == ZPT_OK)
      rc = zpt_config_parse_string(r->cfg, text, origin);
    if (rc == ZPT_OK)
      rc = zpt_config_check_required(r->cfg, origin);
    if (rc == ZPT_OK)
      rc = zpt_rundir_check_checkpoint(r->dir, r->cfg);
    zpt_free(text);
    return rc == ZPT_OK ? ZPT_EXIT_OK : zpt_cli_error(ZPT_EXIT_CHECKPOINT, "train --resume");
  }
  /* killed before the first checkpoint: start again from config.ini */
  char ini[DIR_MAX + 16];
  zpt_rundir_path(r->dir, ZPT_RUN_CONFIG, ini, sizeof ini);
  if (access(ini, F_OK) != 0) {
    fprintf(stderr, "zoptic: train --resume: %s is not a run directory "
            "(no %s nor %s)\n", r->dir, ZPT_RUN_CONFIG, ZPT_RUN_CHECKPOINT);
    return ZPT_EXIT_USAGE;
  }
  if (zpt_config_parse_file(r->cfg, ini) != ZPT_OK ||
      zpt_config_check_required(r->cfg, ini) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_USAGE, "train --resume");
  return ZPT_EXIT_OK;
}

/* A new run's configuration (CONFIG, --set) and directory (--out, else
 * output.dir, else runs/<CONFIG name>).  Returns an exit code. */
static int new_config(train_run *r, const char *config_path, char **sets, int n_sets,
                      const char *out_dir) {
  if (load_new_config(config_path, sets, n_sets, &r->cfg) != ZPT_OK ||
      zpt_config_resolve_data_paths(r->cfg, config_path) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_USAGE, "train");
  const char *dir = out_dir;
  if (!dir && zpt_config_string(r->cfg, "output.dir", &dir) == ZPT_OK && !*dir)
    dir = NULL;
  if (dir)
    snprintf(r->dir, sizeof r->dir, "%s", dir);
  else
    default_run_dir(config_path, r->dir, sizeof r->dir);
  /* the run's config.ini names the run it belongs to (also with --out),
   * absolute: `zoptic train RUN/config.ini` targets RUN from anywhere */
  char abs_dir[DIR_MAX];
  if (zpt_absolute_path("output.dir", r->dir, abs_dir, sizeof abs_dir) != ZPT_OK ||
      zpt_config_set_value(r->cfg, "output.dir", abs_dir, out_dir ? "--out" : "run directory") != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_USAGE, "train");
  zpt_rundir_path(r->dir, ZPT_RUN_CHECKPOINT, r->ckpt, sizeof r->ckpt);
  return ZPT_EXIT_OK;
}

/* The task of model.kind (train.metric = auto resolved to its metric),
 * built from the configuration, which r->config_text records.  Returns an
 * exit code. */
static int create_task(train_run *r) {
  const char *kind, *metric;
  zpt_config_string(r->cfg, "model.kind", &kind);
  const zpt_task_type *type = zpt_task_find(kind);
  if (!type) {
    fprintf(stderr, "zoptic: train: model.kind = %s is not available in this "
            "build (available: %s)\n", kind, zpt_task_kinds());
    return ZPT_EXIT_USAGE;
  }
  zpt_config_string(r->cfg, "train.metric", &metric);
  if (!strcmp(metric, "auto"))
    zpt_config_set_value(r->cfg, "train.metric", type->metric, "task default");
  r->config_text = zpt_config_to_string(r->cfg);
  if (!r->config_text)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "train");
  int rc = type->create(r->cfg, &r->task);
  if (rc != ZPT_OK)
    return zpt_cli_error(create_exit_code(rc), "train: building the task");
  r->task.type = type;
  return ZPT_EXIT_OK;
}

/* A new run's directory: created, locked, config.ini and log.csv written.
 * Returns an exit code. */
static int start_run_dir(train_run *r) {
  int rc = zpt_rundir_create(r->dir);
  /* a directory that holds a run: usage; one that cannot be made: runtime */
  if (rc != ZPT_OK)
    return zpt_cli_error(rc == ZPT_EINVAL ? ZPT_EXIT_USAGE : ZPT_EXIT_FAILURE, "train");
  if (zpt_runlock_acquire(r->dir, &r->lock) != ZPT_OK ||
      zpt_rundir_write_config(r->dir, r->cfg) != ZPT_OK ||
      zpt_runlog_create(r->dir, &r->log) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "train");
  return ZPT_EXIT_OK;
}

/* theta, the counters and the task's state from the checkpoint (none when
 * the run was killed before its first), and log.csv cut to them.  Returns
 * an exit code. */
static int resume_state(train_run *r, zpt_ckpt_reader *ck, run_counters *c) {
  const zpt_task_type *type = r->task.type;
  if (ck && (zpt_ckpt_get_params(ck, type->params(&r->task)) != ZPT_OK ||
             load_counters(zpt_ckpt_state_reader(ck), c) != ZPT_OK ||
             type->load(&r->task, zpt_ckpt_state_reader(ck)) != ZPT_OK))
    return zpt_cli_error(ZPT_EXIT_CHECKPOINT, "train --resume");
  if (!zpt_cli_hook.read_only && zpt_runlog_resume(r->dir, c->iteration, &r->log) != ZPT_OK)
    return zpt_cli_error(ZPT_EXIT_FAILURE, "train --resume");
  fprintf(stderr, "zoptic: resuming %s at iteration %" PRIu64 " (%" PRIu64
          " queries)\n", r->dir, c->iteration, c->queries);
  return ZPT_EXIT_OK;
}

static void eval_usage(FILE *out);

int zpt_cmd_train(int argc, char **argv) {
  const char *config_path = NULL, *out_dir = NULL, *resume = NULL;
  const cli_opt opts[] = {{"--out", &out_dir}, {"--resume", &resume}};
  char **sets;
  int n_sets;
  int parsed = zpt_cli_parse_args("train", argc, argv, opts, 2, train_usage, &sets, &n_sets,
                                  &config_path);
  if (parsed >= 0)
    return parsed;
  if (!!resume == !!config_path || (resume && (n_sets || out_dir))) {
    fprintf(stderr, "zoptic: train: give either CONFIG [--set ...] [--out DIR] "
                    "or --resume RUN_DIR (try --help)\n");
    free(sets);
    return ZPT_EXIT_USAGE;
  }
  train_run r;
  memset(&r, 0, sizeof r);
  run_counters c = {0, 0, 0, 0, 0, 0, NAN, NAN};
  zpt_ckpt_reader *ck = NULL;
  int code = resume ? resume_config(&r, resume, &ck)
                    : new_config(&r, config_path, sets, n_sets, out_dir);
  if (code == ZPT_EXIT_OK)
    code = create_task(&r);
  if (code == ZPT_EXIT_OK && resume)
    code = resume_state(&r, ck, &c);
  else if (code == ZPT_EXIT_OK && !zpt_cli_hook.read_only) /* read-only: a zoptic-mpi rank > 0 */
    code = start_run_dir(&r);
  zpt_ckpt_close(ck);
  ck = NULL;
  int rc = code == ZPT_EXIT_OK ? run_loop(&r, &c) : ZPT_OK;
  if (rc != ZPT_OK) /* ERANGE: a budget below one iteration (a configuration error) */
    code = zpt_cli_error(rc == ZPT_ERANGE && c.iteration == 0 ? ZPT_EXIT_USAGE
                                                              : ZPT_EXIT_FAILURE, "train");
  else if (code == ZPT_EXIT_OK)
    printf("final: test_metric=%.9g queries=%" PRIu64 " seconds=%.3f\n",
           c.test_metric, c.queries, c.seconds);
  train_run_free(&r);
  free(sets);
  return code;
}

/* ---- eval ---- */

static void eval_usage(FILE *out) {
  fprintf(out,
          "usage: zoptic eval CHECKPOINT [--data PATH] [--set section.key=value ...]\n"
          "                  [--outputs FILE.csv]\n"
          "\n"
          "Evaluates the model of CHECKPOINT on the test set of its configuration\n"
          "(data.path replaced by --data; other keys by --set) and prints\n"
          "'test_loss=<v> test_metric=<v> metric=<name> samples=<n>'.\n"
          "--outputs writes the model's outputs on every test sample as CSV.\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage/configuration error,\n"
          "            3 data error, 4 checkpoint error (docs/cli.md)\n");
}

int zpt_cmd_eval(int argc, char **argv) {
  const char *ckpt_path = NULL, *data = NULL, *outputs = NULL;
  const cli_opt opts[] = {{"--data", &data}, {"--outputs", &outputs}};
  char **sets;
  int n_sets;
  int parsed = zpt_cli_parse_args("eval", argc, argv, opts, 2, eval_usage, &sets, &n_sets,
                                  &ckpt_path);
  if (parsed >= 0)
    return parsed;
  if (!ckpt_path) {
    eval_usage(stderr);
    free(sets);
    return ZPT_EXIT_USAGE;
  }
  int code = ZPT_EXIT_OK, rc;
  zpt_ckpt_reader *ck = NULL;
  zpt_config *cfg = NULL;
  zpt_task task = {NULL, NULL, 1};
  char *text = NULL;
  FILE *csv = NULL;
  if (zpt_ckpt_open(ckpt_path, &ck) != ZPT_OK ||
      zpt_ckpt_attr_text(ck, "config", &text) != ZPT_OK ||
      !(cfg = zpt_config_alloc()) ||
      zpt_config_parse_string(cfg, text, ckpt_path) != ZPT_OK ||
      zpt_config_check_required(cfg, ckpt_path) != ZPT_OK) {
    code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "eval");
    goto done;
  }
  rc = data ? zpt_config_set_value(cfg, "data.path", data, "--data") : ZPT_OK;
  for (int i = 0; rc == ZPT_OK && i < n_sets; i++)
    rc = zpt_config_set(cfg, sets[i]);
  if (rc != ZPT_OK) {
    code = zpt_cli_error(ZPT_EXIT_USAGE, "eval");
    goto done;
  }
  const char *kind, *metric;
  zpt_config_string(cfg, "model.kind", &kind);
  const zpt_task_type *type = zpt_task_find(kind);
  if (!type) {
    fprintf(stderr, "zoptic: eval: model.kind = %s is not available in this "
            "build (available: %s)\n", kind, zpt_task_kinds());
    code = ZPT_EXIT_USAGE;
    goto done;
  }
  zpt_config_string(cfg, "train.metric", &metric);
  if (!strcmp(metric, "auto"))
    metric = type->metric;
  if ((rc = type->create(cfg, &task)) != ZPT_OK) {
    code = zpt_cli_error(create_exit_code(rc), "eval: building the task");
    goto done;
  }
  task.type = type;
  if (zpt_ckpt_get_params(ck, type->params(&task)) != ZPT_OK ||
      (type->load_model && type->load_model(&task, zpt_ckpt_state_reader(ck)) != ZPT_OK)) {
    code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "eval");
    goto done;
  }
  zpt_task_eval ev;
  if (type->evaluate(&task, 0, &ev) != ZPT_OK) {
    code = zpt_cli_error(ZPT_EXIT_FAILURE, "eval");
    goto done;
  }
  if (outputs) {
    csv = fopen(outputs, "w");
    if (!csv) {
      fprintf(stderr, "zoptic: eval: %s: cannot create: %s\n", outputs, strerror(errno));
      code = ZPT_EXIT_FAILURE;
      goto done;
    }
    rc = type->write_outputs(&task, csv);
    if (fclose(csv) != 0 && rc == ZPT_OK)
      rc = zpt_fail(ZPT_EIO, "%s: write failed", outputs);
    csv = NULL;
    if (rc != ZPT_OK) {
      code = zpt_cli_error(ZPT_EXIT_FAILURE, "eval");
      goto done;
    }
  }
  printf("test_loss=%.9g test_metric=%.9g metric=%s samples=%" PRIu64 "\n",
         ev.loss, ev.metric, metric, ev.samples);
done:
  if (task.type)
    task.type->destroy(&task);
  zpt_free(text);
  zpt_config_free(cfg);
  zpt_ckpt_close(ck);
  free(sets);
  return code;
}
