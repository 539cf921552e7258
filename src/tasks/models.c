/* The model of a run from its configuration: one builder per model.kind
 * (see tasks/tasks.h and docs/tasks.md); the data sets: data.c; the
 * trainer settings: zo_settings.c. */
#include "tasks/tasks.h"
#include "tasks/internal.h"

#include <string.h>

#include "core/status.h"
#include "core/threads.h"
#include "data/data.h"
#include "mzi/builders.h"
#include "mzi/chip.h"
#include "nn/builders.h"
#include "nn/layers.h"

/* ---- models ---- */

typedef int (*model_builder)(const zpt_config *cfg, const zpt_dataset *meta,
                             zpt_model **model, zpt_setup_model_info *info);

/* The input shape and class count of an image classifier on meta, which
 * must be an image classification set. */
static int image_input(const zpt_dataset *meta, const char *kind, size_t *in_c, size_t *in_h,
                       size_t *in_w, size_t *n_classes) {
  if (!meta->channels || !meta->height || !meta->width)
    return zpt_fail(ZPT_EINVAL, "model.kind = %s needs image inputs (data.task mnist10k, "
                    "digits, idx or cifar10 without data.dft_bins); %s has %zu plain "
                    "inputs", kind, meta->name, meta->input_size);
  if (meta->kind != ZPT_TASK_CLASSIFICATION)
    return zpt_fail(ZPT_EINVAL, "model.kind = %s is a classifier; %s is not a "
                    "classification set", kind, meta->name);
  *in_c = meta->channels;
  *in_h = meta->height;
  *in_w = meta->width;
  *n_classes = meta->n_classes;
  return ZPT_OK;
}

static int build_cnn(const zpt_config *cfg, const zpt_dataset *meta,
                     zpt_model **model, zpt_setup_model_info *info) {
  zpt_cnn_config c = zpt_cnn_default();
  ZPT_TRY(image_input(meta, "cnn", &c.in_c, &c.in_h, &c.in_w, &c.n_classes));
  size_t width;
  ZPT_TRY(zpt_setup_get_size(cfg, "model.channels", &c.conv1));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.channels2", &c.conv2));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.kernel", &c.kernel));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.width", &width));
  if (width)
    c.hidden = width;
  *model = zpt_cnn_alloc(&c);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = cnn on %zux%zux%zu inputs: ",
                            c.in_c, c.in_h, c.in_w);
  info->loss = zpt_loss_xent(meta->n_classes);
  return ZPT_OK;
}

static int build_mixer(const zpt_config *cfg, const zpt_dataset *meta,
                       zpt_model **model, zpt_setup_model_info *info) {
  zpt_mixer_config c = zpt_mixer_small();
  ZPT_TRY(image_input(meta, "mixer", &c.in_c, &c.in_h, &c.in_w, &c.n_classes));
  size_t width, blocks, ch;
  ZPT_TRY(zpt_setup_get_size(cfg, "model.patch", &c.patch));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.width", &width));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.blocks", &blocks));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.token_hidden", &c.token_hidden));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.channel_hidden", &ch));
  if (width)
    c.width = width;
  if (blocks)
    c.blocks = blocks;
  c.channel_hidden = ch ? ch : c.width;
  if (c.in_h % c.patch || c.in_w % c.patch)
    return zpt_fail(ZPT_EINVAL, "model.patch = %zu does not divide the %zux%zu images of %s",
                    c.patch, c.in_h, c.in_w, meta->name);
  *model = zpt_mixer_alloc(&c);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = mixer: ");
  info->loss = zpt_loss_xent(meta->n_classes);
  return ZPT_OK;
}

static int chip_config(const zpt_config *cfg, zpt_chip_config *c) {
  *c = zpt_chip_config_ideal();
  long long bits;
  ZPT_TRY(zpt_config_u64(cfg, "chip.seed", &c->seed));
  ZPT_TRY(zpt_config_double(cfg, "chip.strength", &c->strength));
  ZPT_TRY(zpt_config_double(cfg, "chip.sigma_split", &c->sigma_split));
  ZPT_TRY(zpt_config_double(cfg, "chip.sigma_radius", &c->sigma_radius));
  ZPT_TRY(zpt_config_double(cfg, "chip.sigma_angle", &c->sigma_angle));
  ZPT_TRY(zpt_config_int(cfg, "chip.phase_bits", &bits));
  c->phase_bits = (int)bits;
  ZPT_TRY(zpt_config_double(cfg, "chip.crosstalk", &c->crosstalk));
  ZPT_TRY(zpt_config_double(cfg, "chip.loss_db", &c->loss_db));
  ZPT_TRY(zpt_config_double(cfg, "chip.noise_thermal", &c->noise_thermal));
  ZPT_TRY(zpt_config_double(cfg, "chip.noise_shot", &c->noise_shot));
  int rc = zpt_chip_config_check(c);
  return rc == ZPT_OK ? ZPT_OK : zpt_fail_context(ZPT_EINVAL, "[chip]: ");
}

/* What every MZI model reads. */
typedef struct {
  size_t K;             /* model.K: mesh size (0: the model's default) */
  double scale;         /* model.score_scale: logits per detected power */
  zpt_chip_config chip; /* [chip] */
} mzi_keys;

static int read_mzi_keys(const zpt_config *cfg, mzi_keys *k) {
  ZPT_TRY(zpt_setup_get_size(cfg, "model.K", &k->K));
  ZPT_TRY(zpt_config_double(cfg, "model.score_scale", &k->scale));
  return chip_config(cfg, &k->chip);
}

static int build_mzi_classifier(const zpt_config *cfg, const zpt_dataset *meta,
                                zpt_model **model, zpt_setup_model_info *info) {
  mzi_keys k;
  size_t L;
  ZPT_TRY(read_mzi_keys(cfg, &k));
  ZPT_TRY(zpt_setup_get_size(cfg, "model.L", &L));
  if (meta->kind == ZPT_TASK_CLASSIFICATION && !meta->height && meta->n_classes >= 2)
    return zpt_setup_mzi_features(meta, k.K, L, k.scale, &k.chip, model, info);
  size_t K = k.K ? k.K : 16;
  if (meta->kind != ZPT_TASK_CLASSIFICATION || meta->n_classes != 10)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-classifier reads 10 classes; %s has %zu "
                    "(data.task mnist10k, digits, or idx/csv with 10 classes)",
                    meta->name, meta->n_classes);
  if (K < 10 || K > meta->input_size / 2)
    return zpt_fail(ZPT_EINVAL, "model.K = %zu: the mzi-classifier needs 10 <= K <= %zu "
                    "(half the %zu inputs of %s; it computes its own DFT features: leave "
                    "data.dft_bins = 0)", K, meta->input_size / 2, meta->input_size, meta->name);
  ZPT_TRY(zpt_mzi_classifier_alloc(meta->input_size, K, L, &k.chip, model));
  info->loss = zpt_loss_xent_seq(1, 10, k.scale);
  return ZPT_OK;
}

static int build_mzi_equalizer(const zpt_config *cfg, const zpt_dataset *meta,
                               zpt_model **model, zpt_setup_model_info *info) {
  mzi_keys k;
  ZPT_TRY(read_mzi_keys(cfg, &k));
  if (meta->channel == ZPT_CHANNEL_NONE || meta->n_classes != 4)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-equalizer needs data.task = "
                    "equalization-isi or equalization-imdd, got %s", meta->name);
  ZPT_TRY(zpt_mzi_equalizer_alloc(meta->input_size, k.K ? k.K : 8, &k.chip, model));
  info->loss = zpt_loss_xent_seq(1, 4, k.scale);
  return ZPT_OK;
}

static int build_mzi_rnn(const zpt_config *cfg, const zpt_dataset *meta,
                         zpt_model **model, zpt_setup_model_info *info) {
  mzi_keys k;
  int screen;
  ZPT_TRY(read_mzi_keys(cfg, &k));
  ZPT_TRY(zpt_config_bool(cfg, "model.screen", &screen));
  if (meta->kind != ZPT_TASK_SEQUENCE || !meta->copy_delay)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-rnn needs data.task = copying, got %s",
                    meta->name);
  if (k.K && k.K != 32)
    return zpt_fail(ZPT_EINVAL, "model.K = %zu: the mzi-rnn cell has K = 32 (leave model.K = 0)",
                    k.K);
  ZPT_TRY(zpt_mzi_copying_rnn_alloc(meta->seq_len, screen, &k.chip, model));
  info->loss = zpt_loss_xent_seq(meta->seq_len, ZPT_COPY_CLASSES, k.scale);
  return ZPT_OK;
}

/* y = W x + b: one dense layer (views linear.weight, linear.bias; weights
 * N(0, 1/d), biases 0) on the mean squared error. */
static int build_toy_linear(const zpt_config *cfg, const zpt_dataset *meta,
                            zpt_model **model, zpt_setup_model_info *info) {
  if (meta->kind != ZPT_TASK_REGRESSION)
    return zpt_fail(ZPT_EINVAL, "model.kind = toy-linear is a linear regression; %s is not "
                    "a regression set (data.task = toy)", meta->name);
  *model = zpt_model_alloc(meta->input_size);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = toy-linear: ");
  ZPT_TRY(zpt_model_add_dense(*model, "linear", meta->target_size, ZPT_INIT_LECUN));
  info->loss = zpt_loss_mse();
  return ZPT_OK;
}

/* Every model kind: its builder (which sets info->loss), the paper's
 * largest block (0: the trainer's default, 512) and its metric. */
static const struct {
  const char *kind;
  model_builder build;
  size_t n_max;
  const char *metric;
} builders[] = {
  {"cnn", build_cnn, 431, "accuracy"},
  {"mixer", build_mixer, 510, "accuracy"},
  {"mlp", zpt_setup_build_mlp, 0, "accuracy"},
  {"mzi-classifier", build_mzi_classifier, 512, "accuracy"},
  {"mzi-equalizer", build_mzi_equalizer, 28, "ser"},
  {"mzi-rnn", build_mzi_rnn, 45, "relative_loss"},
  {"toy-linear", build_toy_linear, 0, "relative_loss"},
};
#define N_BUILDERS (sizeof builders / sizeof builders[0])

const char *zpt_setup_model_kinds(void) {
  return "cnn, mixer, mlp, mzi-classifier, mzi-equalizer, mzi-rnn, toy-linear";
}

int zpt_setup_model(const zpt_config *cfg, const zpt_dataset *meta,
                    zpt_model **model, zpt_setup_model_info *info) {
  *model = NULL;
  memset(info, 0, sizeof *info);
  const char *kind;
  uint64_t seed;
  double scale;
  ZPT_TRY(zpt_config_string(cfg, "model.kind", &kind));
  ZPT_TRY(zpt_config_u64(cfg, "model.init_seed", &seed));
  ZPT_TRY(zpt_config_double(cfg, "model.init_scale", &scale));
  ZPT_TRY(zpt_config_u64(cfg, "chip.seed", &info->noise_seed));
  for (size_t i = 0; i < N_BUILDERS; i++) {
    if (strcmp(builders[i].kind, kind))
      continue;
    info->n_max = builders[i].n_max;
    info->metric = builders[i].metric;
    int rc = builders[i].build(cfg, meta, model, info);
    if (rc != ZPT_OK) {
      zpt_model_free(*model);
      *model = NULL;
      return rc;
    }
    zpt_model_init(*model, seed);
    if (scale != 1.0) {
      zpt_params *p = zpt_model_params(*model);
      for (size_t k = 0; k < p->n_params; k++)
        p->theta[k] = (float)(p->theta[k] * scale);
    }
    /* The measured policy (docs/performance.md): single-threaded BLAS,
     * variations dealt to threads. */
    long long threads;
    rc = zpt_config_int(cfg, "train.threads", &threads);
    if (rc == ZPT_OK)
      rc = zpt_set_threads(1);
    if (rc == ZPT_OK) {
      size_t n = threads > 0 ? (size_t)threads : (size_t)zpt_threads_default();
      rc = zpt_model_set_threads(*model, n < ZPT_MODEL_MAX_THREADS ? n : ZPT_MODEL_MAX_THREADS);
    }
    if (rc != ZPT_OK) {
      zpt_model_free(*model);
      *model = NULL;
    }
    return rc;
  }
  return zpt_fail(ZPT_EINVAL, "model.kind = %s: no simulated model of that kind "
                  "(available: %s)", kind, zpt_setup_model_kinds());
}
