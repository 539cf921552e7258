/* The data sets of a run from [data] (see io/setup.h and docs/tasks.md):
 * every data.task loaded or generated, split, standardised and
 * DFT-encoded. */
#define _POSIX_C_SOURCE 200809L
#include "io/setup.h"
#include "io/setup_internal.h"
#include "io/setup_idx.h"
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

/* ---- data ---- */

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
    ZPT_TRY(zpt_setup_get_size(cfg, "data.n_classes", &n_classes));
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
    ZPT_TRY(zpt_setup_get_size(cfg, "data.copy_delay", &delay));
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
  } else if (!strcmp(task, "toy")) { /* data/generators.h */
    zpt_toy_config tc = {0, 0, n_train ? (size_t)n_train : 512, n_test ? (size_t)n_test : 256,
                         0, seed};
    ZPT_TRY(zpt_setup_get_size(cfg, "data.toy_inputs", &tc.inputs));
    ZPT_TRY(zpt_setup_get_size(cfg, "data.toy_outputs", &tc.outputs));
    ZPT_TRY(zpt_config_double(cfg, "data.toy_noise", &tc.noise));
    if (*path && !exists(path))
      return missing("data.path", path, NULL);
    if (*path)
      return zpt_toy_load(path, tc.inputs, tc.outputs, n_train, n_test, train, test);
    return zpt_toy_generate(&tc, train, test);
  } else {
    return zpt_fail(ZPT_EINVAL, "data.task = %s: no such task", task);
  }
  zpt_dataset_free(all);
  return rc;
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
