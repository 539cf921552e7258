/* The strict decimal number of a CSV field (csv_internal.h), used by the
 * reader (csv.c) and the label pass (csv_labels.c). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv_internal.h"

static size_t digits(const char *s, size_t n, size_t i) {
  size_t j = i;
  while (j < n && s[j] >= '0' && s[j] <= '9')
    j++;
  return j - i;
}

int zpt_csv_decimal(const char *s, size_t n, double *out) {
  /* [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?  -- nothing else: no hex,
   * no inf/nan, no C99 hex floats, no thousands separators. */
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  size_t a = digits(s, n, i);
  i += a;
  size_t b = 0;
  if (i < n && s[i] == '.') {
    i++;
    b = digits(s, n, i);
    i += b;
  }
  if (a + b == 0)
    return ZPT_CSV_NOT_A_NUMBER;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t e = digits(s, n, i);
    if (e == 0)
      return ZPT_CSV_NOT_A_NUMBER;
    i += e;
  }
  if (i != n || n > ZPT_CSV_FIELD_MAX)
    return ZPT_CSV_NOT_A_NUMBER;
  char tmp[ZPT_CSV_FIELD_MAX + 1];
  memcpy(tmp, s, n);
  tmp[n] = 0;
  double v = strtod(tmp, NULL);
  if (!(fabs(v) <= FLT_MAX))
    return ZPT_CSV_OVERFLOW;
  *out = v;
  return ZPT_CSV_NUMBER;
}
