/* CSV with numeric feature columns and one class-label column (the label
 * rules live in csv_labels.c), or, with n_targets > 0, numeric feature
 * columns followed by real-valued targets (regression). */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/status.h"
#include "data/csv_internal.h"
#include "data/loaders.h"

zpt_csv_options zpt_csv_defaults(void) {
  zpt_csv_options o = {.label_column = -1, .n_classes = 0, .delimiter = ',',
                       .skip_header = 0, .header = ZPT_CSV_HEADER_AUTO, .n_targets = 0};
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

/* The next content line (not one of the first skip lines, not blank, not a
 * '#' comment). */
static int next_content(line_reader *r, size_t skip, const char **s, size_t *n) {
  while (next_line(r, s, n))
    if (r->lineno > skip && !is_blank(*s, *n))
      return 1;
  return 0;
}

void zpt_csv_trim(const char **s, size_t *n) {
  while (*n && isspace((unsigned char)**s)) {
    (*s)++;
    (*n)--;
  }
  while (*n && isspace((unsigned char)(*s)[*n - 1]))
    (*n)--;
}

/* Parses feature field s[0..n) (column col, 1-based) into *out. */
static int parse_feature(const char *s, size_t n, const char *source, size_t lineno,
                         size_t col, float *out) {
  zpt_csv_trim(&s, &n);
  if (n == 0)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: empty field, expected a number", source,
                    lineno, col);
  if (n > ZPT_CSV_FIELD_MAX)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: field of %zu characters, expected a number "
                    "of at most %d", source, lineno, col, n, ZPT_CSV_FIELD_MAX);
  double v = 0;
  int k = zpt_csv_decimal(s, n, &v);
  if (k == ZPT_CSV_OVERFLOW)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: '%.*s' overflows a 32-bit float (largest "
                    "magnitude %g)", source, lineno, col, (int)n, s, (double)FLT_MAX);
  if (k != ZPT_CSV_NUMBER)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu:%zu: '%.*s' is not a number (expected a decimal "
                    "number such as -1.25 or 3e-2; hex, inf and nan are refused)", source,
                    lineno, col, (int)n, s);
  *out = (float)v;
  return ZPT_OK;
}

/* Number of fields of a line. */
static size_t count_fields(const char *s, size_t n, char delim) {
  size_t c = 1;
  for (size_t i = 0; i < n; i++)
    c += s[i] == delim;
  return c;
}

/* Resolves a possibly negative label column against ncols; -1 if absent. */
static long resolve_column(long label_column, size_t ncols) {
  long lc = label_column < 0 ? (long)ncols + label_column : label_column;
  return lc < 0 || (size_t)lc >= ncols ? -1 : lc;
}

/* The label column of a line of ncols fields: -1 for regression (no label,
 * every field is a number). */
static long label_of(const zpt_csv_options *o, size_t ncols) {
  return o->n_targets ? -1 : resolve_column(o->label_column, ncols);
}

/* A field that reads as a column name: not a number, starting with a
 * letter, '_' or a quote, and not a spelling of inf or nan (which are bad
 * data, not names). */
static int is_name(const char *f, size_t n) {
  double v;
  if (n == 0 || zpt_csv_decimal(f, n, &v) != ZPT_CSV_NOT_A_NUMBER)
    return 0;
  if (!isalpha((unsigned char)f[0]) && f[0] != '_' && f[0] != '"' && f[0] != '\'')
    return 0;
  static const char *const bad[] = {"nan", "inf", "infinity"};
  for (size_t k = 0; k < 3; k++)
    if (n == strlen(bad[k]) && !strncasecmp(f, bad[k], n))
      return 0;
  return 1;
}

/* Auto header rule: the first content line is a header when one of its
 * fields outside the label column is a name. */
static int looks_like_header(const char *s, size_t n, const zpt_csv_options *o) {
  char delim = o->delimiter;
  long lc = label_of(o, count_fields(s, n, delim));
  size_t col = 0, start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && s[i] != delim)
      continue;
    const char *f = s + start;
    size_t fn = i - start;
    zpt_csv_trim(&f, &fn);
    if ((long)col != lc && is_name(f, fn))
      return 1;
    col++;
    start = i + 1;
  }
  return 0;
}

static int check_delimiter(char d, const char *source) {
  if (d == 0 || d == '\n' || d == '\r' || d == '#' || d == '.' || d == '-' || d == '+' ||
      isdigit((unsigned char)d) || d == 'e' || d == 'E')
    return zpt_fail(ZPT_EINVAL, "%s: delimiter '%c' cannot separate numbers", source,
                    d ? d : '0');
  return ZPT_OK;
}

/* Pass 1: the header, the number of data rows and columns. */
static int scan(const char *buf, size_t len, const char *source, const zpt_csv_options *o,
                size_t *header_line, size_t *rows, size_t *ncols) {
  line_reader r = {buf, len, 0, 0};
  const char *s;
  size_t n, first_line = 0;
  *header_line = *rows = *ncols = 0;
  while (next_content(&r, o->skip_header, &s, &n)) {
    if (!*header_line && !*rows && first_line == 0 &&
        (o->header == ZPT_CSV_HEADER_YES ||
         (o->header == ZPT_CSV_HEADER_AUTO && looks_like_header(s, n, o)))) {
      *header_line = r.lineno;
      continue;
    }
    size_t c = count_fields(s, n, o->delimiter);
    if (*rows == 0) {
      *ncols = c;
      first_line = r.lineno;
    } else if (c != *ncols) {
      return zpt_fail(ZPT_EFORMAT, "%s:%zu: %zu columns, expected %zu like line %zu",
                      source, r.lineno, c, *ncols, first_line);
    }
    (*rows)++;
  }
  if (*rows == 0)
    return zpt_fail(ZPT_EFORMAT, "%s: no data lines (empty file%s)", source,
                    *header_line || o->skip_header ? " or only the header" : "");
  if (o->n_targets && *ncols <= o->n_targets)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu: %zu columns, expected inputs and then %zu targets",
                    source, first_line, *ncols, o->n_targets);
  if (*ncols < 2)
    return zpt_fail(ZPT_EFORMAT, "%s:%zu: %zu column, expected at least 2 (features and a "
                    "label)", source, first_line, *ncols);
  return ZPT_OK;
}

/* Pass 2: the features into d, each row's label field into labels (or,
 * for regression, the last n_targets numbers into d's targets). */
static int fill(const char *buf, size_t len, const char *source, const zpt_csv_options *o,
                size_t header_line, long lc, zpt_dataset *d, zpt_csv_label *labels) {
  line_reader r = {buf, len, 0, 0};
  const char *s;
  size_t n, row = 0;
  while (next_content(&r, o->skip_header, &s, &n)) {
    if (r.lineno == header_line)
      continue;
    float *x = zpt_dataset_input(d, row), *y = zpt_dataset_target(d, row);
    size_t col = 0, start = 0, j = 0;
    for (size_t i = 0; i <= n; i++) {
      if (i < n && s[i] != o->delimiter)
        continue;
      if ((long)col == lc) {
        const char *f = s + start;
        size_t fn = i - start;
        zpt_csv_trim(&f, &fn);
        labels[row] = (zpt_csv_label){.text = f, .len = fn, .line = r.lineno,
                                      .row = row};
      } else {
        float *to = j < d->input_size ? &x[j] : &y[j - d->input_size];
        ZPT_TRY(parse_feature(s + start, i - start, source, r.lineno, col + 1, to));
        j++;
      }
      col++;
      start = i + 1;
    }
    row++;
  }
  return ZPT_OK;
}

int zpt_csv_read(const char *buf, size_t len, const char *source,
                 const zpt_csv_options *opt, const char *name, zpt_dataset **out,
                 zpt_csv_info *info) {
  *out = NULL;
  zpt_csv_options o = opt ? *opt : zpt_csv_defaults();
  zpt_csv_info local;
  if (!info)
    info = &local;
  memset(info, 0, sizeof *info);
  ZPT_TRY(check_delimiter(o.delimiter, source));
  size_t header_line, rows, ncols;
  ZPT_TRY(scan(buf, len, source, &o, &header_line, &rows, &ncols));
  size_t m = o.n_targets;
  long lc = label_of(&o, ncols);
  if (lc < 0 && !m)
    return zpt_fail(ZPT_EINVAL, "%s: label column %ld does not exist: the file has %zu "
                    "columns", source, o.label_column, ncols);
  zpt_dataset *d;
  ZPT_TRY(zpt_dataset_alloc(&d, name ? name : source,
                            m ? ZPT_TASK_REGRESSION : ZPT_TASK_CLASSIFICATION, rows,
                            m ? ncols - m : ncols - 1, m ? m : 1, m ? 0 : o.n_classes));
  zpt_csv_label *labels = m ? NULL : zpt_new_array(zpt_csv_label, rows, "CSV labels");
  int rc = labels || m ? zpt_dataset_track_origin(d) : ZPT_ENOMEM;
  if (rc == ZPT_OK)
    rc = fill(buf, len, source, &o, header_line, lc, d, labels);
  info->header_line = header_line;
  info->rows = rows;
  info->features = d->input_size;
  info->label_column = m ? 0 : (size_t)lc;
  if (rc == ZPT_OK && !m)
    rc = zpt_csv_assign_classes(labels, rows, source, (size_t)lc + 1, o.n_classes, d, info);
  zpt_free(labels);
  if (rc != ZPT_OK) {
    zpt_dataset_free(d);
    return rc;
  }
  *out = d;
  return ZPT_OK;
}

int zpt_csv_parse(const char *buf, size_t len, const char *source,
                  const zpt_csv_options *opt, const char *name,
                  zpt_dataset **out) {
  return zpt_csv_read(buf, len, source, opt, name, out, NULL);
}

int zpt_csv_load_info(const char *path, const zpt_csv_options *opt, const char *name,
                      zpt_dataset **out, zpt_csv_info *info) {
  *out = NULL;
  unsigned char *buf;
  size_t len;
  ZPT_TRY(zpt_read_file(path, 0, &buf, &len));
  int rc = zpt_csv_read((const char *)buf, len, path, opt, name, out, info);
  zpt_free(buf);
  return rc;
}

int zpt_csv_load(const char *path, const zpt_csv_options *opt, const char *name,
                 zpt_dataset **out) {
  return zpt_csv_load_info(path, opt, name, out, NULL);
}

int zpt_digits_load(const char *path, zpt_dataset **out) {
  zpt_csv_options o = zpt_csv_defaults();
  o.n_classes = 10;
  o.header = ZPT_CSV_HEADER_NO;
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
