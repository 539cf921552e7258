/* The object map of a checkpoint file: which HDF5 object owns which bytes.
 *
 * The trailer's block CRC-32s (ckpt_file.h) locate damage to a block of
 * 4 KiB or more, which holds parts of several datasets.  So that a user
 * learns what was lost, the writer records, between the HDF5 image and the
 * trailer, every object's byte extents with a CRC-32 of each:
 *   entries, each: u64 start, u64 length, u32 CRC-32 of those bytes,
 *                  u8 kind (0: the data of a dataset, 1: an object header),
 *                  u8 0, u16 name length, the name ("/theta",
 *                  "/state/zo/optimizer/m"; no NUL)
 *   footer (32 bytes): magic "zoptic-map" padded with NULs to 16 bytes,
 *                  u64 length of the map (entries and footer),
 *                  u32 number of entries, u32 CRC-32 of all the map's
 *                  bytes before it
 * all little-endian.  The map is read from the verified bytes only: when a
 * block check fails, the entries (themselves CRC-checked) say which
 * objects' bytes no longer match, without HDF5 parsing a damaged file.
 * The block and whole-image CRC-32s of the trailer cover the map too, so
 * a zoptic that knows no map reads the file unchanged; a file written
 * without a map (before it existed) is reported by byte range alone.
 *
 * An object header is recorded only when it is one contiguous chunk; the
 * bytes no entry covers are HDF5's own metadata (the superblock, group
 * symbol tables and their heaps, continuation chunks, the global heap of
 * the views). */
#ifndef ZPT_CKPT_MAP_H
#define ZPT_CKPT_MAP_H

#include <stddef.h>

#include <hdf5.h>

#define ZPT_CKPT_MAP_FOOTER 32u

typedef struct zpt_ckpt_map zpt_ckpt_map;

/* The extents of every object of file (flushed, open): *out (NULL on
 * failure, with a message). */
int zpt_ckpt_map_collect(hid_t file, zpt_ckpt_map **out);
void zpt_ckpt_map_free(zpt_ckpt_map *m);
/* Bytes the map takes in the file. */
size_t zpt_ckpt_map_bytes(const zpt_ckpt_map *m);
/* Writes the map at image + hdf5_len (zpt_ckpt_map_bytes room), with the
 * CRC-32s of the extents read from image[0, hdf5_len). */
void zpt_ckpt_map_put(const zpt_ckpt_map *m, unsigned char *image, size_t hdf5_len);

/* The length of a map ending at body + len whose footer is intact, else
 * 0 (no map, or a damaged footer). */
size_t zpt_ckpt_map_len(const unsigned char *body, size_t len);
/* body[0, len) is an HDF5 image followed by its map, some bytes of which
 * fail a block check: writes into out (cap bytes) what the damaged bytes
 * belonged to, e.g. "the data of /theta (bytes 4096..4495)", by comparing
 * each entry's CRC-32 with the bytes now there.  Returns the number of
 * damaged objects named, or -1 when the map itself is missing or damaged
 * (out says so). */
int zpt_ckpt_map_explain(const unsigned char *body, size_t len, char *out, size_t cap);

#endif
