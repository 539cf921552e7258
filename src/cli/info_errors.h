/* `zoptic info --errors` (info_errors.c). */
#ifndef ZPT_CLI_INFO_ERRORS_H
#define ZPT_CLI_INFO_ERRORS_H

#include <stddef.h>

#include "io/checkpoint.h"

/* Prints every chip/<layer>/... item group of the state items with its
 * meaning, one value per line. */
int zpt_info_print_errors(zpt_ckpt_reader *r, const zpt_ckpt_item *items, size_t n_items);

#endif
