/* CSV with numeric columns and one integer label column. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/loaders.h"

#define FIELD_MAX 64                 /* longest accepted numeric field */
#define MAX_INFERRED_CLASSES (1 << 20)

zpt_csv_options zpt_csv_defaults(void) {
  zpt_csv_options o = {.label_column = -1, .n_classes = 0, .delimiter = ',',
                       .skip_header = 0};
  return o;
}

typedef struct {
  const char *buf;
  size_t len, pos, lineno; /* lineno: 1-based number of the current line */
} line_reader;

/* Next physical line [*start, *start + *n) without its '\n' / "\r\n". */
static int next_line(line_reader *r, const char **start, size_t *n) {
  if (r->pos >= r->len)
    return 0;
  const char *s = r->buf + r->pos;
  const char *e = memchr(s, '\n', r->len - r->pos);
  size_t k = e ? (size_t)(e - s) : r->len - r->pos;
  r->pos += k + (e ? 1 : 0);
  r->lineno++;
  if (k > 0 && s[k - 1] == '\r')
    k--;
  *start = s;
  *n = k;
  return 1;
}

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i]))
      return s[i] == '#';
  return 1;
}

/* Parses one field s[0..n) as a finite number. */
static int parse_number(const char *s, size_t n, const char *source, size_t lineno,
                        size_t col, double *out) {
  while (n && isspace((unsigned char)*s)) {
    s++;
    n--;
  }
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  char tmp[FIELD_MAX + 1];
  if (n == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: line %zu, column %zu: empty field, expected a number",
                    source, lineno, col);
  if (n > FIELD_MAX)
    return zpt_fail(ZPT_EFORMAT, "%s: line %zu, column %zu: field of %zu characters, "
                    "expected a number of at most %d", source, lineno, col, n, FIELD_MAX);
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *end;
  double v = strtod(tmp, &end);
  if (end != tmp + n || end == tmp)
    return zpt_fail(ZPT_EFORMAT, "%s: line %zu, column %zu: '%s' is not a number", source,
                    lineno, col, tmp);
  if (!isfinite(v))
    return zpt_fail(ZPT_EFORMAT, "%s: line %zu, column %zu: '%s' is not a finite number",
                    source, lineno, col, tmp);
  *out = v;
  return ZPT_OK;
}

/* Splits a line into fields; with vals == NULL only counts and validates.
 * *ncols receives the number of fields. */
static int parse_line(const char *s, size_t n, char delim, const char *source,
                      size_t lineno, double *vals, size_t max_vals, size_t *ncols) {
  size_t col = 0, start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != delim)
      continue;
    double v;
    ZPT_TRY(parse_number(s + start, i - start, source, lineno, col + 1, &v));
    if (vals) {
      if (col >= max_vals)
        return zpt_fail(ZPT_EFORMAT, "%s: line %zu: more than the expected %zu columns",
                        source, lineno, max_vals);
      vals[col] = v;
    }
    col++;
    start = i + 1;
  }
  *ncols = col;
  return ZPT_OK;
}

int zpt_csv_parse(const char *buf, size_t len, const char *source,
                  const zpt_csv_options *opt, const char *name,
                  zpt_dataset **out) {
  *out = NULL;
  zpt_csv_options o = opt ? *opt : zpt_csv_defaults();
  if (o.delimiter == 0 || o.delimiter == '\n' || o.delimiter == '\r' || o.delimiter == '#' ||
      o.delimiter == '.' || o.delimiter == '-' || o.delimiter == '+' ||
      isdigit((unsigned char)o.delimiter))
    return zpt_fail(ZPT_EINVAL, "%s: delimiter '%c' cannot separate numbers", source,
                    o.delimiter ? o.delimiter : '0');
  /* Pass 1: count the data lines, fix the column count, validate. */
  line_reader r = {buf, len, 0, 0};
  const char *s;
  size_t n, ncols = 0, rows = 0, first_line = 0;
  while (next_line(&r, &s, &n)) {
    if (r.lineno <= o.skip_header || is_blank(s, n))
      continue;
    size_t c;
    ZPT_TRY(parse_line(s, n, o.delimiter, source, r.lineno, NULL, 0, &c));
    if (rows == 0) {
      ncols = c;
      first_line = r.lineno;
    } else if (c != ncols) {
      return zpt_fail(ZPT_EFORMAT, "%s: line %zu: %zu columns, expected %zu like line %zu",
                      source, r.lineno, c, ncols, first_line);
    }
    rows++;
  }
  if (rows == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: no data lines (empty file%s)", source,
                    o.skip_header ? " or only the header" : "");
  if (ncols < 2)
    return zpt_fail(ZPT_EFORMAT, "%s: line %zu: %zu column, expected at least 2 (features "
                    "and a label)", source, first_line, ncols);
  long lc = o.label_column < 0 ? (long)ncols + o.label_column : o.label_column;
  if (lc < 0 || (size_t)lc >= ncols)
    return zpt_fail(ZPT_EINVAL, "%s: label column %ld does not exist: the file has %zu "
                    "columns", source, o.label_column, ncols);
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, name ? name : source, ZPT_TASK_CLASSIFICATION, rows,
                            ncols - 1, 1, o.n_classes));
  double *vals = zpt_doubles(ncols, "CSV row");
  if (!vals) {
    zpt_dataset_free(d);
    return ZPT_ENOMEM;
  }
  /* Pass 2: fill. */
  r = (line_reader){buf, len, 0, 0};
  size_t row = 0, max_label = 0;
  int rc = ZPT_OK;
  while (rc == ZPT_OK && next_line(&r, &s, &n)) {
    if (r.lineno <= o.skip_header || is_blank(s, n))
      continue;
    size_t c;
    rc = parse_line(s, n, o.delimiter, source, r.lineno, vals, ncols, &c);
    if (rc != ZPT_OK)
      break;
    double label = vals[lc];
    if (label < 0 || label != floor(label) ||
        (o.n_classes ? label >= (double)o.n_classes : label >= MAX_INFERRED_CLASSES)) {
      if (o.n_classes)
        rc = zpt_fail(ZPT_ERANGE, "%s: line %zu, column %ld: label %g is not a class "
                      "index in [0, %zu)", source, r.lineno, lc + 1, label, o.n_classes);
      else
        rc = zpt_fail(ZPT_ERANGE, "%s: line %zu, column %ld: label %g is not a class "
                      "index (an integer in [0, %d))", source, r.lineno, lc + 1, label,
                      MAX_INFERRED_CLASSES);
      break;
    }
    if ((size_t)label > max_label)
      max_label = (size_t)label;
    d->targets[row] = (float)label;
    float *x = zpt_dataset_input(d, row);
    for (size_t k = 0, j = 0; k < ncols; k++)
      if ((long)k != lc)
        x[j++] = (float)vals[k];
    row++;
  }
  zpt_free(vals);
  if (rc != ZPT_OK) {
    zpt_dataset_free(d);
    return rc;
  }
  if (!o.n_classes)
    d->n_classes = max_label + 1;
  *out = d;
  return ZPT_OK;
}

int zpt_csv_load(const char *path, const zpt_csv_options *opt, const char *name,
                 zpt_dataset **out) {
  *out = NULL;
  unsigned char *buf;
  size_t len;
  ZPT_TRY(zpt_read_file(path, 0, &buf, &len));
  int rc = zpt_csv_parse((const char *)buf, len, path, opt, name, out);
  zpt_free(buf);
  return rc;
}

int zpt_digits_load(const char *path, zpt_dataset **out) {
  zpt_csv_options o = zpt_csv_defaults();
  o.n_classes = 10;
  ZPT_TRY(zpt_csv_load(path, &o, "digits", out));
  if ((*out)->input_size != 64) {
    size_t got = (*out)->input_size + 1;
    zpt_dataset_free(*out);
    *out = NULL;
    return zpt_fail(ZPT_EFORMAT, "%s: %zu columns, expected 65 (64 pixels and the label)",
                    path, got);
  }
  return zpt_dataset_set_image_shape(*out, 1, 8, 8);
}
