/* Thread control: both cores, without oversubscription.
 *
 * Two places can use threads: OpenBLAS inside each sgemm / cgemm call, and
 * zpt_model_forward_variations, which deals the variations of a batched
 * call to zpt_model_set_threads(m, n) threads (nn/model.h).  Using both at
 * once oversubscribes the cores.  The library's policy, chosen by the
 * benchmark (docs/performance.md, "Threads"):
 *
 *   zpt_set_threads(1);                               single-threaded BLAS
 *   zpt_model_set_threads(m, zpt_threads_default());  threads over variations
 *
 * Per-variation GEMMs are small (B = 100 rows), where OpenBLAS's own
 * threading gains little; whole variations split evenly.  Code that runs
 * few large GEMMs instead (one big plain forward) can do the opposite.
 *
 * Environment: ZPT_THREADS=N (1 <= N <= 256) is what zpt_threads_default()
 * returns; without it, the number of online CPUs.  OpenBLAS's own
 * OPENBLAS_NUM_THREADS is overridden by zpt_set_threads.  The number of
 * OpenBLAS threads is process-wide state of OpenBLAS, not of zoptic.
 */
#ifndef ZPT_THREADS_H
#define ZPT_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of OpenBLAS threads (1 <= n <= 256) for the whole
 * process.  ZPT_EINVAL otherwise. */
int zpt_set_threads(int n);

/* The number of threads OpenBLAS currently uses. */
int zpt_get_threads(void);

/* ZPT_THREADS from the environment if it holds an integer in [1, 256],
 * else the number of online CPUs (1 if unknown). */
int zpt_threads_default(void);

#ifdef __cplusplus
}
#endif
#endif
