/* The model's architecture and preprocessing in a checkpoint (ckpt_model.h).
 *
 * The record is text, one fact per line, so that a reader in any language
 * splits it on spaces and '=':
 *   zoptic-architecture 1
 *   input 64                      (the per-sample shape, "1x28x28")
 *   preprocess scale lo=0 hi=16   (x -> (x - lo) / (hi - lo)), or
 *   preprocess standardize ...    (see describe_preprocess)
 *   test_rows task/split/test_rows
 *   chip phase_bits=0 crosstalk=0 loss_db=0 noise_thermal=0 noise_shot=0
 *   layer NAME KIND in=N out=N params=OFFSET+COUNT [key=value ...]
 * Only what the layer's views and its kind do not already say is written
 * per layer; docs/checkpoint.md gives each kind's formula. */
#include "io/ckpt_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "mzi/layers.h"
#include "mzi/mesh.h"

typedef struct {
  char *s;
  size_t len, cap;
  int failed;
} text;

__attribute__((format(printf, 2, 3))) static void add(text *t, const char *fmt, ...) {
  if (t->failed)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = 2 * t->cap + (size_t)n + 1;
    char *s = zpt_alloc(cap, "architecture record");
    if (!s) {
      t->failed = 1;
      return;
    }
    memcpy(s, t->s, t->len + 1);
    zpt_free(t->s);
    t->s = s;
    t->cap = cap;
  }
}

/* Runs layer l (parameter-free) on one input; out has l->out_size floats. */
static int probe(const zpt_layer *l, const float *in, float *out) {
  zpt_buffer work = {0};
  zpt_fwd_ctx ctx = {NULL, &work};
  int rc = l->ops->forward(l, NULL, in, out, 1, &ctx);
  zpt_buffer_release(&work);
  return rc;
}

/* A DFT encoder's bin per channel, read off its response to the impulse at
 * sample 1: channel c answers e^{-2 pi i b_c / P} / sqrt(P). */
static void describe_dft(text *t, const zpt_layer *l) {
  size_t P = l->in_size, K = l->out_size / 2;
  float *in = zpt_floats(P, "probe"), *out = zpt_floats(2 * K, "probe");
  if (!in || !out || (memset(in, 0, P * sizeof *in), in[1] = 1.0f, probe(l, in, out)) != 0) {
    t->failed = 1;
  } else {
    add(t, " P=%zu K=%zu bins=", P, K);
    for (size_t c = 0; c < K; c++) {
      double a = -atan2(out[2 * c + 1], out[2 * c]) * (double)P / (2 * M_PI);
      long b = lround(a);
      add(t, "%s%ld", c ? "," : "", ((b % (long)P) + (long)P) % (long)P);
    }
  }
  zpt_free(in);
  zpt_free(out);
}

/* A detector's channels: the input's complex value j carries power j + 1,
 * so output 0 says the first channel detected and a jump ends a group. */
static void describe_detect(text *t, const zpt_layer *l) {
  size_t n_in = l->in_size / 2, n_out = l->out_size;
  float *in = zpt_floats(2 * n_in, "probe"), *out = zpt_floats(n_out, "probe");
  if (!in || !out) {
    t->failed = 1;
  } else {
    for (size_t j = 0; j < n_in; j++) {
      in[2 * j] = sqrtf((float)(j + 1));
      in[2 * j + 1] = 0.0f;
    }
    if (probe(l, in, out) != 0) {
      t->failed = 1;
    } else {
      size_t start = (size_t)lroundf(out[0]) - 1, count = 1;
      while (count < n_out && lroundf(out[count]) == lroundf(out[count - 1]) + 1)
        count++;
      size_t groups = n_out / count;
      add(t, " K=%zu start=%zu count=%zu groups=%zu", n_in / groups, start, count, groups);
    }
  }
  zpt_free(in);
  zpt_free(out);
}

static void describe_layer(text *t, const zpt_model *m, const zpt_layer *l) {
  add(t, "layer %s %s in=%zu out=%zu params=%zu+%zu", l->name, l->ops->kind, l->in_size,
      l->out_size, l->param_offset, l->n_params);
  const char *k = l->ops->kind;
  if (!strcmp(k, "dense")) {
    add(t, " in_features=%zu out_features=%zu", l->in_size, l->out_size);
  } else if (!strcmp(k, "dft")) {
    describe_dft(t, l);
  } else if (!strcmp(k, "detect")) {
    describe_detect(t, l);
  } else if (!strcmp(k, "modrelu")) {
    add(t, " K=%zu eps=%.9g", l->in_size / 2, (double)ZPT_MODRELU_EPS);
  } else if (!strcmp(k, "mzi_mesh")) {
    const zpt_mesh_topology *top = zpt_mesh_layer_topology(l);
    char screen[ZPT_VIEW_NAME_MAX + 8];
    snprintf(screen, sizeof screen, "%s.screen", l->name);
    int has_screen = 0;
    const zpt_params *p = zpt_model_params((zpt_model *)m);
    for (size_t v = 0; v < p->n_views; v++)
      has_screen |= !strcmp(p->views[v].name, screen);
    add(t, " topology=%s K=%zu cols=%zu n_mzi=%zu screen=%d", zpt_mesh_kind_name(top->kind),
        top->K, top->n_cols, top->n_mzi, has_screen);
  }
  add(t, "\n");
}

/* How tasks/data.c prepares the inputs of each task (docs/data.md). */
static int describe_preprocess(text *t, const zpt_config *cfg) {
  const char *task, *st;
  long long bins;
  ZPT_TRY(zpt_config_string(cfg, "data.task", &task));
  ZPT_TRY(zpt_config_string(cfg, "data.standardize", &st));
  ZPT_TRY(zpt_config_int(cfg, "data.dft_bins", &bins));
  if (!strcmp(task, "digits"))
    add(t, "preprocess scale lo=0 hi=16\n");
  else if (!strcmp(task, "mnist10k") || !strcmp(task, "idx") || !strcmp(task, "cifar10"))
    add(t, "preprocess scale lo=0 hi=255\n");
  int standardize = !strcmp(st, "auto") ? !strcmp(task, "csv")
                    : !strcmp(st, "true") || !strcmp(st, "yes") || !strcmp(st, "on") ||
                      !strcmp(st, "1");
  if (standardize)
    add(t, "preprocess standardize rows=task/split/train_rows\n");
  if (bins > 0)
    add(t, "preprocess dft_bins=%lld\n", bins);
  add(t, "test_rows task/split/test_rows\n");
  return ZPT_OK;
}

char *zpt_ckpt_model_describe(const zpt_model *m, const zpt_config *cfg) {
  text t = {zpt_alloc(1024, "architecture record"), 0, 1024, 0};
  if (!t.s)
    return NULL;
  t.s[0] = '\0';
  char shape[64];
  zpt_shape_str(zpt_model_input_shape(m), shape, sizeof shape);
  add(&t, "zoptic-architecture 1\ninput %s\n", shape);
  int rc = describe_preprocess(&t, cfg);
  double xt = 0, loss = 0, nt = 0, ns = 0;
  long long pb = 0;
  if (rc == ZPT_OK && (rc = zpt_config_int(cfg, "chip.phase_bits", &pb)) == ZPT_OK &&
      (rc = zpt_config_double(cfg, "chip.crosstalk", &xt)) == ZPT_OK &&
      (rc = zpt_config_double(cfg, "chip.loss_db", &loss)) == ZPT_OK &&
      (rc = zpt_config_double(cfg, "chip.noise_thermal", &nt)) == ZPT_OK &&
      (rc = zpt_config_double(cfg, "chip.noise_shot", &ns)) == ZPT_OK) {
    add(&t, "chip phase_bits=%lld crosstalk=%.17g loss_db=%.17g noise_thermal=%.17g "
        "noise_shot=%.17g\n", pb, xt, loss, nt, ns);
  }
  for (size_t k = 0; rc == ZPT_OK && k < zpt_model_n_layers(m); k++)
    describe_layer(&t, m, zpt_model_layer(m, k));
  if (rc != ZPT_OK || t.failed) {
    zpt_free(t.s);
    if (rc == ZPT_OK)
      zpt_fail(ZPT_ENOMEM, "cannot describe the model's architecture");
    return NULL;
  }
  return t.s;
}

int zpt_ckpt_model_save(const zpt_model *m, const char *architecture, zpt_state_writer *w) {
  if (!architecture)
    return ZPT_OK;
  ZPT_TRY(w->put(w, "model/architecture", ZPT_T_U8, architecture, strlen(architecture)));
  for (size_t k = 0; k < zpt_model_n_layers(m); k++) {
    const zpt_layer *l = zpt_model_layer(m, k);
    const zpt_mesh_topology *top = zpt_mesh_layer_topology(l);
    if (!top)
      continue;
    uint64_t *v = zpt_new_array(uint64_t, top->n_mzi + top->n_cols + 1, "mesh record");
    if (!v)
      return ZPT_ENOMEM;
    char name[ZPT_VIEW_NAME_MAX + 32];
    for (size_t q = 0; q < top->n_mzi; q++)
      v[q] = top->top[q];
    snprintf(name, sizeof name, "model/%s/top", l->name);
    int rc = w->put(w, name, ZPT_T_U64, v, top->n_mzi);
    for (size_t c = 0; c <= top->n_cols; c++)
      v[c] = top->col_start[c];
    snprintf(name, sizeof name, "model/%s/col_start", l->name);
    if (rc == ZPT_OK)
      rc = w->put(w, name, ZPT_T_U64, v, top->n_cols + 1);
    zpt_free(v);
    ZPT_TRY(rc);
  }
  return ZPT_OK;
}
