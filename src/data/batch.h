/* Mini-batches with seeded shuffling, exactly resumable.
 *
 * Epoch e visits the samples in the order of a permutation drawn from the
 * stream (seed, ZPT_STREAM_BATCH, e, 0) (or in order 0..n-1 when shuffling
 * is off) and cuts it into consecutive batches of batch_size.  With
 * ZPT_BATCH_SHORT_LAST (the default) the last batch of an epoch holds the
 * n mod batch_size remaining samples, so every sample is visited exactly
 * once per epoch; with ZPT_BATCH_DROP_LAST those remaining samples are
 * skipped for that epoch (every batch is full; each sample at most once per
 * epoch; a different remainder is dropped each shuffled epoch).  After the
 * last batch of an epoch the next call starts the next epoch.
 *
 * The whole state is (seed, epoch, position): the permutation is
 * regenerated from it, so saving these words (zpt_batcher_save) and
 * restoring them (zpt_batcher_restore) resumes the exact batch sequence.
 */
#ifndef ZPT_DATA_BATCH_H
#define ZPT_DATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/state.h"
#include "data/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_BATCH_SHORT_LAST = 0, /* a shorter last batch: every sample once per epoch */
  ZPT_BATCH_DROP_LAST = 1   /* only full batches: the remainder is skipped */
} zpt_batch_remainder;

typedef struct zpt_batcher zpt_batcher;

/* A batcher over n >= 1 samples, 1 <= batch_size <= n (ZPT_EINVAL
 * otherwise).  shuffle = 0 keeps the order 0..n-1 in every epoch.  It starts
 * at epoch 0, position 0. */
int zpt_batcher_alloc(zpt_batcher **out, size_t n, size_t batch_size, uint64_t seed,
                      int shuffle, zpt_batch_remainder remainder);
void zpt_batcher_free(zpt_batcher *b);

/* The next batch: *idx points to `count` sample indices (valid until the
 * next call); returns count (>= 1). */
size_t zpt_batcher_next(zpt_batcher *b, const size_t **idx);

/* Epoch of the batch the next call returns, and its position in that
 * epoch's order (samples handed out so far in the epoch). */
uint64_t zpt_batcher_epoch(const zpt_batcher *b);
size_t zpt_batcher_position(const zpt_batcher *b);
/* Batches per epoch: ceil(n / batch_size), or floor with DROP_LAST. */
size_t zpt_batcher_batches_per_epoch(const zpt_batcher *b);

/* Moves to the start of `epoch` (position 0). */
void zpt_batcher_seek(zpt_batcher *b, uint64_t epoch);

/* Saves / restores the state as one U64 array `name` holding
 * {version, n, batch_size, seed, epoch, position, shuffle, remainder}.
 * Restore fails with ZPT_EFORMAT (naming the field) when the saved n,
 * batch_size, shuffle or remainder differ from this batcher's, or the
 * position is impossible; on failure the batcher is unchanged. */
int zpt_batcher_save(const zpt_batcher *b, zpt_state_writer *w, const char *name);
int zpt_batcher_restore(zpt_batcher *b, zpt_state_reader *r, const char *name);

/* Copies the inputs and targets of samples idx[0..count) of d into
 * contiguous buffers (count * input_size and count * target_size floats);
 * ZPT_ERANGE if an index is out of range. */
int zpt_batch_gather(const zpt_dataset *d, const size_t *idx, size_t count,
                     float *inputs, float *targets);

#ifdef __cplusplus
}
#endif
#endif
