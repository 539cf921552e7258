/* The flat parameter store: one contiguous float vector theta of length N,
 * with named views (name, shape, offset) that layers register.
 *
 * theta is what zeroth-order optimisation perturbs, what Adam updates with a
 * single loop over N, and what checkpoints save (one HDF5 dataset per view).
 * Layers keep OFFSETS into theta, never pointers, so the store may grow
 * (realloc) while a model is being built.  Views are appended one after the
 * other: they never overlap and together they cover theta exactly.
 */
#ifndef ZPT_PARAMS_H
#define ZPT_PARAMS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZPT_VIEW_NAME_MAX 64
#define ZPT_VIEW_MAX_DIMS 4

typedef struct {
  char name[ZPT_VIEW_NAME_MAX]; /* e.g. "conv1.weight", "mesh2.phase" */
  int ndim;
  size_t shape[ZPT_VIEW_MAX_DIMS];
  size_t offset; /* first element in theta */
  size_t size;   /* product of shape */
} zpt_view;

typedef struct {
  float *theta;   /* n_params values (aligned), NULL while empty */
  size_t n_params;
  zpt_view *views;
  size_t n_views;
  size_t cap_params, cap_views;
} zpt_params;

zpt_params *zpt_params_alloc(void);
void zpt_params_free(zpt_params *p);

/* Appends a view of the given shape (every dimension >= 1) under a unique,
 * non-empty name of at most ZPT_VIEW_NAME_MAX-1 characters made of
 * [A-Za-z0-9_.-].  The new values are zero.  On success *offset (if not
 * NULL) receives the view's first index into theta. */
int zpt_params_add(zpt_params *p, const char *name, int ndim,
                   const size_t *shape, size_t *offset);

/* The view called `name`, or NULL (no error recorded). */
const zpt_view *zpt_params_find(const zpt_params *p, const char *name);

/* As zpt_params_find, but records ZPT_ENOTFOUND naming the view. */
int zpt_params_lookup(const zpt_params *p, const char *name,
                      const zpt_view **view);

/* Index of the view that contains theta[i] (i < n_params). */
size_t zpt_params_view_of(const zpt_params *p, size_t i);

/* Pointer to the first element of a view's values. */
static inline float *zpt_view_data(const zpt_params *p, const zpt_view *v) {
  return p->theta + v->offset;
}

/* Formats a view's shape as "6x1x5x5" into buf. */
void zpt_view_shape_str(const zpt_view *v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
