/* theta has one home (issue 15): a trainer made by zpt_trainer_alloc_borrow
 * works on the caller's array in place (no copy, no per-iteration sync), its
 * trajectory is bit for bit that of a trainer owning a copy, its state
 * leaves theta to the caller, and an older state that still carries
 * zo/theta is accepted only when that copy agrees. */
#include <math.h>
#include <string.h>

#include "common/testutil.h"
#include "common/zo_boxes.h"
#include "zo/memstate.h"
#include "zoptic.h"

enum { D = 5, C = 3, NP = C * (D + 1), NS = 32, BATCH = 8, ITERS = 12 };
static float X[NS * D], Y[NS];

static void make_data(void) {
  for (size_t i = 0; i < NS; i++) {
    double s = 0;
    for (size_t k = 0; k < D; k++) {
      X[i * D + k] = (float)sin(0.7 * (double)(i * D + k) + 0.3);
      s += X[i * D + k] * (k % 2 ? 1.0 : -0.5);
    }
    Y[i] = s > 0.3 ? 2.0f : s < -0.3 ? 0.0f : 1.0f;
  }
}

static zpt_zo_config cfg(void) {
  zpt_zo_config c;
  zpt_zo_config_default(&c);
  c.loss = zpt_loss_xent(C);
  c.method = ZPT_ZO_NP;
  c.q = 4;
  c.n_max = 7;
  c.t_ud = 3;
  c.optim.lr = 1e-2;
  return c;
}

static void theta0(float *th) {
  for (size_t k = 0; k < NP; k++)
    th[k] = 0.1f * (float)cos(0.5 + (double)k);
}

static void run(zpt_trainer *t, int from, int to) {
  for (int it = from; it < to; it++) {
    size_t b = (size_t)it % (NS / BATCH);
    ck_assert_int_eq(zpt_trainer_iterate(t, X + b * BATCH * D, Y + b * BATCH,
                                         BATCH, NULL), ZPT_OK);
  }
}

START_TEST(test_borrow_in_place) {
  make_data();
  zpt_zo_config c = cfg();
  float mine[NP], start[NP], ref[NP];
  theta0(mine);
  theta0(ref);
  memcpy(start, mine, sizeof start);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C), *bb2 = zpt_testbox_softmax(D, C);
  zpt_trainer *t, *owner;
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&t, bb, mine, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_alloc(&owner, bb2, ref, &c), ZPT_OK);
  ck_assert_ptr_eq(zpt_trainer_theta(t), mine); /* no copy */
  ck_assert_ptr_ne(zpt_trainer_theta(owner), ref);
  run(t, 0, ITERS);
  run(owner, 0, ITERS);
  /* the caller's array moved, every iteration, with nothing copied back */
  ck_assert(memcmp(mine, start, sizeof mine) != 0);
  ck_assert(memcmp(mine, zpt_trainer_theta(owner), sizeof mine) == 0);
  ck_assert(memcmp(ref, start, sizeof ref) == 0); /* the owner's input kept */
  /* set_theta with the trainer's own array is a no-op, not an overlap */
  zpt_trainer_set_theta(t, mine);
  ck_assert(memcmp(mine, zpt_trainer_theta(owner), sizeof mine) == 0);
  zpt_trainer_free(t); /* must not free `mine` (a stack array: ASan would say) */
  zpt_trainer_free(owner);
  zpt_blackbox_free(bb);
  zpt_blackbox_free(bb2);
  float *none = NULL;
  bb = zpt_testbox_softmax(D, C);
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&t, bb, none, &c), ZPT_EINVAL);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_state_without_theta) {
  make_data();
  zpt_zo_config c = cfg();
  float a[NP], b[NP], full[NP];
  theta0(a);
  theta0(full);
  zpt_blackbox *bb = zpt_testbox_softmax(D, C);
  zpt_trainer *t, *u, *ref;
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&t, bb, a, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&ref, bb, full, &c), ZPT_OK);
  run(t, 0, ITERS / 2);
  zpt_memstate *m = zpt_memstate_alloc();
  zpt_state_writer w;
  zpt_memstate_writer(m, &w);
  ck_assert_int_eq(zpt_trainer_save(t, &w), ZPT_OK);
  zpt_state_reader r;
  zpt_memstate_reader(m, &r);
  size_t n;
  ck_assert_int_eq(r.size(&r, "zo/theta", ZPT_T_F32, &n), ZPT_ENOTFOUND);
  /* resume: the caller restores theta (its one home), the trainer the rest */
  memcpy(b, a, sizeof b);
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&u, bb, b, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &r), ZPT_OK);
  run(u, ITERS / 2, ITERS);
  run(ref, 0, ITERS);
  ck_assert(memcmp(b, full, sizeof b) == 0);
  zpt_trainer_free(u);
  /* an older state carrying zo/theta: accepted when it agrees ... */
  zpt_memstate *old = zpt_memstate_alloc();
  zpt_state_writer ow;
  zpt_memstate_writer(old, &ow);
  ck_assert_int_eq(zpt_trainer_save(t, &ow), ZPT_OK);
  ck_assert_int_eq(ow.put(&ow, "zo/theta", ZPT_T_F32, a, NP), ZPT_OK);
  zpt_state_reader orr;
  zpt_memstate_reader(old, &orr);
  memcpy(b, a, sizeof b);
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&u, bb, b, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &orr), ZPT_OK);
  zpt_trainer_free(u);
  /* ... and refused when it holds a different theta */
  b[3] += 0.5f;
  ck_assert_int_eq(zpt_trainer_alloc_borrow(&u, bb, b, &c), ZPT_OK);
  ck_assert_int_eq(zpt_trainer_load(u, &orr), ZPT_EFORMAT);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "two different parameter vectors"));
  zpt_trainer_free(u);
  zpt_memstate_free(old);
  zpt_memstate_free(m);
  zpt_trainer_free(t);
  zpt_trainer_free(ref);
  zpt_blackbox_free(bb);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("theta_home");
  TCase *tc = tcase_create("theta_home");
  tcase_add_test(tc, test_borrow_in_place);
  tcase_add_test(tc, test_state_without_theta);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
