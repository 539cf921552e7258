/* Overhead of the chip-driver protocol: settings evaluated per second by the
 * built-in linear chip in-process vs the same model behind zoptic-chipd
 * (stdin/stdout pipes, Unix socket, loopback TCP, compact and full-theta forms).
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

/* Settings per second over >= min_s seconds of calls of V settings x B. */
static double rate1(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                   size_t V, const float *x, size_t B, float *y, double min_s,
                   double *call_ms) {
  size_t calls = 0;
  double t0 = zpt_now(), t;
  do {
    if (zpt_blackbox_query(bb, theta, vars, V, x, B, y, calls * V) != ZPT_OK) {
      fprintf(stderr, "query failed: %s\n", zpt_error_message());
      exit(1);
    }
    calls++;
    t = zpt_now() - t0;
  } while (t < min_s);
  *call_ms = 1e3 * t / (double)calls;
  return (double)(calls * V) / t;
}

/* Best of 3 runs: the machine is shared, the best run is the least disturbed. */
static double rate(zpt_blackbox *bb, const float *theta, const zpt_variation *vars,
                   size_t V, const float *x, size_t B, float *y, double min_s,
                   double *call_ms) {
  double best = 0, ms;
  for (int k = 0; k < 3; k++) {
    double q = rate1(bb, theta, vars, V, x, B, y, min_s, &ms);
    if (q > best) {
      best = q;
      *call_ms = ms;
    }
  }
  return best;
}

int main(int argc, char **argv) {
  const char *build = argc > 1 ? argv[1] : "build";
  /* the first row isolates the protocol: 1 setting x 1 sample of a tiny
   * model, i.e. the round trip; the others are ZO-I iterations */
  const size_t sizes[][4] = {{2, 1, 1, 1}, {16, 4, 17, 32}, {64, 16, 17, 32}, {256, 64, 17, 32}};
  printf("%-16s %6s | %-22s | %-22s | %-22s | %-22s | %-22s\n", "IN:OUT VxB", "N",
         "in-process", "chipd stdio", "chipd unix socket", "chipd tcp loopback",
         "chipd stdio full-theta");
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const size_t V = sizes[s][2], B = sizes[s][3]; /* Q+1 = 17 settings (Q = 16) */
    char spec[64], cmd[512], sock[128], sockdrv[160];
    snprintf(spec, sizeof spec, "linear:%zu:%zu:1", sizes[s][0], sizes[s][1]);
    zpt_blackbox *direct;
    if (zpt_linear_chip_from_spec(spec, &direct) != ZPT_OK)
      return 1;
    size_t N = direct->n_params;
    float *theta = zpt_floats(N, "theta"), *deltas = zpt_floats(V * N, "deltas");
    float *x = zpt_floats(B * sizes[s][0], "x"), *y = zpt_floats(V * B * sizes[s][1], "y");
    gsl_rng *r = zpt_rng_alloc(1, ZPT_STREAM_TEST, s, 0);
    zpt_rng_gaussians(r, theta, N, 0.1);
    zpt_rng_gaussians(r, deltas, V * N, 1.0);
    zpt_rng_gaussians(r, x, B * sizes[s][0], 1.0);
    zpt_rng_free(r);
    zpt_variation vars[17];
    vars[0] = (zpt_variation){0, 0, 0, NULL};
    for (size_t v = 1; v < V; v++)
      vars[v] = (zpt_variation){0, N, 1e-3f, deltas + v * N};
    double ms[5], q[5];
    q[0] = rate(direct, theta, vars, V, x, B, y, 1.0, &ms[0]);

    zpt_blackbox *chip;
    snprintf(cmd, sizeof cmd, "%s/zoptic-chipd --quiet --model %s", build, spec);
    if (zpt_chip_client_open(cmd, NULL, &chip) != ZPT_OK)
      return fprintf(stderr, "%s\n", zpt_error_message()), 1;
    q[1] = rate(chip, theta, vars, V, x, B, y, 1.0, &ms[1]);
    zpt_blackbox_free(chip);

    snprintf(sock, sizeof sock, "/tmp/zoptic-bench-%d.sock", (int)getpid());
    snprintf(sockdrv, sizeof sockdrv, "unix:%s", sock);
    char exe[256];
    snprintf(exe, sizeof exe, "%s/zoptic-chipd", build);
    char *args[] = {exe, "--quiet", "--model", spec, "--socket", sock, NULL};
    pid_t pid;
    posix_spawn(&pid, exe, NULL, NULL, args, environ);
    for (int i = 0; i < 500; i++) {
      int fd = zpt_chip_connect_unix(sock);
      if (fd >= 0) {
        close(fd);
        break;
      }
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
    if (zpt_chip_client_open(sockdrv, NULL, &chip) != ZPT_OK)
      return fprintf(stderr, "%s\n", zpt_error_message()), 1;
    q[2] = rate(chip, theta, vars, V, x, B, y, 1.0, &ms[2]);
    zpt_blackbox_free(chip);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* loopback TCP */
    unsigned port;
    int probe = zpt_chip_listen_tcp("127.0.0.1:0", &port);
    close(probe);
    char hp[64], tcpdrv[80];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    snprintf(tcpdrv, sizeof tcpdrv, "tcp:%s", hp);
    char *targs[] = {exe, "--quiet", "--model", spec, "--tcp", hp, NULL};
    posix_spawn(&pid, exe, NULL, NULL, targs, environ);
    zpt_chip_options once = zpt_chip_options_default();
    once.retries = 0;
    int rc = ZPT_EIO;
    for (int i = 0; i < 500 && rc != ZPT_OK; i++) {
      rc = zpt_chip_client_open(tcpdrv, &once, &chip);
      if (rc != ZPT_OK) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
      }
    }
    if (rc != ZPT_OK)
      return fprintf(stderr, "%s\n", zpt_error_message()), 1;
    q[4] = rate(chip, theta, vars, V, x, B, y, 1.0, &ms[4]);
    zpt_blackbox_free(chip);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    snprintf(cmd, sizeof cmd, "%s/zoptic-chipd --quiet --full-theta --model %s", build, spec);
    if (zpt_chip_client_open(cmd, NULL, &chip) != ZPT_OK)
      return fprintf(stderr, "%s\n", zpt_error_message()), 1;
    q[3] = rate(chip, theta, vars, V, x, B, y, 1.0, &ms[3]);
    zpt_blackbox_free(chip);

    char label[32];
    snprintf(label, sizeof label, "%zu:%zu %zux%zu", sizes[s][0], sizes[s][1], V, B);
    printf("%-16s %6zu |", label, N);
    const int order[] = {0, 1, 2, 4, 3};
    for (int k = 0; k < 5; k++)
      printf(" %8.0f/s %8.1f us |", q[order[k]], 1e3 * ms[order[k]]);
    printf("\n");
    zpt_free(theta);
    zpt_free(deltas);
    zpt_free(x);
    zpt_free(y);
    zpt_blackbox_free(direct);
  }
  printf("(settings evaluated per second; us per call of V settings x B samples; best of 3 x 1 s)\n");
  return 0;
}
