/* Run configuration: INI files checked against one schema table.
 *
 * Every key the program understands is a row of the schema (section, key,
 * type, default, allowed values or range, one-line doc).  A zpt_config holds
 * one value per schema row, starting at the defaults; parsing a file or a
 * `--set section.key=value` override validates each value against its row
 * and records where it came from ("run.ini:12", "--set", "default").  The
 * resolved configuration (every key, defaults filled in) is written back as
 * INI with the docs as comments and re-parses to the same values.
 * docs/config.md is generated from the same table (`zoptic config-doc`).
 *
 * Errors are ZPT_EINVAL with messages such as
 *   run.ini:12: [zo] Q = '0': expected an integer >= 1
 *   --set zo.method=zo-x: [zo] method = 'zo-x': expected one of zo-i|zo-co|zo-np
 */
#ifndef ZPT_CONFIG_H
#define ZPT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ZPT_CFG_INT,    /* signed integer (long long) */
  ZPT_CFG_U64,    /* unsigned 64-bit integer (seeds, budgets) */
  ZPT_CFG_DOUBLE, /* finite real number */
  ZPT_CFG_BOOL,   /* true|false (also yes|no, on|off, 1|0 on input) */
  ZPT_CFG_STRING, /* free text on one line */
  ZPT_CFG_ENUM    /* one of `choices` ("a|b|c") */
} zpt_cfg_type;

/* Range flags for numeric keys. */
enum {
  ZPT_CFG_MIN = 1,      /* value >= min */
  ZPT_CFG_MAX = 2,      /* value <= max */
  ZPT_CFG_MIN_OPEN = 4, /* value > min */
  ZPT_CFG_MAX_OPEN = 8  /* value < max */
};

typedef struct {
  const char *section;
  const char *key;
  zpt_cfg_type type;
  const char *def;     /* default value as text; NULL: the key is required */
  const char *choices; /* ZPT_CFG_ENUM: allowed values "a|b|c" */
  int range;           /* ZPT_CFG_MIN | ... for numeric keys */
  double min, max;
  const char *doc;     /* one line */
} zpt_cfg_key;

/* The schema table (n rows), in section order data, model, chip, zo,
 * train, output. */
const zpt_cfg_key *zpt_config_schema(size_t *n);
/* The row of "section.key", or NULL. */
const zpt_cfg_key *zpt_config_key(const char *section, const char *key);

typedef struct zpt_config zpt_config;

/* A configuration holding every default (required keys unset). */
zpt_config *zpt_config_alloc(void);
void zpt_config_free(zpt_config *c);
/* A deep copy; NULL on failure. */
zpt_config *zpt_config_clone(const zpt_config *c);

/* Parses an INI file / text into c (values override earlier ones).  `origin`
 * names the text in messages (a file name).  Does not check required keys. */
int zpt_config_parse_file(zpt_config *c, const char *path);
int zpt_config_parse_string(zpt_config *c, const char *text,
                            const char *origin);

/* Applies one override "section.key=value"; errors name "--set". */
int zpt_config_set(zpt_config *c, const char *assignment);
/* Sets "section.key" to `value` (validated); `origin` is recorded. */
int zpt_config_set_value(zpt_config *c, const char *name, const char *value,
                         const char *origin);

/* ZPT_EINVAL naming `origin` and the first missing required key. */
int zpt_config_check_required(const zpt_config *c, const char *origin);

/* Typed getters of "section.key".  ZPT_ENOTFOUND for a name that is not in
 * the schema, ZPT_EINVAL when the key's type differs (an enum reads as a
 * string), when it is unset (a required key never given). */
int zpt_config_int(const zpt_config *c, const char *name, long long *v);
int zpt_config_u64(const zpt_config *c, const char *name, uint64_t *v);
int zpt_config_double(const zpt_config *c, const char *name, double *v);
int zpt_config_bool(const zpt_config *c, const char *name, int *v);
int zpt_config_string(const zpt_config *c, const char *name, const char **v);
/* Where the value came from: "default", "FILE:LINE", "--set", ... */
const char *zpt_config_origin(const zpt_config *c, const char *name);

/* Writes the resolved configuration as INI (every key, doc comments). */
int zpt_config_write(const zpt_config *c, FILE *out);
/* The same as a string (caller frees with zpt_free); NULL on failure. */
char *zpt_config_to_string(const zpt_config *c);

/* Writes the schema as Markdown (docs/config.md). */
int zpt_config_write_doc(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
