/* Declarations of libzoptic that python/zoptic calls (cffi ABI mode reads
 * this file; tests/test_capi.c compiles it after the library's headers, so
 * any declaration that differs from the library fails the build).  Only
 * opaque handles, scalars and pointers: no struct layout is restated.
 * No preprocessor lines: cffi's parser takes plain C declarations.  The two
 * handles whose C types are anonymous structs (zpt_dataset, zpt_params) are
 * declared opaque by python/zoptic/_lib.py before this file. */
typedef struct zpt_config zpt_config;
typedef struct zpt_model zpt_model;
typedef struct zpt_blackbox zpt_blackbox;
typedef struct zpt_trainer zpt_trainer;
typedef struct zpt_batcher zpt_batcher;
typedef struct zpt_ckpt_writer zpt_ckpt_writer;
typedef struct zpt_ckpt_reader zpt_ckpt_reader;
typedef struct zpt_state_writer zpt_state_writer;
typedef struct zpt_state_reader zpt_state_reader;
typedef struct zpt_runlog zpt_runlog;

/* status, memory */
const char *zpt_error_message(void);
int zpt_error_status(void);
const char *zpt_status_name(int status);
void zpt_error_clear(void);
void zpt_free(void *p);
int zpt_api_fail(int status, const char *message);

/* configuration */
zpt_config *zpt_config_alloc(void);
void zpt_config_free(zpt_config *c);
zpt_config *zpt_config_clone(const zpt_config *c);
int zpt_config_parse_string(zpt_config *c, const char *text, const char *origin);
int zpt_config_parse_file(zpt_config *c, const char *path);
int zpt_config_resolve_data_paths(zpt_config *cfg, const char *config_path);
int zpt_config_set_value(zpt_config *c, const char *name, const char *value,
                         const char *origin);
int zpt_config_check_required(const zpt_config *c, const char *origin);
int zpt_config_string(const zpt_config *c, const char *name, const char **v);
int zpt_config_u64(const zpt_config *c, const char *name, uint64_t *v);
int zpt_config_int(const zpt_config *c, const char *name, long long *v);
int zpt_config_double(const zpt_config *c, const char *name, double *v);
int zpt_config_bool(const zpt_config *c, const char *name, int *v);
char *zpt_config_to_string(const zpt_config *c);

/* data */
int zpt_setup_data(const zpt_config *cfg, zpt_dataset **train, zpt_dataset **test);
void zpt_dataset_free(zpt_dataset *d);
const char *zpt_api_dataset_name(const zpt_dataset *d);
size_t zpt_api_dataset_n(const zpt_dataset *d);
size_t zpt_api_dataset_input_size(const zpt_dataset *d);
size_t zpt_api_dataset_target_size(const zpt_dataset *d);
size_t zpt_api_dataset_n_classes(const zpt_dataset *d);
float *zpt_api_dataset_inputs(const zpt_dataset *d);
float *zpt_api_dataset_targets(const zpt_dataset *d);
double zpt_api_dataset_baseline_loss(const zpt_dataset *d);
int zpt_api_batcher_alloc(zpt_batcher **out, size_t n, size_t batch, uint64_t seed,
                          int shuffle, int drop_last);
void zpt_batcher_free(zpt_batcher *b);
size_t zpt_batcher_next(zpt_batcher *b, const size_t **idx);
int zpt_batch_gather(const zpt_dataset *d, const size_t *idx, size_t count,
                     float *inputs, float *targets);
int zpt_batcher_save(const zpt_batcher *b, zpt_state_writer *w, const char *name);
int zpt_batcher_restore(zpt_batcher *b, zpt_state_reader *r, const char *name);

/* models */
int zpt_api_setup_model(const zpt_config *cfg, const zpt_dataset *meta,
                        zpt_model **model, int *loss_kind, size_t *n_steps,
                        size_t *n_classes, double *score_scale, size_t *n_max,
                        uint64_t *noise_seed, const char **metric);
const char *zpt_setup_model_kinds(void);
void zpt_model_free(zpt_model *m);
zpt_params *zpt_model_params(zpt_model *m);
size_t zpt_model_n_params(const zpt_model *m);
size_t zpt_model_input_size(const zpt_model *m);
size_t zpt_model_output_size(const zpt_model *m);
size_t zpt_model_n_layers(const zpt_model *m);
void zpt_model_init(zpt_model *m, uint64_t seed);
int zpt_model_set_threads(zpt_model *m, size_t n);
float *zpt_api_params_theta(zpt_params *p);
size_t zpt_api_params_n(const zpt_params *p);
size_t zpt_api_params_n_views(const zpt_params *p);
int zpt_api_params_view(const zpt_params *p, size_t k, const char **name, int *ndim,
                        size_t *shape, size_t *offset);

/* black boxes */
typedef int (*zpt_vars_query_fn)(void *user, const float *theta,
                                     size_t n_params, size_t n_vars,
                                     const size_t *offsets, const size_t *lens,
                                     const float *scales,
                                     const float *const *deltas,
                                     const float *inputs, size_t batch,
                                     float *outputs, uint64_t first_query);
int zpt_blackbox_vars_callback(zpt_blackbox **out, const char *name, size_t n_params,
                          size_t input_size, size_t output_size,
                          size_t max_batch, size_t max_vars,
                          zpt_vars_query_fn fn, void *user);
zpt_blackbox *zpt_model_blackbox(zpt_model *m, uint64_t noise_seed);
void zpt_api_blackbox_free(zpt_blackbox *bb);
void zpt_api_blackbox_sizes(const zpt_blackbox *bb, size_t *n_params,
                            size_t *input_size, size_t *output_size);
int zpt_api_blackbox_query_base(zpt_blackbox *bb, const float *theta,
                                const float *inputs, size_t batch, float *outputs,
                                uint64_t first_query);
int zpt_api_blackbox_query(zpt_blackbox *bb, const float *theta, size_t n_vars,
                           const size_t *offsets, const size_t *lens,
                           const float *scales, const float *const *deltas,
                           const float *inputs, size_t batch, float *outputs,
                           uint64_t first_query);
int zpt_api_chip_open(const char *spec, double timeout_s, int retries,
                      size_t n_params, size_t input_size, size_t output_size,
                      zpt_blackbox **out);

/* losses, evaluation */
size_t zpt_api_loss_target_size(int kind, size_t n_steps, size_t n_classes,
                                double score_scale, size_t output_size);
int zpt_api_evaluate(zpt_blackbox *bb, const float *theta, int kind, size_t n_steps,
                     size_t n_classes, double score_scale, const float *inputs,
                     const float *targets, size_t n, size_t batch,
                     uint64_t first_query, double *loss, double *accuracy,
                     uint64_t *queries);
uint64_t zpt_api_eval_query_base(void);

/* trainer */
int zpt_api_trainer_alloc(const zpt_config *cfg, zpt_blackbox *bb, const float *theta0,
                          int kind, size_t n_steps, size_t n_classes,
                          double score_scale, size_t n_max, int64_t budget,
                          zpt_trainer **out);
void zpt_trainer_free(zpt_trainer *t);
int zpt_api_trainer_iterate(zpt_trainer *t, const float *inputs, const float *targets,
                            size_t batch, double *loss, uint64_t *queries,
                            int *fisher_updated);
uint64_t zpt_trainer_next_cost(const zpt_trainer *t);
const float *zpt_trainer_theta(const zpt_trainer *t);
void zpt_trainer_set_theta(zpt_trainer *t, const float *theta);
const float *zpt_trainer_gradient(const zpt_trainer *t);
size_t zpt_trainer_n_params(const zpt_trainer *t);
double zpt_trainer_lr(const zpt_trainer *t);
int zpt_trainer_save(const zpt_trainer *t, zpt_state_writer *w);
int zpt_trainer_load(zpt_trainer *t, zpt_state_reader *r);
void zpt_api_trainer_counters(const zpt_trainer *t, uint64_t *u, double *s);
uint64_t zpt_api_trainer_budget(const zpt_trainer *t);
void zpt_api_trainer_loss(const zpt_trainer *t, int *kind, size_t *n_steps,
                          size_t *n_classes, double *score_scale);
void zpt_api_trainer_copy_theta(const zpt_trainer *t, float *dst);

/* checkpoints */
int zpt_ckpt_create(const char *path, const char *config_text, zpt_ckpt_writer **out);
zpt_state_writer *zpt_ckpt_state_writer(zpt_ckpt_writer *w);
int zpt_ckpt_put_params(zpt_ckpt_writer *w, const zpt_params *p);
int zpt_ckpt_commit(zpt_ckpt_writer *w);
void zpt_ckpt_abort(zpt_ckpt_writer *w);
int zpt_ckpt_open(const char *path, zpt_ckpt_reader **out);
void zpt_ckpt_close(zpt_ckpt_reader *r);
zpt_state_reader *zpt_ckpt_state_reader(zpt_ckpt_reader *r);
int zpt_ckpt_attr_text(zpt_ckpt_reader *r, const char *name, char **text);
int zpt_ckpt_get_params(zpt_ckpt_reader *r, zpt_params *p);
int zpt_ckpt_get_theta(zpt_ckpt_reader *r, float **theta, size_t *n);
int zpt_api_state_put(zpt_state_writer *w, const char *name, int type,
                      const void *data, size_t count);
int zpt_api_state_get(zpt_state_reader *r, const char *name, int type, void *data,
                      size_t count);
int zpt_api_state_size(zpt_state_reader *r, const char *name, int type,
                       size_t *count);

/* run directories */
int zpt_rundir_create(const char *dir);
int zpt_rundir_write_config(const char *dir, const zpt_config *c);
int zpt_runlog_create(const char *dir, zpt_runlog **out);
int zpt_runlog_resume(const char *dir, uint64_t keep_upto, zpt_runlog **out);
void zpt_runlog_close(zpt_runlog *log);
int zpt_api_runlog_append(zpt_runlog *log, uint64_t iteration, uint64_t queries,
                          uint64_t sample_forwards, double seconds,
                          double train_loss, double test_loss, double test_metric);

/* parameter stores (for a black box without a model) */
zpt_params *zpt_params_alloc(void);
void zpt_params_free(zpt_params *p);
int zpt_params_add(zpt_params *p, const char *name, int ndim, const size_t *shape,
                   size_t *offset);
