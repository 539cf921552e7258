/* The bytes of a checkpoint file: an HDF5 image followed by a zoptic
 * trailer.
 *
 * A checkpoint is built in memory (HDF5's core driver) and written here
 * with plain write(2), so that a full disk or a file-size limit is an
 * ordinary I/O error reported once, with nothing of HDF5 left half-closed
 * (HDF5 crashed in its exit clean-up after a failed H5Fclose on disk), and
 * the previous checkpoint untouched.
 *
 * The HDF5 image (superblock at byte 0) is followed by a 512-byte trailer;
 * HDF5 ignores bytes past its end-of-file address, so h5py, h5dump and
 * older zoptic read the file as usual.  The trailer:
 *   bytes 0..15   magic "zoptic-ckpt\0\0\0\0\0"
 *   16..19        trailer version (u32 LE, 1)
 *   20..23        CRC-32 (zlib) of the image (every byte before the trailer)
 *   24..31        size of the file in bytes (u64 LE)
 *   32..35        block size B (u32 LE, a multiple of 4096)
 *   36..39        number of blocks n (u32 LE, <= 118)
 *   40..40+4n     CRC-32 of each block [iB, (i+1)B) of the image (the last
 *                 one shorter), so damage can be located
 * Between the HDF5 image and the trailer the writer puts the object map
 * (ckpt_map.h), which the CRC-32s cover like the image; a failed block
 * check names the objects whose bytes changed through it.
 * A reader checks all of it before HDF5 sees a byte: a file damaged after
 * it was written (a flipped bit, a cut, a partial copy) is refused as
 * "corrupt zoptic checkpoint (... check ...)" naming the check and the
 * first damaged byte range, and never reaches HDF5's parser (which can
 * crash on malformed metadata, docs/reliability.md).  A format-1 file (no
 * trailer) is accepted only when its superblock ends exactly at the end of
 * the file.
 */
#ifndef ZPT_CKPT_FILE_H
#define ZPT_CKPT_FILE_H

#include <stddef.h>

#define ZPT_CKPT_TRAILER 512u

/* image holds size bytes: the HDF5 image and ZPT_CKPT_TRAILER bytes of
 * room after it, which are filled here; writes it all to path (created or
 * truncated, mode 0644) and fsyncs it.  ZPT_EIO naming path and the
 * system's reason ("File too large", "No space left on device"); the
 * partial file is removed. */
int zpt_ckpt_file_write(const char *path, unsigned char *image, size_t size);
/* The same into fd, an open descriptor of path (truncated first); fd is
 * closed whatever the outcome. */
int zpt_ckpt_file_write_fd(int fd, const char *path, unsigned char *image, size_t size);

/* Reads path whole into *image (free with zpt_free), *size bytes.  A file
 * with a trailer is verified (size, whole-image and block CRC-32s):
 * ZPT_EFORMAT "corrupt zoptic checkpoint (...)" on any mismatch; its HDF5
 * image is the first *size - ZPT_CKPT_TRAILER bytes.  *legacy = 1 for a
 * complete format-1 file (no trailer; the image is the whole file).
 * ZPT_EIO when it cannot be read, ZPT_EFORMAT when it is neither. */
int zpt_ckpt_file_read(const char *path, unsigned char **image, size_t *size, int *legacy);

#endif
