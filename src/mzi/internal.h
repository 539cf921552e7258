/* Helpers shared by the src/mzi layer constructors (not public API). */
#ifndef ZPT_MZI_INTERNAL_H
#define ZPT_MZI_INTERNAL_H

#include <stddef.h>

#include "core/params.h"

/* Registers the view "<name><suffix>" in p (offset may be NULL); failures
 * carry the layer name. */
int zpt_mzi_add_view(zpt_params *p, const char *name, const char *suffix, int ndim,
                     const size_t *shape, size_t *offset);

/* Checks a layer name fits zpt_layer.name and leaves room for view suffixes. */
int zpt_mzi_check_name(const char *what, const char *name);

#endif
