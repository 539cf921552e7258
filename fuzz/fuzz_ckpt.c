/* libFuzzer target: the HDF5 checkpoint reader on mutated checkpoints.
 *
 * The seeds are real checkpoints (fuzz/corpus/fuzz_ckpt/, written by
 * `zoptic train`); each input is written to a private file and read the
 * way `zoptic info --values`, `eval` and `--resume` read one: open (format
 * and version checks), the root attributes, the list of /params and /state,
 * /theta, and every /state item through the typed, crc-checked reader.
 * Any outcome but a crash, a sanitizer report or a leak is fine: a mutated
 * file must be refused with a message, or read.  After each input no HDF5
 * identifier may remain open (a handle leaked on an error path aborts). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/checkpoint.h"

static char path[256];

static void read_all_state(zpt_ckpt_reader *r) {
  zpt_ckpt_item *items = NULL;
  size_t n = 0;
  if (zpt_ckpt_list(r, "state", &items, &n) != ZPT_OK)
    return;
  zpt_state_reader *sr = zpt_ckpt_state_reader(r);
  for (size_t i = 0; i < n; i++) {
    size_t count = 0;
    if (sr->size(sr, items[i].name, items[i].type, &count) != ZPT_OK || count > (1u << 24))
      continue;
    void *buf = zpt_alloc((count ? count : 1) * zpt_elem_size(items[i].type), "fuzz");
    if (buf)
      sr->get(sr, items[i].name, items[i].type, buf, count);
    zpt_free(buf);
  }
  zpt_free(items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!path[0])
    snprintf(path, sizeof path, "%s/zoptic-fuzz-ckpt-%ld.h5",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  size_t wrote = fwrite(data, 1, size, f);
  if (fclose(f) != 0 || wrote != size)
    return 0;
  zpt_ckpt_reader *r;
  if (zpt_ckpt_open(path, &r) == ZPT_OK) {
    const char *attrs[] = {"config", "created", "host", "zoptic_version"};
    for (size_t i = 0; i < 4; i++) {
      char *text = NULL;
      if (zpt_ckpt_attr_text(r, attrs[i], &text) == ZPT_OK)
        zpt_free(text);
    }
    zpt_ckpt_item *items = NULL;
    size_t n = 0;
    if (zpt_ckpt_list(r, "params", &items, &n) == ZPT_OK)
      zpt_free(items);
    float *theta = NULL;
    if (zpt_ckpt_get_theta(r, &theta, &n) == ZPT_OK)
      zpt_free(theta);
    read_all_state(r);
    zpt_ckpt_close(r);
  }
  ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_ids != 0) {
    fprintf(stderr, "fuzz_ckpt: %zd HDF5 identifiers left open (last message: %s)\n",
            open_ids, zpt_error_message());
    abort();
  }
  unlink(path);
  return 0;
}
