/* `zoptic info CHECKPOINT`: what a checkpoint holds, read generically from
 * the file (no model needed). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/info_errors.h"
#include "io/checkpoint.h"
#include "zoptic.h"

static void info_usage(FILE *out) {
  fprintf(out,
          "usage: zoptic info CHECKPOINT [--values] [--no-config] [--errors]\n"
          "\n"
          "Prints what CHECKPOINT holds: format and creation info, the parameter\n"
          "views with shapes and the parameter count, every state item (type and\n"
          "length; values of short items such as the run counters) and the\n"
          "configuration the run used.\n"
          "  --values     print every value of theta and of every state item\n"
          "  --no-config  do not print the configuration\n"
          "  --errors     print the chip's stored fabrication errors, one per line\n"
          "exit codes: 0 ok, 2 usage error, 4 checkpoint missing or corrupt\n");
}

static int print_values(zpt_ckpt_reader *r, const zpt_ckpt_item *it) {
  zpt_state_reader *sr = zpt_ckpt_state_reader(r);
  size_t bytes = it->count * zpt_elem_size(it->type);
  unsigned char *buf = zpt_alloc(bytes ? bytes : 1, "info values");
  if (!buf)
    return ZPT_ENOMEM;
  int rc = sr->get(sr, it->name, it->type, buf, it->count);
  if (rc == ZPT_OK) {
    if (it->type == ZPT_T_U8) {
      printf(" = \"");
      for (size_t k = 0; k < it->count; k++)
        putchar(buf[k] >= 32 && buf[k] < 127 ? buf[k] : '.');
      putchar('"');
    } else {
      printf(" =");
      for (size_t k = 0; k < it->count; k++) {
        switch (it->type) {
        case ZPT_T_F32: printf(" %.9g", (double)((float *)buf)[k]); break;
        case ZPT_T_F64: printf(" %.17g", ((double *)buf)[k]); break;
        case ZPT_T_U64: printf(" %" PRIu64, ((uint64_t *)buf)[k]); break;
        case ZPT_T_I64: printf(" %" PRId64, ((int64_t *)buf)[k]); break;
        default: break;
        }
      }
    }
  }
  zpt_free(buf);
  return rc;
}

/* The table of parameter views: name, shape, offset in theta, size. */
static void print_views(const zpt_ckpt_item *views, size_t n_views) {
  size_t total = 0;
  for (size_t v = 0; v < n_views; v++)
    total += views[v].count;
  printf("parameters: %zu in %zu views\n", total, n_views);
  printf("  %-32s %-16s %10s %10s\n", "view", "shape", "offset", "size");
  for (size_t v = 0; v < n_views; v++) {
    char shape[64] = "";
    size_t used = 0;
    for (int d = 0; d < views[v].ndim && used < sizeof shape; d++)
      used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%zu",
                               d ? "x" : "", views[v].shape[d]);
    printf("  %-32s %-16s %10zu %10zu\n", views[v].name, shape,
           views[v].offset, views[v].count);
  }
}

int zpt_cmd_info(int argc, char **argv) {
  const char *path = NULL;
  int values = 0, show_config = 1, errors = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      info_usage(stdout);
      return ZPT_EXIT_OK;
    } else if (!strcmp(argv[i], "--values")) {
      values = 1;
    } else if (!strcmp(argv[i], "--no-config")) {
      show_config = 0;
    } else if (!strcmp(argv[i], "--errors")) {
      errors = 1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "zoptic: info: unknown option '%s' (try --help)\n", argv[i]);
      return ZPT_EXIT_USAGE;
    } else if (!path) {
      path = argv[i];
    } else {
      fprintf(stderr, "zoptic: info: unexpected argument '%s'\n", argv[i]);
      return ZPT_EXIT_USAGE;
    }
  }
  if (!path) {
    info_usage(stderr);
    return ZPT_EXIT_USAGE;
  }
  zpt_ckpt_reader *r = NULL;
  zpt_ckpt_item *views = NULL, *items = NULL;
  size_t n_views = 0, n_items = 0;
  char *attr = NULL;
  int code = ZPT_EXIT_OK;
  if (zpt_ckpt_open(path, &r) != ZPT_OK ||
      zpt_ckpt_list(r, "params", &views, &n_views) != ZPT_OK ||
      zpt_ckpt_list(r, "state", &items, &n_items) != ZPT_OK) {
    code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "info");
    goto done;
  }
  printf("checkpoint: %s\n", path);
  printf("format: %s version %d\n", ZPT_CKPT_FORMAT, zpt_ckpt_version(r));
  const char *attrs[] = {"zoptic_version", "created", "host"};
  for (size_t a = 0; a < 3; a++) {
    if (zpt_ckpt_attr_text(r, attrs[a], &attr) == ZPT_OK)
      printf("%s: %s\n", attrs[a], attr);
    zpt_free(attr);
    attr = NULL;
  }
  print_views(views, n_views);
  if (values) {
    float *theta = NULL;
    size_t n = 0;
    if (zpt_ckpt_get_theta(r, &theta, &n) != ZPT_OK) {
      code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "info");
      goto done;
    }
    printf("theta =");
    for (size_t k = 0; k < n; k++)
      printf(" %.9g", (double)theta[k]);
    printf("\n");
    zpt_free(theta);
  }
  printf("state: %zu items\n", n_items);
  for (size_t i = 0; i < n_items; i++) {
    printf("  %-32s %s[%zu]", items[i].name, zpt_ckpt_type_name(items[i].type),
           items[i].count);
    if ((values || items[i].count <= 4) &&
        print_values(r, &items[i]) != ZPT_OK) {
      printf("\n");
      code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "info");
      goto done;
    }
    printf("\n");
  }
  if (errors && zpt_info_print_errors(r, items, n_items) != ZPT_OK) {
    code = zpt_cli_error(ZPT_EXIT_CHECKPOINT, "info --errors");
    goto done;
  }
  if (show_config && zpt_ckpt_attr_text(r, "config", &attr) == ZPT_OK) {
    printf("config:\n");
    const char *p = attr;
    while (*p) {
      const char *nl = strchr(p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen(p);
      printf("  %.*s\n", (int)len, p);
      p += len + (nl ? 1 : 0);
    }
  }
done:
  fflush(stdout);
  zpt_free(attr);
  zpt_free(views);
  zpt_free(items);
  zpt_ckpt_close(r);
  return code;
}
