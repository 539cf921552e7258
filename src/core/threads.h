/* Thread control for the BLAS the library links (OpenBLAS).
 *
 * zoptic itself runs one thread; dense, conv and mesh (matrix route) layers
 * spend their time in sgemm / cgemm, whose threads OpenBLAS owns.  The
 * number of OpenBLAS threads is process-wide state of OpenBLAS, not of
 * zoptic: zpt_set_threads changes it for every caller in the process.
 *
 * Environment: ZPT_THREADS=N (N >= 1) chooses the count that
 * zpt_threads_default() returns; the CLI and the benchmarks call
 * zpt_set_threads(zpt_threads_default()) at start.  Without it the default
 * is the number of online CPUs (docs/performance.md, "Threads", has the
 * measurement behind this choice).  Do not also set OMP_NUM_THREADS /
 * OPENBLAS_NUM_THREADS to a product that exceeds the cores: the library
 * never nests its own threads inside BLAS threads.
 */
#ifndef ZPT_THREADS_H
#define ZPT_THREADS_H

/* Sets the number of OpenBLAS threads (1 <= n <= 256).  ZPT_EINVAL
 * otherwise. */
int zpt_set_threads(int n);

/* The number of threads OpenBLAS currently uses. */
int zpt_get_threads(void);

/* ZPT_THREADS from the environment if it holds an integer in [1, 256],
 * else the number of online CPUs (1 if unknown). */
int zpt_threads_default(void);

#endif
