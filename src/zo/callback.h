/* Your own function as the black box.
 *
 * zpt_blackbox_callback wraps a plain function
 *
 *     int fn(const float *theta, const float *inputs, size_t batch,
 *            float *outputs, void *user);
 *
 * that evaluates ONE parameter setting theta (n_params values) on `batch`
 * inputs (batch x input_size floats) and writes batch x output_size floats,
 * returning 0 (ZPT_OK) or a non-zero status.  The adapter turns each of the
 * trainer's variations (base point, perturbations, Jacobian coordinates)
 * into a full theta in its own scratch vector and calls fn once per
 * variation, in order, from the calling thread.  A non-zero return stops
 * the query: ZPT_EBACKEND (or fn's own negative zoptic status) with a
 * message naming the variation, or the message fn recorded with zpt_fail.
 *
 * The function need not be a neural network: outputs are whatever the loss
 * compares with the targets — e.g. the residuals r(theta) of a least-squares
 * problem with zero targets and zpt_loss_mse(), which makes the loss
 * (1/M) sum r_k^2 and ZO-NP's Fisher blocks the Gauss-Newton blocks J^T J.
 *
 * Ownership: the adapter owns only its scratch; zpt_blackbox_free releases
 * it.  `user` is passed through untouched and must outlive the adapter.
 */
#ifndef ZPT_ZO_CALLBACK_H
#define ZPT_ZO_CALLBACK_H

#include <stddef.h>

#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*zpt_eval_fn)(const float *theta, const float *inputs, size_t batch,
                           float *outputs, void *user);

/* A black box over fn with the given sizes (n_params, input_size and
 * output_size >= 1).  NULL (message in zpt_error_message) on failure. */
zpt_blackbox *zpt_blackbox_callback(zpt_eval_fn fn, void *user, size_t n_params,
                                    size_t input_size, size_t output_size);

#ifdef __cplusplus
}
#endif
#endif
