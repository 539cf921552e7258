/* Monotonic wall-clock time and a one-line progress display. */
#ifndef ZPT_TIMER_H
#define ZPT_TIMER_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds from an arbitrary fixed origin (CLOCK_MONOTONIC). */
double zpt_now(void);

/* Peak resident set size of this process in bytes (getrusage), 0 if unknown. */
size_t zpt_peak_rss_bytes(void);

/* One updating line on a terminal: each update rewrites the line in place
 * ("\r...\033[K"); when the stream is not a terminal, updates draw nothing
 * (callers then print plain lines on their own schedule).  Updates closer
 * than `min_interval` seconds apart are skipped unless forced. */
typedef struct {
  FILE *out;
  int is_tty;
  int drawn; /* a partial line is on screen */
  double last;
  double min_interval;
} zpt_progress;

void zpt_progress_init(zpt_progress *p, FILE *out, double min_interval);
/* Force the terminal mode on/off (tests). */
void zpt_progress_set_tty(zpt_progress *p, int is_tty);
void zpt_progress_update(zpt_progress *p, int force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends the updating line (newline) if one is drawn. */
void zpt_progress_finish(zpt_progress *p);

/* "1h02m", "3m05s", "12.3s" */
void zpt_format_duration(double seconds, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
