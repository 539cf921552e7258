#include "core/rng.h"

#include <string.h>

#include <gsl/gsl_randist.h>

#include "core/status.h"

typedef struct {
  uint64_t s[ZPT_RNG_STATE_WORDS];
} xoshiro_state;

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t next(xoshiro_state *st) {
  uint64_t *s = st->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t zpt_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static void seed_state(xoshiro_state *st, uint64_t key) {
  /* SplitMix64 stream from the key fills the 256-bit state, as
   * recommended by the xoshiro authors. */
  uint64_t x = key;
  for (int i = 0; i < ZPT_RNG_STATE_WORDS; i++) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    st->s[i] = z ^ (z >> 31);
  }
  if (!(st->s[0] | st->s[1] | st->s[2] | st->s[3]))
    st->s[0] = 1;
}

static void xo_set(void *vstate, unsigned long seed) {
  seed_state(vstate, zpt_mix64((uint64_t)seed));
}

/* GSL wants outputs in [min, max]; we hand out 32-bit words so that
 * gsl_rng_uniform_int and friends see a full range. */
static unsigned long xo_get(void *vstate) {
  return (unsigned long)(next(vstate) >> 32);
}

static double xo_get_double(void *vstate) {
  return (double)(next(vstate) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {
    "zpt-xoshiro256**", 0xffffffffUL, 0, sizeof(xoshiro_state),
    &xo_set, &xo_get, &xo_get_double};

const gsl_rng_type *zpt_rng_xoshiro = &xoshiro_type;

static int is_zoptic(const gsl_rng *r) { return r && r->type == &xoshiro_type; }

static uint64_t derive_key(uint64_t seed, uint64_t purpose, uint64_t i,
                           uint64_t j) {
  /* Chain the coordinates through the mixer; each step is a bijection of
   * the running hash xor'ed with a mixed coordinate, so distinct tuples give
   * distinct keys except with probability ~2^-64. */
  uint64_t h = zpt_mix64(seed ^ 0x5a0b7c1d2e3f4a5bULL);
  h = zpt_mix64(h ^ zpt_mix64(purpose + 0x1111111111111111ULL));
  h = zpt_mix64(h ^ zpt_mix64(i + 0x2222222222222222ULL));
  h = zpt_mix64(h ^ zpt_mix64(j + 0x3333333333333333ULL));
  return h;
}

gsl_rng *zpt_rng_alloc(uint64_t seed, uint64_t purpose, uint64_t i, uint64_t j) {
  gsl_rng *r = gsl_rng_alloc(zpt_rng_xoshiro);
  if (!r) {
    zpt_fail(ZPT_ENOMEM, "out of memory allocating a random stream");
    return NULL;
  }
  zpt_rng_derive(r, seed, purpose, i, j);
  return r;
}

void zpt_rng_free(gsl_rng *r) {
  if (r)
    gsl_rng_free(r);
}

void zpt_rng_derive(gsl_rng *r, uint64_t seed, uint64_t purpose, uint64_t i,
                    uint64_t j) {
  seed_state(r->state, derive_key(seed, purpose, i, j));
}

int zpt_rng_get_state(const gsl_rng *r, uint64_t state[ZPT_RNG_STATE_WORDS]) {
  if (!is_zoptic(r))
    return zpt_fail(ZPT_EINVAL, "random stream is not of type %s", xoshiro_type.name);
  memcpy(state, ((const xoshiro_state *)r->state)->s, sizeof(xoshiro_state));
  return ZPT_OK;
}

int zpt_rng_set_state(gsl_rng *r, const uint64_t state[ZPT_RNG_STATE_WORDS]) {
  if (!is_zoptic(r))
    return zpt_fail(ZPT_EINVAL, "random stream is not of type %s", xoshiro_type.name);
  if (!(state[0] | state[1] | state[2] | state[3]))
    return zpt_fail(ZPT_EINVAL, "random stream state: all four words are zero, "
                                "which is not a valid xoshiro256** state");
  memcpy(((xoshiro_state *)r->state)->s, state, sizeof(xoshiro_state));
  return ZPT_OK;
}

uint64_t zpt_rng_u64(gsl_rng *r) {
  if (is_zoptic(r))
    return next(r->state);
  return ((uint64_t)gsl_rng_get(r) << 32) ^ (uint64_t)gsl_rng_get(r);
}

void zpt_rng_gaussians(gsl_rng *r, float *out, size_t n, double sigma) {
  for (size_t k = 0; k < n; k++)
    out[k] = (float)gsl_ran_gaussian_ziggurat(r, sigma);
}

uint64_t zpt_rng_below(gsl_rng *r, uint64_t n) {
  if (n <= 1)
    return 0;
  /* Lemire's nearly-divisionless bounded integers, 64-bit version with
   * rejection of the biased zone. */
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = zpt_rng_u64(r);
    if (x >= threshold)
      return x % n;
  }
}

void zpt_rng_permutation(gsl_rng *r, size_t *perm, size_t n) {
  for (size_t k = 0; k < n; k++)
    perm[k] = k;
  for (size_t k = n; k > 1; k--) {
    size_t m = (size_t)zpt_rng_below(r, k);
    size_t t = perm[k - 1];
    perm[k - 1] = perm[m];
    perm[m] = t;
  }
}
