/* MZI meshes: topology, arithmetic kernels and the mesh layer.
 *
 * Conventions (docs/mzi.md):
 *   one PS-BS stage   T(x) = (1/sqrt2) [[1, i], [i, 1]] . diag(e^{ix}, 1)
 *   one MZI           MZI(theta, phi) = T(theta) . T(phi)
 * phi is the EXTERNAL phase (the heater in front of the first beam splitter,
 * it acts first); theta is the INTERNAL phase between the two splitters.
 * An MZI on channels (m, m+1) maps (x_m, x_{m+1}) -> MZI . (x_m, x_{m+1}).
 * A mesh applies its columns in order, then the optional output phase
 * screen diag(e^{i s_k}):   y = D(s) . C_{L-1} ... C_1 . C_0 . x.
 *
 * Topology (which pairs each column touches) lives in zpt_mesh_topology;
 * the kernels only read it.  MZIs are numbered column by column, top to
 * bottom; that is also the order of their (theta, phi) pairs in theta.
 */
#ifndef ZPT_MZI_MESH_H
#define ZPT_MZI_MESH_H

#include "core/complex.h"
#include <stddef.h>

#include "core/alloc.h"
#include "core/params.h"
#include "mzi/chip.h"
#include "mzi/topology.h"
#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ideal 2x2 matrix of MZI(theta, phi), row-major, double precision. */
void zpt_mzi_matrix(double theta, double phi, zpt_cdouble m[4]);

/* --- kernels ------------------------------------------------------------ */

/* Per-MZI 2x2 coefficients in the layout the kernels read: 8 floats per MZI
 * (a.re, a.im, b.re, b.im, c.re, c.im, d.re, d.im) for [[a, b], [c, d]]. */
typedef float zpt_mzi_coef[8];

/* Applies the mesh in place to n samples x (n x K complex, sample-major):
 * every column's 2x2 rotations, then the screen (NULL = none), vectorised
 * across the batch in planar chunks.  work: scratch (grown as needed). */
int zpt_mesh_apply_rotations(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                             const zpt_cfloat *screen, zpt_cfloat *x, size_t n,
                             zpt_buffer *work);

/* The K x K matrix U (row-major, y = U x) of a mesh given its coefficients. */
int zpt_mesh_matrix_from_coef(const zpt_mesh_topology *t, const zpt_mzi_coef *coef,
                              const zpt_cfloat *screen, zpt_cfloat *U,
                              zpt_buffer *work);

/* The K x K matrix of an IDEAL mesh with phases (n_mzi x (theta, phi)) and
 * an optional screen (K phases, NULL = none). */
int zpt_mesh_unitary(const zpt_mesh_topology *t, const float *phases,
                     const float *screen, zpt_cfloat *U);

/* --- the mesh layer ------------------------------------------------------ */

typedef enum {
  ZPT_ROUTE_AUTO = 0,      /* pick by batch size (docs/mzi.md: measured crossover) */
  ZPT_ROUTE_ROTATIONS = 1, /* columns of 2x2 rotations streamed over the batch */
  ZPT_ROUTE_MATRIX = 2     /* build U once per forward, then cblas_cgemm */
} zpt_mesh_route;

typedef struct {
  zpt_mesh_kind kind;
  size_t K;
  size_t n_cols;        /* 0 = full mesh */
  int screen;           /* append the output phase screen (K more params) */
  zpt_mesh_route route;
} zpt_mesh_spec;

/* A mesh layer: in and out K complex channels (2K floats).  Registers the
 * views "<name>.phase" (n_mzi x 2: theta, phi) and, with a screen,
 * "<name>.screen" (K) in p.  chip: NULL for ideal hardware, else the layer
 * draws its fabrication errors as the chip's next component. */
int zpt_mesh_layer_alloc(zpt_params *p, const char *name, const zpt_mesh_spec *spec,
                         zpt_chip *chip, zpt_layer **out);

/* The K x K matrix a mesh layer applies with parameters params (including
 * its chip errors and screen). */
int zpt_mesh_layer_matrix(const zpt_layer *l, const float *params, zpt_cfloat *U);
/* The topology of a mesh layer (NULL if l is not a mesh layer). */
const zpt_mesh_topology *zpt_mesh_layer_topology(const zpt_layer *l);
/* The route AUTO chooses for a batch of n samples on this topology with
 * ideal hardware (docs/mzi.md, "Route choice"). */
zpt_mesh_route zpt_mesh_auto_route(const zpt_mesh_topology *t, size_t n);
/* The route mesh layer l takes for a batch of n samples: its fixed route,
 * or AUTO's choice for its hardware (with chip errors the rotations use the
 * general 2x2 form and the matrix route wins earlier).  ZPT_ROUTE_AUTO if l
 * is not a mesh layer. */
zpt_mesh_route zpt_mesh_layer_route(const zpt_layer *l, size_t n);

/* Coefficients of a mesh with chip errors (internal, also used by the RNN
 * cell): phases n_mzi x 2, screen K phases or NULL. */
typedef struct zpt_mesh_hw zpt_mesh_hw;
int zpt_mesh_hw_alloc(const zpt_mesh_topology *t, int screen, zpt_chip *chip,
                      zpt_mesh_hw **out);
void zpt_mesh_hw_free(zpt_mesh_hw *hw);
void zpt_mesh_hw_coef(const zpt_mesh_hw *hw, const zpt_mesh_topology *t,
                      const float *phases, const float *screen_phases,
                      zpt_mzi_coef *coef, zpt_cfloat *screen);

/* The realised fabrication errors of a mesh (docs/checkpoint.md, "Chip
 * errors"): gamma[2q + s] the splitting-angle error (rad) of splitter s
 * (0: first, behind the external phase; 1: second) of MZI q; zeta[4q + 2g +
 * a] the attenuation-phase factor of arm a (0: upper channel m, 1: lower
 * m + 1) of PS-BS stage g (0: external, 1: internal) of MZI q; zeta_screen[k]
 * that of screen channel k (1 without a screen).  MZIs are numbered column
 * by column, top to bottom, as their phases in theta. */
typedef struct {
  size_t n_mzi, K;
  const double *gamma;
  const zpt_cdouble *zeta, *zeta_screen;
} zpt_mesh_hw_errors_view;
void zpt_mesh_hw_errors(const zpt_mesh_hw *hw, zpt_mesh_hw_errors_view *v);
/* Replaces the errors (2 n_mzi, 4 n_mzi and K values; e.g. those stored in a
 * checkpoint) and recomputes what derives from them.  ZPT_ENUMERIC for a
 * non-finite value (nothing changed then). */
int zpt_mesh_hw_set_errors(zpt_mesh_hw *hw, const double *gamma, const zpt_cdouble *zeta,
                           const zpt_cdouble *zeta_screen);
/* The hardware of a mesh layer, NULL for any other layer. */
zpt_mesh_hw *zpt_mesh_layer_hw(const zpt_layer *l);

#ifdef __cplusplus
}
#endif
#endif
