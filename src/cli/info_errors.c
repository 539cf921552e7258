/* `zoptic info --errors`: the chip's realised fabrication errors stored in
 * a checkpoint (mzi/chip_errors.h), one line per value with its meaning. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/info_errors.h"
#include "io/checkpoint.h"
#include "zoptic.h"

static int get_f64(zpt_state_reader *sr, const char *layer, const char *what, double *buf,
                   size_t n) {
  char name[ZPT_CKPT_NAME_MAX + 64];
  snprintf(name, sizeof name, "chip/%.200s/%s", layer, what);
  return sr->get(sr, name, ZPT_T_F64, buf, n);
}

static int print_layer(zpt_state_reader *sr, const char *layer) {
  char name[ZPT_CKPT_NAME_MAX + 64];
  uint64_t shape[2];
  snprintf(name, sizeof name, "chip/%.200s/shape", layer);
  ZPT_TRY(sr->get(sr, name, ZPT_T_U64, shape, 2));
  size_t n_mzi = (size_t)shape[0], K = (size_t)shape[1];
  if (n_mzi > (1u << 24) || K > (1u << 16))
    return zpt_fail(ZPT_EFORMAT, "%s: implausible shape %zu MZIs, %zu channels", name, n_mzi,
                    K);
  size_t n = 8 * n_mzi > 2 * K ? 8 * n_mzi : 2 * K;
  double *buf = zpt_doubles(n + 1, "chip errors");
  if (!buf)
    return ZPT_ENOMEM;
  printf("layer %s: %zu MZIs on %zu channels\n", layer, n_mzi, K);
  int rc = get_f64(sr, layer, "gamma", buf, 2 * n_mzi);
  for (size_t q = 0; rc == ZPT_OK && q < n_mzi; q++)
    for (int s = 0; s < 2; s++)
      printf("  %s mzi %zu splitter %d gamma_rad %.17g\n", layer, q, s, buf[2 * q + s]);
  if (rc == ZPT_OK)
    rc = get_f64(sr, layer, "zeta", buf, 8 * n_mzi);
  for (size_t q = 0; rc == ZPT_OK && q < n_mzi; q++)
    for (int g = 0; g < 2; g++)
      for (int a = 0; a < 2; a++) {
        size_t k = 4 * q + 2 * (size_t)g + (size_t)a;
        printf("  %s mzi %zu stage %s arm %s zeta %.17g %+.17gi\n", layer, q,
               g ? "internal" : "external", a ? "lower" : "upper", buf[2 * k], buf[2 * k + 1]);
      }
  if (rc == ZPT_OK)
    rc = get_f64(sr, layer, "screen_zeta", buf, 2 * K);
  for (size_t k = 0; rc == ZPT_OK && k < K; k++)
    printf("  %s screen %zu zeta %.17g %+.17gi\n", layer, k, buf[2 * k], buf[2 * k + 1]);
  zpt_free(buf);
  return rc;
}

int zpt_info_print_errors(zpt_ckpt_reader *r, const zpt_ckpt_item *items, size_t n_items) {
  zpt_state_reader *sr = zpt_ckpt_state_reader(r);
  size_t layers = 0;
  printf("chip errors (gamma: splitting-angle error in rad; zeta: attenuation-phase factor, "
         "re im; docs/checkpoint.md):\n");
  for (size_t i = 0; i < n_items; i++) {
    const char *nm = items[i].name;
    size_t len = strlen(nm);
    if (strncmp(nm, "chip/", 5) != 0 || len < 11 || strcmp(nm + len - 6, "/shape") != 0)
      continue;
    char layer[ZPT_CKPT_NAME_MAX];
    snprintf(layer, sizeof layer, "%.*s", (int)(len - 11), nm + 5);
    ZPT_TRY(print_layer(sr, layer));
    layers++;
  }
  if (!layers)
    printf("  none stored (no in-process chip, or a checkpoint written before they were)\n");
  return ZPT_OK;
}
