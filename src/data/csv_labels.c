/* The label column of a CSV file: declared class indices, or classes taken
 * from the data (identity for 0..C-1, otherwise a reported mapping). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/csv_internal.h"

static int by_value(const void *a, const void *b) {
  const zpt_csv_label *x = a, *y = b;
  if (x->value != y->value)
    return x->value < y->value ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

static int same_text(const zpt_csv_label *x, const zpt_csv_label *y) {
  return x->len == y->len && !memcmp(x->text, y->text, x->len);
}

static int by_text(const void *a, const void *b) {
  const zpt_csv_label *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->text, y->text, n);
  if (c || x->len != y->len)
    return c ? c : (x->len < y->len ? -1 : 1);
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Appends text to buf (capacity cap) at *used; once full, ends it with "...". */
static void append(char *buf, size_t cap, size_t *used, const char *text) {
  size_t n = strlen(text);
  if (*used >= cap)
    return;
  if (*used + n + 4 > cap) {
    snprintf(buf + *used, cap - *used, "...");
    *used = cap;
    return;
  }
  memcpy(buf + *used, text, n + 1);
  *used += n;
}

static int declared(zpt_csv_label *labels, size_t rows, const char *source, size_t col,
                    size_t n_classes, zpt_dataset *d) {
  for (size_t i = 0; i < rows; i++) {
    const zpt_csv_label *l = &labels[i];
    double v = -1;
    if (zpt_csv_decimal(l->text, l->len, &v) != ZPT_CSV_NUMBER || v < 0 ||
        v != floor(v) || v >= (double)n_classes)
      return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: label '%.*s' is not a class index in "
                      "[0, %zu) (the declared number of classes)", source, l->line, col,
                      (int)l->len, l->text, n_classes);
    d->targets[l->row] = (float)v;
  }
  d->n_classes = n_classes;
  return ZPT_OK;
}

/* Reads every label as a number if all of them are; refuses fractions. */
static int numeric_labels(zpt_csv_label *labels, size_t rows, const char *source,
                          size_t col, int *all_numeric) {
  *all_numeric = 1;
  for (size_t i = 0; i < rows; i++) {
    zpt_csv_label *l = &labels[i];
    if (l->len == 0)
      return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: empty label", source, l->line, col);
    if (l->len > ZPT_CSV_FIELD_MAX)
      return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: label of %zu characters, at most %d",
                      source, l->line, col, l->len, ZPT_CSV_FIELD_MAX);
    if (zpt_csv_decimal(l->text, l->len, &l->value) != ZPT_CSV_NUMBER)
      *all_numeric = 0;
  }
  if (!*all_numeric)
    return ZPT_OK;
  for (size_t i = 0; i < rows; i++) {
    const zpt_csv_label *l = &labels[i];
    if (l->value != floor(l->value))
      return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: label '%.*s' is a fraction: column %zu "
                      "holds measurements, not class labels (labels are integers or "
                      "names); choose the label column (data.label_column)", source,
                      l->line, col, (int)l->len, l->text, col);
  }
  return ZPT_OK;
}

/* Sorted labels -> class of each group; returns the number of classes and
 * the number of classes with a single row. */
static size_t group(zpt_csv_label *s, size_t rows, int numeric, size_t *cls,
                    size_t *singletons) {
  size_t c = 0;
  *singletons = 0;
  for (size_t i = 0; i < rows; i++) {
    int same = i > 0 && (numeric ? s[i].value == s[i - 1].value : same_text(&s[i], &s[i - 1]));
    if (i > 0 && !same)
      c++;
    cls[i] = c;
  }
  size_t run = 0;
  for (size_t i = 0; i < rows; i++) {
    run++;
    if (i + 1 == rows || cls[i + 1] != cls[i]) {
      *singletons += run == 1;
      run = 0;
    }
  }
  return rows ? c + 1 : 0;
}

/* "label -> class (count rows), ..." of the sorted labels. */
static void describe(const zpt_csv_label *s, const size_t *cls, size_t rows, int mapped,
                     char *buf, size_t cap) {
  size_t used = 0, run = 0;
  buf[0] = 0;
  for (size_t i = 0; i < rows; i++) {
    run++;
    if (i + 1 < rows && cls[i + 1] == cls[i])
      continue;
    char item[ZPT_CSV_FIELD_MAX + 64];
    if (mapped)
      snprintf(item, sizeof item, "%s'%.*s' -> %zu (%zu row%s)", used ? ", " : "",
               (int)s[i].len, s[i].text, cls[i], run, run == 1 ? "" : "s");
    else
      snprintf(item, sizeof item, "%s%zu (%zu row%s)", used ? ", " : "", cls[i], run,
               run == 1 ? "" : "s");
    append(buf, cap, &used, item);
    run = 0;
  }
}

int zpt_csv_assign_classes(zpt_csv_label *labels, size_t rows, const char *source,
                           size_t col, size_t n_classes, zpt_dataset *d,
                           zpt_csv_info *info) {
  if (n_classes) {
    ZPT_TRY(declared(labels, rows, source, col, n_classes, d));
    info->n_classes = n_classes;
    snprintf(info->classes, sizeof info->classes, "class indices in [0, %zu) as declared",
             n_classes);
    return ZPT_OK;
  }
  int numeric;
  ZPT_TRY(numeric_labels(labels, rows, source, col, &numeric));
  size_t *cls = zpt_new_array(size_t, rows, "CSV classes");
  if (!cls)
    return ZPT_ENOMEM;
  qsort(labels, rows, sizeof *labels, numeric ? by_value : by_text);
  size_t singletons, c = group(labels, rows, numeric, cls, &singletons);
  /* identity: the integers 0..C-1, every one present */
  int identity = numeric && labels[0].value == 0 && labels[rows - 1].value == (double)(c - 1);
  int rc = ZPT_OK;
  describe(labels, cls, rows, !identity, info->classes, sizeof info->classes);
  if (c < 2)
    rc = zpt_fail(ZPT_EFORMAT, "%s: column %zu: every row has the label '%.*s': a "
                  "classification needs at least 2 classes", source, col,
                  (int)labels[0].len, labels[0].text);
  else if (!identity && singletons)
    rc = zpt_fail(ZPT_EFORMAT, "%s: column %zu: %zu distinct labels in %zu rows, %zu of "
                  "them on a single row (a corrupt label, or a column of measurements "
                  "rather than labels; choose it with data.label_column or declare "
                  "data.n_classes): %s", source, col, c, rows, singletons, info->classes);
  for (size_t i = 0; rc == ZPT_OK && i < rows; i++)
    d->targets[labels[i].row] = (float)cls[i];
  zpt_free(cls);
  if (rc != ZPT_OK)
    return rc;
  d->n_classes = c;
  info->n_classes = c;
  info->mapped = !identity;
  return ZPT_OK;
}
