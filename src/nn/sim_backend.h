/* The in-process simulated backend: a model behind the black-box interface
 * of src/zo/blackbox.h.  query() is zpt_model_forward_variations with the
 * adapter's noise seed; n_params, input_size and output_size come from the
 * model.  The adapter does NOT own the model: zpt_blackbox_free releases
 * only the adapter, and the model must outlive it.  NULL on failure. */
#ifndef ZPT_NN_SIM_BACKEND_H
#define ZPT_NN_SIM_BACKEND_H

#include <stdint.h>

#include "nn/model.h"
#include "zo/blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const zpt_blackbox_type *zpt_sim_blackbox_type;

zpt_blackbox *zpt_model_blackbox(zpt_model *m, uint64_t noise_seed);

#ifdef __cplusplus
}
#endif
#endif
