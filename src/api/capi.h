/* A flat C API for foreign-function callers (python/zoptic via cffi's ABI
 * mode): opaque handles, scalars and pointers only, so that a caller never
 * has to restate a struct layout of zoptic.  Each function wraps a public
 * function whose interface takes or returns a struct (zpt_setup_model_info,
 * zpt_zo_config, zpt_iter_info, zpt_zo_counters, zpt_eval_result,
 * zpt_log_row, zpt_chip_options, zpt_dataset and zpt_params fields) or an
 * enum.  The public functions that are already flat are called directly;
 * python/zoptic/_cdef.h declares both (tests/test_capi.c compiles it
 * against these headers, so a declaration that drifts fails the build).
 *
 * Losses are passed as (kind, n_steps, n_classes, score_scale) with kind
 * ZPT_LOSS_XENT = 1 or ZPT_LOSS_MSE = 2.
 */
#ifndef ZPT_API_CAPI_H
#define ZPT_API_CAPI_H

#include <stddef.h>
#include <stdint.h>

#include "core/params.h"
#include "core/state.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "io/config.h"
#include "io/runlog.h"
#include "nn/model.h"
#include "zo/blackbox.h"
#include "zo/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records `message` as this thread's error with `status` (for callers that
 * cannot call the variadic zpt_fail). */
int zpt_api_fail(int status, const char *message);

/* ---- data sets ---- */
const char *zpt_api_dataset_name(const zpt_dataset *d);
size_t zpt_api_dataset_n(const zpt_dataset *d);
size_t zpt_api_dataset_input_size(const zpt_dataset *d);
size_t zpt_api_dataset_target_size(const zpt_dataset *d);
size_t zpt_api_dataset_n_classes(const zpt_dataset *d);
float *zpt_api_dataset_inputs(const zpt_dataset *d);
float *zpt_api_dataset_targets(const zpt_dataset *d);
double zpt_api_dataset_baseline_loss(const zpt_dataset *d);
/* Batcher with remainder 0 = short last batch, 1 = drop it. */
int zpt_api_batcher_alloc(zpt_batcher **out, size_t n, size_t batch, uint64_t seed,
                          int shuffle, int drop_last);

/* ---- models ---- */
/* zpt_setup_model with its info flattened; *metric is a static string. */
int zpt_api_setup_model(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, int *loss_kind, size_t *n_steps,
                        size_t *n_classes, double *score_scale, size_t *n_max,
                        uint64_t *noise_seed, const char **metric);
/* The parameter store's theta, sizes and view k (shape: 4 values). */
float *zpt_api_params_theta(zpt_params *p);
size_t zpt_api_params_n(const zpt_params *p);
size_t zpt_api_params_n_views(const zpt_params *p);
int zpt_api_params_view(const zpt_params *p, size_t k, const char **name, int *ndim,
                        size_t *shape, size_t *offset);

/* ---- black boxes ---- */
/* zpt_blackbox_free (an inline function in blackbox.h). */
void zpt_api_blackbox_free(zpt_blackbox *bb);
void zpt_api_blackbox_sizes(const zpt_blackbox *bb, size_t *n_params,
                            size_t *input_size, size_t *output_size);
/* One query of theta itself on `batch` inputs. */
int zpt_api_blackbox_query_base(zpt_blackbox *bb, const float *theta,
                                const float *inputs, size_t batch, float *outputs,
                                uint64_t first_query);
/* n_vars variations given as parallel arrays (what zpt_blackbox_vars_callback
 * hands to its callback), e.g. to replay a callback's call in C. */
int zpt_api_blackbox_query(zpt_blackbox *bb, const float *theta, size_t n_vars,
                           const size_t *offsets, const size_t *lens,
                           const float *scales, const float *const *deltas,
                           const float *inputs, size_t batch, float *outputs,
                           uint64_t first_query);
/* A chip-driver client (spec as chip.driver, or "unix:PATH"); expected sizes
 * 0 = accept the driver's. */
int zpt_api_chip_open(const char *spec, double timeout_s, int retries,
                      size_t n_params, size_t input_size, size_t output_size,
                      zpt_blackbox **out);

/* ---- losses and evaluation ---- */
/* Floats per sample target (0 with a message for a bad loss). */
size_t zpt_api_loss_target_size(int kind, size_t n_steps, size_t n_classes,
                                double score_scale, size_t output_size);
/* zpt_zo_evaluate: mean loss, accuracy (NaN unless cross-entropy) and the
 * queries used. */
int zpt_api_evaluate(zpt_blackbox *bb, const float *theta, int kind, size_t n_steps,
                     size_t n_classes, double score_scale, const float *inputs,
                     const float *targets, size_t n, size_t batch,
                     uint64_t first_query, double *loss, double *accuracy,
                     uint64_t *queries);
/* ZPT_EVAL_QUERY_BASE. */
uint64_t zpt_api_eval_query_base(void);

/* ---- trainer ---- */
/* A trainer over bb from theta0 with the [zo] keys and train.budget of cfg
 * (zpt_setup_zo_config); n_max is used when zo.n_max = 0; budget >= 0
 * replaces train.budget (0 = unlimited, which the configuration cannot say). */
int zpt_api_trainer_alloc(const zpt_config *cfg, zpt_blackbox *bb, const float *theta0,
                          int kind, size_t n_steps, size_t n_classes,
                          double score_scale, size_t n_max, int64_t budget,
                          zpt_trainer **out);
int zpt_api_trainer_iterate(zpt_trainer *t, const float *inputs, const float *targets,
                            size_t batch, double *loss, uint64_t *queries,
                            int *fisher_updated);
/* The counters of zpt_zo_counters in declaration order into u[12]
 * (iterations, queries, base_queries, perturbed_queries, jacobian_queries,
 * sample_forwards, eval_queries, eval_sample_forwards, fisher_updates,
 * fisher_blocks, chol_jitters, perturbations) and s[2] (iter_seconds,
 * fisher_seconds). */
void zpt_api_trainer_counters(const zpt_trainer *t, uint64_t *u, double *s);
uint64_t zpt_api_trainer_budget(const zpt_trainer *t);
/* Loss of the trainer's configuration. */
void zpt_api_trainer_loss(const zpt_trainer *t, int *kind, size_t *n_steps,
                          size_t *n_classes, double *score_scale);
/* Copies the trainer's theta into dst unless they are the same memory. */
void zpt_api_trainer_copy_theta(const zpt_trainer *t, float *dst);

/* ---- state (checkpoint items) ---- */
/* type: 1 f32, 2 f64, 3 u64, 4 i64, 5 u8 (zpt_elem_type). */
int zpt_api_state_put(zpt_state_writer *w, const char *name, int type,
                      const void *data, size_t count);
int zpt_api_state_get(zpt_state_reader *r, const char *name, int type, void *data,
                      size_t count);
int zpt_api_state_size(zpt_state_reader *r, const char *name, int type,
                       size_t *count);

/* ---- run directory ---- */
int zpt_api_runlog_append(zpt_runlog *log, uint64_t iteration, uint64_t queries,
                          uint64_t sample_forwards, double seconds,
                          double train_loss, double test_loss, double test_metric);

#ifdef __cplusplus
}
#endif
#endif
