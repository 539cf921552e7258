/* src/data: loaders on files written here (never downloaded data), every
 * bad-input case, generators against hand-worked examples, splits, batching
 * (coverage, reproducibility, exact resume), scaling and DFT features. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/testutil.h"
#include "zoptic.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *tpath(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", zpt_test_tmpdir(), name);
  return buf;
}

static void write_gz(const char *path, const void *data, size_t len) {
  gzFile f = gzopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  if (len)
    ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
  ck_assert_int_eq(gzclose(f), Z_OK);
}

static void write_raw(const char *path, const void *data, size_t len) {
  ck_assert_int_eq(zpt_test_write_file(path, data, len), 0);
}

/* An IDX image: header for (type, dims) followed by `payload`. */
static size_t make_idx(unsigned char *out, int type, size_t ndims, const uint32_t *dims,
                       const void *payload, size_t payload_len) {
  out[0] = 0;
  out[1] = 0;
  out[2] = (unsigned char)type;
  out[3] = (unsigned char)ndims;
  for (size_t k = 0; k < ndims; k++) {
    out[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
    out[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
    out[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
    out[7 + 4 * k] = (unsigned char)dims[k];
  }
  memcpy(out + 4 + 4 * ndims, payload, payload_len);
  return 4 + 4 * ndims + payload_len;
}

/* Asserts status rc and that the message contains every given fragment. */
static void expect_error(int rc, int status, const char *f1, const char *f2) {
  ck_assert_msg(rc == status, "status %s, expected %s (message: %s)", zpt_status_name(rc),
                zpt_status_name(status), zpt_error_message());
  if (f1)
    ck_assert_msg(strstr(zpt_error_message(), f1), "message '%s' lacks '%s'",
                  zpt_error_message(), f1);
  if (f2)
    ck_assert_msg(strstr(zpt_error_message(), f2), "message '%s' lacks '%s'",
                  zpt_error_message(), f2);
}

/* An in-memory implementation of the state writer/reader. */
typedef struct {
  char name[64];
  zpt_elem_type type;
  size_t count;
  unsigned char bytes[256];
} mem_item;
typedef struct {
  mem_item items[8];
  size_t n;
} mem_state;

static int mem_put(zpt_state_writer *w, const char *name, zpt_elem_type type,
                   const void *data, size_t count) {
  mem_state *m = w->impl;
  size_t bytes = count * zpt_elem_size(type);
  ck_assert_uint_lt(m->n, 8);
  ck_assert_uint_le(bytes, 256);
  mem_item *it = &m->items[m->n++];
  snprintf(it->name, sizeof it->name, "%s", name);
  it->type = type;
  it->count = count;
  memcpy(it->bytes, data, bytes);
  return ZPT_OK;
}

static mem_item *mem_find(mem_state *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->items[i].name, name))
      return &m->items[i];
  return NULL;
}

static int mem_get(zpt_state_reader *r, const char *name, zpt_elem_type type, void *data,
                   size_t count) {
  mem_item *it = mem_find(r->impl, name);
  if (!it)
    return zpt_fail(ZPT_ENOTFOUND, "state item '%s' not found", name);
  if (it->type != type || it->count != count)
    return zpt_fail(ZPT_EFORMAT, "state item '%s': type or count differs", name);
  memcpy(data, it->bytes, count * zpt_elem_size(type));
  return ZPT_OK;
}

static int mem_size(zpt_state_reader *r, const char *name, zpt_elem_type type,
                    size_t *count) {
  mem_item *it = mem_find(r->impl, name);
  if (!it)
    return zpt_fail(ZPT_ENOTFOUND, "state item '%s' not found", name);
  *count = it->count;
  return ZPT_OK;
}

/* ---- IDX -------------------------------------------------------------- */

START_TEST(test_idx_pair_gzip_and_raw) {
  /* 3 images of 2 x 2 ubyte (raw file), 3 labels (gzip file) */
  unsigned char pix[12] = {0, 1, 2, 3, 10, 11, 12, 13, 255, 254, 253, 252};
  unsigned char lab[3] = {7, 0, 9};
  uint32_t di[3] = {3, 2, 2}, dl[1] = {3};
  unsigned char buf[64];
  char pi[512], pl[512];
  write_raw(tpath(pi, sizeof pi, "img.idx"), buf, make_idx(buf, 0x08, 3, di, pix, 12));
  write_gz(tpath(pl, sizeof pl, "lab.idx.gz"), buf, make_idx(buf, 0x08, 1, dl, lab, 3));
  zpt_dataset *d;
  ck_assert_int_eq(zpt_idx_load_pair(pi, pl, 10, "tiny", &d), ZPT_OK);
  ck_assert_str_eq(d->name, "tiny");
  ck_assert_int_eq(d->kind, ZPT_TASK_CLASSIFICATION);
  ck_assert_uint_eq(d->n, 3);
  ck_assert_uint_eq(d->input_size, 4);
  ck_assert_uint_eq(d->target_size, 1);
  ck_assert_uint_eq(d->n_classes, 10);
  ck_assert_uint_eq(d->channels, 1);
  ck_assert_uint_eq(d->height, 2);
  ck_assert_uint_eq(d->width, 2);
  for (int i = 0; i < 12; i++)
    ck_assert(d->inputs[i] == (float)pix[i]);
  ck_assert(d->targets[0] == 7.0f && d->targets[1] == 0.0f && d->targets[2] == 9.0f);
  ck_assert_int_eq(zpt_dataset_check_targets(d), ZPT_OK);
  zpt_dataset_free(d);
  zpt_dataset_free(NULL);
}
END_TEST

START_TEST(test_idx_element_types_and_dims) {
  unsigned char buf[256];
  zpt_idx idx;
  /* sbyte, 1-D */
  signed char sb[3] = {-128, -1, 127};
  uint32_t d1[1] = {3};
  size_t len = make_idx(buf, 0x09, 1, d1, sb, 3);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "sb", &idx), ZPT_OK);
  ck_assert(idx.data[0] == -128.0f && idx.data[1] == -1.0f && idx.data[2] == 127.0f);
  zpt_idx_release(&idx);
  /* int16 big-endian: 0x0102 = 258, 0xFFFE = -2 */
  unsigned char i16[4] = {0x01, 0x02, 0xFF, 0xFE};
  uint32_t d2[1] = {2};
  len = make_idx(buf, 0x0B, 1, d2, i16, 4);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "i16", &idx), ZPT_OK);
  ck_assert(idx.data[0] == 258.0f && idx.data[1] == -2.0f);
  zpt_idx_release(&idx);
  /* int32: 0x00010000 = 65536, 0xFFFFFFFF = -1 */
  unsigned char i32[8] = {0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
  len = make_idx(buf, 0x0C, 1, d2, i32, 8);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "i32", &idx), ZPT_OK);
  ck_assert(idx.data[0] == 65536.0f && idx.data[1] == -1.0f);
  zpt_idx_release(&idx);
  /* float32 1.5 = 0x3FC00000, float64 -0.25 = 0xBFD0000000000000 */
  unsigned char f32[4] = {0x3F, 0xC0, 0, 0};
  len = make_idx(buf, 0x0D, 1, d1, f32, 4);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "f32", &idx), ZPT_EFORMAT); /* 3 promised */
  uint32_t one[1] = {1};
  len = make_idx(buf, 0x0D, 1, one, f32, 4);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "f32", &idx), ZPT_OK);
  ck_assert(idx.data[0] == 1.5f);
  zpt_idx_release(&idx);
  unsigned char f64[8] = {0xBF, 0xD0, 0, 0, 0, 0, 0, 0};
  len = make_idx(buf, 0x0E, 1, one, f64, 8);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "f64", &idx), ZPT_OK);
  ck_assert(idx.data[0] == -0.25f);
  zpt_idx_release(&idx);
  /* 5 dimensions 2x1x3x1x2 */
  uint32_t d5[5] = {2, 1, 3, 1, 2};
  unsigned char p[12];
  for (int i = 0; i < 12; i++)
    p[i] = (unsigned char)(i * 3);
  len = make_idx(buf, 0x08, 5, d5, p, 12);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "5d", &idx), ZPT_OK);
  ck_assert_uint_eq(idx.ndims, 5);
  ck_assert_uint_eq(idx.count, 12);
  ck_assert_uint_eq(idx.dims[2], 3);
  ck_assert(idx.data[11] == 33.0f);
  zpt_idx_release(&idx);
  /* a 4-D image file N x C x H x W sets the image shape */
  uint32_t d4[4] = {2, 3, 1, 2}, dl[1] = {2};
  unsigned char lab[2] = {1, 0};
  zpt_idx images, labels;
  len = make_idx(buf, 0x08, 4, d4, p, 12);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "img4", &images), ZPT_OK);
  len = make_idx(buf, 0x08, 1, dl, lab, 2);
  ck_assert_int_eq(zpt_idx_parse(buf, len, "lab", &labels), ZPT_OK);
  zpt_dataset *d;
  ck_assert_int_eq(zpt_idx_dataset(&images, &labels, 2, "img4", "lab", "x", &d), ZPT_OK);
  ck_assert_uint_eq(d->channels, 3);
  ck_assert_uint_eq(d->height, 1);
  ck_assert_uint_eq(d->width, 2);
  ck_assert_uint_eq(d->input_size, 6);
  zpt_dataset_free(d);
  zpt_idx_release(&images);
  zpt_idx_release(&labels);
}
END_TEST

START_TEST(test_idx_bad_input) {
  char p[512], q[512];
  unsigned char buf[256];
  zpt_idx idx;
  zpt_dataset *d;
  unsigned char pix[8] = {0};
  uint32_t dims[3] = {2, 2, 2};
  /* empty file */
  write_raw(tpath(p, sizeof p, "empty.idx"), "", 0);
  expect_error(zpt_idx_load(p, &idx), ZPT_EFORMAT, "empty.idx", "empty file");
  ck_assert_ptr_null(idx.data);
  /* truncated header */
  write_raw(tpath(p, sizeof p, "short.idx"), "\0\0\x08", 3);
  expect_error(zpt_idx_load(p, &idx), ZPT_EFORMAT, "short.idx", "at least 4");
  size_t len = make_idx(buf, 0x08, 3, dims, pix, 8);
  expect_error(zpt_idx_parse(buf, 9, "hdr", &idx), ZPT_EFORMAT, "hdr", "header");
  /* wrong magic */
  buf[0] = 0x1f;
  expect_error(zpt_idx_parse(buf, len, "magic.idx", &idx), ZPT_EFORMAT, "magic.idx",
               "wrong magic");
  buf[0] = 0;
  /* unsupported type 0x0A */
  buf[2] = 0x0A;
  expect_error(zpt_idx_parse(buf, len, "type.idx", &idx), ZPT_EFORMAT, "type.idx", "0x0a");
  buf[2] = 0x08;
  /* zero dimensions */
  buf[3] = 0;
  expect_error(zpt_idx_parse(buf, len, "nd0", &idx), ZPT_EFORMAT, "nd0", "0 dimensions");
  buf[3] = 3;
  /* header promising more data than the file holds (gzip file, one byte short) */
  write_gz(tpath(p, sizeof p, "trunc.idx.gz"), buf, len - 1);
  expect_error(zpt_idx_load(p, &idx), ZPT_EFORMAT, "trunc.idx.gz", "promises 8 elements");
  /* extra bytes after the data */
  buf[len] = 1;
  expect_error(zpt_idx_parse(buf, len + 1, "trail", &idx), ZPT_EFORMAT, "trail",
               "unexpected bytes");
  /* absurd dimensions: the product overflows */
  uint32_t huge[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
  len = make_idx(buf, 0x0E, 4, huge, pix, 8);
  expect_error(zpt_idx_parse(buf, len, "huge.idx", &idx), ZPT_EFORMAT, "huge.idx", "overflow");
  /* large but representable: must fail as truncated, without allocating */
  uint32_t big[2] = {0x7FFFFFFFu, 0x7FFFFFFFu};
  len = make_idx(buf, 0x08, 2, big, pix, 8);
  expect_error(zpt_idx_parse(buf, len, "big.idx", &idx), ZPT_EFORMAT, "big.idx", "truncated");
  /* non-finite float element */
  unsigned char nanf[4] = {0x7F, 0xC0, 0, 0};
  uint32_t one[1] = {1};
  len = make_idx(buf, 0x0D, 1, one, nanf, 4);
  expect_error(zpt_idx_parse(buf, len, "nan.idx", &idx), ZPT_EFORMAT, "element 0", "finite");
  /* label out of range: record 2 holds 10 with 10 classes */
  unsigned char lab[2] = {3, 10};
  uint32_t dl[1] = {2};
  len = make_idx(buf, 0x08, 3, dims, pix, 8);
  write_raw(tpath(p, sizeof p, "ok-img.idx"), buf, len);
  len = make_idx(buf, 0x08, 1, dl, lab, 2);
  write_raw(tpath(q, sizeof q, "bad-lab.idx"), buf, len);
  expect_error(zpt_idx_load_pair(p, q, 10, "x", &d), ZPT_EFORMAT, "bad-lab.idx", "record 1");
  ck_assert_ptr_null(d);
  /* label count differs from image count */
  uint32_t d3[1] = {3};
  unsigned char lab3[3] = {0, 1, 2};
  len = make_idx(buf, 0x08, 1, d3, lab3, 3);
  write_raw(tpath(q, sizeof q, "lab3.idx"), buf, len);
  expect_error(zpt_idx_load_pair(p, q, 10, "x", &d), ZPT_EFORMAT, "3 labels", "2 images");
  /* a label file with 2 dimensions */
  expect_error(zpt_idx_load_pair(p, p, 10, "x", &d), ZPT_EFORMAT, "ok-img.idx", "1 dimension");
  /* missing file */
  expect_error(zpt_idx_load(tpath(p, sizeof p, "nope.idx"), &idx), ZPT_EIO, "nope.idx",
               "cannot open");
  /* corrupt gzip stream: a valid gzip file cut in the middle */
  unsigned char big_payload[4096];
  for (size_t i = 0; i < sizeof big_payload; i++)
    big_payload[i] = (unsigned char)(i * 7919u >> 3);
  uint32_t dg[1] = {4096};
  len = make_idx(buf, 0x08, 1, dg, "", 0);
  unsigned char whole[4200];
  memcpy(whole, buf, len);
  memcpy(whole + len, big_payload, 4096);
  write_gz(tpath(p, sizeof p, "cut.gz"), whole, len + 4096);
  unsigned char *gz;
  size_t gzlen;
  {
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    gz = malloc(8192);
    gzlen = fread(gz, 1, 8192, f);
    fclose(f);
  }
  write_raw(tpath(q, sizeof q, "cut-half.gz"), gz, gzlen / 2);
  free(gz);
  expect_error(zpt_idx_load(q, &idx), ZPT_EFORMAT, "cut-half.gz", NULL);
}
END_TEST

START_TEST(test_read_file_limits) {
  char p[512];
  unsigned char *buf;
  size_t len;
  write_gz(tpath(p, sizeof p, "ten.gz"), "0123456789", 10);
  ck_assert_int_eq(zpt_read_file(p, 10, &buf, &len), ZPT_OK);
  ck_assert_uint_eq(len, 10);
  ck_assert_mem_eq(buf, "0123456789", 11); /* NUL-terminated */
  zpt_free(buf);
  expect_error(zpt_read_file(p, 9, &buf, &len), ZPT_ERANGE, "ten.gz", "limit of 9 bytes");
  ck_assert_ptr_null(buf);
  /* a plain file of 200,000 bytes (several buffer growths), no limit */
  unsigned char *big = malloc(200000);
  for (size_t i = 0; i < 200000; i++)
    big[i] = (unsigned char)(i % 251);
  write_raw(tpath(p, sizeof p, "big.raw"), big, 200000);
  ck_assert_int_eq(zpt_read_file(p, 0, &buf, &len), ZPT_OK);
  ck_assert_uint_eq(len, 200000);
  ck_assert_mem_eq(buf, big, 200000);
  zpt_free(buf);
  free(big);
  expect_error(zpt_read_file(zpt_test_tmpdir(), 0, &buf, &len), ZPT_EIO, zpt_test_tmpdir(),
               NULL);
}
END_TEST

/* ---- CIFAR-10 --------------------------------------------------------- */

static void cifar_record(unsigned char *rec, unsigned label, unsigned seed) {
  rec[0] = (unsigned char)label;
  for (size_t k = 0; k < ZPT_CIFAR10_PIXELS; k++)
    rec[1 + k] = (unsigned char)((k * 31 + seed * 17) & 0xFF);
}

START_TEST(test_cifar10_batches) {
  static unsigned char file1[2 * ZPT_CIFAR10_RECORD], file2[ZPT_CIFAR10_RECORD];
  cifar_record(file1, 3, 1);
  cifar_record(file1 + ZPT_CIFAR10_RECORD, 9, 2);
  cifar_record(file2, 0, 3);
  char p1[512], p2[512];
  write_raw(tpath(p1, sizeof p1, "data_batch_1.bin"), file1, sizeof file1);
  write_gz(tpath(p2, sizeof p2, "data_batch_2.bin.gz"), file2, sizeof file2);
  const char *paths[2] = {p1, p2};
  zpt_dataset *d;
  ck_assert_int_eq(zpt_cifar10_load(paths, 2, "cifar-train", &d), ZPT_OK);
  ck_assert_str_eq(d->name, "cifar-train");
  ck_assert_uint_eq(d->n, 3);
  ck_assert_uint_eq(d->input_size, 3072);
  ck_assert_uint_eq(d->channels, 3);
  ck_assert_uint_eq(d->height, 32);
  ck_assert_uint_eq(d->width, 32);
  ck_assert_uint_eq(d->n_classes, 10);
  ck_assert(d->targets[0] == 3 && d->targets[1] == 9 && d->targets[2] == 0);
  /* sample 2, green channel (offset 1024), row 1, column 5: byte 1024+32+5 */
  size_t k = 1024 + 32 + 5;
  ck_assert(zpt_dataset_input(d, 2)[k] == (float)((k * 31 + 3 * 17) & 0xFF));
  zpt_dataset_free(d);
}
END_TEST

START_TEST(test_cifar10_bad_input) {
  static unsigned char buf[3 * ZPT_CIFAR10_RECORD];
  cifar_record(buf, 1, 1);
  cifar_record(buf + ZPT_CIFAR10_RECORD, 2, 2);
  cifar_record(buf + 2 * ZPT_CIFAR10_RECORD, 3, 3);
  zpt_dataset *d;
  char p[512];
  write_raw(tpath(p, sizeof p, "empty.bin"), "", 0);
  const char *paths[1] = {p};
  expect_error(zpt_cifar10_load(paths, 1, "c", &d), ZPT_EFORMAT, "empty.bin", "empty");
  expect_error(zpt_cifar10_parse(buf, 2 * ZPT_CIFAR10_RECORD - 5, "t.bin", &d), ZPT_EFORMAT,
               "t.bin", "record 1 has only 3068 of its 3073 bytes");
  ck_assert_ptr_null(d);
  buf[2 * ZPT_CIFAR10_RECORD] = 10;
  expect_error(zpt_cifar10_parse(buf, sizeof buf, "l.bin", &d), ZPT_EFORMAT, "l.bin",
               "record 2");
  ck_assert_int_eq(zpt_cifar10_load(paths, 0, "c", &d), ZPT_EINVAL);
  write_raw(p, buf, ZPT_CIFAR10_RECORD); /* a good first file, then a missing one */
  char q[512];
  const char *two[2] = {p, tpath(q, sizeof q, "missing.bin")};
  expect_error(zpt_cifar10_load(two, 2, "c", &d), ZPT_EIO, "missing.bin", NULL);
  ck_assert_ptr_null(d);
}
END_TEST

/* ---- CSV -------------------------------------------------------------- */

START_TEST(test_csv_parse_options) {
  const char *text = "# comment\n1,2,3,0\n\n4.5,-5,6e1,2\r\n7,8,9,1";
  zpt_dataset *d;
  ck_assert_int_eq(zpt_csv_parse(text, strlen(text), "t.csv", NULL, "t", &d), ZPT_OK);
  ck_assert_uint_eq(d->n, 3);
  ck_assert_uint_eq(d->input_size, 3);
  ck_assert_uint_eq(d->n_classes, 3); /* inferred: max label 2 + 1 */
  float want[9] = {1, 2, 3, 4.5f, -5, 60, 7, 8, 9};
  for (int i = 0; i < 9; i++)
    ck_assert(d->inputs[i] == want[i]);
  ck_assert(d->targets[0] == 0 && d->targets[1] == 2 && d->targets[2] == 1);
  zpt_dataset_free(d);
  /* label first, header line, semicolons, fixed classes */
  const char *t2 = "label;a;b\n1; 0.5 ;2\n0;3;4\n";
  zpt_csv_options o = zpt_csv_defaults();
  o.label_column = 0;
  o.delimiter = ';';
  o.skip_header = 1;
  o.n_classes = 5;
  ck_assert_int_eq(zpt_csv_parse(t2, strlen(t2), "t2", &o, "t2", &d), ZPT_OK);
  ck_assert_uint_eq(d->n, 2);
  ck_assert_uint_eq(d->n_classes, 5);
  ck_assert(d->inputs[0] == 0.5f && d->inputs[1] == 2 && d->inputs[2] == 3);
  ck_assert(d->targets[0] == 1 && d->targets[1] == 0);
  zpt_dataset_free(d);
  /* a label column in the middle, counted from the end */
  const char *t3 = "1,7,2\n3,8,4\n";
  o = zpt_csv_defaults();
  o.label_column = -2;
  o.n_classes = 9;
  ck_assert_int_eq(zpt_csv_parse(t3, strlen(t3), "t3", &o, "t3", &d), ZPT_OK);
  ck_assert(d->targets[0] == 7 && d->targets[1] == 8);
  ck_assert(d->inputs[0] == 1 && d->inputs[1] == 2 && d->inputs[2] == 3 && d->inputs[3] == 4);
  zpt_dataset_free(d);
}
END_TEST

START_TEST(test_digits_csv_gz) {
  /* two digits-format rows: 64 pixels 0..16 then the label */
  char text[1024];
  size_t len = 0;
  for (int r = 0; r < 2; r++) {
    for (int k = 0; k < 64; k++)
      len += (size_t)snprintf(text + len, sizeof text - len, "%d,", (k + r) % 17);
    len += (size_t)snprintf(text + len, sizeof text - len, "%d\n", 8 - r);
  }
  char p[512];
  write_gz(tpath(p, sizeof p, "digits.csv.gz"), text, len);
  zpt_dataset *d;
  ck_assert_int_eq(zpt_digits_load(p, &d), ZPT_OK);
  ck_assert_uint_eq(d->n, 2);
  ck_assert_uint_eq(d->input_size, 64);
  ck_assert_uint_eq(d->n_classes, 10);
  ck_assert_uint_eq(d->height, 8);
  ck_assert_uint_eq(d->width, 8);
  ck_assert(zpt_dataset_input(d, 1)[63] == (float)((63 + 1) % 17));
  ck_assert(d->targets[0] == 8 && d->targets[1] == 7);
  ck_assert_int_eq(zpt_scale_range(d, 0, 16), ZPT_OK);
  ck_assert(d->inputs[16] == 1.0f); /* pixel value 16 */
  zpt_dataset_free(d);
  /* the same rows with a column missing are rejected */
  write_raw(p, "1,2,3\n1,2,3\n", 12);
  expect_error(zpt_digits_load(p, &d), ZPT_EFORMAT, "digits.csv.gz", "expected 65");
}
END_TEST

START_TEST(test_csv_bad_input) {
  zpt_dataset *d;
  zpt_csv_options o = zpt_csv_defaults();
  const char *t;
  t = "1,2,0\n3,4\n";
  expect_error(zpt_csv_parse(t, strlen(t), "cols.csv", NULL, "x", &d), ZPT_EFORMAT,
               "cols.csv:2:", "2 columns, expected 3");
  ck_assert_ptr_null(d);
  t = "1,2,0\n3,abc,1\n";
  expect_error(zpt_csv_parse(t, strlen(t), "num.csv", NULL, "x", &d), ZPT_EFORMAT,
               "num.csv:2:2:", "'abc' is not a number");
  t = "1,2,0\n3,4x,1\n";
  expect_error(zpt_csv_parse(t, strlen(t), "num2.csv", NULL, "x", &d), ZPT_EFORMAT,
               "num2.csv:2:2:", "'4x'");
  t = "1,2,0\n1,,0\n";
  expect_error(zpt_csv_parse(t, strlen(t), "e.csv", NULL, "x", &d), ZPT_EFORMAT,
               "e.csv:2:2:", "empty field");
  t = "1,2,0\n1,nan,0\n";
  expect_error(zpt_csv_parse(t, strlen(t), "n.csv", NULL, "x", &d), ZPT_EFORMAT,
               "n.csv:2:2:", "'nan' is not a number");
  expect_error(zpt_csv_parse("", 0, "empty.csv", NULL, "x", &d), ZPT_EFORMAT, "empty.csv",
               "no data lines");
  t = "\n# only a comment\n\n";
  expect_error(zpt_csv_parse(t, strlen(t), "blank.csv", NULL, "x", &d), ZPT_EFORMAT,
               "blank.csv", "no data lines");
  t = "a,b,label\n";
  expect_error(zpt_csv_parse(t, strlen(t), "hdr.csv", NULL, "x", &d), ZPT_EFORMAT,
               "hdr.csv", "only the header");
  o.n_classes = 10;
  t = "1,2,3\n1,2,10\n";
  expect_error(zpt_csv_parse(t, strlen(t), "lab.csv", &o, "x", &d), ZPT_EFORMAT,
               "lab.csv:2:3:", "label '10' is not a class index in [0, 10)");
  t = "1,2,1.5\n";
  expect_error(zpt_csv_parse(t, strlen(t), "frac.csv", &o, "x", &d), ZPT_EFORMAT,
               "frac.csv:1:3:", "label '1.5'");
  t = "1,2,-1\n";
  expect_error(zpt_csv_parse(t, strlen(t), "neg.csv", &o, "x", &d), ZPT_EFORMAT,
               "neg.csv:1:3:", "label '-1'");
  o = zpt_csv_defaults();
  o.label_column = 3;
  t = "1,2,3\n";
  expect_error(zpt_csv_parse(t, strlen(t), "lc.csv", &o, "x", &d), ZPT_EINVAL, "lc.csv",
               "label column 3");
  t = "5\n6\n";
  expect_error(zpt_csv_parse(t, strlen(t), "one.csv", NULL, "x", &d), ZPT_EFORMAT,
               "one.csv", "at least 2");
  char longf[200];
  memset(longf, '1', sizeof longf);
  memcpy(longf + 190, ",1\n", 3);
  expect_error(zpt_csv_parse(longf, 193, "long.csv", NULL, "x", &d), ZPT_EFORMAT,
               "long.csv:1:1:", "characters");
  char p[512];
  expect_error(zpt_csv_load(tpath(p, sizeof p, "absent.csv"), NULL, "x", &d), ZPT_EIO,
               "absent.csv", NULL);
  /* a buffer that is not NUL-terminated is read only within its length */
  char nonterm[4] = {'1', ',', '2', '7'};
  o = zpt_csv_defaults();
  o.n_classes = 3;
  ck_assert_int_eq(zpt_csv_parse(nonterm, 3, "nt", &o, "x", &d), ZPT_OK);
  ck_assert(d->targets[0] == 2);
  zpt_dataset_free(d);
}
END_TEST

/* #20 3b and 3e: only decimal numbers that fit a float32; the message names
 * file:line:column. */
START_TEST(test_csv_numbers_strict) {
  zpt_dataset *d;
  const char *bad[] = {"0x10", "inf", "-inf", "nan", "NaN", "infinity", "1e39", "-3.5e38",
                       "0x1p3", "1e", ".", "+", "1.2.3", "5e3x", "1_000", "--1", "e5"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    char t[128];
    snprintf(t, sizeof t, "1,2,0\n3,%s,1\n", bad[k]);
    int rc = zpt_csv_parse(t, strlen(t), "s.csv", NULL, "x", &d);
    ck_assert_msg(rc == ZPT_EFORMAT, "'%s' accepted (status %d)", bad[k], rc);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(zpt_error_message(), "s.csv:2:2:"), "'%s': message '%s' lacks "
                  "file:line:column", bad[k], zpt_error_message());
  }
  expect_error(zpt_csv_parse("1,1e39,0\n", 9, "o.csv", NULL, "x", &d), ZPT_EFORMAT,
               "o.csv:1:2:", "overflows a 32-bit float");
  expect_error(zpt_csv_parse("1,0x10,0\n", 9, "h.csv", NULL, "x", &d), ZPT_EFORMAT,
               "h.csv:1:2:", "'0x10' is not a number");
  /* accepted forms, each read exactly as strtod would */
  const char *good = "1,-2.5,+3.,.5,7e-1,8E+2, 3.4e38 ,0\n0,0,0,0,0,0,0,1\n";
  zpt_csv_options o = zpt_csv_defaults();
  o.header = ZPT_CSV_HEADER_NO;
  ck_assert_int_eq(zpt_csv_parse(good, strlen(good), "g.csv", &o, "x", &d), ZPT_OK);
  float want[7] = {1, -2.5f, 3, 0.5f, 0.7f, 800, 3.4e38f};
  for (int i = 0; i < 7; i++)
    ck_assert_msg(d->inputs[i] == want[i], "value %d: %g", i, (double)d->inputs[i]);
  zpt_dataset_free(d);
}
END_TEST

/* #15: headers, classes from the data, mappings, refused label columns. */
START_TEST(test_csv_header_and_labels) {
  zpt_dataset *d;
  zpt_csv_info info;
  /* scikit-learn's layout: a header "rows,features,names..." of another width */
  const char *sk = "6,2,class_0,class_1\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,1\n11,12,0\n";
  ck_assert_int_eq(zpt_csv_read(sk, strlen(sk), "sk.csv", NULL, "x", &d, &info), ZPT_OK);
  ck_assert_uint_eq(info.header_line, 1);
  ck_assert_uint_eq(d->n, 6);
  ck_assert_uint_eq(d->input_size, 2);
  ck_assert_uint_eq(d->n_classes, 2);
  ck_assert_int_eq(info.mapped, 0);
  ck_assert_str_eq(info.classes, "0 (3 rows), 1 (3 rows)");
  ck_assert(d->inputs[0] == 1 && d->targets[1] == 1 && d->origin && d->origin[5] == 5);
  zpt_dataset_free(d);
  /* a named header, labels 1..3 in the first column (the UCI wine layout):
   * mapped in sorted order and reported */
  const char *uci = "class,a,b\n# note\n2,1,1\n1,2,2\n3,3,3\n\n1,4,4\n2,5,5\n3,6,6\n";
  zpt_csv_options o = zpt_csv_defaults();
  o.label_column = 0;
  ck_assert_int_eq(zpt_csv_read(uci, strlen(uci), "u.csv", &o, "x", &d, &info), ZPT_OK);
  ck_assert_uint_eq(info.header_line, 1);
  ck_assert_uint_eq(d->n, 6);
  ck_assert_uint_eq(d->n_classes, 3);
  ck_assert_int_eq(info.mapped, 1);
  ck_assert_str_eq(info.classes, "'1' -> 0 (2 rows), '2' -> 1 (2 rows), '3' -> 2 (2 rows)");
  float want[6] = {1, 0, 2, 0, 1, 2};
  for (int i = 0; i < 6; i++)
    ck_assert(d->targets[i] == want[i]);
  ck_assert(d->inputs[0] == 1 && d->inputs[11] == 6);
  zpt_dataset_free(d);
  /* names as labels (iris.data), sorted by name; header forced off */
  const char *names = "5.1,b\n4.9,a\n4.7,b\n4.6,a\n";
  o = zpt_csv_defaults();
  o.header = ZPT_CSV_HEADER_NO;
  ck_assert_int_eq(zpt_csv_read(names, strlen(names), "n.csv", &o, "x", &d, &info), ZPT_OK);
  ck_assert(d->targets[0] == 1 && d->targets[1] == 0);
  ck_assert_str_eq(info.classes, "'a' -> 0 (2 rows), 'b' -> 1 (2 rows)");
  zpt_dataset_free(d);
  /* an all-numeric first line is data under AUTO; header = YES skips it */
  const char *num = "1,2,0\n3,4,1\n5,6,0\n7,8,1\n";
  ck_assert_int_eq(zpt_csv_read(num, strlen(num), "a.csv", NULL, "x", &d, &info), ZPT_OK);
  ck_assert_uint_eq(d->n, 4);
  zpt_dataset_free(d);
  o = zpt_csv_defaults();
  o.header = ZPT_CSV_HEADER_YES;
  ck_assert_int_eq(zpt_csv_read(num, strlen(num), "a.csv", &o, "x", &d, &info), ZPT_OK);
  ck_assert_uint_eq(d->n, 3);
  ck_assert(d->inputs[0] == 3 && d->origin[0] == 0);
  zpt_dataset_free(d);
  /* a column of measurements chosen as the label is refused */
  const char *w = "14.23,1.71,0\n13.2,1.78,1\n13.16,2.36,0\n";
  o = zpt_csv_defaults();
  o.label_column = 0;
  expect_error(zpt_csv_read(w, strlen(w), "w.csv", &o, "x", &d, &info), ZPT_EFORMAT,
               "w.csv:1:1: label '14.23' is a fraction", "data.label_column");
  /* ... and so is a column of integer measurements (one row per value) */
  const char *m = "127,0.1,0\n100,0.2,1\n101,0.3,0\n113,0.4,1\n";
  expect_error(zpt_csv_read(m, strlen(m), "m.csv", &o, "x", &d, &info), ZPT_EFORMAT,
               "m.csv: column 1: 4 distinct labels in 4 rows, 4 of them on a single row",
               "'100' -> 0 (1 row)");
  /* a corrupt label among sparse classes: refused with the counts (#20 3a) */
  const char *c = "1,1\n2,1\n3,3\n4,3\n5,200\n";
  expect_error(zpt_csv_read(c, strlen(c), "c.csv", NULL, "x", &d, &info), ZPT_EFORMAT,
               "3 distinct labels in 5 rows, 1 of them on a single row",
               "'1' -> 0 (2 rows), '3' -> 1 (2 rows), '200' -> 2 (1 row)");
  /* a bad number on the first line is an error, not a header */
  const char *bad1 = "nan,2,0\n3,4,1\n";
  expect_error(zpt_csv_read(bad1, strlen(bad1), "b.csv", NULL, "x", &d, &info), ZPT_EFORMAT,
               "b.csv:1:1:", "'nan' is not a number");
  const char *one = "1,4\n2,4\n";
  expect_error(zpt_csv_read(one, strlen(one), "o.csv", NULL, "x", &d, &info), ZPT_EFORMAT,
               "o.csv: column 2: every row has the label '4'", "at least 2 classes");
  ck_assert_ptr_null(d);
}
END_TEST

/* #20 3a: the class count of an IDX label file. */
START_TEST(test_idx_infer_classes) {
  zpt_idx l;
  memset(&l, 0, sizeof l);
  float v[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 4};
  l.ndims = 1;
  l.dims[0] = l.count = 12;
  l.data = v;
  size_t n;
  ck_assert_int_eq(zpt_idx_infer_classes(&l, "l.idx", &n), ZPT_OK);
  ck_assert_uint_eq(n, 10);
  v[7] = 200; /* one corrupt byte */
  expect_error(zpt_idx_infer_classes(&l, "l.idx", &n), ZPT_EFORMAT,
               "l.idx: the labels are not the classes 0..200", "200 (1)");
  ck_assert_msg(strstr(zpt_error_message(), "3 (2)"), "%s", zpt_error_message());
  v[7] = 1.5f;
  expect_error(zpt_idx_infer_classes(&l, "l.idx", &n), ZPT_EFORMAT, "record 7", "1.5");
}
END_TEST

/* ---- dataset, splits -------------------------------------------------- */

static zpt_dataset *indexed_dataset(size_t n) {
  zpt_dataset *d;
  ck_assert_int_eq(zpt_dataset_alloc(&d, "idx", ZPT_TASK_CLASSIFICATION, n, 2, 1, 3),
                   ZPT_OK);
  for (size_t i = 0; i < n; i++) {
    d->inputs[2 * i] = (float)i;
    d->inputs[2 * i + 1] = (float)(1000 + i);
    d->targets[i] = (float)(i % 3);
  }
  return d;
}

START_TEST(test_dataset_alloc_checks) {
  zpt_dataset *d;
  expect_error(zpt_dataset_alloc(&d, "big", ZPT_TASK_REGRESSION, SIZE_MAX / 2, 4, 1, 0),
               ZPT_ERANGE, "big", "overflow");
  ck_assert_ptr_null(d);
  expect_error(zpt_dataset_alloc(&d, "z", ZPT_TASK_REGRESSION, 3, 0, 1, 0), ZPT_EINVAL, "z",
               NULL);
  ck_assert_int_eq(zpt_dataset_alloc(&d, "e", ZPT_TASK_REGRESSION, 0, 1, 1, 0), ZPT_OK);
  ck_assert_uint_eq(d->n, 0);
  zpt_dataset_free(d);
  d = indexed_dataset(4);
  ck_assert_int_eq(zpt_dataset_set_image_shape(d, 1, 1, 3), ZPT_EINVAL);
  ck_assert_int_eq(zpt_dataset_set_image_shape(d, 1, 1, 2), ZPT_OK);
  d->targets[2] = 3; /* n_classes is 3 */
  expect_error(zpt_dataset_check_targets(d), ZPT_ERANGE, "sample 2", "target 3");
  size_t bad[1] = {4};
  zpt_dataset *s;
  expect_error(zpt_dataset_subset(d, bad, 1, "s", &s), ZPT_ERANGE, "index 4", NULL);
  zpt_dataset_free(d);
}
END_TEST

START_TEST(test_split_mnist10k_rule) {
  zpt_dataset *d = indexed_dataset(23), *tr, *te;
  ck_assert_int_eq(zpt_split_mnist10k(d, &tr, &te), ZPT_OK);
  /* test: i % 5 == 4 -> 4, 9, 14, 19 */
  ck_assert_uint_eq(te->n, 4);
  ck_assert_uint_eq(tr->n, 19);
  for (size_t k = 0; k < te->n; k++)
    ck_assert(zpt_dataset_input(te, k)[0] == (float)(5 * k + 4));
  size_t k = 0;
  for (size_t i = 0; i < 23; i++) {
    if (i % 5 == 4)
      continue;
    ck_assert(zpt_dataset_input(tr, k)[0] == (float)i);
    ck_assert(zpt_dataset_input(tr, k)[1] == (float)(1000 + i));
    ck_assert(tr->targets[k] == (float)(i % 3));
    k++;
  }
  ck_assert_str_eq(te->name, "idx/test");
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  zpt_dataset_free(d);
  /* 10,000 samples give 8,000 / 2,000 */
  zpt_dataset *big;
  ck_assert_int_eq(zpt_dataset_alloc(&big, "m", ZPT_TASK_CLASSIFICATION, 10000, 1, 1, 10),
                   ZPT_OK);
  ck_assert_int_eq(zpt_split_mnist10k(big, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(tr->n, 8000);
  ck_assert_uint_eq(te->n, 2000);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  zpt_dataset_free(big);
}
END_TEST

static void split_members(const zpt_dataset *part, int *seen) {
  for (size_t k = 0; k < part->n; k++)
    seen[(size_t)zpt_dataset_input(part, k)[0]]++;
}

START_TEST(test_split_random_and_first) {
  zpt_dataset *d = indexed_dataset(50), *tr, *te, *tr2, *te2;
  ck_assert_int_eq(zpt_split_random(d, 12, 99, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(te->n, 12);
  ck_assert_uint_eq(tr->n, 38);
  int seen[50] = {0};
  split_members(tr, seen);
  split_members(te, seen);
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(seen[i], 1);
  for (size_t k = 1; k < te->n; k++) /* original order kept */
    ck_assert(zpt_dataset_input(te, k)[0] > zpt_dataset_input(te, k - 1)[0]);
  /* same seed: same split; another seed: another split */
  ck_assert_int_eq(zpt_split_random(d, 12, 99, &tr2, &te2), ZPT_OK);
  ck_assert_mem_eq(te->inputs, te2->inputs, te->n * 2 * sizeof(float));
  zpt_dataset_free(tr2);
  zpt_dataset_free(te2);
  ck_assert_int_eq(zpt_split_random(d, 12, 100, &tr2, &te2), ZPT_OK);
  ck_assert(memcmp(te->inputs, te2->inputs, te->n * 2 * sizeof(float)) != 0);
  zpt_dataset_free(tr2);
  zpt_dataset_free(te2);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  ck_assert_int_eq(zpt_split_random(d, 51, 1, &tr, &te), ZPT_EINVAL);
  ck_assert_ptr_null(tr);
  ck_assert_int_eq(zpt_split_first(d, 30, &tr, &te), ZPT_OK);
  ck_assert_uint_eq(tr->n, 30);
  ck_assert_uint_eq(te->n, 20);
  ck_assert(zpt_dataset_input(tr, 29)[0] == 29 && zpt_dataset_input(te, 0)[0] == 30);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
  ck_assert_int_eq(zpt_split_first(d, 51, &tr, &te), ZPT_EINVAL);
  ck_assert_int_eq(zpt_split_modulo(d, 5, 5, &tr, &te), ZPT_EINVAL);
  zpt_dataset_free(d);
}
END_TEST

/* ---- batching --------------------------------------------------------- */

START_TEST(test_batcher_covers_each_sample_once) {
  const size_t n = 10, bs = 3;
  zpt_batcher *b;
  ck_assert_int_eq(zpt_batcher_alloc(&b, n, bs, 5, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  ck_assert_uint_eq(zpt_batcher_batches_per_epoch(b), 4);
  size_t first_order[2][10];
  for (int e = 0; e < 3; e++) {
    ck_assert_uint_eq(zpt_batcher_epoch(b), (uint64_t)e);
    int seen[10] = {0};
    size_t sizes[4], pos = 0;
    for (int k = 0; k < 4; k++) {
      const size_t *idx;
      sizes[k] = zpt_batcher_next(b, &idx);
      for (size_t j = 0; j < sizes[k]; j++) {
        ck_assert_uint_lt(idx[j], n);
        seen[idx[j]]++;
        if (e < 2)
          first_order[e][pos] = idx[j];
        pos++;
      }
    }
    ck_assert(sizes[0] == 3 && sizes[1] == 3 && sizes[2] == 3 && sizes[3] == 1);
    for (size_t i = 0; i < n; i++)
      ck_assert_int_eq(seen[i], 1);
  }
  /* epochs are shuffled differently */
  ck_assert(memcmp(first_order[0], first_order[1], sizeof first_order[0]) != 0);
  zpt_batcher_free(b);
  zpt_batcher_free(NULL);
  /* without shuffling: 0..n-1 */
  ck_assert_int_eq(zpt_batcher_alloc(&b, n, 4, 5, 0, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  const size_t *idx;
  ck_assert_uint_eq(zpt_batcher_next(b, &idx), 4);
  ck_assert(idx[0] == 0 && idx[3] == 3);
  zpt_batcher_free(b);
  /* DROP_LAST: only full batches, distinct samples */
  ck_assert_int_eq(zpt_batcher_alloc(&b, n, bs, 5, 1, ZPT_BATCH_DROP_LAST), ZPT_OK);
  ck_assert_uint_eq(zpt_batcher_batches_per_epoch(b), 3);
  for (int e = 0; e < 2; e++) {
    int seen[10] = {0}, total = 0;
    for (int k = 0; k < 3; k++) {
      ck_assert_uint_eq(zpt_batcher_next(b, &idx), 3);
      for (int j = 0; j < 3; j++) {
        seen[idx[j]]++;
        total++;
      }
    }
    ck_assert_int_eq(total, 9);
    for (size_t i = 0; i < n; i++)
      ck_assert_int_le(seen[i], 1);
  }
  ck_assert_uint_eq(zpt_batcher_epoch(b), 2);
  zpt_batcher_free(b);
  ck_assert_int_eq(zpt_batcher_alloc(&b, 3, 4, 5, 1, ZPT_BATCH_SHORT_LAST), ZPT_EINVAL);
  ck_assert_int_eq(zpt_batcher_alloc(&b, 0, 1, 5, 1, ZPT_BATCH_SHORT_LAST), ZPT_EINVAL);
}
END_TEST

START_TEST(test_batcher_reproducible_and_resumes) {
  const size_t n = 37, bs = 5;
  zpt_batcher *a, *b;
  ck_assert_int_eq(zpt_batcher_alloc(&a, n, bs, 2024, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  ck_assert_int_eq(zpt_batcher_alloc(&b, n, bs, 2024, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  const size_t *ia, *ib;
  for (int k = 0; k < 30; k++) { /* same seed, same sequence */
    size_t ca = zpt_batcher_next(a, &ia), cb = zpt_batcher_next(b, &ib);
    ck_assert_uint_eq(ca, cb);
    ck_assert_mem_eq(ia, ib, ca * sizeof(size_t));
  }
  zpt_batcher_free(b);
  /* save in the middle of an epoch (11 batches: epoch 1, position 15) */
  zpt_batcher_free(a);
  ck_assert_int_eq(zpt_batcher_alloc(&a, n, bs, 2024, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  for (int k = 0; k < 11; k++)
    zpt_batcher_next(a, &ia);
  ck_assert_uint_eq(zpt_batcher_epoch(a), 1);
  ck_assert_uint_eq(zpt_batcher_position(a), 15);
  mem_state m = {0};
  zpt_state_writer w = {mem_put, &m};
  ck_assert_int_eq(zpt_batcher_save(a, &w, "data/batcher"), ZPT_OK);
  size_t expect[40][5], counts[40];
  for (int k = 0; k < 40; k++) {
    counts[k] = zpt_batcher_next(a, &ia);
    memcpy(expect[k], ia, counts[k] * sizeof(size_t));
  }
  /* a batcher built with another seed restores the saved seed and position */
  ck_assert_int_eq(zpt_batcher_alloc(&b, n, bs, 1, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  zpt_state_reader r = {mem_get, mem_size, &m};
  ck_assert_int_eq(zpt_batcher_restore(b, &r, "data/batcher"), ZPT_OK);
  ck_assert_uint_eq(zpt_batcher_epoch(b), 1);
  for (int k = 0; k < 40; k++) {
    ck_assert_uint_eq(zpt_batcher_next(b, &ib), counts[k]);
    ck_assert_mem_eq(ib, expect[k], counts[k] * sizeof(size_t));
  }
  zpt_batcher_free(b);
  /* a batcher of another size refuses the state, a missing item is reported */
  ck_assert_int_eq(zpt_batcher_alloc(&b, n + 1, bs, 1, 1, ZPT_BATCH_SHORT_LAST), ZPT_OK);
  expect_error(zpt_batcher_restore(b, &r, "data/batcher"), ZPT_EFORMAT, "saved n is 37",
               "38");
  expect_error(zpt_batcher_restore(b, &r, "nothing"), ZPT_ENOTFOUND, "nothing", NULL);
  zpt_batcher_free(b);
  zpt_batcher_free(a);
}
END_TEST

START_TEST(test_batch_gather) {
  zpt_dataset *d = indexed_dataset(6);
  size_t idx[2] = {4, 1};
  float in[4], tg[2];
  ck_assert_int_eq(zpt_batch_gather(d, idx, 2, in, tg), ZPT_OK);
  ck_assert(in[0] == 4 && in[1] == 1004 && in[2] == 1 && in[3] == 1001);
  ck_assert(tg[0] == 1 && tg[1] == 1);
  idx[1] = 6;
  expect_error(zpt_batch_gather(d, idx, 2, in, tg), ZPT_ERANGE, "index 6", NULL);
  zpt_dataset_free(d);
}
END_TEST

/* ---- generators ------------------------------------------------------- */

START_TEST(test_copying_layout) {
  const size_t T = 5, steps = T + 20;
  zpt_dataset *d, *d2;
  ck_assert_int_eq(zpt_copying_generate(4, T, 7, &d), ZPT_OK);
  ck_assert_int_eq(d->kind, ZPT_TASK_SEQUENCE);
  ck_assert_uint_eq(d->seq_len, steps);
  ck_assert_uint_eq(d->step_size, 10);
  ck_assert_uint_eq(d->input_size, 250);
  ck_assert_uint_eq(d->target_size, 25);
  ck_assert_uint_eq(d->n_classes, 9);
  ck_assert_uint_eq(d->copy_delay, T);
  /* baseline 10 ln 8 / 25 */
  ck_assert_double_eq_tol(d->baseline_loss, 10 * log(8.0) / 25, 1e-15);
  ck_assert_double_eq_tol(zpt_copying_baseline(100), 10 * log(8.0) / 120, 1e-15);
  for (size_t k = 0; k < d->n; k++) {
    const float *x = zpt_dataset_input(d, k), *t = zpt_dataset_target(d, k);
    int cat[25];
    for (size_t s = 0; s < steps; s++) { /* exactly one hot */
      int hot = -1, ones = 0;
      for (int c = 0; c < 10; c++) {
        ck_assert(x[s * 10 + (size_t)c] == 0.0f || x[s * 10 + (size_t)c] == 1.0f);
        if (x[s * 10 + (size_t)c] == 1.0f) {
          hot = c;
          ones++;
        }
      }
      ck_assert_int_eq(ones, 1);
      cat[s] = hot;
    }
    /* steps 0..9 symbols 1..8; 10..13 blank (T-1 = 4); 14 delimiter; 15..24 blank */
    for (size_t s = 0; s < 10; s++)
      ck_assert(cat[s] >= 1 && cat[s] <= 8);
    for (size_t s = 10; s < 14; s++)
      ck_assert_int_eq(cat[s], 0);
    ck_assert_int_eq(cat[14], 9);
    for (size_t s = 15; s < 25; s++)
      ck_assert_int_eq(cat[s], 0);
    /* targets: 15 blanks then the 10 symbols */
    for (size_t s = 0; s < 15; s++)
      ck_assert(t[s] == 0.0f);
    for (size_t s = 15; s < 25; s++)
      ck_assert(t[s] == (float)cat[s - 15]);
  }
  ck_assert_int_eq(zpt_dataset_check_targets(d), ZPT_OK);
  /* a single sample generated on demand equals the data set's */
  float xs[250], ts[25];
  memset(xs, 0x7f, sizeof xs); /* garbage: the function must clear it */
  ck_assert_int_eq(zpt_copying_sample(7, T, 3, xs, ts), ZPT_OK);
  ck_assert_mem_eq(xs, zpt_dataset_input(d, 3), sizeof xs);
  ck_assert_mem_eq(ts, zpt_dataset_target(d, 3), sizeof ts);
  ck_assert_int_eq(zpt_copying_sample(7, 0, 3, xs, ts), ZPT_EINVAL);
  /* deterministic per seed, and sample k does not depend on n */
  ck_assert_int_eq(zpt_copying_generate(2, T, 7, &d2), ZPT_OK);
  ck_assert_mem_eq(d->inputs, d2->inputs, 2 * d->input_size * sizeof(float));
  zpt_dataset_free(d2);
  ck_assert_int_eq(zpt_copying_generate(4, T, 8, &d2), ZPT_OK);
  ck_assert(memcmp(d->targets, d2->targets, 4 * 25 * sizeof(float)) != 0);
  zpt_dataset_free(d2);
  zpt_dataset_free(d);
  /* T = 1: the delimiter immediately follows the symbols */
  ck_assert_int_eq(zpt_copying_generate(1, 1, 3, &d), ZPT_OK);
  ck_assert(zpt_dataset_input(d, 0)[10 * 10 + 9] == 1.0f);
  zpt_dataset_free(d);
  ck_assert_int_eq(zpt_copying_generate(1, 0, 3, &d), ZPT_EINVAL);
}
END_TEST

START_TEST(test_isi_channel_hand_worked) {
  /* constant d = 1: q = sum of the taps = 1.161,
   * u = 1.161 + 0.036 * 1.161^2 - 0.011 * 1.161^3 = 1.19231086... */
  double d[20], u[20];
  for (int i = 0; i < 20; i++)
    d[i] = 1;
  zpt_isi_channel(d, 20, u);
  double q = 1.161, want = q + 0.036 * q * q - 0.011 * q * q * q;
  ck_assert_double_eq_tol(want, 1.19231086, 1e-8);
  for (int n = 7; n < 18; n++)
    ck_assert_double_eq_tol(u[n], want, 1e-12);
  for (int n = 0; n < 7; n++)
    ck_assert(isnan(u[n]));
  ck_assert(isnan(u[18]) && isnan(u[19]));
  /* an impulse d(10) = 3: q(n) = 3 h(n - 10) with h(-2..7) the taps */
  memset(d, 0, sizeof d);
  d[10] = 3;
  zpt_isi_channel(d, 20, u);
  const double qn[20] = {[8] = 0.24, [9] = -0.36, [10] = 3, [11] = 0.54, [12] = -0.3,
                         [13] = 0.273, [14] = -0.15, [15] = 0.12, [16] = 0.09, [17] = 0.03};
  for (int n = 7; n < 18; n++) {
    double e = qn[n] + 0.036 * qn[n] * qn[n] - 0.011 * qn[n] * qn[n] * qn[n];
    ck_assert_msg(fabs(u[n] - e) < 1e-12, "u(%d) = %.15g, expected %.15g", n, u[n], e);
  }
  ck_assert_double_eq_tol(u[10], 3.027, 1e-12); /* 3 + 0.324 - 0.297 */
}
END_TEST

START_TEST(test_isi_dataset_matches_channel) {
  zpt_eq_config c = zpt_eq_defaults(ZPT_CHANNEL_ISI);
  c.n = 200;
  c.snr_db = INFINITY;
  c.seed = 11;
  zpt_dataset *d;
  ck_assert_int_eq(zpt_eq_generate(&c, &d), ZPT_OK);
  ck_assert_uint_eq(d->input_size, 8);
  ck_assert_uint_eq(d->n_classes, 4);
  ck_assert_int_eq(d->channel, ZPT_CHANNEL_ISI);
  ck_assert_uint_eq(d->delay, 2);
  /* regenerate the symbol stream and the channel by hand */
  size_t pad = c.centre + 7, len = pad + c.n + 20;
  unsigned char *cls = malloc(len);
  double *lv = malloc(len * sizeof(double)), *u = malloc(len * sizeof(double));
  ck_assert_int_eq(zpt_eq_symbols(c.seed, ZPT_DATA_ISI, len, cls), ZPT_OK);
  for (size_t i = 0; i < len; i++)
    lv[i] = 2.0 * cls[i] - 3.0;
  zpt_isi_channel(lv, len, u);
  int counts[4] = {0};
  for (size_t k = 0; k < c.n; k++) {
    size_t nk = pad + k;
    ck_assert(d->targets[k] == (float)cls[nk - 2]); /* target d(n-2) */
    counts[cls[nk - 2]]++;
    for (size_t j = 0; j < c.taps; j++) /* window u(n-7) .. u(n) */
      ck_assert(zpt_dataset_input(d, k)[j] == (float)u[nk + j - c.centre]);
  }
  for (int s = 0; s < 4; s++)
    ck_assert_int_gt(counts[s], 25); /* all four symbols occur */
  /* noisy version: same symbols, noise at the requested SNR */
  zpt_dataset *dn;
  c.n = 20000;
  c.snr_db = 20;
  zpt_dataset_free(d);
  c.snr_db = INFINITY;
  ck_assert_int_eq(zpt_eq_generate(&c, &d), ZPT_OK);
  c.snr_db = 20;
  ck_assert_int_eq(zpt_eq_generate(&c, &dn), ZPT_OK);
  ck_assert_mem_eq(d->targets, dn->targets, c.n * sizeof(float));
  double sm = 0, s2 = 0, e2 = 0;
  for (size_t k = 0; k < c.n; k++) {
    double s = zpt_dataset_input(d, k)[0], e = zpt_dataset_input(dn, k)[0] - s;
    sm += s;
    s2 += s * s;
    e2 += e * e;
  }
  double var = s2 / c.n - (sm / c.n) * (sm / c.n);
  double snr = 10 * log10(var / (e2 / c.n));
  ck_assert_msg(fabs(snr - 20) < 0.2, "measured SNR %.3f dB, requested 20", snr);
  zpt_dataset_free(d);
  zpt_dataset_free(dn);
  free(cls);
  free(lv);
  free(u);
  c.centre = c.taps;
  expect_error(zpt_eq_generate(&c, &d), ZPT_EINVAL, "centre < taps", NULL);
}
END_TEST

/* rms width of |E|^2 and its energy */
static void pulse_stats(const double complex *e, size_t n, double *energy, double *rms) {
  double m0 = 0, m1 = 0, m2 = 0;
  for (size_t i = 0; i < n; i++) {
    double p = creal(e[i]) * creal(e[i]) + cimag(e[i]) * cimag(e[i]);
    m0 += p;
    m1 += p * (double)i;
    m2 += p * (double)i * (double)i;
  }
  *energy = m0;
  *rms = sqrt(m2 / m0 - (m1 / m0) * (m1 / m0));
}

START_TEST(test_dispersion_single_pulse) {
  const size_t n = 4096;
  const double fs = 1e12, t0 = 10e-12; /* 1 ps samples, 10 ps Gaussian pulse */
  const double lambda = 1550e-9, dd = 17e-6;
  const double beta2 = -lambda * lambda * dd / (2 * M_PI * ZPT_SPEED_OF_LIGHT);
  const double len = 1.5 * t0 * t0 / fabs(beta2); /* beta2 L / T0^2 = 1.5 */
  double complex *e = malloc(n * sizeof *e), *e0 = malloc(n * sizeof *e0);
  for (size_t i = 0; i < n; i++) {
    double t = ((double)i - n / 2.0) / fs;
    e0[i] = exp(-t * t / (2 * t0 * t0));
  }
  double en0, rms0, en1, rms1;
  pulse_stats(e0, n, &en0, &rms0);
  /* L = 0: identity */
  memcpy(e, e0, n * sizeof *e);
  ck_assert_int_eq(zpt_dispersion_apply(e, n, fs, lambda, dd, 0), ZPT_OK);
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, cabs(e[i] - e0[i]));
  ck_assert_msg(worst < 1e-12, "L = 0 changed the field by %.3g", worst);
  /* L > 0: energy conserved, Gaussian width grows by sqrt(1 + 1.5^2) */
  memcpy(e, e0, n * sizeof *e);
  ck_assert_int_eq(zpt_dispersion_apply(e, n, fs, lambda, dd, len), ZPT_OK);
  pulse_stats(e, n, &en1, &rms1);
  ck_assert_msg(fabs(en1 / en0 - 1) < 1e-12, "energy ratio %.15g", en1 / en0);
  double ratio = rms1 / rms0, want = sqrt(1 + 1.5 * 1.5);
  ck_assert_msg(fabs(ratio / want - 1) < 1e-6, "broadening %.9g, predicted %.9g", ratio, want);
  ck_assert_double_eq_tol(rms0, t0 * fs / sqrt(2.0), 1e-6); /* intensity rms = T0/sqrt2 */
  /* the intensity does not depend on the sign of D */
  double complex *em = malloc(n * sizeof *em);
  memcpy(em, e0, n * sizeof *em);
  ck_assert_int_eq(zpt_dispersion_apply(em, n, fs, lambda, -dd, len), ZPT_OK);
  worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, fabs(cabs(em[i]) - cabs(e[i])));
  ck_assert_msg(worst < 1e-12, "|E| differs between +D and -D by %.3g", worst);
  ck_assert_int_eq(zpt_dispersion_apply(e, n, 0, lambda, dd, len), ZPT_EINVAL);
  free(e);
  free(e0);
  free(em);
}
END_TEST

START_TEST(test_imdd_dataset) {
  zpt_eq_config c = zpt_eq_defaults(ZPT_CHANNEL_IMDD);
  ck_assert_double_eq(c.baud, 112e9);
  ck_assert_double_eq(c.wavelength, 1270e-9);
  ck_assert_double_eq(c.dispersion, -5e-6);
  ck_assert_double_eq(c.length, 4000);
  c.n = 3000;
  c.snr_db = INFINITY;
  /* no fibre: the received sample is (level + bias)^2 of its own symbol */
  c.length = 0;
  zpt_dataset *d, *d2;
  ck_assert_int_eq(zpt_eq_generate(&c, &d), ZPT_OK);
  ck_assert_uint_eq(d->input_size, 9);
  ck_assert_int_eq(d->channel, ZPT_CHANNEL_IMDD);
  for (size_t k = 0; k < c.n; k++) {
    double a = 2.0 * d->targets[k] - 3.0 + c.bias;
    float got = zpt_dataset_input(d, k)[c.centre];
    ck_assert_msg(fabs(got - a * a) < 1e-4 * a * a, "sample %zu: %g vs %g", k, got, a * a);
    if (k > 0) /* the window is the received stream: tap centre-1 = previous sample */
      ck_assert(zpt_dataset_input(d, k)[c.centre - 1] ==
                zpt_dataset_input(d, k - 1)[c.centre]);
  }
  /* 4 km of fibre: same symbols, received samples now carry ISI */
  c.length = 4000;
  ck_assert_int_eq(zpt_eq_generate(&c, &d2), ZPT_OK);
  ck_assert_mem_eq(d->targets, d2->targets, c.n * sizeof(float));
  double diff = 0, p0 = 0, p1 = 0;
  for (size_t k = 0; k < c.n; k++) {
    float a = zpt_dataset_input(d, k)[c.centre], b = zpt_dataset_input(d2, k)[c.centre];
    diff = fmax(diff, fabs(a - b));
    p0 += a;
    p1 += b;
  }
  ck_assert_msg(diff > 0.1, "dispersion changed the received samples by only %g", diff);
  /* the mean received power is close to the launched one (energy conserved) */
  ck_assert_msg(fabs(p1 / p0 - 1) < 0.02, "mean power ratio %g", p1 / p0);
  zpt_dataset *d3;
  ck_assert_int_eq(zpt_eq_generate(&c, &d3), ZPT_OK); /* deterministic */
  ck_assert_mem_eq(d2->inputs, d3->inputs, c.n * c.taps * sizeof(float));
  zpt_dataset_free(d);
  zpt_dataset_free(d2);
  zpt_dataset_free(d3);
  c.sps = 0;
  ck_assert_int_eq(zpt_eq_generate(&c, &d), ZPT_EINVAL);
}
END_TEST

START_TEST(test_symbol_error_rate) {
  float targets[4] = {0, 3, 2, 1};
  int pred[4] = {0, 3, 1, 1};
  ck_assert_double_eq(zpt_symbol_error_rate(pred, targets, 4), 0.25);
  ck_assert(isnan(zpt_symbol_error_rate(pred, targets, 0)));
  ck_assert_double_eq(ZPT_FEC_SER_THRESHOLD, 3.8e-3);
  float scores[6] = {0.1f, 0.7f, 0.2f, 5, 5, -1};
  int p[2];
  zpt_predict_classes(scores, 2, 3, p);
  ck_assert_int_eq(p[0], 1);
  ck_assert_int_eq(p[1], 0); /* first on ties */
}
END_TEST

/* ---- preprocessing ---------------------------------------------------- */

START_TEST(test_scaling_and_standardisation) {
  zpt_dataset *tr, *te;
  ck_assert_int_eq(zpt_dataset_alloc(&tr, "tr", ZPT_TASK_REGRESSION, 4, 2, 1, 0), ZPT_OK);
  ck_assert_int_eq(zpt_dataset_alloc(&te, "te", ZPT_TASK_REGRESSION, 1, 2, 1, 0), ZPT_OK);
  float x[8] = {1, 5, 3, 5, 5, 5, 7, 5}; /* feature 0: 1,3,5,7; feature 1 constant */
  memcpy(tr->inputs, x, sizeof x);
  te->inputs[0] = 9;
  te->inputs[1] = 6;
  zpt_standardizer *s;
  ck_assert_int_eq(zpt_standardizer_fit(tr, &s), ZPT_OK);
  ck_assert_double_eq_tol(s->mean[0], 4, 1e-12);
  ck_assert_double_eq_tol(s->std[0], sqrt(5.0), 1e-12); /* (9+1+1+9)/4 = 5 */
  ck_assert_double_eq(s->std[1], 1.0);                  /* constant: only centred */
  ck_assert_int_eq(zpt_standardizer_apply(s, tr), ZPT_OK);
  ck_assert_int_eq(zpt_standardizer_apply(s, te), ZPT_OK);
  ck_assert_double_eq_tol(tr->inputs[0], -3 / sqrt(5.0), 1e-6);
  ck_assert_double_eq_tol(te->inputs[0], 5 / sqrt(5.0), 1e-6); /* train stats */
  ck_assert_double_eq_tol(te->inputs[1], 1, 1e-6);
  zpt_dataset *wrong;
  ck_assert_int_eq(zpt_dataset_alloc(&wrong, "w", ZPT_TASK_REGRESSION, 1, 3, 1, 0), ZPT_OK);
  expect_error(zpt_standardizer_apply(s, wrong), ZPT_EINVAL, "3 features", "fitted on 2");
  zpt_standardizer_free(s);
  zpt_standardizer_free(NULL);
  /* pixel scaling */
  wrong->inputs[0] = 0;
  wrong->inputs[1] = 255;
  wrong->inputs[2] = 51;
  ck_assert_int_eq(zpt_scale_range(wrong, 0, 255), ZPT_OK);
  ck_assert(wrong->inputs[0] == 0.0f && wrong->inputs[1] == 1.0f);
  ck_assert_double_eq_tol(wrong->inputs[2], 0.2, 1e-7);
  ck_assert_int_eq(zpt_scale_range(wrong, 1, 1), ZPT_EINVAL);
  zpt_dataset_free(wrong);
  zpt_dataset_free(tr);
  zpt_dataset_free(te);
}
END_TEST

START_TEST(test_dft_features) {
  /* x[t] = cos(2 pi 2 t / 8): X[2] = X[6] = (8/2) / sqrt(8) = sqrt(2), others 0 */
  float x[8], out[14];
  for (int t = 0; t < 8; t++)
    x[t] = (float)cos(2 * M_PI * 2 * t / 8.0);
  zpt_dft_encoder *e;
  ck_assert_int_eq(zpt_dft_encoder_alloc(&e, 8, 7), ZPT_OK);
  ck_assert_int_eq(zpt_dft_encode(e, x, out), ZPT_OK);
  for (int b = 1; b <= 7; b++) {
    double re = (b == 2 || b == 6) ? sqrt(2.0) : 0;
    ck_assert_double_eq_tol(out[2 * (b - 1)], re, 1e-6);
    ck_assert_double_eq_tol(out[2 * (b - 1) + 1], 0, 1e-6);
  }
  zpt_dft_encoder_free(e);
  zpt_dft_encoder_free(NULL);
  /* against a direct DFT on 784 pseudo-random values, K = 64; Parseval with K = M-1 */
  enum { M = 784 };
  float *img = malloc(M * sizeof(float)), *f = malloc(2 * (M - 1) * sizeof(float));
  gsl_rng *r = zpt_rng_alloc(3, ZPT_STREAM_TEST, 0, 0);
  double energy = 0, sum = 0;
  for (int t = 0; t < M; t++) {
    img[t] = (float)gsl_rng_uniform(r);
    energy += (double)img[t] * img[t];
    sum += img[t];
  }
  zpt_rng_free(r);
  ck_assert_int_eq(zpt_dft_encoder_alloc(&e, M, M - 1), ZPT_OK);
  ck_assert_int_eq(zpt_dft_encode(e, img, f), ZPT_OK);
  zpt_dft_encoder_free(e);
  double worst = 0, spec = sum * sum / M; /* |X[0]|^2 */
  for (int b = 1; b < M; b++) {
    double re = 0, im = 0;
    if (b <= 64) {
      for (int t = 0; t < M; t++) {
        re += img[t] * cos(2 * M_PI * (double)b * t / M);
        im -= img[t] * sin(2 * M_PI * (double)b * t / M);
      }
      worst = fmax(worst, fabs(re / sqrt((double)M) - f[2 * (b - 1)]));
      worst = fmax(worst, fabs(im / sqrt((double)M) - f[2 * (b - 1) + 1]));
    }
    spec += (double)f[2 * (b - 1)] * f[2 * (b - 1)] + (double)f[2 * b - 1] * f[2 * b - 1];
  }
  ck_assert_msg(worst < 1e-4, "DFT bins differ from the direct sum by %.3g", worst);
  ck_assert_msg(fabs(spec / energy - 1) < 1e-5, "Parseval ratio %.9g", spec / energy);
  free(img);
  free(f);
  ck_assert_int_eq(zpt_dft_encoder_alloc(&e, 8, 0), ZPT_EINVAL);
  ck_assert_int_eq(zpt_dft_encoder_alloc(&e, 8, 8), ZPT_EINVAL);
  /* data-set level: shapes and targets carried over */
  zpt_dataset *d = indexed_dataset(5), *fd;
  ck_assert_int_eq(zpt_dataset_set_image_shape(d, 1, 1, 2), ZPT_OK);
  ck_assert_int_eq(zpt_dft_features(d, 1, "dft", &fd), ZPT_OK);
  ck_assert_uint_eq(fd->input_size, 2);
  ck_assert_uint_eq(fd->height, 0);
  ck_assert_uint_eq(fd->n_classes, 3);
  ck_assert_mem_eq(fd->targets, d->targets, 5 * sizeof(float));
  /* M = 2, bin 1: (x0 - x1) / sqrt 2 = (3 - 1003) / sqrt 2 for sample 3 */
  ck_assert_double_eq_tol(zpt_dataset_input(fd, 3)[0], -1000 / sqrt(2.0), 1e-3);
  zpt_dataset_free(fd);
  zpt_dataset_free(d);
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *t = tcase_create("loaders");
  tcase_add_test(t, test_read_file_limits);
  tcase_add_test(t, test_idx_pair_gzip_and_raw);
  tcase_add_test(t, test_idx_element_types_and_dims);
  tcase_add_test(t, test_idx_bad_input);
  tcase_add_test(t, test_cifar10_batches);
  tcase_add_test(t, test_cifar10_bad_input);
  tcase_add_test(t, test_csv_parse_options);
  tcase_add_test(t, test_digits_csv_gz);
  tcase_add_test(t, test_csv_bad_input);
  tcase_add_test(t, test_csv_numbers_strict);
  tcase_add_test(t, test_csv_header_and_labels);
  tcase_add_test(t, test_idx_infer_classes);
  suite_add_tcase(s, t);
  t = tcase_create("sets");
  tcase_add_test(t, test_dataset_alloc_checks);
  tcase_add_test(t, test_split_mnist10k_rule);
  tcase_add_test(t, test_split_random_and_first);
  tcase_add_test(t, test_batcher_covers_each_sample_once);
  tcase_add_test(t, test_batcher_reproducible_and_resumes);
  tcase_add_test(t, test_batch_gather);
  suite_add_tcase(s, t);
  t = tcase_create("generators");
  tcase_add_test(t, test_copying_layout);
  tcase_add_test(t, test_isi_channel_hand_worked);
  tcase_add_test(t, test_isi_dataset_matches_channel);
  tcase_add_test(t, test_dispersion_single_pulse);
  tcase_add_test(t, test_imdd_dataset);
  tcase_add_test(t, test_symbol_error_rate);
  suite_add_tcase(s, t);
  t = tcase_create("preprocess");
  tcase_add_test(t, test_scaling_and_standardisation);
  tcase_add_test(t, test_dft_features);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return zpt_test_run(data_suite()); }
