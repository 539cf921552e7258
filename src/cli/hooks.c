/* The hooks of run.h: zero in the plain CLI; zoptic-mpi sets them before
 * running a command (src/mpi/main.c). */
#include "cli/run.h"

zpt_cli_hooks zpt_cli_hook;

#include <stdio.h>
#include <string.h>

#include "zoptic.h"

int zpt_cli_expand_rank(const char *in, char *out, size_t len) {
  size_t o = 0;
  for (const char *p = in; *p; p++) {
    char num[24] = "";
    const char *piece = NULL;
    if (!strncmp(p, "{rank}", 6)) {
      snprintf(num, sizeof num, "%d", zpt_cli_hook.rank);
      piece = num;
      p += 5;
    }
    size_t k = piece ? strlen(piece) : 1;
    if (o + k >= len)
      return zpt_fail(ZPT_ERANGE, "'%s' with {rank} = %d is longer than %zu characters",
                      in, zpt_cli_hook.rank, len - 1);
    memcpy(out + o, piece ? piece : p, k);
    o += k;
  }
  out[o] = '\0';
  return ZPT_OK;
}

int zpt_cli_wrap_backend(zpt_blackbox **bb) {
  if (!zpt_cli_hook.wrap_backend)
    return ZPT_OK;
  return zpt_cli_hook.wrap_backend(bb, zpt_cli_hook.ctx);
}
