/* Preprocessing: value scaling, per-feature standardisation, and the DFT
 * feature encoding of the MZI classifier. */
#ifndef ZPT_DATA_PREPROCESS_H
#define ZPT_DATA_PREPROCESS_H

#include <stddef.h>

#include "data/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Maps every input value x to (x - lo) / (hi - lo): pixels 0..255 (MNIST,
 * CIFAR-10) or 0..16 (UCI digits) to [0, 1].  ZPT_EINVAL unless hi > lo. */
int zpt_scale_range(zpt_dataset *d, float lo, float hi);

/* Per-feature standardisation x_f -> (x_f - mean_f) / std_f with the mean
 * and (population) standard deviation of feature f measured on a training
 * set and applied unchanged to any other set (test data never influence
 * the statistics).  A feature that is constant on the training set
 * (std_f = 0, e.g. an always-black border pixel) is only centred. */
typedef struct {
  size_t n_features;
  double *mean;
  double *std; /* 1 where the training std was 0 */
} zpt_standardizer;

/* ZPT_EINVAL if train has no samples. */
int zpt_standardizer_fit(const zpt_dataset *train, zpt_standardizer **out);
/* ZPT_EINVAL if d->input_size != s->n_features. */
int zpt_standardizer_apply(const zpt_standardizer *s, zpt_dataset *d);
void zpt_standardizer_free(zpt_standardizer *s);

/* DFT features.  A sample's input x of length M (a flattened image) is
 * transformed to X[m] = (1/sqrt(M)) sum_t x[t] exp(-2 pi i m t / M) (the
 * unitary DFT, so sum_m |X[m]|^2 = sum_t x[t]^2), computed with GSL's
 * mixed-radix real FFT, and bins m = 1..K (0 Hz dropped, 1 <= K <= M - 1)
 * are emitted as 2K interleaved floats re X[1], im X[1], re X[2], ... —
 * the memory layout of K float complex values. */
typedef struct zpt_dft_encoder zpt_dft_encoder;

int zpt_dft_encoder_alloc(zpt_dft_encoder **out, size_t m, size_t k);
void zpt_dft_encoder_free(zpt_dft_encoder *e);
/* x: m floats; out: 2k floats. */
int zpt_dft_encode(zpt_dft_encoder *e, const float *x, float *out);

/* A new data set whose inputs are the K-bin DFT features (input_size 2K)
 * of d's inputs, with d's targets and metadata (image shape cleared). */
int zpt_dft_features(const zpt_dataset *d, size_t k, const char *name,
                     zpt_dataset **out);

#ifdef __cplusplus
}
#endif
#endif
