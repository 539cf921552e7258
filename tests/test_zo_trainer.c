/* The trainer: exact query accounting for every method and mode, the
 * budget, determinism, bit-identical resume from checkpoints, evaluation,
 * and every error path. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zoptic.h"

enum { D = 6, C = 3, NP = C * (D + 1), NS = 40, BATCH = 8 };
/* the perturbation methods: ZO-I, ZO-co, ZO-NP and the reading list's
 * zo-sparse, zo-guided, zo-adapt (same estimator and optimizer) */
enum { N_METHODS = ZPT_ZO_ADAPT + 1 };

/* A small classification data set (deterministic). */
static float X[NS * D], Y[NS];

static void make_data(void) {
  gsl_rng *r = zpt_rng_alloc(9, ZPT_STREAM_TEST, 0, 0);
  for (size_t i = 0; i < NS; i++) {
    double s = 0;
    for (size_t k = 0; k < D; k++) {
      X[i * D + k] = (float)(2 * gsl_rng_uniform(r) - 1);
      s += X[i * D + k] * (k % 2 ? 1.0 : -0.5);
    }
    Y[i] = s > 0.3 ? 2.0f : s < -0.3 ? 0.0f : 1.0f;
  }
  zpt_rng_free(r);
}

static const float *bx(uint64_t it) { return X + (it % (NS / BATCH)) * BATCH * D; }
static const float *by(uint64_t it) { return Y + (it % (NS / BATCH)) * BATCH; }

static zpt_zo_config cfg_for(zpt_zo_method m, zpt_perturb_mode mode) {
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_xent(C);
  c.method = m;
  c.mode = mode;
  c.q = 5;
  c.n_max = 8; /* 21 parameters -> 3 blocks of 7 */
  c.t_ud = 4;
  c.optim.lr = 1e-2;
  return c;
}

static void theta0(float *th) {
  for (size_t k = 0; k < NP; k++)
    th[k] = 0.1f * (float)sin(1.0 + k);
}

static int run(zpt_trainer *t, uint64_t from, uint64_t to) {
  for (uint64_t it = from; it < to; it++) {
    int rc = zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL);
    if (rc)
      return rc;
  }
  return ZPT_OK;
}

START_TEST(test_accounting) {
  make_data();
  float th[NP];
  theta0(th);
  for (int m = 0; m < N_METHODS; m++)
    for (int mode = 0; mode < 2; mode++)
      for (int diff = 0; diff < 2; diff++) {
        zpt_blackbox *bb = zpt_testbox_softmax(D, C);
        bb->max_vars = (m + mode + diff) % 2 ? 3 : 0; /* chunked calls too */
        zpt_zo_config c = cfg_for((zpt_zo_method)m, (zpt_perturb_mode)mode);
        c.diff = (zpt_diff_kind)diff;
        zpt_trainer *t;
        ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
        const uint64_t iters = 13;
        uint64_t sum_nb = 0, updates = 0;
        for (uint64_t it = 0; it < iters; it++) {
          zpt_iter_info info;
          uint64_t predicted = zpt_trainer_next_cost(t);
          ck_assert_int_eq(zpt_trainer_iterate(t, bx(it), by(it), BATCH, &info),
                           ZPT_OK);
          ck_assert_uint_eq(info.queries, predicted);
          ck_assert(isfinite(info.loss));
          if (info.fisher_updated) {
            ck_assert_int_eq(m, ZPT_ZO_NP);
            ck_assert_uint_eq(it % c.t_ud, 0);
            sum_nb += zpt_block_len(zpt_trainer_blocks(t), info.fisher_block);
            updates++;
          }
        }
        const zpt_zo_counters *k = zpt_trainer_counters(t);
        const uint64_t Q = c.q;
        ck_assert_uint_eq(k->iterations, iters);
        ck_assert_uint_eq(updates, m == ZPT_ZO_NP ? 4 : 0); /* t = 0,4,8,12 */
        ck_assert_uint_eq(k->fisher_updates, updates);
        ck_assert_uint_eq(k->jacobian_queries, sum_nb);
        if (diff == ZPT_DIFF_FORWARD) {
          ck_assert_uint_eq(k->base_queries, iters);
          ck_assert_uint_eq(k->perturbed_queries, Q * iters);
          ck_assert_uint_eq(k->queries, (Q + 1) * iters + sum_nb);
        } else {
          ck_assert_uint_eq(k->base_queries, updates);
          ck_assert_uint_eq(k->perturbed_queries, 2 * Q * iters);
          ck_assert_uint_eq(k->queries, 2 * Q * iters + updates + sum_nb);
        }
        ck_assert_uint_eq(k->queries, k->base_queries + k->perturbed_queries +
                                          k->jacobian_queries);
        ck_assert_uint_eq(k->sample_forwards, k->queries * BATCH);
        /* the black box saw exactly these queries, numbered 0, 1, 2, ... */
        zpt_testbox *tb = zpt_testbox_of(bb);
        ck_assert_uint_eq(tb->queries, k->queries);
        ck_assert_int_eq(tb->numbering_ok, 1);
        ck_assert_uint_eq(k->perturbations, mode == ZPT_PERTURB_BLOCK ? Q * iters : 0);
        ck_assert(k->iter_seconds > 0);
        if (m == ZPT_ZO_NP) {
          ck_assert(k->fisher_seconds > 0);
          ck_assert_uint_eq(k->fisher_blocks, zpt_trainer_fisher(t)->n_present);
          ck_assert_uint_ge(k->fisher_blocks, 1);
        }
        /* evaluation: counted apart, not in the budget or the numbering */
        zpt_eval_result ev;
        ck_assert_int_eq(zpt_trainer_evaluate(t, X, Y, NS, 16, &ev), ZPT_OK);
        ck_assert_uint_eq(ev.queries, 3);
        ck_assert_uint_eq(k->eval_queries, 3);
        ck_assert_uint_eq(k->eval_sample_forwards, NS);
        ck_assert_uint_eq(tb->eval_queries, 3);
        ck_assert_uint_eq(k->queries, tb->queries);
        ck_assert_uint_eq(ev.total, NS);
        ck_assert(ev.accuracy >= 0 && ev.accuracy <= 1 && isfinite(ev.loss));
        ck_assert_int_eq(run(t, iters, iters + 1), ZPT_OK);
        ck_assert_int_eq(tb->numbering_ok, 1);
        zpt_trainer_free(t);
        zpt_blackbox_free(bb);
      }
}
END_TEST

START_TEST(test_budget) {
  make_data();
  float th[NP];
  theta0(th);
  for (int m = 0; m < N_METHODS; m++) {
    zpt_blackbox *bb = zpt_testbox_softmax(D, C);
    zpt_zo_config c = cfg_for((zpt_zo_method)m, ZPT_PERTURB_BLOCK);
    /* budget: ZO-I/co: 10 iterations and a bit (6 per iteration);
     * ZO-NP: t = 0 costs 6 + 7, others 6 */
    c.budget = 64;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
    uint64_t it = 0;
    int rc;
    while ((rc = zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL)) == ZPT_OK)
      it++;
    ck_assert_int_eq(rc, ZPT_EBUDGET);
    ck_assert_ptr_nonnull(strstr(zpt_error_message(), "query budget 64"));
    const zpt_zo_counters *k = zpt_trainer_counters(t);
    ck_assert_uint_le(k->queries, c.budget);
    ck_assert_uint_gt(k->queries + zpt_trainer_next_cost(t), c.budget);
    if (m != ZPT_ZO_NP) {
      ck_assert_uint_eq(it, 10);
      ck_assert_uint_eq(k->queries, 60);
    } else {
      /* 13 (t=0) + 6*3 (t=1..3) + 13 (t=4) + 6*3 = 62; t=8 needs 13 */
      ck_assert_uint_eq(it, 8);
      ck_assert_uint_eq(k->queries, 62);
      ck_assert_ptr_nonnull(strstr(zpt_error_message(), "Jacobian"));
    }
    /* refusing changes nothing: the box saw no more queries */
    zpt_testbox *tb = zpt_testbox_of(bb);
    ck_assert_uint_eq(tb->queries, k->queries);
    float before[NP];
    memcpy(before, zpt_trainer_theta(t), sizeof before);
    ck_assert_int_eq(zpt_trainer_iterate(t, bx(it), by(it), BATCH, NULL),
                     ZPT_EBUDGET);
    ck_assert(memcmp(before, zpt_trainer_theta(t), sizeof before) == 0);
    ck_assert_uint_eq(tb->queries, k->queries);
    /* evaluation is still allowed */
    zpt_eval_result ev;
    ck_assert_int_eq(zpt_trainer_evaluate(t, X, Y, NS, 0, &ev), ZPT_OK);
    zpt_trainer_free(t);
    zpt_blackbox_free(bb);
  }
}
END_TEST

START_TEST(test_determinism) {
  make_data();
  float th[NP];
  theta0(th);
  for (int m = 0; m < N_METHODS; m++) {
    zpt_blackbox *bb = zpt_testbox_softmax(D, C);
    zpt_zo_config c = cfg_for((zpt_zo_method)m, ZPT_PERTURB_BLOCK);
    zpt_trainer *a, *b, *d;
    ck_assert_int_eq(zpt_trainer_alloc(&a, bb, th, &c), ZPT_OK);
    ck_assert_int_eq(zpt_trainer_alloc(&b, bb, th, &c), ZPT_OK);
    c.seed = 2;
    ck_assert_int_eq(zpt_trainer_alloc(&d, bb, th, &c), ZPT_OK);
    ck_assert_int_eq(run(a, 0, 300), ZPT_OK);
    ck_assert_int_eq(run(b, 0, 300), ZPT_OK);
    ck_assert_int_eq(run(d, 0, 300), ZPT_OK);
    ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(b),
                     NP * sizeof(float)) == 0);
    ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(d),
                     NP * sizeof(float)) != 0);
    /* it trained: the loss went down */
    zpt_eval_result e0, e1;
    ck_assert_int_eq(zpt_zo_evaluate(bb, th, &c.loss, X, Y, NS, 0, 1ull << 62, &e0), ZPT_OK);
    ck_assert_int_eq(zpt_trainer_evaluate(a, X, Y, NS, 0, &e1), ZPT_OK);
    ck_assert_msg(e1.loss < e0.loss, "%s: loss %g -> %g",
                  zpt_zo_method_name((zpt_zo_method)m), e0.loss, e1.loss);
    zpt_trainer_free(a);
    zpt_trainer_free(b);
    zpt_trainer_free(d);
    zpt_blackbox_free(bb);
  }
}
END_TEST

/* Runs `total` iterations uninterrupted and as save at k / load into a
 * fresh trainer / continue; the two must agree bit for bit. */
static void check_resume(zpt_zo_config c, uint64_t k, uint64_t total) {
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_trainer *a, *b, *r;
  ck_assert_int_eq(zpt_trainer_alloc(&a, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(a, 0, total), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_alloc(&b, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(b, 0, k), ZPT_OK);
  zpt_memstate *ms = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader rd;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &rd);
  ck_assert_int_eq(zpt_trainer_save(b, &w), ZPT_OK);
  /* a fresh trainer, started from another theta: load must overwrite all */
  float other[NP] = {0};
  ck_assert_int_eq(zpt_trainer_alloc(&r, bb, other, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(r, &rd), ZPT_OK);
  /* the adaptive samplers' state is in the checkpoint */
  if (c.method == ZPT_ZO_GUIDED) {
    size_t n = 0;
    ck_assert_ptr_nonnull(zpt_memstate_data(ms, "zo/sampler/guided_history", NULL, &n));
    ck_assert_uint_eq(n, c.guided_k * NP);
  }
  if (c.method == ZPT_ZO_ADAPT)
    ck_assert_ptr_nonnull(zpt_memstate_data(ms, "zo/sampler/adapt_second_moments",
                                            NULL, NULL));
  if (c.method == ZPT_ZO_NP) {
    ck_assert_uint_ge(zpt_trainer_fisher(r)->n_present, 2);
    ck_assert_ptr_nonnull(zpt_memstate_data(ms, "zo/fisher/present", NULL, NULL));
  }
  ck_assert_int_eq(run(r, k, total), ZPT_OK);
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(r),
                   NP * sizeof(float)) == 0);
  const zpt_zo_counters *ka = zpt_trainer_counters(a),
                        *kr = zpt_trainer_counters(r);
  ck_assert_uint_eq(ka->queries, kr->queries);
  ck_assert_uint_eq(ka->jacobian_queries, kr->jacobian_queries);
  ck_assert_uint_eq(ka->fisher_updates, kr->fisher_updates);
  ck_assert_uint_eq(ka->fisher_blocks, kr->fisher_blocks);
  ck_assert_uint_eq(ka->perturbations, kr->perturbations);
  if (c.method == ZPT_ZO_NP) {
    const zpt_fisher *fa = zpt_trainer_fisher(a), *fr = zpt_trainer_fisher(r);
    for (size_t bl = 0; bl < zpt_trainer_blocks(a)->n_blocks; bl++) {
      ck_assert((fa->chol[bl] == NULL) == (fr->chol[bl] == NULL));
      if (fa->chol[bl])
        ck_assert(memcmp(fa->chol[bl], fr->chol[bl],
                         zpt_packed_size(zpt_block_len(zpt_trainer_blocks(a), bl)) *
                             sizeof(double)) == 0);
    }
  }
  zpt_memstate_free(ms);
  zpt_trainer_free(a);
  zpt_trainer_free(b);
  zpt_trainer_free(r);
  zpt_blackbox_free(bb);
}

START_TEST(test_resume) {
  make_data();
  for (int m = 0; m < N_METHODS; m++)
    for (int mode = 0; mode < 2; mode++) {
      zpt_zo_config c = cfg_for((zpt_zo_method)m, (zpt_perturb_mode)mode);
      check_resume(c, 37, 90); /* mid-cycle, after several Fisher updates */
    }
  zpt_zo_config c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
  c.fisher_schedule = ZPT_FISHER_CYCLE;
  c.fisher_avg = 0.3;
  c.diff = ZPT_DIFF_CENTRAL;
  check_resume(c, 41, 95);
  c.optimizer = ZPT_OPT_SGD;
  c.t_ud = 1; /* save right after an update */
  check_resume(c, 10, 30);
}
END_TEST

START_TEST(test_load_errors) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
  zpt_trainer *t, *u;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(t, 0, 9), ZPT_OK);
  zpt_memstate *ms = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader r;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &r);
  ck_assert_int_eq(zpt_trainer_save(t, &w), ZPT_OK);
  /* another configuration */
  c.q = 6;
  ck_assert_int_eq(zpt_trainer_alloc(&u, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &r), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "q is 5"));
  zpt_trainer_free(u);
  c.q = 5;
  c.method = ZPT_ZO_I;
  ck_assert_int_eq(zpt_trainer_alloc(&u, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &r), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "method"));
  zpt_trainer_free(u);
  c.method = ZPT_ZO_NP;
  /* a corrupted permutation */
  size_t n;
  uint64_t *perm = zpt_memstate_data(ms, "zo/perm_perturb", NULL, &n);
  ck_assert_ptr_nonnull(perm);
  uint64_t keep = perm[0];
  perm[0] = perm[1];
  ck_assert_int_eq(zpt_trainer_alloc(&u, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &r), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "not a permutation"));
  /* a failed load leaves the trainer refusing to iterate */
  ck_assert_int_eq(zpt_trainer_iterate(u, X, Y, BATCH, NULL), ZPT_EINVAL);
  perm[0] = keep;
  ck_assert_int_eq(zpt_trainer_load(u, &r), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_iterate(u, bx(9), by(9), BATCH, NULL), ZPT_OK);
  zpt_trainer_free(u);
  /* an empty checkpoint */
  zpt_memstate *empty = zpt_memstate_alloc();
  zpt_state_reader re;
  zpt_memstate_reader(empty, &re);
  ck_assert_int_eq(zpt_trainer_load(t, &re), ZPT_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "zo/shape"));
  /* a failed shape check leaves the trainer usable */
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(9), by(9), BATCH, NULL), ZPT_OK);
  zpt_memstate_free(empty);
  zpt_memstate_free(ms);
  zpt_trainer_free(t);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_config_errors) {
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_trainer *t;
  zpt_zo_config c;
  const char *expect[] = {"method", "mode", "q (perturbations", "mu",
                          "lambda", "n_max", "diff", "rho", "t_ud",
                          "fisher_avg", "fisher_schedule", "jac_eps",
                          "optimizer 7", "learning rate", "beta1", "beta2",
                          "eps must", "momentum", "loss not set",
                          "output size", "cut", "lr_schedule 5",
                          "needs a query budget", "lr_final must be"};
  for (int k = 0; k < 24; k++) {
    c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
    size_t badcut[1] = {0};
    switch (k) {
    case 0: c.method = (zpt_zo_method)9; break;
    case 1: c.mode = (zpt_perturb_mode)5; break;
    case 2: c.q = 0; break;
    case 3: c.mu = 0; break;
    case 4: c.lambda = -1; break;
    case 5: c.n_max = 0; break;
    case 6: c.diff = (zpt_diff_kind)3; break;
    case 7: c.rho = -0.5; break;
    case 8: c.t_ud = 0; break;
    case 9: c.fisher_avg = 1.5; break;
    case 10: c.fisher_schedule = (zpt_fisher_schedule)4; break;
    case 11: c.jac_eps = NAN; break;
    case 12: c.optimizer = (zpt_opt_kind)7; break;
    case 13: c.optim.lr = 0; break;
    case 14: c.optim.beta1 = 1; break;
    case 15: c.optim.beta2 = -0.1; break;
    case 16: c.optim.eps = 0; break;
    case 17: c.optimizer = ZPT_OPT_SGD; c.optim.momentum = 1; break;
    case 18: c.loss.kind = 0; break;
    case 19: c.loss = zpt_loss_xent(C + 1); break;
    case 20: c.cuts = badcut; c.n_cuts = 1; break;
    case 21: c.lr_schedule = (zpt_lr_schedule)5; break;
    case 22: c.lr_schedule = ZPT_LR_COSINE; c.budget = 0; break;
    case 23: c.lr_schedule = ZPT_LR_COSINE; c.budget = 100;
             c.lr_final = 2 * c.optim.lr; break;
    }
    t = (zpt_trainer *)1;
    int rc = zpt_trainer_alloc(&t, bb, th, &c);
    ck_assert_msg(rc == ZPT_EINVAL, "case %d (%s): status %d", k, expect[k], rc);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(zpt_error_message(), expect[k]) != NULL,
                  "case %d: message '%s' lacks '%s'", k, zpt_error_message(),
                  expect[k]);
  }
  c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, NULL, &c), ZPT_EINVAL);
  ck_assert_int_eq(zpt_trainer_alloc(&t, NULL, th, &c), ZPT_EINVAL);
  ck_assert_int_eq(zpt_zo_config_check(NULL, bb), ZPT_EINVAL);
  ck_assert_str_eq(zpt_zo_method_name(ZPT_ZO_CO), "zo-co");
  zpt_trainer_free(NULL);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_runtime_errors) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_testbox *tb = zpt_testbox_of(bb);
  zpt_zo_config c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
  zpt_trainer *t, *ref;
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  /* bad batches */
  ck_assert_int_eq(zpt_trainer_iterate(t, NULL, Y, BATCH, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_trainer_iterate(t, X, Y, 0, NULL), ZPT_EINVAL);
  bb->max_batch = 4;
  ck_assert_int_eq(zpt_trainer_iterate(t, X, Y, BATCH, NULL), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "at most 4"));
  bb->max_batch = 0;
  float badY[BATCH];
  memcpy(badY, Y, sizeof badY);
  badY[3] = 7;
  ck_assert_int_eq(zpt_trainer_iterate(t, X, badY, BATCH, NULL), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "sample 3"));
  /* the refused calls did nothing */
  ck_assert_uint_eq(zpt_trainer_counters(t)->queries, 0);
  zpt_trainer_free(t);
  ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
  tb->next_query = 0;
  ck_assert_int_eq(run(t, 0, 5), ZPT_OK); /* Fisher at 0 and 4 */
  /* a device failure in a plain iteration: reported with context, the
   * trainer is untouched and the retry continues the same run */
  uint64_t q = zpt_trainer_counters(t)->queries;
  tb->fail_at = q + 2;
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(5), by(5), BATCH, NULL), ZPT_EIO);
  const char *msg = zpt_error_message();
  ck_assert_ptr_nonnull(strstr(msg, "iteration 5"));
  ck_assert_ptr_nonnull(strstr(msg, "testbox"));
  ck_assert_ptr_nonnull(strstr(msg, "simulated device failure"));
  ck_assert_uint_eq(zpt_trainer_counters(t)->queries, q);
  tb->fail_at = UINT64_MAX;
  tb->next_query = q;
  ck_assert_int_eq(run(t, 5, 20), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_alloc(&ref, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(run(ref, 0, 20), ZPT_OK);
  ck_assert(memcmp(zpt_trainer_theta(t), zpt_trainer_theta(ref),
                   NP * sizeof(float)) == 0);
  /* a failure after a Fisher update (iteration 20): the trainer refuses
   * to continue or to save until a checkpoint is loaded */
  zpt_memstate *ms = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader r;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &r);
  ck_assert_int_eq(zpt_trainer_save(t, &w), ZPT_OK);
  q = zpt_trainer_counters(t)->queries;
  size_t nb = zpt_block_len(zpt_trainer_blocks(t), 0);
  tb->fail_at = q + nb + 1 + 1; /* inside the perturbed call */
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(20), by(20), BATCH, NULL), ZPT_EIO);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "perturbed"));
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(20), by(20), BATCH, NULL), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "load a checkpoint"));
  zpt_memstate *ms2 = zpt_memstate_alloc();
  zpt_state_writer w2;
  zpt_memstate_writer(ms2, &w2);
  ck_assert_int_eq(zpt_trainer_save(t, &w2), ZPT_EINVAL);
  tb->fail_at = UINT64_MAX;
  tb->next_query = q;
  ck_assert_int_eq(zpt_trainer_load(t, &r), ZPT_OK);
  ck_assert_int_eq(run(t, 20, 30), ZPT_OK);
  /* NaN outputs: ZPT_ENUMERIC with the iteration and variation */
  tb->fail_at = zpt_trainer_counters(t)->queries + 1;
  tb->nan_at_fail = 1;
  ck_assert_int_eq(zpt_trainer_iterate(t, bx(30), by(30), BATCH, NULL),
                   ZPT_ENUMERIC);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "iteration 30"));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "non-finite"));
  /* evaluation errors */
  tb->fail_at = UINT64_MAX;
  zpt_eval_result ev;
  ck_assert_int_eq(zpt_trainer_evaluate(t, X, Y, 0, 0, &ev), ZPT_EINVAL);
  memcpy(badY, Y, sizeof badY);
  badY[1] = -3;
  ck_assert_int_eq(zpt_zo_evaluate(bb, th, &c.loss, X, badY, BATCH, 4, 0, &ev),
                   ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "evaluate: samples 0..3"));
  zpt_memstate_free(ms);
  zpt_memstate_free(ms2);
  zpt_trainer_free(t);
  zpt_trainer_free(ref);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_fisher_schedules) {
  /* random with replacement (default) vs permutation cycle */
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  for (int sched = 0; sched < 2; sched++) {
    zpt_zo_config c = cfg_for(ZPT_ZO_NP, ZPT_PERTURB_BLOCK);
    c.n_max = 3; /* 7 blocks */
    c.t_ud = 1;
    c.fisher_schedule = (zpt_fisher_schedule)sched;
    zpt_trainer *t;
    ck_assert_int_eq(zpt_trainer_alloc(&t, bb, th, &c), ZPT_OK);
    size_t seen[7] = {0};
    for (uint64_t it = 0; it < 70; it++) {
      zpt_iter_info info;
      ck_assert_int_eq(zpt_trainer_iterate(t, bx(it), by(it), BATCH, &info), ZPT_OK);
      ck_assert(info.fisher_updated);
      seen[info.fisher_block]++;
      if (sched == ZPT_FISHER_CYCLE && it == 6)
        ck_assert_uint_eq(zpt_trainer_fisher(t)->n_present, 7);
    }
    int all_ten = 1;
    for (int b = 0; b < 7; b++)
      all_ten &= seen[b] == 10;
    /* a cycle visits each block exactly once per 7 updates; draws with
     * replacement (almost surely) do not */
    ck_assert_int_eq(all_ten, sched == ZPT_FISHER_CYCLE);
    zpt_trainer_free(t);
  }
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_mlp_cuts) {
  /* a two-layer net with blocks cut at the layer boundary, MSE loss:
   * ZO-NP trains it and resumes bit-identically */
  enum { Din = 4, H = 5, Co = 3, N = H * Din + H + Co * H + Co, S = 32 };
  float xs[S * Din], ys[S * Co], th[N];
  gsl_rng *g = zpt_rng_alloc(4, ZPT_STREAM_TEST, 5, 0);
  for (size_t k = 0; k < S * Din; k++)
    xs[k] = (float)(2 * gsl_rng_uniform(g) - 1);
  for (size_t i = 0; i < S; i++)
    for (size_t c = 0; c < Co; c++)
      ys[i * Co + c] = (float)sin(xs[i * Din + c] + 0.5 * xs[i * Din + 3]);
  for (size_t k = 0; k < N; k++)
    th[k] = (float)(0.5 * (2 * gsl_rng_uniform(g) - 1));
  zpt_rng_free(g);
  zpt_blackbox *bb = zpt_testbox_mlp(Din, H, Co);
  const size_t cut = H * Din + H; /* first layer | second layer */
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_mse();
  c.n_max = 10;
  c.cuts = &cut;
  c.n_cuts = 1;
  c.q = 4;
  c.t_ud = 10;
  c.optim.lr = 1e-2;
  zpt_trainer *a, *b;
  ck_assert_int_eq(zpt_trainer_alloc(&a, bb, th, &c), ZPT_OK);
  const zpt_blocks *bl = zpt_trainer_blocks(a);
  ck_assert_uint_eq(bl->n_blocks, 3 + 2);
  int at_cut = 0;
  for (size_t k = 0; k <= bl->n_blocks; k++)
    at_cut |= bl->offset[k] == cut;
  ck_assert(at_cut);
  zpt_eval_result e0, e1;
  ck_assert_int_eq(zpt_trainer_evaluate(a, xs, ys, S, 0, &e0), ZPT_OK);
  zpt_memstate *ms = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_state_reader r;
  zpt_memstate_writer(ms, &w);
  zpt_memstate_reader(ms, &r);
  for (int it = 0; it < 600; it++) {
    if (it == 255)
      ck_assert_int_eq(zpt_trainer_save(a, &w), ZPT_OK);
    ck_assert_int_eq(zpt_trainer_iterate(a, xs, ys, S, NULL), ZPT_OK);
  }
  ck_assert_int_eq(zpt_trainer_evaluate(a, xs, ys, S, 0, &e1), ZPT_OK);
  ck_assert_msg(e1.loss < 0.7 * e0.loss, "MLP: loss %g -> %g", e0.loss, e1.loss);
  ck_assert(isnan(e1.accuracy)); /* no accuracy for MSE */
  ck_assert_int_eq(zpt_trainer_alloc(&b, bb, th, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(b, &r), ZPT_OK);
  for (int it = 255; it < 600; it++)
    ck_assert_int_eq(zpt_trainer_iterate(b, xs, ys, S, NULL), ZPT_OK);
  ck_assert(memcmp(zpt_trainer_theta(a), zpt_trainer_theta(b), sizeof th) == 0);
  zpt_memstate_free(ms);
  zpt_trainer_free(a);
  zpt_trainer_free(b);
  zpt_blackbox_free(bb);
}
END_TEST

/* The cosine schedule: the closed form in queries spent, and the step it
 * drives (SGD without momentum: theta moves by exactly lr_t g, so two
 * trainers that differ only in the schedule move in the same direction
 * with lengths in the ratio lr_t / lr). */
START_TEST(test_lr_schedule) {
  make_data();
  float th[NP];
  theta0(th);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_zo_config c = cfg_for(ZPT_ZO_I, ZPT_PERTURB_BLOCK);
  c.optimizer = ZPT_OPT_SGD;
  c.optim.momentum = 0;
  c.budget = 60; /* 10 iterations of Q + 1 = 6 */
  zpt_trainer *tc, *tk;
  ck_assert_int_eq(zpt_trainer_alloc(&tk, bb, th, &c), ZPT_OK);
  c.lr_schedule = ZPT_LR_COSINE;
  c.lr_final = 1e-3;
  ck_assert_int_eq(zpt_trainer_alloc(&tc, bb, th, &c), ZPT_OK);
  ck_assert_double_eq_tol(zpt_trainer_lr(tc), 1e-2, 1e-15);
  ck_assert_double_eq_tol(zpt_trainer_lr(tk), 1e-2, 1e-15);
  for (uint64_t it = 0; it < 10; it++) {
    double q = (double)zpt_trainer_counters(tc)->queries;
    double want = 1e-3 + (1e-2 - 1e-3) * 0.5 * (1 + cos(M_PI * q / 60));
    ck_assert_double_eq_tol(zpt_trainer_lr(tc), want, 1e-12);
    float a[NP], b[NP];
    memcpy(a, zpt_trainer_theta(tc), sizeof a);
    /* the constant-rate trainer starts this step from the same theta */
    zpt_trainer_set_theta(tk, a);
    ck_assert_int_eq(zpt_trainer_iterate(tc, bx(it), by(it), BATCH, NULL), ZPT_OK);
    ck_assert_int_eq(zpt_trainer_iterate(tk, bx(it), by(it), BATCH, NULL), ZPT_OK);
    double dc = 0, dk = 0, dot = 0;
    memcpy(b, zpt_trainer_theta(tk), sizeof b);
    const float *cc = zpt_trainer_theta(tc);
    for (size_t k = 0; k < NP; k++) {
      double x = (double)cc[k] - a[k], y = (double)b[k] - a[k];
      dc += x * x;
      dk += y * y;
      dot += x * y;
    }
    ck_assert(dk > 0);
    ck_assert_double_eq_tol(sqrt(dc / dk), want / 1e-2, 2e-3);
    ck_assert_double_eq_tol(dot / sqrt(dc * dk), 1.0, 1e-5);
  }
  /* the whole budget spent: the rate is lr_final */
  ck_assert_double_eq_tol(zpt_trainer_lr(tc), 1e-3, 1e-15);
  zpt_trainer_free(tc);
  zpt_trainer_free(tk);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_no_forbidden_includes) {
  /* nothing in src/zo may include a header of src/nn or src/mzi */
  const char *files[] = {"blackbox.h", "blocks.h", "blocks.c", "fisher.h",
                         "fisher.c", "loss.h", "loss.c", "memstate.h",
                         "memstate.c", "optim.h", "optim.c", "sampler.h",
                         "sampler.c", "sampler_extra.c", "cmaes.h", "cmaes.c",
                         "trainer.h", "trainer.c", "trainer_cmaes.c"};
  for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
    char path[256], line[512];
    snprintf(path, sizeof path, "src/zo/%s", files[k]);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    while (fgets(line, sizeof line, f))
      if (strstr(line, "#include"))
        ck_assert_msg(!strstr(line, "nn/") && !strstr(line, "mzi/"),
                      "%s includes %s", path, line);
    fclose(f);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zo_trainer");
  TCase *tc = tcase_create("zo_trainer");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_accounting);
  tcase_add_test(tc, test_budget);
  tcase_add_test(tc, test_determinism);
  tcase_add_test(tc, test_resume);
  tcase_add_test(tc, test_load_errors);
  tcase_add_test(tc, test_config_errors);
  tcase_add_test(tc, test_runtime_errors);
  tcase_add_test(tc, test_fisher_schedules);
  tcase_add_test(tc, test_mlp_cuts);
  tcase_add_test(tc, test_lr_schedule);
  tcase_add_test(tc, test_no_forbidden_includes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
