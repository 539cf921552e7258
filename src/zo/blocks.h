/* Parameter blocks: contiguous chunks of the flat theta (method.md §4).
 *
 * Without cuts: B = ceil(N / N_max) chunks whose sizes differ by at most
 * one (the first N mod B chunks hold one more value).  This reproduces every
 * (N, N_max, B) the authors report, e.g. N = 33,642, N_max = 510 -> 66.
 * [design] With cuts (a strictly increasing list of offsets in (0, N), e.g.
 * layer boundaries) theta is first cut into segments there and each segment
 * of length n is then split the same way into ceil(n / N_max) chunks.
 */
#ifndef ZPT_ZO_BLOCKS_H
#define ZPT_ZO_BLOCKS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t n_params; /* N */
  size_t n_blocks; /* B */
  size_t max_len;  /* largest block (<= N_max) */
  size_t *offset;  /* n_blocks + 1 values: block b is [offset[b], offset[b+1]) */
} zpt_blocks;

/* cuts may be NULL when n_cuts == 0.  ZPT_EINVAL for N = 0, N_max = 0 or
 * cuts that are not strictly increasing inside (0, N). */
int zpt_blocks_alloc(zpt_blocks **out, size_t n_params, size_t n_max,
                     const size_t *cuts, size_t n_cuts);
void zpt_blocks_free(zpt_blocks *b);

static inline size_t zpt_block_len(const zpt_blocks *b, size_t i) {
  return b->offset[i + 1] - b->offset[i];
}

/* Number of blocks ceil(N / N_max) without cuts (no allocation). */
size_t zpt_blocks_count(size_t n_params, size_t n_max);

#ifdef __cplusplus
}
#endif
#endif
