/* Absolute data paths of a configuration (io/datapaths.h). */
#include "io/datapaths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

const char *zpt_data_default_path(const char *task) {
  if (!strcmp(task, "mnist10k"))
    return "datasets/mnist/";
  if (!strcmp(task, "digits"))
    return "datasets/digits/digits.csv.gz";
  if (!strcmp(task, "cifar10"))
    return "datasets/cifar10/";
  return NULL;
}

/* out = base/rel (rel unchanged if absolute), canonical when it exists;
 * keeps a trailing '/' (the directory form of data.path). */
static int absolute(const char *key, const char *base, const char *rel, char *out,
                    size_t len) {
  char joined[2 * PATH_MAX + 2], real[PATH_MAX];
  int n = rel[0] == '/' ? snprintf(joined, sizeof joined, "%s", rel)
                        : snprintf(joined, sizeof joined, "%s/%s", base, rel);
  if (n < 0 || (size_t)n >= sizeof joined)
    return zpt_fail(ZPT_ERANGE, "%s = %s: the path is too long", key, rel);
  const char *src = joined;
  size_t rl = strlen(rel);
  if (realpath(joined, real)) {
    if (rl > 1 && rel[rl - 1] == '/' && strlen(real) + 1 < sizeof real)
      strcat(real, "/");
    src = real;
  }
  if (strlen(src) >= len)
    return zpt_fail(ZPT_ERANGE, "%s = %s: the path is too long", key, rel);
  snprintf(out, len, "%s", src);
  return ZPT_OK;
}

int zpt_absolute_path(const char *key, const char *path, char *out, size_t len) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return zpt_fail(ZPT_EIO, "cannot read the working directory");
  return absolute(key, cwd, path, out, len);
}

/* Whether origin is "config_path:line": the key was written in that file. */
static int from_file(const char *origin, const char *config_path) {
  size_t n = config_path ? strlen(config_path) : 0;
  return n && origin && !strncmp(origin, config_path, n) && origin[n] == ':';
}

int zpt_config_resolve_data_paths(zpt_config *cfg, const char *config_path) {
  char cwd[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], out[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return zpt_fail(ZPT_EIO, "cannot read the working directory");
  if (config_path) {
    snprintf(tmp, sizeof tmp, "%s", config_path);
    ZPT_TRY(absolute("config", cwd, dirname(tmp), dir, sizeof dir));
  }
  const char *keys[4] = {"data.path", "data.labels", "data.test_path", "data.test_labels"};
  for (int k = 0; k < 4; k++) {
    const char *v, *origin, *task, *base = cwd;
    ZPT_TRY(zpt_config_string(cfg, keys[k], &v));
    origin = zpt_config_origin(cfg, keys[k]);
    if (!*v) {
      if (k >= 1)
        continue;
      if (zpt_config_string(cfg, "data.task", &task) != ZPT_OK) {
        zpt_error_clear(); /* no task (a trainer's [zo]-only config): no default */
        continue;
      }
      if (!(v = zpt_data_default_path(task)))
        continue;
    } else if (from_file(origin, config_path)) {
      base = dir;
    }
    ZPT_TRY(absolute(keys[k], base, v, out, sizeof out));
    char note[PATH_MAX + 64];
    snprintf(note, sizeof note, "%s, made absolute", origin ? origin : "?");
    ZPT_TRY(zpt_config_set_value(cfg, keys[k], out, note));
  }
  return ZPT_OK;
}
