/* The model's architecture and preprocessing in a checkpoint (#20): with
 * theta's named views and the chip's stored errors, what a program needs
 * to evaluate the model without zoptic (docs/checkpoint.md,
 * "Architecture"; tests/ckpt_reproduce.py is such a program, in numpy). */
#ifndef ZPT_IO_CKPT_MODEL_H
#define ZPT_IO_CKPT_MODEL_H

#include "core/state.h"
#include "io/config.h"
#include "nn/model.h"

/* The architecture record (text, freed with zpt_free; NULL with a message):
 * the layers in order with their kind, sizes, parameter range and what each
 * kind needs beyond its views (a DFT encoder's bins measured by a forward
 * of a unit impulse, a detector's channels, a modReLU's epsilon), the input
 * shape, the chip's phase effects and read-out noise, and the
 * preprocessing of the inputs (from cfg's [data]).  Built once, when the
 * task is created (docs/checkpoint.md, "Architecture"). */
char *zpt_ckpt_model_describe(const zpt_model *m, const zpt_config *cfg);
/* Writes model/architecture (the text as uint8) and, per mesh layer L,
 * model/L/top (the upper channel of each MZI, in theta's order) and
 * model/L/col_start (first MZI of each column, and n_mzi), uint64. */
int zpt_ckpt_model_save(const zpt_model *m, const char *architecture, zpt_state_writer *w);

#endif
