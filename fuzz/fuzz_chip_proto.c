/* libFuzzer target: the chip-protocol decoders in both directions.
 *
 * data[0] picks the frame: what a driver decodes (header, HELLO, EVAL in the
 * compact or full form) or what the client decodes (INFO, OUTPUT, ERROR);
 * data[1..4] pick the handshake an EVAL is checked against (n_params,
 * input_size, limits) or the request an OUTPUT answers; the rest is the
 * payload.  Whatever decodes must encode back to the same frame (bit for bit
 * where the encoding is canonical; value for value where the decoder
 * sanitizes, e.g. non-printable bytes of names); a violation aborts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "hw/chip_proto.h"

#define CHECK(cond, what)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_chip_proto: round trip broken: %s\n", (what));    \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static void header_case(const unsigned char *p, size_t len) {
  if (len < ZPT_CHIP_HEADER_SIZE)
    return;
  zpt_chip_header h;
  if (zpt_chip_header_decode(p, &h) != ZPT_OK)
    return;
  unsigned char out[ZPT_CHIP_HEADER_SIZE];
  zpt_chip_header_encode(out, h.type, h.seq, h.length);
  CHECK(!memcmp(out, p, ZPT_CHIP_HEADER_SIZE), "header");
}

static void hello_case(const unsigned char *p, size_t len) {
  uint32_t version;
  if (zpt_chip_hello_decode(p, len, &version) != ZPT_OK)
    return;
  unsigned char out[ZPT_CHIP_HELLO_SIZE];
  zpt_chip_hello_encode(out, version);
  CHECK(len == ZPT_CHIP_HELLO_SIZE && !memcmp(out, p, len), "HELLO");
}

static void info_case(const unsigned char *p, size_t len) {
  zpt_chip_info a, b;
  if (zpt_chip_info_decode(p, len, &a) != ZPT_OK)
    return;
  size_t n = zpt_chip_info_size(&a);
  CHECK(n == len, "INFO size");
  unsigned char *out = zpt_alloc(n, "fuzz");
  zpt_chip_info_encode(&a, out);
  CHECK(!memcmp(out, p, ZPT_CHIP_INFO_FIXED), "INFO fixed part");
  CHECK(zpt_chip_info_decode(out, n, &b) == ZPT_OK && !memcmp(&a, &b, sizeof a), "INFO");
  zpt_free(out);
}

/* The handshake an EVAL is decoded against, from 4 selector bytes. */
static zpt_chip_info eval_info(const unsigned char *s, uint32_t form) {
  zpt_chip_info in;
  memset(&in, 0, sizeof in);
  in.version = ZPT_CHIP_VERSION;
  in.input_kind = ZPT_CHIP_INPUT_REAL;
  in.form = form;
  in.n_params = 1 + s[0] % 8;
  in.input_size = 1 + s[1] % 4;
  in.output_size = 1 + s[2] % 3;
  in.max_vars = s[3] & 3;         /* 0 = no limit */
  in.max_batch = (s[3] >> 2) & 3; /* 0 = no limit */
  snprintf(in.name, sizeof in.name, "fuzz");
  return in;
}

static void eval_case(const unsigned char *sel, const unsigned char *data, size_t len,
                      uint32_t form) {
  zpt_chip_info in = eval_info(sel, form);
  /* the decoder converts in place and wants 4-byte alignment: a copy */
  unsigned char *p = zpt_alloc(len ? len : 1, "fuzz");
  memcpy(p, data, len);
  size_t nv = zpt_chip_eval_peek_vars(p, len), cap = len / ZPT_CHIP_VAR_ENTRY + 1;
  if (nv > cap)
    nv = cap; /* what the server does: never more than the payload can describe */
  zpt_variation *vars = zpt_alloc((nv ? nv : 1) * sizeof *vars, "fuzz");
  zpt_chip_eval ev;
  if (zpt_chip_eval_decode(p, len, &in, vars, nv ? nv : 1, &ev) == ZPT_OK) {
    size_t n = (size_t)in.n_params, size;
    zpt_variation *full = NULL;
    float *zeros = NULL;
    const zpt_variation *use = ev.vars;
    const float *theta = ev.theta;
    if (form == ZPT_CHIP_FORM_FULL) { /* each setting as 0 + 1 * setting */
      full = zpt_alloc(ev.n_vars * sizeof *full, "fuzz");
      zeros = zpt_alloc(n * sizeof *zeros, "fuzz");
      memset(zeros, 0, n * sizeof *zeros);
      for (size_t v = 0; v < ev.n_vars; v++)
        full[v] = (zpt_variation){0, n, 1.0f, ev.settings + v * n};
      use = full;
      theta = zeros;
    }
    CHECK(zpt_chip_eval_size(&in, use, ev.n_vars, ev.batch, &size) == ZPT_OK && size == len,
          "EVAL size");
    unsigned char *out = zpt_alloc(size, "fuzz");
    zpt_chip_eval_encode(&in, ev.first_query, theta, use, ev.n_vars, ev.inputs, ev.batch,
                         out);
    if (form == ZPT_CHIP_FORM_COMPACT) {
      CHECK(!memcmp(out, p, len), "EVAL (compact)");
    } else { /* 0 + (-0) is +0: compare values, not bits */
      CHECK(!memcmp(out, p, ZPT_CHIP_EVAL_FIXED), "EVAL (full) header");
      for (size_t i = ZPT_CHIP_EVAL_FIXED; i + 4 <= len; i += 4) {
        float x, y;
        memcpy(&x, p + i, 4);
        memcpy(&y, out + i, 4);
        CHECK(x == y, "EVAL (full) values");
      }
    }
    zpt_free(out);
    zpt_free(full);
    zpt_free(zeros);
  }
  zpt_free(vars);
  zpt_free(p);
}

static void output_case(const unsigned char *sel, const unsigned char *data, size_t len) {
  size_t nv = 1 + sel[0] % 4, nb = 1 + sel[1] % 4, m = 1 + sel[2] % 4;
  unsigned char *p = zpt_alloc(len ? len : 1, "fuzz");
  memcpy(p, data, len);
  const float *y;
  if (zpt_chip_output_decode(p, len, nv, nb, m, &y) == ZPT_OK) {
    size_t size;
    CHECK(zpt_chip_output_size(nv, nb, m, &size) == ZPT_OK && size == len, "OUTPUT size");
    unsigned char *out = zpt_alloc(size, "fuzz");
    zpt_chip_output_encode((uint32_t)nv, (uint32_t)nb, y, nv * nb * m, out);
    CHECK(!memcmp(out, p, len), "OUTPUT");
    for (size_t i = 0; i < nv * nb * m; i++)
      CHECK(isfinite(y[i]), "OUTPUT let a non-finite value through");
    zpt_free(out);
  }
  zpt_free(p);
}

static void error_case(const unsigned char *p, size_t len) {
  int32_t code, code2;
  char msg[ZPT_CHIP_MAX_MESSAGE + 1], msg2[ZPT_CHIP_MAX_MESSAGE + 1];
  if (zpt_chip_error_decode(p, len, &code, msg, sizeof msg) != ZPT_OK)
    return;
  for (const char *c = msg; *c; c++)
    CHECK(*c >= 32 && *c < 127, "ERROR message kept a non-printable byte");
  size_t n = zpt_chip_error_size(msg);
  unsigned char *out = zpt_alloc(n, "fuzz");
  zpt_chip_error_encode(code, msg, out);
  CHECK(zpt_chip_error_decode(out, n, &code2, msg2, sizeof msg2) == ZPT_OK && code == code2 &&
            !strcmp(msg, msg2), "ERROR");
  CHECK(n == len, "ERROR size"); /* a message of exactly ml bytes, no NUL inside */
  zpt_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5)
    return 0;
  const unsigned char *sel = data + 1, *p = data + 5;
  size_t len = size - 5;
  switch (data[0] % 7) {
  case 0: header_case(p, len); break;
  case 1: hello_case(p, len); break;
  case 2: eval_case(sel, p, len, ZPT_CHIP_FORM_COMPACT); break;
  case 3: eval_case(sel, p, len, ZPT_CHIP_FORM_FULL); break;
  case 4: info_case(p, len); break;
  case 5: output_case(sel, p, len); break;
  case 6: error_case(p, len); break;
  }
  return 0;
}
