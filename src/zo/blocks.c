/* Parameter blocks (see blocks.h). */
#include "zo/blocks.h"

#include "core/alloc.h"
#include "core/status.h"

size_t zpt_blocks_count(size_t n_params, size_t n_max) {
  return n_max ? (n_params + n_max - 1) / n_max : 0;
}

/* Splits [start, start+len) into ceil(len/n_max) near-equal chunks,
 * writing their offsets from out[*k]. */
static void split(size_t start, size_t len, size_t n_max, size_t *out,
                  size_t *k) {
  size_t nb = zpt_blocks_count(len, n_max);
  size_t base = len / nb, extra = len % nb, pos = start;
  for (size_t i = 0; i < nb; i++) {
    out[(*k)++] = pos;
    pos += base + (i < extra);
  }
}

int zpt_blocks_alloc(zpt_blocks **out, size_t n_params, size_t n_max,
                     const size_t *cuts, size_t n_cuts) {
  *out = NULL;
  if (n_params == 0)
    return zpt_fail(ZPT_EINVAL, "blocks: theta has no parameters");
  if (n_max == 0)
    return zpt_fail(ZPT_EINVAL, "blocks: N_max must be >= 1");
  if (n_cuts && !cuts)
    return zpt_fail(ZPT_EINVAL, "blocks: %zu cuts but no cut list", n_cuts);
  size_t total = 0, prev = 0;
  for (size_t c = 0; c <= n_cuts; c++) {
    size_t end = c < n_cuts ? cuts[c] : n_params;
    if (c < n_cuts && (end <= prev || end >= n_params))
      return zpt_fail(ZPT_EINVAL,
                      "blocks: cut %zu at offset %zu: cuts must be strictly "
                      "increasing and inside (0, %zu) (previous %zu)",
                      c, end, n_params, prev);
    total += zpt_blocks_count(end - prev, n_max);
    prev = end;
  }
  zpt_blocks *b = zpt_new(zpt_blocks, "parameter blocks");
  if (!b)
    return ZPT_ENOMEM;
  b->offset = zpt_new_array(size_t, total + 1, "block offsets");
  if (!b->offset) {
    zpt_free(b);
    return ZPT_ENOMEM;
  }
  b->n_params = n_params;
  b->n_blocks = total;
  size_t k = 0;
  prev = 0;
  for (size_t c = 0; c <= n_cuts; c++) {
    size_t end = c < n_cuts ? cuts[c] : n_params;
    split(prev, end - prev, n_max, b->offset, &k);
    prev = end;
  }
  b->offset[total] = n_params;
  b->max_len = 0;
  for (size_t i = 0; i < total; i++)
    if (zpt_block_len(b, i) > b->max_len)
      b->max_len = zpt_block_len(b, i);
  *out = b;
  return ZPT_OK;
}

void zpt_blocks_free(zpt_blocks *b) {
  if (!b)
    return;
  zpt_free(b->offset);
  zpt_free(b);
}
