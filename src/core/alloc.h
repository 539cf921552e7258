/* Checked, aligned allocation.
 *
 * Every buffer that holds activations, parameters or perturbations is
 * 64-byte aligned (cache line, AVX-512 friendly).  Allocation failures are
 * reported through zpt_fail() with what was being allocated, its size and
 * the source location, so a user sees "out of memory allocating 38.4 MB for
 * fisher block 12 (src/zo/fisher.c:88)" instead of a crash.
 */
#ifndef ZPT_ALLOC_H
#define ZPT_ALLOC_H

#include <stddef.h>

#include "core/complex.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPT_ALIGN 64

/* Aligned allocation of `bytes` (0 allowed: returns a valid unique pointer).
 * Returns NULL and records ZPT_ENOMEM on failure. */
void *zpt_alloc_at(size_t bytes, const char *what, const char *file, int line);
/* As zpt_alloc_at, and the memory is zeroed. */
void *zpt_zalloc_at(size_t bytes, const char *what, const char *file, int line);
/* Frees memory from zpt_alloc / zpt_zalloc; NULL is a no-op. */
void zpt_free(void *p);

/* Overflow-checked n * size; returns 0 and records ZPT_ERANGE on overflow
 * (an allocation of 0 bytes is then refused by the macros below). */
int zpt_mul_size(size_t n, size_t size, size_t *out);

#define zpt_alloc(bytes, what) zpt_alloc_at((bytes), (what), __FILE__, __LINE__)
#define zpt_zalloc(bytes, what) zpt_zalloc_at((bytes), (what), __FILE__, __LINE__)

/* Typed helpers: n elements, zeroed.  NULL on failure (message recorded). */
void *zpt_array_at(size_t n, size_t elem, const char *what, const char *file,
                   int line);
#define zpt_floats(n, what) \
  ((float *)zpt_array_at((n), sizeof(float), (what), __FILE__, __LINE__))
#define zpt_doubles(n, what) \
  ((double *)zpt_array_at((n), sizeof(double), (what), __FILE__, __LINE__))
#define zpt_cfloats(n, what) \
  ((zpt_cfloat *)zpt_array_at((n), sizeof(zpt_cfloat), (what), __FILE__, __LINE__))
#define zpt_new(type, what) \
  ((type *)zpt_array_at(1, sizeof(type), (what), __FILE__, __LINE__))
#define zpt_new_array(type, n, what) \
  ((type *)zpt_array_at((n), sizeof(type), (what), __FILE__, __LINE__))

/* Growable, aligned buffer reused across calls (workspaces). */
typedef struct {
  void *data;
  size_t bytes;
} zpt_buffer;

/* Ensures buf holds at least `bytes`; old contents are NOT preserved. */
int zpt_buffer_reserve(zpt_buffer *buf, size_t bytes, const char *what);
void zpt_buffer_release(zpt_buffer *buf);

#ifdef __cplusplus
}
#endif
#endif
