/* The realised fabrication errors of a model's chip, as checkpoint items.
 *
 * A chip's errors are drawn from its seed when the model is built
 * (chip.h), so a checkpoint alone did not say what chip its θ was trained
 * on: another version of the generator, an independent implementation or a
 * real chip would see other errors.  These functions write every mesh
 * component's errors as named arrays, and put them back into a freshly
 * built model, so that the model is defined by the checkpoint alone.
 * Items, for each layer L that carries a mesh (a mesh layer, an RNN cell):
 *   chip/L/shape        uint64[2]  {n_mzi, K}
 *   chip/L/gamma        float64[2 n_mzi]  splitting-angle error, rad:
 *                       [2q + s] = splitter s (0 first, 1 second) of MZI q
 *   chip/L/zeta         float64[8 n_mzi]  arm attenuation-phase factors,
 *                       (re, im) pairs: pair [4q + 2g + a] = arm a (0 upper
 *                       channel m, 1 lower m + 1) of stage g (0 external
 *                       phase, 1 internal) of MZI q; dimensionless
 *   chip/L/screen_zeta  float64[2K]  the output screen's channel factors
 *                       (1 + 0i without a screen)
 * MZIs are numbered column by column, top to bottom, like their phases in
 * θ (mzi.md); docs/checkpoint.md has the formulas that use them.
 */
#ifndef ZPT_MZI_CHIP_ERRORS_H
#define ZPT_MZI_CHIP_ERRORS_H

#include "core/state.h"
#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of layers of m that carry chip hardware (mesh layers, RNN cells). */
size_t zpt_chip_errors_count(const zpt_model *m);

/* Writes the items above for every such layer. */
int zpt_chip_errors_save(const zpt_model *m, zpt_state_writer *w);

/* Replaces every such layer's errors by the stored ones.  *found: how many
 * layers had items (0 for a checkpoint written before they were stored:
 * the model keeps the errors drawn from chip.seed).  Shapes must match
 * (ZPT_EFORMAT naming the layer). */
int zpt_chip_errors_load(zpt_model *m, zpt_state_reader *r, size_t *found);

#ifdef __cplusplus
}
#endif
#endif
