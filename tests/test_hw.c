/* The chip-driver protocol: frame round trips and every validation error;
 * client <-> server over a socketpair and through zoptic-chipd (stdio and
 * socket), bit for bit equal to the in-process black box, with splitting
 * across driver limits; every client fault provoked with the misbehaving
 * driver (fault_driver.c, compiled in here and run as
 * "test_hw --fault-driver MODE SPEC"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "zoptic.h"
#include "hw/chip_client.h"
#include "hw/chip_io.h"
#include "hw/chip_proto.h"
#include "hw/chip_server.h"
#include "core/timer.h"
#include "hw/linear_chip.h"

#include "fault_driver.c"

extern char **environ;

/* ---- helpers ------------------------------------------------------------ */

#define ASSERT_MSG_HAS(needle)                                                   \
  ck_assert_msg(strstr(zpt_error_message(), (needle)) != NULL,                   \
                "message \"%s\" lacks \"%s\"", zpt_error_message(), (needle))

static void fill(float *x, size_t n, uint64_t seed, double sigma) {
  gsl_rng *r = zpt_rng_alloc(seed, ZPT_STREAM_TEST, 0, 0);
  ck_assert_ptr_nonnull(r);
  zpt_rng_gaussians(r, x, n, sigma);
  zpt_rng_free(r);
}

static zpt_chip_info test_info(void) {
  zpt_chip_info in = {.version = ZPT_CHIP_VERSION, .input_kind = ZPT_CHIP_INPUT_REAL,
                      .form = ZPT_CHIP_FORM_COMPACT, .n_params = 10, .input_size = 3,
                      .output_size = 2, .max_batch = 8, .max_vars = 4};
  strcpy(in.name, "test chip");
  return in;
}

/* A call of the trainer's shape: V variations of several kinds. */
typedef struct {
  size_t n, in, out, n_vars, batch;
  float *theta, *inputs, *deltas;
  zpt_variation vars[16];
} workload;

static void workload_init(workload *w, size_t n, size_t in, size_t out, size_t n_vars,
                          size_t batch, uint64_t seed) {
  ck_assert_uint_le(n_vars, 16);
  w->n = n;
  w->in = in;
  w->out = out;
  w->n_vars = n_vars;
  w->batch = batch;
  w->theta = zpt_floats(n, "theta");
  w->inputs = zpt_floats(batch * in, "inputs");
  w->deltas = zpt_floats(n * n_vars, "deltas");
  fill(w->theta, n, seed, 0.5);
  fill(w->inputs, batch * in, seed + 1, 1.0);
  fill(w->deltas, n * n_vars, seed + 2, 1.0);
  for (size_t v = 0; v < n_vars; v++) {
    size_t off = (v * 7) % n, len = v == 0 ? 0 : (v % 3 == 0 ? n - off : 1 + v % (n - off));
    if (v == 1) {
      off = 0;
      len = n; /* a full perturbation */
    }
    w->vars[v] = (zpt_variation){off, len, 0.01f * (float)(v + 1), w->deltas + v * n};
  }
}

static void workload_free(workload *w) {
  zpt_free(w->theta);
  zpt_free(w->inputs);
  zpt_free(w->deltas);
}

static float *query_outputs(zpt_blackbox *bb, const workload *w, uint64_t first_query,
                            int expect_rc) {
  float *y = zpt_floats(w->n_vars * w->batch * w->out, "outputs");
  int rc = zpt_blackbox_query(bb, w->theta, w->vars, w->n_vars, w->inputs, w->batch, y,
                              first_query);
  ck_assert_msg(rc == expect_rc, "query returned %s (%s), expected %s", zpt_status_name(rc),
                zpt_error_message(), zpt_status_name(expect_rc));
  return y;
}

/* Server thread over one end of a socketpair. */
typedef struct {
  zpt_blackbox *bb;
  zpt_chip_server_config cfg;
  int fd;
  int rc;
  char message[2048];
  pthread_t thread;
} served;

static void *serve_thread(void *arg) {
  served *s = arg;
  s->rc = zpt_chip_serve(s->bb, &s->cfg, s->fd, s->fd, NULL);
  snprintf(s->message, sizeof s->message, "%s", zpt_error_message());
  close(s->fd);
  return NULL;
}

/* Starts a server for bb; returns the client's end of the socketpair. */
static int serve_start(served *s, zpt_blackbox *bb, const zpt_chip_server_config *cfg) {
  int sv[2];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  s->bb = bb;
  s->cfg = *cfg;
  s->fd = sv[1];
  ck_assert_int_eq(pthread_create(&s->thread, NULL, serve_thread, s), 0);
  return sv[0];
}

static void serve_join(served *s) { pthread_join(s->thread, NULL); }

static const char *build_dir(void) {
  const char *b = getenv("BUILD");
  return b && *b ? b : "build";
}

static void self_exe(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  ck_assert_int_gt(n, 0);
  buf[n] = '\0';
}

/* ---- frames ------------------------------------------------------------- */

START_TEST(test_header) {
  unsigned char b[ZPT_CHIP_HEADER_SIZE];
  zpt_chip_header h;
  zpt_chip_header_encode(b, ZPT_CHIP_EVAL, 77, 1234);
  ck_assert_int_eq(memcmp(b, "ZPCH", 4), 0); /* little-endian magic on the wire */
  ck_assert_int_eq(zpt_chip_header_decode(b, &h), ZPT_OK);
  ck_assert_uint_eq(h.type, ZPT_CHIP_EVAL);
  ck_assert_uint_eq(h.seq, 77);
  ck_assert_uint_eq(h.length, 1234);

  unsigned char bad[ZPT_CHIP_HEADER_SIZE];
  memcpy(bad, b, sizeof b);
  bad[0] = 'X';
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_EPROTO);
  ASSERT_MSG_HAS("bad frame magic");
  memcpy(bad, b, sizeof b);
  bad[6] = 1;
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_EPROTO);
  ASSERT_MSG_HAS("reserved");
  zpt_chip_header_encode(bad, 0, 1, 0);
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_EPROTO);
  ASSERT_MSG_HAS("unknown frame type 0");
  zpt_chip_header_encode(bad, 6, 1, 0);
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_EPROTO);
  zpt_chip_header_encode(bad, ZPT_CHIP_OUTPUT, 1, ZPT_CHIP_MAX_PAYLOAD + 1);
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_EPROTO);
  ASSERT_MSG_HAS("exceeds the limit");
  zpt_chip_header_encode(bad, ZPT_CHIP_OUTPUT, 1, ZPT_CHIP_MAX_PAYLOAD);
  ck_assert_int_eq(zpt_chip_header_decode(bad, &h), ZPT_OK);
  ck_assert_str_eq(zpt_chip_type_name(ZPT_CHIP_INFO), "INFO");
}
END_TEST

START_TEST(test_hello_and_info) {
  unsigned char hb[ZPT_CHIP_HELLO_SIZE];
  uint32_t version;
  zpt_chip_hello_encode(hb, 7);
  ck_assert_int_eq(zpt_chip_hello_decode(hb, sizeof hb, &version), ZPT_OK);
  ck_assert_uint_eq(version, 7);
  ck_assert_int_eq(zpt_chip_hello_decode(hb, 7, &version), ZPT_EPROTO);
  hb[4] = 1;
  ck_assert_int_eq(zpt_chip_hello_decode(hb, sizeof hb, &version), ZPT_EPROTO);

  zpt_chip_info in = test_info(), out;
  unsigned char b[ZPT_CHIP_INFO_FIXED + ZPT_CHIP_MAX_NAME + 8];
  ck_assert_uint_eq(zpt_chip_info_size(&in), ZPT_CHIP_INFO_FIXED + 9);
  zpt_chip_info_encode(&in, b);
  size_t len = zpt_chip_info_size(&in);
  ck_assert_int_eq(zpt_chip_info_decode(b, len, &out), ZPT_OK);
  ck_assert_int_eq(memcmp(&in, &out, sizeof in), 0);

  /* each field's violation, named */
  zpt_chip_info m;
#define INFO_CASE(stmt, needle)                                        \
  do {                                                                 \
    m = test_info();                                                   \
    stmt;                                                              \
    zpt_chip_info_encode(&m, b);                                       \
    ck_assert_int_eq(zpt_chip_info_decode(b, zpt_chip_info_size(&m), &out), ZPT_EPROTO); \
    ASSERT_MSG_HAS(needle);                                            \
  } while (0)
  INFO_CASE(m.version = 2, "protocol version 2");
  INFO_CASE(m.input_kind = 3, "input kind 3");
  INFO_CASE(m.form = 0, "variation form 0");
  INFO_CASE(m.n_params = 0, "n_params 0");
  INFO_CASE(m.input_size = 0, "input_size 0");
  INFO_CASE(m.output_size = 0, "output_size 0");
  INFO_CASE((m.input_kind = ZPT_CHIP_INPUT_COMPLEX, m.input_size = 5), "must be even");
  INFO_CASE(m.n_params = (uint64_t)1 << 40, "n_params");
#undef INFO_CASE
  /* length and name */
  zpt_chip_info_encode(&in, b);
  ck_assert_int_eq(zpt_chip_info_decode(b, len - 1, &out), ZPT_EPROTO);
  ASSERT_MSG_HAS("expected 61");
  ck_assert_int_eq(zpt_chip_info_decode(b, 20, &out), ZPT_EPROTO);
  b[48] = 0xff; /* name length 255 + ... */
  b[49] = 0x01;
  ck_assert_int_eq(zpt_chip_info_decode(b, len, &out), ZPT_EPROTO);
  ASSERT_MSG_HAS("exceeds 256");
  zpt_chip_info_encode(&in, b);
  b[12] = 1;
  ck_assert_int_eq(zpt_chip_info_decode(b, len, &out), ZPT_EPROTO);
  ASSERT_MSG_HAS("reserved");
  /* a hostile name cannot inject control bytes */
  zpt_chip_info_encode(&in, b);
  b[ZPT_CHIP_INFO_FIXED] = 27;
  ck_assert_int_eq(zpt_chip_info_decode(b, len, &out), ZPT_OK);
  ck_assert_str_eq(out.name, "?est chip");
  /* a version mismatch is reported before anything else is looked at */
  memset(b, 0, sizeof b);
  b[0] = 2;
  ck_assert_int_eq(zpt_chip_info_decode(b, 4, &out), ZPT_EPROTO);
  ASSERT_MSG_HAS("version 2");
}
END_TEST

/* Encodes w's EVAL for info into a fresh buffer (*len bytes). */
static unsigned char *encode_eval(const zpt_chip_info *info, const workload *w,
                                  uint64_t fq, size_t *len) {
  ck_assert_int_eq(zpt_chip_eval_size(info, w->vars, w->n_vars, w->batch, len), ZPT_OK);
  unsigned char *b = zpt_alloc(*len, "eval");
  zpt_chip_eval_encode(info, fq, w->theta, w->vars, w->n_vars, w->inputs, w->batch, b);
  return b;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void putf(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put32(p, u);
}

START_TEST(test_eval_compact) {
  zpt_chip_info info = test_info();
  workload w;
  workload_init(&w, 10, 3, 2, 4, 5, 3);
  size_t len;
  unsigned char *b = encode_eval(&info, &w, 123456789012ull, &len);
  size_t sum = 0;
  for (size_t v = 0; v < w.n_vars; v++)
    sum += w.vars[v].len;
  ck_assert_uint_eq(len, 24 + 4 * 10 + 4 * 24 + 4 * sum + 4 * 5 * 3);
  unsigned char *c = zpt_alloc(len + 8, "copy"); /* room for a too-long case */
  memcpy(c, b, len);
  zpt_variation vars[4];
  zpt_chip_eval ev;
  ck_assert_int_eq(zpt_chip_eval_decode(c, len, &info, vars, 4, &ev), ZPT_OK);
  ck_assert_uint_eq(ev.first_query, 123456789012ull);
  ck_assert_uint_eq(ev.n_vars, 4);
  ck_assert_uint_eq(ev.batch, 5);
  ck_assert_int_eq(memcmp(ev.theta, w.theta, 40), 0);
  ck_assert_int_eq(memcmp(ev.inputs, w.inputs, 60), 0);
  for (size_t v = 0; v < 4; v++) {
    ck_assert_uint_eq(ev.vars[v].offset, w.vars[v].offset);
    ck_assert_uint_eq(ev.vars[v].len, w.vars[v].len);
    ck_assert(ev.vars[v].scale == w.vars[v].scale);
    if (w.vars[v].len)
      ck_assert_int_eq(memcmp(ev.vars[v].delta, w.vars[v].delta, 4 * w.vars[v].len), 0);
    else
      ck_assert_ptr_null(ev.vars[v].delta);
  }
  const size_t table = 24 + 40;
  const size_t deltas = table + 4 * 24;
#define EVAL_CASE(stmt, n, status, needle)                                  \
  do {                                                                      \
    memcpy(c, b, len);                                                      \
    stmt;                                                                   \
    ck_assert_int_eq(zpt_chip_eval_decode(c, (n), &info, vars, 4, &ev), (status)); \
    ASSERT_MSG_HAS(needle);                                                 \
  } while (0)
  EVAL_CASE((void)0, 20, ZPT_EPROTO, "at least 24");
  EVAL_CASE((void)0, len - 4, ZPT_EPROTO, "counts need");
  EVAL_CASE(put32(c + len, 0), len + 4, ZPT_EPROTO, "counts need"); /* trailing bytes */
  EVAL_CASE(put32(c + 20, 1), len, ZPT_EPROTO, "reserved");
  EVAL_CASE(put32(c + 16, ZPT_CHIP_FORM_FULL), len, ZPT_EPROTO, "variation form 2");
  EVAL_CASE(put32(c + 8, 0), len, ZPT_EPROTO, "0 settings");
  EVAL_CASE(put32(c + 8, 5), len, ZPT_EPROTO, "5 settings, the driver takes 1 to 4");
  EVAL_CASE(put32(c + 12, 0), len, ZPT_EPROTO, "batch of 0");
  EVAL_CASE(put32(c + 12, 9), len, ZPT_EPROTO, "batch of 9 samples, the driver takes 1 to 8");
  EVAL_CASE(put64(c + table + 24 * 2, 9), len, ZPT_EPROTO, "outside theta");
  EVAL_CASE((put64(c + table + 24 * 2, 1ull << 63), put64(c + table + 24 * 2 + 8, 1ull << 63)),
            len, ZPT_EPROTO, "outside theta");
  EVAL_CASE(put32(c + table + 24 * 3 + 20, 1), len, ZPT_EPROTO, "reserved");
  EVAL_CASE(putf(c + table + 24 * 2 + 16, NAN), len, ZPT_ENUMERIC, "variation 2: scale is nan");
  EVAL_CASE(putf(c + 24 + 4 * 7, INFINITY), len, ZPT_ENUMERIC, "theta[7] is inf");
  EVAL_CASE(putf(c + deltas + 4 * 3, NAN), len, ZPT_ENUMERIC, "variation 1: delta[3] is nan");
  EVAL_CASE(putf(c + len - 4, -INFINITY), len, ZPT_ENUMERIC, "input sample 4, value 2 is -inf");
#undef EVAL_CASE
  /* the decoder refuses more variations than the workspace holds */
  memcpy(c, b, len);
  ck_assert_int_eq(zpt_chip_eval_decode(c, len, &info, vars, 3, &ev), ZPT_EINVAL);
  ck_assert_uint_eq(zpt_chip_eval_peek_vars(b, len), 4);
  ck_assert_uint_eq(zpt_chip_eval_peek_vars(b, 3), 0);
  /* the size of a request beyond the frame limit is refused */
  ck_assert_int_eq(zpt_chip_eval_size(&info, w.vars, 1, (size_t)1 << 29, &len), ZPT_ERANGE);
  ASSERT_MSG_HAS("frame limit");
  zpt_free(b);
  zpt_free(c);
  workload_free(&w);
}
END_TEST

START_TEST(test_eval_full) {
  zpt_chip_info info = test_info();
  info.form = ZPT_CHIP_FORM_FULL;
  workload w;
  workload_init(&w, 10, 3, 2, 4, 5, 4);
  size_t len;
  unsigned char *b = encode_eval(&info, &w, 9, &len);
  ck_assert_uint_eq(len, 24 + 4 * 4 * 10 + 4 * 5 * 3);
  zpt_variation vars[1];
  zpt_chip_eval ev;
  ck_assert_int_eq(zpt_chip_eval_decode(b, len, &info, vars, 1, &ev), ZPT_OK);
  ck_assert_ptr_null(ev.theta);
  for (size_t v = 0; v < 4; v++)
    for (size_t k = 0; k < 10; k++) {
      const zpt_variation *va = &w.vars[v];
      float want = w.theta[k];
      if (k >= va->offset && k < va->offset + va->len)
        want = w.theta[k] + va->scale * va->delta[k - va->offset];
      ck_assert_msg(memcmp(&ev.settings[v * 10 + k], &want, 4) == 0,
                    "setting %zu, param %zu: %.9g vs %.9g", v, k,
                    (double)ev.settings[v * 10 + k], (double)want);
    }
  ck_assert_int_eq(memcmp(ev.inputs, w.inputs, 60), 0);
  zpt_free(b);
  b = encode_eval(&info, &w, 9, &len);
  putf(b + 24 + 4 * 23, NAN);
  ck_assert_int_eq(zpt_chip_eval_decode(b, len, &info, vars, 1, &ev), ZPT_ENUMERIC);
  ASSERT_MSG_HAS("setting 2, value 3 is nan");
  ck_assert_int_eq(zpt_chip_eval_decode(b, len - 4 * 16, &info, vars, 1, &ev), ZPT_EPROTO);
  zpt_free(b);
  workload_free(&w);
}
END_TEST

START_TEST(test_output_and_error) {
  float y[12];
  fill(y, 12, 5, 1.0);
  size_t len;
  ck_assert_int_eq(zpt_chip_output_size(2, 3, 2, &len), ZPT_OK);
  ck_assert_uint_eq(len, 8 + 48);
  _Alignas(16) unsigned char b[64], c[64]; /* decoders need 4-byte alignment */
  zpt_chip_output_encode(2, 3, y, 12, b);
  const float *got;
  memcpy(c, b, len);
  ck_assert_int_eq(zpt_chip_output_decode(c, len, 2, 3, 2, &got), ZPT_OK);
  ck_assert_int_eq(memcmp(got, y, 48), 0);
  memcpy(c, b, len);
  ck_assert_int_eq(zpt_chip_output_decode(c, len, 3, 2, 2, &got), ZPT_EPROTO);
  ASSERT_MSG_HAS("answers 2 settings x 3 samples, the request had 3 x 2");
  ck_assert_int_eq(zpt_chip_output_decode(c, len - 4, 2, 3, 2, &got), ZPT_EPROTO);
  ASSERT_MSG_HAS("expected 56");
  ck_assert_int_eq(zpt_chip_output_decode(c, 4, 2, 3, 2, &got), ZPT_EPROTO);
  putf(c + 8 + 4 * 9, NAN);
  ck_assert_int_eq(zpt_chip_output_decode(c, len, 2, 3, 2, &got), ZPT_ENUMERIC);
  ASSERT_MSG_HAS("setting 1, sample 1, output 1");
  ck_assert_ptr_null(got);
  ck_assert_int_eq(zpt_chip_output_size((size_t)1 << 20, (size_t)1 << 20, 2, &len), ZPT_ERANGE);

  unsigned char e[ZPT_CHIP_ERROR_FIXED + ZPT_CHIP_MAX_MESSAGE + 8];
  char msg[64];
  int32_t code;
  zpt_chip_error_encode(ZPT_ETIMEOUT, "shutter stuck", e);
  len = zpt_chip_error_size("shutter stuck");
  ck_assert_int_eq(zpt_chip_error_decode(e, len, &code, msg, sizeof msg), ZPT_OK);
  ck_assert_int_eq(code, ZPT_ETIMEOUT);
  ck_assert_str_eq(msg, "shutter stuck");
  ck_assert_int_eq(zpt_chip_error_decode(e, len + 1, &code, msg, sizeof msg), ZPT_EPROTO);
  ck_assert_int_eq(zpt_chip_error_decode(e, 3, &code, msg, sizeof msg), ZPT_EPROTO);
  e[8] = '\n';
  ck_assert_int_eq(zpt_chip_error_decode(e, len, &code, msg, 6), ZPT_OK);
  ck_assert_str_eq(msg, "?hutt"); /* sanitised and truncated to the buffer */
  put32(e + 4, ZPT_CHIP_MAX_MESSAGE + 1);
  ck_assert_int_eq(zpt_chip_error_decode(e, ZPT_CHIP_ERROR_FIXED + ZPT_CHIP_MAX_MESSAGE + 1,
                                         &code, msg, sizeof msg), ZPT_EPROTO);
  /* long messages are truncated when encoded */
  char *longmsg = malloc(6000);
  memset(longmsg, 'a', 5999);
  longmsg[5999] = 0;
  ck_assert_uint_eq(zpt_chip_error_size(longmsg), ZPT_CHIP_ERROR_FIXED + ZPT_CHIP_MAX_MESSAGE);
  free(longmsg);
}
END_TEST

/* ---- client <-> server over a socketpair -------------------------------- */

static void check_identical(const float *a, const float *b, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(memcmp(&a[i], &b[i], 4) == 0, "%s: value %zu differs: %.9g vs %.9g", what,
                  i, (double)a[i], (double)b[i]);
}

static void socketpair_case(const char *spec, uint32_t form, size_t max_vars,
                            size_t max_batch, uint64_t fq, size_t expect_requests) {
  zpt_blackbox *direct, *model;
  ck_assert_int_eq(zpt_linear_chip_from_spec(spec, &direct), ZPT_OK);
  ck_assert_int_eq(zpt_linear_chip_from_spec(spec, &model), ZPT_OK);
  workload w;
  workload_init(&w, direct->n_params, direct->input_size, direct->output_size, 7, 10, 21);
  served s;
  zpt_chip_server_config cfg = {.name = "pair", .form = form, .max_vars = max_vars,
                                .max_batch = max_batch};
  int fd = serve_start(&s, model, &cfg);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.n_params = direct->n_params;
  opt.input_size = direct->input_size;
  opt.output_size = direct->output_size;
  opt.input_kind = ZPT_CHIP_INPUT_REAL;
  zpt_blackbox *chip;
  ck_assert_int_eq(zpt_chip_client_open_fd(fd, "socketpair", &opt, &chip), ZPT_OK);
  ck_assert_uint_eq(chip->max_vars, 0);
  ck_assert_uint_eq(chip->max_batch, 0);
  const zpt_chip_info *info = zpt_chip_client_info(chip);
  ck_assert_str_eq(info->name, "pair");
  ck_assert_uint_eq(info->max_vars, max_vars);
  float *want = query_outputs(direct, &w, fq, ZPT_OK);
  float *got = query_outputs(chip, &w, fq, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, spec);
  zpt_chip_stats st = zpt_chip_client_stats(chip);
  ck_assert_uint_eq(st.settings, w.n_vars); /* the trainer's count, unchanged */
  ck_assert_uint_eq(st.requests, expect_requests);
  ck_assert_uint_eq(st.retries, 0);
  zpt_free(got);
  /* a later call reuses the connection; first_query still travels */
  got = query_outputs(chip, &w, fq + 100, ZPT_OK);
  float *want2 = query_outputs(direct, &w, fq + 100, ZPT_OK);
  check_identical(got, want2, w.n_vars * w.batch * w.out, "second call");
  ck_assert_uint_eq(zpt_chip_client_stats(chip).settings, 2 * w.n_vars);
  /* zero-sized calls send nothing */
  ck_assert_int_eq(zpt_blackbox_query(chip, w.theta, w.vars, 0, w.inputs, w.batch, got, 0),
                   ZPT_OK);
  ck_assert_uint_eq(zpt_chip_client_stats(chip).requests, 2 * expect_requests);
  /* a variation outside theta is refused before anything is sent */
  zpt_variation bad = {w.n - 1, 2, 1.0f, w.deltas};
  ck_assert_int_eq(zpt_blackbox_query(chip, w.theta, &bad, 1, w.inputs, 1, got, 0),
                   ZPT_EINVAL);
  ASSERT_MSG_HAS("variation 0 covers");
  zpt_blackbox_free(chip);
  serve_join(&s);
  ck_assert_msg(s.rc == ZPT_OK, "server: %s", s.message);
  zpt_free(got);
  zpt_free(want);
  zpt_free(want2);
  workload_free(&w);
  zpt_blackbox_free(direct);
  zpt_blackbox_free(model);
}

START_TEST(test_pair_unlimited) { socketpair_case("linear:5:3:11", 0, 0, 0, 0, 1); }
END_TEST

START_TEST(test_pair_split) {
  /* 7 settings in chunks of 3, 10 samples in chunks of 4: 3 x 3 requests */
  socketpair_case("linear:5:3:11", 0, 3, 4, 42, 9);
  socketpair_case("linear:5:3:11", 0, 1, 1, 42, 70); /* one setting, one sample at a time */
}
END_TEST

START_TEST(test_pair_full_form) {
  socketpair_case("linear:5:3:11", ZPT_CHIP_FORM_FULL, 0, 0, 7, 1);
  socketpair_case("linear:5:3:11", ZPT_CHIP_FORM_FULL, 2, 3, 7, 16);
}
END_TEST

START_TEST(test_pair_noise_first_query) {
  /* read-out noise is drawn from first_query + v: splitting the settings
   * keeps it bit-identical because each request carries its first_query */
  socketpair_case("linear:5:3:11:0.05", 0, 2, 0, 1000, 4);
  zpt_blackbox *direct;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:5:3:11:0.05", &direct), ZPT_OK);
  workload w;
  workload_init(&w, direct->n_params, 5, 3, 2, 3, 21);
  float *a = query_outputs(direct, &w, 1000, ZPT_OK);
  float *b = query_outputs(direct, &w, 1001, ZPT_OK);
  ck_assert_int_ne(memcmp(a, b, 9 * 4), 0); /* the noise does depend on it */
  float *c = query_outputs(direct, &w, 1000, ZPT_OK);
  ck_assert_int_eq(memcmp(a, c, 18 * 4), 0); /* and only on it */
  zpt_free(c);
  zpt_free(a);
  zpt_free(b);
  workload_free(&w);
  zpt_blackbox_free(direct);
}
END_TEST

/* A black box whose outputs are NaN when the first input is > 100 and whose
 * query fails when it is < -100. */
static int odd_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                     size_t n_vars, const float *inputs, size_t batch, float *outputs,
                     uint64_t first_query) {
  if (inputs[0] < -100)
    return zpt_fail(ZPT_EINVAL, "odd chip: input %g too negative", (double)inputs[0]);
  for (size_t i = 0; i < n_vars * batch * bb->output_size; i++)
    outputs[i] = inputs[0] > 100 ? NAN : theta[0];
  return ZPT_OK;
}
static const zpt_blackbox_type odd_type = {.name = "odd", .query = odd_query};

START_TEST(test_pair_driver_errors) {
  zpt_blackbox odd = {&odd_type, NULL, 4, 2, 2, 0, 0};
  served s;
  zpt_chip_server_config cfg = {.name = "odd"};
  int fd = serve_start(&s, &odd, &cfg);
  zpt_blackbox *chip;
  ck_assert_int_eq(zpt_chip_client_open_fd(fd, "odd", NULL, &chip), ZPT_OK);
  float theta[4] = {1, 2, 3, 4}, x[2] = {200, 0}, y[2];
  zpt_variation base = {0, 0, 0, NULL};
  ck_assert_int_eq(zpt_blackbox_query(chip, theta, &base, 1, x, 1, y, 0), ZPT_ENUMERIC);
  ASSERT_MSG_HAS("chip driver 'odd' reported an error on request 1: the chip produced a "
                 "non-finite output");
  x[0] = -200;
  ck_assert_int_eq(zpt_blackbox_query(chip, theta, &base, 1, x, 1, y, 0), ZPT_EINVAL);
  ASSERT_MSG_HAS("reported an error on request 2: odd chip: input -200 too negative");
  x[0] = 1;
  ck_assert_int_eq(zpt_blackbox_query(chip, theta, &base, 1, x, 1, y, 0), ZPT_OK);
  ck_assert(y[0] == 1.0f && y[1] == 1.0f);
  /* the expectations of the caller are checked at the handshake */
  zpt_blackbox_free(chip);
  serve_join(&s);
  ck_assert_int_eq(s.rc, ZPT_OK);

  zpt_chip_options opt = zpt_chip_options_default();
  struct {
    size_t n, in, out;
    uint32_t kind;
    const char *needle;
  } cases[] = {{5, 0, 0, 0, "has n_params 4, the model expects 5"},
               {0, 3, 0, 0, "has input_size 2, the model expects 3"},
               {0, 0, 1, 0, "has output_size 2, the model expects 1"},
               {0, 0, 0, ZPT_CHIP_INPUT_COMPLEX, "takes real inputs, the model expects complex"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    opt.n_params = cases[k].n;
    opt.input_size = cases[k].in;
    opt.output_size = cases[k].out;
    opt.input_kind = cases[k].kind;
    fd = serve_start(&s, &odd, &cfg);
    ck_assert_int_eq(zpt_chip_client_open_fd(fd, "odd", &opt, &chip), ZPT_EINVAL);
    ASSERT_MSG_HAS(cases[k].needle);
    ck_assert_ptr_null(chip);
    serve_join(&s);
  }
  /* a server configuration the black box cannot satisfy */
  zpt_blackbox *three;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:3:2:1", &three), ZPT_OK);
  zpt_chip_server_config complex_cfg = {.input_kind = ZPT_CHIP_INPUT_COMPLEX};
  ck_assert_int_eq(zpt_chip_serve(three, &complex_cfg, 0, 1, NULL), ZPT_EINVAL);
  ASSERT_MSG_HAS("must be even");
  zpt_blackbox_free(three);
  /* bad options */
  opt = zpt_chip_options_default();
  opt.timeout_s = 0;
  ck_assert_int_eq(zpt_chip_client_open("true", &opt, &chip), ZPT_EINVAL);
  ASSERT_MSG_HAS("chip.timeout_s");
  opt = zpt_chip_options_default();
  opt.retries = -1;
  ck_assert_int_eq(zpt_chip_client_open("true", &opt, &chip), ZPT_EINVAL);
  ASSERT_MSG_HAS("chip.retries");
  ck_assert_int_eq(zpt_chip_client_open("   ", NULL, &chip), ZPT_EINVAL);
  ASSERT_MSG_HAS("command is empty");
}
END_TEST

/* ---- the server against raw and hostile frames --------------------------- */

/* One write of header + payload (the server may close right after). */
static void raw_send(int fd, uint16_t type, uint32_t seq, const void *p, size_t len) {
  unsigned char *f = zpt_alloc(ZPT_CHIP_HEADER_SIZE + len, "raw frame");
  zpt_chip_header_encode(f, type, seq, (uint32_t)len);
  if (len)
    memcpy(f + ZPT_CHIP_HEADER_SIZE, p, len);
  ck_assert_int_eq(zpt_chip_write(fd, f, ZPT_CHIP_HEADER_SIZE + len, zpt_now() + 5), ZPT_IO_OK);
  zpt_free(f);
}

/* Reads one reply; returns its type; an ERROR's message goes to msg. */
static int raw_reply(int fd, uint32_t seq, unsigned char *payload, size_t cap, char *msg) {
  unsigned char hb[ZPT_CHIP_HEADER_SIZE];
  zpt_chip_header h;
  size_t got;
  ck_assert_int_eq(zpt_chip_read(fd, hb, sizeof hb, zpt_now() + 5, &got), ZPT_IO_OK);
  ck_assert_int_eq(zpt_chip_header_decode(hb, &h), ZPT_OK);
  ck_assert_uint_eq(h.seq, seq);
  ck_assert_uint_le(h.length, cap);
  ck_assert_int_eq(zpt_chip_read(fd, payload, h.length, zpt_now() + 5, &got), ZPT_IO_OK);
  if (h.type == ZPT_CHIP_ERROR) {
    int32_t code;
    ck_assert_int_eq(zpt_chip_error_decode(payload, h.length, &code, msg, 512), ZPT_OK);
    ck_assert_int_lt(code, 0);
  }
  return h.type;
}

START_TEST(test_server_bad_requests) {
  zpt_blackbox *model;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:3:2:1", &model), ZPT_OK);
  served s;
  zpt_chip_server_config cfg = {.max_vars = 4, .max_batch = 8};
  int fd = serve_start(&s, model, &cfg);
  unsigned char buf[4096];
  char msg[512];
  zpt_chip_info info;
  ck_assert_int_eq(zpt_chip_server_info(model, &cfg, &info), ZPT_OK);
  workload w;
  workload_init(&w, 8, 3, 2, 3, 2, 9);
  size_t len;
  unsigned char *eval = encode_eval(&info, &w, 0, &len);

  raw_send(fd, ZPT_CHIP_EVAL, 1, eval, len);
  ck_assert_int_eq(raw_reply(fd, 1, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_ptr_nonnull(strstr(msg, "before the HELLO"));
  unsigned char hello[ZPT_CHIP_HELLO_SIZE];
  zpt_chip_hello_encode(hello, 2);
  raw_send(fd, ZPT_CHIP_HELLO, 0, hello, sizeof hello);
  ck_assert_int_eq(raw_reply(fd, 0, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_msg(strstr(msg, "speaks chip protocol version 1, the client asked for version 2"),
                "%s", msg);
  raw_send(fd, ZPT_CHIP_EVAL, 1, eval, len); /* a refused HELLO is no handshake */
  ck_assert_int_eq(raw_reply(fd, 1, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_ptr_nonnull(strstr(msg, "before the HELLO"));
  zpt_chip_hello_encode(hello, ZPT_CHIP_VERSION);
  raw_send(fd, ZPT_CHIP_HELLO, 0, hello, 5);
  ck_assert_int_eq(raw_reply(fd, 0, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  raw_send(fd, ZPT_CHIP_HELLO, 0, hello, sizeof hello);
  ck_assert_int_eq(raw_reply(fd, 0, buf, sizeof buf, msg), ZPT_CHIP_INFO);
  /* a well-framed but wrong request gets an ERROR, and serving goes on */
  unsigned char *bad = zpt_alloc(len, "bad");
  memcpy(bad, eval, len);
  put64(bad + 24 + 32 + 24, 7); /* variation 1 at offset 7: len reaches past theta */
  raw_send(fd, ZPT_CHIP_EVAL, 2, bad, len);
  ck_assert_int_eq(raw_reply(fd, 2, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_msg(strstr(msg, "variation 1 covers [7"), "%s", msg);
  memcpy(bad, eval, len);
  putf(bad + len - 4, NAN);
  raw_send(fd, ZPT_CHIP_EVAL, 3, bad, len);
  ck_assert_int_eq(raw_reply(fd, 3, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_msg(strstr(msg, "is nan"), "%s", msg);
  raw_send(fd, ZPT_CHIP_EVAL, 4, eval, len);
  ck_assert_int_eq(raw_reply(fd, 4, buf, sizeof buf, msg), ZPT_CHIP_OUTPUT);
  /* a frame a client may not send */
  raw_send(fd, ZPT_CHIP_OUTPUT, 5, buf, 8);
  ck_assert_int_eq(raw_reply(fd, 5, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  ck_assert_msg(strstr(msg, "may not send a OUTPUT"), "%s", msg);
  serve_join(&s);
  ck_assert_int_eq(s.rc, ZPT_EPROTO);
  close(fd);

  /* an oversized EVAL for the announced limits ends the connection */
  fd = serve_start(&s, model, &cfg);
  unsigned char h[ZPT_CHIP_HEADER_SIZE];
  zpt_chip_header_encode(h, ZPT_CHIP_EVAL, 1, 1u << 29);
  ck_assert_int_eq(zpt_chip_write(fd, h, sizeof h, -1), ZPT_IO_OK);
  ck_assert_int_eq(raw_reply(fd, 1, buf, sizeof buf, msg), ZPT_CHIP_ERROR);
  serve_join(&s);
  ck_assert_int_eq(s.rc, ZPT_EPROTO);
  close(fd);

  /* a client that vanishes inside a frame */
  fd = serve_start(&s, model, &cfg);
  raw_send(fd, ZPT_CHIP_HELLO, 0, hello, sizeof hello);
  ck_assert_int_eq(raw_reply(fd, 0, buf, sizeof buf, msg), ZPT_CHIP_INFO);
  zpt_chip_header_encode(h, ZPT_CHIP_EVAL, 1, (uint32_t)len);
  ck_assert_int_eq(zpt_chip_write(fd, h, sizeof h, -1), ZPT_IO_OK);
  ck_assert_int_eq(zpt_chip_write(fd, eval, len / 2, -1), ZPT_IO_OK);
  close(fd);
  serve_join(&s);
  ck_assert_int_eq(s.rc, ZPT_EIO);
  ck_assert_msg(strstr(s.message, "connection lost after"), "%s", s.message);
  zpt_free(bad);
  zpt_free(eval);
  workload_free(&w);
  zpt_blackbox_free(model);
}
END_TEST

START_TEST(test_server_garbage) {
  /* random bytes, random frames with a valid magic: the server must end
   * the connection with an error, never crash or hang */
  zpt_blackbox *model;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:3:2:1", &model), ZPT_OK);
  gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, 7, 0);
  unsigned char junk[512];
  for (int round = 0; round < 200; round++) {
    served s;
    zpt_chip_server_config cfg = {.max_vars = 4, .max_batch = 4};
    int fd = serve_start(&s, model, &cfg);
    size_t n = 1 + zpt_rng_below(r, sizeof junk);
    for (size_t i = 0; i < n; i++)
      junk[i] = (unsigned char)zpt_rng_u64(r);
    if (round % 2) { /* a plausible header: valid magic, small type and length */
      zpt_chip_header_encode(junk, (uint16_t)(1 + zpt_rng_below(r, 5)),
                             (uint32_t)round, (uint32_t)zpt_rng_below(r, 600));
      if (n < ZPT_CHIP_HEADER_SIZE)
        n = ZPT_CHIP_HEADER_SIZE;
    }
    if (round % 4 == 1) { /* after a handshake */
      unsigned char hello[ZPT_CHIP_HELLO_SIZE], buf[512];
      char msg[512];
      zpt_chip_hello_encode(hello, ZPT_CHIP_VERSION);
      raw_send(fd, ZPT_CHIP_HELLO, 0, hello, sizeof hello);
      ck_assert_int_eq(raw_reply(fd, 0, buf, sizeof buf, msg), ZPT_CHIP_INFO);
    }
    zpt_chip_write(fd, junk, n, zpt_now() + 5);
    shutdown(fd, SHUT_WR);
    /* drain replies until the server closes */
    unsigned char sink[256];
    size_t got;
    while (zpt_chip_read(fd, sink, sizeof sink, zpt_now() + 5, &got) == ZPT_IO_OK) {
    }
    serve_join(&s);
    close(fd);
  }
  zpt_rng_free(r);
  zpt_blackbox_free(model);
}
END_TEST

/* ---- through zoptic-chipd ----------------------------------------------- */

static void chipd_case(const char *args, const char *spec) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/zoptic-chipd --quiet --model %s %s", build_dir(), spec, args);
  zpt_blackbox *direct, *chip;
  ck_assert_int_eq(zpt_linear_chip_from_spec(spec, &direct), ZPT_OK);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.n_params = direct->n_params;
  opt.timeout_s = 10;
  int rc = zpt_chip_client_open(cmd, &opt, &chip);
  ck_assert_msg(rc == ZPT_OK, "%s: %s", cmd, zpt_error_message());
  ck_assert_str_eq(zpt_chip_client_info(chip)->name, "zoptic-chipd");
  workload w;
  workload_init(&w, direct->n_params, direct->input_size, direct->output_size, 9, 13, 5);
  float *want = query_outputs(direct, &w, 77, ZPT_OK);
  float *got = query_outputs(chip, &w, 77, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, cmd);
  zpt_blackbox_free(chip);
  zpt_free(want);
  zpt_free(got);
  workload_free(&w);
  zpt_blackbox_free(direct);
}

START_TEST(test_chipd_stdio) {
  chipd_case("", "linear:6:4:3");
  chipd_case("--max-vars 2 --max-batch 5", "linear:6:4:3");
  chipd_case("--max-vars 2", "linear:6:4:3:0.1"); /* noise: split settings, not samples */
  chipd_case("--full-theta --max-vars 1", "linear:6:4:3");
  /* a mismatch with what the model expects is named */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s/zoptic-chipd --quiet --model linear:6:4:3", build_dir());
  zpt_chip_options opt = zpt_chip_options_default();
  opt.output_size = 5;
  zpt_blackbox *chip;
  ck_assert_int_eq(zpt_chip_client_open(cmd, &opt, &chip), ZPT_EINVAL);
  ASSERT_MSG_HAS("('zoptic-chipd') has output_size 4, the model expects 5");
  /* a driver that refuses its arguments exits: the status is reported */
  snprintf(cmd, sizeof cmd, "%s/zoptic-chipd --model nonsense", build_dir());
  ck_assert_int_eq(zpt_chip_client_open(cmd, NULL, &chip), ZPT_EIO);
  ASSERT_MSG_HAS("exited with status 2");
  ASSERT_MSG_HAS("the handshake");
}
END_TEST

static pid_t start_chipd_socket(const char *path, const char *spec) {
  char exe[512];
  snprintf(exe, sizeof exe, "%s/zoptic-chipd", build_dir());
  char *argv[] = {exe, "--quiet", "--model", (char *)spec, "--socket", (char *)path,
                  "--max-vars", "3", NULL};
  pid_t pid;
  ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, argv, environ), 0);
  for (int i = 0; i < 500; i++) { /* wait until it accepts */
    int fd = zpt_chip_connect_unix(path);
    if (fd >= 0) {
      close(fd);
      return pid;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  ck_abort_msg("zoptic-chipd --socket %s did not start", path);
  return -1;
}

static void stop_chipd(pid_t pid) {
  int st;
  kill(pid, SIGTERM);
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chipd ended with status %d", st);
}

START_TEST(test_chipd_socket) {
  char path[256], driver[300];
  snprintf(path, sizeof path, "%s/chip.sock", zpt_test_tmpdir());
  snprintf(driver, sizeof driver, "unix:%s", path);
  pid_t pid = start_chipd_socket(path, "linear:4:3:2");
  zpt_blackbox *direct, *chip;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:2", &direct), ZPT_OK);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.timeout_s = 5;
  opt.retries = 0;
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_OK);
  workload w;
  workload_init(&w, direct->n_params, 4, 3, 8, 6, 17);
  float *want = query_outputs(direct, &w, 5, ZPT_OK);
  float *got = query_outputs(chip, &w, 5, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, driver);
  ck_assert_uint_eq(zpt_chip_client_stats(chip).requests, 3);
  zpt_free(got);
  /* the service goes away: without retries the failure is named */
  stop_chipd(pid);
  struct stat sb;
  ck_assert_int_ne(stat(path, &sb), 0); /* it removed its socket */
  /* (the closed connection is noticed before request 4 is sent: the
   * reconnection that follows fails) */
  got = query_outputs(chip, &w, 5, ZPT_EIO);
  ASSERT_MSG_HAS("cannot connect to chip driver at socket");
  zpt_free(got);
  got = query_outputs(chip, &w, 5, ZPT_EIO);
  ASSERT_MSG_HAS("cannot connect to chip driver at socket");
  zpt_free(got);
  zpt_blackbox_free(chip);
  /* with retries, a restarted service is reconnected transparently */
  pid = start_chipd_socket(path, "linear:4:3:2");
  opt.retries = 2;
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_OK);
  got = query_outputs(chip, &w, 5, ZPT_OK);
  zpt_free(got);
  stop_chipd(pid);
  pid = start_chipd_socket(path, "linear:4:3:2");
  got = query_outputs(chip, &w, 5, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, "after reconnect");
  zpt_chip_stats st = zpt_chip_client_stats(chip);
  ck_assert_uint_eq(st.reconnects, 1);
  ck_assert_uint_eq(st.retries, 0); /* closed while idle: reopened, no retry spent */
  ck_assert_uint_eq(st.settings, 2 * w.n_vars);
  zpt_free(got);
  /* a second driver must not steal the socket of a live one */
  char exe[512];
  snprintf(exe, sizeof exe, "%s/zoptic-chipd", build_dir());
  char *argv2[] = {exe, "--model", "linear:4:3:2", "--socket", path, NULL};
  pid_t pid2;
  int st2;
  ck_assert_int_eq(posix_spawn(&pid2, exe, NULL, NULL, argv2, environ), 0);
  ck_assert_int_eq(waitpid(pid2, &st2, 0), pid2);
  ck_assert(WIFEXITED(st2) && WEXITSTATUS(st2) == 1);
  /* a service that comes back as another chip is refused, not retried */
  stop_chipd(pid);
  pid = start_chipd_socket(path, "linear:5:3:2");
  got = query_outputs(chip, &w, 5, ZPT_EPROTO);
  ASSERT_MSG_HAS("came back after a reconnect as a different chip (18 params");
  zpt_blackbox_free(chip);
  stop_chipd(pid);
  rmdir(zpt_test_tmpdir()); /* empty again: chipd removed its socket */
  zpt_free(got);
  zpt_free(want);
  workload_free(&w);
  zpt_blackbox_free(direct);
}
END_TEST

typedef struct {
  zpt_blackbox *bb;
  int lfd;
  volatile sig_atomic_t stop;
  int rc;
  pthread_t thread;
} listening;

static void *listen_thread(void *arg) {
  listening *l = arg;
  zpt_chip_server_config cfg = {.name = "tcp", .max_batch = 4};
  l->rc = zpt_chip_serve_listener(l->bb, &cfg, l->lfd, &l->stop);
  return NULL;
}

START_TEST(test_tcp) {
  zpt_blackbox *direct, *model, *chip;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:2", &direct), ZPT_OK);
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:2", &model), ZPT_OK);
  unsigned port;
  listening l = {.bb = model};
  l.lfd = zpt_chip_listen_tcp("127.0.0.1:0", &port);
  ck_assert_int_ge(l.lfd, 0);
  ck_assert_uint_gt(port, 0);
  ck_assert_int_eq(pthread_create(&l.thread, NULL, listen_thread, &l), 0);
  char driver[128];
  snprintf(driver, sizeof driver, "tcp:127.0.0.1:%u", port);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.timeout_s = 5;
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_OK);
  ck_assert_str_eq(zpt_chip_client_info(chip)->name, "tcp");
  workload w;
  workload_init(&w, direct->n_params, 4, 3, 5, 9, 31);
  float *want = query_outputs(direct, &w, 3, ZPT_OK);
  float *got = query_outputs(chip, &w, 3, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, driver);
  ck_assert_uint_eq(zpt_chip_client_stats(chip).requests, 3);
  zpt_blackbox_free(chip);
  /* a second client after the first has gone */
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_OK);
  zpt_free(got);
  got = query_outputs(chip, &w, 3, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, "second client");
  zpt_blackbox_free(chip);
  l.stop = 1;
  pthread_join(l.thread, NULL);
  ck_assert_int_eq(l.rc, ZPT_OK);
  close(l.lfd);
  /* nothing listens there now; malformed addresses are not retried */
  opt.retries = 1;
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_EIO);
  ASSERT_MSG_HAS("cannot connect to chip driver at tcp '127.0.0.1:");
  ck_assert_int_eq(zpt_chip_client_open("tcp:localhost", &opt, &chip), ZPT_EINVAL);
  ASSERT_MSG_HAS("malformed address (expected tcp:HOST:PORT)");
  ck_assert_int_eq(zpt_chip_client_open("tcp:127.0.0.1:99999", &opt, &chip), ZPT_EINVAL);
  ck_assert_uint_eq(zpt_chip_client_stats(chip).retries, 0); /* NULL black box: zeros */

  /* zoptic-chipd --tcp */
  int probe = zpt_chip_listen_tcp("127.0.0.1:0", &port);
  ck_assert_int_ge(probe, 0);
  close(probe); /* a free port to hand to chipd */
  char exe[512], hp[64];
  snprintf(exe, sizeof exe, "%s/zoptic-chipd", build_dir());
  snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
  snprintf(driver, sizeof driver, "tcp:%s", hp);
  char *argv[] = {exe, "--quiet", "--model", "linear:4:3:2", "--tcp", hp, NULL};
  pid_t pid;
  ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, argv, environ), 0);
  int rc = ZPT_EIO;
  for (int i = 0; i < 500 && rc != ZPT_OK; i++) {
    opt.retries = 0;
    rc = zpt_chip_client_open(driver, &opt, &chip);
    if (rc != ZPT_OK) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  ck_assert_msg(rc == ZPT_OK, "%s", zpt_error_message());
  zpt_free(got);
  got = query_outputs(chip, &w, 3, ZPT_OK);
  check_identical(got, want, w.n_vars * w.batch * w.out, "chipd --tcp");
  zpt_blackbox_free(chip);
  stop_chipd(pid);
  zpt_free(got);
  zpt_free(want);
  workload_free(&w);
  zpt_blackbox_free(direct);
  zpt_blackbox_free(model);
}
END_TEST

/* ---- faults ------------------------------------------------------------- */

static int open_fault(const char *mode, double timeout, int retries, zpt_blackbox **chip,
                      char *cmd, size_t cap) {
  char exe[512];
  self_exe(exe, sizeof exe);
  snprintf(cmd, cap, "%s --fault-driver %s linear:4:3:7", exe, mode);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.timeout_s = timeout;
  opt.retries = retries;
  return zpt_chip_client_open(cmd, &opt, chip);
}

START_TEST(test_faults_in_requests) {
  struct {
    const char *mode;
    int status;
    const char *needle, *needle2;
  } cases[] = {
      {"hang", ZPT_ETIMEOUT, "timed out after 0.3 s on request 1 (chip.timeout_s)", "chip driver '/"},
      {"exit", ZPT_EIO, "exited with status 3 while answering request 1", "reply cut short"},
      {"exit-early", ZPT_EIO, "exited with status 4", "request 1"},
      {"short", ZPT_EPROTO, "request 1: OUTPUT payload is 52 bytes, expected 56", "chip driver '/"},
      {"magic", ZPT_EPROTO, "sent a malformed reply to request 1: bad frame magic 0xdeadbeef",
       "chip driver '/"},
      {"nan", ZPT_ENUMERIC, "non-finite value (nan) for setting 1, sample 0, output 0", "request 1"},
      {"error", ZPT_EIO, "reported an error on request 1: laser interlock open", "code -3"},
      {"seq", ZPT_EPROTO, "answered request 2 while zoptic waited for request 1", "chip driver '/"},
      {"big", ZPT_EPROTO, "exceeds the limit", "request 1"},
      {"garbage", ZPT_EPROTO, "malformed reply to request 1", "chip driver '/"},
      {"close:0", ZPT_EIO, "exited with status 0 while answering request 1", "chip driver '/"},
  };
  workload w;
  workload_init(&w, 15, 4, 3, 2, 2, 8);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char cmd[700];
    zpt_blackbox *chip;
    int rc = open_fault(cases[k].mode, 0.3, 0, &chip, cmd, sizeof cmd);
    ck_assert_msg(rc == ZPT_OK, "%s: %s", cmd, zpt_error_message());
    double t0 = zpt_now();
    float *y = query_outputs(chip, &w, 0, cases[k].status);
    double dt = zpt_now() - t0;
    ck_assert_msg(dt < 5.0, "%s: the fault took %.1f s to report", cases[k].mode, dt);
    ASSERT_MSG_HAS(cases[k].needle);
    ASSERT_MSG_HAS(cases[k].needle2);
    ASSERT_MSG_HAS("chip driver '/"); /* names the driver by its path */
    zpt_free(y);
    zpt_blackbox_free(chip);
  }
  workload_free(&w);
}
END_TEST

START_TEST(test_faults_in_handshake) {
  char cmd[700];
  zpt_blackbox *chip;
  double t0 = zpt_now();
  ck_assert_int_eq(open_fault("hang-hello", 0.3, 0, &chip, cmd, sizeof cmd), ZPT_ETIMEOUT);
  ASSERT_MSG_HAS("timed out after 0.3 s on the handshake (chip.timeout_s)");
  ck_assert_ptr_null(chip);
  ck_assert_int_eq(open_fault("version", 0.3, 2, &chip, cmd, sizeof cmd), ZPT_EPROTO);
  ASSERT_MSG_HAS("handshake: driver speaks protocol version 99, zoptic speaks version 1");
  /* a transport fault in the handshake is retried, then reported */
  ck_assert_int_eq(open_fault("hang-hello", 0.3, 1, &chip, cmd, sizeof cmd), ZPT_ETIMEOUT);
  ck_assert_msg(zpt_now() - t0 < 10.0, "handshake faults took %.1f s", zpt_now() - t0);
  zpt_chip_options opt = zpt_chip_options_default();
  ck_assert_int_eq(zpt_chip_client_open("/nonexistent/driver --x", &opt, &chip), ZPT_EIO);
  ASSERT_MSG_HAS("cannot start chip driver '/nonexistent/driver': No such file");
  char path[300];
  snprintf(path, sizeof path, "unix:%s/none.sock", zpt_test_tmpdir());
  opt.retries = 1;
  ck_assert_int_eq(zpt_chip_client_open(path, &opt, &chip), ZPT_EIO);
  ASSERT_MSG_HAS("cannot connect to chip driver at socket");
  rmdir(zpt_test_tmpdir());
}
END_TEST

START_TEST(test_fault_retries) {
  workload w;
  workload_init(&w, 15, 4, 3, 3, 2, 8);
  zpt_blackbox *direct, *chip;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:7", &direct), ZPT_OK);
  float *want = query_outputs(direct, &w, 0, ZPT_OK);
  char cmd[700];
  /* the driver quits after every second request: a respawn heals it */
  ck_assert_int_eq(open_fault("close:2", 5, 1, &chip, cmd, sizeof cmd), ZPT_OK);
  for (int i = 0; i < 5; i++) {
    float *got = query_outputs(chip, &w, 0, ZPT_OK);
    check_identical(got, want, 3 * 2 * 3, "after respawn");
    zpt_free(got);
  }
  zpt_chip_stats st = zpt_chip_client_stats(chip);
  ck_assert_uint_eq(st.requests, 5);
  ck_assert_uint_eq(st.reconnects, 2);
  ck_assert_uint_eq(st.retries, 2);
  ck_assert_uint_eq(st.settings, 15);
  zpt_blackbox_free(chip);
  /* a driver that always hangs: every attempt times out, then it gives up */
  ck_assert_int_eq(open_fault("hang", 0.3, 2, &chip, cmd, sizeof cmd), ZPT_OK);
  double t0 = zpt_now();
  float *y = query_outputs(chip, &w, 0, ZPT_ETIMEOUT);
  ck_assert_msg(zpt_now() - t0 < 8.0, "3 timeouts of 0.3 s took %.1f s", zpt_now() - t0);
  ASSERT_MSG_HAS("timed out after 0.3 s on request 3");
  ASSERT_MSG_HAS("gave up after 3 attempts; chip.retries = 2");
  zpt_free(y);
  zpt_blackbox_free(chip);
  /* an explicit error reply is not retried */
  ck_assert_int_eq(open_fault("error", 0.3, 3, &chip, cmd, sizeof cmd), ZPT_OK);
  y = query_outputs(chip, &w, 0, ZPT_EIO);
  ck_assert_uint_eq(zpt_chip_client_stats(chip).retries, 0);
  ASSERT_MSG_HAS("laser interlock open");
  zpt_free(y);
  zpt_blackbox_free(chip);
  zpt_free(want);
  zpt_blackbox_free(direct);
  workload_free(&w);
}
END_TEST

START_TEST(test_linear_spec) {
  zpt_blackbox *bb;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:8:4:1", &bb), ZPT_OK);
  ck_assert_uint_eq(bb->n_params, 36);
  zpt_blackbox_free(bb);
  const char *bad[] = {"mlp:1:2:3", "linear:8", "linear:8:4", "linear:8:4:", "linear:x:4:1",
                       "linear:8:4:1:", "linear:8:4:1:abc", "linear:0:4:1", "linear:8:4:1:-1",
                       "linear:-8:4:1", "linear:99999999:4:1"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ck_assert_msg(zpt_linear_chip_from_spec(bad[k], &bb) == ZPT_EINVAL, "%s accepted", bad[k]);
    ck_assert_ptr_null(bb);
  }
  zpt_blackbox_free(NULL);
}
END_TEST

/* ---- reliability: idle clients, back-off, every attempt's error ---------- */

/* A client that connects and sends nothing (or stalls inside a frame) no
 * longer blocks the chip: zoptic-chipd --idle-timeout drops it and serves
 * the next client. */
START_TEST(test_chipd_idle_client) {
  char path[256], driver[300], exe[512];
  snprintf(path, sizeof path, "%s/idle.sock", zpt_test_tmpdir());
  snprintf(driver, sizeof driver, "unix:%s", path);
  snprintf(exe, sizeof exe, "%s/zoptic-chipd", build_dir());
  char *argv[] = {exe, "--quiet", "--model", "linear:4:3:2", "--socket", path,
                  "--idle-timeout", "0.5", NULL};
  pid_t pid;
  ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, argv, environ), 0);
  int probe = -1;
  for (int i = 0; i < 500 && probe < 0; i++) {
    probe = zpt_chip_connect_unix(path);
    if (probe < 0) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  ck_assert_msg(probe >= 0, "zoptic-chipd --idle-timeout did not start");
  close(probe);
  zpt_blackbox *direct, *chip;
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:2", &direct), ZPT_OK);
  workload w;
  workload_init(&w, direct->n_params, 4, 3, 4, 3, 5);
  float *want = query_outputs(direct, &w, 0, ZPT_OK);
  const unsigned char half_header[5] = {'Z', 'P', 'C', 'H', 1};
  for (int stalled = 0; stalled < 2; stalled++) {
    int idle = zpt_chip_connect_unix(path);
    ck_assert_int_ge(idle, 0);
    if (stalled) /* inside a frame header, then nothing */
      ck_assert_int_eq(write(idle, half_header, sizeof half_header), 5);
    zpt_chip_options opt = zpt_chip_options_default();
    opt.timeout_s = 20; /* far longer than the idle timeout */
    opt.retries = 0;
    int rc = zpt_chip_client_open(driver, &opt, &chip);
    ck_assert_msg(rc == ZPT_OK, "client behind an idle one (stalled %d): %s", stalled,
                  zpt_error_message());
    float *got = query_outputs(chip, &w, 0, ZPT_OK);
    check_identical(got, want, w.n_vars * w.batch * w.out, "behind an idle client");
    zpt_free(got);
    zpt_blackbox_free(chip);
    /* the idle client was disconnected: it reads end-of-file */
    char b;
    size_t n;
    ck_assert_int_eq(zpt_chip_read(idle, &b, 1, zpt_now() + 10, &n), ZPT_IO_EOF);
    close(idle);
  }
  stop_chipd(pid);
  char *bad[] = {exe, "--model", "linear:4:3:2", "--idle-timeout", "-1", NULL};
  int st;
  ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, bad, environ), 0);
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  rmdir(zpt_test_tmpdir());
  zpt_free(want);
  workload_free(&w);
  zpt_blackbox_free(direct);
}
END_TEST

typedef struct {
  zpt_blackbox *bb;
  const char *path;
  double delay_s;
  volatile sig_atomic_t stop;
  pthread_t thread;
} late_service;

/* A service that starts listening only after delay_s (a restart). */
static void *late_service_thread(void *arg) {
  late_service *l = arg;
  struct timespec ts = {(time_t)l->delay_s, (long)((l->delay_s - (double)(time_t)l->delay_s) * 1e9)};
  nanosleep(&ts, NULL);
  int lfd = zpt_chip_listen_unix(l->path);
  if (lfd < 0)
    return NULL;
  zpt_chip_server_config cfg = {.name = "late"};
  zpt_chip_serve_listener(l->bb, &cfg, lfd, &l->stop);
  close(lfd);
  unlink(l->path);
  return NULL;
}

static char *read_stream(FILE *f) {
  static char buf[8192];
  rewind(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  return buf;
}

START_TEST(test_retry_backoff) {
  char path[256], driver[300];
  snprintf(path, sizeof path, "%s/late.sock", zpt_test_tmpdir());
  snprintf(driver, sizeof driver, "unix:%s", path);
  late_service l = {.path = path, .delay_s = 0.4};
  ck_assert_int_eq(zpt_linear_chip_from_spec("linear:4:3:2", &l.bb), ZPT_OK);
  FILE *log = tmpfile();
  ck_assert_ptr_nonnull(log);
  zpt_chip_options opt = zpt_chip_options_default();
  opt.timeout_s = 5;
  opt.retries = 4; /* waits 0.2 + 0.4 + 0.8 + 1.6 s in all */
  opt.log = log;
  ck_assert_int_eq(pthread_create(&l.thread, NULL, late_service_thread, &l), 0);
  zpt_blackbox *chip;
  int rc = zpt_chip_client_open(driver, &opt, &chip);
  ck_assert_msg(rc == ZPT_OK, "a service back after 0.4 s was not reached: %s",
                zpt_error_message());
  ck_assert_uint_ge(zpt_chip_client_stats(chip).retries, 1);
  const char *text = read_stream(log);
  ck_assert_msg(strstr(text, "the handshake succeeded on attempt ") &&
                    strstr(text, "after: attempt 1: cannot connect to chip driver at socket"),
                "recovery not reported: %s", text);
  zpt_blackbox_free(chip);
  l.stop = 1;
  pthread_join(l.thread, NULL);
  fclose(log);
  zpt_blackbox_free(l.bb);
  /* retries run out: every attempt's error is in the message */
  opt.retries = 2;
  opt.log = NULL;
  ck_assert_int_eq(zpt_chip_client_open(driver, &opt, &chip), ZPT_EIO);
  ASSERT_MSG_HAS("gave up after 3 attempts; chip.retries = 2; attempt 1: cannot connect");
  ASSERT_MSG_HAS("; attempt 2: cannot connect");
  ASSERT_MSG_HAS("; attempt 3: cannot connect");
  rmdir(zpt_test_tmpdir());
  /* the same for requests: a driver that quits after every request */
  char cmd[700];
  ck_assert_int_eq(open_fault("exit", 0.5, 1, &chip, cmd, sizeof cmd), ZPT_OK);
  workload w;
  workload_init(&w, 15, 4, 3, 2, 2, 8);
  float *y = query_outputs(chip, &w, 0, ZPT_EIO);
  ASSERT_MSG_HAS("(gave up after 2 attempts; chip.retries = 1; attempt 1: chip driver '");
  ASSERT_MSG_HAS("exited with status 3 while answering request 1");
  ASSERT_MSG_HAS("; attempt 2: chip driver '");
  ASSERT_MSG_HAS("while answering request 2");
  zpt_free(y);
  zpt_blackbox_free(chip);
  workload_free(&w);
}
END_TEST

static Suite *hw_suite(void) {
  Suite *s = suite_create("hw");
  TCase *frames = tcase_create("frames");
  tcase_add_test(frames, test_header);
  tcase_add_test(frames, test_hello_and_info);
  tcase_add_test(frames, test_eval_compact);
  tcase_add_test(frames, test_eval_full);
  tcase_add_test(frames, test_output_and_error);
  tcase_add_test(frames, test_linear_spec);
  suite_add_tcase(s, frames);
  TCase *pair = tcase_create("socketpair");
  tcase_add_test(pair, test_pair_unlimited);
  tcase_add_test(pair, test_pair_split);
  tcase_add_test(pair, test_pair_full_form);
  tcase_add_test(pair, test_pair_noise_first_query);
  tcase_add_test(pair, test_pair_driver_errors);
  tcase_add_test(pair, test_server_bad_requests);
  tcase_add_test(pair, test_server_garbage);
  tcase_set_timeout(pair, 60);
  suite_add_tcase(s, pair);
  TCase *proc = tcase_create("processes");
  tcase_add_test(proc, test_chipd_stdio);
  tcase_add_test(proc, test_chipd_socket);
  tcase_add_test(proc, test_tcp);
  tcase_add_test(proc, test_faults_in_requests);
  tcase_add_test(proc, test_faults_in_handshake);
  tcase_add_test(proc, test_fault_retries);
  tcase_add_test(proc, test_chipd_idle_client);
  tcase_add_test(proc, test_retry_backoff);
  tcase_set_timeout(proc, 60);
  suite_add_tcase(s, proc);
  return s;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "--fault-driver"))
    return fault_driver_main(argc, argv);
  return zpt_test_run(hw_suite());
}
