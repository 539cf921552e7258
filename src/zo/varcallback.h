/* A black box whose query is a plain C callback with a flat signature: the
 * variation descriptors are handed over as parallel arrays (offset, len,
 * scale, delta pointer per variation), never as copies of theta.  This is
 * how a foreign caller (Python through cffi, python/zoptic) provides a box:
 * the callback sees only scalars and pointers, no struct layout.
 *
 * zo/callback.h's zpt_blackbox_callback is the simpler contract for C
 * users (one full theta per call, materialised by the adapter); this one
 * hands over the trainer's descriptors of a whole call at once.
 *
 * The callback returns ZPT_OK, or a negative zoptic status after recording
 * a message with zpt_fail (a status without a message is reported as
 * "black box '<name>': failed with <status>").
 */
#ifndef ZPT_ZO_VARCALLBACK_H
#define ZPT_ZO_VARCALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*zpt_vars_query_fn)(void *user, const float *theta,
                                 size_t n_params, size_t n_vars,
                                 const size_t *offsets, const size_t *lens,
                                 const float *scales,
                                 const float *const *deltas,
                                 const float *inputs, size_t batch,
                                 float *outputs, uint64_t first_query);

/* A black box of the given sizes (each >= 1; max_batch / max_vars 0 =
 * unlimited) calling fn(user, ...) for every query.  `name` (copied, at
 * most 63 characters kept) appears in error messages.  Freed with
 * zpt_blackbox_free (user is not freed). */
int zpt_blackbox_vars_callback(zpt_blackbox **out, const char *name, size_t n_params,
                               size_t input_size, size_t output_size, size_t max_batch,
                               size_t max_vars, zpt_vars_query_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
