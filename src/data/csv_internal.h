/* Shared by csv.c and csv_labels.c (not installed). */
#ifndef ZPT_DATA_CSV_INTERNAL_H
#define ZPT_DATA_CSV_INTERNAL_H

#include <stddef.h>

#include "data/dataset.h"
#include "data/loaders.h"

#define ZPT_CSV_FIELD_MAX 64 /* longest accepted field */

/* A row's label field (trimmed, pointing into the file's buffer). */
typedef struct {
  const char *text;
  size_t len;
  size_t line; /* 1-based line of the file */
  size_t row;  /* 0-based data row */
  double value; /* set by zpt_csv_assign_classes when the field is a number */
} zpt_csv_label;

enum { ZPT_CSV_NUMBER = 0, ZPT_CSV_NOT_A_NUMBER = 1, ZPT_CSV_OVERFLOW = 2 };

/* Strict decimal: [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?, at most
 * ZPT_CSV_FIELD_MAX characters, finite in float32.  Returns ZPT_CSV_*. */
int zpt_csv_decimal(const char *s, size_t n, double *out);

/* Strips white space at both ends of s[0..n). */
void zpt_csv_trim(const char **s, size_t *n);

/* Turns the label fields into class indices in d->targets and sets
 * d->n_classes (docs/data.md, "Labels"); col is the 1-based label column. */
int zpt_csv_assign_classes(zpt_csv_label *labels, size_t rows, const char *source,
                           size_t col, size_t n_classes, zpt_dataset *d,
                           zpt_csv_info *info);

#endif
