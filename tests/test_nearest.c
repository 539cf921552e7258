/* core/nearest: the edit distance against hand-counted values and the
 * nearest-candidate rule behind "did you mean". */
#include "common/testutil.h"
#include "core/nearest.h"

START_TEST(test_distance) {
  ck_assert_uint_eq(zpt_edit_distance("", ""), 0);
  ck_assert_uint_eq(zpt_edit_distance("", "abc"), 3);
  ck_assert_uint_eq(zpt_edit_distance("kitten", "sitting"), 3); /* k->s, e->i, +g */
  ck_assert_uint_eq(zpt_edit_distance("trian", "train"), 1);    /* one swap */
  ck_assert_uint_eq(zpt_edit_distance("budgett", "budget"), 1);
  ck_assert_uint_eq(zpt_edit_distance("abc", "abc"), 0);
  ck_assert_uint_eq(zpt_edit_distance("ca", "abc"), 3); /* OSA, not Damerau's 2 */
}
END_TEST

START_TEST(test_nearest) {
  const char *cmds[] = {"train", "eval", "info", "plot", "config", "config-doc"};
  ck_assert_str_eq(zpt_nearest("trian", cmds, 6), "train");
  ck_assert_str_eq(zpt_nearest("confgi", cmds, 6), "config");
  ck_assert_str_eq(zpt_nearest("evl", cmds, 6), "eval");
  ck_assert_ptr_null(zpt_nearest("frobnicate", cmds, 6));
  ck_assert_ptr_null(zpt_nearest("x", cmds, 6));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("nearest");
  TCase *tc = tcase_create("nearest");
  tcase_add_test(tc, test_distance);
  tcase_add_test(tc, test_nearest);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(suite()); }
