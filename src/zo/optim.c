/* Adam and SGD with momentum (see optim.h). */
#include "zo/optim.h"

#include <math.h>

#include "core/alloc.h"
#include "core/status.h"
#include "zo/state_io.h"

typedef struct {
  size_t n;
  zpt_optim_settings s;
  uint64_t t; /* steps taken */
  float *m, *v;
} optim_state;

static void optim_free(void *state) {
  optim_state *o = state;
  if (!o)
    return;
  zpt_free(o->m);
  zpt_free(o->v);
  zpt_free(o);
}

static int optim_alloc(void **state, size_t n, const zpt_optim_settings *s,
                       int need_v) {
  *state = NULL;
  optim_state *o = zpt_new(optim_state, "optimizer state");
  if (!o)
    return ZPT_ENOMEM;
  o->n = n;
  o->s = *s;
  o->m = zpt_floats(n, "optimizer first moment");
  o->v = need_v ? zpt_floats(n, "optimizer second moment") : NULL;
  if (!o->m || (need_v && !o->v)) {
    optim_free(o);
    return ZPT_ENOMEM;
  }
  *state = o;
  return ZPT_OK;
}

static int adam_alloc(void **state, size_t n, const zpt_optim_settings *s) {
  return optim_alloc(state, n, s, 1);
}

static int sgd_alloc(void **state, size_t n, const zpt_optim_settings *s) {
  return optim_alloc(state, n, s, 0);
}

static void adam_step(void *state, float *theta, const float *g) {
  optim_state *o = state;
  o->t++;
  const float b1 = (float)o->s.beta1, b2 = (float)o->s.beta2;
  const double c1 = 1.0 - pow(o->s.beta1, (double)o->t);
  const double c2 = 1.0 - pow(o->s.beta2, (double)o->t);
  const float step = (float)(o->s.lr / c1), rc2 = (float)(1.0 / c2);
  const float eps = (float)o->s.eps;
  for (size_t k = 0; k < o->n; k++) {
    float m = b1 * o->m[k] + (1.0f - b1) * g[k];
    float v = b2 * o->v[k] + (1.0f - b2) * g[k] * g[k];
    o->m[k] = m;
    o->v[k] = v;
    theta[k] -= step * m / (sqrtf(v * rc2) + eps);
  }
}

static void sgd_step(void *state, float *theta, const float *g) {
  optim_state *o = state;
  o->t++;
  const float mom = (float)o->s.momentum, lr = (float)o->s.lr;
  for (size_t k = 0; k < o->n; k++) {
    float v = mom * o->m[k] + g[k];
    o->m[k] = v;
    theta[k] -= lr * v;
  }
}

static void optim_set_lr(void *state, double lr) {
  ((optim_state *)state)->s.lr = lr;
}

/* The step count and moments under prefix + "optimizer/": saved (w) or
 * loaded (r). */
static int optim_io(optim_state *o, zpt_state_writer *w, zpt_state_reader *r,
                    const char *prefix) {
  uint64_t t = o->t;
  ZPT_TRY(zpt_state_xfer(w, r, prefix, "optimizer/t", ZPT_T_U64, &t, 1));
  ZPT_TRY(zpt_state_xfer(w, r, prefix, "optimizer/m", ZPT_T_F32, o->m, o->n));
  if (o->v)
    ZPT_TRY(zpt_state_xfer(w, r, prefix, "optimizer/v", ZPT_T_F32, o->v, o->n));
  if (r)
    o->t = t;
  return ZPT_OK;
}

static int optim_save(const void *state, zpt_state_writer *w,
                      const char *prefix) {
  return optim_io((optim_state *)state, w, NULL, prefix); /* only read */
}

static int optim_load(void *state, zpt_state_reader *r, const char *prefix) {
  return optim_io(state, NULL, r, prefix);
}

static const zpt_optimizer_type adam = {"adam",     adam_alloc,   adam_step,
                                        optim_set_lr, optim_save, optim_load,
                                        optim_free};
static const zpt_optimizer_type sgd = {"sgd",        sgd_alloc,  sgd_step,
                                       optim_set_lr, optim_save, optim_load,
                                       optim_free};
const zpt_optimizer_type *const zpt_optimizer_adam = &adam;
const zpt_optimizer_type *const zpt_optimizer_sgd = &sgd;

int zpt_optim_check(const zpt_optimizer_type *t, const zpt_optim_settings *s) {
  if (!(s->lr > 0) || !isfinite(s->lr))
    return zpt_fail(ZPT_EINVAL, "optimizer %s: learning rate must be finite "
                    "and > 0, got %g", t->name, s->lr);
  if (t == zpt_optimizer_adam) {
    if (!(s->beta1 >= 0 && s->beta1 < 1))
      return zpt_fail(ZPT_EINVAL, "optimizer adam: beta1 must be in [0, 1), "
                      "got %g", s->beta1);
    if (!(s->beta2 >= 0 && s->beta2 < 1))
      return zpt_fail(ZPT_EINVAL, "optimizer adam: beta2 must be in [0, 1), "
                      "got %g", s->beta2);
    if (!(s->eps > 0) || !isfinite(s->eps))
      return zpt_fail(ZPT_EINVAL, "optimizer adam: eps must be finite and "
                      "> 0, got %g", s->eps);
  } else if (!(s->momentum >= 0 && s->momentum < 1)) {
    return zpt_fail(ZPT_EINVAL, "optimizer sgd: momentum must be in [0, 1), "
                    "got %g", s->momentum);
  }
  return ZPT_OK;
}
