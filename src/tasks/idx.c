/* data.test_path: a fixed test IDX pair for data.task = idx (idx.h). */
#define _POSIX_C_SOURCE 200809L
#include "tasks/idx.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/data.h"

#define PATH_LEN 4096

int zpt_setup_idx_labels_path(const char *key, const char *images, const char *labels_key,
                              char *out, size_t len) {
  const char *at = strstr(images, "images");
  if (!at)
    return zpt_fail(ZPT_EINVAL, "%s = %s: cannot derive the labels file (no 'images' in "
                    "the name): set %s", key, images, labels_key);
  snprintf(out, len, "%.*slabels%s", (int)(at - images), images, at + 6);
  char *v = strstr(out, "idx3");
  if (v)
    memcpy(v, "idx1", 4);
  return ZPT_OK;
}

int zpt_setup_idx_fixed_test(const zpt_config *cfg, const char *test_path,
                             size_t n_classes, zpt_dataset **all,
                             uint64_t n_train, uint64_t n_test,
                             zpt_dataset **train, zpt_dataset **test) {
  const char *labels;
  struct stat st;
  ZPT_TRY(zpt_config_string(cfg, "data.test_labels", &labels));
  char lab[PATH_LEN];
  if (*labels)
    snprintf(lab, sizeof lab, "%s", labels);
  else
    ZPT_TRY(zpt_setup_idx_labels_path("data.test_path", test_path, "data.test_labels", lab,
                                      sizeof lab));
  if (stat(test_path, &st) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "data.test_path = %s: no such file or directory", test_path);
  if (stat(lab, &st) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "data.test_labels = %s: no such file or directory", lab);
  ZPT_TRY(zpt_idx_load_pair(test_path, lab, n_classes, "idx-test", test));
  if ((*test)->input_size != (*all)->input_size)
    return zpt_fail(ZPT_EINVAL, "data.test_path = %s: %zu values per image, data.path has %zu",
                    test_path, (*test)->input_size, (*all)->input_size);
  ZPT_TRY(zpt_scale_range(*test, 0.0f, 255.0f));
  ZPT_TRY(zpt_dataset_keep_first(test, n_test));
  *train = *all;
  *all = NULL;
  return zpt_dataset_keep_first(train, n_train);
}
