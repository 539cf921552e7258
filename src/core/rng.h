/* Explicit, seeded, savable random streams.
 *
 * A stream is a GSL generator (so every gsl_ran_* distribution works on it)
 * of zoptic's own type "zpt-xoshiro256**": 256 bits of state, period
 * 2^256 - 1, and a derivation that maps any tuple (run seed, purpose, i, j)
 * to an independent-looking starting state through SplitMix64 hashing.  That
 * is what makes the seed trick work: the perturbation u_q of iteration t is
 * regenerated anywhere from (seed, ZPT_STREAM_PERTURB, t, q) and never
 * stored.  A stream's whole state is four 64-bit words, saved and restored
 * exactly (checkpoints).  There is no hidden global generator.
 */
#ifndef ZPT_RNG_H
#define ZPT_RNG_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Purposes: the second coordinate of a derived stream.  Values are part of
 * the checkpoint/reproducibility contract: never renumber, only append. */
enum {
  ZPT_STREAM_INIT = 1,      /* parameter initialisation (i = layer index) */
  ZPT_STREAM_PERTURB = 2,   /* perturbation u_q: i = iteration, j = q */
  ZPT_STREAM_BATCH = 3,     /* mini-batch shuffling: i = epoch */
  ZPT_STREAM_BLOCK = 4,     /* Fisher block schedule */
  ZPT_STREAM_CHIP = 5,      /* fabrication errors of a simulated chip */
  ZPT_STREAM_NOISE = 6,     /* read-out noise: i = query index, j = variation */
  ZPT_STREAM_DATA = 7,      /* generated data sets (copying, equalization) */
  ZPT_STREAM_SPLIT = 8,     /* train/test splits */
  ZPT_STREAM_TEST = 9,      /* tests and benchmarks */
  ZPT_STREAM_USER = 100     /* first value free for users */
};

/* The generator type (usable with gsl_rng_alloc). */
extern const gsl_rng_type *zpt_rng_xoshiro;

#define ZPT_RNG_STATE_WORDS 4

/* A new stream derived from (seed, purpose, i, j); NULL on failure. */
gsl_rng *zpt_rng_alloc(uint64_t seed, uint64_t purpose, uint64_t i, uint64_t j);
void zpt_rng_free(gsl_rng *r);

/* Re-derives an existing zoptic stream in place (no allocation). */
void zpt_rng_derive(gsl_rng *r, uint64_t seed, uint64_t purpose, uint64_t i,
                    uint64_t j);

/* Copies the full state out / in.  zpt_rng_set_state fails (ZPT_EINVAL) on
 * the all-zero state, which xoshiro cannot leave, or on a non-zoptic
 * generator. */
int zpt_rng_get_state(const gsl_rng *r, uint64_t state[ZPT_RNG_STATE_WORDS]);
int zpt_rng_set_state(gsl_rng *r, const uint64_t state[ZPT_RNG_STATE_WORDS]);

/* Raw 64-bit output. */
uint64_t zpt_rng_u64(gsl_rng *r);

/* Fills out[0..n) with N(0, sigma^2) samples (ziggurat). */
void zpt_rng_gaussians(gsl_rng *r, float *out, size_t n, double sigma);

/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t zpt_rng_below(gsl_rng *r, uint64_t n);

/* A uniformly random permutation of 0..n-1 (Fisher-Yates). */
void zpt_rng_permutation(gsl_rng *r, size_t *perm, size_t n);

/* SplitMix64 finaliser: a good 64-bit mixing function. */
uint64_t zpt_mix64(uint64_t x);

#ifdef __cplusplus
}
#endif
#endif
