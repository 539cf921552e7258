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

int zpt_cmd_plot(int argc, char **argv) {
  const char *out = NULL;
  const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
  int n_dirs = 0;
  if (!dirs)
    return ZPT_EXIT_FAILURE;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      plot_usage(stdout);
      free(dirs);
      return ZPT_EXIT_OK;
    } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "zoptic: plot: %s needs a file name\n", argv[i]);
        free(dirs);
        return ZPT_EXIT_USAGE;
      }
      out = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "zoptic: plot: unknown option '%s' (try --help)\n", argv[i]);
      free(dirs);
      return ZPT_EXIT_USAGE;
    } else {
      dirs[n_dirs++] = argv[i];
    }
  }
  if (n_dirs == 0) {
    plot_usage(stderr);
    free(dirs);
    return ZPT_EXIT_USAGE;
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
  for (int i = 0; i < n_dirs; i++) {
    char log[PLOT_PATH_MAX], m[64];
    if (check_log(dirs[i], log, sizeof log) != ZPT_OK ||
        run_metric(dirs[i], m, sizeof m) != ZPT_OK) {
      free(dirs);
      return zpt_cli_error(ZPT_EXIT_USAGE, "plot");
    }
    if (i == 0)
      snprintf(metric, sizeof metric, "%s", m);
    else if (strcmp(metric, m))
      snprintf(metric, sizeof metric, "test metric");
  }
  /* the gnuplot script, in a temporary file ($TMPDIR or /tmp) that is
   * removed whatever happens below */
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
    free(dirs);
    return ZPT_EXIT_FAILURE;
  }
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
    fprintf(f, "plot ");
    for (int i = 0; i < n_dirs; i++) {
      char log[PLOT_PATH_MAX];
      zpt_rundir_path(dirs[i], ZPT_RUN_LOG, log, sizeof log);
      if (is_metric) {
        fprintf(f, "%s", i ? ", " : "");
        put_quoted(f, log);
        fprintf(f, " using %s:7 with linespoints title ", xs[x][0]);
        put_quoted(f, dirs[i]);
      } else {
        for (int col = 5; col <= 6; col++) {
          char title[PLOT_PATH_MAX + 16];
          snprintf(title, sizeof title, "%s %s", dirs[i], col == 5 ? "train" : "test");
          fprintf(f, "%s", i || col == 6 ? ", " : "");
          put_quoted(f, log);
          fprintf(f, " using %s:%d with lines title ", xs[x][0], col);
          put_quoted(f, title);
        }
      }
    }
    fprintf(f, "\n");
  }
  fprintf(f, "unset multiplot\nset output\n");
  int bad = ferror(f);
  bad = fclose(f) != 0 || bad;
  if (bad) {
    fprintf(stderr, "zoptic: plot: cannot write %s\n", script);
    unlink(script);
    free(dirs);
    return ZPT_EXIT_FAILURE;
  }
  const char *gnuplot = getenv("ZOPTIC_GNUPLOT");
  if (!gnuplot || !*gnuplot)
    gnuplot = "gnuplot";
  char *args[] = {(char *)gnuplot, script, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, gnuplot, NULL, NULL, args, environ);
  int code = ZPT_EXIT_OK;
  if (err == ENOENT) {
    fprintf(stderr, "zoptic: plot: '%s' not found in PATH: install gnuplot "
            "(Debian: apt-get install gnuplot-nox)\n", gnuplot);
    code = ZPT_EXIT_TOOL;
  } else if (err) {
    fprintf(stderr, "zoptic: plot: cannot run %s: %s\n", gnuplot, strerror(err));
    code = ZPT_EXIT_FAILURE;
  } else {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "zoptic: plot: %s failed (see its messages above)\n", gnuplot);
      code = ZPT_EXIT_FAILURE;
    } else if (access(out, F_OK) != 0) {
      fprintf(stderr, "zoptic: plot: %s wrote no %s\n", gnuplot, out);
      code = ZPT_EXIT_FAILURE;
    } else {
      printf("%s\n", out);
    }
  }
  unlink(script);
  free(dirs);
  return code;
}
