/* The run directory: config.ini (resolved configuration), log.csv (one line
 * per evaluation), ckpt.h5 (src/io/checkpoint.h).
 *
 * log.csv starts with the header ZPT_LOG_HEADER.  A resumed run reopens it
 * in append mode after dropping every line beyond the checkpoint's
 * iteration (and any partial last line), so the finished log equals that of
 * an uninterrupted run (apart from the wall-clock `seconds` column).
 */
#ifndef ZPT_RUNLOG_H
#define ZPT_RUNLOG_H

#include <stdint.h>
#include <stdio.h>

#include "io/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPT_LOG_HEADER \
  "iteration,queries,sample_forwards,seconds,train_loss,test_loss,test_metric"
#define ZPT_RUN_CONFIG "config.ini"
#define ZPT_RUN_LOG "log.csv"
#define ZPT_RUN_CHECKPOINT "ckpt.h5"

typedef struct {
  uint64_t iteration;
  uint64_t queries;
  uint64_t sample_forwards;
  double seconds;
  double train_loss;
  double test_loss;
  double test_metric;
} zpt_log_row;

typedef struct zpt_runlog zpt_runlog;

/* Creates `dir` (and missing parents).  Fails with ZPT_EINVAL when it
 * already holds a run (log.csv or ckpt.h5). */
int zpt_rundir_create(const char *dir);

/* "<dir>/<file>" into buf; ZPT_EINVAL if it does not fit. */
int zpt_rundir_path(const char *dir, const char *file, char *buf, size_t len);

/* Writes the resolved configuration to <dir>/config.ini atomically. */
int zpt_rundir_write_config(const char *dir, const zpt_config *c);

/* Starts a new log.csv (header only). */
int zpt_runlog_create(const char *dir, zpt_runlog **out);
/* Reopens log.csv of a resumed run keeping only complete lines with
 * iteration <= keep_upto (checked: header and row format). */
int zpt_runlog_resume(const char *dir, uint64_t keep_upto, zpt_runlog **out);
/* Appends one row and flushes it. */
int zpt_runlog_append(zpt_runlog *log, const zpt_log_row *row);
void zpt_runlog_close(zpt_runlog *log);

/* Formats a row as a log.csv line (no newline). */
void zpt_log_format(const zpt_log_row *row, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
