/* zpt_model_theta: the accessor a program uses instead of reaching into the
 * parameter store (nn/model.h). */
#include "nn/model.h"

#include "core/params.h"

float *zpt_model_theta(zpt_model *m) {
  return m ? zpt_model_params(m)->theta : NULL;
}
