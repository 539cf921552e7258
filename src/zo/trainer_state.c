/* The trainer's state in a checkpoint: save and load. */
#include "zo/trainer_internal.h"

#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "zo/state_io.h"

/* ---- checkpoints -------------------------------------------------------- */

#define N_COUNTERS 12
#define N_SHAPE 10

static void shape_of(const zpt_trainer *t, uint64_t s[N_SHAPE]) {
  s[0] = ZPT_TRAINER_FORMAT;
  s[1] = t->N;
  s[2] = t->M;
  s[3] = t->blocks->n_blocks;
  s[4] = (uint64_t)t->cfg.method;
  s[5] = (uint64_t)t->cfg.mode;
  s[6] = t->cfg.q;
  s[7] = (uint64_t)t->cfg.diff;
  s[8] = (uint64_t)t->cfg.optimizer;
  s[9] = t->cfg.seed;
}

static const char *const shape_names[N_SHAPE] = {
    "format version", "n_params", "output_size", "number of blocks", "method",
    "perturbation mode", "q", "difference type", "optimizer", "seed"};

/* The counters in their checkpoint order (zo/counters; the seconds are
 * saved apart, as doubles). */
static const size_t counter_offset[N_COUNTERS] = {
    offsetof(zpt_zo_counters, iterations),
    offsetof(zpt_zo_counters, queries),
    offsetof(zpt_zo_counters, base_queries),
    offsetof(zpt_zo_counters, perturbed_queries),
    offsetof(zpt_zo_counters, jacobian_queries),
    offsetof(zpt_zo_counters, sample_forwards),
    offsetof(zpt_zo_counters, eval_queries),
    offsetof(zpt_zo_counters, eval_sample_forwards),
    offsetof(zpt_zo_counters, fisher_updates),
    offsetof(zpt_zo_counters, fisher_blocks),
    offsetof(zpt_zo_counters, chol_jitters),
    offsetof(zpt_zo_counters, perturbations)};

static void counters_out(const zpt_zo_counters *c, uint64_t v[N_COUNTERS]) {
  for (int k = 0; k < N_COUNTERS; k++)
    memcpy(&v[k], (const char *)c + counter_offset[k], sizeof(uint64_t));
}

static void counters_in(zpt_zo_counters *c, const uint64_t v[N_COUNTERS]) {
  for (int k = 0; k < N_COUNTERS; k++)
    memcpy((char *)c + counter_offset[k], &v[k], sizeof(uint64_t));
}

static int put_perm(zpt_state_writer *w, const char *name, const size_t *p,
                    size_t n) {
  uint64_t *v = zpt_new_array(uint64_t, n, "permutation copy");
  if (!v)
    return ZPT_ENOMEM;
  for (size_t k = 0; k < n; k++)
    v[k] = p[k];
  int rc = w->put(w, name, ZPT_T_U64, v, n);
  zpt_free(v);
  return rc;
}

static int get_perm(zpt_state_reader *r, const char *name, size_t *p,
                    size_t n) {
  uint64_t *v = zpt_new_array(uint64_t, n, "permutation copy");
  unsigned char *seen = zpt_new_array(unsigned char, n, "permutation check");
  int rc = (!v || !seen) ? ZPT_ENOMEM : r->get(r, name, ZPT_T_U64, v, n);
  for (size_t k = 0; rc == ZPT_OK && k < n; k++) {
    if (v[k] >= n || seen[v[k]])
      rc = zpt_fail(ZPT_EFORMAT, "%s: entry %zu = %llu: not a permutation "
                    "of 0..%zu", name, k, (unsigned long long)v[k], n - 1);
    else
      seen[v[k]] = 1;
  }
  for (size_t k = 0; rc == ZPT_OK && k < n; k++)
    p[k] = (size_t)v[k];
  zpt_free(v);
  zpt_free(seen);
  return rc;
}

/* An adaptive sampler's arrays (zo-guided's history ring, zo-adapt's
 * running mean of g^2) as "zo/sampler/<name>". */
static int sampler_state_io(const zpt_trainer *t, zpt_state_writer *w,
                            zpt_state_reader *r) {
  const zpt_sampler_type *s = t->sampler;
  size_t n = s->state_count ? s->state_count(t->sampler_state) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *key;
    float *data;
    size_t len;
    s->state_get(t->sampler_state, i, &key, &data, &len);
    ZPT_TRY(zpt_state_xfer(w, r, "zo/sampler/", key, ZPT_T_F32, data, len));
  }
  if (r && n)
    zpt_sampler_reloaded(s, t->sampler_state);
  return ZPT_OK;
}

int zpt_trainer_save(const zpt_trainer *t, zpt_state_writer *w) {
  if (t->failed)
    return zpt_fail(ZPT_EINVAL, "trainer save: the trainer is in a failed "
                    "state (an iteration failed midway); refusing to write "
                    "an inconsistent checkpoint");
  uint64_t shape[N_SHAPE], cnt[N_COUNTERS];
  shape_of(t, shape);
  counters_out(&t->c, cnt);
  double secs[2] = {t->c.iter_seconds, t->c.fisher_seconds};
  ZPT_TRY(w->put(w, "zo/shape", ZPT_T_U64, shape, N_SHAPE));
  if (t->owns_theta)
    ZPT_TRY(w->put(w, "zo/theta", ZPT_T_F32, t->theta, t->N));
  ZPT_TRY(w->put(w, "zo/gradient", ZPT_T_F32, t->grad, t->N));
  ZPT_TRY(w->put(w, "zo/counters", ZPT_T_U64, cnt, N_COUNTERS));
  ZPT_TRY(w->put(w, "zo/seconds", ZPT_T_F64, secs, 2));
  ZPT_TRY(put_perm(w, "zo/perm_perturb", t->perm_perturb, t->blocks->n_blocks));
  ZPT_TRY(put_perm(w, "zo/perm_fisher", t->perm_fisher, t->blocks->n_blocks));
  ZPT_TRY(t->opt->save(t->opt_state, w, "zo/"));
  if (t->fisher)
    ZPT_TRY(zpt_fisher_save(t->fisher, w, "zo/"));
  ZPT_TRY(t->es ? zpt_tr_cmaes_save(t, w) : sampler_state_io(t, w, NULL));
  return ZPT_OK;
}

/* theta from the state when the trainer owns it; a borrowed theta is the
 * caller's to restore, and a copy in an older state must agree with it. */
static int load_theta(zpt_trainer *t, zpt_state_reader *r) {
  size_t n = 0;
  if (!r->size || r->size(r, "zo/theta", ZPT_T_F32, &n) != ZPT_OK)
    return ZPT_OK; /* not there (a borrowing writer): theta is the caller's */
  if (t->owns_theta)
    return r->get(r, "zo/theta", ZPT_T_F32, t->theta, t->N);
  float *old = zpt_floats(t->N, "theta of an older checkpoint");
  if (!old)
    return ZPT_ENOMEM;
  int rc = n == t->N ? r->get(r, "zo/theta", ZPT_T_F32, old, t->N)
                     : zpt_fail(ZPT_EFORMAT, "zo/theta: %zu values, theta has %zu",
                                n, t->N);
  if (rc == ZPT_OK && memcmp(old, t->theta, t->N * sizeof(float)) != 0)
    rc = zpt_fail(ZPT_EFORMAT, "zo/theta differs from the theta given to the "
                  "trainer (the checkpoint holds two different parameter vectors)");
  zpt_free(old);
  return rc;
}

int zpt_trainer_load(zpt_trainer *t, zpt_state_reader *r) {
  uint64_t shape[N_SHAPE], want[N_SHAPE], cnt[N_COUNTERS];
  double secs[2];
  int rc = r->get(r, "zo/shape", ZPT_T_U64, shape, N_SHAPE);
  if (rc)
    return zpt_fail_context(rc, "trainer load: ");
  shape_of(t, want);
  for (int k = 0; k < N_SHAPE; k++)
    if (shape[k] != want[k])
      return zpt_fail(ZPT_EFORMAT, "trainer load: checkpoint %s is %llu, "
                      "this trainer has %llu", shape_names[k],
                      (unsigned long long)shape[k],
                      (unsigned long long)want[k]);
  /* from here a failure leaves a partly loaded trainer: mark it failed */
  t->failed = 1;
  if ((rc = load_theta(t, r)) ||
      (rc = r->get(r, "zo/gradient", ZPT_T_F32, t->grad, t->N)) ||
      (rc = r->get(r, "zo/counters", ZPT_T_U64, cnt, N_COUNTERS)) ||
      (rc = r->get(r, "zo/seconds", ZPT_T_F64, secs, 2)) ||
      (rc = get_perm(r, "zo/perm_perturb", t->perm_perturb,
                     t->blocks->n_blocks)) ||
      (rc = get_perm(r, "zo/perm_fisher", t->perm_fisher,
                     t->blocks->n_blocks)) ||
      (rc = t->opt->load(t->opt_state, r, "zo/")) ||
      (t->fisher && (rc = zpt_fisher_load(t->fisher, r, "zo/"))) ||
      (rc = t->es ? zpt_tr_cmaes_load(t, r) : sampler_state_io(t, NULL, r)))
    return zpt_fail_context(rc, "trainer load: ");
  counters_in(&t->c, cnt);
  t->c.iter_seconds = secs[0];
  t->c.fisher_seconds = secs[1];
  if (t->fisher && t->fisher->n_present != t->c.fisher_blocks)
    return zpt_fail(ZPT_EFORMAT, "trainer load: counters say %llu blocks "
                    "have a Fisher estimate, the checkpoint holds %zu",
                    (unsigned long long)t->c.fisher_blocks,
                    t->fisher->n_present);
  zpt_tr_refresh_fisher_schedule(t, 0);
  t->failed = 0;
  return ZPT_OK;
}
