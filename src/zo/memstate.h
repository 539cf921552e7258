/* An in-memory implementation of the named-array state writer/reader of
 * core/state.h: checkpoints held in RAM, for tests and for callers that
 * want a snapshot of a trainer without a file (e.g. to roll back).
 *
 *   zpt_memstate *m = zpt_memstate_alloc();
 *   zpt_state_writer w; zpt_memstate_writer(m, &w);
 *   zpt_trainer_save(t, &w);
 *   zpt_state_reader r; zpt_memstate_reader(m, &r);
 *   zpt_trainer_load(t2, &r);
 *   zpt_memstate_free(m);
 *
 * put() of a name already present fails with ZPT_EINVAL (a component that
 * writes a name twice has a bug); get() fails with ZPT_ENOTFOUND naming the
 * item, or ZPT_EFORMAT when the type or count differs.
 */
#ifndef ZPT_ZO_MEMSTATE_H
#define ZPT_ZO_MEMSTATE_H

#include <stddef.h>

#include "core/state.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zpt_memstate zpt_memstate;

zpt_memstate *zpt_memstate_alloc(void);
void zpt_memstate_free(zpt_memstate *m);

/* Writer / reader bound to m (they hold no other resources). */
void zpt_memstate_writer(zpt_memstate *m, zpt_state_writer *w);
void zpt_memstate_reader(zpt_memstate *m, zpt_state_reader *r);

/* Number of items; name of item i (in insertion order). */
size_t zpt_memstate_count(const zpt_memstate *m);
const char *zpt_memstate_name(const zpt_memstate *m, size_t i);

/* Direct access for tests: the stored data of `name` (NULL if absent). */
void *zpt_memstate_data(zpt_memstate *m, const char *name, zpt_elem_type *type,
                        size_t *count);

#ifdef __cplusplus
}
#endif
#endif
