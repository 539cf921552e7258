/* A model's chip errors as checkpoint items (chip_errors.h). */
#include "mzi/chip_errors.h"

#include <complex.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "mzi/mesh.h"
#include "mzi/rnn.h"

static zpt_mesh_hw *layer_hw(const zpt_layer *l) {
  zpt_mesh_hw *hw = zpt_mesh_layer_hw(l);
  return hw ? hw : zpt_rnn_layer_hw(l);
}

size_t zpt_chip_errors_count(const zpt_model *m) {
  size_t n = 0;
  for (size_t k = 0; k < zpt_model_n_layers(m); k++)
    n += layer_hw(zpt_model_layer(m, k)) != NULL;
  return n;
}

static void item(char *buf, size_t cap, const zpt_layer *l, const char *what) {
  snprintf(buf, cap, "chip/%s/%s", l->name, what);
}

/* (re, im) pairs of n complex values into out[2n] and back. */
static void split_complex(const double complex *z, size_t n, double *out) {
  for (size_t k = 0; k < n; k++) {
    out[2 * k] = creal(z[k]);
    out[2 * k + 1] = cimag(z[k]);
  }
}

static int save_layer(const zpt_layer *l, const zpt_mesh_hw *hw, zpt_state_writer *w) {
  zpt_mesh_hw_errors_view v;
  zpt_mesh_hw_errors(hw, &v);
  uint64_t shape[2] = {v.n_mzi, v.K};
  size_t nz = 8 * v.n_mzi > 2 * v.K ? 8 * v.n_mzi : 2 * v.K;
  double *buf = zpt_doubles(nz + 1, "chip errors");
  if (!buf)
    return ZPT_ENOMEM;
  char name[128];
  int rc;
  item(name, sizeof name, l, "shape");
  rc = w->put(w, name, ZPT_T_U64, shape, 2);
  item(name, sizeof name, l, "gamma");
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_F64, v.gamma, 2 * v.n_mzi);
  split_complex(v.zeta, 4 * v.n_mzi, buf);
  item(name, sizeof name, l, "zeta");
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_F64, buf, 8 * v.n_mzi);
  split_complex(v.zeta_screen, v.K, buf);
  item(name, sizeof name, l, "screen_zeta");
  if (rc == ZPT_OK)
    rc = w->put(w, name, ZPT_T_F64, buf, 2 * v.K);
  zpt_free(buf);
  return rc;
}

int zpt_chip_errors_save(const zpt_model *m, zpt_state_writer *w) {
  for (size_t k = 0; k < zpt_model_n_layers(m); k++) {
    const zpt_layer *l = zpt_model_layer(m, k);
    const zpt_mesh_hw *hw = layer_hw(l);
    if (hw)
      ZPT_TRY(save_layer(l, hw, w));
  }
  return ZPT_OK;
}

static int load_layer(const zpt_layer *l, zpt_mesh_hw *hw, zpt_state_reader *r, int *found) {
  zpt_mesh_hw_errors_view v;
  zpt_mesh_hw_errors(hw, &v);
  char name[128];
  uint64_t shape[2];
  item(name, sizeof name, l, "shape");
  int rc = r->get(r, name, ZPT_T_U64, shape, 2);
  *found = rc == ZPT_OK;
  if (rc == ZPT_ENOTFOUND)
    return ZPT_OK; /* an older checkpoint: keep the errors drawn from chip.seed */
  ZPT_TRY(rc);
  if (shape[0] != v.n_mzi || shape[1] != v.K)
    return zpt_fail(ZPT_EFORMAT, "chip errors of layer '%s': %llu MZIs on %llu channels in "
                    "the checkpoint, the model has %zu on %zu", l->name,
                    (unsigned long long)shape[0], (unsigned long long)shape[1], v.n_mzi, v.K);
  size_t nz = 8 * v.n_mzi > 2 * v.K ? 8 * v.n_mzi : 2 * v.K;
  double *gamma = zpt_doubles(2 * v.n_mzi + 1, "chip errors"), *buf = zpt_doubles(nz + 1, "chip errors");
  double complex *zeta = zpt_new_array(double complex, 4 * v.n_mzi + 1, "chip errors");
  double complex *zs = zpt_new_array(double complex, v.K + 1, "chip errors");
  rc = gamma && buf && zeta && zs ? ZPT_OK : ZPT_ENOMEM;
  item(name, sizeof name, l, "gamma");
  if (rc == ZPT_OK)
    rc = r->get(r, name, ZPT_T_F64, gamma, 2 * v.n_mzi);
  item(name, sizeof name, l, "zeta");
  if (rc == ZPT_OK && (rc = r->get(r, name, ZPT_T_F64, buf, 8 * v.n_mzi)) == ZPT_OK)
    for (size_t k = 0; k < 4 * v.n_mzi; k++)
      zeta[k] = CMPLX(buf[2 * k], buf[2 * k + 1]);
  item(name, sizeof name, l, "screen_zeta");
  if (rc == ZPT_OK && (rc = r->get(r, name, ZPT_T_F64, buf, 2 * v.K)) == ZPT_OK)
    for (size_t k = 0; k < v.K; k++)
      zs[k] = CMPLX(buf[2 * k], buf[2 * k + 1]);
  if (rc == ZPT_OK && (rc = zpt_mesh_hw_set_errors(hw, gamma, zeta, zs)) != ZPT_OK)
    zpt_fail_context(rc, "chip errors of layer '%s': ", l->name);
  zpt_free(gamma);
  zpt_free(buf);
  zpt_free(zeta);
  zpt_free(zs);
  return rc;
}

int zpt_chip_errors_load(zpt_model *m, zpt_state_reader *r, size_t *found) {
  *found = 0;
  zpt_model_forget_prefix(m); /* the meshes' errors change, theta does not */
  for (size_t k = 0; k < zpt_model_n_layers(m); k++) {
    const zpt_layer *l = zpt_model_layer(m, k);
    zpt_mesh_hw *hw = layer_hw(l);
    int got = 0;
    if (hw)
      ZPT_TRY(load_layer(l, hw, r, &got));
    *found += (size_t)got;
  }
  return ZPT_OK;
}
