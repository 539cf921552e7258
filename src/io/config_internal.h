/* Internals of the configuration shared by config.c (schema, values,
 * getters), config_parse.c (INI parsing, --set) and config_write.c (the
 * resolved config.ini, the reference).  Not a public header. */
#ifndef ZPT_IO_CONFIG_INTERNAL_H
#define ZPT_IO_CONFIG_INTERNAL_H

#include <stddef.h>

#include "io/config.h"

#define ZPT_CFG_ORIGIN_LEN 256

/* index of [section] key in the schema, or -1 */
long zpt_cfg_key_index(const char *section, const char *key);
int zpt_cfg_known_section(const char *s);
/* the sections in the order of config.ini */
const char *const *zpt_cfg_sections(size_t *n);
/* a zpt_alloc copy of s, or NULL (out of memory, reported) */
char *zpt_cfg_dup_text(const char *s);
/* "what a value of key k may be", for messages and the reference */
void zpt_cfg_describe_expected(const zpt_cfg_key *k, char *buf, size_t len);
/* parses text as the value of key k (errors name `where`), records origin */
int zpt_cfg_assign(zpt_config *c, size_t k, const char *text, const char *where,
                   const char *origin);
/* canonical text of key k's value, NULL when not set */
const char *zpt_cfg_value_text(const zpt_config *c, size_t k);

#endif
