/* The flat C API for foreign-function callers (capi.h). */
#include "api/capi.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "hw/chip_client.h"
#include "tasks/tasks.h"

int zpt_api_fail(int status, const char *message) {
  if (status >= 0)
    status = ZPT_EBACKEND;
  return zpt_fail(status, "%s", message ? message : "(no message)");
}

/* ---- data sets ---- */
const char *zpt_api_dataset_name(const zpt_dataset *d) { return d->name; }
size_t zpt_api_dataset_n(const zpt_dataset *d) { return d->n; }
size_t zpt_api_dataset_input_size(const zpt_dataset *d) { return d->input_size; }
size_t zpt_api_dataset_target_size(const zpt_dataset *d) { return d->target_size; }
size_t zpt_api_dataset_n_classes(const zpt_dataset *d) { return d->n_classes; }
float *zpt_api_dataset_inputs(const zpt_dataset *d) { return d->inputs; }
float *zpt_api_dataset_targets(const zpt_dataset *d) { return d->targets; }
double zpt_api_dataset_baseline_loss(const zpt_dataset *d) { return d->baseline_loss; }

int zpt_api_batcher_alloc(zpt_batcher **out, size_t n, size_t batch, uint64_t seed,
                          int shuffle, int drop_last) {
  return zpt_batcher_alloc(out, n, batch, seed, shuffle,
                           drop_last ? ZPT_BATCH_DROP_LAST : ZPT_BATCH_SHORT_LAST);
}

/* ---- models ---- */
static void loss_out(const zpt_loss *l, int *kind, size_t *n_steps, size_t *n_classes,
                     double *score_scale) {
  *kind = (int)l->kind;
  *n_steps = l->n_steps;
  *n_classes = l->n_classes;
  *score_scale = l->score_scale;
}

static int loss_in(int kind, size_t n_steps, size_t n_classes, double score_scale,
                   zpt_loss *l) {
  memset(l, 0, sizeof *l);
  if (kind == ZPT_LOSS_MSE) {
    *l = zpt_loss_mse();
    return ZPT_OK;
  }
  if (kind != ZPT_LOSS_XENT)
    return zpt_fail(ZPT_EINVAL, "loss kind %d: expected %d (cross-entropy) or %d (mse)",
                    kind, ZPT_LOSS_XENT, ZPT_LOSS_MSE);
  *l = zpt_loss_xent_seq(n_steps, n_classes, score_scale);
  return ZPT_OK;
}

int zpt_api_setup_model(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, int *loss_kind, size_t *n_steps,
                        size_t *n_classes, double *score_scale, size_t *n_max,
                        uint64_t *noise_seed, const char **metric) {
  zpt_setup_model_info info;
  memset(&info, 0, sizeof info);
  ZPT_TRY(zpt_setup_model(cfg, meta, model, &info));
  loss_out(&info.loss, loss_kind, n_steps, n_classes, score_scale);
  *n_max = info.n_max;
  *noise_seed = info.noise_seed;
  *metric = info.metric;
  return ZPT_OK;
}

float *zpt_api_params_theta(zpt_params *p) { return p->theta; }
size_t zpt_api_params_n(const zpt_params *p) { return p->n_params; }
size_t zpt_api_params_n_views(const zpt_params *p) { return p->n_views; }

int zpt_api_params_view(const zpt_params *p, size_t k, const char **name, int *ndim,
                        size_t *shape, size_t *offset) {
  if (k >= p->n_views)
    return zpt_fail(ZPT_ENOTFOUND, "view %zu: the store has %zu views", k, p->n_views);
  const zpt_view *v = &p->views[k];
  *name = v->name;
  *ndim = v->ndim;
  for (int i = 0; i < ZPT_VIEW_MAX_DIMS; i++)
    shape[i] = i < v->ndim ? v->shape[i] : 1;
  *offset = v->offset;
  return ZPT_OK;
}

/* ---- black boxes ---- */
void zpt_api_blackbox_free(zpt_blackbox *bb) { zpt_blackbox_free(bb); }

void zpt_api_blackbox_sizes(const zpt_blackbox *bb, size_t *n_params,
                            size_t *input_size, size_t *output_size) {
  *n_params = bb->n_params;
  *input_size = bb->input_size;
  *output_size = bb->output_size;
}

int zpt_api_blackbox_query_base(zpt_blackbox *bb, const float *theta,
                                const float *inputs, size_t batch, float *outputs,
                                uint64_t first_query) {
  zpt_variation base = {0, 0, 0.0f, NULL};
  return zpt_blackbox_query(bb, theta, &base, 1, inputs, batch, outputs, first_query);
}

int zpt_api_blackbox_query(zpt_blackbox *bb, const float *theta, size_t n_vars,
                           const size_t *offsets, const size_t *lens,
                           const float *scales, const float *const *deltas,
                           const float *inputs, size_t batch, float *outputs,
                           uint64_t first_query) {
  zpt_variation *vars = zpt_alloc((n_vars ? n_vars : 1) * sizeof *vars, "variations");
  if (!vars)
    return ZPT_ENOMEM;
  for (size_t v = 0; v < n_vars; v++) {
    vars[v].offset = offsets[v];
    vars[v].len = lens[v];
    vars[v].scale = scales[v];
    vars[v].delta = deltas[v];
  }
  int rc = zpt_blackbox_query(bb, theta, vars, n_vars, inputs, batch, outputs,
                              first_query);
  zpt_free(vars);
  return rc;
}

int zpt_api_chip_open(const char *spec, double timeout_s, int retries,
                      size_t n_params, size_t input_size, size_t output_size,
                      zpt_blackbox **out) {
  zpt_chip_options opt = zpt_chip_options_default();
  opt.timeout_s = timeout_s;
  opt.retries = retries;
  opt.n_params = n_params;
  opt.input_size = input_size;
  opt.output_size = output_size;
  return zpt_chip_client_open(spec, &opt, out);
}

/* ---- losses and evaluation ---- */
size_t zpt_api_loss_target_size(int kind, size_t n_steps, size_t n_classes,
                                double score_scale, size_t output_size) {
  zpt_loss l;
  if (loss_in(kind, n_steps, n_classes, score_scale, &l) != ZPT_OK ||
      zpt_loss_check(&l, output_size) != ZPT_OK)
    return 0;
  return zpt_loss_target_size(&l, output_size);
}

int zpt_api_evaluate(zpt_blackbox *bb, const float *theta, int kind, size_t n_steps,
                     size_t n_classes, double score_scale, const float *inputs,
                     const float *targets, size_t n, size_t batch,
                     uint64_t first_query, double *loss, double *accuracy,
                     uint64_t *queries) {
  zpt_loss l;
  ZPT_TRY(loss_in(kind, n_steps, n_classes, score_scale, &l));
  ZPT_TRY(zpt_loss_check(&l, bb->output_size));
  zpt_eval_result r;
  ZPT_TRY(zpt_zo_evaluate(bb, theta, &l, inputs, targets, n, batch, first_query, &r));
  *loss = r.loss;
  *accuracy = r.accuracy;
  *queries = r.queries;
  return ZPT_OK;
}

uint64_t zpt_api_eval_query_base(void) { return ZPT_EVAL_QUERY_BASE; }

/* ---- trainer ---- */
int zpt_api_trainer_alloc(const zpt_config *cfg, zpt_blackbox *bb, const float *theta0,
                          int kind, size_t n_steps, size_t n_classes,
                          double score_scale, size_t n_max, int64_t budget,
                          zpt_trainer **out) {
  zpt_setup_model_info info;
  memset(&info, 0, sizeof info);
  ZPT_TRY(loss_in(kind, n_steps, n_classes, score_scale, &info.loss));
  info.n_max = n_max;
  zpt_zo_config zc;
  ZPT_TRY(zpt_setup_zo_config(cfg, &info, &zc));
  if (budget >= 0)
    zc.budget = (uint64_t)budget;
  return zpt_trainer_alloc(out, bb, theta0, &zc);
}

int zpt_api_trainer_iterate(zpt_trainer *t, const float *inputs, const float *targets,
                            size_t batch, double *loss, uint64_t *queries,
                            int *fisher_updated) {
  zpt_iter_info it;
  memset(&it, 0, sizeof it);
  int rc = zpt_trainer_iterate(t, inputs, targets, batch, &it);
  *loss = it.loss;
  *queries = rc == ZPT_OK ? it.queries : 0;
  *fisher_updated = it.fisher_updated;
  return rc;
}

void zpt_api_trainer_counters(const zpt_trainer *t, uint64_t *u, double *s) {
  const zpt_zo_counters *c = zpt_trainer_counters(t);
  const uint64_t v[12] = {c->iterations, c->queries, c->base_queries,
                          c->perturbed_queries, c->jacobian_queries,
                          c->sample_forwards, c->eval_queries,
                          c->eval_sample_forwards, c->fisher_updates,
                          c->fisher_blocks, c->chol_jitters, c->perturbations};
  memcpy(u, v, sizeof v);
  s[0] = c->iter_seconds;
  s[1] = c->fisher_seconds;
}

uint64_t zpt_api_trainer_budget(const zpt_trainer *t) {
  return zpt_trainer_config(t)->budget;
}

void zpt_api_trainer_loss(const zpt_trainer *t, int *kind, size_t *n_steps,
                          size_t *n_classes, double *score_scale) {
  loss_out(&zpt_trainer_config(t)->loss, kind, n_steps, n_classes, score_scale);
}

void zpt_api_trainer_copy_theta(const zpt_trainer *t, float *dst) {
  const float *src = zpt_trainer_theta(t);
  if (src != dst)
    memcpy(dst, src, zpt_trainer_n_params(t) * sizeof(float));
}

/* ---- state ---- */
static int elem_type(int type, zpt_elem_type *t) {
  if (type < ZPT_T_F32 || type > ZPT_T_U8)
    return zpt_fail(ZPT_EINVAL, "state item type %d: expected 1..5", type);
  *t = (zpt_elem_type)type;
  return ZPT_OK;
}

int zpt_api_state_put(zpt_state_writer *w, const char *name, int type,
                      const void *data, size_t count) {
  zpt_elem_type t = ZPT_T_F32;
  ZPT_TRY(elem_type(type, &t));
  return w->put(w, name, t, data, count);
}

int zpt_api_state_get(zpt_state_reader *r, const char *name, int type, void *data,
                      size_t count) {
  zpt_elem_type t = ZPT_T_F32;
  ZPT_TRY(elem_type(type, &t));
  return r->get(r, name, t, data, count);
}

int zpt_api_state_size(zpt_state_reader *r, const char *name, int type,
                       size_t *count) {
  zpt_elem_type t = ZPT_T_F32;
  ZPT_TRY(elem_type(type, &t));
  return r->size(r, name, t, count);
}

/* ---- run directory ---- */
int zpt_api_runlog_append(zpt_runlog *log, uint64_t iteration, uint64_t queries,
                          uint64_t sample_forwards, double seconds,
                          double train_loss, double test_loss, double test_metric) {
  zpt_log_row row = {iteration, queries, sample_forwards, seconds,
                     train_loss, test_loss, test_metric};
  return zpt_runlog_append(log, &row);
}
