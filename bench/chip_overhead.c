/* Overhead of the chip-driver protocol: settings evaluated per second by the
 * built-in linear chip in-process vs the same model behind zoptic-chipd
 * (stdin/stdout pipes, Unix socket, loopback TCP, full-theta form).
 *
 * All five backends are open at once and measured in turn, ROUNDS times,
 * 0.5 s each; the table shows each backend's median round.  Interleaving
 * matters on a shared machine: a load change then hits every column alike.
 * Run: bash bench/chip_overhead.sh   (builds this file against build/). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zoptic.h"
#include "hw/chip_client.h"
#include "hw/chip_io.h"
#include "hw/linear_chip.h"

extern char **environ;

#define ROUNDS 7
#define N_BACKENDS 5

typedef struct {
  const float *theta, *x;
  const zpt_variation *vars;
  size_t V, B;
  float *y;
} call_shape;

/* Seconds per call over >= min_s seconds of calls. */
static double seconds_per_call(zpt_blackbox *bb, const call_shape *c, double min_s) {
  size_t calls = 0;
  double t0 = zpt_now(), t;
  do {
    if (zpt_blackbox_query(bb, c->theta, c->vars, c->V, c->x, c->B, c->y, calls * c->V) !=
        ZPT_OK) {
      fprintf(stderr, "query failed: %s\n", zpt_error_message());
      exit(1);
    }
    calls++;
    t = zpt_now() - t0;
  } while (t < min_s);
  return t / (double)calls;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts `exe ARGS... --model spec` as a service and connects to `driver`. */
static zpt_blackbox *open_service(char **argv, const char *driver, pid_t *pid) {
  if (posix_spawn(pid, argv[0], NULL, NULL, argv, environ) != 0)
    return NULL;
  zpt_chip_options once = zpt_chip_options_default();
  once.retries = 0;
  for (int i = 0; i < 500; i++) {
    zpt_blackbox *bb;
    if (zpt_chip_client_open(driver, &once, &bb) == ZPT_OK)
      return bb;
    pause_ms(10);
  }
  fprintf(stderr, "%s: %s\n", driver, zpt_error_message());
  return NULL;
}

int main(int argc, char **argv) {
  const char *build = argc > 1 ? argv[1] : "build";
  /* the first row isolates the protocol: 1 setting x 1 sample of a tiny
   * model, i.e. the round trip; the others are ZO-I calls of Q+1 = 17
   * settings (16 perturb all of theta) x 32 samples */
  const size_t rows[][4] = {{2, 1, 1, 1}, {16, 4, 17, 32}, {64, 16, 17, 32}, {256, 64, 17, 32}};
  const char *names[N_BACKENDS] = {"in-process", "chipd stdio", "chipd unix socket",
                                   "chipd tcp loopback", "chipd stdio full-theta"};
  printf("%-16s %6s", "IN:OUT VxB", "N");
  for (int k = 0; k < N_BACKENDS; k++)
    printf(" | %-22s", names[k]);
  printf("\n");
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    const size_t IN = rows[r][0], OUT = rows[r][1], V = rows[r][2], B = rows[r][3];
    char spec[64], exe[512], cmd[700], full[700], sock[128], unixdrv[160], hp[64], tcpdrv[80];
    snprintf(spec, sizeof spec, "linear:%zu:%zu:1", IN, OUT);
    snprintf(exe, sizeof exe, "%s/zoptic-chipd", build);
    snprintf(cmd, sizeof cmd, "%s --quiet --model %s", exe, spec);
    snprintf(full, sizeof full, "%s --quiet --full-theta --model %s", exe, spec);
    snprintf(sock, sizeof sock, "/tmp/zoptic-bench-%d.sock", (int)getpid());
    snprintf(unixdrv, sizeof unixdrv, "unix:%s", sock);
    unsigned port;
    int probe = zpt_chip_listen_tcp("127.0.0.1:0", &port);
    close(probe);
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    snprintf(tcpdrv, sizeof tcpdrv, "tcp:%s", hp);
    char *unix_argv[] = {exe, "--quiet", "--model", spec, "--socket", sock, NULL};
    char *tcp_argv[] = {exe, "--quiet", "--model", spec, "--tcp", hp, NULL};

    zpt_blackbox *bb[N_BACKENDS] = {0};
    pid_t unix_pid = -1, tcp_pid = -1;
    if (zpt_linear_chip_from_spec(spec, &bb[0]) != ZPT_OK ||
        zpt_chip_client_open(cmd, NULL, &bb[1]) != ZPT_OK ||
        !(bb[2] = open_service(unix_argv, unixdrv, &unix_pid)) ||
        !(bb[3] = open_service(tcp_argv, tcpdrv, &tcp_pid)) ||
        zpt_chip_client_open(full, NULL, &bb[4]) != ZPT_OK) {
      fprintf(stderr, "setup: %s\n", zpt_error_message());
      return 1;
    }
    size_t N = bb[0]->n_params;
    float *theta = zpt_floats(N, "theta"), *deltas = zpt_floats(V * N, "deltas");
    float *x = zpt_floats(B * IN, "x"), *y = zpt_floats(V * B * OUT, "y");
    gsl_rng *g = zpt_rng_alloc(1, ZPT_STREAM_TEST, r, 0);
    zpt_rng_gaussians(g, theta, N, 0.1);
    zpt_rng_gaussians(g, deltas, V * N, 1.0);
    zpt_rng_gaussians(g, x, B * IN, 1.0);
    zpt_rng_free(g);
    zpt_variation vars[17];
    vars[0] = (zpt_variation){0, 0, 0, NULL};
    for (size_t v = 1; v < V; v++)
      vars[v] = (zpt_variation){0, N, 1e-3f, deltas + v * N};
    call_shape shape = {theta, x, vars, V, B, y};

    double t[N_BACKENDS][ROUNDS];
    for (int k = 0; k < N_BACKENDS; k++) /* warm up */
      seconds_per_call(bb[k], &shape, 0.1);
    for (int round = 0; round < ROUNDS; round++)
      for (int k = 0; k < N_BACKENDS; k++)
        t[k][round] = seconds_per_call(bb[k], &shape, 0.5);

    char label[32];
    snprintf(label, sizeof label, "%zu:%zu %zux%zu", IN, OUT, V, B);
    printf("%-16s %6zu", label, N);
    for (int k = 0; k < N_BACKENDS; k++) {
      qsort(t[k], ROUNDS, sizeof(double), cmp_double);
      double med = t[k][ROUNDS / 2];
      printf(" | %8.0f/s %8.1f us", (double)V / med, 1e6 * med);
    }
    printf("\n");
    fflush(stdout);
    for (int k = 0; k < N_BACKENDS; k++)
      zpt_blackbox_free(bb[k]);
    kill(unix_pid, SIGTERM);
    kill(tcp_pid, SIGTERM);
    waitpid(unix_pid, NULL, 0);
    waitpid(tcp_pid, NULL, 0);
    zpt_free(theta);
    zpt_free(deltas);
    zpt_free(x);
    zpt_free(y);
  }
  printf("(settings evaluated per second and us per call of V settings x B samples: median of "
         "%d interleaved rounds of 0.5 s)\n", ROUNDS);
  return 0;
}
