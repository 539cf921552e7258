/* Seeded, deterministic task generators: the copying memory task, optical
 * channel equalization (nonlinear ISI benchmark, IM/DD fibre link) and the
 * toy linear regression.
 *
 * All randomness comes from streams (seed, ZPT_STREAM_DATA, tag, j) with the
 * tag below, so a generated data set is a pure function of its parameters
 * and seed, and different generators never share a stream.
 */
#ifndef ZPT_DATA_GENERATORS_H
#define ZPT_DATA_GENERATORS_H

#include "core/complex.h"
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Third coordinate (i) of the generators' streams (4: data/synthetic.h). */
enum { ZPT_DATA_COPYING = 1, ZPT_DATA_ISI = 2, ZPT_DATA_IMDD = 3 };

/* ---- Copying memory task (Arjovsky, Shah & Bengio 2016) -----------------
 * Categories: 0 = blank, 1..8 = symbols, 9 = delimiter.  A sample of delay
 * T has seq_len = T + 20 steps: input = 10 random symbols, T - 1 blanks, the
 * delimiter, 10 blanks, each step one-hot over the 10 categories
 * (input_size = 10 (T + 20), step major); target = T + 10 blanks, then the
 * 10 symbols (target_size = T + 20, class indices 0..8, n_classes = 9:
 * the delimiter is never a target).  Sample k's symbols come from the stream
 * (seed, ZPT_STREAM_DATA, ZPT_DATA_COPYING, k). */
#define ZPT_COPY_BLANK 0
#define ZPT_COPY_DELIMITER 9
#define ZPT_COPY_SYMBOLS 8     /* symbols 1..8 */
#define ZPT_COPY_CATEGORIES 10 /* one-hot width of an input step */
#define ZPT_COPY_CLASSES 9     /* target classes: blank + 8 symbols */
#define ZPT_COPY_LENGTH 10     /* symbols to remember */

/* The memoryless baseline: 10 ln 8 / (T + 20) nats per step, the mean
 * cross-entropy of predicting blank until the delimiter and then a uniform
 * guess over the 8 symbols. */
double zpt_copying_baseline(size_t delay);

/* n samples of delay T >= 1 (ZPT_EINVAL otherwise). */
int zpt_copying_generate(size_t n, size_t delay, uint64_t seed,
                         zpt_dataset **out);

/* Sample k alone, identical to sample k of zpt_copying_generate(…, seed):
 * input receives 10 (T + 20) floats, target T + 20.  For fresh batches on
 * the fly without holding a whole data set (one-hot inputs of long delays
 * are large: n (T + 20) 10 floats). */
int zpt_copying_sample(uint64_t seed, size_t delay, size_t k, float *input,
                       float *target);

/* ---- Optical channel equalization ---------------------------------------
 * Transmitted symbols are 4-PAM classes c in {0, 1, 2, 3}, drawn uniformly
 * from the stream (seed, ZPT_STREAM_DATA, tag, 0); the noise comes from
 * (seed, ZPT_STREAM_DATA, tag, 1), so changing the SNR keeps the symbols.
 * Sample k is anchored at symbol time n_k: its input is the window of
 * received samples r(n_k + j - centre), j = 0..taps-1, and its target is the
 * class of the symbol d(n_k - delay).  Noise: white Gaussian of variance
 * var(r) / 10^(snr_db / 10), var(r) the empirical variance of the noiseless
 * received samples; snr_db = INFINITY gives no noise.
 *
 * (a) ZPT_CHANNEL_ISI (Jaeger & Haas 2004): d(n) = 2c - 3 in {-3,-1,1,3},
 *   q(n) = 0.08 d(n+2) - 0.12 d(n+1) + d(n) + 0.18 d(n-1) - 0.1 d(n-2)
 *        + 0.091 d(n-3) - 0.05 d(n-4) + 0.04 d(n-5) + 0.03 d(n-6)
 *        + 0.01 d(n-7),
 *   r(n) = u(n) = q(n) + 0.036 q(n)^2 - 0.011 q(n)^3 + noise.
 *   Defaults: taps 8, centre 7 (the window ends at u(n)), delay 2 (target
 *   d(n-2), the benchmark's).  Anchors n_k = P + k of a finite symbol
 *   sequence with P = max(centre + 7, delay), so no window leaves it.
 *
 * (b) ZPT_CHANNEL_IMDD: an intensity-modulation / direct-detection link.
 *   The field is E(t) = (2c - 3) + bias, NRZ (held for sps samples per
 *   symbol, sample rate fs = baud * sps); chromatic dispersion multiplies
 *   its spectrum by H(f) = exp(i pi lambda^2 D L f^2 / c0) (c0 the speed of
 *   light); the photodiode gives |E|^2, sampled at the middle of each symbol
 *   (sample m * sps + sps / 2), plus noise.  The symbol sequence has
 *   M = the next power of two >= n + taps symbols and is treated as
 *   periodic (the FFT filter is circular), so every window is valid:
 *   n_k = k and indices are taken modulo M.  Defaults: 112 GBd, 1270 nm,
 *   D = -5 ps/(nm km), L = 4 km, bias 4, sps 4, taps 9, centre 4, delay 0.
 *
 * Inputs are the received samples as floats; targets are classes 0..3
 * (kind ZPT_TASK_CLASSIFICATION, n_classes 4, target_size 1). */
typedef struct {
  zpt_channel_kind channel;
  size_t n;           /* samples */
  double snr_db;      /* INFINITY = noiseless */
  size_t taps;        /* window length (input_size) */
  size_t centre;      /* window position of r(n_k), < taps */
  size_t delay;       /* target = symbol at n_k - delay */
  uint64_t seed;
  /* IM/DD only (SI units) */
  double baud;        /* symbols per second */
  double wavelength;  /* m */
  double dispersion;  /* D, s/m^2 (1 ps/(nm km) = 1e-6 s/m^2) */
  double length;      /* fibre length L, m */
  double bias;        /* added to the field levels -3, -1, 1, 3 */
  size_t sps;         /* samples per symbol of the simulated waveform */
} zpt_eq_config;

#define ZPT_SPEED_OF_LIGHT 299792458.0
/* Hard-decision FEC threshold on the symbol error rate (reference line). */
#define ZPT_FEC_SER_THRESHOLD 3.8e-3

/* The defaults above for the given channel (n = 10000, snr_db = 20, seed 1). */
zpt_eq_config zpt_eq_defaults(zpt_channel_kind channel);

int zpt_eq_generate(const zpt_eq_config *cfg, zpt_dataset **out);

/* The transmitted classes: len values in 0..3 from the stream
 * (seed, ZPT_STREAM_DATA, tag, 0), tag ZPT_DATA_ISI or ZPT_DATA_IMDD. */
int zpt_eq_symbols(uint64_t seed, uint64_t tag, size_t len, unsigned char *cls);

/* The noiseless ISI channel on levels d[0..len): u[n] for 7 <= n < len - 2
 * (the range where every d(n-7)..d(n+2) exists); the other entries of u are
 * set to NAN. */
void zpt_isi_channel(const double *d, size_t len, double *u);

/* Applies chromatic dispersion H(f) = exp(i pi lambda^2 D L f^2 / c0) to n
 * field samples taken at sample_rate (circular, via GSL's mixed-radix
 * complex FFT; f_k = k fs / n for k <= n/2, (k - n) fs / n above). */
int zpt_dispersion_apply(zpt_cdouble *field, size_t n, double sample_rate,
                         double wavelength, double dispersion, double length);

/* ---- Toy linear regression (data.task = toy) ----------------------------
 * y = W* x + b* + noise with x ~ N(0, I_d), W* ~ N(0, 1/d) (m x d),
 * b* ~ N(0, 0.1^2), noise ~ N(0, noise^2) per target: the true model from
 * the stream (seed, ZPT_STREAM_DATA, 0, 0), the training set's inputs then
 * noises from (seed, ZPT_STREAM_DATA, 1, 0), the test set's from
 * (seed, ZPT_STREAM_DATA, 2, 0).  These streams predate the tags above and
 * are kept so that a toy run's checkpoint still evaluates on its own data;
 * the overlap with the copying task's sample 0 and the ISI symbols is
 * harmless, as a run generates one task's data.  Both sets are named "toy", kind ZPT_TASK_REGRESSION, input_size d,
 * target_size m, and have baseline_loss = zpt_zero_predictor_loss. */
typedef struct {
  size_t inputs, outputs;   /* d, m: 1 .. 4096 */
  size_t n_train, n_test;   /* 1 .. 2^24 each */
  double noise;             /* >= 0 */
  uint64_t seed;
} zpt_toy_config;

/* ZPT_EINVAL naming the data.* key when a size is out of range. */
int zpt_toy_generate(const zpt_toy_config *cfg, zpt_dataset **train, zpt_dataset **test);

/* The toy on a table (data.task = toy with data.path): a CSV of d inputs
 * then m targets per line (zpt_csv_load with n_targets = m, a header line
 * detected); the first n_train rows train, the next n_test rows test
 * (n_test 0: a quarter of the rows; n_train 0: the rows before the test
 * rows).  ZPT_EFORMAT naming the file when its columns are not d + m or it
 * has too few rows.  Sets baseline_loss as zpt_toy_generate does. */
int zpt_toy_load(const char *path, size_t inputs, size_t outputs, uint64_t n_train,
                 uint64_t n_test, zpt_dataset **train, zpt_dataset **test);

/* The mean squared error of the zero predictor on a regression set: the
 * mean over samples and targets of target^2 (the denominator of
 * train.metric = relative_loss); 0 for an empty set. */
double zpt_zero_predictor_loss(const zpt_dataset *d);

/* Class of the largest of each sample's n_classes scores (first on ties). */
void zpt_predict_classes(const float *scores, size_t n, size_t n_classes,
                         int *predicted);

/* Fraction of samples whose predicted class differs from the target (class
 * index stored as float); NAN for n = 0. */
double zpt_symbol_error_rate(const int *predicted, const float *targets, size_t n);

#ifdef __cplusplus
}
#endif
#endif
