/* Data paths of a configuration made absolute, so that a run's config.ini
 * and checkpoint name files that `eval` and `train --resume` find from any
 * working directory.  One home for these rules: the zoptic program and the
 * Python package (python/zoptic/model.py) both call them. */
#ifndef ZPT_IO_DATAPATHS_H
#define ZPT_IO_DATAPATHS_H

#include <stddef.h>

#include "io/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file or folder a task reads when data.path is empty (relative to the
 * working directory): datasets/mnist/, datasets/digits/digits.csv.gz,
 * datasets/cifar10/; NULL for a task without one. */
const char *zpt_data_default_path(const char *task);

/* Makes data.path, data.labels, data.test_path and data.test_labels of cfg
 * absolute:
 *   written in the config file config_path (their origin is
 *     "config_path:line"): relative to that file's folder (a config moves
 *     with its data);
 *   set any other way (--set, a Python override, a config given as text,
 *     config_path NULL): relative to the working directory;
 *   data.path left empty: the task's default (zpt_data_default_path)
 *     relative to the working directory; none without data.task.
 * A path that exists is canonicalised (realpath; a trailing '/' is kept).
 * ZPT_ERANGE if a result does not fit PATH_MAX. */
int zpt_config_resolve_data_paths(zpt_config *cfg, const char *config_path);

/* out = path made absolute against the working directory (canonical when
 * it exists); key names the setting in messages. */
int zpt_absolute_path(const char *key, const char *path, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
