/* A real chip as a black box: the client side of the chip-driver protocol.
 *
 * zpt_chip_client_open() returns a zpt_blackbox whose query() sends the
 * parameter settings and inputs to a driver process and returns its outputs.
 * The trainer cannot tell it from an in-process model: the same call shapes,
 * the same first_query numbering, the same query counts.  Calls larger than
 * the driver's limits (max_batch, max_vars from the handshake, or the frame
 * limit) are split into several requests internally, so the black box
 * itself announces no limits (max_batch = max_vars = 0).
 *
 * Faults never hang and never crash the trainer: every read and write has a
 * deadline (timeout_s), SIGPIPE is never raised, and a failed request is
 * retried `retries` times after respawning the driver or reconnecting to its
 * socket.  Retry k waits 0.2 * 2^(k-1) s (at most 5 s, chip_retry.h) so that
 * a service that is restarting has time to come back; a retry that succeeds
 * says so on opt.log.  The final error names the driver, the request and
 * what happened, and when retries ran out, every attempt's error:
 *   "chip driver './lab_driver' exited with status 3 while answering request 17"
 *   "chip driver './lab_driver' timed out after 5.0 s on request 12 (chip.timeout_s)
 *    (gave up after 3 attempts; chip.retries = 2; attempt 1: ...; attempt 2: ...)"
 * A connection that the driver closed while the client was idle (a driver's
 * idle timeout) is reopened before the next request without using a retry.
 * A driver's explicit error reply, non-finite outputs and handshake
 * mismatches are not retried.
 */
#ifndef ZPT_CHIP_CLIENT_H
#define ZPT_CHIP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/chip_proto.h"
#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double timeout_s; /* per request and per handshake (chip.timeout_s); > 0 */
  int retries;      /* extra attempts after a transport fault (chip.retries); >= 0 */
  /* What the caller expects; 0 = accept what the driver announces.  A
   * mismatch fails the constructor (ZPT_EINVAL) naming both values. */
  size_t n_params, input_size, output_size;
  uint32_t input_kind; /* ZPT_CHIP_INPUT_REAL / _COMPLEX, 0 = either */
  /* One line per recovered fault ("request 12 succeeded on attempt 2 of 3
   * after: ...") and per reconnection of a connection the driver closed
   * while idle; NULL = silent. */
  FILE *log;
} zpt_chip_options;

/* timeout_s 30, retries 2, no expectations, log to stderr. */
zpt_chip_options zpt_chip_options_default(void);

/* Opens a driver and performs the handshake.  `driver` is
 *   "unix:/path/to/socket"   a driver serving a Unix-domain socket,
 *   "tcp:HOST:PORT"          a driver serving TCP (e.g. tcp:127.0.0.1:7700), or
 *   "/path/to/driver args"   a command spawned with its stdin/stdout as the
 *                            channel (split at blanks; no shell, no quoting;
 *                            an optional "exec:" prefix is accepted).
 * opt NULL means the defaults.  On success *out is the black box (free it
 * with zpt_blackbox_free: the driver is told to stop, i.e. its stdin is
 * closed, and reaped; killed after 2 s). */
int zpt_chip_client_open(const char *driver, const zpt_chip_options *opt,
                         zpt_blackbox **out);

/* The same over an already-connected stream socket (e.g. one end of a
 * socketpair), which the black box takes over and closes.  `label` names it
 * in messages.  Without a way to reconnect, retries are not possible. */
int zpt_chip_client_open_fd(int fd, const char *label, const zpt_chip_options *opt,
                            zpt_blackbox **out);

/* The driver's handshake (NULL if bb is not a chip client). */
const zpt_chip_info *zpt_chip_client_info(const zpt_blackbox *bb);

typedef struct {
  uint64_t requests;    /* EVAL frames answered successfully */
  uint64_t settings;    /* sum over calls of n_vars (the trainer's query count) */
  uint64_t retries;     /* attempts repeated after a fault */
  uint64_t reconnects;  /* respawns / reconnections after the first connect */
  uint64_t bytes_sent, bytes_received;
} zpt_chip_stats;

/* Counters since the black box was opened (zeros if not a chip client). */
zpt_chip_stats zpt_chip_client_stats(const zpt_blackbox *bb);

#ifdef __cplusplus
}
#endif
#endif
