/* The data sets of a run from [data] (see tasks/tasks.h and docs/tasks.md):
 * every data.task loaded or generated and split by its loader below (a
 * table of data.task = csv with the note of what it held), then
 * standardised and DFT-encoded. */
#define _POSIX_C_SOURCE 200809L
#include "tasks/tasks.h"
#include "tasks/internal.h"
#include "tasks/idx.h"
#include "io/datapaths.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/data.h"
#include "data/synthetic.h"

#define PATH_LEN 4096

int zpt_setup_get_size(const zpt_config *cfg, const char *name, size_t *out) {
  long long v;
  ZPT_TRY(zpt_config_int(cfg, name, &v));
  *out = v < 0 ? 0 : (size_t)v;
  return ZPT_OK;
}

int zpt_setup_truthy(const char *s) {
  return !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1");
}

/* ---- data.task = csv: the file with its header and labels ---- */

static _Thread_local char note[1024];

const char *zpt_setup_data_note(void) { return note; }

void zpt_setup_clear_note(void) { note[0] = 0; }

int zpt_setup_load_csv(const zpt_config *cfg, const char *path, zpt_dataset **all) {
  zpt_csv_options opt = zpt_csv_defaults();
  long long col;
  const char *header;
  ZPT_TRY(zpt_config_int(cfg, "data.label_column", &col));
  ZPT_TRY(zpt_config_string(cfg, "data.header", &header));
  ZPT_TRY(zpt_setup_get_size(cfg, "data.n_classes", &opt.n_classes));
  opt.label_column = (long)col;
  opt.header = !strcmp(header, "auto") ? ZPT_CSV_HEADER_AUTO
               : !strcmp(header, "true") ? ZPT_CSV_HEADER_YES : ZPT_CSV_HEADER_NO;
  zpt_csv_info ci;
  ZPT_TRY(zpt_csv_load_info(path, &opt, "csv", all, &ci));
  char head[64] = "no header line";
  if (ci.header_line)
    snprintf(head, sizeof head, "line %zu taken as the header", ci.header_line);
  snprintf(note, sizeof note, "%s: %s; %zu rows, %zu features, label column %zu "
           "(data.label_column = %lld), %zu classes%s: %s", path, head, ci.rows, ci.features,
           ci.label_column, col, ci.n_classes, ci.mapped ? ", labels mapped" : "",
           ci.classes);
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

/* The keys every data.task reads. */
typedef struct {
  const char *task, *path, *labels;
  uint64_t n_train, n_test, seed;
} data_keys;

/* The train and test sets of one data.task. */
typedef int (*set_loader)(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                          zpt_dataset **test);

static size_t or_default(uint64_t n, size_t dflt) { return n ? (size_t)n : dflt; }

/* A file's samples: a seeded random split, n_test (0: a fifth) test, the
 * rest (or its first n_train) train.  Frees all. */
static int split_file_set(zpt_dataset *all, const data_keys *k, zpt_dataset **train,
                          zpt_dataset **test) {
  size_t nte = or_default(k->n_test, all->n / 5);
  int rc = ZPT_OK;
  if (nte == 0 || nte >= all->n)
    rc = zpt_fail(ZPT_EINVAL, "data.n_test = %zu: the data set %s has %zu samples; "
                  "need 1 <= n_test < %zu", nte, all->name, all->n, all->n);
  if (rc == ZPT_OK)
    rc = zpt_split_random(all, nte, k->seed, train, test);
  zpt_dataset_free(all);
  return rc == ZPT_OK ? zpt_dataset_keep_first(train, k->n_train) : rc;
}

/* A generated sequence of samples: the first ntr train, the rest test.
 * Frees all. */
static int split_generated(zpt_dataset *all, size_t ntr, zpt_dataset **train,
                           zpt_dataset **test) {
  int rc = zpt_split_first(all, ntr, train, test);
  zpt_dataset_free(all);
  return rc;
}

/* ---- files ---- */

/* The images and labels files of data.path: a directory holding the t10k
 * pair, or the images file; data.labels, when set, names the labels. */
static int idx_files(const char *path, const char *labels, int mnist, char *img,
                     char *lab) {
  if (is_dir(path)) {
    in_dir(path, "t10k-images-idx3-ubyte", img, PATH_LEN);
    in_dir(path, "t10k-labels-idx1-ubyte", lab, PATH_LEN);
  } else {
    snprintf(img, PATH_LEN, "%s", path);
    if (!*labels)
      ZPT_TRY(zpt_setup_idx_labels_path("data.path", path, "data.labels", lab, PATH_LEN));
  }
  if (*labels)
    snprintf(lab, PATH_LEN, "%s", labels);
  if (!exists(img))
    return missing("data.path", img, mnist ? "fetch it with: datasets/fetch.sh mnist "
                   "(or --from DIR)" : NULL);
  return exists(lab) ? ZPT_OK : missing("data.labels", lab, NULL);
}

/* data.n_classes, or (0) inferred from the labels file: every class
 * 0..max present, or refused. */
static int idx_classes(const zpt_config *cfg, const char *lab, size_t *n_classes) {
  ZPT_TRY(zpt_setup_get_size(cfg, "data.n_classes", n_classes));
  if (*n_classes)
    return ZPT_OK;
  zpt_idx l;
  ZPT_TRY(zpt_idx_load(lab, &l));
  int rc = zpt_idx_infer_classes(&l, lab, n_classes);
  zpt_idx_release(&l);
  return rc;
}

/* mnist10k (the fixed 8000/2000 split) and idx (a random split, or the
 * fixed test set of data.test_path). */
static int load_idx(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                    zpt_dataset **test) {
  int mnist = !strcmp(k->task, "mnist10k");
  const char *path = !*k->path && mnist ? zpt_data_default_path(k->task) : k->path;
  if (!*path)
    return zpt_fail(ZPT_EINVAL, "data.task = idx needs data.path (the images IDX file)");
  char img[PATH_LEN], lab[PATH_LEN];
  size_t n_classes = 10;
  ZPT_TRY(idx_files(path, k->labels, mnist, img, lab));
  if (!mnist)
    ZPT_TRY(idx_classes(cfg, lab, &n_classes));
  zpt_dataset *all;
  ZPT_TRY(zpt_idx_load_pair(img, lab, n_classes, k->task, &all));
  int rc = zpt_scale_range(all, 0.0f, 255.0f);
  const char *test_path = "";
  if (rc == ZPT_OK && !mnist)
    rc = zpt_config_string(cfg, "data.test_path", &test_path);
  if (rc == ZPT_OK && mnist) {
    rc = zpt_split_mnist10k(all, train, test);
    if (rc == ZPT_OK)
      rc = zpt_dataset_keep_first(train, k->n_train);
  } else if (rc == ZPT_OK && !*test_path) {
    return split_file_set(all, k, train, test);
  } else if (rc == ZPT_OK) { /* takes all as the training set */
    rc = zpt_setup_idx_fixed_test(cfg, test_path, n_classes, &all, k->n_train, k->n_test,
                                  train, test);
  }
  zpt_dataset_free(all);
  return rc;
}

static int load_digits(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                       zpt_dataset **test) {
  const char *path = *k->path ? k->path : zpt_data_default_path(k->task);
  if (!exists(path))
    return missing("data.path", path, "fetch it with: datasets/fetch.sh digits");
  zpt_dataset *all;
  ZPT_TRY(zpt_digits_load(path, &all));
  int rc = zpt_scale_range(all, 0.0f, 16.0f);
  if (rc != ZPT_OK) {
    zpt_dataset_free(all);
    return rc;
  }
  return split_file_set(all, k, train, test);
}

static int load_csv(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                    zpt_dataset **test) {
  if (!*k->path)
    return zpt_fail(ZPT_EINVAL, "data.task = csv needs data.path");
  if (!exists(k->path))
    return missing("data.path", k->path, NULL);
  zpt_dataset *all;
  ZPT_TRY(zpt_setup_load_csv(cfg, k->path, &all));
  return split_file_set(all, k, train, test);
}

/* The official split: data_batch_*.bin train, test_batch.bin tests. */
static int load_cifar10(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                        zpt_dataset **test) {
  const char *path = *k->path ? k->path : zpt_data_default_path(k->task);
  if (!is_dir(path))
    return missing("data.path", path, "a directory of data_batch_*.bin and test_batch.bin "
                   "(datasets/fetch.sh cifar10)");
  char names[6][PATH_LEN];
  const char *tr[5];
  size_t n_tr = 0;
  for (int b = 1; b <= 5; b++) {
    char nm[32];
    snprintf(nm, sizeof nm, "data_batch_%d.bin", b);
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
  ZPT_TRY(zpt_cifar10_load(&te, 1, "cifar10-test", test));
  ZPT_TRY(zpt_scale_range(*train, 0.0f, 255.0f));
  ZPT_TRY(zpt_scale_range(*test, 0.0f, 255.0f));
  ZPT_TRY(zpt_dataset_keep_first(train, k->n_train));
  return zpt_dataset_keep_first(test, k->n_test);
}

/* ---- generators ---- */

static int generate_cifar_synthetic(const zpt_config *cfg, const data_keys *k,
                                    zpt_dataset **train, zpt_dataset **test) {
  size_t ntr = or_default(k->n_train, 50000), nte = or_default(k->n_test, 10000);
  zpt_dataset *all;
  ZPT_TRY(zpt_cifar_synthetic_generate(ntr + nte, k->seed, &all)); /* data/synthetic.h */
  return split_generated(all, ntr, train, test);
}

static int generate_copying(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                            zpt_dataset **test) {
  size_t delay, ntr = or_default(k->n_train, 2000), nte = or_default(k->n_test, 500);
  ZPT_TRY(zpt_setup_get_size(cfg, "data.copy_delay", &delay));
  zpt_dataset *all;
  ZPT_TRY(zpt_copying_generate(ntr + nte, delay, k->seed, &all));
  return split_generated(all, ntr, train, test);
}

/* The channel's defaults, overridden by the keys that are set. */
static int equalization_config(const zpt_config *cfg, zpt_channel_kind ch, zpt_eq_config *ec) {
  *ec = zpt_eq_defaults(ch);
  long long taps, centre, delay;
  const char *kind;
  ZPT_TRY(zpt_config_int(cfg, "data.taps", &taps));
  ZPT_TRY(zpt_config_int(cfg, "data.centre", &centre));
  ZPT_TRY(zpt_config_int(cfg, "data.delay", &delay));
  ZPT_TRY(zpt_config_double(cfg, "data.snr_db", &ec->snr_db));
  ZPT_TRY(zpt_config_string(cfg, "model.kind", &kind));
  if (taps > 0)
    ec->taps = (size_t)taps;
  else if (!strcmp(kind, "mzi-equalizer"))
    ec->taps = 21; /* the equalizer's window (docs/mzi.md) */
  if (centre >= 0)
    ec->centre = (size_t)centre;
  if (delay >= 0)
    ec->delay = (size_t)delay;
  if (ch != ZPT_CHANNEL_IMDD)
    return ZPT_OK;
  double km, d, gbd, nm;
  ZPT_TRY(zpt_config_double(cfg, "data.imdd_length_km", &km));
  ZPT_TRY(zpt_config_double(cfg, "data.imdd_dispersion", &d));
  ZPT_TRY(zpt_config_double(cfg, "data.imdd_baud_gbd", &gbd));
  ZPT_TRY(zpt_config_double(cfg, "data.imdd_wavelength_nm", &nm));
  ec->length = km * 1e3;
  ec->dispersion = d * 1e-6;
  ec->baud = gbd * 1e9;
  ec->wavelength = nm * 1e-9;
  return ZPT_OK;
}

static int generate_equalization(const zpt_config *cfg, const data_keys *k,
                                 zpt_dataset **train, zpt_dataset **test) {
  zpt_channel_kind ch = !strcmp(k->task, "equalization-isi") ? ZPT_CHANNEL_ISI
                                                             : ZPT_CHANNEL_IMDD;
  zpt_eq_config ec;
  ZPT_TRY(equalization_config(cfg, ch, &ec));
  size_t ntr = or_default(k->n_train, 8000), nte = or_default(k->n_test, 2000);
  ec.n = ntr + nte;
  ec.seed = k->seed;
  zpt_dataset *all;
  ZPT_TRY(zpt_eq_generate(&ec, &all));
  return split_generated(all, ntr, train, test);
}

/* Generated (data/generators.h), or the CSV of data.path. */
static int generate_toy(const zpt_config *cfg, const data_keys *k, zpt_dataset **train,
                        zpt_dataset **test) {
  zpt_toy_config tc = {0, 0, or_default(k->n_train, 512), or_default(k->n_test, 256), 0,
                       k->seed};
  ZPT_TRY(zpt_setup_get_size(cfg, "data.toy_inputs", &tc.inputs));
  ZPT_TRY(zpt_setup_get_size(cfg, "data.toy_outputs", &tc.outputs));
  ZPT_TRY(zpt_config_double(cfg, "data.toy_noise", &tc.noise));
  if (!*k->path)
    return zpt_toy_generate(&tc, train, test);
  if (!exists(k->path))
    return missing("data.path", k->path, NULL);
  return zpt_toy_load(k->path, tc.inputs, tc.outputs, k->n_train, k->n_test, train, test);
}

static const struct {
  const char *task;
  set_loader load;
} loaders[] = {
  {"mnist10k", load_idx},
  {"idx", load_idx},
  {"digits", load_digits},
  {"csv", load_csv},
  {"cifar10", load_cifar10},
  {"cifar10-synthetic", generate_cifar_synthetic},
  {"copying", generate_copying},
  {"equalization-isi", generate_equalization},
  {"equalization-imdd", generate_equalization},
  {"toy", generate_toy},
};

static int load_sets(const zpt_config *cfg, const char *task, zpt_dataset **train,
                     zpt_dataset **test) {
  data_keys k = {task, "", "", 0, 0, 0};
  ZPT_TRY(zpt_config_string(cfg, "data.path", &k.path));
  ZPT_TRY(zpt_config_string(cfg, "data.labels", &k.labels));
  ZPT_TRY(zpt_config_u64(cfg, "data.n_train", &k.n_train));
  ZPT_TRY(zpt_config_u64(cfg, "data.n_test", &k.n_test));
  ZPT_TRY(zpt_config_u64(cfg, "data.seed", &k.seed));
  for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
    if (!strcmp(loaders[i].task, task))
      return loaders[i].load(cfg, &k, train, test);
  return zpt_fail(ZPT_EINVAL, "data.task = %s: no such task", task);
}

/* ---- preprocessing ---- */

/* Standardises both sets with the statistics of the training set. */
static int standardize_sets(zpt_dataset *train, zpt_dataset *test) {
  zpt_standardizer *s = NULL;
  int rc = zpt_standardizer_fit(train, &s);
  if (rc == ZPT_OK)
    rc = zpt_standardizer_apply(s, train);
  if (rc == ZPT_OK)
    rc = zpt_standardizer_apply(s, test);
  zpt_standardizer_free(s);
  return rc;
}

/* Replaces both sets by their DFT bins 1..bins. */
static int dft_sets(size_t bins, zpt_dataset **train, zpt_dataset **test) {
  if (bins >= (*train)->input_size)
    return zpt_fail(ZPT_EINVAL, "data.dft_bins = %zu: inputs of %s have %zu values; "
                    "need 1 <= dft_bins <= %zu", bins, (*train)->name,
                    (*train)->input_size, (*train)->input_size - 1);
  zpt_dataset *a = NULL, *b = NULL;
  int rc = zpt_dft_features(*train, bins, (*train)->name, &a);
  if (rc == ZPT_OK)
    rc = zpt_dft_features(*test, bins, (*test)->name, &b);
  if (rc != ZPT_OK) {
    zpt_dataset_free(a);
    zpt_dataset_free(b);
    return rc;
  }
  zpt_dataset_free(*train);
  zpt_dataset_free(*test);
  *train = a;
  *test = b;
  return ZPT_OK;
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
  int standardize = !strcmp(st, "auto") ? !strcmp(task, "csv") : zpt_setup_truthy(st);
  ZPT_TRY(zpt_setup_get_size(cfg, "data.dft_bins", &bins));
  int rc = load_sets(cfg, task, train, test);
  if (rc == ZPT_OK && standardize)
    rc = standardize_sets(*train, *test);
  if (rc == ZPT_OK && bins)
    rc = dft_sets(bins, train, test);
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
