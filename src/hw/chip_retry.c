/* Back-off and the record of failed attempts (chip_retry.h). */
#define _POSIX_C_SOURCE 200809L
#include "hw/chip_retry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/status.h"

double zpt_chip_backoff_s(int k) {
  if (k < 1)
    return 0.0;
  double s = ZPT_CHIP_BACKOFF_FIRST_S;
  for (int i = 1; i < k && s < ZPT_CHIP_BACKOFF_MAX_S; i++)
    s *= 2.0;
  return s < ZPT_CHIP_BACKOFF_MAX_S ? s : ZPT_CHIP_BACKOFF_MAX_S;
}

void zpt_chip_sleep(double s) {
  if (!(s > 0))
    return;
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void zpt_chip_attempts_init(zpt_chip_attempts *a) {
  a->text[0] = '\0';
  a->len = 0;
  a->n = 0;
  a->omitted = 0;
}

void zpt_chip_attempts_add(zpt_chip_attempts *a, const char *message) {
  a->n++;
  char one[ZPT_CHIP_ATTEMPT_MSG + 64];
  int len = snprintf(one, sizeof one, "%sattempt %d: %.*s%s", a->n > 1 ? "; " : "", a->n,
                     ZPT_CHIP_ATTEMPT_MSG, message,
                     strlen(message) > ZPT_CHIP_ATTEMPT_MSG ? "..." : "");
  /* keep room for the "(N more not shown)" note */
  if (len < 0 || a->omitted || a->len + (size_t)len + 40 >= sizeof a->text) {
    a->omitted++;
    return;
  }
  memcpy(a->text + a->len, one, (size_t)len + 1);
  a->len += (size_t)len;
}

const char *zpt_chip_attempts_text(zpt_chip_attempts *a) {
  if (a->omitted)
    snprintf(a->text + a->len, sizeof a->text - a->len, "; (%d more not shown)",
             a->omitted);
  return a->text;
}

void zpt_chip_log_recovery(FILE *log, const char *label, const char *what, int attempt,
                           int retries, zpt_chip_attempts *a) {
  if (attempt == 0 || !log)
    return;
  fprintf(log, "zoptic: %s: %s succeeded on attempt %d of %d after: %s\n", label, what,
          attempt + 1, retries + 1, zpt_chip_attempts_text(a));
  fflush(log);
}

int zpt_chip_give_up(int rc, int retries, zpt_chip_attempts *a) {
  if (a->n <= 1)
    return rc;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", zpt_error_message());
  return zpt_fail(rc, "%s (gave up after %d attempts; chip.retries = %d; %s)", msg, a->n,
                  retries, zpt_chip_attempts_text(a));
}
