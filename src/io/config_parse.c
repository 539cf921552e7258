/* The configuration parser: INI files and strings (through inih),
 * --set assignments. */
#include "io/config.h"
#include "io/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/alloc.h"
#include "core/nearest.h"
#include "core/status.h"
#include "io/config_lines.h"

/* ---- INI parsing ---- */

typedef struct {
  zpt_config *c;
  const char *origin;
  const char *text; /* remaining input */
  int line;         /* line of the chunk inih is handling */
  int lines_done;   /* complete lines read so far */
  int status;       /* first error, or ZPT_OK */
  const zpt_cfg_key *schema;
  size_t n_keys;
  int *seen_line; /* per key: line of its first assignment, 0: none */
} parse_ctx;

/* fgets over a string, counting lines (inih's handler gets no line number
 * in Debian's build). */
static char *read_line(char *str, int num, void *stream) {
  parse_ctx *p = stream;
  if (!*p->text || num < 2)
    return NULL;
  const char *nl = strchr(p->text, '\n');
  size_t avail = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
  size_t take = avail < (size_t)num - 1 ? avail : (size_t)num - 1;
  memcpy(str, p->text, take);
  str[take] = '\0';
  p->line = p->lines_done + 1;
  if (take < avail && p->status == ZPT_OK)
    p->status = zpt_fail(ZPT_EINVAL, "%s:%d: line longer than %d characters",
                         p->origin, p->line, num - 3);
  if (take == avail && (nl || !p->text[take]))
    p->lines_done++;
  p->text += take;
  return str;
}

/* "; did you mean 'zo.lr'?" for a mistyped section.key (empty when no
 * key is near), into buf. */
static const char *suggest_key(const char *section, const char *key, char *buf,
                               size_t len) {
  size_t n;
  const zpt_cfg_key *schema = zpt_config_schema(&n);
  char want[160], cand[160];
  snprintf(want, sizeof want, "%s.%s", section, key);
  size_t limit = strlen(want) / 3 > 1 ? strlen(want) / 3 : 1, best_d = limit + 1;
  buf[0] = '\0';
  for (size_t k = 0; k < n; k++) {
    snprintf(cand, sizeof cand, "%s.%s", schema[k].section, schema[k].key);
    size_t d = zpt_edit_distance(want, cand);
    if (d < best_d) {
      best_d = d;
      snprintf(buf, len, "; did you mean '%s'?", cand);
    }
  }
  return buf;
}

/* "; did you mean [train]?" for a mistyped section (empty when none is near) */
static const char *suggest_section(const char *section, char *buf, size_t len) {
  size_t n;
  const char *const *sections = zpt_cfg_sections(&n);
  const char *near = zpt_nearest(section, sections, n);
  if (near)
    snprintf(buf, len, "; did you mean [%s]?", near);
  else
    buf[0] = '\0';
  return buf;
}

static int handle_pair(void *user, const char *section, const char *name,
                       const char *value) {
  parse_ctx *p = user;
  if (p->status != ZPT_OK)
    return 0;
  char where[ZPT_CFG_ORIGIN_LEN];
  snprintf(where, sizeof where, "%s:%d", p->origin, p->line);
  if (!*section) {
    p->status = zpt_fail(ZPT_EINVAL,
                         "%s: key '%s' outside any section (expected a "
                         "[section] line first)", where, name);
    return 0;
  }
  char hint[200];
  if (!zpt_cfg_known_section(section)) {
    p->status = zpt_fail(ZPT_EINVAL,
                         "%s: unknown section [%s]%s (expected one of data, "
                         "model, chip, zo, train, output)", where, section,
                         suggest_section(section, hint, sizeof hint));
    return 0;
  }
  long k = zpt_cfg_key_index(section, name);
  if (k < 0) {
    char known[1024] = "";
    size_t used = 0;
    for (size_t j = 0; j < p->n_keys && used < sizeof known; j++)
      if (!strcmp(p->schema[j].section, section))
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                 used ? ", " : "", p->schema[j].key);
    p->status = zpt_fail(ZPT_EINVAL,
                         "%s: unknown key '%s' in section [%s]%s (known keys: %s)",
                         where, name, section,
                         suggest_key(section, name, hint, sizeof hint), known);
    return 0;
  }
  if (p->seen_line[k]) {
    p->status = zpt_fail(ZPT_EINVAL,
                         "%s: [%s] %s given twice (first at line %d)", where,
                         section, name, p->seen_line[k]);
    return 0;
  }
  p->seen_line[k] = p->line;
  p->status = zpt_cfg_assign(p->c, (size_t)k, value, where, where);
  return p->status == ZPT_OK;
}

int zpt_config_parse_string(zpt_config *c, const char *text,
                            const char *origin) {
  parse_ctx p;
  memset(&p, 0, sizeof p);
  p.c = c;
  p.origin = origin;
  p.text = text;
  p.status = ZPT_OK;
  ZPT_TRY(zpt_config_check_lines(text, origin));
  p.schema = zpt_config_schema(&p.n_keys);
  p.seen_line = zpt_new_array(int, p.n_keys, "configuration key lines");
  if (!p.seen_line)
    return ZPT_ENOMEM;
  int rc = ini_parse_stream(read_line, &p, handle_pair, &p);
  zpt_free(p.seen_line);
  if (p.status != ZPT_OK)
    return p.status;
  if (rc == -2)
    return zpt_fail(ZPT_ENOMEM, "%s: out of memory while parsing", origin);
  if (rc != 0)
    return zpt_fail(ZPT_EINVAL,
                    "%s:%d: syntax error (expected '[section]', 'key = value' "
                    "or a comment starting with ';' or '#')", origin, rc);
  return ZPT_OK;
}

int zpt_config_parse_file(zpt_config *c, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return zpt_fail(ZPT_EIO, "%s: cannot open configuration: %s", path,
                    strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int status = buf ? ZPT_OK : zpt_fail(ZPT_ENOMEM, "%s: out of memory", path);
  while (status == ZPT_OK) {
    if (len + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        status = zpt_fail(ZPT_ENOMEM, "%s: out of memory", path);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f))
        status = zpt_fail(ZPT_EIO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (status == ZPT_OK) {
    buf[len] = '\0';
    if (strlen(buf) != len)
      status = zpt_fail(ZPT_EINVAL, "%s: contains a NUL byte (not a text file)",
                        path);
    else
      status = zpt_config_parse_string(c, buf, path);
  }
  free(buf);
  return status;
}

int zpt_config_set_value(zpt_config *c, const char *name, const char *value,
                         const char *origin) {
  char section[64];
  const char *dot = strchr(name, '.');
  if (!dot || (size_t)(dot - name) >= sizeof section)
    return zpt_fail(ZPT_EINVAL, "%s: '%s' is not of the form section.key",
                    origin, name);
  memcpy(section, name, (size_t)(dot - name));
  section[dot - name] = '\0';
  char hint[200];
  if (!zpt_cfg_known_section(section))
    return zpt_fail(ZPT_EINVAL,
                    "%s: unknown section [%s]%s (expected one of data, model, "
                    "chip, zo, train, output)", origin, section,
                    suggest_section(section, hint, sizeof hint));
  long k = zpt_cfg_key_index(section, dot + 1);
  if (k < 0)
    return zpt_fail(ZPT_EINVAL, "%s: unknown key '%s' in section [%s]%s", origin,
                    dot + 1, section, suggest_key(section, dot + 1, hint, sizeof hint));
  return zpt_cfg_assign(c, (size_t)k, value, origin, origin);
}

int zpt_config_set(zpt_config *c, const char *assignment) {
  char where[ZPT_CFG_ORIGIN_LEN];
  snprintf(where, sizeof where, "--set %s", assignment);
  const char *eq = strchr(assignment, '=');
  if (!eq)
    return zpt_fail(ZPT_EINVAL, "%s: expected section.key=value", where);
  char name[160];
  const char *a = assignment, *b = eq;
  while (a < b && isspace((unsigned char)*a)) a++;
  while (b > a && isspace((unsigned char)b[-1])) b--;
  if ((size_t)(b - a) >= sizeof name)
    return zpt_fail(ZPT_EINVAL, "%s: key name too long", where);
  memcpy(name, a, (size_t)(b - a));
  name[b - a] = '\0';
  const char *v = eq + 1;
  while (isspace((unsigned char)*v)) v++;
  size_t vl = strlen(v);
  while (vl && isspace((unsigned char)v[vl - 1])) vl--;
  char *value = zpt_cfg_dup_text(v);
  if (!value)
    return ZPT_ENOMEM;
  value[vl] = '\0';
  int rc = zpt_config_set_value(c, name, value, where);
  zpt_free(value);
  return rc;
}

