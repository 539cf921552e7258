/* The chip server: any zpt_blackbox behind the chip-driver protocol. */
#define _POSIX_C_SOURCE 200809L
#include "hw/chip_server.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/timer.h"
#include "hw/chip_io.h"

typedef struct {
  zpt_blackbox *bb;
  zpt_chip_info info;
  FILE *log;
  int in_fd, out_fd;
  volatile sig_atomic_t *stop; /* NULL: serve until the client closes */
  double idle_timeout_s;       /* 0: none */
  zpt_buffer payload, reply, vars, outputs;
} server;

int zpt_chip_server_info(const zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                         zpt_chip_info *info) {
  zpt_chip_server_config none = {0};
  if (!cfg)
    cfg = &none;
  memset(info, 0, sizeof *info);
  info->version = ZPT_CHIP_VERSION;
  info->input_kind = cfg->input_kind ? cfg->input_kind : ZPT_CHIP_INPUT_REAL;
  info->form = cfg->form ? cfg->form : ZPT_CHIP_FORM_COMPACT;
  info->n_params = bb->n_params;
  info->input_size = bb->input_size;
  info->output_size = bb->output_size;
  size_t mb = cfg->max_batch ? cfg->max_batch : bb->max_batch;
  size_t mv = cfg->max_vars ? cfg->max_vars : bb->max_vars;
  if (mb > UINT32_MAX || mv > UINT32_MAX)
    return zpt_fail(ZPT_EINVAL, "chip server: max_batch %zu / max_vars %zu exceed 2^32-1",
                    mb, mv);
  info->max_batch = (uint32_t)mb;
  info->max_vars = (uint32_t)mv;
  const char *name = cfg->name ? cfg->name : "zoptic";
  if (strlen(name) > ZPT_CHIP_MAX_NAME)
    return zpt_fail(ZPT_EINVAL, "chip server: driver name longer than %u bytes",
                    ZPT_CHIP_MAX_NAME);
  strcpy(info->name, name);
  if (zpt_chip_info_check(info) != ZPT_OK)
    return zpt_fail_context(ZPT_EINVAL, "chip server: cannot serve this black box: ");
  return ZPT_OK;
}

static void logf_line(server *s, const char *what, uint32_t seq, const char *msg) {
  if (s->log) {
    fprintf(s->log, "zoptic chip server: %s (request %u): %s\n", what, (unsigned)seq, msg);
    fflush(s->log);
  }
}

/* Sends header + the len payload bytes already in s->reply after the header. */
static int send_reply(server *s, uint16_t type, uint32_t seq, size_t len) {
  zpt_chip_header_encode(s->reply.data, type, seq, (uint32_t)len);
  zpt_chip_io io = zpt_chip_write(s->out_fd, s->reply.data, ZPT_CHIP_HEADER_SIZE + len, -1);
  if (io != ZPT_IO_OK)
    return zpt_fail(ZPT_EIO, "chip server: the client went away before the reply to "
                    "request %u (%s)", (unsigned)seq,
                    io == ZPT_IO_EOF ? "connection closed" : strerror(errno));
  return ZPT_OK;
}

/* An ERROR reply carrying status/message; returns the send result. */
static int send_error(server *s, uint32_t seq, int status, const char *message) {
  logf_line(s, "error reply", seq, message);
  size_t len = zpt_chip_error_size(message);
  ZPT_TRY(zpt_buffer_reserve(&s->reply, ZPT_CHIP_HEADER_SIZE + len, "chip error reply"));
  zpt_chip_error_encode(status, message, (unsigned char *)s->reply.data + ZPT_CHIP_HEADER_SIZE);
  return send_reply(s, ZPT_CHIP_ERROR, seq, len);
}

/* Replies to a failure recorded in this thread's message and goes on. */
static int reply_failure(server *s, uint32_t seq) {
  char msg[ZPT_CHIP_MAX_MESSAGE];
  snprintf(msg, sizeof msg, "%s", zpt_error_message());
  return send_error(s, seq, zpt_error_status() ? zpt_error_status() : ZPT_EIO, msg);
}

/* Answers a HELLO; *accepted tells whether the handshake succeeded. */
static int handle_hello(server *s, uint32_t seq, size_t len, int *accepted) {
  uint32_t version;
  *accepted = 0;
  if (zpt_chip_hello_decode(s->payload.data, len, &version) != ZPT_OK)
    return reply_failure(s, seq);
  if (version != ZPT_CHIP_VERSION) {
    char msg[128];
    snprintf(msg, sizeof msg, "this driver speaks chip protocol version %u, the client "
             "asked for version %u", ZPT_CHIP_VERSION, (unsigned)version);
    return send_error(s, seq, ZPT_EPROTO, msg);
  }
  size_t il = zpt_chip_info_size(&s->info);
  ZPT_TRY(zpt_buffer_reserve(&s->reply, ZPT_CHIP_HEADER_SIZE + il, "chip info reply"));
  zpt_chip_info_encode(&s->info, (unsigned char *)s->reply.data + ZPT_CHIP_HEADER_SIZE);
  *accepted = 1;
  return send_reply(s, ZPT_CHIP_INFO, seq, il);
}

static int evaluate(server *s, const zpt_chip_eval *ev, float *y) {
  size_t n = s->bb->n_params, per_setting = (size_t)ev->batch * s->bb->output_size;
  if (ev->form == ZPT_CHIP_FORM_COMPACT)
    return zpt_blackbox_query(s->bb, ev->theta, ev->vars, ev->n_vars, ev->inputs, ev->batch,
                              y, ev->first_query);
  /* full form: each setting is its own base point */
  const zpt_variation base = {0, 0, 0.0f, NULL};
  for (size_t v = 0; v < ev->n_vars; v++)
    ZPT_TRY(zpt_blackbox_query(s->bb, ev->settings + v * n, &base, 1, ev->inputs, ev->batch,
                               y + v * per_setting, ev->first_query + v));
  return ZPT_OK;
}

static int handle_eval(server *s, uint32_t seq, size_t len) {
  /* room for the announced count, but never more than the limit or than the
   * payload can describe (a bigger count fails validation before use) */
  size_t nv = zpt_chip_eval_peek_vars(s->payload.data, len);
  size_t fixed = ZPT_CHIP_EVAL_FIXED + 4 * s->bb->n_params;
  size_t cap = len > fixed ? (len - fixed) / ZPT_CHIP_VAR_ENTRY + 1 : 1;
  if (s->info.max_vars && cap > s->info.max_vars)
    cap = s->info.max_vars;
  if (nv > cap)
    nv = cap;
  if (zpt_buffer_reserve(&s->vars, (nv ? nv : 1) * sizeof(zpt_variation), "chip vars") !=
      ZPT_OK)
    return reply_failure(s, seq); /* out of memory: say so, keep serving */
  zpt_chip_eval ev;
  if (zpt_chip_eval_decode(s->payload.data, len, &s->info, s->vars.data, nv ? nv : 1, &ev) !=
      ZPT_OK)
    return reply_failure(s, seq);
  size_t m = s->bb->output_size, rl;
  if (zpt_chip_output_size(ev.n_vars, ev.batch, m, &rl) != ZPT_OK)
    return reply_failure(s, seq);
  size_t nf = (rl - ZPT_CHIP_OUTPUT_FIXED) / 4;
  if (zpt_buffer_reserve(&s->outputs, nf * sizeof(float), "chip outputs") != ZPT_OK ||
      zpt_buffer_reserve(&s->reply, ZPT_CHIP_HEADER_SIZE + rl, "chip output reply") != ZPT_OK)
    return reply_failure(s, seq);
  float *y = s->outputs.data;
  if (evaluate(s, &ev, y) != ZPT_OK)
    return reply_failure(s, seq);
  for (size_t i = 0; i < nf; i++)
    if (!isfinite(y[i])) {
      zpt_fail(ZPT_ENUMERIC, "the chip produced a non-finite output (%g) for setting %zu, "
               "sample %zu, output %zu", (double)y[i], i / (ev.batch * m), i / m % ev.batch,
               i % m);
      return reply_failure(s, seq);
    }
  zpt_chip_output_encode(ev.n_vars, ev.batch, y, nf,
                         (unsigned char *)s->reply.data + ZPT_CHIP_HEADER_SIZE);
  return send_reply(s, ZPT_CHIP_OUTPUT, seq, rl);
}

/* Largest payload a valid frame of this type from a client can have. */
static size_t max_request(const server *s, uint16_t type) {
  if (type == ZPT_CHIP_HELLO)
    return ZPT_CHIP_HELLO_SIZE;
  if (type != ZPT_CHIP_EVAL)
    return 0;
  const zpt_chip_info *in = &s->info;
  if (!in->max_vars || !in->max_batch)
    return ZPT_CHIP_MAX_PAYLOAD;
  double n = (double)in->n_params, bound = ZPT_CHIP_EVAL_FIXED + 4 * n +
      (double)in->max_vars * (ZPT_CHIP_VAR_ENTRY + 4 * n) +
      4.0 * in->max_batch * (double)in->input_size;
  return bound < ZPT_CHIP_MAX_PAYLOAD ? (size_t)bound : ZPT_CHIP_MAX_PAYLOAD;
}

/* Reads n bytes, waking every 0.2 s to look at *s->stop; a stop request
 * ends the read as if the client had closed.  With an idle timeout, a
 * client that sends nothing for that long ends it with ZPT_IO_TIMEOUT. */
static zpt_chip_io server_read(server *s, void *buf, size_t n, size_t *got) {
  *got = 0;
  int sliced = s->stop || s->idle_timeout_s > 0;
  double last = zpt_now();
  for (;;) {
    size_t g;
    zpt_chip_io io = zpt_chip_read(s->in_fd, (unsigned char *)buf + *got, n - *got,
                                   sliced ? zpt_now() + 0.2 : -1.0, &g);
    *got += g;
    if (io != ZPT_IO_TIMEOUT)
      return io;
    if (s->stop && *s->stop)
      return ZPT_IO_EOF;
    double now = zpt_now();
    if (g > 0)
      last = now;
    else if (s->idle_timeout_s > 0 && now - last >= s->idle_timeout_s)
      return ZPT_IO_TIMEOUT;
  }
}

static int idle_fail(const server *s, const char *where, size_t got, size_t n) {
  return zpt_fail(ZPT_ETIMEOUT, "chip server: client sent nothing for %g s %s (%zu of %zu "
                  "bytes; idle timeout): disconnected to serve the next client",
                  s->idle_timeout_s, where, got, n);
}

static int serve_loop(server *s) {
  int handshaken = 0;
  for (;;) {
    unsigned char hb[ZPT_CHIP_HEADER_SIZE];
    zpt_chip_header h;
    size_t got;
    zpt_chip_io io = server_read(s, hb, sizeof hb, &got);
    if (io == ZPT_IO_EOF && got == 0)
      return ZPT_OK;
    if (io == ZPT_IO_TIMEOUT)
      return idle_fail(s, got ? "inside a frame header" : "between requests", got,
                       ZPT_CHIP_HEADER_SIZE);
    if (io != ZPT_IO_OK)
      return zpt_fail(ZPT_EIO, "chip server: connection lost inside a frame header (%zu of "
                      "%u bytes): %s", got, ZPT_CHIP_HEADER_SIZE,
                      io == ZPT_IO_EOF ? "closed" : strerror(errno));
    if (zpt_chip_header_decode(hb, &h) != ZPT_OK) {
      reply_failure(s, 0);
      return ZPT_EPROTO;
    }
    if (h.length > max_request(s, h.type)) {
      zpt_fail(ZPT_EPROTO, "a client may not send a %s frame of %u bytes (at most %zu)",
               zpt_chip_type_name(h.type), (unsigned)h.length, max_request(s, h.type));
      reply_failure(s, h.seq);
      return ZPT_EPROTO;
    }
    ZPT_TRY(zpt_buffer_reserve(&s->payload, h.length, "chip request payload"));
    io = server_read(s, s->payload.data, h.length, &got);
    if (io == ZPT_IO_TIMEOUT)
      return idle_fail(s, "inside a frame payload", got, h.length);
    if (io != ZPT_IO_OK)
      return zpt_fail(ZPT_EIO, "chip server: connection lost after %zu of %u payload bytes "
                      "of request %u", got, (unsigned)h.length, (unsigned)h.seq);
    int rc;
    if (h.type == ZPT_CHIP_HELLO) {
      rc = handle_hello(s, h.seq, h.length, &handshaken);
    } else if (!handshaken) {
      rc = send_error(s, h.seq, ZPT_EPROTO, "EVAL before the HELLO handshake");
    } else {
      rc = handle_eval(s, h.seq, h.length);
    }
    if (rc != ZPT_OK)
      return rc;
  }
}

static int serve_fds(zpt_blackbox *bb, const zpt_chip_server_config *cfg, int in_fd,
                     int out_fd, volatile sig_atomic_t *stop, double idle_timeout_s) {
  server s = {.bb = bb, .log = cfg ? cfg->log : NULL, .in_fd = in_fd, .out_fd = out_fd,
              .stop = stop, .idle_timeout_s = idle_timeout_s};
  ZPT_TRY(zpt_chip_server_info(bb, cfg, &s.info));
  int rc = serve_loop(&s);
  zpt_buffer_release(&s.payload);
  zpt_buffer_release(&s.reply);
  zpt_buffer_release(&s.vars);
  zpt_buffer_release(&s.outputs);
  return rc;
}

int zpt_chip_serve(zpt_blackbox *bb, const zpt_chip_server_config *cfg, int in_fd,
                   int out_fd, volatile sig_atomic_t *stop) {
  return serve_fds(bb, cfg, in_fd, out_fd, stop, 0.0);
}

int zpt_chip_serve_listener(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                            int listen_fd, volatile sig_atomic_t *stop) {
  zpt_chip_info info;
  ZPT_TRY(zpt_chip_server_info(bb, cfg, &info));
  FILE *log = cfg ? cfg->log : NULL;
  while (!*stop) {
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0)
      continue; /* timeout or EINTR: look at *stop again */
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0)
      continue;
    int one = 1; /* small frames: no Nagle delay (fails harmlessly on Unix sockets) */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (serve_fds(bb, cfg, fd, fd, stop, cfg ? cfg->idle_timeout_s : 0.0) != ZPT_OK && log) {
      fprintf(log, "zoptic chip server: connection ended: %s\n", zpt_error_message());
      fflush(log);
    }
    close(fd);
  }
  return ZPT_OK;
}

int zpt_chip_serve_unix(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                        const char *path, volatile sig_atomic_t *stop) {
  zpt_chip_info info;
  ZPT_TRY(zpt_chip_server_info(bb, cfg, &info));
  int lfd = zpt_chip_listen_unix(path);
  if (lfd < 0)
    return zpt_fail(ZPT_EIO, "chip server: cannot listen on socket '%s': %s", path,
                    strerror(errno));
  int rc = zpt_chip_serve_listener(bb, cfg, lfd, stop);
  close(lfd);
  unlink(path);
  return rc;
}

int zpt_chip_serve_tcp(zpt_blackbox *bb, const zpt_chip_server_config *cfg,
                       const char *hostport, volatile sig_atomic_t *stop) {
  zpt_chip_info info;
  ZPT_TRY(zpt_chip_server_info(bb, cfg, &info));
  unsigned port;
  int lfd = zpt_chip_listen_tcp(hostport, &port);
  if (lfd < 0)
    return zpt_fail(ZPT_EIO, "chip server: cannot listen on tcp '%s': %s", hostport,
                    errno == EINVAL ? "malformed address (expected HOST:PORT)"
                                    : errno == ENOENT ? "unknown host" : strerror(errno));
  if (cfg && cfg->log) {
    fprintf(cfg->log, "zoptic chip server: listening on tcp port %u\n", port);
    fflush(cfg->log);
  }
  int rc = zpt_chip_serve_listener(bb, cfg, lfd, stop);
  close(lfd);
  return rc;
}
