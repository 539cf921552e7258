/* The chip client: a zpt_blackbox that talks to a driver process. */
#define _POSIX_C_SOURCE 200809L
#include "hw/chip_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/timer.h"
#include "hw/chip_io.h"
#include "hw/chip_retry.h"

typedef enum { ENDPOINT_EXEC, ENDPOINT_UNIX, ENDPOINT_TCP, ENDPOINT_FD } endpoint_kind;

typedef struct {
  zpt_blackbox bb;
  endpoint_kind kind;
  char label[600];   /* "chip driver './x'" as messages show it */
  char *command;     /* ENDPOINT_EXEC: private copy, split in place */
  char **argv;
  char *socket_path; /* ENDPOINT_UNIX: the path; ENDPOINT_TCP: "HOST:PORT" */
  pid_t pid;         /* spawned driver, -1 if none */
  int rfd, wfd;      /* -1 when disconnected; equal for a socket */
  int connects;      /* successful handshakes so far */
  zpt_chip_options opt;
  zpt_chip_info info;
  uint32_t seq;    /* last request number used */
  int retryable;   /* the last failure was a transport fault */
  int keep;        /* the last failure left the stream in sync */
  zpt_buffer req, rep;
  zpt_chip_stats stats;
} chip_client;

zpt_chip_options zpt_chip_options_default(void) {
  zpt_chip_options o = {.timeout_s = 30.0, .retries = 2, .log = stderr};
  return o;
}

/* ---- connection -------------------------------------------------------- */

static void disconnect(chip_client *c, int graceful) {
  if (c->wfd >= 0 && c->wfd != c->rfd)
    close(c->wfd);
  if (c->rfd >= 0)
    close(c->rfd);
  c->rfd = c->wfd = -1;
  if (c->pid > 0) {
    int st;
    /* a driver sees EOF on its stdin and should exit; a hung one is killed */
    if (!graceful || zpt_chip_reap(c->pid, 2.0, &st) == 0)
      zpt_chip_reap(c->pid, -1, &st);
    c->pid = -1;
  }
}

/* Message for an I/O failure on `what` ("request 17", "the handshake"). */
static int transport_fail(chip_client *c, zpt_chip_io io, int writing, const char *what) {
  c->retryable = 1;
  c->keep = 0;
  if (io == ZPT_IO_TIMEOUT)
    return zpt_fail(ZPT_ETIMEOUT, "%s timed out after %.1f s on %s (chip.timeout_s)",
                    c->label, c->opt.timeout_s, what);
  if (io == ZPT_IO_ERROR)
    return zpt_fail(ZPT_EIO, "%s: I/O error on %s: %s", c->label, what, strerror(errno));
  const char *when = writing ? "before reading" : "while answering";
  if (c->pid > 0) {
    int st = 0, ended = zpt_chip_reap(c->pid, 1.0, &st);
    if (ended < 0) {
      c->pid = -1;
      return zpt_fail(ZPT_EIO, "%s ended %s %s (exit status unavailable: SIGCHLD ignored?)",
                      c->label, when, what);
    }
    if (ended) {
      c->pid = -1;
      if (WIFEXITED(st))
        return zpt_fail(ZPT_EIO, "%s exited with status %d %s %s", c->label,
                        WEXITSTATUS(st), when, what);
      if (WIFSIGNALED(st))
        return zpt_fail(ZPT_EIO, "%s was killed by signal %d (%s) %s %s", c->label,
                        WTERMSIG(st), strsignal(WTERMSIG(st)), when, what);
    }
    return zpt_fail(ZPT_EIO, "%s closed its output %s %s (the process still runs)",
                    c->label, when, what);
  }
  return zpt_fail(ZPT_EIO, "%s closed the connection %s %s", c->label, when, what);
}

/* Sends the frame whose payload (len bytes) follows the header in c->req. */
static int send_frame(chip_client *c, uint16_t type, size_t len, double deadline,
                      const char *what) {
  unsigned char *buf = c->req.data;
  zpt_chip_header_encode(buf, type, c->seq, (uint32_t)len);
  zpt_chip_io io = zpt_chip_write(c->wfd, buf, ZPT_CHIP_HEADER_SIZE + len, deadline);
  if (io != ZPT_IO_OK)
    return transport_fail(c, io, 1, what);
  c->stats.bytes_sent += ZPT_CHIP_HEADER_SIZE + len;
  return ZPT_OK;
}

/* Receives the reply to c->seq: a frame of type `want` whose payload is at
 * most max_len bytes (into c->rep), or an ERROR, which becomes the returned
 * failure.  *len receives the payload size. */
static int recv_frame(chip_client *c, uint16_t want, size_t max_len, double deadline,
                      const char *what, size_t *len) {
  unsigned char hb[ZPT_CHIP_HEADER_SIZE];
  zpt_chip_header h;
  size_t got;
  zpt_chip_io io = zpt_chip_read(c->rfd, hb, sizeof hb, deadline, &got);
  if (io != ZPT_IO_OK)
    return transport_fail(c, io, 0, what);
  c->retryable = 1; /* a garbled stream: reconnecting may cure it */
  c->keep = 0;
  if (zpt_chip_header_decode(hb, &h) != ZPT_OK)
    return zpt_fail_context(ZPT_EPROTO, "%s sent a malformed reply to %s: ", c->label, what);
  if (h.seq != c->seq)
    return zpt_fail(ZPT_EPROTO, "%s answered request %u while zoptic waited for %s",
                    c->label, (unsigned)h.seq, what);
  size_t limit = h.type == ZPT_CHIP_ERROR ? ZPT_CHIP_ERROR_FIXED + ZPT_CHIP_MAX_MESSAGE : max_len;
  if (h.type != want && h.type != ZPT_CHIP_ERROR)
    return zpt_fail(ZPT_EPROTO, "%s sent a %s frame in reply to %s (expected %s)", c->label,
                    zpt_chip_type_name(h.type), what, zpt_chip_type_name(want));
  if (h.length > limit)
    return zpt_fail(ZPT_EPROTO, "%s sent a %s reply of %u bytes to %s, at most %zu expected",
                    c->label, zpt_chip_type_name(h.type), (unsigned)h.length, what, limit);
  if (zpt_buffer_reserve(&c->rep, h.length, "chip reply") != ZPT_OK)
    return ZPT_ENOMEM;
  io = zpt_chip_read(c->rfd, c->rep.data, h.length, deadline, &got);
  if (io != ZPT_IO_OK) {
    int rc = transport_fail(c, io, 0, what);
    char msg[1600];
    snprintf(msg, sizeof msg, "%s", zpt_error_message());
    return zpt_fail(rc, "%s (%s reply cut short after %zu of %u payload bytes)", msg,
                    zpt_chip_type_name(h.type), got, (unsigned)h.length);
  }
  c->stats.bytes_received += ZPT_CHIP_HEADER_SIZE + h.length;
  *len = h.length;
  if (h.type == ZPT_CHIP_ERROR) {
    int32_t code;
    char msg[ZPT_CHIP_MAX_MESSAGE + 1];
    if (zpt_chip_error_decode(c->rep.data, h.length, &code, msg, sizeof msg) != ZPT_OK)
      return zpt_fail_context(ZPT_EPROTO, "%s sent a malformed error reply to %s: ",
                              c->label, what);
    c->retryable = 0; /* the driver said no: asking again changes nothing */
    c->keep = 1;
    int status = (code < 0 && code >= ZPT_ENOTFOUND) ? code : ZPT_EIO;
    return zpt_fail(status, "%s reported an error on %s: %s (code %d)", c->label, what, msg,
                    (int)code);
  }
  return ZPT_OK;
}

static int check_expected(chip_client *c, const char *what, size_t expected, uint64_t got) {
  if (expected && expected != got)
    return zpt_fail(ZPT_EINVAL, "%s ('%s') has %s %llu, the model expects %zu", c->label,
                    c->info.name, what, (unsigned long long)got, expected);
  return ZPT_OK;
}

static int handshake_exchange(chip_client *c) {
  double deadline = zpt_now() + c->opt.timeout_s;
  ZPT_TRY(zpt_buffer_reserve(&c->req, ZPT_CHIP_HEADER_SIZE + ZPT_CHIP_HELLO_SIZE,
                             "chip request"));
  zpt_chip_hello_encode((unsigned char *)c->req.data + ZPT_CHIP_HEADER_SIZE,
                        ZPT_CHIP_VERSION);
  ZPT_TRY(send_frame(c, ZPT_CHIP_HELLO, ZPT_CHIP_HELLO_SIZE, deadline, "the handshake"));
  size_t len;
  ZPT_TRY(recv_frame(c, ZPT_CHIP_INFO, ZPT_CHIP_INFO_FIXED + ZPT_CHIP_MAX_NAME, deadline,
                     "the handshake", &len));
  c->retryable = 0; /* from here on a failure is the driver's answer */
  zpt_chip_info info;
  if (zpt_chip_info_decode(c->rep.data, len, &info) != ZPT_OK)
    return zpt_fail_context(ZPT_EPROTO, "%s: handshake: ", c->label);
  if (c->connects > 0 &&
      (info.n_params != c->info.n_params || info.input_size != c->info.input_size ||
       info.output_size != c->info.output_size || info.input_kind != c->info.input_kind ||
       info.form != c->info.form))
    return zpt_fail(ZPT_EPROTO,
                    "%s came back after a reconnect as a different chip (%llu params, "
                    "%llu -> %llu floats; before: %llu params, %llu -> %llu)",
                    c->label, (unsigned long long)info.n_params,
                    (unsigned long long)info.input_size, (unsigned long long)info.output_size,
                    (unsigned long long)c->info.n_params,
                    (unsigned long long)c->info.input_size,
                    (unsigned long long)c->info.output_size);
  c->info = info;
  ZPT_TRY(check_expected(c, "n_params", c->opt.n_params, info.n_params));
  ZPT_TRY(check_expected(c, "input_size", c->opt.input_size, info.input_size));
  ZPT_TRY(check_expected(c, "output_size", c->opt.output_size, info.output_size));
  if (c->opt.input_kind && c->opt.input_kind != info.input_kind)
    return zpt_fail(ZPT_EINVAL, "%s ('%s') takes %s inputs, the model expects %s inputs",
                    c->label, info.name,
                    info.input_kind == ZPT_CHIP_INPUT_COMPLEX ? "complex" : "real",
                    c->opt.input_kind == ZPT_CHIP_INPUT_COMPLEX ? "complex" : "real");
  return ZPT_OK;
}

/* The handshake is request 0; requests keep their numbers across reconnects. */
static int handshake(chip_client *c) {
  uint32_t last_request = c->seq;
  c->seq = 0;
  int rc = handshake_exchange(c);
  c->seq = last_request;
  return rc;
}

/* Starts or reconnects the driver and performs the handshake. */
static int connect_driver(chip_client *c) {
  c->retryable = 0;
  c->keep = 0;
  if (c->kind == ENDPOINT_EXEC) {
    int err = zpt_chip_spawn(c->argv, &c->pid, &c->wfd, &c->rfd);
    if (err) {
      c->pid = -1;
      return zpt_fail(ZPT_EIO, "cannot start %s: %s", c->label, strerror(err));
    }
  } else if (c->kind == ENDPOINT_UNIX) {
    int fd = zpt_chip_connect_unix(c->socket_path);
    if (fd < 0) {
      c->retryable = errno != ENAMETOOLONG; /* the service may be restarting */
      return zpt_fail(ZPT_EIO, "cannot connect to %s: %s", c->label, strerror(errno));
    }
    c->rfd = c->wfd = fd;
  } else if (c->kind == ENDPOINT_TCP) {
    int fd = zpt_chip_connect_tcp(c->socket_path, zpt_now() + c->opt.timeout_s);
    if (fd < 0) {
      if (errno == EINVAL)
        return zpt_fail(ZPT_EINVAL, "%s: malformed address (expected tcp:HOST:PORT)",
                        c->label);
      c->retryable = errno != ENOENT;
      return zpt_fail(errno == ETIMEDOUT ? ZPT_ETIMEOUT : ZPT_EIO, "cannot connect to %s: %s",
                      c->label, errno == ENOENT ? "unknown host" : strerror(errno));
    }
    c->rfd = c->wfd = fd;
  } else {
    return zpt_fail(ZPT_EIO, "%s is gone and cannot be reconnected (a pre-connected socket)",
                    c->label);
  }
  if (c->connects > 0)
    c->stats.reconnects++;
  int rc = handshake(c);
  if (rc != ZPT_OK) {
    disconnect(c, 0);
    return rc;
  }
  c->connects++;
  return ZPT_OK;
}

/* ---- requests ---------------------------------------------------------- */

/* One EVAL of nv settings x nb samples; outputs of setting v, sample i go
 * to out[(v * stride + i) * output_size]. */
static int one_request(chip_client *c, const float *theta, const zpt_variation *vars,
                       size_t nv, const float *inputs, size_t nb, uint64_t first_query,
                       float *out, size_t stride) {
  size_t req_len, rep_len, len;
  char what[64];
  c->seq++;
  c->retryable = 0; /* until a transport fault says otherwise */
  c->keep = 1;
  snprintf(what, sizeof what, "request %u", (unsigned)c->seq);
  ZPT_TRY(zpt_chip_eval_size(&c->info, vars, nv, nb, &req_len));
  ZPT_TRY(zpt_chip_output_size(nv, nb, (size_t)c->info.output_size, &rep_len));
  ZPT_TRY(zpt_buffer_reserve(&c->req, ZPT_CHIP_HEADER_SIZE + req_len, "chip request"));
  zpt_chip_eval_encode(&c->info, first_query, theta, vars, nv, inputs, nb,
                       (unsigned char *)c->req.data + ZPT_CHIP_HEADER_SIZE);
  double deadline = zpt_now() + c->opt.timeout_s;
  ZPT_TRY(send_frame(c, ZPT_CHIP_EVAL, req_len, deadline, what));
  ZPT_TRY(recv_frame(c, ZPT_CHIP_OUTPUT, rep_len, deadline, what, &len));
  const float *y;
  size_t m = (size_t)c->info.output_size;
  if (zpt_chip_output_decode(c->rep.data, len, nv, nb, m, &y) != ZPT_OK) {
    c->keep = zpt_error_status() == ZPT_ENUMERIC; /* well framed, bad values */
    c->retryable = !c->keep;
    return zpt_fail_context(zpt_error_status(), "%s, %s: ", c->label, what);
  }
  for (size_t v = 0; v < nv; v++)
    memcpy(out + v * stride * m, y + v * nb * m, nb * m * sizeof(float));
  c->stats.requests++;
  return ZPT_OK;
}

/* Between requests nothing may arrive: on a socket, a readable or hung-up
 * channel means the service closed the connection while we were idle (its
 * idle timeout, a restart).  It is reopened at the next request without
 * spending a retry.  (A spawned driver whose pipe closed has died: that is
 * a fault, left to the retries.) */
static void drop_if_closed_while_idle(chip_client *c) {
  if (c->rfd < 0 || (c->kind != ENDPOINT_UNIX && c->kind != ENDPOINT_TCP))
    return;
  struct pollfd p = {.fd = c->rfd, .events = POLLIN};
  if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
    return;
  if (c->opt.log) {
    fprintf(c->opt.log, "zoptic: %s closed the connection while idle; reconnecting\n",
            c->label);
    fflush(c->opt.log);
  }
  disconnect(c, 0);
}

static int request(chip_client *c, const float *theta, const zpt_variation *vars, size_t nv,
                   const float *inputs, size_t nb, uint64_t first_query, float *out,
                   size_t stride) {
  int rc = ZPT_OK;
  zpt_chip_attempts a;
  zpt_chip_attempts_init(&a);
  drop_if_closed_while_idle(c);
  for (int attempt = 0; attempt <= c->opt.retries; attempt++) {
    if (attempt > 0) {
      c->stats.retries++;
      zpt_chip_sleep(zpt_chip_backoff_s(attempt));
    }
    rc = c->rfd >= 0 ? ZPT_OK : connect_driver(c);
    if (rc == ZPT_OK)
      rc = one_request(c, theta, vars, nv, inputs, nb, first_query, out, stride);
    if (rc == ZPT_OK) {
      char what[64];
      snprintf(what, sizeof what, "request %u", (unsigned)c->seq);
      zpt_chip_log_recovery(c->opt.log, c->label, what, attempt, c->opt.retries, &a);
      return ZPT_OK;
    }
    zpt_chip_attempts_add(&a, zpt_error_message());
    if (!c->keep)
      disconnect(c, 0);
    if (!c->retryable)
      break;
  }
  return zpt_chip_give_up(rc, c->opt.retries, &a);
}

/* Largest chunk (settings x samples) within the driver's limits and the
 * frame limit, for a worst case where every variation covers all of theta. */
static int chunk_sizes(const chip_client *c, size_t n_vars, size_t batch, size_t *nv,
                       size_t *nb) {
  const zpt_chip_info *in = &c->info;
  *nv = in->max_vars && n_vars > in->max_vars ? in->max_vars : n_vars;
  *nb = in->max_batch && batch > in->max_batch ? in->max_batch : batch;
  double n = (double)in->n_params, lim = ZPT_CHIP_MAX_PAYLOAD;
  for (;;) {
    double per_var = in->form == ZPT_CHIP_FORM_FULL ? 4 * n : ZPT_CHIP_VAR_ENTRY + 4 * n;
    double req = ZPT_CHIP_EVAL_FIXED + 4 * n + (double)*nv * per_var +
                 4.0 * (double)*nb * (double)in->input_size;
    double rep = ZPT_CHIP_OUTPUT_FIXED + 4.0 * (double)*nv * (double)*nb * (double)in->output_size;
    if (req <= lim && rep <= lim)
      return ZPT_OK;
    if (*nv > 1)
      *nv = (*nv + 1) / 2;
    else if (*nb > 1)
      *nb = (*nb + 1) / 2;
    else
      return zpt_fail(ZPT_ERANGE,
                      "%s: one setting on one sample needs a frame larger than the "
                      "protocol limit of %u bytes",
                      c->label, ZPT_CHIP_MAX_PAYLOAD);
  }
}

static int client_query(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                        size_t n_vars, const float *inputs, size_t batch, float *outputs,
                        uint64_t first_query) {
  chip_client *c = bb->impl;
  size_t n = bb->n_params;
  for (size_t v = 0; v < n_vars; v++)
    if (vars[v].offset > n || vars[v].len > n - vars[v].offset ||
        (vars[v].len && !vars[v].delta))
      return zpt_fail(ZPT_EINVAL,
                      "%s: variation %zu covers [%zu, %zu + %zu) of %zu parameters%s",
                      c->label, v, vars[v].offset, vars[v].offset, vars[v].len, n,
                      vars[v].len && !vars[v].delta ? " with no delta" : "");
  c->stats.settings += n_vars;
  if (n_vars == 0 || batch == 0)
    return ZPT_OK;
  size_t nv, nb;
  ZPT_TRY(chunk_sizes(c, n_vars, batch, &nv, &nb));
  for (size_t v0 = 0; v0 < n_vars; v0 += nv) {
    size_t cv = n_vars - v0 < nv ? n_vars - v0 : nv;
    for (size_t b0 = 0; b0 < batch; b0 += nb) {
      size_t cb = batch - b0 < nb ? batch - b0 : nb;
      ZPT_TRY(request(c, theta, vars + v0, cv, inputs + b0 * bb->input_size, cb,
                      first_query + v0, outputs + (v0 * batch + b0) * bb->output_size,
                      batch));
    }
  }
  return ZPT_OK;
}

static void client_free(zpt_blackbox *bb) {
  if (!bb)
    return;
  chip_client *c = bb->impl;
  disconnect(c, 1);
  zpt_buffer_release(&c->req);
  zpt_buffer_release(&c->rep);
  zpt_free(c->argv);
  zpt_free(c->command);
  zpt_free(c->socket_path);
  zpt_free(c);
}

static const zpt_blackbox_type chip_client_type = {.name = "chip",
                                                   .query = client_query,
                                                   .free = client_free};

/* ---- construction ------------------------------------------------------ */

static char *copy_string(const char *s, const char *what) {
  size_t n = strlen(s) + 1;
  char *p = zpt_alloc(n, what);
  if (p)
    memcpy(p, s, n);
  return p;
}

/* Splits c->command at blanks into c->argv (NULL-terminated). */
static int split_command(chip_client *c) {
  size_t words = 0;
  for (char *p = c->command; *p;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      break;
    words++;
    while (*p && *p != ' ' && *p != '\t')
      p++;
  }
  if (words == 0)
    return zpt_fail(ZPT_EINVAL, "chip driver command is empty (chip.driver)");
  c->argv = zpt_new_array(char *, words + 1, "chip driver argv");
  if (!c->argv)
    return ZPT_ENOMEM;
  size_t k = 0;
  for (char *p = c->command; *p;) {
    while (*p == ' ' || *p == '\t')
      *p++ = '\0';
    if (!*p)
      break;
    c->argv[k++] = p;
    while (*p && *p != ' ' && *p != '\t')
      p++;
  }
  c->argv[k] = NULL;
  return ZPT_OK;
}

static int check_options(const zpt_chip_options *o) {
  if (!(o->timeout_s > 0) || o->timeout_s > 1e6)
    return zpt_fail(ZPT_EINVAL, "chip.timeout_s is %g, expected a number of seconds in (0, 1e6]",
                    o->timeout_s);
  if (o->retries < 0 || o->retries > 1000)
    return zpt_fail(ZPT_EINVAL, "chip.retries is %d, expected 0 to 1000", o->retries);
  if (o->input_kind > ZPT_CHIP_INPUT_COMPLEX)
    return zpt_fail(ZPT_EINVAL, "expected input kind %u is not 0, 1 (real) or 2 (complex)",
                    (unsigned)o->input_kind);
  return ZPT_OK;
}

static chip_client *client_new(const zpt_chip_options *opt) {
  zpt_chip_options o = opt ? *opt : zpt_chip_options_default();
  if (check_options(&o) != ZPT_OK)
    return NULL;
  chip_client *c = zpt_new(chip_client, "chip client");
  if (!c)
    return NULL;
  c->opt = o;
  c->bb.impl = c;
  c->pid = -1;
  c->rfd = c->wfd = -1;
  return c;
}

static int finish_open(chip_client *c, zpt_blackbox **out) {
  int rc;
  if (c->rfd >= 0) { /* pre-connected */
    rc = handshake(c);
    c->connects = rc == ZPT_OK;
  } else {
    /* a transport fault at the first connect is retried like any request */
    zpt_chip_attempts a;
    zpt_chip_attempts_init(&a);
    rc = connect_driver(c);
    for (int attempt = 1; rc != ZPT_OK && c->retryable && attempt <= c->opt.retries;
         attempt++) {
      zpt_chip_attempts_add(&a, zpt_error_message());
      c->stats.retries++;
      zpt_chip_sleep(zpt_chip_backoff_s(attempt));
      rc = connect_driver(c);
      if (rc == ZPT_OK)
        zpt_chip_log_recovery(c->opt.log, c->label, "the handshake", attempt,
                              c->opt.retries, &a);
    }
    if (rc != ZPT_OK && a.n > 0) {
      zpt_chip_attempts_add(&a, zpt_error_message());
      rc = zpt_chip_give_up(rc, c->opt.retries, &a);
    }
  }
  if (rc != ZPT_OK) {
    client_free(&c->bb);
    return rc;
  }
  c->bb.type = &chip_client_type;
  c->bb.impl = c;
  c->bb.n_params = (size_t)c->info.n_params;
  c->bb.input_size = (size_t)c->info.input_size;
  c->bb.output_size = (size_t)c->info.output_size;
  c->bb.max_batch = 0; /* requests are split here: the trainer sees no limit */
  c->bb.max_vars = 0;
  *out = &c->bb;
  return ZPT_OK;
}

int zpt_chip_client_open(const char *driver, const zpt_chip_options *opt,
                         zpt_blackbox **out) {
  *out = NULL;
  if (!driver)
    return zpt_fail(ZPT_EINVAL, "no chip driver given (chip.driver)");
  chip_client *c = client_new(opt);
  if (!c)
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  c->bb.impl = c;
  if (!strncmp(driver, "unix:", 5) || !strncmp(driver, "tcp:", 4)) {
    int tcp = driver[0] == 't';
    c->kind = tcp ? ENDPOINT_TCP : ENDPOINT_UNIX;
    c->socket_path = copy_string(driver + (tcp ? 4 : 5), "chip socket address");
    snprintf(c->label, sizeof c->label, "chip driver at %s '%s'", tcp ? "tcp" : "socket",
             driver + (tcp ? 4 : 5));
    if (!c->socket_path) {
      client_free(&c->bb);
      return ZPT_ENOMEM;
    }
  } else {
    c->kind = ENDPOINT_EXEC;
    if (!strncmp(driver, "exec:", 5))
      driver += 5;
    c->command = copy_string(driver, "chip driver command");
    int rc = c->command ? split_command(c) : ZPT_ENOMEM;
    if (rc != ZPT_OK) {
      client_free(&c->bb);
      return rc;
    }
    snprintf(c->label, sizeof c->label, "chip driver '%s'", c->argv[0]);
  }
  return finish_open(c, out);
}

int zpt_chip_client_open_fd(int fd, const char *label, const zpt_chip_options *opt,
                            zpt_blackbox **out) {
  *out = NULL;
  chip_client *c = client_new(opt);
  if (!c) {
    close(fd);
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  }
  c->bb.impl = c;
  c->kind = ENDPOINT_FD;
  snprintf(c->label, sizeof c->label, "chip driver '%s'", label ? label : "(socket)");
  if (zpt_chip_fd_prepare(fd) < 0) {
    int e = errno;
    close(fd);
    client_free(&c->bb);
    return zpt_fail(ZPT_EIO, "chip driver '%s': cannot use fd %d: %s", label, fd, strerror(e));
  }
  c->rfd = c->wfd = fd;
  c->opt.retries = 0;
  return finish_open(c, out);
}

const zpt_chip_info *zpt_chip_client_info(const zpt_blackbox *bb) {
  if (!bb || bb->type != &chip_client_type)
    return NULL;
  return &((const chip_client *)bb->impl)->info;
}

zpt_chip_stats zpt_chip_client_stats(const zpt_blackbox *bb) {
  zpt_chip_stats none = {0};
  if (!bb || bb->type != &chip_client_type)
    return none;
  return ((const chip_client *)bb->impl)->stats;
}
