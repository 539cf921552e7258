/* The flat C API (io/capi.h) and the variation-descriptor black box
 * (zo/varcallback.h): python/zoptic/_cdef.h, which cffi reads, is compiled here after the
 * library's headers, so a declaration that differs fails this build. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "zoptic.h"
#include "api/capi.h"
#include "zo/varcallback.h"
#include "../python/zoptic/_cdef.h"

#include "common/testutil.h"

/* A callback that records its arguments and answers y = sum of theta_v. */
typedef struct {
  size_t calls, n_vars;
  size_t offsets[4], lens[4];
  float scales[4];
  const float *theta;
  int fail;
} record;

static int sum_cb(void *user, const float *theta, size_t n_params, size_t n_vars,
                  const size_t *offsets, const size_t *lens, const float *scales,
                  const float *const *deltas, const float *inputs, size_t batch,
                  float *outputs, uint64_t first_query) {
  record *r = user;
  r->calls++;
  if (r->fail == 1)
    return zpt_fail(ZPT_EIO, "the instrument is unplugged");
  if (r->fail == 2)
    return ZPT_EPROTO; /* no message */
  r->theta = theta;
  r->n_vars = n_vars;
  for (size_t v = 0; v < n_vars && v < 4; v++) {
    r->offsets[v] = offsets[v];
    r->lens[v] = lens[v];
    r->scales[v] = scales[v];
  }
  for (size_t v = 0; v < n_vars; v++) {
    float s = 0;
    for (size_t k = 0; k < n_params; k++) {
      float t = theta[k];
      if (k >= offsets[v] && k < offsets[v] + lens[v])
        t += scales[v] * deltas[v][k - offsets[v]];
      s += t;
    }
    for (size_t i = 0; i < batch; i++)
      outputs[v * batch + i] = s + inputs[i] + (float)first_query;
  }
  return ZPT_OK;
}

START_TEST(test_callback_box_flattens_variations) {
  record r;
  memset(&r, 0, sizeof r);
  zpt_blackbox *bb;
  ck_assert_int_eq(zpt_blackbox_vars_callback(&bb, "sum", 4, 1, 1, 0, 0, sum_cb, &r), ZPT_OK);
  float theta[4] = {1, 2, 3, 4}, d1[2] = {1, -1}, d2[4] = {1, 1, 1, 1};
  zpt_variation vars[3] = {{0, 0, 0.0f, NULL}, {1, 2, 0.5f, d1}, {0, 4, 2.0f, d2}};
  float x[2] = {10, 20}, y[6];
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, vars, 3, x, 2, y, 100), ZPT_OK);
  ck_assert_ptr_eq(r.theta, theta); /* the base theta itself, no copy */
  ck_assert_uint_eq(r.n_vars, 3);
  ck_assert_uint_eq(r.offsets[1], 1);
  ck_assert_uint_eq(r.lens[1], 2);
  ck_assert_uint_eq(r.lens[0], 0);
  ck_assert_float_eq(r.scales[2], 2.0f);
  ck_assert_float_eq(y[0], 10 + 10 + 100);
  ck_assert_float_eq(y[3], 10 + 20 + 100);      /* 0.5 * (1 - 1) = 0 */
  ck_assert_float_eq(y[4], 10 + 8 + 10 + 100);  /* + 2 * 4 */
  /* the flat API replays the same call */
  size_t offs[3] = {0, 1, 0}, lens[3] = {0, 2, 4};
  float scales[3] = {0, 0.5f, 2.0f}, y2[6];
  const float *deltas[3] = {NULL, d1, d2};
  ck_assert_int_eq(zpt_api_blackbox_query(bb, theta, 3, offs, lens, scales, deltas, x, 2,
                                          y2, 100), ZPT_OK);
  ck_assert_mem_eq(y, y2, sizeof y);
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_callback_box_errors) {
  record r;
  memset(&r, 0, sizeof r);
  zpt_blackbox *bb;
  ck_assert_int_eq(zpt_blackbox_vars_callback(&bb, "x", 0, 1, 1, 0, 0, sum_cb, &r), ZPT_EINVAL);
  ck_assert_ptr_null(bb);
  ck_assert_int_eq(zpt_blackbox_vars_callback(&bb, "x", 1, 1, 1, 0, 0, NULL, &r), ZPT_EINVAL);
  ck_assert_int_eq(zpt_blackbox_vars_callback(&bb, "chip", 2, 1, 1, 0, 0, sum_cb, &r), ZPT_OK);
  float theta[2] = {0, 0}, d[3] = {1, 1, 1}, x = 0, y[2];
  zpt_variation out_of_range = {1, 3, 1.0f, d};
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, &out_of_range, 1, &x, 1, y, 0), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "outside theta"));
  ck_assert_uint_eq(r.calls, 0);
  zpt_variation base = {0, 0, 0.0f, NULL};
  r.fail = 1;
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, &base, 1, &x, 1, y, 0), ZPT_EIO);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "black box 'chip': "
                                                   "the instrument is unplugged"));
  r.fail = 2;
  ck_assert_int_eq(zpt_blackbox_query(bb, theta, &base, 1, &x, 1, y, 0), ZPT_EPROTO);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "failed with EPROTO"));
  zpt_blackbox_free(bb);
}
END_TEST

START_TEST(test_capi_state_and_loss) {
  ck_assert_uint_eq(zpt_api_loss_target_size(ZPT_LOSS_XENT, 1, 10, 1.0, 10), 1);
  ck_assert_uint_eq(zpt_api_loss_target_size(ZPT_LOSS_MSE, 0, 0, 1.0, 7), 7);
  ck_assert_uint_eq(zpt_api_loss_target_size(9, 1, 10, 1.0, 10), 0);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "loss kind 9"));
  ck_assert_uint_eq(zpt_api_loss_target_size(ZPT_LOSS_XENT, 1, 10, 1.0, 9), 0);
  ck_assert_int_eq(zpt_api_fail(ZPT_EIO, "boom"), ZPT_EIO);
  ck_assert_str_eq(zpt_error_message(), "boom");
  ck_assert_int_eq(zpt_api_fail(5, "positive"), ZPT_EBACKEND);
  zpt_params *p = zpt_params_alloc();
  size_t shape[2] = {2, 3}, sh[4], off;
  ck_assert_int_eq(zpt_params_add(p, "w", 2, shape, NULL), ZPT_OK);
  const char *name;
  int ndim;
  ck_assert_int_eq(zpt_api_params_view(p, 0, &name, &ndim, sh, &off), ZPT_OK);
  ck_assert_str_eq(name, "w");
  ck_assert_int_eq(ndim, 2);
  ck_assert_uint_eq(sh[1], 3);
  ck_assert_uint_eq(sh[2], 1);
  ck_assert_int_eq(zpt_api_params_view(p, 1, &name, &ndim, sh, &off), ZPT_ENOTFOUND);
  ck_assert_uint_eq(zpt_api_params_n(p), 6);
  zpt_params_free(p);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("capi");
  TCase *tc = tcase_create("capi");
  tcase_add_test(tc, test_callback_box_flattens_variations);
  tcase_add_test(tc, test_callback_box_errors);
  tcase_add_test(tc, test_capi_state_and_loss);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
