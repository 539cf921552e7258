/* The run-directory lock (runlock.h): flock on <dir>/.lock. */
#define _POSIX_C_SOURCE 200809L
#include "io/runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

#define LOCK_PATH_MAX 4200

struct zpt_runlock {
  int fd;
};

static int lock_path(const char *dir, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/%s", dir, ZPT_RUN_LOCK);
  if (n < 0 || (size_t)n >= cap)
    return zpt_fail(ZPT_EINVAL, "run directory path too long: %s", dir);
  return ZPT_OK;
}

/* The owner's record ("pid PID host HOST since TIME"), read for messages. */
static void read_owner(int fd, long *pid, char *desc, size_t cap) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  *pid = 0;
  snprintf(desc, cap, "another process (its pid is not recorded yet)");
  if (n <= 0)
    return;
  buf[n] = '\0';
  char host[256] = "?", since[64] = "?";
  long p = 0;
  /* the format written by write_owner() */
  if (sscanf(buf, "pid %ld host %255s since %63[^\n]", &p, host, since) >= 1 && p > 0) {
    *pid = p;
    snprintf(desc, cap, "process %ld on host %s (zoptic train since %s)", p, host, since);
  }
}

static void write_owner(int fd) {
  char host[256] = "?", since[64] = "?", buf[512];
  if (gethostname(host, sizeof host) != 0)
    snprintf(host, sizeof host, "?");
  host[sizeof host - 1] = '\0';
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm))
    strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", &tm);
  int n = snprintf(buf, sizeof buf, "pid %ld host %s since %s\n", (long)getpid(), host,
                   since);
  /* best effort: the record only serves messages, the lock is the flock */
  if (ftruncate(fd, 0) == 0 && n > 0 && pwrite(fd, buf, (size_t)n, 0) == n)
    fsync(fd);
}

int zpt_runlock_acquire(const char *dir, zpt_runlock **out) {
  *out = NULL;
  char path[LOCK_PATH_MAX];
  ZPT_TRY(lock_path(dir, path, sizeof path));
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return zpt_fail(ZPT_ENOTFOUND, "%s: no such run directory", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return zpt_fail(ZPT_EIO, "%s: cannot create the run-directory lock: %s", path,
                    strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      long pid;
      char desc[600];
      read_owner(fd, &pid, desc, sizeof desc);
      close(fd);
      return zpt_fail(ZPT_EIO, "%s: run directory in use by %s; wait for it to end or "
                      "stop it (lock %s)", dir, desc, path);
    }
    close(fd);
    return zpt_fail(ZPT_EIO, "%s: cannot lock: %s", path, strerror(e));
  }
  zpt_runlock *l = zpt_new(zpt_runlock, "run-directory lock");
  if (!l) {
    close(fd); /* releases the lock */
    return ZPT_ENOMEM;
  }
  write_owner(fd);
  l->fd = fd;
  *out = l;
  return ZPT_OK;
}

void zpt_runlock_release(zpt_runlock *lock) {
  if (!lock)
    return;
  close(lock->fd); /* the flock ends with the last descriptor of the file */
  zpt_free(lock);
}
