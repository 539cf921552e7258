/* zoptic-chipd: the reference chip driver.
 *
 * It serves a chip model over the chip-driver protocol (docs/hardware.md),
 * either on stdin/stdout (zoptic spawns it: chip.driver = "zoptic-chipd
 * --model ..."), on a Unix-domain socket (--socket PATH; zoptic connects
 * with chip.driver = "unix:PATH") or on TCP (--tcp 127.0.0.1:7700;
 * chip.driver = "tcp:127.0.0.1:7700").  A lab copies this file and replaces
 * build_model() with a zpt_blackbox whose query() drives its chip; the
 * protocol itself is handled by the server library (src/hw/chip_server.h).
 * --config FILE serves the simulated model of a zoptic configuration.
 *
 * In stdin/stdout mode stdout IS the protocol channel: log to stderr only.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset.h"
#include "hw/chip_server.h"
#include "hw/linear_chip.h"
#include "io/config.h"
#include "tasks/tasks.h"
#include "nn/sim_backend.h"

/* Set by SIGINT/SIGTERM; the server looks at it every 0.2 s.  The one
 * process-wide variable of this program (a signal handler cannot be given
 * a pointer). */
static volatile sig_atomic_t stop_requested;

/* Default --idle-timeout: below the client's default handshake timeout
 * (chip.timeout_s = 30), so a trainer queued behind an idle client is
 * served before it gives up. */
#define CHIPD_IDLE_TIMEOUT_S 10.0

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

typedef struct {
  const char *model_spec;  /* --model: a built-in model */
  const char *config_path; /* --config: the simulated model of a zoptic config */
  const char *socket_path; /* --socket: serve there instead of stdin/stdout */
  const char *tcp;         /* --tcp HOST:PORT: or there */
  zpt_chip_server_config server;
} chipd_options;

static void usage(FILE *out) {
  fprintf(out,
          "usage: zoptic-chipd --model SPEC | --config FILE [options]\n"
          "Serves a chip model over the zoptic chip-driver protocol v%u on stdin/stdout\n"
          "(or a Unix-domain socket).  Logs go to stderr.\n"
          "\n"
          "model source:\n"
          "  --model linear:IN:OUT:SEED[:NOISE]  y = gain*tanh(W x + b), theta = [W, b];\n"
          "                          gain fixed by SEED, optional read-out noise sigma\n"
          "  --config FILE           the simulated model of a zoptic configuration ([model],\n"
          "                          [chip] errors and read-out noise, sizes from [data]):\n"
          "                          exactly what `zoptic train FILE` runs in-process\n"
          "options:\n"
          "  --socket PATH           listen on a Unix-domain socket, one client at a time\n"
          "  --tcp HOST:PORT         listen on TCP instead (no authentication: use 127.0.0.1)\n"
          "  --idle-timeout S        with --socket/--tcp: disconnect a client that sends\n"
          "                          nothing for S seconds and serve the next one\n"
          "                          (default %g; 0 = never)\n"
          "  --name NAME             driver name announced in the handshake\n"
          "  --max-batch N           largest batch per request (default: no limit)\n"
          "  --max-vars N            largest number of settings per request (1 = one at a time)\n"
          "  --full-theta            ask clients for a full theta per setting\n"
          "  --complex               announce complex inputs (IN = 2 x channels)\n"
          "  --quiet                 no log lines\n"
          "  --help\n",
          ZPT_CHIP_VERSION, CHIPD_IDLE_TIMEOUT_S);
}

static int parse_count(const char *opt, const char *arg, size_t *out) {
  char *end;
  unsigned long long v = arg ? strtoull(arg, &end, 10) : 0;
  if (!arg || !*arg || *end || *arg == '-' || v < 1 || v > UINT32_MAX)
    return zpt_fail(ZPT_EINVAL, "%s needs a count in [1, 4294967295], got '%s'", opt,
                    arg ? arg : "(nothing)");
  *out = (size_t)v;
  return ZPT_OK;
}

static int parse_seconds(const char *opt, const char *arg, double *out) {
  char *end;
  double v = arg ? strtod(arg, &end) : 0;
  if (!arg || !*arg || *end || !(v >= 0) || v > 1e6)
    return zpt_fail(ZPT_EINVAL, "%s needs a number of seconds in [0, 1e6], got '%s'", opt,
                    arg ? arg : "(nothing)");
  *out = v;
  return ZPT_OK;
}

static int parse_args(int argc, char **argv, chipd_options *o) {
  o->server.log = stderr;
  o->server.name = "zoptic-chipd";
  o->server.idle_timeout_s = CHIPD_IDLE_TIMEOUT_S;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--model") && next)
      o->model_spec = argv[++i];
    else if (!strcmp(a, "--config") && next)
      o->config_path = argv[++i];
    else if (!strcmp(a, "--socket") && next)
      o->socket_path = argv[++i];
    else if (!strcmp(a, "--tcp") && next)
      o->tcp = argv[++i];
    else if (!strcmp(a, "--name") && next)
      o->server.name = argv[++i];
    else if (!strcmp(a, "--max-batch") || !strcmp(a, "--max-vars")) {
      size_t *limit = !strcmp(a, "--max-batch") ? &o->server.max_batch : &o->server.max_vars;
      ZPT_TRY(parse_count(a, next, limit));
      i++;
    } else if (!strcmp(a, "--idle-timeout")) {
      ZPT_TRY(parse_seconds(a, next, &o->server.idle_timeout_s));
      i++;
    } else if (!strcmp(a, "--full-theta"))
      o->server.form = ZPT_CHIP_FORM_FULL;
    else if (!strcmp(a, "--complex"))
      o->server.input_kind = ZPT_CHIP_INPUT_COMPLEX;
    else if (!strcmp(a, "--quiet"))
      o->server.log = NULL;
    else
      return zpt_fail(ZPT_EINVAL, "unknown or incomplete option '%s' (try --help)", a);
  }
  if (o->socket_path && o->tcp)
    return zpt_fail(ZPT_EINVAL, "give --socket or --tcp, not both");
  if (o->model_spec && o->config_path)
    return zpt_fail(ZPT_EINVAL, "give --model or --config, not both");
  return ZPT_OK;
}

/* The simulated chip of a zoptic configuration: the model `zoptic train`
 * would build in-process (io/setup.h), with the same read-out noise seed.
 * The data set is loaded only for its shape (image size, DFT features,
 * sequence length); *model must outlive *bb. */
static int build_config_model(const char *path, zpt_model **model, zpt_blackbox **bb) {
  zpt_config *cfg = zpt_config_alloc();
  if (!cfg)
    return zpt_error_status();
  zpt_dataset *train = NULL, *test = NULL;
  zpt_setup_model_info info;
  int rc = zpt_config_parse_file(cfg, path);
  if (rc == ZPT_OK)
    rc = zpt_config_check_required(cfg, path);
  if (rc == ZPT_OK)
    rc = zpt_setup_data(cfg, &train, &test);
  if (rc == ZPT_OK)
    rc = zpt_setup_model(cfg, train, model, &info);
  if (rc == ZPT_OK) {
    *bb = zpt_model_blackbox(*model, info.noise_seed);
    if (!*bb)
      rc = zpt_error_status();
  }
  zpt_dataset_free(train);
  zpt_dataset_free(test);
  zpt_config_free(cfg);
  if (rc != ZPT_OK)
    zpt_fail_context(rc, "--config %s: ", path);
  return rc;
}

/* The model source: a built-in model (--model) or a zoptic config
 * (--config).  A lab replaces this with its chip. */
static int build_model(const chipd_options *o, zpt_model **model, zpt_blackbox **bb) {
  if (o->model_spec)
    return zpt_linear_chip_from_spec(o->model_spec, bb);
  if (o->config_path)
    return build_config_model(o->config_path, model, bb);
  return zpt_fail(ZPT_EINVAL, "no model: give --model linear:IN:OUT:SEED or --config FILE "
                  "(try --help)");
}

/* SIGPIPE: a vanished client shows up as EPIPE from write(), never as a
 * signal.  SIGINT/SIGTERM: stop serving and exit cleanly. */
static void install_signals(void) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static void log_chip(const chipd_options *o, const zpt_chip_info *info) {
  if (!o->server.log)
    return;
  fprintf(o->server.log,
          "zoptic-chipd: %s: %llu parameters, %llu %s inputs -> %llu outputs, max batch %u, "
          "max settings %u (0 = no limit), %s form, on %s%s\n",
          info->name, (unsigned long long)info->n_params,
          (unsigned long long)info->input_size,
          info->input_kind == ZPT_CHIP_INPUT_COMPLEX ? "complex" : "real",
          (unsigned long long)info->output_size, (unsigned)info->max_batch,
          (unsigned)info->max_vars, info->form == ZPT_CHIP_FORM_FULL ? "full" : "compact",
          o->socket_path ? "socket " : o->tcp ? "tcp " : "stdin/stdout",
          o->socket_path ? o->socket_path : o->tcp ? o->tcp : "");
}

static int serve(zpt_blackbox *bb, const chipd_options *o) {
  if (o->socket_path)
    return zpt_chip_serve_unix(bb, &o->server, o->socket_path, &stop_requested);
  if (o->tcp)
    return zpt_chip_serve_tcp(bb, &o->server, o->tcp, &stop_requested);
  return zpt_chip_serve(bb, &o->server, 0, 1, &stop_requested);
}

int main(int argc, char **argv) {
  chipd_options o = {0};
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    }
  zpt_blackbox *bb = NULL;
  zpt_model *model = NULL; /* --config: the model behind bb */
  zpt_chip_info info; /* what the handshake will announce: checked before serving */
  if (parse_args(argc, argv, &o) != ZPT_OK || build_model(&o, &model, &bb) != ZPT_OK ||
      zpt_chip_server_info(bb, &o.server, &info) != ZPT_OK) {
    fprintf(stderr, "zoptic-chipd: %s\n", zpt_error_message());
    zpt_blackbox_free(bb);
    zpt_model_free(model);
    return 2;
  }
  log_chip(&o, &info);
  install_signals();
  int rc = serve(bb, &o);
  if (rc != ZPT_OK)
    fprintf(stderr, "zoptic-chipd: %s\n", zpt_error_message());
  zpt_blackbox_free(bb);
  zpt_model_free(model);
  return rc == ZPT_OK ? 0 : 1;
}
