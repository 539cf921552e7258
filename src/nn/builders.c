/* Ready-made models: the task-1 CNN, the task-5 MLP-mixer and a plain MLP. */
#include <stdio.h>

#include "core/status.h"
#include "nn/builders.h"
#include "nn/layers.h"

zpt_cnn_config zpt_cnn_default(void) {
  zpt_cnn_config c = {1, 28, 28, 6, 16, 5, 16, 10, ZPT_INIT_HE};
  return c;
}

static zpt_model *finish(zpt_model *m, int rc, const char *what) {
  if (rc == ZPT_OK)
    return m;
  zpt_fail_context(rc, "building %s: ", what);
  zpt_model_free(m);
  return NULL;
}

zpt_model *zpt_cnn_alloc(const zpt_cnn_config *cfg) {
  if (!cfg) {
    zpt_fail(ZPT_EINVAL, "zpt_cnn_alloc: configuration is NULL");
    return NULL;
  }
  zpt_model *m = zpt_model_alloc_shaped(zpt_shape_chw(cfg->in_c, cfg->in_h, cfg->in_w));
  if (!m) {
    zpt_fail_context(zpt_error_status(), "building the CNN: ");
    return NULL;
  }
  int rc = ZPT_OK;
  if (rc == ZPT_OK)
    rc = zpt_model_add_conv2d(m, "conv1", cfg->conv1, cfg->kernel, cfg->kernel, 1, 0, cfg->init);
  if (rc == ZPT_OK)
    rc = zpt_model_add_act(m, "relu1", ZPT_ACT_RELU);
  if (rc == ZPT_OK)
    rc = zpt_model_add_maxpool(m, "pool1", 2, 2);
  if (rc == ZPT_OK)
    rc = zpt_model_add_conv2d(m, "conv2", cfg->conv2, cfg->kernel, cfg->kernel, 1, 0, cfg->init);
  if (rc == ZPT_OK)
    rc = zpt_model_add_act(m, "relu2", ZPT_ACT_RELU);
  if (rc == ZPT_OK)
    rc = zpt_model_add_maxpool(m, "pool2", 2, 2);
  if (rc == ZPT_OK)
    rc = zpt_model_add_dense(m, "fc1", cfg->hidden, cfg->init);
  if (rc == ZPT_OK)
    rc = zpt_model_add_act(m, "relu3", ZPT_ACT_RELU);
  if (rc == ZPT_OK)
    rc = zpt_model_add_dense(m, "fc2", cfg->n_classes, cfg->init);
  return finish(m, rc, "the CNN");
}

zpt_mixer_config zpt_mixer_small(void) {
  zpt_mixer_config c = {3, 32, 32, 4, 32, 3, 64, 32, 10, ZPT_INIT_XAVIER};
  return c;
}

zpt_mixer_config zpt_mixer_large(void) {
  zpt_mixer_config c = {3, 32, 32, 4, 256, 12, 64, 256, 10, ZPT_INIT_XAVIER};
  return c;
}

size_t zpt_mixer_n_params(const zpt_mixer_config *c) {
  if (!c || !c->in_c || !c->in_h || !c->in_w || !c->patch || !c->width || !c->blocks ||
      !c->token_hidden || !c->channel_hidden || !c->n_classes)
    return 0;
  size_t S = (c->in_h / c->patch) * (c->in_w / c->patch), D = c->width;
  size_t Ds = c->token_hidden, Dc = c->channel_hidden;
  size_t embed = c->in_c * c->patch * c->patch * D + D;
  size_t block = 4 * D + 2 * S * Ds + Ds + S + 2 * D * Dc + Dc + D;
  return embed + c->blocks * block + 2 * D + D * c->n_classes + c->n_classes;
}

zpt_model *zpt_mixer_alloc(const zpt_mixer_config *cfg) {
  if (!cfg) {
    zpt_fail(ZPT_EINVAL, "zpt_mixer_alloc: configuration is NULL");
    return NULL;
  }
  if (cfg->blocks == 0) {
    zpt_fail(ZPT_EINVAL, "building the MLP-mixer: 0 blocks (expected >= 1)");
    return NULL;
  }
  zpt_model *m = zpt_model_alloc_shaped(zpt_shape_chw(cfg->in_c, cfg->in_h, cfg->in_w));
  if (!m) {
    zpt_fail_context(zpt_error_status(), "building the MLP-mixer: ");
    return NULL;
  }
  int rc = zpt_model_add_patch_embed(m, "embed", cfg->patch, cfg->width, cfg->init);
  for (size_t b = 0; b < cfg->blocks && rc == ZPT_OK; b++) {
    char name[32];
    snprintf(name, sizeof name, "block%zu", b);
    rc = zpt_model_add_mixer_block(m, name, cfg->token_hidden, cfg->channel_hidden, cfg->init);
  }
  if (rc == ZPT_OK)
    rc = zpt_model_add_layernorm(m, "norm");
  if (rc == ZPT_OK)
    rc = zpt_model_add_global_avgpool(m, "gap");
  if (rc == ZPT_OK)
    rc = zpt_model_add_dense(m, "head", cfg->n_classes, cfg->init);
  return finish(m, rc, "the MLP-mixer");
}

zpt_mlp_config zpt_mlp_default(size_t inputs, size_t n_classes) {
  zpt_mlp_config c = {inputs, 32, 1, n_classes, ZPT_INIT_HE};
  return c;
}

zpt_model *zpt_mlp_alloc(const zpt_mlp_config *cfg) {
  if (!cfg || !cfg->inputs || !cfg->hidden || !cfg->layers || cfg->n_classes < 2) {
    zpt_fail(ZPT_EINVAL, "building the MLP: inputs %zu, hidden %zu, layers %zu, classes "
             "%zu; expected each >= 1 and >= 2 classes", cfg ? cfg->inputs : 0,
             cfg ? cfg->hidden : 0, cfg ? cfg->layers : 0, cfg ? cfg->n_classes : 0);
    return NULL;
  }
  zpt_model *m = zpt_model_alloc(cfg->inputs);
  if (!m) {
    zpt_fail_context(zpt_error_status(), "building the MLP: ");
    return NULL;
  }
  int rc = ZPT_OK;
  for (size_t k = 1; k <= cfg->layers && rc == ZPT_OK; k++) {
    char name[32];
    snprintf(name, sizeof name, "fc%zu", k);
    rc = zpt_model_add_dense(m, name, cfg->hidden, cfg->init);
    snprintf(name, sizeof name, "relu%zu", k);
    if (rc == ZPT_OK)
      rc = zpt_model_add_act(m, name, ZPT_ACT_RELU);
  }
  if (rc == ZPT_OK)
    rc = zpt_model_add_dense(m, "head", cfg->n_classes, cfg->init);
  return finish(m, rc, "the MLP");
}
