/* data.test_path: a fixed test IDX pair for data.task = idx (setup_idx.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/setup_idx.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/data.h"

#define PATH_LEN 4096

/* data.test_path (task idx): the fixed test set of an IDX pair, e.g. the
 * official t10k files, instead of a random split of data.path.  Takes
 * *all as the training set. */
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
  else {
    const char *at = strstr(test_path, "images");
    if (!at)
      return zpt_fail(ZPT_EINVAL, "data.test_path = %s: cannot derive the labels file "
                      "(no 'images' in the name): set data.test_labels", test_path);
    snprintf(lab, sizeof lab, "%.*slabels%s", (int)(at - test_path), test_path, at + 6);
    if (strstr(lab, "idx3"))
      memcpy(strstr(lab, "idx3"), "idx1", 4);
  }
  if (stat(test_path, &st) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "data.test_path = %s: no such file or directory", test_path);
  if (stat(lab, &st) != 0)
    return zpt_fail(ZPT_ENOTFOUND, "data.test_labels = %s: no such file or directory", lab);
  ZPT_TRY(zpt_idx_load_pair(test_path, lab, n_classes, "idx-test", test));
  if ((*test)->input_size != (*all)->input_size)
    return zpt_fail(ZPT_EINVAL, "data.test_path = %s: %zu values per image, data.path has %zu",
                    test_path, (*test)->input_size, (*all)->input_size);
  ZPT_TRY(zpt_scale_range(*test, 0.0f, 255.0f));
  if (n_test && n_test < (*test)->n) {
    zpt_dataset *head = NULL, *rest = NULL;
    ZPT_TRY(zpt_split_first(*test, (size_t)n_test, &head, &rest));
    zpt_dataset_free(rest);
    zpt_dataset_free(*test);
    *test = head;
  }
  *train = *all;
  *all = NULL;
  if (n_train && n_train < (*train)->n) { /* keep the first n_train */
    zpt_dataset *head = NULL, *rest = NULL;
    ZPT_TRY(zpt_split_first(*train, (size_t)n_train, &head, &rest));
    zpt_dataset_free(rest);
    zpt_dataset_free(*train);
    *train = head;
  }
  return ZPT_OK;
}
