/* Retry bookkeeping of the chip client: the back-off between attempts and
 * the record of every failed attempt's error.
 *
 * A driver service that restarts (a socket that is not yet listening, a
 * process that is still starting) is not given a chance by attempts a few
 * milliseconds apart, so attempt k + 1 waits zpt_chip_backoff_s(k) seconds:
 * 0.2, 0.4, 0.8, ... doubled each time and capped at 5 s.  When the retries
 * run out the final message lists every attempt's error, not only the last.
 * Internal to src/hw.
 */
#ifndef ZPT_CHIP_RETRY_H
#define ZPT_CHIP_RETRY_H

#include <stddef.h>
#include <stdio.h>

#define ZPT_CHIP_BACKOFF_FIRST_S 0.2
#define ZPT_CHIP_BACKOFF_MAX_S 5.0

/* Seconds to wait before retry number k (k >= 1: the first retry waits
 * ZPT_CHIP_BACKOFF_FIRST_S). */
double zpt_chip_backoff_s(int k);

/* Sleeps s seconds (resumes after signals). */
void zpt_chip_sleep(double s);

/* The errors of the attempts made so far, as "attempt 1: ...; attempt 2:
 * ..." (each error shortened to ZPT_CHIP_ATTEMPT_MSG bytes; attempts that do
 * not fit are counted, not dropped silently). */
#define ZPT_CHIP_ATTEMPT_MSG 240
typedef struct {
  char text[1200];
  size_t len;
  int n;       /* attempts recorded */
  int omitted; /* recorded but not listed for lack of room */
} zpt_chip_attempts;

void zpt_chip_attempts_init(zpt_chip_attempts *a);
void zpt_chip_attempts_add(zpt_chip_attempts *a, const char *message);
/* The list, with "(N more not shown)" when some did not fit. */
const char *zpt_chip_attempts_text(zpt_chip_attempts *a);

/* Writes "zoptic: LABEL: WHAT succeeded on attempt k+1 of retries+1 after:
 * <the recorded failures>" to log when attempt (0-based) > 0; log NULL:
 * nothing. */
void zpt_chip_log_recovery(FILE *log, const char *label, const char *what, int attempt,
                           int retries, zpt_chip_attempts *a);

/* rc, with this thread's message extended by "(gave up after N attempts;
 * chip.retries = R; attempt 1: ...)" when more than one attempt was made. */
int zpt_chip_give_up(int rc, int retries, zpt_chip_attempts *a);

#endif
