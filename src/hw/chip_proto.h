/* The chip-driver protocol, version 1: frames and their payloads.
 *
 * zoptic trains a real chip through a separate driver process (the lab's own
 * software) that speaks this small binary protocol over a byte stream (the
 * driver's stdin/stdout, or a Unix-domain socket).  docs/hardware.md is the
 * specification; this header is its C form, shared by the client backend
 * (chip_client.h) and the server library (chip_server.h).
 *
 * Every frame is a 16-byte little-endian header followed by `length` payload
 * bytes:
 *     u32 magic "ZPCH" | u16 type | u16 reserved (0) | u32 seq | u32 length
 * seq is the client's request number; a reply echoes it.
 *
 * All functions here are pure (no I/O): encoders write into caller buffers
 * sized by the matching *_size() function; decoders take a 4-byte aligned
 * payload (zpt_alloc / zpt_buffer memory is) and validate everything
 * (lengths, counts against the handshake, finite numbers) and fail with
 * ZPT_EPROTO (framing, counts) or ZPT_ENUMERIC (non-finite values) and a
 * message naming the field.
 */
#ifndef ZPT_CHIP_PROTO_H
#define ZPT_CHIP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/variation.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPT_CHIP_VERSION 1u
#define ZPT_CHIP_MAGIC 0x4843505Au /* bytes 'Z' 'P' 'C' 'H' */
#define ZPT_CHIP_HEADER_SIZE 16u
#define ZPT_CHIP_MAX_PAYLOAD (1u << 30) /* 1 GiB, any frame */
#define ZPT_CHIP_MAX_NAME 256u          /* bytes of the driver name */
#define ZPT_CHIP_MAX_MESSAGE 4096u      /* bytes of an error message */

enum {
  ZPT_CHIP_HELLO = 1,  /* client -> driver: u32 version, u32 reserved */
  ZPT_CHIP_INFO = 2,   /* driver -> client: what the chip is (handshake) */
  ZPT_CHIP_EVAL = 3,   /* client -> driver: settings and inputs */
  ZPT_CHIP_OUTPUT = 4, /* driver -> client: the outputs of one EVAL */
  ZPT_CHIP_ERROR = 5   /* driver -> client: i32 code, message */
};

enum { ZPT_CHIP_INPUT_REAL = 1, ZPT_CHIP_INPUT_COMPLEX = 2 };

/* How an EVAL carries the parameter settings. */
enum {
  ZPT_CHIP_FORM_COMPACT = 1, /* base theta once + (offset, len, scale, delta) each */
  ZPT_CHIP_FORM_FULL = 2     /* one full theta per setting */
};

#define ZPT_CHIP_HELLO_SIZE 8u
#define ZPT_CHIP_INFO_FIXED 52u
#define ZPT_CHIP_EVAL_FIXED 24u
#define ZPT_CHIP_VAR_ENTRY 24u
#define ZPT_CHIP_OUTPUT_FIXED 8u
#define ZPT_CHIP_ERROR_FIXED 8u

typedef struct {
  uint32_t magic;
  uint16_t type;
  uint16_t reserved;
  uint32_t seq;
  uint32_t length;
} zpt_chip_header;

/* The handshake: what the driver's chip is. */
typedef struct {
  uint32_t version;
  uint32_t input_kind; /* ZPT_CHIP_INPUT_* */
  uint32_t form;       /* ZPT_CHIP_FORM_* the driver wants in EVAL */
  uint64_t n_params;
  uint64_t input_size;  /* floats per sample (2 per complex channel) */
  uint64_t output_size; /* floats per sample */
  uint32_t max_batch;   /* largest batch per EVAL, 0 = no limit */
  uint32_t max_vars;    /* largest number of settings per EVAL, 0 = no limit */
  char name[ZPT_CHIP_MAX_NAME + 1];
} zpt_chip_info;

/* A decoded EVAL.  Pointers point into the (decoded in place) payload,
 * except vars, which points into the caller's workspace. */
typedef struct {
  uint64_t first_query;
  uint32_t n_vars, batch, form;
  const float *theta;        /* compact: n_params values */
  const zpt_variation *vars; /* compact: n_vars entries */
  const float *settings;     /* full: n_vars x n_params */
  const float *inputs;       /* batch x input_size */
} zpt_chip_eval;

const char *zpt_chip_type_name(uint32_t type);

void zpt_chip_header_encode(unsigned char out[ZPT_CHIP_HEADER_SIZE],
                            uint16_t type, uint32_t seq, uint32_t length);
/* Checks magic, reserved, a known type and length <= ZPT_CHIP_MAX_PAYLOAD. */
int zpt_chip_header_decode(const unsigned char in[ZPT_CHIP_HEADER_SIZE],
                           zpt_chip_header *h);

void zpt_chip_hello_encode(unsigned char out[ZPT_CHIP_HELLO_SIZE], uint32_t version);
/* Decodes the client's version (any value: the server decides what it
 * accepts); fails on a wrong length or a non-zero reserved field. */
int zpt_chip_hello_decode(const unsigned char *p, size_t len, uint32_t *version);

/* Checks a handshake for internal consistency (also before encoding). */
int zpt_chip_info_check(const zpt_chip_info *info);
size_t zpt_chip_info_size(const zpt_chip_info *info);
void zpt_chip_info_encode(const zpt_chip_info *info, unsigned char *out);
/* Decodes and checks; a version other than ZPT_CHIP_VERSION is reported
 * (ZPT_EPROTO) before anything else. */
int zpt_chip_info_decode(const unsigned char *p, size_t len, zpt_chip_info *info);

/* Payload bytes of an EVAL of these settings (*bytes), ZPT_ERANGE if it
 * would exceed ZPT_CHIP_MAX_PAYLOAD. */
int zpt_chip_eval_size(const zpt_chip_info *info, const zpt_variation *vars,
                       size_t n_vars, size_t batch, size_t *bytes);
/* Encodes an EVAL in the form info->form asks for.  In the full form the
 * settings theta + scale * delta are materialised here, in float, exactly as
 * variation.h defines them.  `out` holds zpt_chip_eval_size() bytes. */
void zpt_chip_eval_encode(const zpt_chip_info *info, uint64_t first_query,
                          const float *theta, const zpt_variation *vars,
                          size_t n_vars, const float *inputs, size_t batch,
                          unsigned char *out);
/* Decodes an EVAL in place (floats are converted to host order inside p) and
 * validates it against the handshake: form, counts within the limits, exact
 * length, ranges inside theta, every number finite.  vars_work must hold
 * max(1, n_vars) entries: pass the count from zpt_chip_eval_peek_vars(). */
int zpt_chip_eval_decode(unsigned char *p, size_t len, const zpt_chip_info *info,
                         zpt_variation *vars_work, size_t vars_cap,
                         zpt_chip_eval *ev);
/* n_vars of an EVAL payload (0 if too short), to size vars_work. */
uint32_t zpt_chip_eval_peek_vars(const unsigned char *p, size_t len);

/* Payload bytes of an OUTPUT (ZPT_ERANGE beyond the frame limit). */
int zpt_chip_output_size(size_t n_vars, size_t batch, size_t output_size,
                         size_t *bytes);
void zpt_chip_output_encode(uint32_t n_vars, uint32_t batch, const float *outputs,
                            size_t n_floats, unsigned char *out);
/* Validates an OUTPUT against the request it answers (counts, exact length,
 * finite values) and converts its floats in place; *values points into p. */
int zpt_chip_output_decode(unsigned char *p, size_t len, size_t n_vars,
                           size_t batch, size_t output_size, const float **values);

size_t zpt_chip_error_size(const char *message);
/* Message truncated to ZPT_CHIP_MAX_MESSAGE bytes. */
void zpt_chip_error_encode(int32_t code, const char *message, unsigned char *out);
/* message receives at most cap-1 bytes plus NUL; non-printable bytes are
 * replaced by '?' so a hostile driver cannot inject terminal escapes. */
int zpt_chip_error_decode(const unsigned char *p, size_t len, int32_t *code,
                          char *message, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
