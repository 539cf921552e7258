/* How zoptic-mpi shares a batched call's variations out among R ranks
 * (mpi_box.c; docs/distributed.md, "What is exchanged").  No MPI here: a
 * plan is a function of the call's variations, R, the local box's costs
 * and the `extra` cost per variation the caller passes, so every rank
 * computes every rank's share. */
#ifndef ZPT_MPI_SHARE_SPLIT_H
#define ZPT_MPI_SHARE_SPLIT_H

#include <stddef.h>

#include "core/alloc.h"
#include "zo/blackbox.h"

typedef struct {
  size_t R;
  /* rank r evaluates variations order[bounds[r] .. bounds[r + 1]), each
   * share in increasing order (by contiguous ranges: order is the identity) */
  size_t *bounds;   /* R + 1 */
  zpt_buffer order; /* n */
  double *loads;    /* R: by layers, each rank's load by the box's costs
                       alone (without extra) */
  int layered;      /* the last plan was made by layers */
  zpt_buffer costs, keys; /* scratch */
} zpt_share_plan;

int zpt_share_plan_init(zpt_share_plan *p, size_t R);
void zpt_share_plan_release(zpt_share_plan *p);

/* The shares of the n variations of a call on `box` (base: variation 0 is
 * the base query).  By layers when by_layers and the box states cost and
 * shared_cost and has query_at (and R > 1, n > 1), each variation costing
 * `extra` more; else by contiguous ranges. */
int zpt_share_plan_make(zpt_share_plan *p, zpt_blackbox *box, const zpt_variation *vars,
                        size_t n, int base, int by_layers, double extra);

static inline const size_t *zpt_share_order(const zpt_share_plan *p) {
  return (const size_t *)p->order.data;
}

#endif
