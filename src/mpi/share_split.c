/* Shares of a batched call for zoptic-mpi (share_split.h). */
#include "mpi/share_split.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* The shares of a call's n variations, contiguous ranges in rank order
 * (bounds[0..size], order the identity).  A base query (variation 0, the
 * unperturbed theta: `base`) goes to rank 0 on top of its share of the
 * others: every rank computes the base activations its variations start
 * from anyway (prefix reuse, src/nn/model_forward.c), so on a simulated
 * chip the base output costs little more (measured: CNN of
 * bench/mpi_scaling.sh, queries 11/10 of a call of 21 to ranks 0/1 made
 * rank 0 wait ~0.18 ms per iteration for rank 1).  The others are split by
 * the inner box's cost of each variation (blackbox.h, cost: the simulated
 * model's flops from the first layer a variation perturbs), each boundary
 * where the running cost is nearest r/R of the total; without a cost,
 * evenly by count.  The split for chips and for boxes without query_at. */
static void split_runs(zpt_share_plan *p, zpt_blackbox *in, const zpt_variation *vars,
                       size_t n, int base) {
  const size_t R = p->R, skip = base ? 1 : 0, m = n - skip;
  size_t *bd = p->bounds;
  bd[0] = 0;
  bd[R] = n;
  if (!in->type->cost || m == 0) {
    for (size_t r = 1; r < R; r++)
      bd[r] = skip + m * r / R;
    return;
  }
  double *w = p->costs.data, total = 0;
  for (size_t v = 0; v < m; v++) {
    double c = in->type->cost(in, &vars[skip + v]);
    w[v] = (c > 0 ? c : 0) + 1; /* + 1: a variation is never free */
    total += w[v];
  }
  double acc = 0;
  size_t v = 0;
  for (size_t r = 1; r < R; r++) {
    double target = total * (double)r / (double)R;
    while (v < m && acc + 0.5 * w[v] < target)
      acc += w[v++];
    bd[r] = skip + v;
  }
}

typedef struct {
  double shared; /* the base activations the variation needs */
  size_t v;
} share_key;

/* Deepest shared work first, then by index: a total order. */
static int cmp_key(const void *x, const void *y) {
  const share_key *a = x, *b = y;
  if (a->shared != b->shared)
    return a->shared > b->shared ? -1 : 1;
  return (a->v > b->v) - (a->v < b->v);
}

static int cmp_size(const void *x, const void *y) {
  size_t a = *(const size_t *)x, b = *(const size_t *)y;
  return (a > b) - (a < b);
}

/* Ranges of keys[0..n) of load at most T, greedily: a range's load is its
 * first key's shared cost (the deepest: keys are sorted) plus the costs of
 * its members, each with `extra` added.  Returns the number of ranges; with
 * bd, their bounds. */
static size_t ranges_within(const share_key *keys, const double *cost, double extra,
                            size_t n, double T, size_t *bd, size_t max_ranges) {
  size_t ranges = 0;
  for (size_t i = 0; i < n;) {
    double load = keys[i].shared + cost[keys[i].v] + extra;
    size_t j = i + 1;
    while (j < n && load + cost[keys[j].v] + extra <= T)
      load += cost[keys[j++].v] + extra;
    if (bd && ranges < max_ranges)
      bd[ranges] = i;
    ranges++;
    i = j;
  }
  return ranges;
}

/* The split by layers, when the inner box states both costs and takes
 * non-consecutive queries (query_at): a process evaluating a set S of
 * variations pays max over S of their shared cost (the base activations
 * up to the deepest layer one of them starts from; the base query: the
 * whole forward) plus the sum of their costs.  With the variations sorted
 * by shared cost, deepest first, each rank takes a run of them: rank 0 the
 * base and the variations of the last layers (their base activations are
 * the base query's anyway), the last ranks the variations of the first
 * layers (which need few base activations) — instead of every rank
 * computing nearly all of them (the CNN: 0.33 ms of 2.8 per iteration).
 * The largest load T is the least for which the greedy runs fit in R
 * ranks (bisection); each share is then put in query order.  A function of
 * the call's variations, R and extra only. */
static int split_layers(zpt_share_plan *p, zpt_blackbox *in, const zpt_variation *vars,
                        size_t n, double extra) {
  const size_t R = p->R;
  ZPT_TRY(zpt_buffer_reserve(&p->keys, n * sizeof(share_key), "variation order"));
  share_key *keys = p->keys.data;
  double *cost = p->costs.data, lo = 0, hi = 0, deepest = 0;
  for (size_t v = 0; v < n; v++) {
    double c = in->type->cost(in, &vars[v]), sc = in->type->shared_cost(in, &vars[v]);
    cost[v] = (c > 0 ? c : 0) + 1; /* + 1: a variation is never free */
    keys[v] = (share_key){sc > 0 ? sc : 0, v};
    lo = keys[v].shared + cost[v] + extra > lo ? keys[v].shared + cost[v] + extra : lo;
    deepest = keys[v].shared > deepest ? keys[v].shared : deepest;
    hi += cost[v] + extra;
  }
  hi += deepest;
  qsort(keys, n, sizeof *keys, cmp_key);
  for (int it = 0; it < 60 && hi - lo > 1e-9 * hi; it++) {
    double mid = 0.5 * (lo + hi);
    if (ranges_within(keys, cost, extra, n, mid, NULL, 0) <= R)
      hi = mid;
    else
      lo = mid;
  }
  size_t *bd = p->bounds, *ord = p->order.data;
  size_t used = ranges_within(keys, cost, extra, n, hi, bd, R);
  for (size_t r = used; r <= R; r++)
    bd[r] = n;
  for (size_t r = 0; r < R; r++) { /* the loads by the box's costs alone */
    p->loads[r] = bd[r + 1] > bd[r] ? keys[bd[r]].shared : 0;
    for (size_t k = bd[r]; k < bd[r + 1]; k++)
      p->loads[r] += cost[keys[k].v];
  }
  for (size_t k = 0; k < n; k++)
    ord[k] = keys[k].v;
  for (size_t r = 0; r < R; r++)
    qsort(ord + bd[r], bd[r + 1] - bd[r], sizeof *ord, cmp_size);
  p->layered = 1;
  return ZPT_OK;
}

int zpt_share_plan_init(zpt_share_plan *p, size_t R) {
  memset(p, 0, sizeof *p);
  p->R = R;
  p->bounds = zpt_new_array(size_t, R + 1, "MPI shares");
  p->loads = zpt_doubles(R ? R : 1, "MPI share loads");
  if (!p->bounds || !p->loads) {
    zpt_share_plan_release(p);
    return ZPT_ENOMEM;
  }
  return ZPT_OK;
}

void zpt_share_plan_release(zpt_share_plan *p) {
  zpt_free(p->bounds);
  zpt_free(p->loads);
  zpt_buffer_release(&p->order);
  zpt_buffer_release(&p->costs);
  zpt_buffer_release(&p->keys);
  p->bounds = NULL;
  p->loads = NULL;
}

int zpt_share_plan_make(zpt_share_plan *p, zpt_blackbox *box, const zpt_variation *vars,
                        size_t n, int base, int by_layers, double extra) {
  ZPT_TRY(zpt_buffer_reserve(&p->order, (n ? n : 1) * sizeof(size_t), "variation shares"));
  ZPT_TRY(zpt_buffer_reserve(&p->costs, (n ? n : 1) * sizeof(double), "variation costs"));
  const zpt_blackbox_type *ty = box->type;
  p->layered = 0;
  if (by_layers && p->R > 1 && n > 1 && ty->cost && ty->shared_cost && ty->query_at)
    return split_layers(p, box, vars, n, extra > 0 ? extra : 0);
  size_t *ord = p->order.data;
  for (size_t v = 0; v < n; v++)
    ord[v] = v;
  split_runs(p, box, vars, n, base);
  return ZPT_OK;
}
