/* The toy task "toy-linear" — for tests and smoke runs of the product
 * surface (train, resume, eval, info, plot) before the real models land.
 *
 * Data (data.task = toy): linear regression y = W* x + b* + noise with
 * x ~ N(0, I_d), W* ~ N(0, 1/d), b* ~ N(0, 0.1^2), noise ~ N(0, toy_noise^2),
 * generated from stream (data.seed, DATA, 0|1|2, 0); or, when data.path is
 * set, read from a CSV file of d + m numbers per line (x then y; blank lines
 * and lines starting with '#' skipped): the first n_train rows train, the
 * next n_test rows test (n_test 0: a quarter of the rows; n_train 0: the
 * rows before the test rows).
 * Model: y = W x + b, theta = views "linear.weight" [m, d], "linear.bias" [m],
 * evaluated through a real zpt_blackbox (variations, no theta copies).
 * Trainer: the zo trainer (src/zo/trainer.h) with the [zo] settings on the
 * mean squared error, so every method (ZO-I, ZO-co, ZO-NP), mode and
 * optimizer works here; its state is checkpointed under "zo/".  Batches are
 * drawn with replacement from a persistent stream whose state is
 * checkpointed ("data/rng_batch").
 * Metric: relative_loss = test MSE / mean squared test target (the loss of
 * the zero predictor), so 1 means "learned nothing" and 0 is perfect.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"
#include "io/setup.h"
#include "zoptic.h"

typedef struct {
  size_t d, m, n_params;
  zpt_buffer work; /* one perturbed theta */
} toy_box;

typedef struct {
  size_t d, m;
  size_t n_train, n_test, batch;
  float *x_train, *y_train, *x_test, *y_test;
  zpt_params *params; /* theta as checkpointed; follows the trainer */
  zpt_blackbox bb;
  toy_box box;
  zpt_trainer *trainer;
  gsl_rng *rng_batch;
  /* workspaces */
  float *xb, *yb, *out;
} toy;

/* ---- the black box ---- */

static int toy_query(zpt_blackbox *bb, const float *theta,
                     const zpt_variation *vars, size_t n_vars,
                     const float *inputs, size_t batch, float *outputs,
                     uint64_t first_query) {
  (void)first_query; /* no read-out noise */
  toy_box *box = bb->impl;
  ZPT_TRY(zpt_buffer_reserve(&box->work, box->n_params * sizeof(float),
                             "toy-linear perturbed theta"));
  float *t = box->work.data;
  for (size_t v = 0; v < n_vars; v++) {
    const zpt_variation *var = &vars[v];
    if (var->offset + var->len > box->n_params)
      return zpt_fail(ZPT_EINVAL, "toy-linear: variation %zu covers [%zu, %zu),"
                      " theta has %zu values", v, var->offset,
                      var->offset + var->len, box->n_params);
    memcpy(t, theta, box->n_params * sizeof(float));
    for (size_t k = 0; k < var->len; k++)
      t[var->offset + k] += var->scale * var->delta[k];
    const float *w = t, *b = t + box->m * box->d;
    for (size_t s = 0; s < batch; s++) {
      const float *x = inputs + s * box->d;
      float *y = outputs + (v * batch + s) * box->m;
      for (size_t i = 0; i < box->m; i++) {
        double acc = b[i];
        for (size_t j = 0; j < box->d; j++)
          acc += (double)w[i * box->d + j] * x[j];
        y[i] = (float)acc;
      }
    }
  }
  return ZPT_OK;
}

static const zpt_blackbox_type toy_box_type = {"toy-linear", toy_query, NULL};

/* ---- data ---- */

static int generate(uint64_t seed, size_t stream, size_t n, size_t d, size_t m,
                    const float *w, const float *b, double noise, float *x,
                    float *y) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_DATA, stream, 0);
  if (!r)
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  zpt_rng_gaussians(r, x, n * d, 1.0);
  zpt_rng_gaussians(r, y, n * m, noise);
  for (size_t s = 0; s < n; s++)
    for (size_t i = 0; i < m; i++) {
      double acc = b[i];
      for (size_t j = 0; j < d; j++)
        acc += (double)w[i * d + j] * x[s * d + j];
      y[s * m + i] += (float)acc;
    }
  zpt_rng_free(r);
  return ZPT_OK;
}

/* Reads every row of a CSV of d + m numbers into new arrays. */
static int load_csv(const char *path, size_t d, size_t m, float **xs, float **ys,
                    size_t *rows) {
  *xs = *ys = NULL;
  *rows = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return zpt_fail(errno == ENOENT ? ZPT_ENOTFOUND : ZPT_EIO,
                    "data.path %s: cannot open: %s", path, strerror(errno));
  size_t cap = 0, n = 0, cols = d + m;
  float *x = NULL, *y = NULL;
  char *line = NULL;
  size_t line_cap = 0;
  long lineno = 0;
  int status = ZPT_OK;
  while (status == ZPT_OK && getline(&line, &line_cap, f) > 0) {
    lineno++;
    char *p = line;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\n' || *p == '\r' || *p == '#' || *p == '\0')
      continue;
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 256;
      float *nx = zpt_floats(nc * d, "toy data inputs");
      float *ny = zpt_floats(nc * m, "toy data targets");
      if (!nx || !ny) {
        zpt_free(nx);
        zpt_free(ny);
        status = ZPT_ENOMEM;
        break;
      }
      if (n) {
        memcpy(nx, x, n * d * sizeof(float));
        memcpy(ny, y, n * m * sizeof(float));
      }
      zpt_free(x);
      zpt_free(y);
      x = nx;
      y = ny;
      cap = nc;
    }
    size_t k = 0;
    for (; k < cols; k++) {
      char *end;
      errno = 0;
      double v = strtod(p, &end);
      if (end == p || errno == ERANGE || !isfinite(v))
        break;
      if (k < d)
        x[n * d + k] = (float)v;
      else
        y[n * m + k - d] = (float)v;
      p = end;
      while (*p == ' ' || *p == '\t')
        p++;
      if (k + 1 < cols) {
        if (*p != ',')
          { k++; break; }
        p++;
      }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      p++;
    if (k != cols || *p)
      status = zpt_fail(ZPT_EFORMAT, "%s:%ld: expected %zu comma-separated "
                        "finite numbers (%zu inputs, then %zu targets)", path,
                        lineno, cols, d, m);
    else
      n++;
  }
  free(line);
  if (status == ZPT_OK && ferror(f))
    status = zpt_fail(ZPT_EIO, "%s: read error", path);
  fclose(f);
  if (status != ZPT_OK) {
    zpt_free(x);
    zpt_free(y);
    return status;
  }
  *xs = x;
  *ys = y;
  *rows = n;
  return ZPT_OK;
}

/* Splits the rows of data.path into the train and test sets of t. */
static int load_data_file(toy *t, const char *path, uint64_t n_train,
                          uint64_t n_test) {
  float *x, *y;
  size_t rows;
  ZPT_TRY(load_csv(path, t->d, t->m, &x, &y, &rows));
  size_t nte = n_test ? (size_t)n_test : rows / 4;
  size_t ntr = n_train ? (size_t)n_train : (rows > nte ? rows - nte : 0);
  int status = ZPT_OK;
  if (ntr == 0 || nte == 0 || ntr + nte > rows || ntr + nte < ntr)
    status = zpt_fail(ZPT_EFORMAT, "%s: %zu rows; need n_train + n_test = "
                      "%zu + %zu rows, both at least 1", path, rows, ntr, nte);
  else {
    t->n_train = ntr;
    t->n_test = nte;
    t->x_train = zpt_floats(ntr * t->d, "toy train inputs");
    t->y_train = zpt_floats(ntr * t->m, "toy train targets");
    t->x_test = zpt_floats(nte * t->d, "toy test inputs");
    t->y_test = zpt_floats(nte * t->m, "toy test targets");
    if (!t->x_train || !t->y_train || !t->x_test || !t->y_test)
      status = ZPT_ENOMEM;
    else {
      memcpy(t->x_train, x, ntr * t->d * sizeof(float));
      memcpy(t->y_train, y, ntr * t->m * sizeof(float));
      memcpy(t->x_test, x + ntr * t->d, nte * t->d * sizeof(float));
      memcpy(t->y_test, y + ntr * t->m, nte * t->m * sizeof(float));
    }
  }
  zpt_free(x);
  zpt_free(y);
  return status;
}

static void toy_free(toy *t) {
  if (!t)
    return;
  zpt_free(t->x_train);
  zpt_free(t->y_train);
  zpt_free(t->x_test);
  zpt_free(t->y_test);
  zpt_params_free(t->params);
  zpt_buffer_release(&t->box.work);
  zpt_trainer_free(t->trainer);
  zpt_rng_free(t->rng_batch);
  zpt_free(t->xb);
  zpt_free(t->yb);
  zpt_free(t->out);
  zpt_free(t);
}

static void toy_destroy(zpt_task *task) {
  toy_free(task->impl);
  task->impl = NULL;
}

#define CFG(call) ZPT_TRY(call)

static int read_config(toy *t, const zpt_config *cfg, uint64_t *data_seed,
                       uint64_t *init_seed, double *noise, double *init_scale,
                       const char **path, uint64_t *n_train, uint64_t *n_test) {
  const char *s;
  CFG(zpt_config_string(cfg, "data.path", path));
  CFG(zpt_config_string(cfg, "data.task", &s));
  if (strcmp(s, "toy"))
    return zpt_fail(ZPT_EINVAL, "model.kind = toy-linear needs data.task = toy, got '%s'", s);
  CFG(zpt_config_string(cfg, "train.metric", &s));
  if (strcmp(s, "relative_loss") && strcmp(s, "auto"))
    return zpt_fail(ZPT_EINVAL, "model.kind = toy-linear measures train.metric = relative_loss, got '%s'", s);
  long long v;
  CFG(zpt_config_int(cfg, "data.toy_inputs", &v));
  t->d = (size_t)v;
  CFG(zpt_config_int(cfg, "data.toy_outputs", &v));
  t->m = (size_t)v;
  uint64_t u;
  CFG(zpt_config_u64(cfg, "data.n_train", n_train));
  t->n_train = *n_train ? (size_t)*n_train : 512;
  CFG(zpt_config_u64(cfg, "data.n_test", n_test));
  t->n_test = *n_test ? (size_t)*n_test : 256;
  CFG(zpt_config_u64(cfg, "data.batch", &u));
  t->batch = (size_t)u;
  if (**path)
    t->n_train = t->n_test = 1; /* set by the file */
  if (t->n_train > (1u << 24) || t->n_test > (1u << 24) || t->batch > (1u << 20))
    return zpt_fail(ZPT_EINVAL, "toy-linear: data.n_train, data.n_test <= 2^24 "
                    "and data.batch <= 2^20 expected");
  CFG(zpt_config_u64(cfg, "data.seed", data_seed));
  CFG(zpt_config_u64(cfg, "model.init_seed", init_seed));
  CFG(zpt_config_double(cfg, "data.toy_noise", noise));
  CFG(zpt_config_double(cfg, "model.init_scale", init_scale));
  return ZPT_OK;
}

static int toy_create(const zpt_config *cfg, zpt_task *task) {
  toy *t = zpt_new(toy, "toy-linear task");
  if (!t)
    return ZPT_ENOMEM;
  task->impl = t;
  uint64_t data_seed, init_seed, n_train, n_test;
  double noise, init_scale;
  const char *path;
  int rc = read_config(t, cfg, &data_seed, &init_seed, &noise, &init_scale,
                       &path, &n_train, &n_test);
  if (rc == ZPT_OK && *path)
    rc = load_data_file(t, path, n_train, n_test);
  if (rc != ZPT_OK) {
    toy_destroy(task);
    return rc;
  }
  size_t d = t->d, m = t->m;
  t->params = zpt_params_alloc();
  size_t wshape[2] = {m, d}, bshape[1] = {m};
  if (!t->params || zpt_params_add(t->params, "linear.weight", 2, wshape, NULL) ||
      zpt_params_add(t->params, "linear.bias", 1, bshape, NULL))
    goto fail;
  size_t n = t->params->n_params;
  if (!*path) {
    t->x_train = zpt_floats(t->n_train * d, "toy train inputs");
    t->y_train = zpt_floats(t->n_train * m, "toy train targets");
    t->x_test = zpt_floats(t->n_test * d, "toy test inputs");
    t->y_test = zpt_floats(t->n_test * m, "toy test targets");
  }
  t->xb = zpt_floats(t->batch * d, "toy batch inputs");
  t->yb = zpt_floats(t->batch * m, "toy batch targets");
  t->out = zpt_floats(t->n_test * m, "toy outputs");
  t->rng_batch = zpt_rng_alloc(data_seed, ZPT_STREAM_BATCH, 0, 0);
  if (!t->x_train || !t->y_train || !t->x_test || !t->y_test || !t->xb ||
      !t->yb || !t->out || !t->rng_batch)
    goto fail;
  /* the true model, then the data */
  float *w_true = zpt_floats(m * d + m, "toy true model");
  if (!w_true)
    goto fail;
  gsl_rng *r = zpt_rng_alloc(data_seed, ZPT_STREAM_DATA, 0, 0);
  if (!r) {
    zpt_free(w_true);
    goto fail;
  }
  zpt_rng_gaussians(r, w_true, m * d, 1.0 / sqrt((double)d));
  zpt_rng_gaussians(r, w_true + m * d, m, 0.1);
  zpt_rng_free(r);
  if (!*path &&
      (generate(data_seed, 1, t->n_train, d, m, w_true, w_true + m * d, noise,
                t->x_train, t->y_train) != ZPT_OK ||
       generate(data_seed, 2, t->n_test, d, m, w_true, w_true + m * d, noise,
                t->x_test, t->y_test) != ZPT_OK)) {
    zpt_free(w_true);
    goto fail;
  }
  zpt_free(w_true);
  /* initial theta: weights N(0, init_scale^2 / d), bias 0 */
  r = zpt_rng_alloc(init_seed, ZPT_STREAM_INIT, 0, 0);
  if (!r)
    goto fail;
  zpt_rng_gaussians(r, t->params->theta, m * d, init_scale / sqrt((double)d));
  zpt_rng_free(r);
  t->box.d = d;
  t->box.m = m;
  t->box.n_params = n;
  t->bb.type = &toy_box_type;
  t->bb.impl = &t->box;
  t->bb.n_params = n;
  t->bb.input_size = d;
  t->bb.output_size = m;
  /* the trainer: [zo] on the mean squared error */
  zpt_setup_model_info info;
  memset(&info, 0, sizeof info);
  info.loss = zpt_loss_mse();
  zpt_zo_config zc;
  if (zpt_setup_zo_config(cfg, &info, &zc) != ZPT_OK ||
      zpt_trainer_alloc_borrow(&t->trainer, &t->bb, t->params->theta, &zc) != ZPT_OK)
    goto fail;
  return ZPT_OK;
fail:
  rc = zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  toy_destroy(task);
  return rc;
}

static zpt_params *toy_params(zpt_task *task) {
  return ((toy *)task->impl)->params;
}

/* Mean squared error of outputs against targets y. */
static double mse(const float *out, const float *y, size_t n) {
  double acc = 0;
  for (size_t k = 0; k < n; k++) {
    double e = (double)out[k] - (double)y[k];
    acc += e * e;
  }
  return acc / (double)n;
}

static int toy_step(zpt_task *task, const zpt_step_ctx *ctx,
                    zpt_step_info *info) {
  toy *t = task->impl;
  size_t d = t->d, m = t->m, B = t->batch;
  if (zpt_trainer_next_cost(t->trainer) > ctx->queries_left)
    return ZPT_EBUDGET; /* the loop ends the run cleanly */
  for (size_t s = 0; s < B; s++) {
    size_t i = (size_t)zpt_rng_below(t->rng_batch, t->n_train);
    memcpy(t->xb + s * d, t->x_train + i * d, d * sizeof(float));
    memcpy(t->yb + s * m, t->y_train + i * m, m * sizeof(float));
  }
  zpt_iter_info it;
  ZPT_TRY(zpt_trainer_iterate(t->trainer, t->xb, t->yb, B, &it));
  info->queries = it.queries;
  info->sample_forwards = it.queries * B;
  info->train_loss = it.loss;
  return ZPT_OK;
}

static int toy_evaluate(zpt_task *task, uint64_t max_samples,
                        zpt_task_eval *res) {
  toy *t = task->impl;
  size_t n = t->n_test;
  if (max_samples && max_samples < n)
    n = (size_t)max_samples;
  zpt_variation base = {0, 0, 0.0f, NULL};
  ZPT_TRY(zpt_blackbox_query(&t->bb, t->params->theta, &base, 1, t->x_test, n,
                             t->out, 0));
  double loss = mse(t->out, t->y_test, n * t->m);
  double ref = 0;
  for (size_t k = 0; k < n * t->m; k++)
    ref += (double)t->y_test[k] * t->y_test[k];
  ref /= (double)(n * t->m);
  res->loss = loss;
  res->metric = ref > 0 ? loss / ref : loss;
  res->samples = n;
  return ZPT_OK;
}

static int toy_write_outputs(zpt_task *task, FILE *csv) {
  toy *t = task->impl;
  zpt_variation base = {0, 0, 0.0f, NULL};
  ZPT_TRY(zpt_blackbox_query(&t->bb, t->params->theta, &base, 1, t->x_test,
                             t->n_test, t->out, 0));
  fprintf(csv, "sample");
  for (size_t i = 0; i < t->m; i++)
    fprintf(csv, ",output_%zu", i);
  for (size_t i = 0; i < t->m; i++)
    fprintf(csv, ",target_%zu", i);
  fputc('\n', csv);
  for (size_t s = 0; s < t->n_test; s++) {
    fprintf(csv, "%zu", s);
    for (size_t i = 0; i < t->m; i++)
      fprintf(csv, ",%.9g", (double)t->out[s * t->m + i]);
    for (size_t i = 0; i < t->m; i++)
      fprintf(csv, ",%.9g", (double)t->y_test[s * t->m + i]);
    fputc('\n', csv);
  }
  return ferror(csv) ? zpt_fail(ZPT_EIO, "writing outputs failed") : ZPT_OK;
}

static int toy_save(zpt_task *task, zpt_state_writer *w) {
  toy *t = task->impl;
  uint64_t rng[ZPT_RNG_STATE_WORDS];
  ZPT_TRY(zpt_rng_get_state(t->rng_batch, rng));
  ZPT_TRY(zpt_trainer_save(t->trainer, w));
  ZPT_TRY(w->put(w, "data/rng_batch", ZPT_T_U64, rng, ZPT_RNG_STATE_WORDS));
  return ZPT_OK;
}

static int toy_load(zpt_task *task, zpt_state_reader *r) {
  toy *t = task->impl;
  uint64_t rng[ZPT_RNG_STATE_WORDS];
  ZPT_TRY(zpt_trainer_load(t->trainer, r));
  ZPT_TRY(r->get(r, "data/rng_batch", ZPT_T_U64, rng, ZPT_RNG_STATE_WORDS));
  return zpt_rng_set_state(t->rng_batch, rng);
}

const zpt_task_type zpt_task_toy_linear = {
  "toy-linear", "relative_loss", toy_create, toy_params, toy_step,
  toy_evaluate, toy_write_outputs, toy_save, toy_load, toy_destroy,
  NULL, /* load_model: theta is the whole toy model */
};
