/* "Did you mean ...?": the candidate nearest to a mistyped word. */
#ifndef ZPT_CORE_NEAREST_H
#define ZPT_CORE_NEAREST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Edit distance between a and b: insertions, deletions, substitutions and
 * swaps of two neighbouring bytes cost 1 each (optimal string alignment);
 * words longer than 63 bytes count as far from everything. */
size_t zpt_edit_distance(const char *a, const char *b);

/* The candidate nearest to word, or NULL when none is close: at most
 * max(1, strlen(word) / 3) edits away (ties: the first). */
const char *zpt_nearest(const char *word, const char *const *candidates,
                        size_t n);

#ifdef __cplusplus
}
#endif

#endif
