/* Ready-made models of the paper's tasks and a plain MLP (docs/layers.md, "Builders").
 * Each returns a new model (free with zpt_model_free) with theta still
 * zero: call zpt_model_init(m, seed).  NULL on failure, with the reason in
 * zpt_error_message(). */
#ifndef ZPT_NN_BUILDERS_H
#define ZPT_NN_BUILDERS_H

#include <stddef.h>

#include "nn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Task 1: conv(c -> conv1, k x k) + ReLU + 2x2 max-pool -> conv(conv1 ->
 * conv2, k x k) + ReLU + 2x2 max-pool -> dense(-> hidden) + ReLU ->
 * dense(hidden -> n_classes).  No padding, stride 1. */
typedef struct {
  size_t in_c, in_h, in_w;
  size_t conv1, conv2, kernel, hidden, n_classes;
  int init; /* zpt_init */
} zpt_cnn_config;

/* 1x28x28, 6, 16, 5, 16, 10, He: 6,854 parameters. */
zpt_cnn_config zpt_cnn_default(void);
zpt_model *zpt_cnn_alloc(const zpt_cnn_config *cfg);

/* Task 5: MLP-mixer: patch embedding (patch x patch -> width channels),
 * `blocks` mixer blocks (token MLP width token_hidden, channel MLP width
 * channel_hidden), layer norm, global average pooling over tokens, dense
 * head to n_classes. */
typedef struct {
  size_t in_c, in_h, in_w;
  size_t patch, width, blocks, token_hidden, channel_hidden, n_classes;
  int init; /* zpt_init */
} zpt_mixer_config;

/* CIFAR-10 3x32x32, patch 4 (64 tokens), width 32, 3 blocks, token MLP 64,
 * channel MLP 32, 10 classes, Xavier: 33,642 parameters (the paper's N). */
zpt_mixer_config zpt_mixer_small(void);
/* As small with width 256, 12 blocks, channel MLP 256: 1,706,762
 * parameters (the paper's N). */
zpt_mixer_config zpt_mixer_large(void);
zpt_model *zpt_mixer_alloc(const zpt_mixer_config *cfg);

/* The number of parameters a mixer configuration will have (0 if a size is
 * 0), without building it. */
size_t zpt_mixer_n_params(const zpt_mixer_config *cfg);

/* A dense classifier for plain feature vectors (a table's rows):
 * `layers` x [dense(-> hidden) + ReLU] -> dense(-> n_classes).  Parameters
 * inputs*hidden + hidden + (layers-1)(hidden^2 + hidden) + hidden*n_classes
 * + n_classes (547 for 13 features, 32 hidden, 1 layer, 3 classes). */
typedef struct {
  size_t inputs, hidden, layers, n_classes;
  int init; /* zpt_init */
} zpt_mlp_config;

/* hidden 32, 1 hidden layer, He. */
zpt_mlp_config zpt_mlp_default(size_t inputs, size_t n_classes);
zpt_model *zpt_mlp_alloc(const zpt_mlp_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
