/* Decomposition of a unitary into mesh phases (double precision inside).
 *
 * Clements et al., Optica 3, 1460 (2016): alternately null the lower-left
 * entries of U by MZIs acting on columns (from the right) and on rows (from
 * the left), then move the left-hand MZIs through the remaining diagonal,
 * which becomes the output phase screen.  Reck et al., PRL 73, 58 (1994):
 * null row K-1, K-2, ... from the right only.  The MZIs found are placed in
 * the mesh's columns (each as early as its channels allow), so that
 *     D(screen) . mesh(phases) = U
 * to double rounding.  Convention of the MZI and of theta/phi: mzi/mesh.h.
 */
#ifndef ZPT_MZI_DECOMPOSE_H
#define ZPT_MZI_DECOMPOSE_H

#include "core/complex.h"

#include "mzi/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* U: K x K row-major unitary (max |U^H U - I| <= 1e-6, else ZPT_ENUMERIC).
 * t: a universal topology (full Clements or Reck) of the same K.
 * phases: n_mzi x 2 (theta in [0, pi], phi in [0, 2pi)), in the mesh layer's
 * parameter order; screen: K phases in (-pi, pi].  Together they are exactly
 * the parameters of a mesh layer with a screen. */
int zpt_mesh_decompose(const zpt_mesh_topology *t, const zpt_cdouble *U,
                       double *phases, double *screen);

#ifdef __cplusplus
}
#endif
#endif
