/* The benchmark's only translation unit that includes <cblas.h> (GSL's
 * gsl_cblas.h, pulled in elsewhere, declares the same names). */
#include <cblas.h>

#include "core/timer.h"

double bench_sgemm_seconds(int n, float *a, float *b, float *c);
double bench_cgemm_seconds(int n, float *a, float *b, float *c);

/* One n x n x n sgemm, wall seconds. */
double bench_sgemm_seconds(int n, float *a, float *b, float *c) {
  double t0 = zpt_now();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  return zpt_now() - t0;
}

/* One n x n x n cgemm (interleaved complex), wall seconds. */
double bench_cgemm_seconds(int n, float *a, float *b, float *c) {
  const float one[2] = {1, 0}, zero[2] = {0, 0};
  double t0 = zpt_now();
  cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, one, a, n, b, n, zero, c, n);
  return zpt_now() - t0;
}
