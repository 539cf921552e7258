/* The driver side of the chip protocol: serves any zpt_blackbox.
 *
 * The reference driver (src/chipd) and the tests use it; a lab that writes
 * its driver in C can too, by wrapping its chip in a zpt_blackbox.  The
 * server reads frames, validates each one completely (chip_proto.h), calls
 * query() and replies.  A request that is well framed but wrong (a range
 * outside theta, a NaN input, too many settings, a query() failure) gets an
 * ERROR reply and the server goes on; a frame that breaks the framing (bad
 * magic, unknown type, oversized length) gets an ERROR reply and ends the
 * connection, since the stream cannot be resynchronised.  Garbage never
 * crashes it.
 */
#ifndef ZPT_CHIP_SERVER_H
#define ZPT_CHIP_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/chip_proto.h"
#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name;    /* driver name sent in the handshake; NULL = "zoptic" */
  uint32_t input_kind; /* ZPT_CHIP_INPUT_*; 0 = real */
  uint32_t form;       /* ZPT_CHIP_FORM_* asked of clients; 0 = compact */
  size_t max_batch;    /* announced limits; 0 = the black box's own */
  size_t max_vars;
  FILE *log;           /* one line per failed request / connection; NULL = silent */
  /* Listening servers (serve_unix/_tcp/_listener): a client that sends no
   * byte for this many seconds, between frames or inside one, is
   * disconnected (logged) and the next client is served, so one idle or
   * stalled client cannot block the chip.  0 = wait forever.  Not used by
   * zpt_chip_serve (one client on given fds). */
  double idle_timeout_s;
} zpt_chip_server_config;

/* The handshake the server announces for bb under cfg (checked). */
int zpt_chip_server_info(const zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                         zpt_chip_info *info);

/* Serves one client on in_fd / out_fd (equal for a socket) until it closes
 * the connection, or until *stop becomes non-zero (stop may be NULL; it is
 * checked at least every 0.2 s while waiting; a signal handler may set it).  Returns ZPT_OK at a clean end (EOF between frames), else
 * the failure that ended the connection (EIO: the client vanished mid-frame
 * or a write failed; EPROTO: unusable framing).  The fds are not closed. */
int zpt_chip_serve(zpt_blackbox *bb, const zpt_chip_server_config *cfg, int in_fd,
                   int out_fd, volatile sig_atomic_t *stop);

/* Listens on a Unix-domain socket at path and serves clients one after
 * another (a chip is one device; cfg->idle_timeout_s ends an idle one) until *stop becomes non-zero (checked at
 * least every 0.2 s, also while a client is connected).  The socket file is
 * removed on return.  Per-connection failures are logged, not returned. */
int zpt_chip_serve_unix(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                        const char *path, volatile sig_atomic_t *stop);

/* The same on TCP "HOST:PORT" (port 0: any free port, logged).  The protocol
 * has no authentication: bind a loopback address (127.0.0.1) unless the
 * network is the lab's own. */
int zpt_chip_serve_tcp(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                       const char *hostport, volatile sig_atomic_t *stop);

/* Serves clients one after another on any listening stream socket (from
 * zpt_chip_listen_tcp / _unix in chip_io.h) until *stop; does not close it. */
int zpt_chip_serve_listener(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                            int listen_fd, volatile sig_atomic_t *stop);

#ifdef __cplusplus
}
#endif
#endif
