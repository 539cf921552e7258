/* Paths in a new run's configuration (zoptic train CONFIG). */
#ifndef ZPT_CLI_PATHS_H
#define ZPT_CLI_PATHS_H

#include <stddef.h>

#include "io/config.h"

/* Makes the data paths of cfg absolute, so that the run's config.ini and
 * checkpoint name files that `eval` and `train --resume` find from any
 * working directory:
 *   data.path / data.labels set in the config FILE: relative to the folder
 *     of config_path (a config moves with its data);
 *   set by --set: relative to the working directory (as a shell user
 *     expects);
 *   data.path left empty: the task's default (datasets/... for mnist10k,
 *     digits, cifar10; see src/io/setup.c) relative to the working
 *     directory, as before.
 * A path that exists is canonicalised (realpath).  ZPT_ERANGE if a result
 * does not fit PATH_MAX. */
int zpt_cli_resolve_data_paths(zpt_config *cfg, const char *config_path);

/* out = path made absolute against the working directory (canonical when
 * it exists); key names the setting in messages. */
int zpt_cli_absolute_path(const char *key, const char *path, char *out, size_t len);

#endif
