/* `zoptic plot RUN_DIR... [-o FILE.png]`: loss and metric against queries
 * and against time, several runs overlaid, drawn by gnuplot. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/config.h"
#include "io/runlog.h"
#include "zoptic.h"

extern char **environ;

#define PLOT_PATH_MAX 4096

static void plot_usage(FILE *out) {
  fprintf(out,
          "usage: zoptic plot RUN_DIR... [-o FILE.png]\n"
          "\n"
          "Draws, for every run directory, train and test loss and the test\n"
          "metric against queries and against training time (four panels, runs\n"
          "overlaid) into FILE.png (default: RUN_DIR/plot.png for one run,\n"
          "plot.png for several).  Needs gnuplot (Debian: gnuplot-nox); uses the\n"
          "pngcairo terminal when gnuplot has it, else png.\n"
          "exit codes: 0 ok, 1 gnuplot failed, 2 usage error or unreadable run\n"
          "            directory, 5 gnuplot not installed\n");
}

/* Writes s as a gnuplot single-quoted string ('' escapes a quote). */
static void put_quoted(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputc('\'', f);
    fputc(*s, f);
  }
  fputc('\'', f);
}

/* The metric name of a run (train.metric of its config.ini). */
static int run_metric(const char *dir, char *metric, size_t len) {
  char path[PLOT_PATH_MAX];
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_CONFIG, path, sizeof path));
  zpt_config *c = zpt_config_alloc();
  if (!c)
    return zpt_error_status();
  int rc = zpt_config_parse_file(c, path);
  const char *m = "test_metric";
  if (rc == ZPT_OK)
    rc = zpt_config_string(c, "train.metric", &m);
  if (rc == ZPT_OK)
    snprintf(metric, len, "%s", m);
  zpt_config_free(c);
  return rc;
}

static int check_log(const char *dir, char *log, size_t len) {
  ZPT_TRY(zpt_rundir_path(dir, ZPT_RUN_LOG, log, len));
  FILE *f = fopen(log, "r");
  if (!f)
    return zpt_fail(ZPT_EIO, "%s: cannot open: %s", log, strerror(errno));
  char line[256];
  int ok = fgets(line, sizeof line, f) != NULL;
  line[strcspn(line, "\n")] = '\0';
  ok = ok && !strcmp(line, ZPT_LOG_HEADER);
  int rows = ok && fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (!ok)
    return zpt_fail(ZPT_EFORMAT, "%s: not a zoptic log (expected the header %s)",
                    log, ZPT_LOG_HEADER);
  if (!rows)
    return zpt_fail(ZPT_EFORMAT, "%s: has no rows yet (nothing to plot)", log);
  return ZPT_OK;
}

/* argv: run directories and -o FILE.  Returns -1 to go on, or the exit
 * code to return. */
static int plot_args(int argc, char **argv, const char **dirs, int *n_dirs,
                     const char **out) {
  *n_dirs = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      plot_usage(stdout);
      return ZPT_EXIT_OK;
    } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "zoptic: plot: %s needs a file name\n", argv[i]);
        return ZPT_EXIT_USAGE;
      }
      *out = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "zoptic: plot: unknown option '%s' (try --help)\n", argv[i]);
      return ZPT_EXIT_USAGE;
    } else {
      dirs[(*n_dirs)++] = argv[i];
    }
  }
  if (*n_dirs == 0) {
    plot_usage(stderr);
    return ZPT_EXIT_USAGE;
  }
  return -1;
}

/* The runs' common metric name ("test metric" when they differ), after
 * checking that each run has a log to plot. */
static int common_metric(const char **dirs, int n_dirs, char *metric, size_t len) {
  for (int i = 0; i < n_dirs; i++) {
    char log[PLOT_PATH_MAX], m[64];
    ZPT_TRY(check_log(dirs[i], log, sizeof log));
    ZPT_TRY(run_metric(dirs[i], m, sizeof m));
    if (i == 0)
      snprintf(metric, len, "%s", m);
    else if (strcmp(metric, m))
      snprintf(metric, len, "test metric");
  }
  return ZPT_OK;
}

/* One panel's plot command: the metric, or train and test loss, of every
 * run against column x of log.csv. */
static void plot_panel(FILE *f, const char **dirs, int n_dirs, const char *x, int is_metric) {
  fprintf(f, "plot ");
  for (int i = 0; i < n_dirs; i++) {
    char log[PLOT_PATH_MAX];
    zpt_rundir_path(dirs[i], ZPT_RUN_LOG, log, sizeof log);
    if (is_metric) {
      fprintf(f, "%s", i ? ", " : "");
      put_quoted(f, log);
      fprintf(f, " using %s:7 with linespoints title ", x);
      put_quoted(f, dirs[i]);
      continue;
    }
    for (int col = 5; col <= 6; col++) {
      char title[PLOT_PATH_MAX + 16];
      snprintf(title, sizeof title, "%s %s", dirs[i], col == 5 ? "train" : "test");
      fprintf(f, "%s", i || col == 6 ? ", " : "");
      put_quoted(f, log);
      fprintf(f, " using %s:%d with lines title ", x, col);
      put_quoted(f, title);
    }
  }
  fprintf(f, "\n");
}

/* The gnuplot script drawing the four panels into out. */
static void write_script(FILE *f, const char *out, const char **dirs, int n_dirs,
                         const char *metric) {
  fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
             "  set terminal pngcairo size 1400,1000 font ',10'\n"
             "} else {\n  set terminal png size 1400,1000\n}\n");
  fprintf(f, "set output ");
  put_quoted(f, out);
  fprintf(f, "\nset termoption noenhanced\nset datafile separator ','\n"
             "set key autotitle columnhead\n"
             "set grid\nset key outside bottom center horizontal\n"
             "set multiplot layout 2,2 title 'zoptic training runs'\n");
  const char *xs[2][2] = {{"2", "queries"}, {"4", "seconds"}};
  for (int panel = 0; panel < 4; panel++) {
    int x = panel / 2, is_metric = panel % 2;
    fprintf(f, "set xlabel '%s'\nset ylabel '%s'\n%s\n", xs[x][1],
            is_metric ? metric : "loss",
            /* losses and relative losses span decades; accuracy and SER
             * are read on a linear axis (SER may be 0) */
            !is_metric || !strcmp(metric, "relative_loss") ? "set logscale y"
                                                           : "unset logscale y");
    plot_panel(f, dirs, n_dirs, xs[x][0], is_metric);
  }
  fprintf(f, "unset multiplot\nset output\n");
}

/* Runs gnuplot on the script; prints out when it was written.  Returns an
 * exit code. */
static int run_gnuplot(const char *script, const char *out) {
  const char *gnuplot = getenv("ZOPTIC_GNUPLOT");
  if (!gnuplot || !*gnuplot)
    gnuplot = "gnuplot";
  char *args[] = {(char *)gnuplot, (char *)script, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, gnuplot, NULL, NULL, args, environ);
  if (err == ENOENT) {
    fprintf(stderr, "zoptic: plot: '%s' not found in PATH: install gnuplot "
            "(Debian: apt-get install gnuplot-nox)\n", gnuplot);
    return ZPT_EXIT_TOOL;
  }
  if (err) {
    fprintf(stderr, "zoptic: plot: cannot run %s: %s\n", gnuplot, strerror(err));
    return ZPT_EXIT_FAILURE;
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "zoptic: plot: %s failed (see its messages above)\n", gnuplot);
    return ZPT_EXIT_FAILURE;
  }
  if (access(out, F_OK) != 0) {
    fprintf(stderr, "zoptic: plot: %s wrote no %s\n", gnuplot, out);
    return ZPT_EXIT_FAILURE;
  }
  printf("%s\n", out);
  return ZPT_EXIT_OK;
}

/* Writes the script to a temporary file ($TMPDIR or /tmp), runs gnuplot
 * and removes the file whatever happens.  Returns an exit code. */
static int draw(const char *out, const char **dirs, int n_dirs, const char *metric) {
  char script[PLOT_PATH_MAX];
  const char *tmpdir = getenv("TMPDIR");
  snprintf(script, sizeof script, "%s/zoptic-plot-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(script);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fprintf(stderr, "zoptic: plot: cannot create a temporary file: %s\n",
            strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(script);
    }
    return ZPT_EXIT_FAILURE;
  }
  write_script(f, out, dirs, n_dirs, metric);
  int bad = ferror(f);
  bad = fclose(f) != 0 || bad;
  int code = ZPT_EXIT_FAILURE;
  if (bad)
    fprintf(stderr, "zoptic: plot: cannot write %s\n", script);
  else
    code = run_gnuplot(script, out);
  unlink(script);
  return code;
}

int zpt_cmd_plot(int argc, char **argv) {
  const char *out = NULL;
  const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
  int n_dirs = 0;
  if (!dirs)
    return ZPT_EXIT_FAILURE;
  int code = plot_args(argc, argv, dirs, &n_dirs, &out);
  if (code >= 0) {
    free(dirs);
    return code;
  }
  char default_out[PLOT_PATH_MAX];
  if (!out) {
    if (n_dirs == 1)
      snprintf(default_out, sizeof default_out, "%s/plot.png", dirs[0]);
    else
      snprintf(default_out, sizeof default_out, "plot.png");
    out = default_out;
  }
  char metric[64] = "";
  if (common_metric(dirs, n_dirs, metric, sizeof metric) != ZPT_OK)
    code = zpt_cli_error(ZPT_EXIT_USAGE, "plot");
  else
    code = draw(out, dirs, n_dirs, metric);
  free(dirs);
  return code;
}
