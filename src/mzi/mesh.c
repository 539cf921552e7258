/* MZI meshes: the batched rotation kernel, the matrix route, the mesh
 * layer (topologies: mesh_topology.c; coefficients: mesh_hw.c). */
#include "mzi/mesh.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "mzi/internal.h"
#include "mzi/sweep.h"

#define TWO_PI 6.283185307179586476925286766559

/* ------------------------------------------------------------------ kernels */

/* The general coefficients of MZI q (zpt_mzi_coef order) into the kernel's
 * entries (sweep.h), column by column. */
static void general_entries(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                            float *entries) {
  const zpt_mesh_sweep *sw = t->sweep;
  zpt_mesh_sweep_identity(sw, t, 0, entries);
  for (size_t c = 0; c < t->n_cols; c++) {
    size_t q0 = t->col_start[c], nq = t->col_start[c + 1] - q0;
    memcpy(entries + 8 * (sw->col_entry[c] + sw->col_first[c]), coef[q0],
           nq * sizeof(zpt_mzi_coef));
  }
}

/* The lifted form (sweep.h) of the ideal MZI(theta, phi) on channels (m,
 * m+1) whose pending phases are the unit complex numbers p0, p1; it
 * replaces them by the pending phases of its outputs.  With
 * sh = sin(theta/2), ch = cos(theta/2):
 *   MZI = i e^{i theta/2} R(alpha) diag(e^{i phi}, -1),  e^{i alpha} = sh + i ch,
 *   MZI diag(p0, p1) = g R(alpha) diag(z, 1),
 *   z = -e^{i phi} p0 conj(p1),  g = -i e^{i theta/2} p1.
 * If Re z < 0: z = -(-z), and R(alpha) diag(-1, 1) = diag(-1, 1) R(-alpha):
 * the upper output's pending phase is -g.  If then cos alpha < 0: R(alpha)
 * = -R(alpha -+ pi), both outputs' pending phases change sign.  Both
 * rotations then have cos >= 0, and the shears of a rotation by x are
 * a = -sin x / (1 + cos x) = -tan(x/2), b = sin x: no trigonometry beyond
 * sincos of theta/2 and phi.  zpt_mesh_sweep_lift_column does this for 16
 * MZIs at a time. */

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* The entries of coef in the general form at the start of the scratch
 * `work` (or *local when work is NULL), the sweep's own scratch after them. */
static int general_scratch(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                           zpt_buffer *work, zpt_buffer *local, const char *what,
                           float **entries, void **sweep_scratch) {
  const zpt_mesh_sweep *sw = t->sweep;
  size_t b_ent = align64(8 * sw->n_entries * sizeof(float));
  zpt_buffer *w = work ? work : local;
  ZPT_TRY(zpt_buffer_reserve(w, b_ent + zpt_mesh_sweep_bytes(sw), what));
  *entries = w->data;
  general_entries(t, coef, *entries);
  *sweep_scratch = (char *)w->data + b_ent;
  return ZPT_OK;
}

int zpt_mesh_apply_rotations(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                             const zpt_cfloat *screen, zpt_cfloat *x, size_t n,
                             zpt_buffer *work) {
  if (!t || !coef || (!x && n))
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_apply_rotations: NULL argument");
  zpt_buffer local = {0};
  float *entries;
  void *scratch;
  ZPT_TRY(general_scratch(t, coef, work, &local, "mesh rotation scratch", &entries, &scratch));
  zpt_mesh_sweep_run(t->sweep, 0, entries, (const float *)screen, (const float *)x, (float *)x,
                     n, scratch);
  zpt_buffer_release(&local);
  return ZPT_OK;
}

/* R = U^T (row j = image of e_j), computed by streaming the K unit vectors;
 * entries in the given form, fac as for zpt_mesh_sweep_run */
static void mesh_transpose_matrix(const zpt_mesh_topology *t, int lifted,
                                  const float *entries, const float *fac, zpt_cfloat *R,
                                  void *scratch) {
  const size_t K = t->K;
  for (size_t j = 0; j < K * K; j++)
    R[j] = 0;
  for (size_t j = 0; j < K; j++)
    R[j * K + j] = 1;
  zpt_mesh_sweep_run(t->sweep, lifted, entries, fac, (const float *)R, (float *)R, K, scratch);
}

static void transpose_square(zpt_cfloat *U, size_t K) {
  for (size_t i = 0; i < K; i++)
    for (size_t j = i + 1; j < K; j++) {
      zpt_cfloat a = U[i * K + j];
      U[i * K + j] = U[j * K + i];
      U[j * K + i] = a;
    }
}

int zpt_mesh_matrix_from_coef(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                              const zpt_cfloat *screen, zpt_cfloat *U,
                              zpt_buffer *work) {
  if (!t || !coef || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_matrix_from_coef: NULL argument");
  zpt_buffer local = {0};
  float *entries;
  void *scratch;
  ZPT_TRY(general_scratch(t, coef, work, &local, "mesh matrix scratch", &entries, &scratch));
  mesh_transpose_matrix(t, 0, entries, (const float *)screen, U, scratch);
  transpose_square(U, t->K);
  zpt_buffer_release(&local);
  return ZPT_OK;
}

int zpt_mesh_unitary(const zpt_mesh_topology *t, const float *phases,
                     const float *screen, zpt_cfloat *U) {
  if (!t || !phases || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_unitary: NULL argument");
  zpt_mesh_hw *hw = NULL;
  ZPT_TRY(zpt_mesh_hw_alloc(t, screen != NULL, NULL, &hw));
  zpt_mzi_coef *coef = zpt_new_array(zpt_mzi_coef, t->n_mzi + 1, "mesh coefficients");
  zpt_cfloat *scr = zpt_cfloats(t->K, "mesh screen");
  int rc = coef && scr ? ZPT_OK : ZPT_ENOMEM;
  if (rc == ZPT_OK) {
    zpt_mesh_hw_coef(hw, t, phases, screen, coef, scr);
    rc = zpt_mesh_matrix_from_coef(t, coef, screen ? scr : NULL, U, NULL);
  }
  zpt_free(coef);
  zpt_free(scr);
  zpt_mesh_hw_free(hw);
  return rc;
}

/* --------------------------------------------------------------- the layer */

typedef struct {
  zpt_mesh_topology *topo;
  zpt_mesh_hw *hw;
  int screen;
  zpt_mesh_route route;
} mesh_impl;

/* The route rule, measured with bench/bench_mzi.c (docs/mzi.md, "Route
 * choice"; thread CPU time, one thread, single-threaded OpenBLAS).  Building
 * U costs K samples of rotations; after that the cgemm's cost per sample
 * (8 K^2 flops near the sgemm rate for K >= 32) is below the rotations'
 * (~K^2/2 MZIs at 9 multiply-adds on 16 lanes) only for deep meshes: full
 * Clements meshes on ideal hardware take the matrix route from n K^2 = 2^21
 * on (K = 64: n ~ 400-500; K = 32: ~1600; K = 16: equal up to n = 6500),
 * meshes of 3K/4 columns at best tie at n = 6500, of K/2 columns never.
 * With chip errors the rotations use the general 2x2 form (16
 * multiply-adds) and the matrix route wins from n K^2 = 2^20 on, also at
 * 3K/4 columns. */
static zpt_mesh_route auto_route(const zpt_mesh_topology *t, size_t n, int general) {
  size_t full = t->K * (t->K - 1) / 2;
  int deep = general ? 4 * t->n_mzi >= 3 * full : 8 * t->n_mzi >= 7 * full;
  size_t work = n * t->K * t->K;
  return deep && work >= ((size_t)1 << (general ? 20 : 21)) ? ZPT_ROUTE_MATRIX
                                                             : ZPT_ROUTE_ROTATIONS;
}

zpt_mesh_route zpt_mesh_auto_route(const zpt_mesh_topology *t, size_t n) {
  return auto_route(t, n, 0);
}

/* Carves the forward's scratch: per-MZI coefficients and screen (general
 * form only), the kernel's entries, the final factors, U^T, planar chunk. */
typedef struct {
  zpt_mzi_coef *coef;
  zpt_cfloat *screen;
  float *entries;
  float *fac;
  zpt_cfloat *R;
  void *planar;
  int lifted;         /* entries in lifted form */
  const float *final; /* fac, or NULL (general form without screen) */
} mesh_scratch;

static int mesh_scratch_get(const mesh_impl *mi, int with_R, zpt_buffer *w,
                            mesh_scratch *s) {
  const zpt_mesh_topology *t = mi->topo;
  int lifted = mi->hw->ideal;
  size_t b_coef = lifted ? 0 : align64((t->n_mzi + 1) * sizeof(zpt_mzi_coef));
  size_t b_scr = lifted ? 0 : align64(t->K * sizeof(zpt_cfloat));
  /* + 16 floats: the lifted column kernel rewrites whole vectors */
  size_t b_ent = align64(((lifted ? 4 : 8) * t->sweep->n_entries + 16) * sizeof(float));
  size_t b_fac = align64(2 * t->K * sizeof(float));
  size_t b_R = with_R ? align64(t->K * t->K * sizeof(zpt_cfloat)) : 0;
  size_t b_pl = zpt_mesh_sweep_bytes(t->sweep);
  ZPT_TRY(zpt_buffer_reserve(w, b_coef + b_scr + b_ent + b_fac + b_R + b_pl,
                             "mesh forward scratch"));
  char *base = w->data;
  s->coef = lifted ? NULL : (zpt_mzi_coef *)base;
  base += b_coef;
  s->screen = lifted ? NULL : (zpt_cfloat *)base;
  base += b_scr;
  s->entries = (float *)base;
  base += b_ent;
  s->fac = (float *)base;
  base += b_fac;
  s->R = with_R ? (zpt_cfloat *)base : NULL;
  base += b_R;
  s->planar = base;
  s->lifted = lifted;
  s->final = NULL;
  return ZPT_OK;
}

/* The kernel's coefficients of the layer for params: the lifted form for
 * ideal hardware, the general 2x2 form with chip errors. */
static void mesh_coefficients(const mesh_impl *mi, const float *params, mesh_scratch *s) {
  const zpt_mesh_topology *t = mi->topo;
  const float *screen_ph = mi->screen ? params + 2 * t->n_mzi : NULL;
  if (s->lifted) {
    zpt_mesh_hw_lift(mi->hw, t, params, screen_ph, s->entries, s->fac);
    s->final = s->fac;
  } else {
    zpt_mesh_hw_coef(mi->hw, t, params, screen_ph, s->coef, s->screen);
    general_entries(t, s->coef, s->entries);
    s->final = mi->screen ? (const float *)s->screen : NULL;
  }
}

static int mesh_forward(const zpt_layer *l, const float *params, const float *in,
                        float *out, size_t n, zpt_fwd_ctx *ctx) {
  const mesh_impl *mi = l->impl;
  const zpt_mesh_topology *t = mi->topo;
  if (n == 0)
    return ZPT_OK;
  zpt_mesh_route route = zpt_mesh_layer_route(l, n);
  zpt_buffer local = {0};
  zpt_buffer *w = ctx && ctx->work ? ctx->work : &local;
  mesh_scratch s;
  int rc = mesh_scratch_get(mi, route == ZPT_ROUTE_MATRIX, w, &s);
  if (rc != ZPT_OK)
    return zpt_fail_context(rc, "layer %s: ", l->name);
  mesh_coefficients(mi, params, &s);
  if (route == ZPT_ROUTE_MATRIX) {
    const size_t K = t->K;
    mesh_transpose_matrix(t, s.lifted, s.entries, s.final, s.R, s.planar);
    const float one[2] = {1, 0}, zero[2] = {0, 0};
    /* Y (n x K) = X (n x K) . U^T */
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)K, (int)K,
                one, in, (int)K, s.R, (int)K, zero, out, (int)K);
  } else {
    zpt_mesh_sweep_run(t->sweep, s.lifted, s.entries, s.final, in, out, n, s.planar);
  }
  zpt_buffer_release(&local);
  return ZPT_OK;
}

static void mesh_init(const zpt_layer *l, float *params, gsl_rng *r) {
  /* uniform phases in [0, 2pi): a spread of the whole unit circle */
  for (size_t k = 0; k < l->n_params; k++)
    params[k] = (float)(TWO_PI * gsl_rng_uniform(r));
}

static double mesh_flops(const zpt_layer *l) {
  const mesh_impl *mi = l->impl;
  /* a 2x2 complex matrix-vector product: 4 complex mul (6) + 2 add (2) */
  return 28.0 * mi->topo->n_mzi + (mi->screen ? 6.0 * mi->topo->K : 0);
}

static void mesh_destroy(zpt_layer *l) {
  mesh_impl *mi = l->impl;
  if (!mi)
    return;
  zpt_mesh_topology_free(mi->topo);
  zpt_mesh_hw_free(mi->hw);
  zpt_free(mi);
  l->impl = NULL;
}

static const zpt_layer_ops mesh_ops = {"mzi_mesh", mesh_forward, mesh_init,
                                       mesh_flops, mesh_destroy, NULL};

zpt_mesh_hw *zpt_mesh_layer_hw(const zpt_layer *l) {
  return l && l->ops == &mesh_ops ? ((const mesh_impl *)l->impl)->hw : NULL;
}

zpt_mesh_route zpt_mesh_layer_route(const zpt_layer *l, size_t n) {
  if (!l || l->ops != &mesh_ops)
    return ZPT_ROUTE_AUTO;
  const mesh_impl *mi = l->impl;
  return mi->route != ZPT_ROUTE_AUTO ? mi->route : auto_route(mi->topo, n, !mi->hw->ideal);
}

const zpt_mesh_topology *zpt_mesh_layer_topology(const zpt_layer *l) {
  return l && l->ops == &mesh_ops ? ((const mesh_impl *)l->impl)->topo : NULL;
}

int zpt_mesh_layer_matrix(const zpt_layer *l, const float *params, zpt_cfloat *U) {
  if (!l || l->ops != &mesh_ops)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_layer_matrix: %s is not a mesh layer",
                    l ? l->name : "NULL");
  if (!params || !U)
    return zpt_fail(ZPT_EINVAL, "zpt_mesh_layer_matrix: layer %s: NULL params or U", l->name);
  const mesh_impl *mi = l->impl;
  zpt_buffer w = {0};
  mesh_scratch s;
  int rc = mesh_scratch_get(mi, 1, &w, &s);
  if (rc == ZPT_OK) {
    mesh_coefficients(mi, params, &s);
    mesh_transpose_matrix(mi->topo, s.lifted, s.entries, s.final, U, s.planar);
    transpose_square(U, mi->topo->K);
  }
  zpt_buffer_release(&w);
  return rc;
}

int zpt_mzi_add_view(zpt_params *p, const char *name, const char *suffix, int ndim,
                     const size_t *shape, size_t *offset) {
  char full[ZPT_VIEW_NAME_MAX];
  int len = snprintf(full, sizeof full, "%s%s", name, suffix);
  if (len < 0 || (size_t)len >= sizeof full)
    return zpt_fail(ZPT_EINVAL, "layer %s: view name %s%s longer than %d characters",
                    name, name, suffix, ZPT_VIEW_NAME_MAX - 1);
  int rc = zpt_params_add(p, full, ndim, shape, offset);
  return rc == ZPT_OK ? rc : zpt_fail_context(rc, "layer %s: ", name);
}

int zpt_mzi_check_name(const char *what, const char *name) {
  if (!name || strlen(name) == 0 || strlen(name) > 31)
    return zpt_fail(ZPT_EINVAL, "%s: name \"%s\" must have 1..31 characters", what,
                    name ? name : "(null)");
  return ZPT_OK;
}

int zpt_mesh_layer_alloc(zpt_params *p, const char *name, const zpt_mesh_spec *spec,
                         zpt_chip *chip, zpt_layer **out) {
  if (!out)
    return zpt_fail(ZPT_EINVAL, "mesh layer: NULL output pointer");
  *out = NULL;
  if (!p || !name || !spec)
    return zpt_fail(ZPT_EINVAL, "mesh layer %s: NULL params store, name or spec",
                    name ? name : "(unnamed)");
  ZPT_TRY(zpt_mzi_check_name("mesh layer", name));
  if (spec->route != ZPT_ROUTE_AUTO && spec->route != ZPT_ROUTE_ROTATIONS &&
      spec->route != ZPT_ROUTE_MATRIX)
    return zpt_fail(ZPT_EINVAL, "mesh layer %s: unknown route %d", name, (int)spec->route);
  mesh_impl *mi = zpt_new(mesh_impl, "mesh layer");
  if (!mi)
    return ZPT_ENOMEM;
  int rc = zpt_mesh_topology_alloc(spec->kind, spec->K, spec->n_cols, &mi->topo);
  if (rc == ZPT_OK)
    rc = zpt_mesh_hw_alloc(mi->topo, spec->screen, chip, &mi->hw);
  if (rc != ZPT_OK) {
    zpt_fail_context(rc, "mesh layer %s: ", name);
    zpt_mesh_topology_free(mi->topo);
    zpt_free(mi);
    return rc;
  }
  mi->screen = spec->screen != 0;
  mi->route = spec->route;
  const size_t K = spec->K;
  zpt_layer *l = zpt_layer_alloc(&mesh_ops, name, 2 * K, 2 * K);
  if (!l) {
    zpt_mesh_topology_free(mi->topo);
    zpt_mesh_hw_free(mi->hw);
    zpt_free(mi);
    return zpt_error_status() ? zpt_error_status() : ZPT_ENOMEM;
  }
  l->impl = mi;
  size_t shape[2] = {mi->topo->n_mzi, 2}, off = 0, off2 = 0;
  rc = zpt_mzi_add_view(p, name, ".phase", 2, shape, &off);
  if (rc == ZPT_OK && mi->screen)
    rc = zpt_mzi_add_view(p, name, ".screen", 1, &K, &off2);
  if (rc != ZPT_OK) {
    zpt_layer_free(l);
    return rc;
  }
  l->param_offset = off;
  l->n_params = 2 * mi->topo->n_mzi + (mi->screen ? K : 0);
  *out = l;
  return ZPT_OK;
}
