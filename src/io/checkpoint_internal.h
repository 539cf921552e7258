/* Internals of the checkpoint shared by checkpoint_h5.c (types, CRCs,
 * names, attributes), checkpoint_write.c and checkpoint.c (reading,
 * listing).  Not a public header. */
#ifndef ZPT_IO_CHECKPOINT_INTERNAL_H
#define ZPT_IO_CHECKPOINT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "io/checkpoint.h"

#define PATH_MAX_LEN 4096

struct zpt_ckpt_writer {
  zpt_state_writer sw;
  hid_t file;
  char path[PATH_MAX_LEN];
  char tmp[PATH_MAX_LEN];
  long delay_ms; /* test hook */
  int failed;
  int fd; /* the temporary, open from create to commit: a write in progress
             is visible as <path>.tmp, an unwritable directory fails at once */
};

struct zpt_ckpt_reader {
  zpt_state_reader sr;
  hid_t file;
  int version; /* the file's format_version */
  char path[PATH_MAX_LEN];
};

/* HDF5 prints its own error stack on stderr by default: we report ours. */
void zpt_ck_quiet_hdf5(void);
hid_t zpt_ck_file_type_of(zpt_elem_type t);
hid_t zpt_ck_mem_type_of(zpt_elem_type t);
const char *zpt_ck_elem_name(int t);
int zpt_ck_elem_of_h5(hid_t type);
uint32_t zpt_ck_crc_of(const void *data, size_t bytes);
int zpt_ck_valid_name(const char *name);
int zpt_ck_write_attr_text(hid_t obj, const char *name, const char *text);
int zpt_ck_write_attr_scalar(hid_t obj, const char *name, hid_t ftype,
                             hid_t mtype, const void *value);
int zpt_ck_read_attr_scalar(hid_t obj, const char *name, hid_t mtype,
                            void *value);
int zpt_ck_read_attr_text(hid_t obj, const char *name, char **out);

/* A reader of image[0, img_size), an HDF5 image already read from path
 * (and verified by its trailer unless legacy): format and version checks. */
int zpt_ck_open_image(const char *path, const unsigned char *image, size_t img_size,
                      int legacy, zpt_ckpt_reader **out);

#endif
