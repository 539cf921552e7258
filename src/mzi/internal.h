/* Helpers shared by the src/mzi layer constructors (not public API). */
#ifndef ZPT_MZI_INTERNAL_H
#define ZPT_MZI_INTERNAL_H

#include <stddef.h>

#include "core/params.h"
#include "mzi/mesh.h"

/* Registers the view "<name><suffix>" in p (offset may be NULL); failures
 * carry the layer name. */
int zpt_mzi_add_view(zpt_params *p, const char *name, const char *suffix, int ndim,
                     const size_t *shape, size_t *offset);

/* Checks a layer name fits zpt_layer.name and leaves room for view suffixes. */
int zpt_mzi_check_name(const char *what, const char *name);

/* A mesh's hardware (mesh_hw.c): the chip's fabrication errors, loss and
 * phase effects as they act on each MZI. */
struct zpt_mesh_hw {
  zpt_chip_config cfg; /* ideal config when built without a chip */
  size_t n_mzi, K;
  double *gamma;       /* 2 per MZI: first (external) and second splitter */
  double complex *zeta; /* 4 per MZI: stage 1 arms m, m+1; stage 2 arms m, m+1 */
  double complex *zeta_screen; /* K (screen only) */
  double *bs;          /* 4 per MZI: cos, sin of both splitters' angles */
  double loss_amp;     /* field amplitude factor per MZI */
  int ideal;           /* no fabrication error, no loss: closed-form MZIs */
  int phase_effects;   /* quantisation or crosstalk change the phases */
};

/* Lifted coefficients of an ideal mesh (hw->ideal) in the kernel's entry
 * order and the K complex factors that end the mesh (mesh_hw.c). */
void zpt_mesh_hw_lift(const zpt_mesh_hw *hw, const zpt_mesh_topology *t,
                      const float *phases, const float *screen_phases,
                      float *entries, float *fac);

#endif
