/* Data, model and trainer settings of a run from its configuration (see
 * io/setup.h and docs/tasks.md). */
#define _POSIX_C_SOURCE 200809L
#include "io/setup.h"
#include "io/setup_internal.h"
#include "io/setup_idx.h"
#include "io/datapaths.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "core/threads.h"
#include "data/data.h"
#include "data/synthetic.h"
#include "mzi/builders.h"
#include "mzi/chip.h"
#include "nn/builders.h"

#define PATH_LEN 4096

/* ---- data ---- */

static int get_size(const zpt_config *cfg, const char *name, size_t *out) {
  long long v;
  ZPT_TRY(zpt_config_int(cfg, name, &v));
  *out = v < 0 ? 0 : (size_t)v;
  return ZPT_OK;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* dir/name.gz if it exists, else dir/name. */
static void in_dir(const char *dir, const char *name, char *buf, size_t len) {
  size_t n = strlen(dir);
  const char *sep = n && dir[n - 1] == '/' ? "" : "/";
  snprintf(buf, len, "%s%s%s.gz", dir, sep, name);
  if (!exists(buf))
    snprintf(buf, len, "%s%s%s", dir, sep, name);
}

static int missing(const char *key, const char *path, const char *hint) {
  return zpt_fail(ZPT_ENOTFOUND, "%s = %s: no such file or directory%s%s", key,
                  path, hint ? "; " : "", hint ? hint : "");
}

/* Keeps the first n_train samples of *train (0: all). */
static int limit_train(zpt_dataset **train, uint64_t n_train) {
  if (n_train == 0 || n_train >= (*train)->n)
    return ZPT_OK;
  zpt_dataset *head = NULL, *rest = NULL;
  ZPT_TRY(zpt_split_first(*train, (size_t)n_train, &head, &rest));
  zpt_dataset_free(rest);
  zpt_dataset_free(*train);
  *train = head;
  return ZPT_OK;
}

static int split_file_set(zpt_dataset *all, uint64_t n_train, uint64_t n_test,
                          uint64_t seed, zpt_dataset **train,
                          zpt_dataset **test) {
  size_t nte = n_test ? (size_t)n_test : all->n / 5;
  if (nte == 0 || nte >= all->n)
    return zpt_fail(ZPT_EINVAL, "data.n_test = %zu: the data set %s has %zu samples; "
                    "need 1 <= n_test < %zu", nte, all->name, all->n, all->n);
  ZPT_TRY(zpt_split_random(all, nte, seed, train, test));
  return limit_train(train, n_train);
}

static int load_sets(const zpt_config *cfg, const char *task,
                     zpt_dataset **train, zpt_dataset **test) {
  const char *path, *labels;
  uint64_t n_train, n_test, seed;
  ZPT_TRY(zpt_config_string(cfg, "data.path", &path));
  ZPT_TRY(zpt_config_string(cfg, "data.labels", &labels));
  ZPT_TRY(zpt_config_u64(cfg, "data.n_train", &n_train));
  ZPT_TRY(zpt_config_u64(cfg, "data.n_test", &n_test));
  ZPT_TRY(zpt_config_u64(cfg, "data.seed", &seed));
  char img[PATH_LEN], lab[PATH_LEN];
  zpt_dataset *all = NULL;
  int rc = ZPT_OK;
  if (!strcmp(task, "mnist10k") || !strcmp(task, "idx")) {
    int mnist = !strcmp(task, "mnist10k");
    if (!*path && mnist)
      path = zpt_data_default_path(task);
    if (!*path)
      return zpt_fail(ZPT_EINVAL, "data.task = idx needs data.path (the images IDX file)");
    if (is_dir(path)) {
      in_dir(path, "t10k-images-idx3-ubyte", img, sizeof img);
      in_dir(path, "t10k-labels-idx1-ubyte", lab, sizeof lab);
    } else {
      snprintf(img, sizeof img, "%s", path);
      if (*labels)
        snprintf(lab, sizeof lab, "%s", labels);
      else {
        const char *at = strstr(path, "images");
        if (!at)
          return zpt_fail(ZPT_EINVAL, "data.path = %s: cannot derive the labels file "
                          "(no 'images' in the name): set data.labels", path);
        snprintf(lab, sizeof lab, "%.*slabels%s", (int)(at - path), path, at + 6);
        if (strstr(lab, "idx3"))
          memcpy(strstr(lab, "idx3"), "idx1", 4);
      }
    }
    if (*labels && is_dir(path))
      snprintf(lab, sizeof lab, "%s", labels);
    if (!exists(img))
      return missing("data.path", img, mnist ? "fetch it with: datasets/fetch.sh mnist "
                     "(or --from DIR)" : NULL);
    if (!exists(lab))
      return missing("data.labels", lab, NULL);
    size_t n_classes;
    ZPT_TRY(get_size(cfg, "data.n_classes", &n_classes));
    if (!mnist && !n_classes) { /* infer: every class 0..max present, or refused */
      zpt_idx l;
      ZPT_TRY(zpt_idx_load(lab, &l));
      rc = zpt_idx_infer_classes(&l, lab, &n_classes);
      zpt_idx_release(&l);
      ZPT_TRY(rc);
    }
    ZPT_TRY(zpt_idx_load_pair(img, lab, mnist ? 10 : n_classes, task, &all));
    rc = zpt_scale_range(all, 0.0f, 255.0f);
    if (rc == ZPT_OK && mnist) {
      rc = zpt_split_mnist10k(all, train, test);
      if (rc == ZPT_OK)
        rc = limit_train(train, n_train);
    } else if (rc == ZPT_OK) {
      const char *test_path;
      rc = zpt_config_string(cfg, "data.test_path", &test_path);
      if (rc == ZPT_OK && *test_path)
        rc = zpt_setup_idx_fixed_test(cfg, test_path, n_classes, &all, n_train, n_test, train, test);
      else if (rc == ZPT_OK)
        rc = split_file_set(all, n_train, n_test, seed, train, test);
    }
  } else if (!strcmp(task, "digits")) {
    if (!*path)
      path = zpt_data_default_path(task);
    if (!exists(path))
      return missing("data.path", path, "fetch it with: datasets/fetch.sh digits");
    ZPT_TRY(zpt_digits_load(path, &all));
    rc = zpt_scale_range(all, 0.0f, 16.0f);
    if (rc == ZPT_OK)
      rc = split_file_set(all, n_train, n_test, seed, train, test);
  } else if (!strcmp(task, "csv")) {
    if (!*path)
      return zpt_fail(ZPT_EINVAL, "data.task = csv needs data.path");
    if (!exists(path))
      return missing("data.path", path, NULL);
    ZPT_TRY(zpt_setup_load_csv(cfg, path, &all));
    rc = split_file_set(all, n_train, n_test, seed, train, test);
  } else if (!strcmp(task, "cifar10")) {
    if (!*path)
      path = zpt_data_default_path(task);
    if (!is_dir(path))
      return missing("data.path", path, "a directory of data_batch_*.bin and test_batch.bin "
                     "(datasets/fetch.sh cifar10)");
    char names[6][PATH_LEN];
    const char *tr[5];
    size_t n_tr = 0;
    for (int k = 1; k <= 5; k++) {
      char nm[32];
      snprintf(nm, sizeof nm, "data_batch_%d.bin", k);
      in_dir(path, nm, names[n_tr], PATH_LEN);
      if (exists(names[n_tr])) {
        tr[n_tr] = names[n_tr];
        n_tr++;
      }
    }
    in_dir(path, "test_batch.bin", names[5], PATH_LEN);
    if (n_tr == 0)
      return missing("data.path", path, "no data_batch_*.bin in it");
    if (!exists(names[5]))
      return missing("data.path", names[5], NULL);
    const char *te = names[5];
    ZPT_TRY(zpt_cifar10_load(tr, n_tr, "cifar10-train", train));
    rc = zpt_cifar10_load(&te, 1, "cifar10-test", test);
    if (rc == ZPT_OK)
      rc = zpt_scale_range(*train, 0.0f, 255.0f);
    if (rc == ZPT_OK)
      rc = zpt_scale_range(*test, 0.0f, 255.0f);
    if (rc == ZPT_OK)
      rc = limit_train(train, n_train);
    if (rc == ZPT_OK && n_test && n_test < (*test)->n) {
      zpt_dataset *head = NULL, *rest = NULL;
      rc = zpt_split_first(*test, (size_t)n_test, &head, &rest);
      if (rc == ZPT_OK) {
        zpt_dataset_free(rest);
        zpt_dataset_free(*test);
        *test = head;
      }
    }
  } else if (!strcmp(task, "cifar10-synthetic")) { /* data/synthetic.h */
    size_t ntr = n_train ? (size_t)n_train : 50000, nte = n_test ? (size_t)n_test : 10000;
    ZPT_TRY(zpt_cifar_synthetic_generate(ntr + nte, seed, &all));
    rc = zpt_split_first(all, ntr, train, test);
  } else if (!strcmp(task, "copying")) {
    size_t delay;
    ZPT_TRY(get_size(cfg, "data.copy_delay", &delay));
    size_t ntr = n_train ? (size_t)n_train : 2000, nte = n_test ? (size_t)n_test : 500;
    ZPT_TRY(zpt_copying_generate(ntr + nte, delay, seed, &all));
    rc = zpt_split_first(all, ntr, train, test);
  } else if (!strncmp(task, "equalization-", 13)) {
    zpt_channel_kind ch = !strcmp(task, "equalization-isi") ? ZPT_CHANNEL_ISI : ZPT_CHANNEL_IMDD;
    zpt_eq_config ec = zpt_eq_defaults(ch);
    size_t ntr = n_train ? (size_t)n_train : 8000, nte = n_test ? (size_t)n_test : 2000;
    long long taps, centre, delay;
    ZPT_TRY(zpt_config_int(cfg, "data.taps", &taps));
    ZPT_TRY(zpt_config_int(cfg, "data.centre", &centre));
    ZPT_TRY(zpt_config_int(cfg, "data.delay", &delay));
    ZPT_TRY(zpt_config_double(cfg, "data.snr_db", &ec.snr_db));
    const char *kind;
    ZPT_TRY(zpt_config_string(cfg, "model.kind", &kind));
    if (taps > 0)
      ec.taps = (size_t)taps;
    else if (!strcmp(kind, "mzi-equalizer"))
      ec.taps = 21; /* the equalizer's window (docs/mzi.md) */
    if (centre >= 0)
      ec.centre = (size_t)centre;
    if (delay >= 0)
      ec.delay = (size_t)delay;
    if (ch == ZPT_CHANNEL_IMDD) {
      double km, d, gbd, nm;
      ZPT_TRY(zpt_config_double(cfg, "data.imdd_length_km", &km));
      ZPT_TRY(zpt_config_double(cfg, "data.imdd_dispersion", &d));
      ZPT_TRY(zpt_config_double(cfg, "data.imdd_baud_gbd", &gbd));
      ZPT_TRY(zpt_config_double(cfg, "data.imdd_wavelength_nm", &nm));
      ec.length = km * 1e3;
      ec.dispersion = d * 1e-6;
      ec.baud = gbd * 1e9;
      ec.wavelength = nm * 1e-9;
    }
    ec.n = ntr + nte;
    ec.seed = seed;
    ZPT_TRY(zpt_eq_generate(&ec, &all));
    rc = zpt_split_first(all, ntr, train, test);
  } else {
    return zpt_fail(ZPT_EINVAL, "data.task = %s is not served by the real tasks "
                    "(toy belongs to model.kind = toy-linear)", task);
  }
  zpt_dataset_free(all);
  return rc;
}

/* An "auto|true|false|yes|no|on|off|1|0" key's value other than auto. */
static int truthy(const char *s) {
  return !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1");
}

int zpt_setup_data(const zpt_config *cfg, zpt_dataset **train,
                   zpt_dataset **test) {
  *train = *test = NULL;
  const char *task, *st;
  size_t bins;
  zpt_setup_clear_note();
  ZPT_TRY(zpt_config_string(cfg, "data.task", &task));
  ZPT_TRY(zpt_config_string(cfg, "data.standardize", &st));
  /* auto: a table's columns have arbitrary units; pixels are scaled to
   * [0, 1] and generated signals keep their physical units */
  int standardize = !strcmp(st, "auto") ? !strcmp(task, "csv") : truthy(st);
  ZPT_TRY(get_size(cfg, "data.dft_bins", &bins));
  int rc = load_sets(cfg, task, train, test);
  if (rc == ZPT_OK && standardize) {
    zpt_standardizer *s = NULL;
    rc = zpt_standardizer_fit(*train, &s);
    if (rc == ZPT_OK)
      rc = zpt_standardizer_apply(s, *train);
    if (rc == ZPT_OK)
      rc = zpt_standardizer_apply(s, *test);
    zpt_standardizer_free(s);
  }
  if (rc == ZPT_OK && bins) {
    if (bins >= (*train)->input_size)
      rc = zpt_fail(ZPT_EINVAL, "data.dft_bins = %zu: inputs of %s have %zu values; "
                    "need 1 <= dft_bins <= %zu", bins, (*train)->name,
                    (*train)->input_size, (*train)->input_size - 1);
    zpt_dataset *a = NULL, *b = NULL;
    if (rc == ZPT_OK)
      rc = zpt_dft_features(*train, bins, (*train)->name, &a);
    if (rc == ZPT_OK)
      rc = zpt_dft_features(*test, bins, (*test)->name, &b);
    if (rc == ZPT_OK) {
      zpt_dataset_free(*train);
      zpt_dataset_free(*test);
      *train = a;
      *test = b;
    } else {
      zpt_dataset_free(a);
      zpt_dataset_free(b);
    }
  }
  if (rc == ZPT_OK && ((*train)->n == 0 || (*test)->n == 0))
    rc = zpt_fail(ZPT_EINVAL, "data.task = %s: %zu training and %zu test samples; "
                  "need at least 1 of each", task, (*train)->n, (*test)->n);
  if (rc != ZPT_OK) {
    zpt_dataset_free(*train);
    zpt_dataset_free(*test);
    *train = *test = NULL;
  }
  return rc;
}

/* ---- models ---- */

typedef int (*model_builder)(const zpt_config *cfg, const zpt_dataset *meta,
                             zpt_model **model, zpt_setup_model_info *info);

static int need_image(const zpt_dataset *meta, const char *kind) {
  if (!meta->channels || !meta->height || !meta->width)
    return zpt_fail(ZPT_EINVAL, "model.kind = %s needs image inputs (data.task mnist10k, "
                    "digits, idx or cifar10 without data.dft_bins); %s has %zu plain "
                    "inputs", kind, meta->name, meta->input_size);
  if (meta->kind != ZPT_TASK_CLASSIFICATION)
    return zpt_fail(ZPT_EINVAL, "model.kind = %s is a classifier; %s is not a "
                    "classification set", kind, meta->name);
  return ZPT_OK;
}

static int build_cnn(const zpt_config *cfg, const zpt_dataset *meta,
                     zpt_model **model, zpt_setup_model_info *info) {
  ZPT_TRY(need_image(meta, "cnn"));
  zpt_cnn_config c = zpt_cnn_default();
  c.in_c = meta->channels;
  c.in_h = meta->height;
  c.in_w = meta->width;
  c.n_classes = meta->n_classes;
  size_t width;
  ZPT_TRY(get_size(cfg, "model.channels", &c.conv1));
  ZPT_TRY(get_size(cfg, "model.channels2", &c.conv2));
  ZPT_TRY(get_size(cfg, "model.kernel", &c.kernel));
  ZPT_TRY(get_size(cfg, "model.width", &width));
  if (width)
    c.hidden = width;
  *model = zpt_cnn_alloc(&c);
  if (!*model)
    return zpt_fail_context(zpt_error_status(), "model.kind = cnn on %zux%zux%zu inputs: ",
                            c.in_c, c.in_h, c.in_w);
  info->loss = zpt_loss_xent(meta->n_classes);
  info->n_max = 431;
  info->metric = "accuracy";
  return ZPT_OK;
}

static int build_mixer(const zpt_config *cfg, const zpt_dataset *meta,
                       zpt_model **model, zpt_setup_model_info *info) {
  ZPT_TRY(need_image(meta, "mixer"));
  zpt_mixer_config c = zpt_mixer_small();
  c.in_c = meta->channels;
  c.in_h = meta->height;
  c.in_w = meta->width;
  c.n_classes = meta->n_classes;
  size_t width, blocks, ch;
  ZPT_TRY(get_size(cfg, "model.patch", &c.patch));
  ZPT_TRY(get_size(cfg, "model.width", &width));
  ZPT_TRY(get_size(cfg, "model.blocks", &blocks));
  ZPT_TRY(get_size(cfg, "model.token_hidden", &c.token_hidden));
  ZPT_TRY(get_size(cfg, "model.channel_hidden", &ch));
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
  info->n_max = 510;
  info->metric = "accuracy";
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

static int build_mzi_classifier(const zpt_config *cfg, const zpt_dataset *meta,
                                zpt_model **model, zpt_setup_model_info *info) {
  size_t K, L;
  double scale;
  zpt_chip_config chip;
  ZPT_TRY(get_size(cfg, "model.K", &K));
  ZPT_TRY(get_size(cfg, "model.L", &L));
  ZPT_TRY(zpt_config_double(cfg, "model.score_scale", &scale));
  ZPT_TRY(chip_config(cfg, &chip));
  if (meta->kind == ZPT_TASK_CLASSIFICATION && !meta->height && meta->n_classes >= 2)
    return zpt_setup_mzi_features(meta, K, L, scale, &chip, model, info);
  if (!K)
    K = 16;
  if (meta->kind != ZPT_TASK_CLASSIFICATION || meta->n_classes != 10)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-classifier reads 10 classes; %s has %zu "
                    "(data.task mnist10k, digits, or idx/csv with 10 classes)",
                    meta->name, meta->n_classes);
  if (K < 10 || K > meta->input_size / 2)
    return zpt_fail(ZPT_EINVAL, "model.K = %zu: the mzi-classifier needs 10 <= K <= %zu "
                    "(half the %zu inputs of %s; it computes its own DFT features: leave "
                    "data.dft_bins = 0)", K, meta->input_size / 2, meta->input_size, meta->name);
  ZPT_TRY(zpt_mzi_classifier_alloc(meta->input_size, K, L, &chip, model));
  info->loss = zpt_loss_xent_seq(1, 10, scale);
  info->n_max = 512;
  info->metric = "accuracy";
  return ZPT_OK;
}

static int build_mzi_equalizer(const zpt_config *cfg, const zpt_dataset *meta,
                               zpt_model **model, zpt_setup_model_info *info) {
  size_t K;
  double scale;
  zpt_chip_config chip;
  ZPT_TRY(get_size(cfg, "model.K", &K));
  ZPT_TRY(zpt_config_double(cfg, "model.score_scale", &scale));
  ZPT_TRY(chip_config(cfg, &chip));
  if (meta->channel == ZPT_CHANNEL_NONE || meta->n_classes != 4)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-equalizer needs data.task = "
                    "equalization-isi or equalization-imdd, got %s", meta->name);
  if (!K)
    K = 8;
  ZPT_TRY(zpt_mzi_equalizer_alloc(meta->input_size, K, &chip, model));
  info->loss = zpt_loss_xent_seq(1, 4, scale);
  info->n_max = 28;
  info->metric = "ser";
  return ZPT_OK;
}

static int build_mzi_rnn(const zpt_config *cfg, const zpt_dataset *meta,
                         zpt_model **model, zpt_setup_model_info *info) {
  size_t K;
  int screen;
  double scale;
  zpt_chip_config chip;
  ZPT_TRY(get_size(cfg, "model.K", &K));
  ZPT_TRY(zpt_config_bool(cfg, "model.screen", &screen));
  ZPT_TRY(zpt_config_double(cfg, "model.score_scale", &scale));
  ZPT_TRY(chip_config(cfg, &chip));
  if (meta->kind != ZPT_TASK_SEQUENCE || !meta->copy_delay)
    return zpt_fail(ZPT_EINVAL, "model.kind = mzi-rnn needs data.task = copying, got %s",
                    meta->name);
  if (K && K != 32)
    return zpt_fail(ZPT_EINVAL, "model.K = %zu: the mzi-rnn cell has K = 32 (leave model.K = 0)",
                    K);
  ZPT_TRY(zpt_mzi_copying_rnn_alloc(meta->seq_len, screen, &chip, model));
  info->loss = zpt_loss_xent_seq(meta->seq_len, ZPT_COPY_CLASSES, scale);
  info->n_max = 45;
  info->metric = "relative_loss";
  return ZPT_OK;
}

static const struct {
  const char *kind;
  model_builder build;
} builders[] = {
  {"cnn", build_cnn},
  {"mixer", build_mixer},
  {"mlp", zpt_setup_build_mlp},
  {"mzi-classifier", build_mzi_classifier},
  {"mzi-equalizer", build_mzi_equalizer},
  {"mzi-rnn", build_mzi_rnn},
};
#define N_BUILDERS (sizeof builders / sizeof builders[0])

const char *zpt_setup_model_kinds(void) {
  return "cnn, mixer, mlp, mzi-classifier, mzi-equalizer, mzi-rnn";
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

/* ---- trainer settings ---- */

int zpt_setup_zo_config(const zpt_config *cfg, const zpt_setup_model_info *info,
                        zpt_zo_config *zc) {
  zpt_zo_config_default(zc);
  const char *s;
  long long v;
  ZPT_TRY(zpt_config_string(cfg, "zo.method", &s));
  ZPT_TRY(zpt_zo_method_parse(s, &zc->method));
  ZPT_TRY(zpt_config_string(cfg, "zo.mode", &s));
  zc->mode = !strcmp(s, "all") ? ZPT_PERTURB_ALL : ZPT_PERTURB_BLOCK;
  ZPT_TRY(zpt_config_int(cfg, "zo.Q", &v));
  zc->q = (size_t)v;
  ZPT_TRY(zpt_config_double(cfg, "zo.mu", &zc->mu));
  ZPT_TRY(zpt_config_double(cfg, "zo.lambda", &zc->lambda));
  ZPT_TRY(zpt_config_int(cfg, "zo.n_max", &v));
  zc->n_max = v > 0 ? (size_t)v : info->n_max ? info->n_max : 512;
  ZPT_TRY(zpt_config_string(cfg, "zo.normalize", &s));
  zc->normalize = !strcmp(s, "auto") ? ZPT_NORMALIZE_AUTO : truthy(s);
  ZPT_TRY(zpt_config_double(cfg, "zo.rho", &zc->rho));
  ZPT_TRY(zpt_config_int(cfg, "zo.t_ud", &v));
  zc->t_ud = (size_t)v;
  ZPT_TRY(zpt_config_bool(cfg, "zo.trace_norm", &zc->trace_norm));
  ZPT_TRY(zpt_config_double(cfg, "zo.fisher_avg", &zc->fisher_avg));
  ZPT_TRY(zpt_config_string(cfg, "zo.fisher_schedule", &s));
  zc->fisher_schedule = !strcmp(s, "cycle") ? ZPT_FISHER_CYCLE : ZPT_FISHER_RANDOM;
  ZPT_TRY(zpt_config_double(cfg, "zo.jac_eps", &zc->jac_eps));
  ZPT_TRY(zpt_config_bool(cfg, "zo.chol_jitter", &zc->chol_jitter));
  ZPT_TRY(zpt_config_string(cfg, "zo.difference", &s));
  zc->diff = !strcmp(s, "central") ? ZPT_DIFF_CENTRAL : ZPT_DIFF_FORWARD;
  ZPT_TRY(zpt_config_string(cfg, "zo.optimizer", &s));
  zc->optimizer = !strcmp(s, "sgd") ? ZPT_OPT_SGD : ZPT_OPT_ADAM;
  ZPT_TRY(zpt_config_double(cfg, "zo.lr", &zc->optim.lr));
  ZPT_TRY(zpt_config_string(cfg, "zo.lr_schedule", &s));
  zc->lr_schedule = !strcmp(s, "cosine") ? ZPT_LR_COSINE : ZPT_LR_CONSTANT;
  ZPT_TRY(zpt_config_double(cfg, "zo.lr_final", &zc->lr_final));
  ZPT_TRY(zpt_config_double(cfg, "zo.beta1", &zc->optim.beta1));
  ZPT_TRY(zpt_config_double(cfg, "zo.beta2", &zc->optim.beta2));
  ZPT_TRY(zpt_config_double(cfg, "zo.eps", &zc->optim.eps));
  ZPT_TRY(zpt_config_double(cfg, "zo.momentum", &zc->optim.momentum));
  ZPT_TRY(zpt_config_u64(cfg, "zo.seed", &zc->seed));
  ZPT_TRY(zpt_config_double(cfg, "zo.sparse_frac", &zc->sparse_frac));
  ZPT_TRY(zpt_config_int(cfg, "zo.guided_k", &v));
  zc->guided_k = (size_t)v;
  ZPT_TRY(zpt_config_double(cfg, "zo.guided_alpha", &zc->guided_alpha));
  ZPT_TRY(zpt_config_double(cfg, "zo.adapt_floor", &zc->adapt_floor));
  ZPT_TRY(zpt_config_double(cfg, "zo.cmaes_sigma", &zc->cmaes_sigma));
  ZPT_TRY(zpt_config_int(cfg, "zo.cmaes_lambda", &v));
  zc->cmaes_lambda = (size_t)v;
  ZPT_TRY(zpt_config_int(cfg, "zo.cmaes_full_max", &v));
  zc->cmaes_full_max = (size_t)v;
  ZPT_TRY(zpt_config_u64(cfg, "train.budget", &zc->budget));
  zc->loss = info->loss;
  return ZPT_OK;
}
