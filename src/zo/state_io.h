/* One function for both directions of a component's checkpoint state: a
 * component that writes and reads the same named arrays lists them once,
 * in a function that takes a writer (save) or a reader (load). */
#ifndef ZPT_ZO_STATE_IO_H
#define ZPT_ZO_STATE_IO_H

#include <stdio.h>

#include "core/state.h"

/* Puts the array prefix + key (n elements of type at data) through w, or
 * gets it into data through r: exactly one of w and r is non-NULL (saving
 * only reads data). */
static inline int zpt_state_xfer(zpt_state_writer *w, zpt_state_reader *r,
                                 const char *prefix, const char *key,
                                 zpt_elem_type type, void *data, size_t n) {
  char name[256];
  snprintf(name, sizeof name, "%s%s", prefix, key);
  return w ? w->put(w, name, type, data, n) : r->get(r, name, type, data, n);
}

#endif
