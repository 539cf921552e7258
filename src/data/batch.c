#include "data/batch.h"

#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"

#define BATCHER_STATE_VERSION 1
#define BATCHER_STATE_WORDS 8

struct zpt_batcher {
  size_t n, batch_size;
  uint64_t seed, epoch;
  size_t position;
  int shuffle;
  zpt_batch_remainder remainder;
  size_t *order; /* this epoch's permutation */
  gsl_rng *rng;
};

static void make_order(zpt_batcher *b) {
  if (!b->shuffle) {
    for (size_t i = 0; i < b->n; i++)
      b->order[i] = i;
    return;
  }
  zpt_rng_derive(b->rng, b->seed, ZPT_STREAM_BATCH, b->epoch, 0);
  zpt_rng_permutation(b->rng, b->order, b->n);
}

/* Samples of the epoch that are handed out: n, or the full batches only. */
static size_t epoch_span(const zpt_batcher *b) {
  return b->remainder == ZPT_BATCH_DROP_LAST ? b->n / b->batch_size * b->batch_size : b->n;
}

int zpt_batcher_alloc(zpt_batcher **out, size_t n, size_t batch_size, uint64_t seed,
                      int shuffle, zpt_batch_remainder remainder) {
  *out = NULL;
  if (n == 0 || batch_size == 0 || batch_size > n)
    return zpt_fail(ZPT_EINVAL, "batcher: need 1 <= batch_size <= n samples, got "
                    "batch_size %zu, n %zu", batch_size, n);
  if (remainder != ZPT_BATCH_SHORT_LAST && remainder != ZPT_BATCH_DROP_LAST)
    return zpt_fail(ZPT_EINVAL, "batcher: unknown remainder policy %d", (int)remainder);
  zpt_batcher *b = zpt_new(zpt_batcher, "batcher");
  if (!b)
    return ZPT_ENOMEM;
  b->order = zpt_new_array(size_t, n, "batch order");
  b->rng = zpt_rng_alloc(seed, ZPT_STREAM_BATCH, 0, 0);
  if (!b->order || !b->rng) {
    zpt_batcher_free(b);
    return ZPT_ENOMEM;
  }
  b->n = n;
  b->batch_size = batch_size;
  b->seed = seed;
  b->shuffle = shuffle != 0;
  b->remainder = remainder;
  make_order(b);
  *out = b;
  return ZPT_OK;
}

void zpt_batcher_free(zpt_batcher *b) {
  if (!b)
    return;
  zpt_free(b->order);
  zpt_rng_free(b->rng);
  zpt_free(b);
}

void zpt_batcher_seek(zpt_batcher *b, uint64_t epoch) {
  b->epoch = epoch;
  b->position = 0;
  make_order(b);
}

size_t zpt_batcher_next(zpt_batcher *b, const size_t **idx) {
  if (b->position >= epoch_span(b))
    zpt_batcher_seek(b, b->epoch + 1);
  size_t count = epoch_span(b) - b->position;
  if (count > b->batch_size)
    count = b->batch_size;
  *idx = b->order + b->position;
  b->position += count;
  return count;
}

uint64_t zpt_batcher_epoch(const zpt_batcher *b) {
  return b->position >= epoch_span(b) ? b->epoch + 1 : b->epoch;
}

size_t zpt_batcher_position(const zpt_batcher *b) {
  return b->position >= epoch_span(b) ? 0 : b->position;
}

size_t zpt_batcher_batches_per_epoch(const zpt_batcher *b) {
  return b->remainder == ZPT_BATCH_DROP_LAST ? b->n / b->batch_size
                                             : (b->n + b->batch_size - 1) / b->batch_size;
}

int zpt_batcher_save(const zpt_batcher *b, zpt_state_writer *w, const char *name) {
  uint64_t s[BATCHER_STATE_WORDS] = {BATCHER_STATE_VERSION, b->n, b->batch_size, b->seed,
                                     b->epoch, b->position, (uint64_t)b->shuffle,
                                     (uint64_t)b->remainder};
  return w->put(w, name, ZPT_T_U64, s, BATCHER_STATE_WORDS);
}

int zpt_batcher_restore(zpt_batcher *b, zpt_state_reader *r, const char *name) {
  uint64_t s[BATCHER_STATE_WORDS];
  ZPT_TRY(r->get(r, name, ZPT_T_U64, s, BATCHER_STATE_WORDS));
  static const char *field[] = {"version", "n", "batch_size", "seed",
                                "epoch", "position", "shuffle", "remainder"};
  uint64_t mine[BATCHER_STATE_WORDS] = {BATCHER_STATE_VERSION, b->n, b->batch_size, 0, 0, 0,
                                        (uint64_t)b->shuffle, (uint64_t)b->remainder};
  static const int must_match[] = {0, 1, 2, 6, 7};
  for (size_t k = 0; k < sizeof must_match / sizeof must_match[0]; k++) {
    int f = must_match[k];
    if (s[f] != mine[f])
      return zpt_fail(ZPT_EFORMAT, "batcher state '%s': saved %s is %llu, this batcher's "
                      "is %llu", name, field[f], (unsigned long long)s[f],
                      (unsigned long long)mine[f]);
  }
  size_t span = b->remainder == ZPT_BATCH_DROP_LAST ? b->n / b->batch_size * b->batch_size
                                                   : b->n;
  if (s[5] > span)
    return zpt_fail(ZPT_EFORMAT, "batcher state '%s': saved position %llu exceeds the %zu "
                    "samples of an epoch", name, (unsigned long long)s[5], span);
  b->seed = s[3];
  zpt_batcher_seek(b, s[4]);
  b->position = (size_t)s[5];
  return ZPT_OK;
}

int zpt_batch_gather(const zpt_dataset *d, const size_t *idx, size_t count,
                     float *inputs, float *targets) {
  for (size_t k = 0; k < count; k++) {
    if (idx[k] >= d->n)
      return zpt_fail(ZPT_ERANGE, "batch of data set '%s': index %zu (position %zu) is not "
                      "below the %zu samples", d->name, idx[k], k, d->n);
    memcpy(inputs + k * d->input_size, zpt_dataset_input(d, idx[k]),
           d->input_size * sizeof(float));
    memcpy(targets + k * d->target_size, zpt_dataset_target(d, idx[k]),
           d->target_size * sizeof(float));
  }
  return ZPT_OK;
}
