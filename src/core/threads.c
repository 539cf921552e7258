/* OpenBLAS thread control.  Includes <cblas.h> (OpenBLAS's, which declares
 * openblas_set_num_threads) and no GSL header: gsl_cblas.h declares the
 * same cblas_* names. */
#include "core/threads.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/status.h"

#define ZPT_MAX_THREADS 256

int zpt_set_threads(int n) {
  if (n < 1 || n > ZPT_MAX_THREADS)
    return zpt_fail(ZPT_EINVAL, "zpt_set_threads: %d threads: expected 1..%d", n,
                    ZPT_MAX_THREADS);
  openblas_set_num_threads(n);
  return ZPT_OK;
}

int zpt_get_threads(void) { return openblas_get_num_threads(); }

int zpt_threads_default(void) {
  const char *s = getenv("ZPT_THREADS");
  if (s && *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!errno && *end == '\0' && v >= 1 && v <= ZPT_MAX_THREADS)
      return (int)v;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus >= 1 && cpus <= ZPT_MAX_THREADS ? (int)cpus : 1;
}
