#define _POSIX_C_SOURCE 200809L
#include "io/runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

#define RUN_PATH_MAX 4096

struct zpt_runlog {
  FILE *f;
  char path[RUN_PATH_MAX];
};

int zpt_rundir_path(const char *dir, const char *file, char *buf, size_t len) {
  int n = snprintf(buf, len, "%s/%s", dir, file);
  if (n < 0 || (size_t)n >= len)
    return zpt_fail(ZPT_EINVAL, "run directory path too long: %s", dir);
  return ZPT_OK;
}

static int mkdir_p(const char *dir) {
  char buf[RUN_PATH_MAX];
  if (strlen(dir) >= sizeof buf || !*dir)
    return zpt_fail(ZPT_EINVAL, "invalid run directory '%s'", dir);
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return zpt_fail(ZPT_EIO, "%s: cannot create directory: %s", buf,
                        strerror(errno));
      struct stat st;
      if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return zpt_fail(ZPT_EIO, "%s: exists and is not a directory", buf);
      *p = saved;
      if (!saved)
        break;
    }
  }
  return ZPT_OK;
}

int zpt_rundir_create(const char *dir) {
  ZPT_TRY(mkdir_p(dir));
  const char *files[] = {ZPT_RUN_LOG, ZPT_RUN_CHECKPOINT};
  for (size_t i = 0; i < 2; i++) {
    char path[RUN_PATH_MAX];
    ZPT_TRY(zpt_rundir_path(dir, files[i], path, sizeof path));
    if (access(path, F_OK) == 0)
      return zpt_fail(ZPT_EINVAL,
                      "%s: run directory already holds a run (%s exists); "
                      "use 'zoptic train --resume %s' or another --out",
                      dir, files[i], dir);
  }
  return ZPT_OK;
}

/* Replaces `path` by `text` atomically (temporary, fsync, rename). */
static int write_file_atomic(const char *path, const char *text) {
  char tmp[RUN_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return zpt_fail(ZPT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
  size_t len = strlen(text);
  int ok = fwrite(text, 1, len, f) == len && fflush(f) == 0 &&
           fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return zpt_fail(ZPT_EIO, "%s: cannot write: %s", path, strerror(e));
  }
  return ZPT_OK;
}

int zpt_rundir_write_config(const char *dir, const zpt_config *c) {
  char path[RUN_PATH_MAX];
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_CONFIG, path, sizeof path));
  char *text = zpt_config_to_string(c);
  if (!text)
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  int rc = write_file_atomic(path, text);
  zpt_free(text);
  return rc;
}

void zpt_log_format(const zpt_log_row *r, char *buf, size_t len) {
  snprintf(buf, len, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.9g,%.9g,%.9g",
           r->iteration, r->queries, r->sample_forwards, r->seconds,
           r->train_loss, r->test_loss, r->test_metric);
}

static int open_append(const char *path, zpt_runlog **out) {
  zpt_runlog *log = zpt_new(zpt_runlog, "run log");
  if (!log)
    return ZPT_ENOMEM;
  snprintf(log->path, sizeof log->path, "%s", path);
  log->f = fopen(path, "ab");
  if (!log->f) {
    int e = errno;
    zpt_free(log);
    return zpt_fail(ZPT_EIO, "%s: cannot open log: %s", path, strerror(e));
  }
  *out = log;
  return ZPT_OK;
}

int zpt_runlog_create(const char *dir, zpt_runlog **out) {
  *out = NULL;
  char path[RUN_PATH_MAX];
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_LOG, path, sizeof path));
  ZPT_TRY(write_file_atomic(path, ZPT_LOG_HEADER "\n"));
  return open_append(path, out);
}

int zpt_runlog_resume(const char *dir, uint64_t keep_upto, zpt_runlog **out) {
  *out = NULL;
  char path[RUN_PATH_MAX];
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_LOG, path, sizeof path));
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) /* killed before the log existed */
      return zpt_runlog_create(dir, out);
    return zpt_fail(ZPT_EIO, "%s: cannot open log: %s", path, strerror(errno));
  }
  char *kept = NULL;
  size_t kept_len = 0;
  FILE *mem = open_memstream(&kept, &kept_len);
  if (!mem) {
    fclose(f);
    return zpt_fail(ZPT_ENOMEM, "out of memory reading %s", path);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0;
  int status = ZPT_OK;
  while ((n = getline(&line, &cap, f)) > 0) {
    lineno++;
    if (line[n - 1] != '\n')
      break; /* a partial last line: the run was killed while writing it */
    line[n - 1] = '\0';
    if (lineno == 1) {
      if (strcmp(line, ZPT_LOG_HEADER) != 0) {
        status = zpt_fail(ZPT_EFORMAT, "%s:1: unexpected header (expected '%s')",
                          path, ZPT_LOG_HEADER);
        break;
      }
      fprintf(mem, "%s\n", line);
      continue;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long it = strtoull(line, &end, 10);
    if (end == line || *end != ',' || errno) {
      status = zpt_fail(ZPT_EFORMAT, "%s:%ld: expected an iteration number "
                        "first, got '%.40s'", path, lineno, line);
      break;
    }
    if (it <= keep_upto)
      fprintf(mem, "%s\n", line);
  }
  free(line);
  fclose(f);
  if (lineno == 0 && status == ZPT_OK)
    fprintf(mem, "%s\n", ZPT_LOG_HEADER);
  if (fclose(mem) != 0 && status == ZPT_OK)
    status = zpt_fail(ZPT_ENOMEM, "out of memory reading %s", path);
  if (status == ZPT_OK)
    status = write_file_atomic(path, kept ? kept : "");
  free(kept);
  ZPT_TRY(status);
  return open_append(path, out);
}

int zpt_runlog_append(zpt_runlog *log, const zpt_log_row *row) {
  char buf[512];
  zpt_log_format(row, buf, sizeof buf);
  if (fprintf(log->f, "%s\n", buf) < 0 || fflush(log->f) != 0)
    return zpt_fail(ZPT_EIO, "%s: cannot append to log: %s", log->path,
                    strerror(errno));
  return ZPT_OK;
}

void zpt_runlog_close(zpt_runlog *log) {
  if (!log)
    return;
  if (log->f)
    fclose(log->f);
  zpt_free(log);
}
