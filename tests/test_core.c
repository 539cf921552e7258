/* Core utilities: status messages, allocation, the parameter store, random
 * streams (derivation, independence, exact save/restore), timer, progress. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "common/testutil.h"
#include "zoptic.h"

START_TEST(test_status_messages) {
  zpt_error_clear();
  ck_assert_str_eq(zpt_error_message(), "");
  int rc = zpt_fail(ZPT_EFORMAT, "%s: record %d: expected %s", "a.idx", 7, "magic 2051");
  ck_assert_int_eq(rc, ZPT_EFORMAT);
  ck_assert_int_eq(zpt_error_status(), ZPT_EFORMAT);
  ck_assert_str_eq(zpt_error_message(), "a.idx: record 7: expected magic 2051");
  zpt_fail_context(rc, "loading %s: ", "train set");
  ck_assert_str_eq(zpt_error_message(), "loading train set: a.idx: record 7: expected magic 2051");
  ck_assert_str_eq(zpt_status_name(ZPT_ENOMEM), "ENOMEM");
  ck_assert_str_eq(zpt_status_name(ZPT_EBACKEND), "EBACKEND");
  ck_assert_str_eq(zpt_status_name(12345), "EUNKNOWN");
  /* long messages are truncated, not overflowed */
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  zpt_fail(ZPT_EINVAL, "%s", big);
  ck_assert(strlen(zpt_error_message()) < sizeof big);
  zpt_error_clear();
  ck_assert_int_eq(zpt_error_status(), ZPT_OK);
}
END_TEST

static int try_helper(int x) {
  ZPT_TRY(x ? zpt_fail(ZPT_ERANGE, "x=%d", x) : ZPT_OK);
  return 42;
}

START_TEST(test_try_macro) {
  ck_assert_int_eq(try_helper(0), 42);
  ck_assert_int_eq(try_helper(3), ZPT_ERANGE);
  ck_assert_str_eq(zpt_error_message(), "x=3");
}
END_TEST

START_TEST(test_alloc) {
  float *f = zpt_floats(1000, "test floats");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq((uintptr_t)f % ZPT_ALIGN, 0);
  for (int i = 0; i < 1000; i++)
    ck_assert(f[i] == 0.0f);
  zpt_free(f);
  zpt_free(NULL); /* no-op */
  zpt_cfloat *c = zpt_cfloats(3, "complex");
  ck_assert_ptr_nonnull(c);
  c[1] = 1.0f + 2.0f * I;
  ck_assert(crealf(c[1]) == 1.0f && cimagf(c[1]) == 2.0f);
  zpt_free(c);
  /* an impossible size reports what it was for and where */
  zpt_error_clear();
  void *p = zpt_array_at(SIZE_MAX / 2, 16, "huge thing", "x.c", 9);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(zpt_error_status(), ZPT_ENOMEM);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "huge thing"));
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "x.c:9"));
  size_t out;
  ck_assert_int_eq(zpt_mul_size(SIZE_MAX, 2, &out), ZPT_ERANGE);
  ck_assert_int_eq(zpt_mul_size(7, 3, &out), ZPT_OK);
  ck_assert_uint_eq(out, 21);
  zpt_buffer b = {0};
  ck_assert_int_eq(zpt_buffer_reserve(&b, 100, "buf"), ZPT_OK);
  void *first = b.data;
  ck_assert_int_eq(zpt_buffer_reserve(&b, 50, "buf"), ZPT_OK);
  ck_assert_ptr_eq(b.data, first); /* no reallocation when it fits */
  ck_assert_int_eq(zpt_buffer_reserve(&b, 1 << 20, "buf"), ZPT_OK);
  ck_assert_uint_ge(b.bytes, 1 << 20);
  zpt_buffer_release(&b);
  ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_params_views) {
  zpt_params *p = zpt_params_alloc();
  size_t s1[] = {6, 1, 5, 5}, s2[] = {6}, s3[] = {10, 16};
  size_t o1, o2, o3;
  ck_assert_int_eq(zpt_params_add(p, "conv1.weight", 4, s1, &o1), ZPT_OK);
  ck_assert_int_eq(zpt_params_add(p, "conv1.bias", 1, s2, &o2), ZPT_OK);
  ck_assert_int_eq(zpt_params_add(p, "fc.weight", 2, s3, &o3), ZPT_OK);
  ck_assert_uint_eq(o1, 0);
  ck_assert_uint_eq(o2, 150);
  ck_assert_uint_eq(o3, 156);
  ck_assert_uint_eq(p->n_params, 316);
  ck_assert_uint_eq(p->n_views, 3);
  /* views tile theta exactly: no overlap, no gap */
  size_t next = 0;
  for (size_t i = 0; i < p->n_views; i++) {
    ck_assert_uint_eq(p->views[i].offset, next);
    next += p->views[i].size;
  }
  ck_assert_uint_eq(next, p->n_params);
  const zpt_view *v = zpt_params_find(p, "conv1.bias");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->size, 6);
  ck_assert_ptr_null(zpt_params_find(p, "nope"));
  ck_assert_int_eq(zpt_params_lookup(p, "nope", &v), ZPT_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "'nope'"));
  ck_assert_uint_eq(zpt_params_view_of(p, 0), 0);
  ck_assert_uint_eq(zpt_params_view_of(p, 149), 0);
  ck_assert_uint_eq(zpt_params_view_of(p, 150), 1);
  ck_assert_uint_eq(zpt_params_view_of(p, 155), 1);
  ck_assert_uint_eq(zpt_params_view_of(p, 315), 2);
  char buf[64];
  zpt_view_shape_str(&p->views[0], buf, sizeof buf);
  ck_assert_str_eq(buf, "6x1x5x5");
  /* values survive growth of the store */
  zpt_view_data(p, &p->views[1])[3] = 2.5f;
  for (int k = 0; k < 40; k++) {
    char name[32];
    snprintf(name, sizeof name, "grow%d", k);
    size_t s[] = {100};
    ck_assert_int_eq(zpt_params_add(p, name, 1, s, NULL), ZPT_OK);
  }
  ck_assert(p->theta[o2 + 3] == 2.5f);
  ck_assert(p->theta[p->n_params - 1] == 0.0f);
  zpt_params_free(p);
  zpt_params_free(NULL);
}
END_TEST

START_TEST(test_params_errors) {
  zpt_params *p = zpt_params_alloc();
  size_t s[] = {3, 4}, z[] = {3, 0};
  ck_assert_int_eq(zpt_params_add(p, "w", 2, s, NULL), ZPT_OK);
  ck_assert_int_eq(zpt_params_add(p, "w", 2, s, NULL), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "registered twice"));
  ck_assert_int_eq(zpt_params_add(p, "", 2, s, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_params_add(p, "bad name", 2, s, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_params_add(p, NULL, 2, s, NULL), ZPT_EINVAL);
  char longname[100];
  memset(longname, 'a', 99);
  longname[99] = 0;
  ck_assert_int_eq(zpt_params_add(p, longname, 2, s, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_params_add(p, "zero", 2, z, NULL), ZPT_EINVAL);
  ck_assert_ptr_nonnull(strstr(zpt_error_message(), "dimension 1 is 0"));
  ck_assert_int_eq(zpt_params_add(p, "dims", 0, s, NULL), ZPT_EINVAL);
  ck_assert_int_eq(zpt_params_add(p, "dims", 5, s, NULL), ZPT_EINVAL);
  size_t huge[] = {SIZE_MAX / 2, 4};
  ck_assert_int_eq(zpt_params_add(p, "huge", 2, huge, NULL), ZPT_ERANGE);
  ck_assert_uint_eq(p->n_params, 12); /* failed adds leave the store unchanged */
  ck_assert_uint_eq(p->n_views, 1);
  zpt_params_free(p);
}
END_TEST

START_TEST(test_rng_derivation) {
  gsl_rng *a = zpt_rng_alloc(7, ZPT_STREAM_PERTURB, 3, 2);
  gsl_rng *b = zpt_rng_alloc(7, ZPT_STREAM_PERTURB, 3, 2);
  ck_assert_ptr_nonnull(a);
  for (int k = 0; k < 1000; k++)
    ck_assert_uint_eq(zpt_rng_u64(a), zpt_rng_u64(b));
  /* every coordinate matters */
  uint64_t tuples[][4] = {{7, 2, 3, 2}, {8, 2, 3, 2}, {7, 3, 3, 2},
                          {7, 2, 4, 2}, {7, 2, 3, 3}, {7, 2, 2, 3}};
  uint64_t first[6];
  for (int t = 0; t < 6; t++) {
    zpt_rng_derive(a, tuples[t][0], tuples[t][1], tuples[t][2], tuples[t][3]);
    first[t] = zpt_rng_u64(a);
    for (int s = 0; s < t; s++)
      ck_assert_msg(first[t] != first[s], "streams %d and %d coincide", s, t);
  }
  /* many derived streams: no repeated first outputs, and their first
   * Gaussians are N(0,1) (mean and variance within 5 sigma) */
  enum { NS = 20000 };
  uint64_t *seen = malloc(NS * sizeof *seen);
  double sum = 0, sum2 = 0;
  for (int t = 0; t < NS; t++) {
    zpt_rng_derive(a, 1, ZPT_STREAM_PERTURB, (uint64_t)t / 20, (uint64_t)t % 20);
    seen[t] = zpt_rng_u64(a);
    double g = gsl_ran_gaussian_ziggurat(a, 1.0);
    sum += g;
    sum2 += g * g;
  }
  for (int t = 1; t < NS; t++)
    for (int s = t - 1; s >= 0 && s >= t - 50; s--)
      ck_assert(seen[t] != seen[s]);
  double mean = sum / NS, var = sum2 / NS - mean * mean;
  ck_assert_msg(fabs(mean) < 5.0 / sqrt(NS), "mean %g", mean);
  ck_assert_msg(fabs(var - 1) < 5.0 * sqrt(2.0 / NS), "var %g", var);
  free(seen);
  zpt_rng_free(a);
  zpt_rng_free(b);
  zpt_rng_free(NULL);
}
END_TEST

START_TEST(test_rng_uniformity) {
  gsl_rng *r = zpt_rng_alloc(11, ZPT_STREAM_TEST, 0, 0);
  enum { N = 200000, K = 10 };
  int count[K] = {0};
  double s = 0;
  for (int i = 0; i < N; i++) {
    count[zpt_rng_below(r, K)]++;
    double u = gsl_rng_uniform(r);
    ck_assert(u >= 0 && u < 1);
    s += u;
  }
  double chi2 = 0;
  for (int k = 0; k < K; k++)
    chi2 += (count[k] - N / K) * (double)(count[k] - N / K) / (N / K);
  ck_assert_msg(chi2 < 30, "chi2 %g over %d bins", chi2, K); /* p ~ 4e-4 */
  ck_assert_msg(fabs(s / N - 0.5) < 0.005, "mean of uniforms %g", s / N);
  ck_assert_uint_eq(zpt_rng_below(r, 1), 0);
  ck_assert_uint_eq(zpt_rng_below(r, 0), 0);
  size_t perm[50];
  int hit[50] = {0};
  zpt_rng_permutation(r, perm, 50);
  for (int i = 0; i < 50; i++)
    hit[perm[i]]++;
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(hit[i], 1);
  zpt_rng_free(r);
}
END_TEST

START_TEST(test_rng_save_restore) {
  gsl_rng *r = zpt_rng_alloc(99, ZPT_STREAM_BATCH, 0, 0);
  for (int k = 0; k < 137; k++)
    gsl_ran_gaussian_ziggurat(r, 1.0);
  uint64_t st[ZPT_RNG_STATE_WORDS];
  ck_assert_int_eq(zpt_rng_get_state(r, st), ZPT_OK);
  double expect[500];
  for (int k = 0; k < 500; k++)
    expect[k] = gsl_ran_gaussian_ziggurat(r, 1.0) + gsl_rng_uniform(r);
  gsl_rng *s = zpt_rng_alloc(1, 1, 1, 1);
  ck_assert_int_eq(zpt_rng_set_state(s, st), ZPT_OK);
  for (int k = 0; k < 500; k++) {
    double got = gsl_ran_gaussian_ziggurat(s, 1.0) + gsl_rng_uniform(s);
    ck_assert_msg(memcmp(&got, &expect[k], sizeof got) == 0, "draw %d differs", k);
  }
  uint64_t zero[ZPT_RNG_STATE_WORDS] = {0};
  ck_assert_int_eq(zpt_rng_set_state(s, zero), ZPT_EINVAL);
  gsl_rng *other = gsl_rng_alloc(gsl_rng_mt19937);
  ck_assert_int_eq(zpt_rng_get_state(other, st), ZPT_EINVAL);
  ck_assert_int_eq(zpt_rng_set_state(other, st), ZPT_EINVAL);
  gsl_rng_free(other);
  /* gsl_rng_set also works and is deterministic */
  gsl_rng_set(s, 5);
  uint64_t x = zpt_rng_u64(s);
  gsl_rng_set(s, 5);
  ck_assert_uint_eq(zpt_rng_u64(s), x);
  float g[4];
  zpt_rng_gaussians(s, g, 4, 2.0);
  ck_assert(isfinite(g[0]) && isfinite(g[3]));
  zpt_rng_free(r);
  zpt_rng_free(s);
}
END_TEST

START_TEST(test_timer_progress) {
  double t0 = zpt_now();
  double t1 = zpt_now();
  ck_assert(t1 >= t0);
  ck_assert_uint_gt(zpt_peak_rss_bytes(), 0);
  char path[300];
  snprintf(path, sizeof path, "%s/progress.txt", zpt_test_tmpdir());
  FILE *f = fopen(path, "w+");
  zpt_progress p;
  zpt_progress_init(&p, f, 0.0);
  ck_assert_int_eq(p.is_tty, 0); /* a file is not a terminal: draws nothing */
  zpt_progress_update(&p, 1, "iter %d", 1);
  zpt_progress_finish(&p);
  ck_assert_int_eq((int)ftell(f), 0);
  zpt_progress_set_tty(&p, 1);
  zpt_progress_update(&p, 1, "iter %d", 2);
  zpt_progress_update(&p, 1, "iter %d", 3);
  zpt_progress_finish(&p);
  fflush(f);
  rewind(f);
  char buf[128] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  ck_assert_str_eq(buf, "\riter 2\033[K\riter 3\033[K\n");
  ck_assert_uint_eq(n, strlen(buf));
  char d[32];
  zpt_format_duration(12.34, d, sizeof d);
  ck_assert_str_eq(d, "12.3s");
  zpt_format_duration(185, d, sizeof d);
  ck_assert_str_eq(d, "3m05s");
  zpt_format_duration(3720, d, sizeof d);
  ck_assert_str_eq(d, "1h02m");
  zpt_format_duration(-1, d, sizeof d);
  ck_assert_str_eq(d, "?");
}
END_TEST

START_TEST(test_threads) {
  int before = zpt_get_threads();
  ck_assert_int_eq(zpt_set_threads(0), ZPT_EINVAL);
  ck_assert(strstr(zpt_error_message(), "expected 1..") != NULL);
  ck_assert_int_eq(zpt_set_threads(257), ZPT_EINVAL);
  ck_assert_int_eq(zpt_set_threads(1), ZPT_OK);
  ck_assert_int_eq(zpt_get_threads(), 1);
  setenv("ZPT_THREADS", "3", 1);
  ck_assert_int_eq(zpt_threads_default(), 3);
  const char *bad[] = {"0", "-2", "x", "2x", "999", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv("ZPT_THREADS", bad[i], 1);
    ck_assert_int_ge(zpt_threads_default(), 1); /* falls back to the CPU count */
    ck_assert_int_le(zpt_threads_default(), 256);
  }
  unsetenv("ZPT_THREADS");
  ck_assert_int_ge(zpt_threads_default(), 1);
  ck_assert_int_eq(zpt_set_threads(before >= 1 ? before : 1), ZPT_OK);
}
END_TEST

static Suite *core_suite(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_status_messages);
  tcase_add_test(tc, test_try_macro);
  tcase_add_test(tc, test_alloc);
  tcase_add_test(tc, test_params_views);
  tcase_add_test(tc, test_params_errors);
  tcase_add_test(tc, test_rng_derivation);
  tcase_add_test(tc, test_rng_uniformity);
  tcase_add_test(tc, test_rng_save_restore);
  tcase_add_test(tc, test_timer_progress);
  tcase_add_test(tc, test_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return zpt_test_run(core_suite()); }
