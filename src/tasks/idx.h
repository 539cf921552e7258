/* data.test_path (task idx): the fixed test set of an IDX pair, e.g. the
 * official t10k files, instead of a random split of data.path. */
#ifndef ZPT_TASKS_IDX_H
#define ZPT_TASKS_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "io/config.h"

/* The labels file of an images IDX file: its name with images -> labels
 * and idx3 -> idx1 (t10k-images-idx3-ubyte -> t10k-labels-idx1-ubyte);
 * ZPT_EINVAL naming key and labels_key when the name has no "images". */
int zpt_setup_idx_labels_path(const char *key, const char *images, const char *labels_key,
                              char *out, size_t len);

/* Loads test_path and its labels (data.test_labels, or the name with
 * images -> labels, idx3 -> idx1) with n_classes classes, scaled like the
 * training images; keeps its first n_test samples (0: all); takes *all as
 * the training set (its first n_train, 0: all) and sets *all = NULL.
 * ZPT_ENOTFOUND / ZPT_EINVAL naming the key and the file. */
int zpt_setup_idx_fixed_test(const zpt_config *cfg, const char *test_path,
                             size_t n_classes, zpt_dataset **all,
                             uint64_t n_train, uint64_t n_test,
                             zpt_dataset **train, zpt_dataset **test);

#endif
