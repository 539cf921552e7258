/* File loaders: IDX (MNIST, FashionMNIST), CIFAR-10 binary batches, CSV.
 *
 * Every loader reads its file(s) through zlib's gzopen/gzread, which reads
 * gzip-compressed and plain files alike, into memory and hands the bytes to
 * a parser that works on a buffer (the fuzz targets call the parsers
 * directly).  Parsers never read outside the buffer; malformed input gives
 * ZPT_EFORMAT (or ZPT_ERANGE for values out of range, ZPT_EIO when a file
 * cannot be read) with a message naming the file (the `source` argument),
 * the record or line and what was expected.
 *
 * Loaded inputs are the raw values as floats (pixels 0..255 for IDX ubyte
 * and CIFAR-10, 0..16 for the UCI digits): scale them with
 * zpt_scale_range (preprocess.h).
 */
#ifndef ZPT_DATA_LOADERS_H
#define ZPT_DATA_LOADERS_H

#include <stddef.h>

#include "data/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file, gzip-compressed or plain, into a fresh buffer of
 * *len bytes plus a terminating NUL (so text parsers may rely on it).
 * Files larger than max_bytes (0 = no limit) are refused with ZPT_ERANGE.
 * Release *data with zpt_free. */
int zpt_read_file(const char *path, size_t max_bytes, unsigned char **data,
                  size_t *len);

/* ---- IDX ---------------------------------------------------------------
 * Magic: two zero bytes, a type byte (0x08 ubyte, 0x09 sbyte, 0x0B int16,
 * 0x0C int32, 0x0D float32, 0x0E float64; multi-byte values big-endian),
 * a byte holding the number of dimensions (1..255), then each dimension as
 * a big-endian uint32, then the elements in row-major order.  The file must
 * hold exactly the promised number of elements. */
#define ZPT_IDX_MAX_DIMS 255

enum {
  ZPT_IDX_UBYTE = 0x08,
  ZPT_IDX_SBYTE = 0x09,
  ZPT_IDX_INT16 = 0x0B,
  ZPT_IDX_INT32 = 0x0C,
  ZPT_IDX_FLOAT32 = 0x0D,
  ZPT_IDX_FLOAT64 = 0x0E
};

typedef struct {
  int type;                      /* ZPT_IDX_* */
  size_t ndims;
  size_t dims[ZPT_IDX_MAX_DIMS];
  size_t count;                  /* product of dims */
  float *data;                   /* count values converted to float */
} zpt_idx;

/* Parses an IDX image in memory into *out (out->data allocated; release
 * with zpt_idx_release).  `source` names the data in messages. */
int zpt_idx_parse(const unsigned char *buf, size_t len, const char *source,
                  zpt_idx *out);
/* Reads and parses an IDX file (gzip or plain). */
int zpt_idx_load(const char *path, zpt_idx *out);
void zpt_idx_release(zpt_idx *idx);

/* Builds a classification data set from an IDX image file (first dimension
 * = samples, the rest flattened; 3 dimensions N x H x W set the image shape
 * 1 x H x W, 4 dimensions N x C x H x W set C x H x W) and an IDX label file
 * (1 dimension, integer type, as many labels as images, each in
 * [0, n_classes)). */
int zpt_idx_dataset(const zpt_idx *images, const zpt_idx *labels,
                    size_t n_classes, const char *images_source,
                    const char *labels_source, const char *name,
                    zpt_dataset **out);
/* The number of classes of a label file (1 dimension): max label + 1 when
 * every class 0..max occurs; ZPT_EFORMAT listing each label with its count
 * otherwise (one corrupt byte, 200 among the digits 0..9, must not make a
 * 201-class problem), or when a label is not an integer >= 0. */
int zpt_idx_infer_classes(const zpt_idx *labels, const char *source,
                          size_t *n_classes);
/* Loads the pair of files, e.g. t10k-images-idx3-ubyte.gz and
 * t10k-labels-idx1-ubyte.gz with n_classes = 10. */
int zpt_idx_load_pair(const char *images_path, const char *labels_path,
                      size_t n_classes, const char *name, zpt_dataset **out);

/* ---- CIFAR-10 binary ---------------------------------------------------
 * Records of 1 label byte (0..9) + 3072 pixel bytes (1024 red, 1024 green,
 * 1024 blue, each 32 x 32 row-major).  A batch file holds a whole number of
 * records (10,000 in the official files).  Inputs are 3 x 32 x 32 CHW. */
#define ZPT_CIFAR10_PIXELS 3072
#define ZPT_CIFAR10_RECORD (1 + ZPT_CIFAR10_PIXELS)
#define ZPT_CIFAR10_CLASSES 10

int zpt_cifar10_parse(const unsigned char *buf, size_t len, const char *source,
                      zpt_dataset **out);
/* Loads and concatenates n_paths batch files (e.g. data_batch_1..5.bin). */
int zpt_cifar10_load(const char *const *paths, size_t n_paths, const char *name,
                     zpt_dataset **out);

/* ---- CSV -----------------------------------------------------------------
 * One sample per line: numeric columns separated by `delimiter`, one of
 * which is the class label; every other column is an input feature.
 * Blank lines and lines starting with '#' are skipped; so are the first
 * `skip_header` physical lines, and a header line (`header`: AUTO takes the
 * first remaining line as a header when a field outside the label column
 * is not a number, e.g. "alcohol,malic_acid,...,class" or scikit-learn's
 * "178,13,class_0,class_1,class_2").  Every data line must have the same
 * number of columns as the first; every feature must be a decimal number
 * (no hex, inf or nan) that fits a float32.
 *
 * Labels (docs/data.md, "Labels"): with n_classes > 0 each label must be an
 * integer in [0, n_classes).  With n_classes = 0 the classes come from the
 * data: integer labels 0..C-1 (every one present) are used as they are;
 * other integers (1..3, {-1, 1}, {2, 4}) or names ("setosa") are mapped to
 * 0..C-1 in sorted order and the mapping is reported in zpt_csv_info.
 * Refused (ZPT_EFORMAT, naming file:line:column): a fractional label (a
 * feature column, not a label), fewer than 2 classes, and a mapped class
 * with a single row (a corrupt label, or a feature column of integers).
 *
 * Regression (n_targets > 0): no label column; each line holds the inputs
 * and then n_targets real-valued targets, all decimal numbers (kind
 * ZPT_TASK_REGRESSION, n_classes 0; label_column and n_classes are
 * ignored; the header rule looks at every field). */
enum { ZPT_CSV_HEADER_NO = 0, ZPT_CSV_HEADER_YES = 1, ZPT_CSV_HEADER_AUTO = -1 };

typedef struct {
  long label_column;  /* 0-based; negative counts from the end: -1 = last */
  size_t n_classes;   /* 0 = from the data */
  char delimiter;     /* ',' by default */
  size_t skip_header; /* physical lines to skip at the top */
  int header;         /* ZPT_CSV_HEADER_*: a header line after those */
  size_t n_targets;   /* > 0: regression, the last n_targets columns are targets */
} zpt_csv_options;

#define ZPT_CSV_CLASSES_LEN 512

/* What the parser found, for the user to see. */
typedef struct {
  size_t header_line;   /* 1-based line taken as the header; 0: none */
  size_t rows, features;
  size_t label_column;  /* 0-based (classification only) */
  size_t n_classes;
  int mapped;           /* labels were mapped to 0..C-1 */
  /* "0 (59 rows), 1 (71 rows), 2 (48 rows)" or, mapped,
   * "'1' -> 0 (59 rows), '2' -> 1 (71 rows), ..." (cut with "..."). */
  char classes[ZPT_CSV_CLASSES_LEN];
} zpt_csv_info;

/* The defaults: label in the last column, classes from the data, comma,
 * header detected. */
zpt_csv_options zpt_csv_defaults(void);

/* Parses CSV text buf[0..len) (need not be NUL-terminated). opt may be
 * NULL for the defaults, info NULL if not wanted.  The data set's origin[i]
 * is sample i's 0-based data row. */
int zpt_csv_read(const char *buf, size_t len, const char *source,
                 const zpt_csv_options *opt, const char *name, zpt_dataset **out,
                 zpt_csv_info *info);
int zpt_csv_parse(const char *buf, size_t len, const char *source,
                  const zpt_csv_options *opt, const char *name,
                  zpt_dataset **out);
int zpt_csv_load(const char *path, const zpt_csv_options *opt,
                 const char *name, zpt_dataset **out);
int zpt_csv_load_info(const char *path, const zpt_csv_options *opt,
                      const char *name, zpt_dataset **out, zpt_csv_info *info);

/* The UCI handwritten digits (datasets/digits/digits.csv.gz): 64 pixel
 * columns (0..16) and the label last; 10 classes, image shape 1 x 8 x 8. */
int zpt_digits_load(const char *path, zpt_dataset **out);

#ifdef __cplusplus
}
#endif
#endif
