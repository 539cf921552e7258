/* The trainer settings of a run: zpt_zo_config from [zo] and train.budget
 * (tasks/tasks.h). */
#include "tasks/tasks.h"
#include "tasks/internal.h"

#include <string.h>

#include "core/status.h"

int zpt_setup_zo_config(const zpt_config *cfg, const zpt_setup_model_info *info,
                        zpt_zo_config *zc) {
  zpt_zo_config_default(zc);
  const char *s;
  long long v;
  ZPT_TRY(zpt_config_string(cfg, "zo.method", &s));
  ZPT_TRY(zpt_zo_method_parse(s, &zc->method));
  ZPT_TRY(zpt_config_string(cfg, "zo.mode", &s));
  zc->mode = !strcmp(s, "all") ? ZPT_PERTURB_ALL : ZPT_PERTURB_BLOCK;
  ZPT_TRY(zpt_config_int(cfg, "zo.Q", &v));
  zc->q = (size_t)v;
  ZPT_TRY(zpt_config_double(cfg, "zo.mu", &zc->mu));
  ZPT_TRY(zpt_config_double(cfg, "zo.lambda", &zc->lambda));
  ZPT_TRY(zpt_config_int(cfg, "zo.n_max", &v));
  zc->n_max = v > 0 ? (size_t)v : info->n_max ? info->n_max : 512;
  ZPT_TRY(zpt_config_string(cfg, "zo.normalize", &s));
  zc->normalize = !strcmp(s, "auto") ? ZPT_NORMALIZE_AUTO : zpt_setup_truthy(s);
  ZPT_TRY(zpt_config_double(cfg, "zo.rho", &zc->rho));
  ZPT_TRY(zpt_config_int(cfg, "zo.t_ud", &v));
  zc->t_ud = (size_t)v;
  ZPT_TRY(zpt_config_bool(cfg, "zo.trace_norm", &zc->trace_norm));
  ZPT_TRY(zpt_config_double(cfg, "zo.fisher_avg", &zc->fisher_avg));
  ZPT_TRY(zpt_config_string(cfg, "zo.fisher_schedule", &s));
  zc->fisher_schedule = !strcmp(s, "cycle") ? ZPT_FISHER_CYCLE : ZPT_FISHER_RANDOM;
  ZPT_TRY(zpt_config_double(cfg, "zo.jac_eps", &zc->jac_eps));
  ZPT_TRY(zpt_config_bool(cfg, "zo.chol_jitter", &zc->chol_jitter));
  ZPT_TRY(zpt_config_string(cfg, "zo.difference", &s));
  zc->diff = !strcmp(s, "central") ? ZPT_DIFF_CENTRAL : ZPT_DIFF_FORWARD;
  ZPT_TRY(zpt_config_string(cfg, "zo.optimizer", &s));
  zc->optimizer = !strcmp(s, "sgd") ? ZPT_OPT_SGD : ZPT_OPT_ADAM;
  ZPT_TRY(zpt_config_double(cfg, "zo.lr", &zc->optim.lr));
  ZPT_TRY(zpt_config_string(cfg, "zo.lr_schedule", &s));
  zc->lr_schedule = !strcmp(s, "cosine") ? ZPT_LR_COSINE : ZPT_LR_CONSTANT;
  ZPT_TRY(zpt_config_double(cfg, "zo.lr_final", &zc->lr_final));
  ZPT_TRY(zpt_config_double(cfg, "zo.beta1", &zc->optim.beta1));
  ZPT_TRY(zpt_config_double(cfg, "zo.beta2", &zc->optim.beta2));
  ZPT_TRY(zpt_config_double(cfg, "zo.eps", &zc->optim.eps));
  ZPT_TRY(zpt_config_double(cfg, "zo.momentum", &zc->optim.momentum));
  ZPT_TRY(zpt_config_u64(cfg, "zo.seed", &zc->seed));
  ZPT_TRY(zpt_config_double(cfg, "zo.sparse_frac", &zc->sparse_frac));
  ZPT_TRY(zpt_config_int(cfg, "zo.guided_k", &v));
  zc->guided_k = (size_t)v;
  ZPT_TRY(zpt_config_double(cfg, "zo.guided_alpha", &zc->guided_alpha));
  ZPT_TRY(zpt_config_double(cfg, "zo.adapt_floor", &zc->adapt_floor));
  ZPT_TRY(zpt_config_double(cfg, "zo.cmaes_sigma", &zc->cmaes_sigma));
  ZPT_TRY(zpt_config_int(cfg, "zo.cmaes_lambda", &v));
  zc->cmaes_lambda = (size_t)v;
  ZPT_TRY(zpt_config_int(cfg, "zo.cmaes_full_max", &v));
  zc->cmaes_full_max = (size_t)v;
  ZPT_TRY(zpt_config_u64(cfg, "train.budget", &zc->budget));
  zc->loss = info->loss;
  return ZPT_OK;
}
