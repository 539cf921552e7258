/* zoptic-mpi: the zoptic command-line program over MPI (docs/distributed.md).
 *
 *   mpirun -n R zoptic-mpi [--mpi-timeout S] [--chip-per-rank]
 *                          [--exchange-outputs] train CONFIG ...
 *
 * A separate program so that libzoptic and build/zoptic stay MPI-free (no
 * libmpi in the library's link line, no mpirun needed to run the CLI): it is
 * the plain CLI (src/cli, with src/cli/main.c's main renamed zpt_cli_main at
 * compile time) plus the hooks of cli/run.h:
 * - every task's backend is wrapped in the MPI decorator (mpi_box.h);
 * - ranks other than 0 are read-only (no run directory, log or checkpoints)
 *   and quiet (stdout to /dev/null; stderr kept back, shown only for a
 *   failure of that rank alone);
 * - "{rank}" in chip.driver / chip.socket becomes the rank;
 * - at the end every rank reports its exit code to the others: the same
 *   code everywhere (success, or an error every rank met in the same
 *   exchange) ends cleanly with rank 0's messages; a rank whose failure the
 *   others did not share prints its messages and aborts the job.
 * Without an explicit train.threads / ZPT_THREADS, each rank runs as many
 * threads as CPUs it is bound to, at most (online CPUs / ranks on its
 * host), at least 1.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <inttypes.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "mpi/mpi_box.h"
#include "zoptic.h"

int zpt_cli_main(int argc, char **argv); /* src/cli/main.c, renamed */

typedef struct {
  int rank, size;
  double timeout_s;
  int chip_per_rank;
  int exchange_outputs;
  zpt_mpi_stats stats;
  FILE *held_stderr; /* ranks > 0: their stderr until the end */
  int real_stderr;   /* the original stderr's descriptor */
} mpi_run;

static int wrap(zpt_blackbox **bb, void *ctx) {
  mpi_run *m = ctx;
  zpt_mpi_box_options opt = {MPI_COMM_WORLD, m->timeout_s, m->chip_per_rank, &m->stats,
                             m->exchange_outputs};
  return zpt_mpi_box_wrap(bb, &opt);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mpirun -n R zoptic-mpi [--mpi-timeout SECONDS] [--chip-per-rank]\n"
          "                              [--exchange-outputs] COMMAND [ARGS]\n"
          "\n"
          "The zoptic program over MPI (docs/distributed.md): every rank runs the\n"
          "same command; the queries of each batched call are split over the R\n"
          "ranks and all-gathered, so `train` gives the theta of one process bit\n"
          "for bit.  Rank 0 alone writes the run directory and prints.\n"
          "  --mpi-timeout S   longest wait for the other ranks in one exchange\n"
          "                    (default 600); then the job is aborted\n"
          "  --chip-per-rank   one chip per rank (chip.driver with {rank}): each rank\n"
          "                    evaluates its own base query\n"
          "  --exchange-outputs every rank draws every perturbation and computes every\n"
          "                    loss; outputs travel (default: each rank draws and\n"
          "                    computes its share; losses and perturbations travel)\n"
          "Commands and their options: as zoptic ('zoptic-mpi help').\n");
}

/* Threads per rank when neither train.threads nor ZPT_THREADS says: the
 * CPUs this rank may run on (mpirun binds each of 1 or 2 ranks to one core
 * by default: then 1), at most (online CPUs / ranks on its host). */
static void default_threads(void) {
  if (getenv("ZPT_THREADS"))
    return;
  MPI_Comm host;
  int local = 1;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                          &host) == MPI_SUCCESS) {
    MPI_Comm_size(host, &local);
    MPI_Comm_free(&host);
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  long t = cpus > 0 ? cpus / local : 1;
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) < t)
    t = CPU_COUNT(&mask);
  char buf[24];
  snprintf(buf, sizeof buf, "%ld", t < 1 ? 1 : t > 256 ? 256 : t);
  setenv("ZPT_THREADS", buf, 0);
}

/* Ranks > 0: stdout to /dev/null, stderr into a temporary file. */
static void quiet_rank(mpi_run *m) {
  m->real_stderr = dup(STDERR_FILENO);
  if (!freopen("/dev/null", "w", stdout))
    fprintf(stderr, "zoptic-mpi: rank %d: cannot silence stdout\n", m->rank);
  m->held_stderr = tmpfile();
  if (m->held_stderr && m->real_stderr >= 0) {
    fflush(stderr);
    dup2(fileno(m->held_stderr), STDERR_FILENO);
  }
}

/* Copies the held stderr of this rank to the real one, each line prefixed. */
static void show_held(mpi_run *m) {
  if (!m->held_stderr || m->real_stderr < 0)
    return;
  fflush(stderr);
  FILE *out = fdopen(dup(m->real_stderr), "w");
  if (!out)
    return;
  rewind(m->held_stderr);
  char line[4096];
  while (fgets(line, sizeof line, m->held_stderr))
    fprintf(out, "[rank %d] %s", m->rank, line);
  fclose(out);
}

/* Every rank's exit code, within *limit seconds (set here).  Returns 1 when
 * all arrived. */
static int gather_codes(mpi_run *m, int code, int *codes, MPI_Comm comm, double *limit) {
  MPI_Request req;
  MPI_Iallgather(&code, 1, MPI_INT, codes, 1, MPI_INT, comm, &req);
  /* a failure waits briefly (the others meet the same error at the same
   * point, or are still computing and will not come); success waits for
   * the others to finish their last exchange */
  *limit = code == 0 ? m->timeout_s : (m->timeout_s < 5 ? m->timeout_s : 5);
  double t0 = MPI_Wtime();
  int done = 0;
  while (!done && MPI_Wtime() - t0 < *limit) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done)
      usleep(1000);
  }
  return done;
}

static int parse_options(mpi_run *m, int *argc, char ***argv) {
  while (*argc > 1 && (*argv)[1][0] == '-' && strcmp((*argv)[1], "--help") &&
         strcmp((*argv)[1], "-h") && strcmp((*argv)[1], "--version")) {
    const char *a = (*argv)[1];
    if (!strcmp(a, "--chip-per-rank")) {
      m->chip_per_rank = 1;
    } else if (!strcmp(a, "--exchange-outputs")) {
      m->exchange_outputs = 1;
    } else if (!strcmp(a, "--mpi-timeout") && *argc > 2) {
      char *end;
      m->timeout_s = strtod((*argv)[2], &end);
      if (*end || !(m->timeout_s > 0)) {
        fprintf(stderr, "zoptic-mpi: --mpi-timeout %s: expected seconds > 0\n", (*argv)[2]);
        return ZPT_EXIT_USAGE;
      }
      (*argv)++;
      (*argc)--;
    } else {
      fprintf(stderr, "zoptic-mpi: unknown option '%s' (try --help)\n", a);
      return ZPT_EXIT_USAGE;
    }
    (*argv)++;
    (*argc)--;
    (*argv)[0] = "zoptic-mpi";
  }
  return -1;
}

static void print_stats(const mpi_run *m) {
  const zpt_mpi_stats *s = &m->stats;
  if (s->train_exchanges + s->eval_exchanges == 0)
    return;
  fprintf(stderr,
          "zoptic-mpi: %d ranks; rank 0: %" PRIu64 " training + %" PRIu64
          " evaluation exchanges, %" PRIu64 " bytes sent, %" PRIu64
          " received, %.3f s evaluating its share (%.3f s CPU), %.3f s in MPI "
          "(%.3f s of it waiting for a slower rank's share; %.3f s CPU of the "
          "busiest share above the mean), %.3f s between exchanges (%.3f s CPU)\n",
          m->size, s->train_exchanges, s->eval_exchanges, s->bytes_sent,
          s->bytes_received, s->local_seconds, s->local_cpu_seconds, s->mpi_seconds,
          s->imbalance_seconds, s->cpu_imbalance_seconds, s->outside_seconds,
          s->outside_cpu_seconds);
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  mpi_run m;
  memset(&m, 0, sizeof m);
  m.timeout_s = 600;
  m.real_stderr = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &m.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m.size);
  MPI_Comm exit_comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &exit_comm);
  int code = parse_options(&m, &argc, &argv);
  if (code < 0 && (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    if (m.rank == 0)
      usage(argc < 2 ? stderr : stdout);
    code = argc < 2 ? ZPT_EXIT_USAGE : ZPT_EXIT_OK;
  }
  if (code < 0) {
    default_threads();
    zpt_cli_hook.wrap_backend = wrap;
    zpt_cli_hook.ctx = &m;
    zpt_cli_hook.read_only = m.rank != 0;
    zpt_cli_hook.rank = m.rank;
    if (m.rank != 0)
      quiet_rank(&m);
    /* eval --outputs FILE: every rank queries, rank 0 alone writes */
    for (int i = 2; m.rank != 0 && i + 1 < argc; i++)
      if (!strcmp(argv[i], "--outputs"))
        argv[i + 1] = "/dev/null";
    /* commands that only read or write files run on rank 0 alone */
    int shared = !strcmp(argv[1], "train") || !strcmp(argv[1], "eval");
    code = shared || m.rank == 0 ? zpt_cli_main(argc, argv) : ZPT_EXIT_OK;
    fflush(stdout);
    if (m.rank == 0 && !strcmp(argv[1], "train"))
      print_stats(&m);
  }
  int *codes = calloc((size_t)m.size, sizeof *codes);
  double limit = 0;
  if (!codes || !gather_codes(&m, code, codes, exit_comm, &limit)) {
    show_held(&m);
    fprintf(stderr, "zoptic-mpi: rank %d: exit code %d; the other ranks did not finish "
            "within %.3g s: aborting the job\n", m.rank, code, limit);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code ? code : ZPT_EXIT_FAILURE);
  }
  int same = 1;
  for (int r = 0; r < m.size; r++)
    same &= codes[r] == codes[0];
  if (!same && code != 0)
    show_held(&m); /* this rank's own failure: its messages */
  if (!same && code == 0)
    code = ZPT_EXIT_FAILURE; /* another rank failed */
  free(codes);
  if (m.held_stderr)
    fclose(m.held_stderr);
  MPI_Comm_free(&exit_comm);
  MPI_Finalize();
  return code;
}
