/* HDF5 checkpoints: complete, versioned, written atomically.
 *
 * Layout (docs/checkpoint.md):
 *   /                 attributes format = "zoptic-checkpoint",
 *                     format_version, zoptic_version, created, host, config
 *   /theta            float32[N], the flat parameter vector
 *   /params/<view>    float32 with the view's shape (a copy of its slice of
 *                     theta, attribute offset), in creation order
 *   /state/<name>     one 1-D dataset per item a component put() through
 *                     zpt_state_writer ('/' in names makes groups)
 * Every dataset carries a crc32 attribute of its bytes, so corruption of
 * data is detected on read (HDF5 1.8-format metadata has checksums of its
 * own; a truncated file fails to open).
 *
 * Writing goes to "<path>.tmp" in the same directory; zpt_ckpt_commit()
 * flushes and fsyncs it, renames it over <path> and fsyncs the directory,
 * so a crash at any moment leaves either the old or the new checkpoint.
 * Test hook: ZOPTIC_TEST_CKPT_DELAY_MS=n sleeps n ms after every dataset
 * written (so a test can kill a process in the middle of a write).
 *
 * HDF5's own error printing is switched off; every failure is reported
 * through zpt_fail naming the file, the item and what was expected.
 */
#ifndef ZPT_CHECKPOINT_H
#define ZPT_CHECKPOINT_H

#include <stddef.h>

#include "core/params.h"
#include "core/state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPT_CKPT_FORMAT "zoptic-checkpoint"
/* Version 2 stores theta once (/theta; the views /params/<name> are HDF5
 * virtual datasets pointing into it, no trainer copy in the state); version
 * 1 (zoptic 0.1.0 before it) stored copies and is still read. */
#define ZPT_CKPT_VERSION 2
#define ZPT_CKPT_VERSION_MIN 1
#define ZPT_CKPT_NAME_MAX 256

typedef struct zpt_ckpt_writer zpt_ckpt_writer;
typedef struct zpt_ckpt_reader zpt_ckpt_reader;

/* Starts a checkpoint that will replace `path`: creates "<path>.tmp" and
 * writes the root attributes (config_text may be NULL). */
int zpt_ckpt_create(const char *path, const char *config_text,
                    zpt_ckpt_writer **out);
/* The named-array writer into /state. */
zpt_state_writer *zpt_ckpt_state_writer(zpt_ckpt_writer *w);
/* Writes /theta and /params/<view> for every view of p. */
int zpt_ckpt_put_params(zpt_ckpt_writer *w, const zpt_params *p);
/* Finishes: flush, fsync, rename over the target, fsync the directory.
 * Frees w whatever the outcome (on failure the temporary is removed and
 * the previous checkpoint is untouched). */
int zpt_ckpt_commit(zpt_ckpt_writer *w);
/* Abandons the checkpoint: removes the temporary, frees w (NULL: no-op). */
void zpt_ckpt_abort(zpt_ckpt_writer *w);

/* Opens a checkpoint for reading: checks that it is a readable HDF5 file of
 * format ZPT_CKPT_FORMAT and version ZPT_CKPT_VERSION. */
int zpt_ckpt_open(const char *path, zpt_ckpt_reader **out);
void zpt_ckpt_close(zpt_ckpt_reader *r);
/* The named-array reader of /state (type-checked, crc-checked). */
zpt_state_reader *zpt_ckpt_state_reader(zpt_ckpt_reader *r);
/* A root attribute as text ("config", "created", "host", "zoptic_version");
 * caller frees *text with zpt_free. */
int zpt_ckpt_attr_text(zpt_ckpt_reader *r, const char *name, char **text);
/* The file's format version (ZPT_CKPT_VERSION_MIN .. ZPT_CKPT_VERSION). */
int zpt_ckpt_version(const zpt_ckpt_reader *r);
/* Reads /theta straight into p->theta (no copy) after checking that the
 * checkpoint holds the same views (names, shapes, offsets) as p; when the
 * read itself fails (corrupt file) p->theta may be partly overwritten. */
int zpt_ckpt_get_params(zpt_ckpt_reader *r, zpt_params *p);

/* One dataset as found in the file (for `zoptic info`). */
typedef struct {
  char name[ZPT_CKPT_NAME_MAX]; /* path below the group, e.g. "run/queries" */
  zpt_elem_type type;
  int ndim;
  size_t shape[4];
  size_t count;  /* product of shape */
  size_t offset; /* /params views: attribute offset; else 0 */
} zpt_ckpt_item;

/* Lists the datasets below group "state" or "params" (params in creation
 * order, state in name order); caller frees *items with zpt_free. */
int zpt_ckpt_list(zpt_ckpt_reader *r, const char *group, zpt_ckpt_item **items,
                  size_t *n);
/* "float32", "float64", "uint64", "int64", "uint8" (the names the messages
 * and `zoptic info` use). */
const char *zpt_ckpt_type_name(zpt_elem_type t);
/* Reads /theta whole (caller frees with zpt_free). */
int zpt_ckpt_get_theta(zpt_ckpt_reader *r, float **theta, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
