/* A small deterministic chip model: the built-in model source of the
 * reference driver (zoptic-chipd --model linear:...) and of the tests.
 *
 *   y[o] = gain[o] * tanh(b[o] + sum_i W[o][i] x[i])  (+ read-out noise)
 *
 * theta = [W (OUT x IN, row-major), b (OUT)], so n_params = OUT*(IN+1).
 * gain[o] in [0.9, 1.1] is drawn from stream (seed, ZPT_STREAM_CHIP, 0, 0):
 * the chip's fixed, unknown fabrication error.  With noise_sigma > 0 each
 * output gets N(0, sigma^2) read-out noise; query v draws it from stream
 * (seed, ZPT_STREAM_NOISE, first_query + v, 0), sample by sample, so a run
 * is reproducible.  Variations are applied exactly as variation.h defines
 * them (theta[k] + scale * delta[k - offset], in float).  query() uses a
 * workspace inside the black box: one caller at a time.
 */
#ifndef ZPT_LINEAR_CHIP_H
#define ZPT_LINEAR_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

int zpt_linear_chip_alloc(size_t in, size_t out, uint64_t seed, double noise_sigma,
                          zpt_blackbox **bb);

/* Builds one from "linear:IN:OUT:SEED[:NOISE]", e.g. "linear:8:4:1" or
 * "linear:8:4:1:0.01"; a malformed spec fails (ZPT_EINVAL) naming the field. */
int zpt_linear_chip_from_spec(const char *spec, zpt_blackbox **bb);

#ifdef __cplusplus
}
#endif
#endif
