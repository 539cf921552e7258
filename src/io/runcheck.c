/* A checkpoint against its run directory's config.ini (runcheck.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/runcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "io/runlog.h"

/* The value of "section.key" as text ("(unset)" for a required key never
 * given); doubles in %.17g so that two different values never print alike. */
static void value_text(const zpt_config *c, const zpt_cfg_key *k, char *buf, size_t cap) {
  char name[160];
  snprintf(name, sizeof name, "%s.%s", k->section, k->key);
  long long i;
  uint64_t u;
  double d;
  int b;
  const char *s;
  int rc = ZPT_EINVAL;
  switch (k->type) {
  case ZPT_CFG_INT:
    if ((rc = zpt_config_int(c, name, &i)) == ZPT_OK)
      snprintf(buf, cap, "%lld", i);
    break;
  case ZPT_CFG_U64:
    if ((rc = zpt_config_u64(c, name, &u)) == ZPT_OK)
      snprintf(buf, cap, "%" PRIu64, u);
    break;
  case ZPT_CFG_DOUBLE:
    if ((rc = zpt_config_double(c, name, &d)) == ZPT_OK)
      snprintf(buf, cap, "%.17g", d);
    break;
  case ZPT_CFG_BOOL:
    if ((rc = zpt_config_bool(c, name, &b)) == ZPT_OK)
      snprintf(buf, cap, "%s", b ? "true" : "false");
    break;
  case ZPT_CFG_STRING:
  case ZPT_CFG_ENUM:
    if ((rc = zpt_config_string(c, name, &s)) == ZPT_OK)
      snprintf(buf, cap, "'%s'", s);
    break;
  }
  if (rc != ZPT_OK)
    snprintf(buf, cap, "(unset)");
}

int zpt_config_first_difference(const zpt_config *a, const zpt_config *b, const char *skip,
                                char *desc, size_t cap) {
  size_t n;
  const zpt_cfg_key *schema = zpt_config_schema(&n);
  for (size_t i = 0; i < n; i++) {
    const zpt_cfg_key *k = &schema[i];
    if (skip && !strcmp(k->section, skip))
      continue;
    char va[1100], vb[1100];
    value_text(a, k, va, sizeof va);
    value_text(b, k, vb, sizeof vb);
    if (strcmp(va, vb) != 0) {
      snprintf(desc, cap, "[%s] %s = %.300s / %.300s", k->section, k->key, va, vb);
      return 1;
    }
  }
  return 0;
}

int zpt_rundir_check_checkpoint(const char *dir, const zpt_config *ckpt_cfg) {
  char ini[4200];
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_CONFIG, ini, sizeof ini));
  if (access(ini, F_OK) != 0)
    return ZPT_OK; /* nothing to compare with */
  zpt_config *run = zpt_config_alloc();
  if (!run)
    return zpt_error_status();
  int rc = zpt_config_parse_file(run, ini);
  char diff[800];
  if (rc == ZPT_OK && zpt_config_first_difference(ckpt_cfg, run, "output", diff, sizeof diff))
    rc = zpt_fail(ZPT_EFORMAT,
                  "%s/%s does not belong to the run in %s: its configuration differs from "
                  "%s at %s (checkpoint / config.ini); a checkpoint copied from another run? "
                  "refusing to resume", dir, ZPT_RUN_CHECKPOINT, dir, ZPT_RUN_CONFIG, diff);
  zpt_config_free(run);
  return rc;
}
