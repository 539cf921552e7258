/* Opening a checkpoint (zpt_ckpt_open): the file's own checks
 * (ckpt_file.h), then, for a format-1 file, a probe process.
 *
 * A format-1 file (written before the CRC-32 trailer existed) reaches
 * HDF5's parser unverified, and HDF5 1.10.8 crashes on some malformed
 * metadata (an invalid free when iterating a damaged dense group:
 * docs/reliability.md).  Such a file is first read in a child process the
 * way zoptic reads checkpoints — the root attributes, the listing of
 * /params and /state, every view, /theta and every state item, each by
 * name through the same functions — and only when that finished does the
 * caller open it.  A crash, an abort (an allocator's or a sanitizer's
 * report) or a hang (PROBE_SECONDS) of the child refuses the file with a
 * message; zoptic itself never runs into it. */
#define _POSIX_C_SOURCE 200809L
#include "io/checkpoint_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/ckpt_file.h"
#include "io/ckpt_map.h"

#define PROBE_SECONDS 120

/* Reads every item of a group (listed) by name, through the state reader
 * for "state" and as a view for "params". */
static void read_group(zpt_ckpt_reader *r, const char *group) {
  zpt_ckpt_item *items = NULL;
  size_t n = 0;
  if (zpt_ckpt_list(r, group, &items, &n) != ZPT_OK)
    return;
  zpt_state_reader *sr = zpt_ckpt_state_reader(r);
  int views = strcmp(group, "params") == 0;
  float *theta = NULL;
  size_t n_theta = 0;
  if (views && zpt_ckpt_get_theta(r, &theta, &n_theta) != ZPT_OK)
    n = 0;
  for (size_t i = 0; i < n; i++) {
    if (views) { /* as eval and --resume read it, one view at a time */
      zpt_view v = {.offset = items[i].offset, .size = items[i].count};
      snprintf(v.name, sizeof v.name, "%.*s", (int)sizeof v.name - 1, items[i].name);
      v.ndim = items[i].ndim > ZPT_VIEW_MAX_DIMS ? ZPT_VIEW_MAX_DIMS : items[i].ndim;
      for (int d = 0; d < v.ndim; d++)
        v.shape[d] = items[i].shape[d];
      zpt_params p = {.theta = theta, .n_params = n_theta, .views = &v, .n_views = 1};
      zpt_ckpt_get_params(r, &p);
      continue;
    }
    size_t count = 0;
    if (sr->size(sr, items[i].name, items[i].type, &count) != ZPT_OK)
      continue;
    void *buf = zpt_alloc((count ? count : 1) * zpt_elem_size(items[i].type), "checkpoint probe");
    if (buf)
      sr->get(sr, items[i].name, items[i].type, buf, count);
    zpt_free(buf);
  }
  zpt_free(theta);
  zpt_free(items);
}

/* The child: reads everything, exits 0 when it got to the end. */
static void probe_child(const char *path, const unsigned char *image, size_t img_size) {
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) { /* what HDF5 or the allocator says on the way down */
    dup2(null, STDERR_FILENO);
    close(null);
  }
  alarm(PROBE_SECONDS);
  zpt_ckpt_reader *r;
  if (zpt_ck_open_image(path, image, img_size, 1, &r) == ZPT_OK) {
    const char *attrs[] = {"config", "created", "host", "zoptic_version"};
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
      char *text = NULL;
      if (zpt_ckpt_attr_text(r, attrs[i], &text) == ZPT_OK)
        zpt_free(text);
    }
    read_group(r, "params");
    read_group(r, "state");
    zpt_ckpt_close(r);
  }
  _exit(0);
}

static int probe_legacy(const char *path, const unsigned char *image, size_t img_size) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return zpt_fail(ZPT_EIO, "%s: cannot start a process to read this format-1 checkpoint "
                    "safely: %s", path, strerror(errno));
  if (pid == 0)
    probe_child(path, image, img_size);
  int st = 0;
  pid_t got;
  while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
    ;
  if (got == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return ZPT_OK;
  char how[96];
  if (got != pid)
    snprintf(how, sizeof how, "could not be waited for (%s)", strerror(errno));
  else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
    snprintf(how, sizeof how, "did not finish within %d s", PROBE_SECONDS);
  else if (WIFSIGNALED(st))
    snprintf(how, sizeof how, "crashed (signal %d, %s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(how, sizeof how, "failed (exit status %d)", WEXITSTATUS(st));
  return zpt_fail(ZPT_EFORMAT, "%s: corrupt zoptic checkpoint (format 1, without CRC-32s: "
                  "HDF5 %s reading it in a probe process; zoptic refuses it)", path, how);
}

int zpt_ckpt_open(const char *path, zpt_ckpt_reader **out) {
  zpt_ck_quiet_hdf5();
  *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0)
    return zpt_fail(errno == ENOENT ? ZPT_ENOTFOUND : ZPT_EIO,
                    "%s: cannot open checkpoint: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return zpt_fail(ZPT_EFORMAT, "%s: not a checkpoint file (not a regular file)", path);
  if (strlen(path) >= PATH_MAX_LEN)
    return zpt_fail(ZPT_EINVAL, "checkpoint path too long: %s", path);
  /* every byte is checked (ckpt_file.h) before HDF5 parses any */
  unsigned char *image;
  size_t size;
  int legacy;
  int rc = zpt_ckpt_file_read(path, &image, &size, &legacy);
  if (rc != ZPT_OK)
    return rc;
  size_t img_size = legacy ? size : size - ZPT_CKPT_TRAILER;
  img_size -= legacy ? 0 : zpt_ckpt_map_len(image, img_size); /* HDF5's bytes only */
  /* a format-1 file has no CRC-32s: HDF5 reads it first in a probe process
   * (below), which a malformed file crashes instead of zoptic */
  if (legacy)
    rc = probe_legacy(path, image, img_size);
  if (rc == ZPT_OK)
    rc = zpt_ck_open_image(path, image, img_size, legacy, out);
  zpt_free(image); /* HDF5 holds its own copy */
  return rc;
}
