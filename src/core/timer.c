#define _POSIX_C_SOURCE 200809L
#include "core/timer.h"

#include <stdarg.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double zpt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t zpt_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (size_t)ru.ru_maxrss * 1024; /* Linux reports kilobytes */
}

void zpt_progress_init(zpt_progress *p, FILE *out, double min_interval) {
  p->out = out;
  p->is_tty = out && isatty(fileno(out));
  p->drawn = 0;
  p->last = -1e300;
  p->min_interval = min_interval;
}

void zpt_progress_set_tty(zpt_progress *p, int is_tty) { p->is_tty = is_tty; }

void zpt_progress_update(zpt_progress *p, int force, const char *fmt, ...) {
  if (!p->is_tty || !p->out)
    return;
  double now = zpt_now();
  if (!force && now - p->last < p->min_interval)
    return;
  p->last = now;
  va_list ap;
  va_start(ap, fmt);
  fputc('\r', p->out);
  vfprintf(p->out, fmt, ap);
  fputs("\033[K", p->out);
  va_end(ap);
  fflush(p->out);
  p->drawn = 1;
}

void zpt_progress_finish(zpt_progress *p) {
  if (p->drawn && p->out) {
    fputc('\n', p->out);
    fflush(p->out);
  }
  p->drawn = 0;
}

void zpt_format_duration(double s, char *buf, size_t len) {
  if (s < 0 || s != s)
    snprintf(buf, len, "?");
  else if (s < 60)
    snprintf(buf, len, "%.1fs", s);
  else if (s < 3600)
    snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else
    snprintf(buf, len, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}
