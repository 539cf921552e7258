/* zoptic-mpi's shares of a call (src/mpi/share_split.c; no MPI needed):
 * every variation in exactly one share, each share in query order, the base
 * query on rank 0; by layers, the largest load (the deepest shared cost of
 * a share plus its costs) is the least of every cut of the variations
 * sorted by shared cost (brute force over all cuts for R = 2, 3), and on
 * the CNN's block-mode calls below that of contiguous ranges; the same
 * plan twice; contiguous ranges (the identity order) without query_at,
 * with by_layers off, for R = 1 and for one variation; a large per-variation
 * extra cost balances the counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mpi/share_split.c" /* internal to zoptic-mpi: compiled in */
#include "nn/builders.h"
#include "zoptic.h"

#define OK(x) ck_assert_msg((x) == ZPT_OK, "%s: %s", #x, zpt_error_message())

/* A model of L layers of the given flops: a variation perturbs the layer
 * `offset` (len > 0), the base (len == 0) none. */
enum { L = 4 };
static const double flops[L] = {60, 100, 5, 1};

static size_t layer_of(const zpt_variation *v) { return v->len ? v->offset : L; }

static double fake_cost(zpt_blackbox *bb, const zpt_variation *v) {
  double f = 0;
  for (size_t k = layer_of(v); k < L; k++)
    f += flops[k];
  return f;
}

static double fake_shared(zpt_blackbox *bb, const zpt_variation *v) {
  double f = 0;
  for (size_t k = 0; k < layer_of(v); k++)
    f += flops[k];
  return f;
}

static int fake_query_at(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                         size_t n, const uint64_t *q, const float *in, size_t batch,
                         float *out) {
  return ZPT_OK;
}

static const zpt_blackbox_type layered_type = {.name = "layered",
                                                .cost = fake_cost,
                                                .query_at = fake_query_at,
                                                .shared_cost = fake_shared};
static const zpt_blackbox_type cost_only_type = {.name = "cost only",
                                                 .cost = fake_cost,
                                                 .shared_cost = fake_shared};

/* Load of variations order[a..b) as the plan counts it. */
static double load_of(zpt_blackbox *bb, const zpt_variation *vars, const size_t *ord,
                      size_t a, size_t b, double extra) {
  double deepest = 0, sum = 0;
  for (size_t k = a; k < b; k++) {
    double s = fake_shared(bb, &vars[ord[k]]);
    deepest = s > deepest ? s : deepest;
    sum += fake_cost(bb, &vars[ord[k]]) + 1 + extra;
  }
  return b > a ? deepest + sum : 0;
}

static double max_load(zpt_blackbox *bb, const zpt_variation *vars, const zpt_share_plan *p,
                       double extra) {
  double m = 0;
  for (size_t r = 0; r < p->R; r++) {
    double l = load_of(bb, vars, zpt_share_order(p), p->bounds[r], p->bounds[r + 1], extra);
    m = l > m ? l : m;
  }
  return m;
}

/* Every variation once, shares increasing, bounds monotone and complete. */
static void check_partition(const zpt_share_plan *p, size_t n) {
  const size_t *ord = zpt_share_order(p);
  char seen[64] = {0};
  ck_assert_uint_eq(p->bounds[0], 0);
  ck_assert_uint_eq(p->bounds[p->R], n);
  for (size_t r = 0; r < p->R; r++) {
    ck_assert(p->bounds[r] <= p->bounds[r + 1]);
    for (size_t k = p->bounds[r]; k < p->bounds[r + 1]; k++) {
      ck_assert(ord[k] < n && !seen[ord[k]]);
      seen[ord[k]] = 1;
      if (k > p->bounds[r])
        ck_assert_msg(ord[k] > ord[k - 1], "share %zu not in query order", r);
    }
  }
}

/* n variations: the base, then layers cycling 0..L-1 from `start`. */
static void make_vars(zpt_variation *vars, size_t n, size_t start) {
  vars[0] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t v = 1; v < n; v++)
    vars[v] = (zpt_variation){(start + v * 3) % L, 1, 1.0f, NULL};
}

/* The least largest load over every cut of the shared-cost order into R
 * runs (R = 2, 3), by brute force. */
static double best_cut(zpt_blackbox *bb, const zpt_variation *vars, const size_t *sorted,
                       size_t n, size_t R, double extra) {
  double best = 1e300;
  for (size_t a = 0; a <= n; a++)
    for (size_t b = (R == 2 ? n : a); b <= n; b++) {
      double m = load_of(bb, vars, sorted, 0, a, extra);
      double l2 = load_of(bb, vars, sorted, a, b, extra), l3 = load_of(bb, vars, sorted, b, n, extra);
      m = l2 > m ? l2 : m;
      m = l3 > m ? l3 : m;
      best = m < best ? m : best;
    }
  return best;
}

START_TEST(test_layers_optimal) {
  zpt_blackbox bb = {.type = &layered_type};
  zpt_variation vars[40];
  for (size_t R = 2; R <= 3; R++)
    for (size_t n = 2; n <= 40; n += 3)
      for (size_t start = 0; start < L; start++)
        for (int e = 0; e < 2; e++) {
          double extra = e ? 7.5 : 0;
          make_vars(vars, n, start);
          zpt_share_plan p;
          OK(zpt_share_plan_init(&p, R));
          OK(zpt_share_plan_make(&p, &bb, vars, n, 1, 1, extra));
          ck_assert(p.layered);
          check_partition(&p, n);
          ck_assert_uint_eq(zpt_share_order(&p)[0], 0); /* the base: rank 0 */
          /* the variations by shared cost, deepest first, index next */
          size_t sorted[40];
          share_key keys[40];
          for (size_t v = 0; v < n; v++)
            keys[v] = (share_key){fake_shared(&bb, &vars[v]), v};
          qsort(keys, n, sizeof *keys, cmp_key);
          for (size_t v = 0; v < n; v++)
            sorted[v] = keys[v].v;
          double got = max_load(&bb, vars, &p, extra), best = best_cut(&bb, vars, sorted, n, R, extra);
          ck_assert_msg(got <= best * (1 + 1e-6), "R = %zu, n = %zu: largest load %g, best cut %g",
                        R, n, got, best);
          /* the same plan again */
          zpt_share_plan p2;
          OK(zpt_share_plan_init(&p2, R));
          OK(zpt_share_plan_make(&p2, &bb, vars, n, 1, 1, extra));
          ck_assert(!memcmp(p.bounds, p2.bounds, (R + 1) * sizeof *p.bounds));
          ck_assert(!memcmp(p.order.data, p2.order.data, n * sizeof(size_t)));
          zpt_share_plan_release(&p);
          zpt_share_plan_release(&p2);
        }
}
END_TEST

/* Contiguous ranges: the identity order; the base and the perturbed
 * variations split as before (by cost, base on rank 0 on top). */
START_TEST(test_runs) {
  zpt_blackbox layered = {.type = &layered_type}, cost_only = {.type = &cost_only_type};
  zpt_variation vars[21];
  make_vars(vars, 21, 1);
  struct {
    zpt_blackbox *bb;
    size_t R, n;
    int by_layers;
  } cases[] = {{&cost_only, 2, 21, 1}, {&layered, 2, 21, 0}, {&layered, 1, 21, 1},
               {&layered, 3, 1, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    zpt_share_plan p;
    OK(zpt_share_plan_init(&p, cases[c].R));
    OK(zpt_share_plan_make(&p, cases[c].bb, vars, cases[c].n, 1, cases[c].by_layers, 0));
    ck_assert_msg(!p.layered, "case %zu split by layers", c);
    check_partition(&p, cases[c].n);
    for (size_t v = 0; v < cases[c].n; v++)
      ck_assert_uint_eq(zpt_share_order(&p)[v], v);
    zpt_share_plan_release(&p);
  }
}
END_TEST

/* A per-variation cost far above the layers' makes the shares even by
 * count (21 variations on 3 ranks: 7 each). */
START_TEST(test_extra_balances_counts) {
  zpt_blackbox bb = {.type = &layered_type};
  zpt_variation vars[21];
  make_vars(vars, 21, 2);
  zpt_share_plan p;
  OK(zpt_share_plan_init(&p, 3));
  OK(zpt_share_plan_make(&p, &bb, vars, 21, 1, 1, 1e6));
  for (size_t r = 0; r < 3; r++)
    ck_assert_uint_eq(p.bounds[r + 1] - p.bounds[r], 7);
  zpt_share_plan_release(&p);
}
END_TEST

/* The CNN's block-mode call (the base and 20 perturbations of blocks of
 * <= 429 parameters cycling over theta): by layers, the largest load by the
 * simulated model's costs is well below that of contiguous ranges (which
 * put a dense-layer variation on every rank: every rank computes nearly
 * all base activations). */
START_TEST(test_cnn_call) {
  zpt_cnn_config c = zpt_cnn_default();
  zpt_model *m = zpt_cnn_alloc(&c);
  ck_assert(m != NULL);
  zpt_blackbox *bb = zpt_model_blackbox(m, 0);
  ck_assert(bb != NULL);
  const size_t N = zpt_model_n_params(m), nb = (N + 428) / 429;
  zpt_variation vars[21];
  vars[0] = (zpt_variation){0, 0, 0.0f, NULL};
  for (size_t q = 0; q < 20; q++) {
    size_t b = (q * 7) % nb, off = b * N / nb, end = (b + 1) * N / nb;
    vars[q + 1] = (zpt_variation){off, end - off, 1.0f, NULL};
  }
  double worst[2];
  for (int layers = 0; layers < 2; layers++) {
    zpt_share_plan p;
    OK(zpt_share_plan_init(&p, 2));
    OK(zpt_share_plan_make(&p, bb, vars, 21, 1, layers, 0));
    ck_assert_int_eq(p.layered, layers);
    check_partition(&p, 21);
    worst[layers] = 0;
    for (size_t r = 0; r < 2; r++) {
      double deepest = 0, sum = 0;
      for (size_t k = p.bounds[r]; k < p.bounds[r + 1]; k++) {
        const zpt_variation *v = &vars[zpt_share_order(&p)[k]];
        double s = bb->type->shared_cost(bb, v);
        deepest = s > deepest ? s : deepest;
        sum += bb->type->cost(bb, v) + 1;
      }
      worst[layers] = deepest + sum > worst[layers] ? deepest + sum : worst[layers];
    }
    zpt_share_plan_release(&p);
  }
  ck_assert_msg(worst[1] < 0.95 * worst[0], "by layers %g, by ranges %g", worst[1], worst[0]);
  zpt_blackbox_free(bb);
  zpt_model_free(m);
}
END_TEST

static Suite *split_suite(void) {
  Suite *s = suite_create("share_split");
  TCase *t = tcase_create("split");
  tcase_add_test(t, test_layers_optimal);
  tcase_add_test(t, test_runs);
  tcase_add_test(t, test_extra_balances_counts);
  tcase_add_test(t, test_cnn_call);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(split_suite()); }
