/* The one translation unit that includes <cblas.h> (OpenBLAS): GSL's
 * gsl_cblas.h, pulled in by gsl_randist.h, declares the same names. */
#include <cblas.h>
#include <limits.h>

#include "nn/nn_internal.h"

int nn_sgemm(int trans_b, size_t M, size_t N, size_t K, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
      ldc > INT_MAX)
    return zpt_fail(ZPT_ERANGE, "matrix product %zu x %zu x %zu exceeds the BLAS int range",
                    M, N, K);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  return ZPT_OK;
}

