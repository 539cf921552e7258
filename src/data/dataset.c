#include "data/dataset.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/state.h"
#include "core/status.h"

static void set_name(zpt_dataset *d, const char *name) {
  snprintf(d->name, sizeof d->name, "%s", name ? name : "dataset");
}

int zpt_dataset_alloc(zpt_dataset **out, const char *name, zpt_task_kind kind,
                      size_t n, size_t input_size, size_t target_size,
                      size_t n_classes) {
  *out = NULL;
  if (input_size == 0 || target_size == 0)
    return zpt_fail(ZPT_EINVAL, "data set '%s': input_size (%zu) and target_size (%zu) "
                    "must both be at least 1", name ? name : "?", input_size, target_size);
  size_t n_in, n_tg;
  if (zpt_mul_size(n, input_size, &n_in) || zpt_mul_size(n_in, sizeof(float), &n_in) ||
      zpt_mul_size(n, target_size, &n_tg) || zpt_mul_size(n_tg, sizeof(float), &n_tg))
    return zpt_fail(ZPT_ERANGE, "data set '%s': %zu samples of %zu + %zu floats overflow "
                    "the address space", name ? name : "?", n, input_size, target_size);
  zpt_dataset *d = zpt_new(zpt_dataset, "data set");
  if (!d)
    return ZPT_ENOMEM;
  set_name(d, name);
  d->kind = kind;
  d->n = n;
  d->input_size = input_size;
  d->target_size = target_size;
  d->n_classes = n_classes;
  d->inputs = zpt_zalloc(n_in, "data set inputs");
  d->targets = d->inputs ? zpt_zalloc(n_tg, "data set targets") : NULL;
  if (!d->inputs || !d->targets) {
    zpt_dataset_free(d);
    return zpt_fail_context(ZPT_ENOMEM, "data set '%s': ", name ? name : "?");
  }
  *out = d;
  return ZPT_OK;
}

void zpt_dataset_free(zpt_dataset *d) {
  if (!d)
    return;
  zpt_free(d->inputs);
  zpt_free(d->targets);
  zpt_free(d->origin);
  zpt_free(d);
}

int zpt_dataset_set_image_shape(zpt_dataset *d, size_t channels, size_t height,
                                size_t width) {
  size_t a, b;
  if (zpt_mul_size(channels, height, &a) || zpt_mul_size(a, width, &b) ||
      b != d->input_size)
    return zpt_fail(ZPT_EINVAL, "data set '%s': image shape %zux%zux%zu does not match "
                    "input_size %zu", d->name, channels, height, width, d->input_size);
  d->channels = channels;
  d->height = height;
  d->width = width;
  return ZPT_OK;
}

int zpt_dataset_track_origin(zpt_dataset *d) {
  size_t *o = zpt_new_array(size_t, d->n ? d->n : 1, "sample origins");
  if (!o)
    return zpt_fail_context(ZPT_ENOMEM, "data set '%s': ", d->name);
  for (size_t i = 0; i < d->n; i++)
    o[i] = i;
  zpt_free(d->origin);
  d->origin = o;
  return ZPT_OK;
}

int zpt_split_save(const zpt_dataset *d, zpt_state_writer *w, const char *name) {
  if (!d->origin || d->n == 0)
    return ZPT_OK;
  uint64_t *rows = zpt_new_array(uint64_t, d->n, "split rows");
  if (!rows)
    return ZPT_ENOMEM;
  for (size_t i = 0; i < d->n; i++)
    rows[i] = d->origin[i];
  int rc = w->put(w, name, ZPT_T_U64, rows, d->n);
  zpt_free(rows);
  return rc;
}

void zpt_dataset_copy_meta(zpt_dataset *dst, const zpt_dataset *src) {
  memcpy(dst->name, src->name, sizeof dst->name);
  dst->kind = src->kind;
  dst->n_classes = src->n_classes;
  dst->channels = src->channels;
  dst->height = src->height;
  dst->width = src->width;
  dst->seq_len = src->seq_len;
  dst->step_size = src->step_size;
  dst->copy_delay = src->copy_delay;
  dst->baseline_loss = src->baseline_loss;
  dst->channel = src->channel;
  dst->snr_db = src->snr_db;
  dst->taps = src->taps;
  dst->centre = src->centre;
  dst->delay = src->delay;
}

int zpt_dataset_check_targets(const zpt_dataset *d) {
  if (d->kind == ZPT_TASK_REGRESSION)
    return ZPT_OK;
  for (size_t i = 0; i < d->n; i++) {
    const float *t = zpt_dataset_target(d, i);
    for (size_t s = 0; s < d->target_size; s++) {
      float v = t[s];
      if (!(v >= 0 && v < (float)d->n_classes) || v != floorf(v))
        return zpt_fail(ZPT_ERANGE, "data set '%s': sample %zu, step %zu: target %g is "
                        "not a class index in [0, %zu)", d->name, i, s, (double)v,
                        d->n_classes);
    }
  }
  return ZPT_OK;
}

int zpt_dataset_subset(const zpt_dataset *src, const size_t *idx, size_t count,
                       const char *name, zpt_dataset **out) {
  *out = NULL;
  for (size_t k = 0; k < count; k++)
    if (idx[k] >= src->n)
      return zpt_fail(ZPT_ERANGE, "subset of data set '%s': index %zu (position %zu) is "
                      "not below the %zu samples", src->name, idx[k], k, src->n);
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, name, src->kind, count, src->input_size,
                            src->target_size, src->n_classes));
  zpt_dataset_copy_meta(d, src);
  set_name(d, name ? name : src->name);
  if (src->origin) {
    d->origin = zpt_new_array(size_t, count ? count : 1, "sample origins");
    if (!d->origin) {
      zpt_dataset_free(d);
      return zpt_fail_context(ZPT_ENOMEM, "subset of data set '%s': ", src->name);
    }
    for (size_t k = 0; k < count; k++)
      d->origin[k] = src->origin[idx[k]];
  }
  for (size_t k = 0; k < count; k++) {
    memcpy(zpt_dataset_input(d, k), zpt_dataset_input(src, idx[k]),
           src->input_size * sizeof(float));
    memcpy(zpt_dataset_target(d, k), zpt_dataset_target(src, idx[k]),
           src->target_size * sizeof(float));
  }
  *out = d;
  return ZPT_OK;
}

int zpt_dataset_concat(const zpt_dataset *a, const zpt_dataset *b,
                       const char *name, zpt_dataset **out) {
  *out = NULL;
  if (a->input_size != b->input_size || a->target_size != b->target_size ||
      a->kind != b->kind)
    return zpt_fail(ZPT_EINVAL, "cannot concatenate data sets '%s' (%zu inputs, %zu "
                    "targets) and '%s' (%zu inputs, %zu targets): shapes or kinds differ",
                    a->name, a->input_size, a->target_size, b->name, b->input_size,
                    b->target_size);
  if (a->n > SIZE_MAX - b->n)
    return zpt_fail(ZPT_ERANGE, "concatenating '%s' and '%s': sample count overflows",
                    a->name, b->name);
  zpt_dataset *d;
  size_t nc = a->n_classes > b->n_classes ? a->n_classes : b->n_classes;
  ZPT_TRY(zpt_dataset_alloc(&d, name, a->kind, a->n + b->n, a->input_size,
                            a->target_size, nc));
  zpt_dataset_copy_meta(d, a);
  d->n_classes = nc;
  set_name(d, name ? name : a->name);
  if (a->n) {
    memcpy(d->inputs, a->inputs, a->n * a->input_size * sizeof(float));
    memcpy(d->targets, a->targets, a->n * a->target_size * sizeof(float));
  }
  if (b->n) {
    memcpy(zpt_dataset_input(d, a->n), b->inputs, b->n * b->input_size * sizeof(float));
    memcpy(zpt_dataset_target(d, a->n), b->targets, b->n * b->target_size * sizeof(float));
  }
  *out = d;
  return ZPT_OK;
}

/* Builds both parts from a membership mask (1 = test). */
static int split_by_mask(const zpt_dataset *d, const unsigned char *is_test,
                         zpt_dataset **train, zpt_dataset **test) {
  *train = *test = NULL;
  size_t n_test = 0;
  for (size_t i = 0; i < d->n; i++)
    n_test += is_test[i];
  size_t *tr = zpt_new_array(size_t, d->n - n_test, "train indices");
  size_t *te = zpt_new_array(size_t, n_test, "test indices");
  int rc = ZPT_ENOMEM;
  if (tr && te) {
    size_t a = 0, b = 0;
    for (size_t i = 0; i < d->n; i++) {
      if (is_test[i])
        te[b++] = i;
      else
        tr[a++] = i;
    }
    char name[ZPT_DATASET_NAME_LEN + 8];
    snprintf(name, sizeof name, "%s/train", d->name);
    rc = zpt_dataset_subset(d, tr, a, name, train);
    if (rc == ZPT_OK) {
      snprintf(name, sizeof name, "%s/test", d->name);
      rc = zpt_dataset_subset(d, te, b, name, test);
    }
    if (rc != ZPT_OK) {
      zpt_dataset_free(*train);
      *train = NULL;
    }
  }
  zpt_free(tr);
  zpt_free(te);
  return rc;
}

int zpt_split_modulo(const zpt_dataset *d, size_t period, size_t residue,
                     zpt_dataset **train, zpt_dataset **test) {
  *train = *test = NULL;
  if (period == 0 || residue >= period)
    return zpt_fail(ZPT_EINVAL, "split of '%s': need residue < period, got residue %zu, "
                    "period %zu", d->name, residue, period);
  unsigned char *mask = zpt_zalloc(d->n, "split mask");
  if (!mask)
    return ZPT_ENOMEM;
  for (size_t i = 0; i < d->n; i++)
    mask[i] = (i % period == residue);
  int rc = split_by_mask(d, mask, train, test);
  zpt_free(mask);
  return rc;
}

int zpt_split_mnist10k(const zpt_dataset *d, zpt_dataset **train,
                       zpt_dataset **test) {
  return zpt_split_modulo(d, 5, 4, train, test);
}

int zpt_split_random(const zpt_dataset *d, size_t n_test, uint64_t seed,
                     zpt_dataset **train, zpt_dataset **test) {
  *train = *test = NULL;
  if (n_test > d->n)
    return zpt_fail(ZPT_EINVAL, "random split of '%s': %zu test samples requested, only "
                    "%zu samples", d->name, n_test, d->n);
  unsigned char *mask = zpt_zalloc(d->n, "split mask");
  size_t *perm = zpt_new_array(size_t, d->n, "split permutation");
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_SPLIT, 0, 0);
  int rc = ZPT_ENOMEM;
  if (mask && perm && r) {
    zpt_rng_permutation(r, perm, d->n);
    for (size_t k = 0; k < n_test; k++)
      mask[perm[k]] = 1;
    rc = split_by_mask(d, mask, train, test);
  }
  zpt_rng_free(r);
  zpt_free(perm);
  zpt_free(mask);
  return rc;
}

int zpt_split_first(const zpt_dataset *d, size_t n_train, zpt_dataset **train,
                    zpt_dataset **test) {
  *train = *test = NULL;
  if (n_train > d->n)
    return zpt_fail(ZPT_EINVAL, "split of '%s': %zu train samples requested, only %zu "
                    "samples", d->name, n_train, d->n);
  unsigned char *mask = zpt_zalloc(d->n, "split mask");
  if (!mask)
    return ZPT_ENOMEM;
  for (size_t i = n_train; i < d->n; i++)
    mask[i] = 1;
  int rc = split_by_mask(d, mask, train, test);
  zpt_free(mask);
  return rc;
}

int zpt_dataset_keep_first(zpt_dataset **d, size_t n) {
  if (n == 0 || n >= (*d)->n)
    return ZPT_OK;
  zpt_dataset *head = NULL, *rest = NULL;
  ZPT_TRY(zpt_split_first(*d, n, &head, &rest));
  zpt_dataset_free(rest);
  zpt_dataset_free(*d);
  *d = head;
  return ZPT_OK;
}
