/* Edit distance and nearest candidate (see nearest.h). */
#include "core/nearest.h"

#include <string.h>

#define WORD_MAX 63

size_t zpt_edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > WORD_MAX || m > WORD_MAX)
    return (size_t)-1 / 2;
  size_t d[WORD_MAX + 1][WORD_MAX + 1];
  for (size_t i = 0; i <= n; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= m; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best)
        best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best)
        best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1; /* two neighbours swapped */
      d[i][j] = best;
    }
  return d[n][m];
}

const char *zpt_nearest(const char *word, const char *const *candidates,
                        size_t n) {
  size_t limit = strlen(word) / 3;
  if (limit < 1)
    limit = 1;
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (size_t k = 0; k < n; k++) {
    size_t d = zpt_edit_distance(word, candidates[k]);
    if (d < best_d) {
      best_d = d;
      best = candidates[k];
    }
  }
  return best;
}
