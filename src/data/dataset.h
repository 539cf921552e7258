/* A data set held in memory: n samples, each input_size floats of input and
 * target_size floats of target, stored contiguously (sample i's input at
 * inputs + i * input_size), plus the metadata a program needs to build a
 * model and report results.
 *
 * Target convention (the trainer's losses follow it):
 *  - cross-entropy tasks (ZPT_TASK_CLASSIFICATION, ZPT_TASK_SEQUENCE):
 *    target_size = number of steps and each entry is a class index in
 *    [0, n_classes) stored as a float; plain classification has
 *    target_size = 1.
 *  - regression (ZPT_TASK_REGRESSION): target_size = output size, the
 *    targets are the desired outputs; n_classes is 0.
 *
 * Every loader and generator returns a freshly allocated zpt_dataset that
 * the caller releases with zpt_dataset_free (NULL is a no-op).
 */
#ifndef ZPT_DATA_DATASET_H
#define ZPT_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_TASK_CLASSIFICATION = 1, /* one class index per sample */
  ZPT_TASK_SEQUENCE = 2,       /* one class index per time step */
  ZPT_TASK_REGRESSION = 3      /* real-valued targets */
} zpt_task_kind;

typedef enum {
  ZPT_CHANNEL_NONE = 0,
  ZPT_CHANNEL_ISI = 1,  /* nonlinear ISI benchmark (Jaeger & Haas 2004) */
  ZPT_CHANNEL_IMDD = 2  /* IM/DD fibre link with chromatic dispersion */
} zpt_channel_kind;

#define ZPT_DATASET_NAME_LEN 64

typedef struct {
  char name[ZPT_DATASET_NAME_LEN];
  zpt_task_kind kind;
  size_t n;           /* samples */
  size_t input_size;  /* floats of input per sample */
  size_t target_size; /* floats of target per sample */
  size_t n_classes;   /* classes of the targets (0 for regression) */
  float *inputs;      /* n * input_size */
  float *targets;     /* n * target_size */

  /* Image data sets: input = channels x height x width, channel-major then
   * row-major (CHW).  All three are 0 when the input is not an image. */
  size_t channels, height, width;

  /* Sequence tasks: input = seq_len steps of step_size floats each, step
   * major; target_size = seq_len.  Both 0 otherwise. */
  size_t seq_len, step_size;

  /* Copying memory task: the delay T and the memoryless baseline loss
   * 10 ln 8 / (T + 20) in nats per step; 0 otherwise. */
  size_t copy_delay;
  double baseline_loss;

  /* Equalization: the channel, its SNR in dB (INFINITY = noiseless), the
   * window (taps, centre) and the decision delay of the target. */
  zpt_channel_kind channel;
  double snr_db;
  size_t taps, centre, delay;

  /* Optional: sample i came from record origin[i] of its file (0-based;
   * for CSV the data row, not counting the header, blank and '#' lines).
   * Set by the file loaders, carried through subsets and splits, so a run
   * can record which rows trained and which tested; NULL when unknown. */
  size_t *origin;
} zpt_dataset;

/* A zeroed data set with room for n samples (n may be 0).  Fails with
 * ZPT_EINVAL on input_size == 0 or target_size == 0, ZPT_ERANGE when the
 * sizes overflow, ZPT_ENOMEM when memory runs out. */
int zpt_dataset_alloc(zpt_dataset **out, const char *name, zpt_task_kind kind,
                      size_t n, size_t input_size, size_t target_size,
                      size_t n_classes);
void zpt_dataset_free(zpt_dataset *d);

/* Pointers to sample i's input / target (no bounds check). */
static inline float *zpt_dataset_input(const zpt_dataset *d, size_t i) {
  return d->inputs + i * d->input_size;
}
static inline float *zpt_dataset_target(const zpt_dataset *d, size_t i) {
  return d->targets + i * d->target_size;
}

/* Declares the input to be a channels x height x width image; fails with
 * ZPT_EINVAL unless channels * height * width == input_size. */
int zpt_dataset_set_image_shape(zpt_dataset *d, size_t channels, size_t height,
                                size_t width);

/* Gives d an origin array 0, 1, ..., n-1 (replacing any). */
int zpt_dataset_track_origin(zpt_dataset *d);

/* Writes d->origin as a U64 array `name` through w (e.g. a checkpoint's
 * "task/split/test_rows"); nothing when d has no origins. */
struct zpt_state_writer;
int zpt_split_save(const zpt_dataset *d, struct zpt_state_writer *w, const char *name);

/* Copies name and every metadata field (not the sizes or the data). */
void zpt_dataset_copy_meta(zpt_dataset *dst, const zpt_dataset *src);

/* Checks that every target of a cross-entropy data set is an integer in
 * [0, n_classes); ZPT_ERANGE naming the sample and step otherwise.  Always
 * ZPT_OK for regression. */
int zpt_dataset_check_targets(const zpt_dataset *d);

/* A new data set holding samples idx[0..count) of src in that order (with
 * src's metadata and origins); ZPT_ERANGE if an index is >= src->n. */
int zpt_dataset_subset(const zpt_dataset *src, const size_t *idx, size_t count,
                       const char *name, zpt_dataset **out);

/* A new data set with the samples of a followed by those of b; both must
 * have the same input_size, target_size and kind (ZPT_EINVAL otherwise).
 * The result has no origins (the two files' records would collide). */
int zpt_dataset_concat(const zpt_dataset *a, const zpt_dataset *b,
                       const char *name, zpt_dataset **out);

/* ---- Train/test splits.  Both parts keep the original sample order. ---- */

/* Sample i goes to the test part when i % period == residue, to the train
 * part otherwise. */
int zpt_split_modulo(const zpt_dataset *d, size_t period, size_t residue,
                     zpt_dataset **train, zpt_dataset **test);

/* The fixed MNIST-10k split: zpt_split_modulo(d, 5, 4, ...), so the 10,000
 * images of the official MNIST test set give 8,000 train and 2,000 test. */
int zpt_split_mnist10k(const zpt_dataset *d, zpt_dataset **train,
                       zpt_dataset **test);

/* A seeded random split: a permutation drawn from the stream
 * (seed, ZPT_STREAM_SPLIT, 0, 0) chooses n_test samples for the test part;
 * the rest are the train part.  ZPT_EINVAL if n_test > d->n. */
int zpt_split_random(const zpt_dataset *d, size_t n_test, uint64_t seed,
                     zpt_dataset **train, zpt_dataset **test);

/* Keeps the first n samples of *d (n = 0 or n >= its size: all of them):
 * *d is replaced by a new data set holding them and the old one freed. */
int zpt_dataset_keep_first(zpt_dataset **d, size_t n);

/* The first n_train samples train, the rest test.  ZPT_EINVAL if
 * n_train > d->n. */
int zpt_split_first(const zpt_dataset *d, size_t n_train, zpt_dataset **train,
                    zpt_dataset **test);

#ifdef __cplusplus
}
#endif
#endif
