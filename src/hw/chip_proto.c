/* Chip-driver protocol v1: encoding and validation of frames (no I/O). */
#include "hw/chip_proto.h"

#include <math.h>
#include <string.h>

#include "core/le.h"
#include "core/status.h"

/* ---- little-endian scalars and float arrays ---------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ZPT_HOST_BIG_ENDIAN 1
#else
#define ZPT_HOST_BIG_ENDIAN 0
#endif

static void put_f32(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  zpt_put_u32(p, u);
}
static float get_f32(const unsigned char *p) {
  uint32_t u = zpt_get_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static void put_f32s(unsigned char *p, const float *x, size_t n) {
  if (!ZPT_HOST_BIG_ENDIAN) {
    if (n)
      memcpy(p, x, n * 4);
    return;
  }
  for (size_t i = 0; i < n; i++)
    put_f32(p + 4 * i, x[i]);
}
/* Converts n little-endian floats to host order in place (4-aligned p). */
static float *host_f32s(unsigned char *p, size_t n) {
  if (ZPT_HOST_BIG_ENDIAN)
    for (size_t i = 0; i < n; i++) {
      float f = get_f32(p + 4 * i);
      memcpy(p + 4 * i, &f, 4);
    }
  return (float *)(void *)p;
}
/* Index of the first non-finite value, n if all are finite. */
static size_t first_nonfinite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return i;
  return n;
}

/* ---- header ------------------------------------------------------------ */

const char *zpt_chip_type_name(uint32_t type) {
  switch (type) {
  case ZPT_CHIP_HELLO: return "HELLO";
  case ZPT_CHIP_INFO: return "INFO";
  case ZPT_CHIP_EVAL: return "EVAL";
  case ZPT_CHIP_OUTPUT: return "OUTPUT";
  case ZPT_CHIP_ERROR: return "ERROR";
  default: return "unknown";
  }
}

void zpt_chip_header_encode(unsigned char out[ZPT_CHIP_HEADER_SIZE],
                            uint16_t type, uint32_t seq, uint32_t length) {
  zpt_put_u32(out, ZPT_CHIP_MAGIC);
  zpt_put_u16(out + 4, type);
  zpt_put_u16(out + 6, 0);
  zpt_put_u32(out + 8, seq);
  zpt_put_u32(out + 12, length);
}

int zpt_chip_header_decode(const unsigned char in[ZPT_CHIP_HEADER_SIZE],
                           zpt_chip_header *h) {
  h->magic = zpt_get_u32(in);
  h->type = zpt_get_u16(in + 4);
  h->reserved = zpt_get_u16(in + 6);
  h->seq = zpt_get_u32(in + 8);
  h->length = zpt_get_u32(in + 12);
  if (h->magic != ZPT_CHIP_MAGIC)
    return zpt_fail(ZPT_EPROTO,
                    "bad frame magic 0x%08x (expected 0x%08x \"ZPCH\"): not a "
                    "chip-protocol peer, or the stream lost sync",
                    (unsigned)h->magic, ZPT_CHIP_MAGIC);
  if (h->reserved != 0)
    return zpt_fail(ZPT_EPROTO, "frame header: reserved field is %u, expected 0",
                    (unsigned)h->reserved);
  if (h->type < ZPT_CHIP_HELLO || h->type > ZPT_CHIP_ERROR)
    return zpt_fail(ZPT_EPROTO, "frame header: unknown frame type %u",
                    (unsigned)h->type);
  if (h->length > ZPT_CHIP_MAX_PAYLOAD)
    return zpt_fail(ZPT_EPROTO,
                    "frame header: %s payload of %u bytes exceeds the limit of %u",
                    zpt_chip_type_name(h->type), (unsigned)h->length,
                    ZPT_CHIP_MAX_PAYLOAD);
  return ZPT_OK;
}

/* ---- HELLO ------------------------------------------------------------- */

void zpt_chip_hello_encode(unsigned char out[ZPT_CHIP_HELLO_SIZE], uint32_t version) {
  zpt_put_u32(out, version);
  zpt_put_u32(out + 4, 0);
}

int zpt_chip_hello_decode(const unsigned char *p, size_t len, uint32_t *version) {
  if (len != ZPT_CHIP_HELLO_SIZE)
    return zpt_fail(ZPT_EPROTO, "HELLO payload is %zu bytes, expected %u", len,
                    ZPT_CHIP_HELLO_SIZE);
  if (zpt_get_u32(p + 4) != 0)
    return zpt_fail(ZPT_EPROTO, "HELLO: reserved field is not 0");
  *version = zpt_get_u32(p);
  return ZPT_OK;
}

/* ---- INFO -------------------------------------------------------------- */

int zpt_chip_info_check(const zpt_chip_info *info) {
  if (info->version != ZPT_CHIP_VERSION)
    return zpt_fail(ZPT_EPROTO, "protocol version %u, zoptic speaks version %u",
                    (unsigned)info->version, ZPT_CHIP_VERSION);
  if (info->input_kind != ZPT_CHIP_INPUT_REAL &&
      info->input_kind != ZPT_CHIP_INPUT_COMPLEX)
    return zpt_fail(ZPT_EPROTO, "INFO: input kind %u is neither 1 (real) nor 2 (complex)",
                    (unsigned)info->input_kind);
  if (info->form != ZPT_CHIP_FORM_COMPACT && info->form != ZPT_CHIP_FORM_FULL)
    return zpt_fail(ZPT_EPROTO,
                    "INFO: variation form %u is neither 1 (compact) nor 2 (full)",
                    (unsigned)info->form);
  const uint64_t cap = ZPT_CHIP_MAX_PAYLOAD / 4;
  if (info->n_params < 1 || info->n_params > cap)
    return zpt_fail(ZPT_EPROTO, "INFO: n_params %llu outside [1, %llu]",
                    (unsigned long long)info->n_params, (unsigned long long)cap);
  if (info->input_size < 1 || info->input_size > cap)
    return zpt_fail(ZPT_EPROTO, "INFO: input_size %llu outside [1, %llu]",
                    (unsigned long long)info->input_size, (unsigned long long)cap);
  if (info->output_size < 1 || info->output_size > cap)
    return zpt_fail(ZPT_EPROTO, "INFO: output_size %llu outside [1, %llu]",
                    (unsigned long long)info->output_size, (unsigned long long)cap);
  if (info->input_kind == ZPT_CHIP_INPUT_COMPLEX && info->input_size % 2)
    return zpt_fail(ZPT_EPROTO,
                    "INFO: complex input of %llu floats (must be even: re, im pairs)",
                    (unsigned long long)info->input_size);
  size_t nl = strnlen(info->name, sizeof info->name);
  if (nl > ZPT_CHIP_MAX_NAME)
    return zpt_fail(ZPT_EPROTO, "INFO: driver name longer than %u bytes",
                    ZPT_CHIP_MAX_NAME);
  return ZPT_OK;
}

size_t zpt_chip_info_size(const zpt_chip_info *info) {
  return ZPT_CHIP_INFO_FIXED + strnlen(info->name, ZPT_CHIP_MAX_NAME);
}

void zpt_chip_info_encode(const zpt_chip_info *info, unsigned char *out) {
  size_t nl = strnlen(info->name, ZPT_CHIP_MAX_NAME);
  zpt_put_u32(out, info->version);
  zpt_put_u32(out + 4, info->input_kind);
  zpt_put_u32(out + 8, info->form);
  zpt_put_u32(out + 12, 0);
  zpt_put_u64(out + 16, info->n_params);
  zpt_put_u64(out + 24, info->input_size);
  zpt_put_u64(out + 32, info->output_size);
  zpt_put_u32(out + 40, info->max_batch);
  zpt_put_u32(out + 44, info->max_vars);
  zpt_put_u32(out + 48, (uint32_t)nl);
  memcpy(out + ZPT_CHIP_INFO_FIXED, info->name, nl);
}

int zpt_chip_info_decode(const unsigned char *p, size_t len, zpt_chip_info *info) {
  memset(info, 0, sizeof *info);
  if (len < 4)
    return zpt_fail(ZPT_EPROTO, "INFO payload is %zu bytes, expected at least %u",
                    len, ZPT_CHIP_INFO_FIXED);
  info->version = zpt_get_u32(p);
  if (info->version != ZPT_CHIP_VERSION) /* first: other fields may differ */
    return zpt_fail(ZPT_EPROTO, "driver speaks protocol version %u, zoptic speaks version %u",
                    (unsigned)info->version, ZPT_CHIP_VERSION);
  if (len < ZPT_CHIP_INFO_FIXED)
    return zpt_fail(ZPT_EPROTO, "INFO payload is %zu bytes, expected at least %u",
                    len, ZPT_CHIP_INFO_FIXED);
  info->input_kind = zpt_get_u32(p + 4);
  info->form = zpt_get_u32(p + 8);
  if (zpt_get_u32(p + 12) != 0)
    return zpt_fail(ZPT_EPROTO, "INFO: reserved field is not 0");
  info->n_params = zpt_get_u64(p + 16);
  info->input_size = zpt_get_u64(p + 24);
  info->output_size = zpt_get_u64(p + 32);
  info->max_batch = zpt_get_u32(p + 40);
  info->max_vars = zpt_get_u32(p + 44);
  uint32_t nl = zpt_get_u32(p + 48);
  if (nl > ZPT_CHIP_MAX_NAME)
    return zpt_fail(ZPT_EPROTO, "INFO: driver name of %u bytes exceeds %u", (unsigned)nl,
                    ZPT_CHIP_MAX_NAME);
  if (len != ZPT_CHIP_INFO_FIXED + nl)
    return zpt_fail(ZPT_EPROTO, "INFO payload is %zu bytes, expected %u for a %u-byte name",
                    len, ZPT_CHIP_INFO_FIXED + nl, (unsigned)nl);
  for (uint32_t i = 0; i < nl; i++) {
    unsigned char c = p[ZPT_CHIP_INFO_FIXED + i];
    info->name[i] = (c >= 32 && c < 127) ? (char)c : '?';
  }
  info->name[nl] = '\0';
  return zpt_chip_info_check(info);
}

/* ---- EVAL -------------------------------------------------------------- */

int zpt_chip_eval_size(const zpt_chip_info *info, const zpt_variation *vars,
                       size_t n_vars, size_t batch, size_t *bytes) {
  /* all terms are bounded by the 1 GiB limit before they are added, so the
   * sum cannot overflow a 64-bit size_t */
  const size_t lim = ZPT_CHIP_MAX_PAYLOAD;
  size_t n = (size_t)info->n_params, total = ZPT_CHIP_EVAL_FIXED;
  *bytes = 0;
  if (n_vars > lim || batch > lim)
    goto too_big;
  if (info->form == ZPT_CHIP_FORM_FULL) {
    if (n_vars > lim / 4 / n)
      goto too_big;
    total += n_vars * n * 4;
  } else {
    total += n * 4 + n_vars * ZPT_CHIP_VAR_ENTRY;
    for (size_t v = 0; v < n_vars && total <= lim; v++)
      total += (vars[v].len <= n ? vars[v].len : n) * 4;
  }
  if (total > lim || batch > (lim - total) / 4 / info->input_size)
    goto too_big;
  total += batch * (size_t)info->input_size * 4;
  *bytes = total;
  return ZPT_OK;
too_big:
  return zpt_fail(ZPT_ERANGE,
                  "an EVAL of %zu settings x %zu samples exceeds the frame limit of %u bytes",
                  n_vars, batch, ZPT_CHIP_MAX_PAYLOAD);
}

void zpt_chip_eval_encode(const zpt_chip_info *info, uint64_t first_query,
                          const float *theta, const zpt_variation *vars,
                          size_t n_vars, const float *inputs, size_t batch,
                          unsigned char *out) {
  size_t n = (size_t)info->n_params;
  zpt_put_u64(out, first_query);
  zpt_put_u32(out + 8, (uint32_t)n_vars);
  zpt_put_u32(out + 12, (uint32_t)batch);
  zpt_put_u32(out + 16, info->form);
  zpt_put_u32(out + 20, 0);
  unsigned char *p = out + ZPT_CHIP_EVAL_FIXED;
  if (info->form == ZPT_CHIP_FORM_FULL) {
    for (size_t v = 0; v < n_vars; v++) {
      const zpt_variation *va = &vars[v];
      put_f32s(p, theta, va->offset);
      for (size_t k = 0; k < va->len; k++)
        put_f32(p + 4 * (va->offset + k),
                theta[va->offset + k] + va->scale * va->delta[k]);
      size_t end = va->offset + va->len;
      put_f32s(p + 4 * end, theta + end, n - end);
      p += 4 * n;
    }
  } else {
    put_f32s(p, theta, n);
    p += 4 * n;
    for (size_t v = 0; v < n_vars; v++) {
      zpt_put_u64(p, vars[v].offset);
      zpt_put_u64(p + 8, vars[v].len);
      put_f32(p + 16, vars[v].scale);
      zpt_put_u32(p + 20, 0);
      p += ZPT_CHIP_VAR_ENTRY;
    }
    for (size_t v = 0; v < n_vars; v++) {
      put_f32s(p, vars[v].delta, vars[v].len);
      p += 4 * vars[v].len;
    }
  }
  put_f32s(p, inputs, batch * (size_t)info->input_size);
}

uint32_t zpt_chip_eval_peek_vars(const unsigned char *p, size_t len) {
  return len >= ZPT_CHIP_EVAL_FIXED ? zpt_get_u32(p + 8) : 0;
}

static int check_finite(const float *x, size_t n, const char *what, size_t row_len) {
  size_t i = first_nonfinite(x, n);
  if (i == n)
    return ZPT_OK;
  if (row_len)
    return zpt_fail(ZPT_ENUMERIC, "EVAL: %s %zu, value %zu is %g (must be finite)", what,
                    i / row_len, i % row_len, (double)x[i]);
  return zpt_fail(ZPT_ENUMERIC, "EVAL: %s[%zu] is %g (must be finite)", what, i,
                  (double)x[i]);
}

static int eval_length_error(size_t len, size_t expected) {
  return zpt_fail(ZPT_EPROTO,
                  "EVAL payload is %zu bytes, but its counts need %zu", len, expected);
}

int zpt_chip_eval_decode(unsigned char *p, size_t len, const zpt_chip_info *info,
                         zpt_variation *vars_work, size_t vars_cap,
                         zpt_chip_eval *ev) {
  memset(ev, 0, sizeof *ev);
  if (len < ZPT_CHIP_EVAL_FIXED)
    return zpt_fail(ZPT_EPROTO, "EVAL payload is %zu bytes, expected at least %u", len,
                    ZPT_CHIP_EVAL_FIXED);
  ev->first_query = zpt_get_u64(p);
  ev->n_vars = zpt_get_u32(p + 8);
  ev->batch = zpt_get_u32(p + 12);
  ev->form = zpt_get_u32(p + 16);
  if (zpt_get_u32(p + 20) != 0)
    return zpt_fail(ZPT_EPROTO, "EVAL: reserved field is not 0");
  if (ev->form != info->form)
    return zpt_fail(ZPT_EPROTO, "EVAL: variation form %u, the handshake announced %u",
                    (unsigned)ev->form, (unsigned)info->form);
  if (ev->n_vars < 1 || (info->max_vars && ev->n_vars > info->max_vars))
    return zpt_fail(ZPT_EPROTO, "EVAL: %u settings, the driver takes 1 to %u",
                    (unsigned)ev->n_vars, (unsigned)(info->max_vars ? info->max_vars : UINT32_MAX));
  if (ev->batch < 1 || (info->max_batch && ev->batch > info->max_batch))
    return zpt_fail(ZPT_EPROTO, "EVAL: batch of %u samples, the driver takes 1 to %u",
                    (unsigned)ev->batch,
                    (unsigned)(info->max_batch ? info->max_batch : UINT32_MAX));
  size_t n = (size_t)info->n_params, nv = ev->n_vars, in = (size_t)info->input_size;
  size_t pos = ZPT_CHIP_EVAL_FIXED;
  /* every size below is checked against len (< 1 GiB) before it is used */
  if (ev->form == ZPT_CHIP_FORM_FULL) {
    if (nv > (len - pos) / 4 / n)
      return eval_length_error(len, pos + nv * n * 4);
    ev->settings = host_f32s(p + pos, nv * n);
    pos += nv * n * 4;
    ZPT_TRY(check_finite(ev->settings, nv * n, "setting", n));
  } else {
    if (n > (len - pos) / 4 || nv > (len - pos - 4 * n) / ZPT_CHIP_VAR_ENTRY)
      return eval_length_error(len, pos + 4 * n + nv * ZPT_CHIP_VAR_ENTRY);
    if (vars_cap < nv)
      return zpt_fail(ZPT_EINVAL, "EVAL decode: room for %zu variations, need %zu",
                      vars_cap, nv);
    ev->theta = host_f32s(p + pos, n);
    ZPT_TRY(check_finite(ev->theta, n, "theta", 0));
    pos += 4 * n;
    size_t table = pos;
    pos += nv * ZPT_CHIP_VAR_ENTRY;
    for (size_t v = 0; v < nv; v++) {
      const unsigned char *e = p + table + v * ZPT_CHIP_VAR_ENTRY;
      uint64_t off = zpt_get_u64(e), vl = zpt_get_u64(e + 8);
      float scale = get_f32(e + 16);
      if (zpt_get_u32(e + 20) != 0)
        return zpt_fail(ZPT_EPROTO, "EVAL: variation %zu: reserved field is not 0", v);
      if (off > n || vl > n - off)
        return zpt_fail(ZPT_EPROTO,
                        "EVAL: variation %zu covers [%llu, %llu + %llu), outside theta "
                        "of %zu parameters",
                        v, (unsigned long long)off, (unsigned long long)off,
                        (unsigned long long)vl, n);
      if (!isfinite(scale))
        return zpt_fail(ZPT_ENUMERIC, "EVAL: variation %zu: scale is %g (must be finite)",
                        v, (double)scale);
      if (vl > (len - pos) / 4)
        return eval_length_error(len, pos + 4 * vl);
      vars_work[v].offset = (size_t)off;
      vars_work[v].len = (size_t)vl;
      vars_work[v].scale = scale;
      vars_work[v].delta = vl ? host_f32s(p + pos, vl) : NULL;
      if (vl && first_nonfinite(vars_work[v].delta, vl) != vl) {
        size_t i = first_nonfinite(vars_work[v].delta, vl);
        return zpt_fail(ZPT_ENUMERIC, "EVAL: variation %zu: delta[%zu] is %g (must be finite)",
                        v, i, (double)vars_work[v].delta[i]);
      }
      pos += 4 * vl;
    }
    ev->vars = vars_work;
  }
  if (ev->batch > (len - pos) / 4 / in || len != pos + 4 * ev->batch * in)
    return eval_length_error(len, pos + 4 * (size_t)ev->batch * in);
  ev->inputs = host_f32s(p + pos, ev->batch * in);
  return check_finite(ev->inputs, ev->batch * in, "input sample", in);
}

/* ---- OUTPUT ------------------------------------------------------------ */

int zpt_chip_output_size(size_t n_vars, size_t batch, size_t output_size,
                         size_t *bytes) {
  size_t lim = (ZPT_CHIP_MAX_PAYLOAD - ZPT_CHIP_OUTPUT_FIXED) / 4;
  *bytes = 0;
  if (n_vars > lim || batch > lim || output_size > lim ||
      (n_vars && batch > lim / n_vars) ||
      (n_vars * batch != 0 && output_size > lim / (n_vars * batch)))
    return zpt_fail(ZPT_ERANGE,
                    "an OUTPUT of %zu settings x %zu samples x %zu values exceeds the "
                    "frame limit of %u bytes",
                    n_vars, batch, output_size, ZPT_CHIP_MAX_PAYLOAD);
  *bytes = ZPT_CHIP_OUTPUT_FIXED + 4 * n_vars * batch * output_size;
  return ZPT_OK;
}

void zpt_chip_output_encode(uint32_t n_vars, uint32_t batch, const float *outputs,
                            size_t n_floats, unsigned char *out) {
  zpt_put_u32(out, n_vars);
  zpt_put_u32(out + 4, batch);
  put_f32s(out + ZPT_CHIP_OUTPUT_FIXED, outputs, n_floats);
}

int zpt_chip_output_decode(unsigned char *p, size_t len, size_t n_vars,
                           size_t batch, size_t output_size, const float **values) {
  size_t expected;
  *values = NULL;
  ZPT_TRY(zpt_chip_output_size(n_vars, batch, output_size, &expected));
  if (len < ZPT_CHIP_OUTPUT_FIXED)
    return zpt_fail(ZPT_EPROTO, "OUTPUT payload is %zu bytes, expected %zu", len, expected);
  uint32_t rv = zpt_get_u32(p), rb = zpt_get_u32(p + 4);
  if (rv != n_vars || rb != batch)
    return zpt_fail(ZPT_EPROTO,
                    "OUTPUT answers %u settings x %u samples, the request had %zu x %zu",
                    (unsigned)rv, (unsigned)rb, n_vars, batch);
  if (len != expected)
    return zpt_fail(ZPT_EPROTO,
                    "OUTPUT payload is %zu bytes, expected %zu (%zu settings x %zu samples "
                    "x %zu values)",
                    len, expected, n_vars, batch, output_size);
  size_t nf = n_vars * batch * output_size;
  const float *y = host_f32s(p + ZPT_CHIP_OUTPUT_FIXED, nf);
  size_t i = first_nonfinite(y, nf);
  if (i != nf)
    return zpt_fail(ZPT_ENUMERIC,
                    "OUTPUT holds a non-finite value (%g) for setting %zu, sample %zu, "
                    "output %zu",
                    (double)y[i], i / (batch * output_size), i / output_size % batch,
                    i % output_size);
  *values = y;
  return ZPT_OK;
}

/* ---- ERROR ------------------------------------------------------------- */

size_t zpt_chip_error_size(const char *message) {
  return ZPT_CHIP_ERROR_FIXED + strnlen(message ? message : "", ZPT_CHIP_MAX_MESSAGE);
}

void zpt_chip_error_encode(int32_t code, const char *message, unsigned char *out) {
  if (!message)
    message = "";
  size_t ml = strnlen(message, ZPT_CHIP_MAX_MESSAGE);
  zpt_put_u32(out, (uint32_t)code);
  zpt_put_u32(out + 4, (uint32_t)ml);
  memcpy(out + ZPT_CHIP_ERROR_FIXED, message, ml);
}

int zpt_chip_error_decode(const unsigned char *p, size_t len, int32_t *code,
                          char *message, size_t cap) {
  if (cap)
    message[0] = '\0';
  if (len < ZPT_CHIP_ERROR_FIXED)
    return zpt_fail(ZPT_EPROTO, "ERROR payload is %zu bytes, expected at least %u", len,
                    ZPT_CHIP_ERROR_FIXED);
  uint32_t ucode = zpt_get_u32(p);
  memcpy(code, &ucode, 4);
  uint32_t ml = zpt_get_u32(p + 4);
  if (ml > ZPT_CHIP_MAX_MESSAGE || len != ZPT_CHIP_ERROR_FIXED + ml)
    return zpt_fail(ZPT_EPROTO, "ERROR payload is %zu bytes with a message of %u bytes "
                    "(at most %u)", len, (unsigned)ml, ZPT_CHIP_MAX_MESSAGE);
  size_t k = 0;
  for (; cap && k < ml && k + 1 < cap; k++) {
    unsigned char c = p[ZPT_CHIP_ERROR_FIXED + k];
    message[k] = (c >= 32 && c < 127) ? (char)c : '?';
  }
  if (cap)
    message[k] = '\0';
  return ZPT_OK;
}
