/* Named-array state I/O: how a component exposes everything needed to resume
 * exactly, without knowing the file format.
 *
 * A component (the trainer, a sampler, an optimizer) saves itself by calling
 * w->put() once per named array, and restores itself by calling r->get()
 * with the same names.  The HDF5 checkpoint (src/io) implements both; tests
 * use an in-memory implementation.  Names are '/'-separated paths such as
 * "optimizer/m" or "fisher/block_12/chol"; arrays are 1-D of one element
 * type.  A reader's get() fails with ZPT_ENOTFOUND (message naming the item)
 * when the item is absent and ZPT_EFORMAT when its type or count differs
 * from what the caller expects; size() answers how many elements an item
 * holds (or ZPT_ENOTFOUND) so that variable-length state can be restored.
 */
#ifndef ZPT_STATE_H
#define ZPT_STATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_T_F32 = 1,
  ZPT_T_F64 = 2,
  ZPT_T_U64 = 3,
  ZPT_T_I64 = 4,
  ZPT_T_U8 = 5 /* bytes, also used for text */
} zpt_elem_type;

typedef struct zpt_state_writer zpt_state_writer;
struct zpt_state_writer {
  int (*put)(zpt_state_writer *w, const char *name, zpt_elem_type type,
             const void *data, size_t count);
  void *impl;
};

typedef struct zpt_state_reader zpt_state_reader;
struct zpt_state_reader {
  int (*get)(zpt_state_reader *r, const char *name, zpt_elem_type type,
             void *data, size_t count);
  int (*size)(zpt_state_reader *r, const char *name, zpt_elem_type type,
              size_t *count);
  void *impl;
};

static inline size_t zpt_elem_size(zpt_elem_type t) {
  switch (t) {
  case ZPT_T_F32: return 4;
  case ZPT_T_F64: case ZPT_T_U64: case ZPT_T_I64: return 8;
  case ZPT_T_U8: return 1;
  }
  return 0;
}

#ifdef __cplusplus
}
#endif
#endif
