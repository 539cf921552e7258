/* Shared helpers for the libcheck suites. */
#ifndef ZPT_TESTUTIL_H
#define ZPT_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Largest |a-b| / max(1, |b|) over n values; *where receives its index. */
double zpt_test_max_rel_err(const float *a, const float *b, size_t n, size_t *where);

/* Asserts the worst relative difference is <= tol, reporting it. */
#define ZPT_ASSERT_CLOSE(a, b, n, tol, what)                                  \
  do {                                                                        \
    size_t zw_;                                                               \
    double ze_ = zpt_test_max_rel_err((a), (b), (n), &zw_);                   \
    ck_assert_msg(ze_ <= (tol), "%s: worst relative error %.3g at %zu "      \
                  "(%.9g vs %.9g), tolerance %.3g", (what), ze_, zw_,         \
                  (double)(a)[zw_], (double)(b)[zw_], (double)(tol));         \
  } while (0)

/* Runs a suite and returns the process exit status. */
int zpt_test_run(Suite *s);

/* A fresh temporary directory for this test process (created once). */
const char *zpt_test_tmpdir(void);

/* Writes `len` bytes to `path`; returns 0 on success. */
int zpt_test_write_file(const char *path, const void *data, size_t len);

#endif
